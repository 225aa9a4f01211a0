//! `when` jobs: a condition that fires its job when it turns from false to true.
//!
//! Each evaluation checks every `when` condition against what the job remembers: whether the
//! condition held at the last evaluation, and each variable's value when the job last ran (for
//! `changed`, `increased`, `decreased`). A job fires when its condition holds now and did not
//! then; otherwise the state is brought up to date. A job that is running is left alone: its
//! end records its run, and the next evaluation goes on from there.

use rustc_hash::FxHashMap as HashMap;

use super::state::{self, WhenState};
use super::{Job, Kind};
use crate::diagnostic::Problem;
use crate::eval::{Evaluator, Options};
use crate::goalfile::{Goalfile, When};
use crate::memory::Memory;
use crate::report::{Reporter, Verbosity};

/// A `when` job that fires, with the variables' values as it starts.
pub struct Fire<'g> {
    pub job: Job<'g>,
    pub values: Vec<(String, String)>,
}

/// What one evaluation found.
#[derive(Default)]
pub struct Evaluation<'g> {
    pub fire: Vec<Fire<'g>>,
    /// A condition that could not be evaluated (a command that could not start, a Memory
    /// error): that job neither fires nor changes its state.
    pub problems: Vec<Problem>,
}

/// How an evaluation treats the Memory.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Remember each condition's state.
    Record,
    /// `goal set --test`: write nothing.
    Test,
}

/// Evaluates every `when` condition but those of the jobs `busy` names, taking `assumed` as the
/// values of those variables.
pub fn evaluate<'g>(
    goalfile: &'g Goalfile,
    memory: &Memory,
    busy: &dyn Fn(&str) -> bool,
    assumed: &[(String, String)],
    mode: Mode,
) -> Result<Evaluation<'g>, Problem> {
    let mut evaluation = Evaluation::default();
    if goalfile.when.is_empty() {
        return Ok(evaluation);
    }
    let mut evaluator = evaluator(goalfile, memory, mode)?;
    evaluator.assume_variables(assumed);
    let values = evaluator.variable_values()?;
    for job in super::all(goalfile) {
        let Kind::When(when) = job.kind else { continue };
        if busy(&job.name) {
            continue;
        }
        match check(&mut evaluator, memory, when, mode) {
            Ok(true) => evaluation.fire.push(Fire {
                job,
                values: values.clone(),
            }),
            Ok(false) => {}
            Err(problem) => evaluation.problems.push(Problem {
                message: format!(
                    "the condition of `when {}` could not be evaluated: {}",
                    when.name.text, problem.message
                ),
                ..problem
            }),
        }
    }
    Ok(evaluation)
}

/// Whether `when` fires; brings its state up to date when it does not.
fn check<'g>(
    evaluator: &mut Evaluator<'g>,
    memory: &Memory,
    when: &'g When,
    mode: Mode,
) -> Result<bool, Problem> {
    let WhenState { holds, last_run } = state::when_state(memory, &when.name.text)?;
    let now = evaluator.condition(&when.condition, last_run)?.holds;
    if now && !holds {
        return Ok(true);
    }
    if now != holds && mode == Mode::Record {
        state::set_holds(memory, &when.name.text, now)?;
    }
    Ok(false)
}

/// Records a run of `when` that started with `values` (whatever its result): `changed` and its
/// kin then compare against these values, and the condition's state is as it stood when the run
/// started, with those values. So a change that happened during the run fires the job again,
/// while one the run already saw does not.
pub fn record_run<'g>(
    goalfile: &'g Goalfile,
    memory: &Memory,
    when: &'g When,
    values: &[(String, String)],
) -> Result<(), Problem> {
    let mut evaluator = evaluator(goalfile, memory, Mode::Record)?;
    evaluator.assume_variables(values);
    let last_run = values.iter().cloned().collect::<HashMap<_, _>>();
    let holds = match evaluator.condition(&when.condition, last_run) {
        Ok(verdict) => verdict.holds,
        // It held when the job fired: without an answer now, keep that.
        Err(_) => true,
    };
    state::record_run(memory, &when.name.text, values, holds)
}

/// The values of the variables as they are now: what a `when` job started by hand runs with.
pub fn current_values(
    goalfile: &Goalfile,
    memory: &Memory,
) -> Result<Vec<(String, String)>, Problem> {
    evaluator(goalfile, memory, Mode::Record)?.variable_values()
}

fn evaluator<'g>(
    goalfile: &'g Goalfile,
    memory: &Memory,
    mode: Mode,
) -> Result<Evaluator<'g>, Problem> {
    let options = Options {
        dry_run: mode == Mode::Test,
        explain: false,
        keep_going: false,
        jobs: 1,
        force: crate::eval::Force::Nothing,
    };
    Evaluator::new(
        goalfile,
        memory.clone(),
        options,
        Reporter::new(Verbosity::Quiet),
    )
}
