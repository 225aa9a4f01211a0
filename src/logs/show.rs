//! Reading the logs back: `goal log` and `goal status`.
//!
//! As everywhere in `goal`, its own lines (a log's header) go to standard error, so that what
//! a recipe wrote can be piped untouched from standard output.

use std::fs::File;
use std::io::{self, Read as _};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::index::{self, Ending, Outcome, RecordedRun};
use super::{logs_dir, prune};
use crate::diagnostic::Problem;
use crate::memory::fleet::{self, FleetRun};
use crate::memory::Database;
use crate::report::{seconds, RecipeRun, RunState};

const NO_LOG: &str = "goal::no-log";

/// How often `goal log --follow` looks for more output.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// `goal log`: prints the logs of the latest reaching of `instance` (as users see it), or of
/// the latest instance that ran a recipe when `None`; with `follow`, goes on printing while
/// the last of them is written, until its run ends.
pub fn show(state_dir: &Path, instance: Option<&str>, follow: bool) -> Result<u8, Problem> {
    let logs_dir = logs_dir(state_dir);
    let runs = latest_reaching(&logs_dir, instance)?;
    if runs.is_empty() {
        return Err(no_run(instance, &logs_dir));
    }
    for run in &runs {
        // A recipe that printed nothing has no file; one still running may not have one yet.
        let mut file = match File::open(&run.log) {
            Ok(file) => Some(file),
            Err(error)
                if error.kind() == io::ErrorKind::NotFound
                    && (run.silent || run.outcome() == Outcome::Running) =>
            {
                None
            }
            Err(error) => return Err(missing_log(run, &error)),
        };
        // Only a file that exists is named: a recipe that printed nothing has none.
        let output = match (&file, run.outcome()) {
            (Some(_), _) => format!("log {}", run.log.display()),
            (None, Outcome::Running) => "no output yet".to_string(),
            (None, _) => "no output".to_string(),
        };
        eprintln!(
            "goal: {}: started {}, {}, {output}",
            run.instance,
            humantime::format_rfc3339_seconds(run.started),
            duration_and_outcome(run),
        );
        if let Some(file) = &mut file {
            if !print(file, &run.log)? {
                return Ok(0);
            }
        }
        if follow && run.outcome() == Outcome::Running {
            let ended = tail(run, &mut file)?;
            eprintln!("goal: {}: {}", ended.instance, duration_and_outcome(&ended));
        }
    }
    Ok(0)
}

/// The recipe runs of the latest reaching of `instance`, or of the latest instance that ran a
/// recipe: an instance is reached at most once per invocation, but each `run` statement of its
/// body is a recipe run, with a log, of its own.
fn latest_reaching(logs_dir: &Path, instance: Option<&str>) -> Result<Vec<RecordedRun>, Problem> {
    let mut reaching = Vec::new();
    index::newest_first(logs_dir, |runs| {
        let Some(latest) = runs
            .iter()
            .rfind(|run| instance.is_none_or(|instance| instance == run.instance))
        else {
            return ControlFlow::Continue(());
        };
        let instance = latest.instance.clone();
        reaching = runs
            .into_iter()
            .filter(|run| run.instance == instance)
            .collect();
        ControlFlow::Break(())
    })?;
    Ok(reaching)
}

/// Prints what `run` adds to its log until it ends; returns it as it ended.
fn tail(run: &RecordedRun, file: &mut Option<File>) -> Result<RecordedRun, Problem> {
    let dir = run.log.parent().unwrap_or(Path::new("."));
    loop {
        // Everything a run writes to its log is there before its end is in the index, so once
        // the end is seen, one last copy gets all of it.
        let now = index::read(dir)?
            .into_iter()
            .find(|other| other.number == run.number)
            .unwrap_or_else(|| run.clone());
        if file.is_none() {
            *file = File::open(&run.log).ok();
        }
        let reader_left = match file {
            Some(file) => !print(file, &run.log)?,
            None => false,
        };
        if reader_left || now.outcome() != Outcome::Running {
            return Ok(now);
        }
        std::thread::sleep(FOLLOW_POLL);
    }
}

/// Copies the rest of `file` to standard output; says whether anyone still reads it.
fn print(file: &mut File, path: &Path) -> Result<bool, Problem> {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => return Ok(true),
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(index::unreadable(path, &error)),
        };
        if !write_out(&buffer[..read])? {
            return Ok(false);
        }
    }
}

/// Writes to standard output; says whether anyone still reads it (`goal log | head` stops
/// reading once it has all it wanted, which is no error).
fn write_out(bytes: &[u8]) -> Result<bool, Problem> {
    crate::report::print_bytes(bytes).map_err(|error| {
        Problem::failure(
            index::LOG_IO,
            format!("cannot write to standard output: {error}"),
        )
    })
}

