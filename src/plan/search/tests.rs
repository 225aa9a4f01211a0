use super::*;
use crate::plan::{Comparison, CostFormula, Effect, Quantity};

fn transition(name: &str, cost: &str, when: Vec<Test>, effects: Vec<Effect>) -> Transition {
    Transition {
        name: name.to_string(),
        when,
        effects,
        cost: CostFormula::parse(cost).unwrap(),
    }
}

fn has(tag: &str) -> Test {
    Test::Has(tag.to_string())
}

fn lacks(tag: &str) -> Test {
    Test::Lacks(tag.to_string())
}

fn add(tag: &str) -> Effect {
    Effect::Add(tag.to_string())
}

fn remove(tag: &str) -> Effect {
    Effect::Remove(tag.to_string())
}

fn names(transitions: &[Transition], plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .map(|&i| transitions[i].name.clone())
        .collect()
}

fn found(transitions: &[Transition], start: State, want: &[Test]) -> Found {
    search(transitions, start, want, DEFAULT_LIMIT).expect("a plan")
}

#[test]
fn a_longer_plan_that_costs_less_wins_over_the_shortest() {
    let transitions = [
        transition("direct", "10", vec![has("a")], vec![add("done")]),
        transition("first", "2", vec![has("a")], vec![add("b")]),
        transition("second", "3", vec![has("b")], vec![add("c")]),
        transition("third", "4", vec![has("c")], vec![add("done")]),
    ];
    let found = found(&transitions, State::from_pairs([("a", "")]), &[has("done")]);
    assert_eq!(
        names(&transitions, &found.plan),
        ["first", "second", "third"]
    );
    assert_eq!(found.plan.costs, [Cost(2000), Cost(3000), Cost(4000)]);
    assert_eq!(found.plan.total, Cost(9000));
    let direct = &found.runner_ups[0];
    assert_eq!(names(&transitions, &direct.plan), ["direct"]);
    assert_eq!(direct.lost, Lost::Dearer(Cost(1000)));
}

#[test]
fn a_start_that_already_satisfies_the_wanted_tests_needs_no_step() {
    let transitions = [transition("make", "1", vec![], vec![add("done")])];
    let found = found(
        &transitions,
        State::from_pairs([("done", "")]),
        &[has("done")],
    );
    assert!(found.plan.steps.is_empty());
    assert_eq!(found.plan.total, Cost(0));
}

#[test]
fn equal_costs_prefer_fewer_steps_then_names_in_order() {
    let transitions = [
        transition("zeta", "2", vec![], vec![add("done")]),
        transition("alpha", "2", vec![], vec![add("done")]),
        transition("half-1", "1", vec![lacks("half")], vec![add("half")]),
        transition("half-2", "1", vec![has("half")], vec![add("done")]),
    ];
    let found = found(&transitions, State::default(), &[has("done")]);
    assert_eq!(names(&transitions, &found.plan), ["alpha"]);
    let lost: Vec<(Vec<String>, Lost)> = found
        .runner_ups
        .iter()
        .map(|r| (names(&transitions, &r.plan), r.lost.clone()))
        .collect();
    let path = |steps: &[&str]| steps.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(
        lost,
        [
            (path(&["zeta"]), Lost::LaterName(0)),
            (path(&["half-1", "half-2"]), Lost::Longer),
            (path(&["half-1", "alpha"]), Lost::Dearer(Cost(1000))),
        ]
    );
}

#[test]
fn a_cycle_of_transitions_terminates() {
    let transitions = [
        transition("on", "1", vec![lacks("x")], vec![add("x")]),
        transition("off", "1", vec![has("x")], vec![remove("x")]),
        transition("free", "0", vec![], vec![]),
    ];
    let Err(Failure::Unreachable { closest, explored }) = search(
        &transitions,
        State::default(),
        &[has("x"), has("never")],
        100,
    ) else {
        panic!("expected no plan");
    };
    assert_eq!(explored, 2);
    assert_eq!(closest.state, State::from_pairs([("x", "")]));
    assert_eq!(closest.unmet, [has("never")]);
}

