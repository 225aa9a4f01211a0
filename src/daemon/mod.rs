//! `goal daemon`: runs the Goalfile's jobs, `every` block on its schedule and `when` block on
//! its condition, until stopped.
//!
//! One thread decides everything. It sleeps until the next deadline or the next event (an
//! order on the control socket, a job's end, a signal), never polling. Jobs run as child
//! processes ([`children`]); the daemon owns the Memory and serves it to them, and to any
//! `goal` started beside it, on the socket named in `.goal/daemon.lock`.
//!
//! With a shared Memory, the daemons of every host of the campaign elect one to fire the jobs
//! ([`election`]); the others stand by, and one of them takes over when the leader is gone.

mod children;
pub mod control;
mod election;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::diagnostic::{self, Problem, Result};
use crate::goalfile::Goalfile;
use crate::jobs::schedule::{self, Due};
use crate::jobs::when::{self, Mode};
use crate::jobs::{self, Job, Kind};
use crate::memory::fleet::{self, Leader, Standing};
use crate::memory::{Location, Memory, RunLock};
use crate::socket::Server;

pub use children::{log_path, Ended};
use control::{refusal, Order};

/// How `goal daemon` was started.
pub struct Config {
    pub goalfile: PathBuf,
    pub location: Location,
    /// Where to write the daemon's log; standard error when `None`.
    pub log: Option<PathBuf>,
    /// Skip every deadline missed while no daemon ran, whatever the jobs say.
    pub skip_missed: bool,
    /// Handed on to each job's `goal`: `-j N`, `-k`, `-q`, `-v`.
    pub job_arguments: Vec<String>,
}

/// Tells the project's daemon, if one runs, that variables changed, and with a shared Memory
/// the daemon leading the campaign, wherever it runs. Best effort: the run that set them has
/// nothing to do about a daemon that does not answer.
pub fn poke(location: &Location) {
    let announced = match &location.database {
        Some(database) => fleet::announce_change(database),
        None => Ok(()),
    };
    let poked = control::ask(&location.state_dir, &["poke"]).map(drop);
    for problem in [announced, poked].into_iter().filter_map(Result::err) {
        tracing::warn!("{problem}");
    }
}

/// Runs the daemon until it is stopped; its exit status.
pub fn run(config: Config) -> Result<u8> {
    let state_dir = config.location.state_dir.clone();
    let lock = RunLock::acquire_daemon(&state_dir)?;
    let goalfile =
        crate::cache::load_checked(&config.goalfile, &state_dir, crate::cache::Store::Allowed)?;
    let log = Log::open(config.log.as_deref())?;
    let memory = Memory::new(config.location.clone());
    {
        // The daemon must own the Memory itself, not borrow it from a run that happens to hold
        // it now and will end: it waits for such a run, then opens it while no run can start.
        let _run = RunLock::acquire(&state_dir, true)?;
        memory.get(&crate::variables::key(""))?;
    }
    let memory_socket = memory.serve()?;
    let (events, inbox) = mpsc::channel();
    let control = serve_orders(events.clone())?;
    lock.advertise(&[&memory_socket, control.path()])?;
    watch_signals(events.clone())?;
    let role = match &config.location.database {
        Some(database) => {
            election::start(database, events.clone())?;
            Role::StandsBy(None)
        }
        None => Role::Alone,
    };
    let mut environment = memory.environment(&memory_socket);
    // The jobs' `goal` must name the same Memory as the socket serves.
    environment.extend(config.location.environment());
    let mut daemon = Daemon {
        config,
        goalfile: Arc::new(goalfile),
        memory,
        environment,
        events,
        running: BTreeMap::new(),
        log,
        stopping: false,
        started: SystemTime::now(),
        role,
    };
    daemon.say(&format!(
        "started (pid {}) with {}",
        std::process::id(),
        count_jobs(&daemon.goalfile)
    ));
    let status = daemon.serve(&inbox);
    // Orders that came too late are refused at once, rather than left waiting for an answer
    // that the control socket, on its way down, would wait for.
    drop(inbox);
    drop(control);
    daemon.memory.flush();
    drop(lock);
    Ok(status)
}

