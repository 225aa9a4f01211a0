//! The commands about jobs and variables: `goal tick`, `goal set`, `goal get`, `goal vars`,
//! `goal jobs`, `goal job start|cancel|tail` and `goal daemon status|stop|reload`. Each one
//! asks the project's daemon when one runs, and otherwise does the work here, holding the run
//! lock as `goal NAME` does.

use std::cell::OnceCell;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::schedule::{self, Due};
use super::when::{self, Mode};
use super::{Job, Kind};
use crate::daemon::{self, control, Ended};
use crate::diagnostic::{self, Error, Problem, Result};
use crate::eval::Request;
use crate::goalfile::Goalfile;
use crate::memory::fleet::{self, Election, Leader, Standing};
use crate::memory::{self, Location, Memory, RunLock};
use crate::report::print_bytes;
use crate::runner::{self, Run, Settings};

/// How many times one `goal tick` or `goal set` looks at the `when` jobs again after the ones it
/// ran: their runs may set variables that fire others, but never without end.
const ROUNDS: usize = 10;

/// The project a command works on.
pub struct Project {
    pub goalfile_path: PathBuf,
    /// The checked Goalfile, read when a command first needs it: orders to the daemon do not,
    /// so `goal daemon stop` works while the Goalfile has an error.
    goalfile: OnceCell<Goalfile>,
    pub location: Location,
    pub settings: Settings,
    /// `--wait`: wait for another run's lock instead of stopping.
    pub wait: bool,
}

impl Project {
    pub fn new(
        goalfile_path: PathBuf,
        location: Location,
        settings: Settings,
        wait: bool,
    ) -> Project {
        Project {
            goalfile_path,
            goalfile: OnceCell::new(),
            location,
            settings,
            wait,
        }
    }

    pub fn goalfile(&self) -> Result<&Goalfile> {
        if let Some(goalfile) = self.goalfile.get() {
            return Ok(goalfile);
        }
        let store = crate::cache::Store::unless_dry_run(self.settings.options.dry_run);
        let goalfile = crate::cache::load_checked(&self.goalfile_path, self.state_dir(), store)?;
        Ok(self.goalfile.get_or_init(|| goalfile))
    }

    fn state_dir(&self) -> &Path {
        &self.location.state_dir
    }

    /// The run lock, unless a daemon runs the jobs (then `what` would run them twice).
    fn lock_without_daemon(&self, what: &str) -> Result<RunLock> {
        if let Some(daemon) = memory::daemon(self.state_dir()) {
            return Err(Problem::input(
                "goal::daemon-running",
                format!(
                    "the goal daemon (pid {}) runs this project's jobs: {what} would run them twice",
                    daemon.pid
                ),
            )
            .with_help("`goal daemon stop` stops it")
            .into());
        }
        Ok(RunLock::acquire(self.state_dir(), self.wait)?)
    }

    /// With a shared Memory, who runs the campaign's jobs: this command, once it took the lead
    /// (held until dropped), or another process.
    fn lead(&self) -> Result<Lead, Problem> {
        let Some(database) = &self.location.database else {
            return Ok(Lead::Alone);
        };
        let mut election = Election::open(database, false)?;
        Ok(match election.round()? {
            Standing::Leads(_) => Lead::Taken(Box::new(election)),
            Standing::StandsBy(Some(leader)) => Lead::Daemon(leader),
            Standing::StandsBy(None) => Lead::Busy,
        })
    }

    /// The namespace of the shared Memory, for messages.
    fn namespace(&self) -> &str {
        self.location
            .database
            .as_ref()
            .map_or("", |database| database.namespace.as_str())
    }

    /// Runs one firing of `job` here, as `goal NAME` runs a goal; its exit status. A failure is
    /// reported here, so the caller can go on with the next job.
    fn run_job(&self, job: &Job, serial: u64, memory: &Memory, lock: Option<&RunLock>) -> u8 {
        match self.try_run_job(job, serial, memory, lock) {
            Ok(status) => status,
            Err(error) => {
                eprint!("{}", diagnostic::render(&error.problems));
                error.exit_code()
            }
        }
    }

