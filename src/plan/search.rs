//! Uniform-cost search (Dijkstra) over states of tags.
//!
//! Paths are ordered by a key: total cost, then number of steps, then the steps' transition
//! names compared in order. Extending two paths into the same state by the same step keeps
//! their order, and every step makes the key strictly greater (it adds a step even when it
//! costs nothing), so Dijkstra with this key and with every state settled once finds the least
//! key of all: the cheapest plan, the shortest of the cheapest, and the first by names of
//! those. Every effect sets a tag to a value known before the search, so the states reachable
//! are finitely many and the search ends; the limit only bounds how long that may take.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap as HashMap;

use super::{Cost, State, Test, Transition};

/// How many states a search explores, unless a `plan` says otherwise.
pub const DEFAULT_LIMIT: usize = 100_000;

/// A sequence of steps, by index into the transitions searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<usize>,
    /// Each step's cost, in the state it starts from.
    pub costs: Vec<Cost>,
    pub total: Cost,
}

/// The cheapest plan, and the others met on the way to it.
#[derive(Debug)]
pub struct Found {
    pub plan: Plan,
    /// The other plans ending in a wanted state that the search met before settling on the
    /// chosen one, best first, at most [`RUNNER_UPS`].
    pub runner_ups: Vec<RunnerUp>,
    /// How many states were explored.
    pub explored: usize,
}

/// How many runner-up plans are kept for `--explain`.
pub const RUNNER_UPS: usize = 3;

#[derive(Debug)]
pub struct RunnerUp {
    pub plan: Plan,
    pub lost: Lost,
}

/// Why a runner-up plan lost to the chosen one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lost {
    /// It costs this much more.
    Dearer(Cost),
    /// As cheap, with more steps.
    Longer,
    /// As cheap and as long; at this step (0-based) its transition's name sorts after the
    /// chosen plan's.
    LaterName(usize),
}

#[derive(Debug)]
pub enum Failure {
    /// No state reachable from the start satisfies the wanted tests.
    Unreachable { closest: Closest, explored: usize },
    /// The search explored `limit` states without reaching one that satisfies them.
    Limit { limit: usize, closest: Closest },
}

/// The explored state that fails the fewest wanted tests (the first explored among equals).
#[derive(Debug)]
pub struct Closest {
    pub state: State,
    pub unmet: Vec<Test>,
}

/// A path's place in the order plans are preferred in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    cost: Cost,
    steps: usize,
    /// The steps' transitions, by rank in name order.
    names: Vec<u32>,
}

/// A path into a wanted state met while expanding `parent`: a runner-up unless chosen.
struct Met {
    parent: usize,
    transition: usize,
    cost: Cost,
    key: Key,
}

struct Node {
    state: usize,
    parent: Option<usize>,
    /// The transition that led here from `parent`, and its cost.
    via: Option<(usize, Cost)>,
    key: Key,
}

