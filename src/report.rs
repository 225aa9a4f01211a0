//! Report: what the user sees while goals are evaluated.
//!
//! Status lines go to standard error, prefixed `goal:` like make's, so a recipe's own standard
//! output can be piped untouched; a dry run's answer (what would fire) is the product of that
//! command and goes to standard output. Coloured as [`crate::colour`] decides.
//! A dry run asked for as JSON or as a graph keeps its answer in a [`Record`] instead, printed
//! whole at the end.

pub mod compdb;
pub mod graph;
pub mod json;
mod list;
mod record;
mod warnings;

use std::fmt::Write as _;
use std::io::Write;
use std::time::Duration;

pub use list::{GoalList, Location};
pub use record::{RecipeRun, Record, RecordedInstance, RunState, State};
pub use warnings::StatusLines;

/// How much to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// Errors only.
    Quiet,
    /// Goals that run, the goals asked for, and a summary.
    Normal,
    /// Also every goal found already reached, and every recipe before it runs.
    Verbose,
}

pub struct Reporter {
    verbosity: Verbosity,
    colour: bool,
    stats: Stats,
    /// The instances that failed, were interrupted or were blocked, named by the summary.
    failed: Vec<String>,
    interrupted: Vec<String>,
    blocked: Vec<String>,
    /// Kept for a dry run printed as JSON or drawn: its answer is not written line by line.
    record: Option<Record>,
}

/// Counts for the closing summary. Grouping goals are not counted.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub ran: usize,
    pub reached: usize,
    pub would_fire: usize,
    pub may_fire: usize,
    /// Its recipe failed, its promise was broken, or another statement of its own failed.
    pub failed: usize,
    /// It was stopped part-way: its recipe by an interruption, or, with another goal failed,
    /// before its next statement.
    pub interrupted: usize,
    /// It did not run because something it requires failed.
    pub blocked: usize,
    /// The run stopped before it began anything of its own.
    pub not_started: usize,
}

#[derive(Clone, Copy)]
enum Style {
    Start,
    Done,
    Reached,
    Failed,
    Note,
}

impl Reporter {
    pub fn new(verbosity: Verbosity) -> Reporter {
        Reporter {
            verbosity,
            colour: crate::colour::enabled(),
            stats: Stats::default(),
            failed: Vec::new(),
            interrupted: Vec::new(),
            blocked: Vec::new(),
            record: None,
        }
    }

    /// A reporter that keeps a dry run's answer in a [`Record`] rather than printing it.
    pub fn recording(verbosity: Verbosity) -> Reporter {
        Reporter {
            record: Some(Record::default()),
            ..Reporter::new(verbosity)
        }
    }

    /// Whether the dry run's answer is kept in a [`Record`].
    pub fn records(&self) -> bool {
        self.record.is_some()
    }

    /// The record kept, once the run has ended.
    pub fn take_record(&mut self) -> Option<Record> {
        self.record.take()
    }

    /// Recording: an instance met, required by `requirer` (none for a goal named on the
    /// command line).
    pub fn met(
        &mut self,
        requirer: Option<&str>,
        instance: &str,
        goal: &str,
        arguments: Vec<(String, String)>,
    ) {
        if let Some(record) = &mut self.record {
            record.met(requirer, instance, goal, arguments);
        }
    }

    /// Recording: why an instance is in the state it settles in, when nothing prints it.
    pub fn reason(&mut self, instance: &str, why: &str) {
        if let Some(record) = &mut self.record {
            record.reason(instance, why);
        }
    }

    /// Recording: the first target and source of an instance's first `file-newer`.
    pub fn file_newer(&mut self, instance: &str, target: &str, source: Option<&str>) {
        if let Some(record) = &mut self.record {
            record.file_newer(instance, target, source);
        }
    }

    /// Recording: a recipe an instance would run, as rendered.
    pub fn recipe(&mut self, instance: &str, script: &str) {
        if let Some(record) = &mut self.record {
            record.recipe(instance, script);
        }
    }