    fn try_run_job(
        &self,
        job: &Job,
        serial: u64,
        memory: &Memory,
        lock: Option<&RunLock>,
    ) -> Result<u8> {
        let goalfile = job.as_goalfile(self.goalfile()?);
        let run = Run {
            goalfile: &goalfile,
            location: &self.location,
            memory: memory.clone(),
            lock,
            environment: vec![
                (super::JOB_ENV, job.name.clone()),
                (super::SERIAL_ENV, serial.to_string()),
            ],
        };
        let request = Request {
            goal: job.label(),
            args: Vec::new(),
        };
        runner::reach(self.settings.clone(), run, &[request])
    }

    /// Runs the `when` jobs whose conditions fire, one after the other, looking again after
    /// them; the worst exit status.
    fn run_when_jobs(&self, memory: &Memory, lock: &RunLock) -> Result<u8> {
        let mut ran: Vec<String> = Vec::new();
        let mut status = 0;
        for _ in 0..ROUNDS {
            // A job runs at most once per command: one that failed would fire again at once.
            let busy = |name: &str| ran.iter().any(|done| done == name);
            let evaluation = when::evaluate(self.goalfile()?, memory, &busy, &[], Mode::Record)?;
            if !evaluation.problems.is_empty() {
                eprint!("{}", diagnostic::render(&evaluation.problems));
                status = status.max(1);
            }
            if evaluation.fire.is_empty() {
                break;
            }
            for fire in evaluation.fire {
                ran.push(fire.job.name.clone());
                let serial = super::next_serial(memory)?;
                let ended = self.run_job(&fire.job, serial, memory, Some(lock));
                if crate::interrupt::interrupted() {
                    // Recorded nothing: the next evaluation fires it again.
                    return Ok(ended);
                }
                if let Kind::When(when) = fire.job.kind {
                    when::record_run(self.goalfile()?, memory, when, &fire.values)?;
                }
                status = status.max(ended);
            }
        }
        Ok(status)
    }
}

/// Who runs the jobs of a campaign sharing its Memory.
enum Lead {
    /// The Memory is this project's own.
    Alone,
    /// This command leads, until the election is dropped.
    Taken(Box<Election>),
    /// A daemon leads.
    Daemon(Leader),
    /// Another `goal tick` or `goal set` runs the jobs now.
    Busy,
}

/// `goal tick`: runs the `every` jobs that are due and the `when` jobs that fire, then exits.
/// In a dry run, says which would, and writes nothing.
pub fn tick(project: &Project, skip_missed: bool) -> Result<u8> {
    if project.settings.options.dry_run {
        return tick_dry_run(project, skip_missed);
    }
    let lock = project.lock_without_daemon("`goal tick`")?;
    let namespace = project.namespace();
    let _lead =
        match project.lead()? {
            Lead::Alone => None,
            Lead::Taken(election) => Some(election),
            Lead::Daemon(leader) => return Err(Problem::input(
                "goal::daemon-running",
                format!(
                    "the goal daemon on host {} (pid {}) leads the campaign's jobs",
                    leader.host, leader.pid
                ),
            )
            .with_help(
                "`goal tick` would run them twice; `goal status` shows the runs the daemon fired",
            )
            .into()),
            Lead::Busy => {
                return Err(Problem::failure(
                    "goal::jobs-busy",
                    format!("another goal runs the jobs of namespace `{namespace}` now"),
                )
                .with_help("wait for it to finish, then run `goal tick` again")
                .into())
            }
        };
    let memory = Memory::new(project.location.clone());
    let mut status = 0;
    for job in super::all(project.goalfile()?) {
        let Kind::Every(every) = job.kind else {
            continue;
        };
        let now = SystemTime::now();
        let last = super::counted_from(&memory, &job.name, &every.schedule, now)?;
        if schedule::due(every, last, now, skip_missed) != Due::Now {
            continue;
        }
        super::record_firing(&memory, &job.name, now)?;
        let serial = super::next_serial(&memory)?;
        status = status.max(project.run_job(&job, serial, &memory, Some(&lock)));
        if crate::interrupt::interrupted() {
            return Ok(status);
        }
    }
    Ok(status.max(project.run_when_jobs(&memory, &lock)?))
}