/// A job run that has not ended yet.
struct Running {
    job: String,
    label: String,
    /// For a `when` job: the variables' values as it started, recorded when it ends.
    values: Option<Vec<(String, String)>>,
    pid: u32,
    started: SystemTime,
    clock: Instant,
    cancelled: bool,
}

enum Event {
    Order(Order, Sender<Vec<String>>),
    Ended { serial: u64, status: ExitStatus },
    Signal(i32),
    Election(election::News),
}

/// Whether this daemon fires the jobs.
enum Role {
    /// The Memory is this host's own: the daemon fires its jobs.
    Alone,
    /// It leads the campaign's daemons.
    Leads(SystemTime),
    /// Another process leads: the daemon named, or a `goal tick` or `goal set`.
    StandsBy(Option<Leader>),
    /// It cannot reach the shared Memory, and so cannot lead.
    Unreachable(String),
}

struct Daemon {
    config: Config,
    /// Shared with the loops over its jobs, which start jobs (and so change the daemon) as they
    /// go; replaced whole on reload.
    goalfile: Arc<Goalfile>,
    memory: Memory,
    /// Every job's environment: the Memory's socket and directory.
    environment: Vec<(&'static str, String)>,
    events: Sender<Event>,
    running: BTreeMap<u64, Running>,
    log: Log,
    /// Asked to stop: no job starts any more, and the daemon exits when the last one ended.
    stopping: bool,
    started: SystemTime,
    role: Role,
}

impl Daemon {
    fn serve(&mut self, inbox: &Receiver<Event>) -> u8 {
        self.evaluate_when();
        loop {
            if self.stopping && self.running.is_empty() {
                self.say("stopped");
                return 0;
            }
            let wait = if self.stopping || !self.leads() {
                None
            } else {
                self.fire_due_jobs()
            };
            let event = match wait {
                Some(wait) => match inbox.recv_timeout(wait) {
                    Ok(event) => event,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => return 1,
                },
                None => match inbox.recv() {
                    Ok(event) => event,
                    Err(_) => return 1,
                },
            };
            match event {
                Event::Order(order, reply) => {
                    let answer = self.obey(order);
                    let _ = reply.send(answer);
                }
                Event::Ended { serial, status } => self.ended(serial, status),
                Event::Signal(SIGHUP) => {
                    if let Err(problem) = self.reload() {
                        self.say(&problem.message);
                    }
                }
                Event::Signal(_) => self.stop(),
                Event::Election(news) => self.elected(news),
            }
        }
    }

    /// Fires the `every` jobs that are due; how long until the next deadline.
    fn fire_due_jobs(&mut self) -> Option<Duration> {
        let now = SystemTime::now();
        let mut next: Option<SystemTime> = None;
        let goalfile = self.goalfile.clone();
        for job in jobs::all(&goalfile) {
            let Kind::Every(every) = job.kind else {
                continue;
            };
            let last = match jobs::counted_from(&self.memory, &job.name, &every.schedule, now) {
                Ok(last) => last,
                Err(problem) => {
                    self.say(&format!("{}: {}", job.label(), problem.message));
                    continue;
                }
            };
            match schedule::due(every, last, now, self.config.skip_missed) {
                Due::At(at) => next = Some(next.map_or(at, |next| next.min(at))),
                Due::Now => {
                    if let Err(problem) = jobs::record_firing(&self.memory, &job.name, now) {
                        self.say(&format!("{}: {}", job.label(), problem.message));
                        continue;
                    }
                    if let Err(problem) = self.start(&job, None) {
                        self.say(&problem.message);
                    }
                    // Its next deadline counts from this firing.
                    return Some(Duration::ZERO);
                }
            }
        }
        next.map(|at| at.duration_since(SystemTime::now()).unwrap_or_default())
    }

