//! The command line: parses arguments and hands them to the stages, nothing more.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use crate::diagnostic::{self, Error, Problem, Result};
use crate::eval::{Evaluator, Options, Request};
use crate::goalfile::Goalfile;
use crate::memory::{self, Location, Memory, MemoryCommand, RunLock};
use crate::report::{Reporter, Verbosity};

/// The file `goal` looks for in the current directory and its parents.
pub const GOALFILE: &str = "Goalfile";

#[derive(Debug, Parser)]
#[command(
    name = "goal",
    version,
    about = "make, with any condition as a target",
    after_help = "A goal named like a subcommand (memory) is reached with `goal -- memory`."
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
    if let Some(Command::Memory { command }) = &cli.command {
        return memory_command(&cli, command, memory_dir);
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
    let goalfile = crate::cache::load_checked(&path, &state_dir)?;
    if cli.list {
        print!("{}", list(&goalfile));
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
    let memory = if cli.dry_run {
        Memory::read_only(location)
    } else {
        Memory::new(location)
    };
    let started = Instant::now();
    let mut evaluator = Evaluator::new(goalfile, memory.clone(), options, Reporter::new(verbosity));
    let instances = evaluator.instances(requests).map_err(Error::from)?;
    if let Some(lock) = &lock {
        evaluator.advertise_in(lock);
    }
    let result = evaluator.reach_all(instances);
    memory.flush();
    evaluator.reporter.summary(started.elapsed(), cli.dry_run);
    result?;
    let stats = evaluator.reporter.stats();
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
    out
}
