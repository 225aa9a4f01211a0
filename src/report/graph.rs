//! `goal graph`: Graphviz DOT of the instances a dry run meets, or of the latest run's recipe
//! runs. Piped to `dot -Tsvg`, it is a picture.

use std::fmt::Write as _;

use rustc_hash::FxHashMap as HashMap;

use super::{RecipeRun, Record, RunState, State};

/// The styles every graph shares: boxes with their state in their colour.
const HEADER: &str = "    node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n";

/// The instances a dry run met, each labelled with its state; an edge goes from an instance to
/// each instance it requires.
pub fn instances(record: &Record) -> String {
    let mut dot = String::from("digraph goal {\n");
    dot.push_str(HEADER);
    for (id, recorded) in record.instances.iter().enumerate() {
        let colour = match recorded.state {
            State::Reached => "#d5f5d5",
            State::WouldFire => "#ffd8a8",
            State::MayFire => "#fff3bf",
            State::Failed => "#ffc9c9",
        };
        let _ = writeln!(
            dot,
            "    i{id} [label=\"{}\\n{}\", fillcolor=\"{colour}\"];",
            escape(&recorded.instance),
            recorded.state.words()
        );
    }
    for (id, recorded) in record.instances.iter().enumerate() {
        for required in &recorded.requires {
            let _ = writeln!(dot, "    i{id} -> i{required};");
        }
    }
    dot.push_str("}\n");
    dot
}

/// The recipe runs of the latest run, in the order they started, each with its result and how
/// long it took; then the instances that required them without running a recipe of their own
/// (`all`, a goal already reached). An edge goes from an instance to each it required, as the
/// logs recorded it; logs from before requirements were recorded give runs with no edges.
pub fn last_run(runs: &[RecipeRun]) -> String {
    let mut dot = String::from("digraph \"last run\" {\n");
    dot.push_str(HEADER);
    // Each instance's node: the first run of it, else one of its own.
    let mut nodes: HashMap<&str, String> = HashMap::default();
    for (number, run) in runs.iter().enumerate() {
        let colour = match run.state {
            RunState::Ok => "#d5f5d5",
            RunState::Failed => "#ffc9c9",
            RunState::Running => "#d0ebff",
            RunState::Interrupted => "#e9ecef",
        };
        let took = match run.seconds {
            Some(seconds) => format!("{}, {seconds:.2}s", run.result),
            None => run.result.clone(),
        };
        let node = format!("r{}", number + 1);
        let _ = writeln!(
            dot,
            "    {node} [label=\"{}\\n{}\", fillcolor=\"{colour}\"];",
            escape(&run.instance),
            escape(&took)
        );
        nodes.entry(&run.instance).or_insert(node);
    }
    let mut edges: Vec<(String, String)> = Vec::new();
    let mut without_run = 0;
    for (number, run) in runs.iter().enumerate() {
        let mut required = format!("r{}", number + 1);
        for requirer in run.required_by.iter().flatten() {
            let node = match nodes.get(requirer.as_str()) {
                Some(node) => node.clone(),
                None => {
                    without_run += 1;
                    let node = format!("n{without_run}");
                    let _ = writeln!(
                        dot,
                        "    {node} [label=\"{}\\nno recipe run\", fillcolor=\"#ffffff\"];",
                        escape(requirer)
                    );
                    nodes.insert(requirer, node.clone());
                    node
                }
            };
            let edge = (node.clone(), required);
            if !edges.contains(&edge) {
                edges.push(edge);
            }
            required = node;
        }
    }
    for (requirer, required) in edges {
        let _ = writeln!(dot, "    {requirer} -> {required};");
    }
    dot.push_str("}\n");
    dot
}

/// A DOT string's text: its quotes and backslashes escaped, so that an instance's value reads
/// as it is written.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                escaped.push('\\');
                escaped.push(c);
            }
            '\n' => escaped.push_str("\\n"),
            _ => escaped.push(c),
        }
    }
    escaped
}