    /// Starts a run of `job`, unless as many as it allows are running already.
    fn start(&mut self, job: &Job, values: Option<Vec<(String, String)>>) -> Result<u64, Problem> {
        let label = job.label();
        if self.stopping {
            return Err(Problem::failure(
                "goal::daemon",
                format!("{label}: not started, since the daemon is stopping"),
            ));
        }
        let limit = job.limits().max_running as usize;
        let running: Vec<u64> = self
            .running
            .iter()
            .filter(|(_, run)| run.job == job.name)
            .map(|(serial, _)| *serial)
            .collect();
        if running.len() >= limit {
            let serials: Vec<String> = running.iter().map(u64::to_string).collect();
            return Err(Problem::failure(
                "goal::job-running",
                format!(
                    "{label}: not started, since its run {} {} still running (max-running {limit})",
                    serials.join(", "),
                    if serials.len() == 1 { "is" } else { "are" }
                ),
            ));
        }
        let serial = jobs::next_serial(&self.memory)?;
        let mut environment = self.environment.clone();
        environment.push((jobs::JOB_ENV, job.name.clone()));
        environment.push((jobs::SERIAL_ENV, serial.to_string()));
        let launch = children::Launch {
            goalfile: &self.config.goalfile,
            state_dir: &self.config.location.state_dir,
            job: &job.name,
            serial,
            environment,
            arguments: self.config.job_arguments.clone(),
        };
        let mut child = children::start(launch).map_err(|error| {
            Problem::failure(
                "goal::daemon",
                format!("{label}: cannot start its run: {error}"),
            )
        })?;
        let pid = child.id();
        let events = self.events.clone();
        std::thread::spawn(move || {
            // `wait` fails only for a child already reaped, which this thread alone does.
            if let Ok(status) = child.wait() {
                let _ = events.send(Event::Ended { serial, status });
            }
        });
        let log = log_path(&self.config.location.state_dir, serial);
        self.say(&format!(
            "job {serial} ({label}) started, pid {pid}, output in {}",
            log.display()
        ));
        self.running.insert(
            serial,
            Running {
                job: job.name.clone(),
                label,
                values,
                pid,
                started: SystemTime::now(),
                clock: Instant::now(),
                cancelled: false,
            },
        );
        Ok(serial)
    }

    fn ended(&mut self, serial: u64, status: ExitStatus) {
        let Some(run) = self.running.remove(&serial) else {
            return;
        };
        let how = match (run.cancelled, status.code()) {
            (true, _) => "cancelled".to_owned(),
            (false, Some(0)) => "ok".to_owned(),
            (false, _) => format!("failed ({})", crate::shell::describe_status(status)),
        };
        let took = humantime::format_duration(Duration::from_secs(run.clock.elapsed().as_secs()));
        self.say(&format!(
            "job {serial} ({}) ended: {how} after {took}",
            run.label
        ));
        let ended = Ended {
            serial,
            result: how,
            label: run.label.clone(),
            started: humantime::format_rfc3339_seconds(run.started).to_string(),
            took: took.to_string(),
        };
        if let Err(error) = ended.write(&self.config.location.state_dir) {
            self.say(&format!("job {serial}: cannot record its end: {error}"));
        }
        // A run stopped with the daemon records nothing: the next daemon fires it again.
        if self.stopping {
            return;
        }
        if let Some(values) = &run.values {
            let goalfile = self.goalfile.clone();
            if let Some(when) = goalfile.when.iter().find(|w| w.name.text == run.job) {
                if let Err(problem) = when::record_run(&goalfile, &self.memory, when, values) {
                    self.say(&format!("{}: {}", run.label, problem.message));
                }
            }
        }
        self.evaluate_when();
    }

