//! The command line: parses arguments and hands them to the stages, nothing more.

use std::io::IsTerminal;
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use crate::diagnostic::{self, Error, Problem, Result};
use crate::eval::{describe, Evaluator, Options, Request};
use crate::goalfile::Goalfile;
use crate::interrupt;
use crate::logs::{self, Logs};
use crate::memory::{self, Location, Memory, MemoryCommand, RunLock};
use crate::report::{Reporter, Verbosity};

/// The file `goal` looks for in the current directory and its parents.
pub const GOALFILE: &str = "Goalfile";

#[derive(Debug, Parser)]
#[command(
    name = "goal",
    version,
    about = "make, with any condition as a target",
    after_help = "A goal named like a subcommand (memory, log, status) is reached with `goal -- memory`."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Goals to reach, each followed by its parameters as name=value (default: all)
    #[arg(value_name = "GOAL [NAME=VALUE]...")]
    pub targets: Vec<String>,
    /// Read this Goalfile instead of searching for ./Goalfile and its parents
    #[arg(short = 'f', long = "file", global = true)]
    pub file: Option<PathBuf>,
    /// Change to DIR before doing anything
    #[arg(short = 'C', long = "directory", global = true)]
    pub directory: Option<PathBuf>,
    /// Keep the Memory in DIR instead of .goal/memory beside the Goalfile
    #[arg(long, env = "GOAL_MEMORY", global = true, value_name = "DIR")]
    pub memory: Option<PathBuf>,
    /// Show which goals would fire and why, without running anything (exit 1 if any would)
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Say why each goal fires or is skipped
    #[arg(long)]
    pub explain: bool,
    /// After a failure, go on with everything that does not depend on it
    #[arg(short = 'k', long)]
    pub keep_going: bool,
    /// Run up to N recipes at once, reaching independent requirements side by side
    #[arg(short = 'j', long, value_name = "N", env = "GOAL_JOBS", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// List the goals with their parameters and docs
    #[arg(long, conflicts_with_all = ["check", "dry_run"])]
    pub list: bool,
    /// Parse and check the Goalfile, run nothing
    #[arg(long)]
    pub check: bool,
    /// Wait for another run in this project to end instead of stopping
    #[arg(long)]
    pub wait: bool,
    /// Say only what goes wrong
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also show goals already reached and each command before it runs (-vv: debug traces)
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Read and write the persistent Memory
    Memory {
        #[command(subcommand)]
        command: MemoryCommand,
    },
    /// Print the output of the latest recipe run, of any goal or of GOAL with these parameters
    Log {
        /// Go on printing while that run writes, until it ends
        #[arg(long)]
        follow: bool,
        /// Show a run of this goal (default: of any)
        goal: Option<String>,
        /// The goal's parameters, as in `goal GOAL NAME=VALUE`
        #[arg(value_name = "NAME=VALUE", requires = "goal", value_parser = binding)]
        args: Vec<String>,
    },
    /// List the latest recipe runs, newest last: start, duration, result, instance
    Status {
        /// How many runs to list
        #[arg(short = 'n', default_value_t = 10, value_name = "N")]
        count: usize,
    },
}