#[test]
fn no_plan_names_the_unmet_tests_of_the_closest_state() {
    let transitions = [transition(
        "decompress",
        "1",
        vec![has("xz")],
        vec![remove("xz")],
    )];
    let want = [
        lacks("xz"),
        Test::Is("format".into(), "qcow2".into()),
        Test::Compare {
            tag: "size".into(),
            comparison: Comparison::GreaterOrEqual,
            value: Quantity::parse("8G").unwrap(),
            written: "8G".into(),
        },
    ];
    let start = State::from_pairs([("xz", ""), ("format", "raw"), ("size", "4G")]);
    let Err(Failure::Unreachable { closest, .. }) = search(&transitions, start, &want, 100) else {
        panic!("expected no plan");
    };
    assert_eq!(closest.state.to_string(), "format=raw, size=4G");
    let unmet: Vec<String> = closest.unmet.iter().map(ToString::to_string).collect();
    assert_eq!(
        unmet,
        [r#"is "format" "qcow2""#, r#"compare "size" ">=" "8G""#]
    );
}

#[test]
fn the_limit_stops_a_large_search() {
    // A counter of 20 bits: 2^20 states, of which the wanted one is the last.
    let transitions: Vec<Transition> = (0..20)
        .map(|bit| {
            transition(
                &format!("set-{bit:02}"),
                "1",
                vec![lacks(&format!("b{bit}"))],
                vec![add(&format!("b{bit}"))],
            )
        })
        .collect();
    let want: Vec<Test> = (0..20).map(|bit| has(&format!("b{bit}"))).collect();
    let Err(Failure::Limit { limit, closest }) = search(&transitions, State::default(), &want, 50)
    else {
        panic!("expected the limit");
    };
    assert_eq!(limit, 50);
    assert!(closest.unmet.len() < 20);
    let found = search(&transitions, State::default(), &want[..2], 50).expect("a plan");
    assert_eq!(names(&transitions, &found.plan), ["set-00", "set-01"]);
}

#[test]
fn a_cost_is_counted_in_the_state_its_step_starts_from() {
    let set = |size: &str| Effect::Set("size".into(), size.into());
    let transitions = [
        transition(
            "convert",
            "1 + size",
            vec![lacks("converted")],
            vec![add("converted")],
        ),
        transition("grow", "1", vec![], vec![set("8G")]),
    ];
    let want = [has("converted"), Test::Is("size".into(), "8G".into())];
    let found = found(&transitions, State::from_pairs([("size", "4G")]), &want);
    assert_eq!(names(&transitions, &found.plan), ["convert", "grow"]);
    assert_eq!(found.plan.costs, [Cost(5000), Cost(1000)]);
}

/// A small deterministic generator: the cross-check must fail the same way every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FLAGS: [&str; 3] = ["a", "b", "c"];
const SIZES: [&str; 3] = ["1G", "2G", "3G"];

fn random_test(rng: &mut Rng) -> Test {
    match rng.below(4) {
        0 => has(rng.pick(&FLAGS)),
        1 => lacks(rng.pick(&FLAGS)),
        2 => Test::Is("v".into(), rng.pick(&SIZES).into()),
        _ => {
            let (_, comparison) = Comparison::ALL[rng.below(6)];
            let written = rng.pick(&SIZES);
            Test::Compare {
                tag: "v".into(),
                comparison,
                value: Quantity::parse(written).unwrap(),
                written: written.into(),
            }
        }
    }
}

fn random_instance(rng: &mut Rng) -> (Vec<Transition>, State, Vec<Test>) {
    let mut names = ["p", "q", "r", "s", "t", "u"];
    for i in (1..names.len()).rev() {
        names.swap(i, rng.below(i + 1));
    }
    let count = 2 + rng.below(5);
    let transitions = names[..count]
        .iter()
        .map(|name| {
            let when = (0..rng.below(3)).map(|_| random_test(rng)).collect();
            let effects = (0..1 + rng.below(2))
                .map(|_| match rng.below(3) {
                    0 => add(rng.pick(&FLAGS)),
                    1 => remove(rng.pick(&FLAGS)),
                    _ => Effect::Set("v".into(), rng.pick(&SIZES).into()),
                })
                .collect();
            let cost = match rng.below(3) {
                0 => format!("{}", rng.below(3)),
                1 => format!("{} + v", rng.below(2)),
                _ => format!("0.5 * v + {}", rng.below(2)),
            };
            transition(name, &cost, when, effects)
        })
        .collect();
    let mut start = State::from_pairs([("v", rng.pick(&SIZES))]);
    for flag in FLAGS {
        if rng.below(2) == 0 {
            start.apply(&add(flag));
        }
    }
    let want = (0..1 + rng.below(3)).map(|_| random_test(rng)).collect();
    (transitions, start, want)
}

type Exhaustive = (Cost, usize, Vec<String>);

/// The least (cost, steps, names) over every plan that never visits a state twice: a plan
/// that does is beaten by the same plan with the loop cut out.
fn exhaustive(transitions: &[Transition], start: &State, want: &[Test]) -> Option<Exhaustive> {
    fn walk(
        transitions: &[Transition],
        want: &[Test],
        visited: &mut Vec<State>,
        so_far: (Cost, Vec<String>),
        best: &mut Option<Exhaustive>,
    ) {
        let state = visited.last().unwrap().clone();
        if want.iter().all(|t| t.holds(&state)) {
            let candidate = (so_far.0, so_far.1.len(), so_far.1.clone());
            if best.as_ref().is_none_or(|b| candidate < *b) {
                *best = Some(candidate);
            }
            return;
        }
        for transition in transitions.iter().filter(|t| t.applies(&state)) {
            let next = transition.apply(&state);
            if visited.contains(&next) {
                continue;
            }
            let mut names = so_far.1.clone();
            names.push(transition.name.clone());
            visited.push(next);
            let cost = so_far.0 + transition.cost.cost(&state);
            walk(transitions, want, visited, (cost, names), best);
            visited.pop();
        }
    }
    let mut best = None;
    walk(
        transitions,
        want,
        &mut vec![start.clone()],
        (Cost(0), Vec::new()),
        &mut best,
    );
    best
}

#[test]
fn agrees_with_an_exhaustive_search_on_random_small_instances() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut solved = 0;
    for round in 0..2000 {
        let (transitions, start, want) = random_instance(&mut rng);
        let expected = exhaustive(&transitions, &start, &want);
        match (
            search(&transitions, start.clone(), &want, DEFAULT_LIMIT),
            expected,
        ) {
            (Ok(found), Some(expected)) => {
                let steps = names(&transitions, &found.plan);
                let got = (found.plan.total, steps.len(), steps);
                assert_eq!(
                    got, expected,
                    "round {round}: {transitions:?} from {start} want {want:?}"
                );
                let mut state = start.clone();
                let mut total = Cost(0);
                for (&step, &cost) in found.plan.steps.iter().zip(&found.plan.costs) {
                    assert!(transitions[step].applies(&state), "round {round}");
                    assert_eq!(transitions[step].cost.cost(&state), cost, "round {round}");
                    total = total + cost;
                    state = transitions[step].apply(&state);
                }
                assert!(want.iter().all(|t| t.holds(&state)), "round {round}");
                assert_eq!(total, found.plan.total);
                for runner_up in &found.runner_ups {
                    assert!(runner_up.plan.total >= found.plan.total, "round {round}");
                }
                solved += 1;
            }
            (Err(Failure::Unreachable { closest, .. }), None) => {
                assert!(!closest.unmet.is_empty(), "round {round}");
            }
            (got, expected) => panic!("round {round}: search {got:?}, exhaustive {expected:?}"),
        }
    }
    assert!(solved > 500, "only {solved} instances had a plan");
}