/// `goal -n tick`: the jobs a tick would start now (the `every` jobs that are due, the `when`
/// jobs whose conditions fire), without the ones those runs would fire in turn; exit status 1
/// when any would fire, as for goals.
fn tick_dry_run(project: &Project, skip_missed: bool) -> Result<u8> {
    // Read-only: the project's location says so in a dry run.
    let memory = Memory::new(project.location.clone());
    let goalfile = project.goalfile()?;
    let now = SystemTime::now();
    let mut fire = Vec::new();
    for job in super::all(goalfile) {
        if let Kind::Every(every) = job.kind {
            let last = super::last_fired(&memory, &job.name)?;
            if schedule::due(every, last, now, skip_missed) == Due::Now {
                fire.push(job.label());
            }
        }
    }
    let evaluation = when::evaluate(goalfile, &memory, &|_| false, &[], Mode::Test)?;
    fire.extend(evaluation.fire.iter().map(|fire| fire.job.label()));
    say_would_fire(&fire, &evaluation.problems, "no job would fire")?;
    Ok(u8::from(
        !fire.is_empty() || !evaluation.problems.is_empty(),
    ))
}

/// What `goal set` does besides setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetMode {
    /// Set, then run the `when` jobs that fire.
    Evaluate,
    /// `--whisper`: set only.
    Whisper,
    /// `--test`: say which `when` jobs would fire; set nothing.
    Test,
}

/// `goal set NAME=VALUE…`: every variable at once.
pub fn set(project: &Project, words: &[String], mode: SetMode) -> Result<u8> {
    let pairs = crate::variables::assignments(project.goalfile()?, words)?;
    if mode == SetMode::Test {
        return test_set(project, &pairs);
    }
    let whisper = if mode == SetMode::Whisper { "1" } else { "0" };
    let order: Vec<&str> = ["set", whisper]
        .into_iter()
        .chain(pairs.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]))
        .collect();
    if let Some(answer) = control::ask(project.state_dir(), &order)? {
        // A daemon standing by set the variables and told the leader.
        match answer.as_slice() {
            [leader, host] if leader == "leader" => {
                say(&who_fires(Some(host), project.namespace()))?
            }
            [busy] if busy == "busy" => say(&who_fires(None, project.namespace()))?,
            started => {
                for pair in started.chunks(2) {
                    if let [serial, label] = pair {
                        say(&format!(
                            "goal: the daemon started job {serial} ({label}); `goal job tail {serial}` follows it\n"
                        ))?;
                    }
                }
            }
        }
        return Ok(0);
    }
    let lock = RunLock::acquire(project.state_dir(), project.wait)?;
    let memory = Memory::new(project.location.clone());
    memory.set_all(&crate::variables::entries(&pairs))?;
    if mode == SetMode::Whisper {
        return Ok(0);
    }
    // With a shared Memory, the `when` jobs are run by whoever leads the campaign's jobs, so
    // that each fires once across the hosts.
    match project.lead()? {
        Lead::Alone => project.run_when_jobs(&memory, &lock),
        // Held until the jobs have run.
        Lead::Taken(_election) => project.run_when_jobs(&memory, &lock),
        Lead::Daemon(leader) => leave_to_the_lead(project, Some(&leader.host)),
        Lead::Busy => leave_to_the_lead(project, None),
    }
}

/// Tells whoever leads the campaign's jobs that variables changed, and the user who fires
/// them: the daemon on `leader`, or (`None`) whoever runs the jobs next.
fn leave_to_the_lead(project: &Project, leader: Option<&str>) -> Result<u8> {
    if let Some(database) = &project.location.database {
        fleet::announce_change(database)?;
    }
    say(&who_fires(leader, project.namespace()))?;
    Ok(0)
}

/// Who fires the `when` jobs of a campaign after a `goal set`.
fn who_fires(leader: Option<&str>, namespace: &str) -> String {
    match leader {
        Some(host) => format!(
            "goal: the daemon on host {host} leads the jobs of namespace `{namespace}`: it fires \
             the when jobs\n"
        ),
        None => format!(
            "goal: another goal runs the jobs of namespace `{namespace}` now: the daemon leading \
             them, or the next `goal set` or `goal tick`, fires the when jobs\n"
        ),
    }
}