    /// Recording: the state an instance settled in; `failure`, the message of its own failure.
    pub fn settled(&mut self, instance: &str, state: State, failure: Option<&str>) {
        if let Some(record) = &mut self.record {
            record.settled(instance, state, failure);
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    fn line(&self, style: Style, word: &str, rest: &str) {
        let mut text = String::from("goal: ");
        if self.colour {
            let code = match style {
                Style::Start => "36",
                Style::Done => "32",
                Style::Reached => "2",
                Style::Failed => "1;31",
                Style::Note => "33",
            };
            let _ = write!(text, "\x1b[{code}m{word}\x1b[0m");
        } else {
            text.push_str(word);
        }
        text.push(' ');
        text.push_str(rest);
        text.push('\n');
        // A closed stderr must not turn into a panic in the middle of a run.
        crate::progress::suspend(|| {
            let _ = std::io::stderr().write_all(text.as_bytes());
        });
    }

    /// A goal begins running its recipe.
    pub fn started(&mut self, instance: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.line(Style::Start, "start", instance);
        }
    }

    pub fn finished(&mut self, instance: &str, elapsed: Duration) {
        self.stats.ran += 1;
        if self.verbosity >= Verbosity::Normal {
            self.line(
                Style::Done,
                "done ",
                &format!("{instance} ({})", seconds(elapsed)),
            );
        }
    }

    /// A goal whose target held. Shown for goals asked for on the command line, and for all
    /// with `-v`: a no-op run over ten thousand goals should not print ten thousand lines.
    pub fn reached(&mut self, instance: &str, asked_for: bool) {
        self.stats.reached += 1;
        if self.verbosity >= Verbosity::Verbose
            || (asked_for && self.verbosity >= Verbosity::Normal)
        {
            self.line(Style::Reached, "reached", instance);
        }
    }

    /// Whether [`Reporter::reached`] prints goals not asked for on the command line.
    pub fn shows_nested_reached(&self) -> bool {
        self.verbosity >= Verbosity::Verbose
    }

    /// Counts reached goals that were not shown.
    pub fn count_reached(&mut self, count: usize) {
        self.stats.reached += count;
    }

    /// A goal that failed of its own; shown when it had begun running (`elapsed` since then),
    /// else only named by the summary and the error.
    pub fn failed(&mut self, instance: &str, elapsed: Option<Duration>) {
        if let (Some(elapsed), true) = (elapsed, self.verbosity >= Verbosity::Normal) {
            self.line(
                Style::Failed,
                "FAILED",
                &format!("{instance} ({})", seconds(elapsed)),
            );
        }
        self.stats.failed += 1;
        self.failed.push(instance.to_string());
    }

    /// A goal stopped part-way by an interruption (or by another goal's failure).
    pub fn interrupted(&mut self, instance: &str, elapsed: Duration) {
        if self.verbosity >= Verbosity::Normal {
            self.line(
                Style::Failed,
                "interrupted",
                &format!("{instance} ({})", seconds(elapsed)),
            );
        }
        self.stats.interrupted += 1;
        self.interrupted.push(instance.to_string());
    }

    /// A goal that does not run because something it requires failed.
    pub fn blocked(&mut self, instance: &str, requirement: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.line(
                Style::Failed,
                "blocked",
                &format!("{instance} (requires {requirement}, which failed)"),
            );
        }
        self.stats.blocked += 1;
        self.blocked.push(instance.to_string());
    }

    /// A goal the run stopped at before it began anything of its own: counted, not shown.
    pub fn not_started(&mut self) {
        self.stats.not_started += 1;
    }

    /// A failed recipe about to be tried again.
    pub fn retry(
        &mut self,
        instance: &str,
        attempt: u32,
        attempts: u32,
        wait: Duration,
        why: &str,
    ) {
        if self.verbosity >= Verbosity::Normal {
            self.line(
                Style::Note,
                "retry",
                &format!(
                    "{instance}: its recipe {why}; attempt {attempt} of {attempts} in {}",
                    humantime::format_duration(wait)
                ),
            );
        }
    }

    /// `--explain`: why a goal fires or is skipped.
    pub fn explain(&mut self, instance: &str, why: &str) {
        self.line(Style::Note, "explain", &format!("{instance}: {why}"));
    }