    /// Whether this daemon fires the jobs: alone, or as the leader of the campaign's daemons.
    fn leads(&self) -> bool {
        matches!(self.role, Role::Alone | Role::Leads(_))
    }

    /// What the election says: a new leader fires what is due and looks at the `when` jobs,
    /// since changes came while it stood by.
    fn elected(&mut self, news: election::News) {
        self.role = match news {
            election::News::VariablesChanged => {
                self.evaluate_when();
                return;
            }
            election::News::Standing(Standing::Leads(since)) => Role::Leads(since),
            election::News::Standing(Standing::StandsBy(leader)) => Role::StandsBy(leader),
            election::News::Lost(message) => Role::Unreachable(message),
        };
        if let Some(line) = self.role_line() {
            self.say(&line);
        }
        self.evaluate_when();
    }

    /// What the daemon's role in the campaign is, for its log and its status; nothing to say
    /// when the Memory is the project's own.
    fn role_line(&self) -> Option<String> {
        let namespace = self
            .config
            .location
            .database
            .as_ref()
            .map(|database| database.namespace.as_str())
            .unwrap_or_default();
        Some(match &self.role {
            Role::Alone => return None,
            Role::Leads(since) => format!(
                "leads the jobs of namespace `{namespace}` as host {} (since {})",
                fleet::host(),
                humantime::format_rfc3339_seconds(*since)
            ),
            Role::StandsBy(Some(leader)) => format!(
                "stands by: the daemon on host {} (pid {}) leads the jobs of namespace \
                 `{namespace}` (since {})",
                leader.host,
                leader.pid,
                humantime::format_rfc3339_seconds(leader.since)
            ),
            Role::StandsBy(None) => {
                format!("stands by: another goal runs the jobs of namespace `{namespace}` now")
            }
            Role::Unreachable(message) => format!("stands by: {message}"),
        })
    }

    /// Evaluates the `when` conditions and starts the jobs that fire; the serials and labels of
    /// those started. Only the daemon that leads does: the others would fire them again.
    fn evaluate_when(&mut self) -> Vec<(u64, String)> {
        if !self.leads() {
            return Vec::new();
        }
        let goalfile = self.goalfile.clone();
        let running: Vec<String> = self.running.values().map(|run| run.job.clone()).collect();
        let busy = |name: &str| running.iter().any(|job| job == name);
        let evaluation = match when::evaluate(&goalfile, &self.memory, &busy, &[], Mode::Record) {
            Ok(evaluation) => evaluation,
            Err(problem) => {
                self.say(&problem.message);
                return Vec::new();
            }
        };
        for problem in &evaluation.problems {
            self.say(&problem.message);
        }
        let mut started = Vec::new();
        for fire in evaluation.fire {
            match self.start(&fire.job, Some(fire.values)) {
                Ok(serial) => started.push((serial, fire.job.label())),
                Err(problem) => self.say(&problem.message),
            }
        }
        started
    }

    fn obey(&mut self, order: Order) -> Vec<String> {
        let answer = match order {
            Order::Status => Ok(self.status()),
            Order::Jobs => Ok(self.running_jobs()),
            Order::Names => Ok(jobs::names(&self.goalfile)),
            Order::Start(name) => self.start_by_hand(&name),
            Order::Cancel(serial) => self.cancel(serial),
            Order::Set { whisper, pairs } => self.set(whisper, &pairs),
            Order::Poke => {
                self.evaluate_when();
                Ok(Vec::new())
            }
            Order::Reload => self.reload().map(|()| Vec::new()),
            Order::Stop => {
                self.stop();
                Ok(Vec::new())
            }
        };
        match answer {
            Ok(fields) => std::iter::once("ok".to_owned()).chain(fields).collect(),
            Err(problem) => refusal(&problem),
        }
    }

