//! What the jobs remember between runs, in the Memory under `goal/`: the last serial number,
//! each `every` job's last firing, each `when` job's condition state and last-run values.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustc_hash::FxHashMap as HashMap;

use crate::diagnostic::Problem;
use crate::goalfile::Schedule;
use crate::memory::Memory;
use crate::variables::RESERVED_PREFIX;

const IO: &str = "goal::job-state";

/// The next serial number of a job run: one more than the last one handed out. Only one
/// process of a project hands them out at a time (the daemon, or a run holding the run lock);
/// hosts sharing a Memory take the counter in turn, as they take an instance to run.
pub fn next_serial(memory: &Memory) -> Result<u64, Problem> {
    let key = format!("{RESERVED_PREFIX}serial");
    let _taken = memory.lock_instance(&key, &|| Ok(()))?;
    let last = match memory.get(&key)? {
        Some(text) => text.parse::<u64>().map_err(|_| corrupt(&key, &text))?,
        None => 0,
    };
    let serial = last + 1;
    memory.set(&key, &serial.to_string())?;
    Ok(serial)
}

fn every_key(job: &str) -> String {
    format!("{RESERVED_PREFIX}every/{job}")
}

/// When the `every` job `job` last fired, if it ever did.
pub fn last_fired(memory: &Memory, job: &str) -> Result<Option<SystemTime>, Problem> {
    let key = every_key(job);
    match memory.get(&key)? {
        Some(text) => {
            let millis: u64 = text.parse().map_err(|_| corrupt(&key, &text))?;
            Ok(Some(UNIX_EPOCH + Duration::from_millis(millis)))
        }
        None => Ok(None),
    }
}

/// When the schedule of the `every` job `job` counts from: its last firing. A cron job that never
/// fired counts from the first time it was looked at, recorded then: counted from each look
/// instead, its first matching time would always be ahead, and it would never fire.
pub fn counted_from(
    memory: &Memory,
    job: &str,
    schedule: &Schedule,
    now: SystemTime,
) -> Result<Option<SystemTime>, Problem> {
    let last = last_fired(memory, job)?;
    if last.is_none() && matches!(schedule, Schedule::Cron { .. }) {
        record_firing(memory, job, now)?;
        return Ok(Some(now));
    }
    Ok(last)
}

/// Remembers that the `every` job `job` fired at `at`, before the firing runs: a daemon killed
/// during the run does not fire it again when restarted.
pub fn record_firing(memory: &Memory, job: &str, at: SystemTime) -> Result<(), Problem> {
    let millis = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    memory.set(&every_key(job), &millis.to_string())
}

fn when_prefix(job: &str) -> String {
    format!("{RESERVED_PREFIX}when/{job}/")
}

/// What a `when` job remembers.
#[derive(Default)]
pub struct WhenState {
    /// Whether its condition held when last evaluated (or when its last run started).
    pub holds: bool,
    /// Each variable's value when its last run started.
    pub last_run: HashMap<String, String>,
}

pub fn when_state(memory: &Memory, job: &str) -> Result<WhenState, Problem> {
    let prefix = when_prefix(job);
    let mut state = WhenState::default();
    for (key, value) in memory.list(&prefix)? {
        let field = &key[prefix.len()..];
        if field == "holds" {
            state.holds = value == "1";
        } else if let Some(variable) = field.strip_prefix("var/") {
            state.last_run.insert(variable.to_owned(), value);
        }
    }
    Ok(state)
}

pub fn set_holds(memory: &Memory, job: &str, holds: bool) -> Result<(), Problem> {
    memory.set(&format!("{}holds", when_prefix(job)), holds_text(holds))
}

/// Records a run of `job` that started with these variable values, and the condition's state
/// then, all at once.
pub fn record_run(
    memory: &Memory,
    job: &str,
    values: &[(String, String)],
    holds: bool,
) -> Result<(), Problem> {
    let prefix = when_prefix(job);
    let mut entries: Vec<(String, String)> = values
        .iter()
        .map(|(name, value)| (format!("{prefix}var/{name}"), value.clone()))
        .collect();
    entries.push((format!("{prefix}holds"), holds_text(holds).to_owned()));
    memory.set_all(&entries)
}

fn holds_text(holds: bool) -> &'static str {
    if holds {
        "1"
    } else {
        "0"
    }
}

fn corrupt(key: &str, text: &str) -> Problem {
    Problem::failure(
        IO,
        format!("the Memory's entry `{key}` should be a number, but is {text:?}"),
    )
    .with_help(format!(
        "it is goal's own; `goal memory delete {key}` makes goal start it afresh"
    ))
}
