//! Jobs: the `every` and `when` blocks of a Goalfile. Each firing of a job is a run of its body,
//! evaluated as `goal NAME` evaluates a goal; what the jobs must remember between runs (the last
//! firing, a condition's state, the values a job last ran with, the serial numbers) is kept in
//! the Memory, so a restarted daemon, or the next `goal tick`, goes on where the last one ended.

pub mod commands;
pub mod schedule;
mod state;
pub mod when;

use crate::diagnostic::{did_you_mean, Problem};
use crate::goalfile::{Every, Goal, Goalfile, JobLimits, Name, Schedule, Statement, When};

pub use state::{counted_from, last_fired, next_serial, record_firing};

/// The environment variables through which a job's recipes learn which firing they belong to.
pub const JOB_ENV: &str = "GOAL_JOB";
pub const SERIAL_ENV: &str = "GOAL_JOB_SERIAL";

/// One `every` or `when` block, under the name jobs are known by.
#[derive(Clone)]
pub struct Job<'g> {
    pub name: String,
    pub kind: Kind<'g>,
}

#[derive(Clone, Copy)]
pub enum Kind<'g> {
    Every(&'g Every),
    When(&'g When),
}

impl<'g> Job<'g> {
    pub fn body(&self) -> &'g [Statement] {
        match self.kind {
            Kind::Every(every) => &every.body,
            Kind::When(when) => &when.body,
        }
    }

    pub fn limits(&self) -> JobLimits {
        match self.kind {
            Kind::Every(every) => every.limits,
            Kind::When(when) => when.limits,
        }
    }

    /// `every nightly`, `when release`: how runs of the job are shown and logged. The space
    /// keeps it apart from every goal name.
    pub fn label(&self) -> String {
        let keyword = match self.kind {
            Kind::Every(_) => "every",
            Kind::When(_) => "when",
        };
        format!("{keyword} {}", self.name)
    }

    /// When the job fires, as `goal jobs --names` shows it.
    pub fn trigger(&self) -> String {
        match self.kind {
            Kind::Every(Every {
                schedule: Schedule::Interval { every, .. },
                ..
            }) => format!("every {}", humantime::format_duration(*every)),
            Kind::Every(Every {
                schedule: Schedule::Cron { expression },
                ..
            }) => format!("cron {expression}"),
            Kind::When(_) => "when its condition turns true".to_owned(),
        }
    }

    /// The Goalfile with one more goal, named by [`Job::label`], whose body is the job's: a
    /// firing is then reached as any goal is, with its logs, hooks and report.
    pub fn as_goalfile(&self, goalfile: &Goalfile) -> Goalfile {
        let span = match self.kind {
            Kind::Every(every) => every.span,
            Kind::When(when) => when.span,
        };
        let mut with_job = goalfile.clone();
        with_job.goals.push(Goal {
            name: Name {
                text: self.label().into(),
                span,
            },
            doc: None,
            params: Vec::new(),
            body: self.body().to_vec(),
            hooks: Default::default(),
            span,
        });
        with_job
    }
}

/// Every job of the Goalfile: the `every` blocks, then the `when` blocks, in file order.
pub fn all(goalfile: &Goalfile) -> Vec<Job<'_>> {
    let every = goalfile.every.iter().enumerate().map(|(i, every)| Job {
        name: every.job_name(i),
        kind: Kind::Every(every),
    });
    let when = goalfile.when.iter().map(|when| Job {
        name: when.name.text.to_string(),
        kind: Kind::When(when),
    });
    every.chain(when).collect()
}

/// Each job's name and when it runs, as `goal jobs --names` lists them and the daemon's `names`
/// order answers: `NAME TRIGGER NAME TRIGGER …`.
pub fn names(goalfile: &Goalfile) -> Vec<String> {
    all(goalfile)
        .iter()
        .flat_map(|job| [job.name.clone(), job.trigger()])
        .collect()
}

/// The job called `name`.
pub fn find<'g>(goalfile: &'g Goalfile, name: &str) -> Result<Job<'g>, Problem> {
    let jobs = all(goalfile);
    if let Some(job) = jobs.iter().find(|job| job.name == name) {
        return Ok(job.clone());
    }
    let help = did_you_mean(name, jobs.iter().map(|job| job.name.as_str()))
        .unwrap_or_else(|| "`goal jobs --names` lists the jobs".to_owned());
    Err(Problem::input(
        "goal::unknown-job",
        format!("there is no job `{name}` in the Goalfile"),
    )
    .with_help(help))
}