    fn status(&self) -> Vec<String> {
        let since = humantime::format_duration(Duration::from_secs(
            self.started.elapsed().unwrap_or_default().as_secs(),
        ));
        let mut lines = vec![
            format!(
                "goal daemon: pid {}, running for {since} (since {})",
                std::process::id(),
                humantime::format_rfc3339_seconds(self.started)
            ),
            format!("Goalfile: {}", self.config.goalfile.display()),
            format!(
                "jobs: {}; running now: {}",
                count_jobs(&self.goalfile),
                self.running.len()
            ),
        ];
        lines.extend(self.role_line());
        if self.stopping {
            lines.push("stopping: waiting for its jobs to end".to_owned());
        }
        let now = SystemTime::now();
        for job in jobs::all(&self.goalfile) {
            if let Kind::Every(every) = job.kind {
                let last = jobs::last_fired(&self.memory, &job.name).ok().flatten();
                let next = match schedule::due(every, last, now, self.config.skip_missed) {
                    Due::Now => "now".to_owned(),
                    Due::At(at) => humantime::format_rfc3339_seconds(at).to_string(),
                };
                lines.push(format!("next: {} at {next}", job.label()));
            }
        }
        lines
    }

    fn running_jobs(&self) -> Vec<String> {
        let state_dir = &self.config.location.state_dir;
        self.running
            .iter()
            .flat_map(|(serial, run)| {
                [
                    serial.to_string(),
                    run.label.clone(),
                    humantime::format_rfc3339_seconds(run.started).to_string(),
                    run.pid.to_string(),
                    log_path(state_dir, *serial).display().to_string(),
                ]
            })
            .collect()
    }

    /// `goal job start NAME`: a `when` job started by hand runs with the variables' values now,
    /// and its run counts as its last run.
    fn start_by_hand(&mut self, name: &str) -> Result<Vec<String>, Problem> {
        let goalfile = self.goalfile.clone();
        let job = jobs::find(&goalfile, name)?;
        let values = match job.kind {
            Kind::When(_) => Some(when::current_values(&goalfile, &self.memory)?),
            Kind::Every(_) => None,
        };
        let serial = self.start(&job, values)?;
        Ok(vec![serial.to_string()])
    }

    fn cancel(&mut self, serial: u64) -> Result<Vec<String>, Problem> {
        let Some(run) = self.running.get_mut(&serial) else {
            return Err(Problem::failure(
                "goal::unknown-serial",
                format!("no job run {serial} is running"),
            )
            .with_help("`goal jobs` lists the running ones"));
        };
        run.cancelled = true;
        let label = run.label.clone();
        // The job's `goal` stops its recipes' process groups, as on Ctrl-C; asked twice, at once.
        let _ = kill(Pid::from_raw(run.pid as i32), Signal::SIGTERM);
        self.say(&format!("job {serial} ({label}): cancelling"));
        Ok(Vec::new())
    }

    fn set(&mut self, whisper: bool, pairs: &[(String, String)]) -> Result<Vec<String>, Problem> {
        let words: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let pairs = crate::variables::assignments(&self.goalfile, &words)
            .map_err(|error| first_problem(error.problems))?;
        self.memory.set_all(&crate::variables::entries(&pairs))?;
        self.say(&format!("set {}", words.join(" ")));
        if whisper {
            return Ok(Vec::new());
        }
        if let (false, Some(database)) = (self.leads(), &self.config.location.database) {
            // The leader, on another host, fires the `when` jobs.
            fleet::announce_change(database)?;
            return Ok(match &self.role {
                Role::StandsBy(Some(leader)) => vec!["leader".to_owned(), leader.host.clone()],
                _ => vec!["busy".to_owned()],
            });
        }
        Ok(self
            .evaluate_when()
            .into_iter()
            .flat_map(|(serial, label)| [serial.to_string(), label])
            .collect())
    }

