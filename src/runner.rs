//! One run of the evaluator, as `goal NAME`, `goal tick` and a job's firing do it: logs,
//! interruption, the progress line, the evaluator itself and the summary.

use std::time::Instant;

use crate::diagnostic::{Error, Kind, Problem, Result};
use crate::eval::{Depfiles, Evaluator, Listings, Options, Request};
use crate::goalfile::Goalfile;
use crate::interrupt;
use crate::logs::Logs;
use crate::memory::{Location, Memory, RunLock};
use crate::report::{compdb, graph, json, print_answer, Reporter, Verbosity};

/// How to run: what the command line said.
#[derive(Debug, Clone)]
pub struct Settings {
    pub options: Options,
    pub verbosity: Verbosity,
    pub answer: Answer,
}

/// How a dry run gives its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A line for each instance that would fire, as it is found.
    Lines,
    /// One JSON document at the end (`--json`).
    Json,
    /// The instance graph in Graphviz DOT (`goal graph`).
    Graph,
    /// The compile commands of the instances of these goals, as JSON (`goal compdb`).
    Compdb(Vec<String>),
}

/// What one run works on.
pub struct Run<'a> {
    pub goalfile: &'a Goalfile,
    pub location: &'a Location,
    pub memory: Memory,
    /// Held by the caller for this run (none for a nested run or a dry run): the Memory's
    /// socket is advertised in it.
    pub lock: Option<&'a RunLock>,
    /// More environment for every command: a job's name and serial.
    pub environment: Vec<(&'static str, String)>,
}

/// Reaches the requested goals; the exit status (a dry run's is 1 when anything would fire).
pub fn reach(settings: Settings, run: Run, requests: &[Request]) -> Result<u8> {
    let dry_run = settings.options.dry_run;
    interrupt::install();
    if settings.verbosity >= Verbosity::Normal && !dry_run {
        crate::progress::start();
    }
    let started = Instant::now();
    let mut evaluator = Evaluator::new(
        run.goalfile,
        run.memory.clone(),
        settings.options,
        match settings.answer {
            Answer::Lines => Reporter::new(settings.verbosity),
            Answer::Json | Answer::Graph | Answer::Compdb(_) => {
                Reporter::recording(settings.verbosity)
            }
        },
    )?;
    evaluator.set_environment(run.environment);
    evaluator.remember_listings(Listings::new(&run.location.state_dir));
    evaluator.remember_depfiles(Depfiles::new(&run.location.state_dir));
    evaluator.read_ahead_files(&run.location.state_dir, requests);
    if !dry_run {
        let fleet = crate::memory::fleet::RunRecorder::of(run.location);
        evaluator.keep_logs(Logs::new(&run.location.state_dir).for_fleet(fleet));
    }
    let instances = evaluator.instances(requests).map_err(Error::from)?;
    if let Some(lock) = run.lock {
        evaluator.advertise_in(lock);
    }
    let result = evaluator.reach_all(instances);
    run.memory.flush();
    crate::progress::finish();
    evaluator.summary(started.elapsed(), dry_run);
    if evaluator.variables_set() {
        // The daemon's `when` jobs look at what changed; without a daemon, the next
        // `goal tick` or `goal set` does.
        crate::daemon::poke(run.location);
    }
    let stats = evaluator.stats();
    let record = evaluator.take_record();
    evaluator.end();
    // With -k the walk went on past each failure, so the record is whole and shows them; a
    // failure without -k, or an interruption, stopped it part-way, and a partial answer would
    // mislead.
    let whole = match &result {
        Ok(()) => true,
        Err(problems) => {
            settings.options.keep_going
                && problems
                    .iter()
                    .all(|problem| problem.kind != Kind::Interrupted)
        }
    };
    if whole {
        let answer = match (&settings.answer, &record) {
            (Answer::Json, Some(record)) => json::dry_run(record, stats),
            (Answer::Graph, Some(record)) => graph::instances(record),
            (Answer::Compdb(goals), Some(record)) => {
                // Every run works in the project's directory: the commands run there.
                let directory = std::env::current_dir().map_err(|error| {
                    Problem::input(
                        "goal::directory",
                        format!("cannot read the current directory: {error}"),
                    )
                })?;
                compdb::compile_commands(record, goals, &directory.to_string_lossy())
            }
            _ => String::new(),
        };
        print_answer(&answer)?;
    }
    result?;
    // A graph or a compilation database is the answer, whatever would fire.
    let answers = matches!(settings.answer, Answer::Graph | Answer::Compdb(_));
    let fires = !answers && stats.would_fire + stats.may_fire > 0;
    Ok(u8::from(dry_run && fires))
}