/// A `NAME=VALUE` word after a goal's name, which alone cannot tell a parameter from a goal.
fn binding(word: &str) -> std::result::Result<String, String> {
    if word.contains('=') {
        Ok(word.to_string())
    } else {
        Err("expected NAME=VALUE: `goal log` shows one goal's runs".to_string())
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprint!("{}", diagnostic::render(&error.problems));
            ExitCode::from(error.exit_code())
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = if verbose >= 2 {
        "goal=debug"
    } else {
        "goal=warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .without_time()
        .init();
}

fn run(cli: Cli) -> Result<u8> {
    if let Some(directory) = &cli.directory {
        std::env::set_current_dir(directory).map_err(|error| {
            Problem::input(
                "goal::directory",
                format!("cannot change to {}: {error}", directory.display()),
            )
        })?;
    }
    // Absolute, so that recipes, which run in the project's directory, name the same Memory.
    let memory_dir = cli.memory.as_ref().map(|dir| absolute(dir)).transpose()?;
    match &cli.command {
        Some(Command::Memory { command }) => return memory_command(&cli, command, memory_dir),
        Some(Command::Log { follow, goal, args }) => {
            return log_command(&cli, goal.as_deref(), args, *follow)
        }
        Some(Command::Status { count }) => return status_command(&cli, *count),
        None => {}
    }
    let path = find_goalfile(cli.file.as_deref())?;
    tracing::debug!(goalfile = %path.display(), "reading");
    let state_dir = project_dir(&path).join(".goal");
    // `--check` is asked for to see every problem with the current binary's checks: it never
    // trusts the cache, and leaves a fresh one for the runs that follow.
    if cli.check {
        crate::cache::refresh(&path, &state_dir)?;
        return Ok(0);
    }
    // Never dropped: the process ends with the run, and freeing the goals one allocation at a
    // time was a seventh of a cached no-op's instructions (a chain of 1,000 goals).
    let goalfile = ManuallyDrop::new(crate::cache::load_checked(&path, &state_dir)?);
    if cli.list {
        crate::report::print_out(&list(&goalfile)).map_err(|error| {
            Problem::failure(
                "goal::output",
                format!("cannot write to standard output: {error}"),
            )
        })?;
        return Ok(0);
    }
    let requests = requests(&cli.targets, &goalfile)?;
    let project = project_dir(&path);
    // Every command runs in the root Goalfile's directory and every path in it is relative to
    // it: moving there once makes both true for the whole run.
    std::env::set_current_dir(&project).map_err(|error| {
        Problem::input(
            "goal::directory",
            format!("cannot change to {}: {error}", project.display()),
        )
    })?;
    let location = Location::beside(Path::new("."), memory_dir);
    reach(&cli, &goalfile, &requests, location)
}

/// `goal memory …`: the Memory beside the Goalfile, or the one `--memory` names even without a
/// Goalfile; with neither, only a running `goal`'s socket can serve it. Every problem exits
/// with status 2, since 1 already means "not set".
fn memory_command(cli: &Cli, command: &MemoryCommand, memory_dir: Option<PathBuf>) -> Result<u8> {
    let project = match (find_goalfile(cli.file.as_deref()), &memory_dir) {
        (Ok(path), _) => Some(project_dir(&path)),
        (Err(_), Some(_)) => Some(PathBuf::from(".")),
        (Err(error), None) if cli.file.is_some() => return Err(error),
        (Err(_), None) => None,
    };
    let location = project.map(|project| Location::beside(&project, memory_dir));
    memory::command(command, location).map_err(|error| Error {
        problems: error
            .problems
            .into_iter()
            .map(|problem| Problem {
                kind: diagnostic::Kind::Input,
                ..problem
            })
            .collect(),
    })
}

/// `goal log [--follow] [GOAL [NAME=VALUE]…]`: the instance is bound as `goal GOAL NAME=VALUE`
/// would bind it (defaults included), so both name the same runs.
fn log_command(cli: &Cli, goal: Option<&str>, args: &[String], follow: bool) -> Result<u8> {
    let path = find_goalfile(cli.file.as_deref())?;
    let location = Location::beside(&project_dir(&path), None);
    let instance = match goal {
        Some(goal) => {
            let words: Vec<String> = std::iter::once(goal.to_string())
                .chain(args.iter().cloned())
                .collect();
            instance_text(&path, &words, location.clone())?
        }
        None => None,
    };
    Ok(logs::show(
        &location.state_dir,
        instance.as_deref(),
        follow,
    )?)
}

/// The instance the command-line words of one goal name, as users see it
/// (`compiled c_file=src/main.c`).
fn instance_text(path: &Path, words: &[String], location: Location) -> Result<Option<String>> {
    let goalfile = crate::parse::load(path)?;
    crate::check::check(&goalfile)?;
    let requests = requests(words, &goalfile)?;
    let options = Options {
        dry_run: true,
        explain: false,
        keep_going: false,
        jobs: 1,
    };
    let mut evaluator = Evaluator::new(
        &goalfile,
        Memory::read_only(location),
        options,
        Reporter::new(Verbosity::Quiet),
    )?;
    let mut instances = evaluator.instances(&requests).map_err(Error::from)?;
    Ok(instances
        .pop()
        .map(|instance| describe(&goalfile.goals[instance.goal], &instance.values)))
}

/// `goal status [-n N]`.
fn status_command(cli: &Cli, count: usize) -> Result<u8> {
    let path = find_goalfile(cli.file.as_deref())?;
    let location = Location::beside(&project_dir(&path), None);
    Ok(logs::status(&location.state_dir, count)?)
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|error| {
        Problem::input(
            "goal::directory",
            format!("cannot resolve {}: {error}", path.display()),
        )
        .into()
    })
}

fn reach(cli: &Cli, goalfile: &Goalfile, requests: &[Request], location: Location) -> Result<u8> {
    let options = Options {
        dry_run: cli.dry_run,
        explain: cli.explain,
        keep_going: cli.keep_going,
        jobs: cli.jobs.into(),
    };
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (false, 0) => Verbosity::Normal,
        (false, _) => Verbosity::Verbose,
    };
    // A recipe that runs `goal` again is part of the run that started it: it shares that run's
    // Memory through the socket and must not wait for that run's lock.
    let nested = memory::inherited_socket(Some(&location)).is_some();
    let lock = if cli.dry_run || nested {
        None
    } else {
        Some(RunLock::acquire(&location.state_dir, cli.wait)?)
    };
    let logs = Logs::new(&location.state_dir);
    let memory = if cli.dry_run {
        Memory::read_only(location)
    } else {
        Memory::new(location)
    };
    interrupt::install();
    if verbosity >= Verbosity::Normal && !cli.dry_run {
        crate::progress::start();
    }
    let started = Instant::now();
    let mut evaluator =
        Evaluator::new(goalfile, memory.clone(), options, Reporter::new(verbosity))?;
    if !cli.dry_run {
        evaluator.keep_logs(logs);
    }
    let instances = evaluator.instances(requests).map_err(Error::from)?;
    if let Some(lock) = &lock {
        evaluator.advertise_in(lock);
    }
    let result = evaluator.reach_all(instances);
    memory.flush();
    crate::progress::finish();
    evaluator.summary(started.elapsed(), cli.dry_run);
    result?;
    let stats = evaluator.stats();
    Ok(u8::from(
        cli.dry_run && stats.would_fire + stats.may_fire > 0,
    ))
}

