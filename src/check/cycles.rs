//! Requirement cycles that can be seen without running anything.
//!
//! Tarjan's algorithm finds the strongly connected parts of the call graph first, so a large
//! acyclic file costs one linear pass. Inside a part that loops, arguments are followed
//! symbolically: a state is a callee plus what each of its parameters is bound to (a literal,
//! one of the starting node's own parameters, or unknown). A loop of states with no unknown
//! values is an instance that requires itself, whatever the parameters are: a definite cycle.
//! Loops through unknown values (`rebuilt pkg` → `require rebuilt pkg="{dep}"`) are left to
//! the evaluator, which sees real values.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::goalfile::{Arg, Param, Span};
use crate::template::Part;

/// One call edge: `from` requires (or calls) `to` with `args`, written at `span`.
pub struct Call<'g> {
    pub from: usize,
    pub to: usize,
    pub args: &'g [Arg],
    pub span: Span,
}

/// Explored states per looping part before giving up (the evaluator still catches cycles).
const STATE_BUDGET: usize = 20_000;

/// Each definite cycle found (at most one per looping part), as the calls that make it up.
pub fn definite_cycles(params: &[&[Param]], calls: &[Call]) -> Vec<Vec<usize>> {
    let mut outgoing = vec![Vec::new(); params.len()];
    for (index, call) in calls.iter().enumerate() {
        outgoing[call.from].push(index);
    }
    let successors: Vec<Vec<usize>> = outgoing
        .iter()
        .map(|out| out.iter().map(|&call| calls[call].to).collect())
        .collect();
    let mut cycles = Vec::new();
    for part in strongly_connected(&successors) {
        let loops = part.len() > 1 || successors[part[0]].contains(&part[0]);
        if loops {
            let explorer = Explorer {
                params,
                calls,
                outgoing: &outgoing,
                part: &part,
                members: part.iter().copied().collect(),
            };
            if let Some(cycle) = explorer.find() {
                cycles.push(cycle);
            }
        }
    }
    cycles
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Value {
    Literal(String),
    /// A parameter of the node the exploration started from, unchanged.
    Param(usize),
    Unknown,
}

type State = (usize, Vec<Value>);

struct Explorer<'a, 'g> {
    params: &'a [&'g [Param]],
    calls: &'a [Call<'g>],
    outgoing: &'a [Vec<usize>],
    part: &'a [usize],
    members: HashSet<usize>,
}

impl Explorer<'_, '_> {
    fn find(&self) -> Option<Vec<usize>> {
        let mut budget = STATE_BUDGET;
        self.part
            .iter()
            .find_map(|&start| self.find_from(start, &mut budget))
    }

    /// Explores the states reachable from `start` with its parameters as they are.
    fn find_from(&self, start: usize, budget: &mut usize) -> Option<Vec<usize>> {
        let initial: Vec<Value> = (0..self.params[start].len()).map(Value::Param).collect();
        let mut ids: HashMap<State, usize> = HashMap::new();
        let mut states: Vec<State> = Vec::new();
        let mut edges: Vec<Vec<(usize, usize)>> = Vec::new();
        let mut queue = VecDeque::from([(start, initial)]);
        ids.insert(queue[0].clone(), 0);
        states.push(queue[0].clone());
        edges.push(Vec::new());
        while let Some(state) = queue.pop_front() {
            let from = ids[&state];
            for &call in &self.outgoing[state.0] {
                let to = self.calls[call].to;
                if !self.members.contains(&to) {
                    continue;
                }
                let next = (to, self.bind(&state.1, call));
                let id = match ids.get(&next) {
                    Some(&id) => id,
                    None => {
                        *budget = budget.checked_sub(1)?;
                        let id = states.len();
                        ids.insert(next.clone(), id);
                        states.push(next.clone());
                        edges.push(Vec::new());
                        queue.push_back(next);
                        id
                    }
                };
                edges[from].push((id, call));
            }
        }
        definite_loop(&states, &edges)
    }