    /// A note that is not an error (an unreachable URL that counts as false, …).
    pub fn note(&mut self, text: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.line(Style::Note, "note", text);
        }
    }

    /// `-v`: the command about to run.
    pub fn command(&mut self, script: &str) {
        if self.verbosity >= Verbosity::Verbose {
            self.line(Style::Note, "run", script.trim());
        }
    }

    /// `--dry-run`: an instance that would run its recipe, and why. Standard output.
    pub fn would_fire(&mut self, instance: &str, why: &str) {
        self.stats.would_fire += 1;
        match &mut self.record {
            Some(record) => record.verdict(instance, why),
            None => drop(print_out(&format!("would fire: {instance}  ({why})\n"))),
        }
    }

    /// `--dry-run`: an instance whose target can only be known once what it requires has run.
    pub fn may_fire(&mut self, instance: &str, why: &str) {
        self.stats.may_fire += 1;
        match &mut self.record {
            Some(record) => record.verdict(instance, why),
            None => drop(print_out(&format!("may fire:   {instance}  ({why})\n"))),
        }
    }

    /// The steps a `plan` chose, each with its cost: on standard output in a dry run (it is
    /// part of the answer), else as a status line; a dry run kept in a [`Record`] keeps standard
    /// output for the record alone.
    pub fn plan(&mut self, instance: &str, steps: &[(&str, String)], total: &str, dry_run: bool) {
        if dry_run && !self.records() {
            let mut text = format!(
                "plan for {instance}: {} step(s), total cost {total}\n",
                steps.len()
            );
            let width = steps.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
            for (number, (name, cost)) in steps.iter().enumerate() {
                let _ = writeln!(text, "  {}. {name:width$}  (cost {cost})", number + 1);
            }
            let _ = print_out(&text);
        } else if self.verbosity >= Verbosity::Normal {
            let steps: Vec<String> = steps
                .iter()
                .map(|(name, cost)| format!("{name} ({cost})"))
                .collect();
            let steps = if steps.is_empty() {
                "no step".to_string()
            } else {
                steps.join(" → ")
            };
            self.line(
                Style::Note,
                "plan ",
                &format!("{instance}: {steps}, total cost {total}"),
            );
        }
    }

    pub fn summary(&mut self, elapsed: Duration, dry_run: bool) {
        if self.verbosity < Verbosity::Normal {
            return;
        }
        let Stats {
            ran,
            reached,
            would_fire,
            may_fire,
            failed,
            interrupted,
            blocked,
            not_started,
        } = self.stats;
        let mut text = if dry_run {
            format!("{would_fire} would fire, {may_fire} may fire, {reached} already reached")
        } else {
            format!("{ran} ran, {reached} already reached")
        };
        for (count, what) in [
            (failed, "failed"),
            (interrupted, "interrupted"),
            (blocked, "blocked"),
            (not_started, "not started"),
        ] {
            if count > 0 {
                let _ = write!(text, ", {count} {what}");
            }
        }
        self.line(
            Style::Note,
            "summary:",
            &format!("{text} ({})", seconds(elapsed)),
        );
        for instance in &self.failed {
            self.line(Style::Failed, "failed:", instance);
        }
        for instance in &self.interrupted {
            self.line(Style::Failed, "interrupted:", instance);
        }
        // Each was shown as it was found blocked; one line is enough to recall them.
        if !self.blocked.is_empty() {
            self.line(Style::Failed, "blocked:", &self.blocked.join(", "));
        }
    }
}

pub(crate) fn seconds(elapsed: Duration) -> String {
    format!("{:.2}s", elapsed.as_secs_f64())
}

/// Writes a command's answer (`--list`, a JSON document, a graph) to standard output.
pub fn print_answer(answer: &str) -> crate::diagnostic::Result<()> {
    print_out(answer).map_err(|error| {
        crate::diagnostic::Problem::failure(
            "goal::output",
            format!("cannot write to standard output: {error}"),
        )
        .into()
    })
}

/// Writes to standard output; a reader that stopped reading (`goal -n | head`) is not an
/// error, and must not become a panic.
pub fn print_out(text: &str) -> std::io::Result<()> {
    print_bytes(text.as_bytes()).map(drop)
}

/// Writes bytes as they are to standard output; says whether anyone still reads it (`goal job
/// tail 7 | head` stops reading once it has what it wanted, which is no error).
pub fn print_bytes(bytes: &[u8]) -> std::io::Result<bool> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(error) => Err(error),
    }
}