/// The Goalfile named with `-f`, or the nearest `Goalfile` in the current directory or above.
pub fn find_goalfile(file: Option<&Path>) -> Result<PathBuf> {
    if let Some(file) = file {
        if !file.is_file() {
            return Err(Problem::input(
                "goal::no-goalfile",
                format!("there is no Goalfile `{}`", file.display()),
            )
            .into());
        }
        return Ok(file.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|error| {
        Problem::input(
            "goal::directory",
            format!("cannot read the current directory: {error}"),
        )
    })?;
    for dir in cwd.ancestors() {
        let candidate = dir.join(GOALFILE);
        if candidate.is_file() {
            // Shown in diagnostics: keep it short when it is right here.
            return Ok(if dir == cwd {
                PathBuf::from(GOALFILE)
            } else {
                candidate
            });
        }
    }
    Err(Problem::input(
        "goal::no-goalfile",
        format!(
            "no {GOALFILE} in {} or any directory above it",
            cwd.display()
        ),
    )
    .with_help("create one, or name one with -f FILE or a directory with -C DIR")
    .into())
}

/// The directory of a Goalfile: where its commands run and its `.goal/` state lives.
fn project_dir(goalfile: &Path) -> PathBuf {
    match goalfile.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Groups the command line's words into goals: a word without `=` names a goal, the
/// `name=value` words after it bind its parameters. No words at all means `all`.
fn requests(words: &[String], goalfile: &Goalfile) -> Result<Vec<Request>> {
    let mut requests: Vec<Request> = Vec::new();
    for word in words {
        match (word.split_once('='), requests.last_mut()) {
            (Some((name, value)), Some(request)) => {
                request.args.push((name.to_string(), value.to_string()))
            }
            (Some(_), None) => {
                return Err(Problem::input(
                    "goal::argument-before-goal",
                    format!("`{word}` binds a parameter, but no goal is named before it"),
                )
                .with_help("name the goal first: goal GOAL name=value")
                .into())
            }
            (None, _) => requests.push(Request {
                goal: word.clone(),
                args: Vec::new(),
            }),
        }
    }
    if requests.is_empty() {
        if !goalfile.goals.iter().any(|goal| goal.name.text == "all") {
            return Err(Problem::input(
                "goal::no-default-goal",
                "no goal was named and the Goalfile has no goal `all`",
            )
            .with_help("name a goal (`goal --list` shows them), or add `goal all { … }`")
            .into());
        }
        requests.push(Request {
            goal: "all".to_string(),
            args: Vec::new(),
        });
    }
    Ok(requests)
}

/// `goal --list`: each goal as it is called, with its doc and its parameters' docs.
fn list(goalfile: &Goalfile) -> String {
    let mut goals: Vec<_> = goalfile.goals.iter().collect();
    goals.sort_by(|a, b| a.name.text.cmp(&b.name.text));
    let usage: Vec<String> = goals
        .iter()
        .map(|goal| {
            let mut usage = goal.name.text.clone();
            for param in &goal.params {
                usage.push(' ');
                usage.push_str(&param.name.text);
                if let Some(default) = param.default.as_ref().and_then(|d| d.as_literal()) {
                    usage.push_str(&format!("={default:?}"));
                }
            }
            usage
        })
        .collect();
    let width = usage.iter().map(String::len).max().unwrap_or(0);
    let mut out = String::from("Goals:\n");
    for (goal, usage) in goals.iter().zip(&usage) {
        match &goal.doc {
            Some(doc) => out.push_str(&format!("    {usage:width$}  # {doc}\n")),
            None => out.push_str(&format!("    {usage}\n")),
        }
        for param in &goal.params {
            let mut notes = Vec::new();
            if let Some(doc) = &param.doc {
                notes.push(doc.clone());
            }
            if let Some(pattern) = &param.pattern {
                notes.push(format!("matches {}", pattern.source));
            }
            if !notes.is_empty() {
                out.push_str(&format!(
                    "        {}: {}\n",
                    param.name.text,
                    notes.join("; ")
                ));
            }
        }
    }
    out.push_str(&list_transitions(goalfile));
    out
}

/// The transitions plans may take, as `--list` shows them after the goals: a plan's steps are
/// chosen from these, so they are part of what a user can call.
fn list_transitions(goalfile: &Goalfile) -> String {
    if goalfile.transitions.is_empty() {
        return String::new();
    }
    let mut transitions: Vec<_> = goalfile.transitions.iter().collect();
    transitions.sort_by(|a, b| a.name.text.cmp(&b.name.text));
    let usage: Vec<String> = transitions
        .iter()
        .map(|transition| format!("{} (cost {})", transition.name.text, transition.cost))
        .collect();
    let width = usage.iter().map(String::len).max().unwrap_or(0);
    let mut out = String::from("Transitions:\n");
    for (transition, usage) in transitions.iter().zip(&usage) {
        match &transition.doc {
            Some(doc) => out.push_str(&format!("    {usage:width$}  # {doc}\n")),
            None => out.push_str(&format!("    {usage}\n")),
        }
    }
    out
}
