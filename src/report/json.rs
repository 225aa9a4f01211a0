//! `--json`: the answers of `--list`, `--dry-run`, `goal status` and `goal jobs` as one JSON
//! document each, in the versioned shapes spec/json.md documents.

use serde::Serialize;

use super::{GoalList, RecipeRun, Record, State, Stats};

/// The version of the documents' shapes: raised when a field is removed or changes meaning
/// (adding one does not), so a script can refuse a shape it does not know.
pub const VERSION: u32 = 2;

/// Every document: its version and kind, then the kind's own fields.
#[derive(Serialize)]
struct Document<'a, T: Serialize> {
    version: u32,
    kind: &'a str,
    #[serde(flatten)]
    body: T,
}

/// The document of `kind`, pretty-printed and ending in a newline.
fn document(kind: &str, body: impl Serialize) -> String {
    let document = Document {
        version: VERSION,
        kind,
        body,
    };
    // Only strings, numbers and derived structures: serialising them cannot fail.
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

/// `goal --list --json`.
pub fn list(listing: &GoalList) -> String {
    document("list", listing)
}

#[derive(Serialize)]
struct DryRun<'a> {
    instances: Vec<Instance<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Instance<'a> {
    instance: &'a str,
    goal: &'a str,
    arguments: serde_json::Map<String, serde_json::Value>,
    state: State,
    reason: Option<&'a str>,
    requires: Vec<&'a str>,
}

#[derive(Serialize)]
struct Summary {
    would_fire: usize,
    may_fire: usize,
    reached: usize,
}

/// `goal --dry-run --json`: every instance met, in the order met.
pub fn dry_run(record: &Record, stats: Stats) -> String {
    let instances = record
        .instances
        .iter()
        .map(|recorded| Instance {
            instance: &recorded.instance,
            goal: &recorded.goal,
            arguments: recorded
                .arguments
                .iter()
                .map(|(name, value)| (name.clone(), value.clone().into()))
                .collect(),
            state: recorded.state,
            reason: recorded.reason.as_deref(),
            requires: recorded
                .requires
                .iter()
                .map(|&id| record.instances[id].instance.as_str())
                .collect(),
        })
        .collect();
    document(
        "dry-run",
        DryRun {
            instances,
            summary: Summary {
                would_fire: stats.would_fire,
                may_fire: stats.may_fire,
                reached: stats.reached,
            },
        },
    )
}

#[derive(Serialize)]
struct Runs<'a> {
    runs: &'a [RecipeRun],
}

/// `goal status --json`: the latest recipe runs, newest last.
pub fn status(runs: &[RecipeRun]) -> String {
    document("status", Runs { runs })
}

/// `goal jobs --json` and its `--names` and `--ended` forms: each row of the table as an
/// object whose keys are the column names in lower case.
pub fn table(kind: &str, header: &[&str], rows: &[Vec<String>]) -> String {
    #[derive(Serialize)]
    struct Jobs {
        jobs: Vec<serde_json::Map<String, serde_json::Value>>,
    }
    let jobs = rows
        .iter()
        .map(|row| {
            header
                .iter()
                .zip(row)
                .map(|(column, cell)| (column.to_lowercase(), cell.clone().into()))
                .collect()
        })
        .collect();
    document(kind, Jobs { jobs })
}