fn test_set(project: &Project, pairs: &[(String, String)]) -> Result<u8> {
    let memory = Memory::read_only(project.location.clone());
    let evaluation = when::evaluate(project.goalfile()?, &memory, &|_| false, pairs, Mode::Test)?;
    let fire: Vec<String> = evaluation
        .fire
        .iter()
        .map(|fire| fire.job.label())
        .collect();
    say_would_fire(&fire, &evaluation.problems, "no when job would fire")?;
    Ok(u8::from(!evaluation.problems.is_empty()))
}

/// The report of `goal set --test` and `goal -n tick`: the problems on standard error, then a
/// line for each job that would fire, or `nothing` when none would.
fn say_would_fire(labels: &[String], problems: &[Problem], nothing: &str) -> Result<()> {
    if !problems.is_empty() {
        eprint!("{}", diagnostic::render(problems));
    }
    let mut out = String::new();
    for label in labels {
        out.push_str(&format!("would fire: {label}\n"));
    }
    if labels.is_empty() {
        out.push_str(nothing);
        out.push('\n');
    }
    Ok(say(&out)?)
}

/// `goal get NAME`.
pub fn get(project: &Project, name: &str) -> Result<u8> {
    let memory = Memory::read_only(project.location.clone());
    let values = when::current_values(project.goalfile()?, &memory)?;
    say(&crate::variables::get(project.goalfile()?, name, &values)?)?;
    Ok(0)
}

/// `goal vars`.
pub fn vars(project: &Project) -> Result<u8> {
    let memory = Memory::read_only(project.location.clone());
    let values = when::current_values(project.goalfile()?, &memory)?;
    say(&crate::variables::list(
        project.goalfile()?,
        &values,
        &memory,
    )?)?;
    Ok(0)
}

/// What `goal jobs` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// The runs going on now (the daemon's).
    Running,
    /// `--names`: every job of the Goalfile.
    Names,
    /// `--ended`: the daemon's last runs that ended, newest first.
    Ended,
}

/// How many ended runs `goal jobs --ended` lists.
const ENDED_SHOWN: usize = 20;

/// `goal jobs [--names | --ended] [--json]`.
pub fn list(project: &Project, listing: Listing, json: bool) -> Result<u8> {
    let (kind, header, rows, none): (_, &[&str], Vec<Vec<String>>, _) = match listing {
        Listing::Ended => (
            "ended-jobs",
            &["SERIAL", "JOB", "STARTED", "TOOK", "RESULT"],
            Ended::recent(project.state_dir(), ENDED_SHOWN)
                .into_iter()
                .map(|ended| {
                    vec![
                        ended.serial.to_string(),
                        ended.label,
                        ended.started,
                        ended.took,
                        ended.result,
                    ]
                })
                .collect(),
            "no job run of the daemon has ended yet\n",
        ),
        Listing::Names => {
            let fields = match control::ask(project.state_dir(), &["names"])? {
                Some(fields) => fields,
                None => super::names(project.goalfile()?),
            };
            (
                "job-names",
                &["NAME", "RUNS"],
                fields.chunks(2).map(<[String]>::to_vec).collect(),
                "the Goalfile has no jobs: no `every` or `when` blocks\n",
            )
        }
        Listing::Running => (
            "jobs",
            &["SERIAL", "JOB", "STARTED", "PID", "LOG"],
            ask_daemon(project, &["jobs"])?
                .chunks(5)
                .map(<[String]>::to_vec)
                .collect(),
            "no job is running\n",
        ),
    };
    if json {
        say(&crate::report::json::table(kind, header, &rows))?;
    } else if rows.is_empty() {
        say(none)?;
    } else {
        say(&table(header, &rows))?;
    }
    Ok(0)
}