    /// What the callee's parameters are bound to when `call` is made from a state whose own
    /// parameters are `caller`.
    fn bind(&self, caller: &[Value], call: usize) -> Vec<Value> {
        let call = &self.calls[call];
        let caller_params = self.params[call.from];
        self.params[call.to]
            .iter()
            .map(
                |param| match call.args.iter().find(|a| a.name.text == param.name.text) {
                    Some(arg) => match arg.value.parts.as_slice() {
                        [Part::Ref(reference)] if reference.filters.is_empty() => caller_params
                            .iter()
                            .position(|p| p.name.text == reference.name)
                            .and_then(|i| caller.get(i).cloned())
                            .unwrap_or(Value::Unknown),
                        _ => arg
                            .value
                            .as_literal()
                            .map_or(Value::Unknown, Value::Literal),
                    },
                    None => param
                        .default
                        .as_ref()
                        .and_then(|default| default.as_literal())
                        .map_or(Value::Unknown, Value::Literal),
                },
            )
            .collect()
    }
}

/// A loop through a state with no unknown values, as the calls along it.
fn definite_loop(states: &[State], edges: &[Vec<(usize, usize)>]) -> Option<Vec<usize>> {
    let successors: Vec<Vec<usize>> = edges
        .iter()
        .map(|out| out.iter().map(|&(to, _)| to).collect())
        .collect();
    for part in strongly_connected(&successors) {
        let loops = part.len() > 1 || successors[part[0]].contains(&part[0]);
        let known = part
            .iter()
            .copied()
            .find(|&state| !states[state].1.contains(&Value::Unknown));
        if let (true, Some(state)) = (loops, known) {
            return path_back(state, &part, edges);
        }
    }
    None
}

/// The calls of a shortest path from `state` back to itself inside `part`.
fn path_back(state: usize, part: &[usize], edges: &[Vec<(usize, usize)>]) -> Option<Vec<usize>> {
    let part: HashSet<usize> = part.iter().copied().collect();
    let mut came_from: HashMap<usize, (usize, usize)> = HashMap::new();
    let mut queue = VecDeque::from([state]);
    while let Some(current) = queue.pop_front() {
        for &(next, call) in &edges[current] {
            if !part.contains(&next) {
                continue;
            }
            if next == state {
                let mut path = vec![call];
                let mut at = current;
                while at != state {
                    let (previous, call) = came_from[&at];
                    path.push(call);
                    at = previous;
                }
                path.reverse();
                return Some(path);
            }
            if let std::collections::hash_map::Entry::Vacant(entry) = came_from.entry(next) {
                entry.insert((current, call));
                queue.push_back(next);
            }
        }
    }
    None
}

/// Tarjan's strongly connected components, iteratively (a 10,000-goal chain would overflow a
/// recursive version's stack).
pub fn strongly_connected(successors: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let count = successors.len();
    let mut index = vec![UNSEEN; count];
    let mut low = vec![0; count];
    let mut on_stack = vec![false; count];
    let mut stack = Vec::new();
    let mut parts = Vec::new();
    let mut next_index = 0;
    for root in 0..count {
        if index[root] != UNSEEN {
            continue;
        }
        let mut work = vec![(root, 0usize)];
        while let Some(&(node, child)) = work.last() {
            if child == 0 {
                index[node] = next_index;
                low[node] = next_index;
                next_index += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&next) = successors[node].get(child) {
                if let Some(top) = work.last_mut() {
                    top.1 += 1;
                }
                if index[next] == UNSEEN {
                    work.push((next, 0));
                } else if on_stack[next] {
                    low[node] = low[node].min(index[next]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                let mut part = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    part.push(member);
                    if member == node {
                        break;
                    }
                }
                parts.push(part);
            }
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tarjan_finds_loops_and_singletons() {
        let successors = vec![vec![1], vec![2], vec![0, 3], vec![], vec![4]];
        let mut parts: Vec<Vec<usize>> = strongly_connected(&successors)
            .into_iter()
            .map(|mut part| {
                part.sort();
                part
            })
            .collect();
        parts.sort();
        assert_eq!(parts, vec![vec![0, 1, 2], vec![3], vec![4]]);
    }

    #[test]
    fn tarjan_handles_long_chains() {
        let successors: Vec<Vec<usize>> =
            (0..100_000).map(|i| vec![i + 1]).chain([vec![]]).collect();
        assert_eq!(strongly_connected(&successors).len(), 100_001);
    }
}