/// The cheapest plan from `start` to a state where every `want` holds, exploring at most
/// `limit` states.
pub fn search(
    transitions: &[Transition],
    start: State,
    want: &[Test],
    limit: usize,
) -> Result<Found, Failure> {
    let mut by_name: Vec<usize> = (0..transitions.len()).collect();
    by_name.sort_by(|&a, &b| transitions[a].name.cmp(&transitions[b].name));
    let mut rank = vec![0_u32; transitions.len()];
    for (position, &index) in by_name.iter().enumerate() {
        rank[index] = position as u32;
    }
    let satisfies = |state: &State| want.iter().all(|test| test.holds(state));

    let mut states: Vec<State> = vec![start.clone()];
    let mut ids: HashMap<State, usize> = HashMap::default();
    ids.insert(start, 0);
    let start_key = Key {
        cost: Cost(0),
        steps: 0,
        names: Vec::new(),
    };
    let mut best: Vec<Option<Key>> = vec![Some(start_key.clone())];
    let mut settled: Vec<bool> = vec![false];
    let mut nodes = vec![Node {
        state: 0,
        parent: None,
        via: None,
        key: start_key.clone(),
    }];
    let mut queue = BinaryHeap::new();
    queue.push(Reverse((start_key, 0_usize)));
    let mut met: Vec<Met> = Vec::new();
    let mut explored = 0;
    let mut closest: Option<(usize, usize)> = None;

    while let Some(Reverse((key, node))) = queue.pop() {
        let state = nodes[node].state;
        if settled[state] {
            continue;
        }
        if explored == limit {
            return Err(Failure::Limit {
                limit,
                closest: describe_closest(&states, closest, want),
            });
        }
        settled[state] = true;
        explored += 1;
        if satisfies(&states[state]) {
            let plan = path(&nodes, node);
            let runner_ups = runner_ups(&nodes, &met, &key);
            return Ok(Found {
                plan,
                runner_ups,
                explored,
            });
        }
        let unmet = want.iter().filter(|t| !t.holds(&states[state])).count();
        if closest.is_none_or(|(_, fewest)| unmet < fewest) {
            closest = Some((state, unmet));
        }
        for &index in &by_name {
            let transition = &transitions[index];
            if !transition.applies(&states[state]) {
                continue;
            }
            let next = transition.apply(&states[state]);
            let cost = transition.cost.cost(&states[state]);
            let mut names = key.names.clone();
            names.push(rank[index]);
            let next_key = Key {
                cost: key.cost + cost,
                steps: key.steps + 1,
                names,
            };
            if satisfies(&next) {
                met.push(Met {
                    parent: node,
                    transition: index,
                    cost,
                    key: next_key.clone(),
                });
            }
            let next_id = *ids.entry(next.clone()).or_insert_with(|| {
                states.push(next);
                best.push(None);
                settled.push(false);
                states.len() - 1
            });
            if settled[next_id] || best[next_id].as_ref().is_some_and(|b| *b <= next_key) {
                continue;
            }
            best[next_id] = Some(next_key.clone());
            nodes.push(Node {
                state: next_id,
                parent: Some(node),
                via: Some((index, cost)),
                key: next_key.clone(),
            });
            queue.push(Reverse((next_key, nodes.len() - 1)));
        }
    }
    Err(Failure::Unreachable {
        closest: describe_closest(&states, closest, want),
        explored,
    })
}

fn describe_closest(states: &[State], closest: Option<(usize, usize)>, want: &[Test]) -> Closest {
    let state = closest.map_or_else(State::default, |(id, _)| states[id].clone());
    let unmet = want.iter().filter(|t| !t.holds(&state)).cloned().collect();
    Closest { state, unmet }
}

/// The steps from the start to `node`.
fn path(nodes: &[Node], node: usize) -> Plan {
    let mut steps = Vec::new();
    let mut costs = Vec::new();
    let mut at = Some(node);
    while let Some(current) = at {
        if let Some((transition, cost)) = nodes[current].via {
            steps.push(transition);
            costs.push(cost);
        }
        at = nodes[current].parent;
    }
    steps.reverse();
    costs.reverse();
    Plan {
        steps,
        costs,
        total: nodes[node].key.cost,
    }
}

fn runner_ups(nodes: &[Node], met: &[Met], chosen: &Key) -> Vec<RunnerUp> {
    let mut others: Vec<&Met> = met.iter().filter(|m| m.key != *chosen).collect();
    others.sort_by(|a, b| a.key.cmp(&b.key));
    others
        .into_iter()
        .take(RUNNER_UPS)
        .map(|m| {
            let mut plan = path(nodes, m.parent);
            plan.steps.push(m.transition);
            plan.costs.push(m.cost);
            plan.total = m.key.cost;
            RunnerUp {
                plan,
                lost: lost(&m.key, chosen),
            }
        })
        .collect()
}

fn lost(key: &Key, chosen: &Key) -> Lost {
    match key.cost.cmp(&chosen.cost) {
        Ordering::Greater => Lost::Dearer(key.cost - chosen.cost),
        _ if key.steps > chosen.steps => Lost::Longer,
        _ => Lost::LaterName(
            key.names
                .iter()
                .zip(&chosen.names)
                .position(|(a, b)| a != b)
                .unwrap_or(0),
        ),
    }
}

#[cfg(test)]
mod tests;