    /// Reads the Goalfile again; the running jobs go on as they were started.
    fn reload(&mut self) -> Result<(), Problem> {
        let state_dir = &self.config.location.state_dir;
        match crate::cache::load_checked(
            &self.config.goalfile,
            state_dir,
            crate::cache::Store::Allowed,
        ) {
            Ok(goalfile) => {
                self.goalfile = Arc::new(goalfile);
                self.say(&format!("reloaded: {}", count_jobs(&self.goalfile)));
                self.evaluate_when();
                Ok(())
            }
            Err(error) => {
                let text = diagnostic::render(&error.problems);
                self.say(&format!(
                    "reload failed, keeping the jobs as they were:\n{text}"
                ));
                Err(Problem::failure(
                    "goal::reload",
                    format!("the Goalfile has problems; the daemon keeps the jobs it had:\n{text}"),
                ))
            }
        }
    }

    /// Stops every running job; the daemon exits once they have ended. Asked again, it asks
    /// them again, and a job's `goal` asked twice stops its commands at once.
    fn stop(&mut self) {
        if !self.stopping {
            self.say("stopping: asking every running job to stop");
        }
        self.stopping = true;
        for run in self.running.values() {
            let _ = kill(Pid::from_raw(run.pid as i32), Signal::SIGTERM);
        }
    }

    fn say(&mut self, line: &str) {
        self.log.line(line);
    }
}

fn first_problem(problems: Vec<Problem>) -> Problem {
    problems
        .into_iter()
        .next()
        .unwrap_or_else(|| Problem::failure("goal::daemon", "refused"))
}

/// "3 jobs (2 every, 1 when)".
fn count_jobs(goalfile: &Goalfile) -> String {
    let (every, when) = (goalfile.every.len(), goalfile.when.len());
    let total = every + when;
    format!(
        "{total} job{} ({every} every, {when} when)",
        if total == 1 { "" } else { "s" }
    )
}

/// Answers orders on a control socket by handing each to the daemon's thread.
fn serve_orders(events: Sender<Event>) -> Result<Server, Problem> {
    let events = Mutex::new(events);
    let handler = move |words: &[String]| {
        let Some(order) = Order::parse(words) else {
            return refusal(&Problem::failure(
                "goal::daemon",
                format!("the daemon does not understand {words:?}"),
            ));
        };
        let (reply, answer) = mpsc::channel();
        let sent = events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(Event::Order(order, reply));
        match sent.ok().and_then(|()| answer.recv().ok()) {
            Some(answer) => answer,
            None => refusal(&Problem::failure("goal::daemon", "the daemon is stopping")),
        }
    };
    Server::start("control", Arc::new(handler)).map_err(|error| {
        Problem::failure(
            "goal::daemon",
            format!("cannot open the daemon's control socket: {error}"),
        )
    })
}

/// SIGINT and SIGTERM stop the daemon (a second one its jobs at once); SIGHUP reloads.
fn watch_signals(events: Sender<Event>) -> Result<(), Problem> {
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).map_err(|error| {
            Problem::failure("goal::daemon", format!("cannot handle signals: {error}"))
        })?;
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if events.send(Event::Signal(signal)).is_err() {
                return;
            }
        }
    });
    Ok(())
}

/// The daemon's log: standard error, or a file it appends to.
struct Log {
    file: Option<File>,
}

impl Log {
    fn open(path: Option<&Path>) -> Result<Log, Problem> {
        let file = path
            .map(|path| {
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|error| {
                        Problem::input(
                            "goal::daemon",
                            format!("cannot open the log file {}: {error}", path.display()),
                        )
                    })
            })
            .transpose()?;
        Ok(Log { file })
    }

    fn line(&mut self, text: &str) {
        let line = format!(
            "{} goal daemon: {text}\n",
            humantime::format_rfc3339_seconds(SystemTime::now())
        );
        let written = match &mut self.file {
            Some(file) => file.write_all(line.as_bytes()),
            None => std::io::stderr().write_all(line.as_bytes()),
        };
        if let Err(error) = written {
            tracing::warn!("cannot write the daemon's log: {error}");
        }
    }
}