/// `goal status`: the latest `count` recipe runs, newest last, one a line, or as JSON: of
/// every host of the campaign sharing the Memory `fleet`, else of this project's logs.
pub fn status(
    state_dir: &Path,
    fleet: Option<&Database>,
    count: usize,
    json: bool,
) -> Result<u8, Problem> {
    let logs_dir = logs_dir(state_dir);
    let mut runs = Vec::new();
    if let Some(database) = fleet {
        runs = fleet::recent_runs(database, count)
            .map_err(|problem| {
                problem.with_help_line(Some(
                    "`goal status --local` lists this project's own runs, from its logs".to_owned(),
                ))
            })?
            .iter()
            .map(fleet_run)
            .collect();
    } else if count > 0 {
        index::newest_first(&logs_dir, |invocation| {
            for run in invocation.into_iter().rev() {
                runs.push(recipe_run(&run));
                if runs.len() == count {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        })?;
    }
    runs.reverse();
    if json {
        write_out(crate::report::json::status(&runs).as_bytes())?;
        return Ok(0);
    }
    if runs.is_empty() {
        match fleet {
            Some(database) => eprintln!(
                "goal: no recipe run of namespace `{}` is recorded in the shared Memory",
                database.namespace
            ),
            None => eprintln!("goal: no recipe run is recorded in {}", logs_dir.display()),
        }
        return Ok(0);
    }
    let rows: Vec<[String; 5]> = runs
        .into_iter()
        .map(|run| {
            [
                run.started,
                run.seconds
                    .map(|took| seconds(Duration::from_secs_f64(took)))
                    .unwrap_or_else(|| "-".to_string()),
                run.result,
                run.host.unwrap_or_default(),
                run.instance,
            ]
        })
        .collect();
    let width = |column: usize| rows.iter().map(|row| row[column].len()).max().unwrap_or(0);
    let (duration_width, outcome_width, host_width) = (width(1), width(2), width(3));
    let mut out = String::new();
    for [started, duration, outcome, host, instance] in &rows {
        // The host's column only in the campaign's view, where every run has one.
        let host = if host.is_empty() {
            String::new()
        } else {
            format!("{host:host_width$}  ")
        };
        out.push_str(&format!(
            "{started}  {duration:>duration_width$}  {outcome:outcome_width$}  {host}{instance}\n"
        ));
    }
    write_out(out.as_bytes())?;
    Ok(0)
}

/// The recipe runs of the latest invocation that ran any, in the order they started.
pub fn last_run(state_dir: &Path) -> Result<Vec<RecipeRun>, Problem> {
    let logs_dir = logs_dir(state_dir);
    let mut runs = Vec::new();
    index::newest_first(&logs_dir, |invocation| {
        runs = invocation.iter().map(recipe_run).collect();
        if runs.is_empty() {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    })?;
    if runs.is_empty() {
        return Err(no_run(None, &logs_dir));
    }
    Ok(runs)
}

/// A run as `goal status` and `goal graph --last-run` show it.
fn recipe_run(run: &RecordedRun) -> RecipeRun {
    let outcome = run.outcome();
    RecipeRun {
        instance: run.instance.clone(),
        required_by: Some(run.required_by.clone()),
        started: humantime::format_rfc3339_seconds(run.started).to_string(),
        seconds: run.duration().map(|took| took.as_secs_f64()),
        state: match outcome {
            Outcome::Ok => RunState::Ok,
            Outcome::Failed(Ending::Interrupted) | Outcome::Interrupted => RunState::Interrupted,
            Outcome::Failed(_) => RunState::Failed,
            Outcome::Running => RunState::Running,
        },
        result: outcome.to_string(),
        host: None,
        log: (!run.silent).then(|| run.log.display().to_string()),
    }
}

/// A run of the campaign's record as `goal status` shows it, read as its index would be.
fn fleet_run(run: &FleetRun) -> RecipeRun {
    let ended = run.ended.zip(run.ending.as_deref().and_then(Ending::parse));
    let recorded = RecordedRun {
        number: 0,
        instance: run.instance.clone(),
        // The campaign's record keeps no requirements: its view draws no graph.
        required_by: Vec::new(),
        started: run.started,
        log: PathBuf::from(&run.log),
        ended,
        silent: false,
        writing: run.live,
    };
    RecipeRun {
        required_by: None,
        host: Some(run.host.clone()),
        log: Some(run.log.clone()),
        ..recipe_run(&recorded)
    }
}

/// "0.52s, failed (status 2)", "3.10s so far, running", "interrupted".
fn duration_and_outcome(run: &RecordedRun) -> String {
    let outcome = run.outcome();
    match (run.duration(), outcome) {
        (Some(duration), Outcome::Running) => format!("{} so far, {outcome}", seconds(duration)),
        (Some(duration), _) => format!("{}, {outcome}", seconds(duration)),
        (None, _) => outcome.to_string(),
    }
}

fn no_run(instance: Option<&str>, logs_dir: &Path) -> Problem {
    let kept = prune::LIMITS.invocations;
    match instance {
        Some(instance) => Problem::failure(
            NO_LOG,
            format!(
                "no recipe run of `{instance}` is recorded in {}",
                logs_dir.display()
            ),
        )
        .with_help(format!(
            "`goal status` lists the recorded runs; a goal already reached runs no recipe, and \
             only the last {kept} runs of goal are kept"
        )),
        None => Problem::failure(
            NO_LOG,
            format!("no recipe run is recorded in {}", logs_dir.display()),
        )
        .with_help("a run of goal keeps the output of every recipe it runs"),
    }
}

fn missing_log(run: &RecordedRun, error: &io::Error) -> Problem {
    if error.kind() != io::ErrorKind::NotFound {
        return index::unreadable(&run.log, error);
    }
    Problem::failure(
        NO_LOG,
        format!(
            "the log of `{}` ({}) has been removed",
            run.instance,
            run.log.display()
        ),
    )
    .with_help("`goal status` lists the recipe runs still recorded")
}