/// `goal job start NAME`: by the daemon when one runs, else here. With `serial`, this is the
/// daemon's own child for that run.
pub fn start(project: &Project, name: &str, serial: Option<u64>) -> Result<u8> {
    let job = super::find(project.goalfile()?, name)?;
    if let Some(serial) = serial {
        let memory = Memory::new(project.location.clone());
        return Ok(project.run_job(&job, serial, &memory, None));
    }
    if let Some(answer) = control::ask(project.state_dir(), &["start", name])? {
        let serial = answer.first().map(String::as_str).unwrap_or("?");
        say(&format!(
            "goal: the daemon started job {serial} ({}); `goal job tail {serial}` follows it\n",
            job.label()
        ))?;
        return Ok(0);
    }
    let lock = RunLock::acquire(project.state_dir(), project.wait)?;
    let memory = Memory::new(project.location.clone());
    let values = when::current_values(project.goalfile()?, &memory)?;
    let serial = super::next_serial(&memory)?;
    let status = project.run_job(&job, serial, &memory, Some(&lock));
    if let (Kind::When(when), false) = (job.kind, crate::interrupt::interrupted()) {
        when::record_run(project.goalfile()?, &memory, when, &values)?;
    }
    Ok(status)
}

/// `goal job cancel SERIAL`.
pub fn cancel(project: &Project, serial: u64) -> Result<u8> {
    ask_daemon(project, &["cancel", &serial.to_string()])?;
    say(&format!("goal: job {serial} is stopping\n"))?;
    Ok(0)
}

/// How often `goal job tail` looks for more output: it reads a file another process writes.
const TAIL_POLL: Duration = Duration::from_millis(100);

/// `goal job tail SERIAL`: the run's output so far, then more as it comes, until it ends.
pub fn tail(project: &Project, serial: u64) -> Result<u8> {
    let path = daemon::log_path(project.state_dir(), serial);
    let mut file = File::open(&path).map_err(|_| {
        Problem::input(
            "goal::unknown-serial",
            format!("no output of a job run {serial} in {}", path.display()),
        )
        .with_help("`goal jobs` lists the running jobs; the daemon keeps the last 200 runs' output")
    })?;
    let mut position = 0;
    loop {
        // Looked at before reading, so that output written before the end is not missed.
        let ended = Ended::read(project.state_dir(), serial);
        let orphaned = ended.is_none() && memory::daemon(project.state_dir()).is_none();
        // Bytes, not text: a job's commands may print anything, and a character cut in two
        // by the end of one read is whole again on the terminal once the next is written.
        let mut more = Vec::new();
        file.seek(SeekFrom::Start(position))
            .and_then(|_| file.read_to_end(&mut more))
            .map_err(|error| {
                Problem::failure(
                    "goal::job-log",
                    format!("cannot read {}: {error}", path.display()),
                )
            })?;
        position += more.len() as u64;
        if !say_bytes(&more)? {
            // Nobody reads any more (`goal job tail 7 | head`).
            return Ok(0);
        }
        if let Some(ended) = ended {
            say(&format!("goal: job {serial} ended: {}\n", ended.result))?;
            return Ok(0);
        }
        if orphaned {
            return Ok(0);
        }
        std::thread::sleep(TAIL_POLL);
    }
}

/// `goal daemon status|stop|reload`.
pub fn daemon_order(project: &Project, order: &str) -> Result<u8> {
    let answer = ask_daemon(project, &[order])?;
    match order {
        "status" => say(&(answer.join("\n") + "\n"))?,
        "stop" => {
            // The daemon answers at once and exits when its jobs have stopped.
            while memory::daemon(project.state_dir()).is_some() {
                std::thread::sleep(Duration::from_millis(50));
            }
            say("goal: the daemon stopped\n")?;
        }
        _ => say("goal: the daemon reloaded the Goalfile\n")?,
    }
    Ok(0)
}

fn ask_daemon(project: &Project, order: &[&str]) -> Result<Vec<String>> {
    control::ask(project.state_dir(), order)?.ok_or_else(|| {
        Error::from(
            Problem::failure("goal::no-daemon", "no goal daemon runs for this project")
                .with_help("start one with `goal daemon`"),
        )
    })
}

fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn say(text: &str) -> Result<(), Problem> {
    say_bytes(text.as_bytes()).map(drop)
}

/// Whether standard output is still read.
fn say_bytes(bytes: &[u8]) -> Result<bool, Problem> {
    print_bytes(bytes).map_err(|error| {
        Problem::failure(
            "goal::output",
            format!("cannot write to standard output: {error}"),
        )
    })
}
