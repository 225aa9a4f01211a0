//! The command line: parses arguments and hands them to the stages, nothing more.

use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};

use crate::colour;
use crate::completion;
use crate::diagnostic::{self, did_you_mean, Error, Problem, Result};
use crate::eval::{describe, Evaluator, Force, Options, Request};
use crate::goalfile::Goalfile;
use crate::jobs::commands::{self, Listing, Project, SetMode};
use crate::logs;
use crate::memory::{self, Access, Location, Memory, MemoryCommand, RunLock};
use crate::report::{GoalList, Reporter, Verbosity};
use crate::runner::{self, Answer, Run, Settings};

/// The file `goal` looks for in the current directory and its parents.
pub const GOALFILE: &str = "Goalfile";

#[derive(Debug, Parser)]
#[command(name = "goal", version = env!("GOAL_VERSION"), about = "make, with any condition as a target")]
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
    /// Keep the Memory in DIR instead of .goal/memory beside the Goalfile, or in the PostgreSQL
    /// database of a postgres:// URL, shared by several hosts
    #[arg(long, env = "GOAL_MEMORY", global = true, value_name = "DIR|URL")]
    pub memory: Option<PathBuf>,
    /// Show which goals would fire and why, without running anything (exit 1 if any would)
    #[arg(short = 'n', long, global = true)]
    pub dry_run: bool,
    /// Say why each goal fires or is skipped
    #[arg(long, global = true)]
    pub explain: bool,
    /// After a failure, go on with everything that does not depend on it
    #[arg(short = 'k', long, global = true)]
    pub keep_going: bool,
    /// Fire every goal, even those whose target holds (make's -B); the target is still checked after
    #[arg(short = 'B', long)]
    pub always: bool,
    /// Fire the goals named on the command line even if their targets hold (not what they require)
    #[arg(long, conflicts_with = "always")]
    pub force: bool,
    /// Run up to N recipes at once, reaching independent requirements side by side
    #[arg(short = 'j', long, value_name = "N", env = "GOAL_JOBS", default_value_t = 1, global = true,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
    /// List the goals with their parameters and docs
    #[arg(long, conflicts_with_all = ["check", "dry_run"])]
    pub list: bool,
    /// Parse and check the Goalfile, run nothing
    #[arg(long)]
    pub check: bool,
    /// Wait for another run in this project to end instead of stopping
    #[arg(long, global = true)]
    pub wait: bool,
    /// Say only what goes wrong
    #[arg(short, long, conflicts_with = "verbose", global = true)]
    pub quiet: bool,
    /// Also show goals already reached and each command before it runs (-vv: debug traces)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Print the answer as JSON (spec/json.md): with --list, --dry-run, `status` and `jobs`
    #[arg(long, global = true)]
    pub json: bool,
    /// When to colour what goal writes to standard error
    #[arg(long, value_name = "WHEN", default_value = "auto", global = true)]
    pub color: colour::When,
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
    /// List the latest recipe runs, newest last: start, duration, result, instance; with a
    /// shared Memory, of every host of the campaign, with the host
    Status {
        /// How many runs to list
        #[arg(short = 'c', long, default_value_t = 10, value_name = "N")]
        count: usize,
        /// List only this project's runs, from its own logs, even with a shared Memory
        #[arg(long)]
        local: bool,
    },
    /// Run the jobs (`every` and `when` blocks) until stopped; or ask the running daemon
    Daemon {
        #[command(subcommand)]
        order: Option<DaemonOrder>,
        /// Append the daemon's log to FILE instead of writing it to standard error
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
        /// Skip every firing missed while no daemon ran, whatever the jobs say
        #[arg(long)]
        skip_missed: bool,
    },
    /// Run the periodic jobs that are due and the when-jobs that fire, then exit
    Tick {
        /// Skip every firing missed since the last tick, whatever the jobs say
        #[arg(long)]
        skip_missed: bool,
    },
    /// Set persistent variables, all at once, then run the when-jobs that fire
    Set {
        /// Set them without looking at the when-jobs
        #[arg(long, conflicts_with = "test")]
        whisper: bool,
        /// Say which when-jobs would fire; set nothing
        #[arg(long)]
        test: bool,
        #[arg(required = true, value_name = "NAME=VALUE")]
        assignments: Vec<String>,
    },
    /// Print the value of a persistent variable
    Get { name: String },
    /// List the persistent variables with their values
    Vars,
    /// List the jobs the daemon is running
    Jobs {
        /// List every job of the Goalfile instead, with when it runs
        #[arg(long, conflicts_with = "ended")]
        names: bool,
        /// List the daemon's last 20 job runs that ended instead, newest first, with their result
        #[arg(long)]
        ended: bool,
    },
    /// Start, cancel or follow one job
    Job {
        #[command(subcommand)]
        order: JobOrder,
    },
    /// Print the instance graph a dry run sees from these goals (default: all), as Graphviz DOT
    Graph {
        /// Goals to draw from, each followed by its parameters as name=value (default: all)
        #[arg(value_name = "GOAL [NAME=VALUE]...")]
        targets: Vec<String>,
        /// Draw the latest run's recipe runs from its log instead: what ran, how long, what failed
        #[arg(long, conflicts_with = "targets")]
        last_run: bool,
    },
    /// Print the compile commands of the instances of these goals as compile_commands.json, for
    /// editors: those a dry run of `all` meets, each with its recipe as the dry run expands it
    Compdb {
        /// The goals whose instances compile something (say, `compiled`)
        #[arg(required = true, value_name = "GOAL")]
        goals: Vec<String>,
    },
    /// Print the script that completes goal's command line in SHELL, to source at its start
    Completions {
        /// The shell: in bash, `source <(goal completions bash)` in ~/.bashrc
        shell: completion::Shell,
    },
    /// Print goal's manual page: `goal man | man -l -`, or install it as goal.1
    Man,
    /// Write a commented starting Goalfile here (or in -C DIR), never over an existing one
    Init,
    /// Rewrite the Goalfile in the canonical layout, keeping every comment
    Fmt {
        /// Write nothing: print a diff and exit 1 if the layout would change
        #[arg(long)]
        check: bool,
    },
}

#[derive(Debug, Clone, Copy, clap::Subcommand)]
pub enum DaemonOrder {
    /// Say what the running daemon is doing
    Status,
    /// Stop the running daemon, after asking its jobs to stop
    Stop,
    /// Make the running daemon read the Goalfile again (running jobs go on)
    Reload,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum JobOrder {
    /// Run the job NAME now: by the daemon when one runs, else here
    Start {
        name: String,
        /// The serial of a run the daemon started (its own use)
        #[arg(long, hide = true)]
        serial: Option<u64>,
    },
    /// Stop a running job (and every command it started)
    Cancel { serial: u64 },
    /// Print a job run's output, and go on until it ends
    Tail { serial: u64 },
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
    completion::answer_if_asked(Cli::command, load_goalfile);
    colour::decide(colour::requested(std::env::args_os()));
    let choice = match colour::enabled() {
        true => clap::ColorChoice::Always,
        false => clap::ColorChoice::Never,
    };
    let cli = Cli::from_arg_matches(&Cli::command().color(choice).get_matches())
        .unwrap_or_else(|error| error.exit());
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
        .with_ansi(colour::enabled())
        .event_format(crate::report::StatusLines::default())
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
    if cli.dry_run {
        if let Some(problem) = no_dry_run(cli.command.as_ref()) {
            return Err(problem.into());
        }
    }
    check_json(&cli)?;
    // Absolute, so that recipes, which run in the project's directory, name the same Memory;
    // a PostgreSQL URL is kept as it is.
    let memory_dir = cli
        .memory
        .as_ref()
        .map(|dir| match dir.to_str() {
            Some(url) if memory::Database::is_url(url) => Ok(dir.clone()),
            _ => absolute(dir),
        })
        .transpose()?;
    match &cli.command {
        Some(Command::Memory { command }) => return memory_command(&cli, command, memory_dir),
        Some(Command::Log { follow, goal, args }) => {
            return log_command(&cli, goal.as_deref(), args, *follow)
        }
        Some(Command::Status { count, local }) => {
            return status_command(&cli, *count, *local, memory_dir)
        }
        Some(Command::Graph { last_run: true, .. }) => {
            let path = find_goalfile(cli.file.as_deref())?;
            let runs = logs::last_run(&Location::beside(&project_dir(&path), None).state_dir)?;
            crate::report::print_answer(&crate::report::graph::last_run(&runs))?;
            return Ok(0);
        }
        Some(Command::Daemon {
            order: Some(order), ..
        }) => {
            let order = match order {
                DaemonOrder::Status => "status",
                DaemonOrder::Stop => "stop",
                DaemonOrder::Reload => "reload",
            };
            return with_project(&cli, memory_dir, |p| commands::daemon_order(p, order));
        }
        Some(Command::Daemon {
            order: None,
            log,
            skip_missed,
        }) => {
            // Named from where the user stands, before `goal` moves to the project.
            let log = log.as_deref().map(absolute).transpose()?;
            return with_project(&cli, memory_dir, |p| daemon(&cli, p, log, *skip_missed));
        }
        Some(Command::Tick { skip_missed }) => {
            return with_project(&cli, memory_dir, |p| commands::tick(p, *skip_missed))
        }
        Some(Command::Set {
            whisper,
            test,
            assignments,
        }) => {
            let mode = match (whisper, *test || cli.dry_run) {
                (_, true) => SetMode::Test,
                (true, false) => SetMode::Whisper,
                (false, false) => SetMode::Evaluate,
            };
            return with_project(&cli, memory_dir, |p| commands::set(p, assignments, mode));
        }
        Some(Command::Get { name }) => {
            return with_project(&cli, memory_dir, |p| commands::get(p, name))
        }
        Some(Command::Vars) => return with_project(&cli, memory_dir, commands::vars),
        Some(Command::Jobs { names, ended }) => {
            let listing = match (names, ended) {
                (true, _) => Listing::Names,
                (false, true) => Listing::Ended,
                (false, false) => Listing::Running,
            };
            return with_project(&cli, memory_dir, |p| commands::list(p, listing, cli.json));
        }
        Some(Command::Job { order }) => {
            return with_project(&cli, memory_dir, |p| match order {
                JobOrder::Start { name, serial } => commands::start(p, name, *serial),
                JobOrder::Cancel { serial } => commands::cancel(p, *serial),
                JobOrder::Tail { serial } => commands::tail(p, *serial),
            })
        }
        Some(Command::Completions { shell }) => {
            return print_made(|out| completion::script(*shell, out))
        }
        Some(Command::Man) => return print_made(|out| crate::manual::write(Cli::command(), out)),
        Some(Command::Init) => return init_command(&cli),
        Some(Command::Fmt { check }) => {
            let path = find_goalfile(cli.file.as_deref())?;
            return crate::format::run(&path, *check || cli.dry_run);
        }
        Some(Command::Graph { .. } | Command::Compdb { .. }) | None => {}
    }
    let path = find_goalfile(cli.file.as_deref())?;
    tracing::debug!(goalfile = %path.display(), "reading");
    let state_dir = project_dir(&path).join(".goal");
    // `--check` is asked for to see every problem with the current binary's checks: it never
    // trusts the cache, and leaves a fresh one for the runs that follow.
    if cli.check {
        crate::cache::refresh(
            &path,
            &state_dir,
            crate::cache::Store::unless_dry_run(cli.dry_run),
        )?;
        return Ok(0);
    }
    // Never dropped: the process ends with the run, and freeing the goals one allocation at a
    // time was a seventh of a cached no-op's instructions (a chain of 1,000 goals).
    let goalfile = ManuallyDrop::new(crate::cache::load_checked(
        &path,
        &state_dir,
        crate::cache::Store::unless_dry_run(cli.dry_run),
    )?);
    if cli.list {
        let listing = GoalList::of(&goalfile);
        let json = cli.json.then(|| crate::report::json::list(&listing));
        crate::report::print_answer(&json.unwrap_or_else(|| listing.text()))?;
        return Ok(0);
    }
    let targets = match &cli.command {
        Some(Command::Graph { targets, .. }) => targets,
        Some(Command::Compdb { goals }) => {
            known_goals(goals, &goalfile)?;
            // From `all`, as `ninja -t compdb` reads the whole build.
            &Vec::new()
        }
        _ => &cli.targets,
    };
    let requests = requests(targets, &goalfile)?;
    let project = project_dir(&path);
    // Every command runs in the root Goalfile's directory and every path in it is relative to
    // it: moving there once makes both true for the whole run.
    enter(&project)?;
    let location = Location::beside(Path::new("."), memory_dir).with_access(access(&cli));
    reach(&cli, &goalfile, &requests, location)
}

/// What every Memory handle of this command may do: the one place `--dry-run` is made to
/// write nothing.
fn access(cli: &Cli) -> Access {
    if dry_run(cli) {
        Access::ReadOnly
    } else {
        Access::ReadWrite
    }
}

/// Why `command` refuses `--dry-run`: it exists to change something, and saying what it would
/// change is saying what it is asked to do.
fn no_dry_run(command: Option<&Command>) -> Option<Problem> {
    let (name, help) = match command? {
        Command::Daemon { order: None, .. } => (
            "goal daemon",
            "`goal -n tick` says which jobs would fire now, without running them",
        ),
        Command::Daemon {
            order: Some(DaemonOrder::Stop | DaemonOrder::Reload),
            ..
        } => (
            "goal daemon stop|reload",
            "`goal daemon status` says what the daemon is doing",
        ),
        Command::Job {
            order: JobOrder::Start { .. },
        } => (
            "goal job start",
            "`goal -n tick` says which jobs would fire now",
        ),
        Command::Job {
            order: JobOrder::Cancel { .. },
        } => ("goal job cancel", "`goal jobs` lists the running jobs"),
        Command::Memory {
            command: MemoryCommand::Set { .. } | MemoryCommand::Delete { .. },
        } => (
            "goal memory set|delete",
            "`goal memory get` and `goal memory list` only read",
        ),
        _ => return None,
    };
    Some(
        Problem::input(
            "goal::no-dry-run",
            format!("`{name}` changes things: it has no dry run (-n, --dry-run)"),
        )
        .with_help(format!("run it without -n; {help}")),
    )
}

/// Runs `command` on the project, from the project's directory, as runs do. For the commands
/// about jobs and variables.
fn with_project(
    cli: &Cli,
    memory_dir: Option<PathBuf>,
    command: impl FnOnce(&Project) -> Result<u8>,
) -> Result<u8> {
    let path = find_goalfile(cli.file.as_deref())?;
    let goalfile_path = absolute(&path)?;
    enter(&project_dir(&path))?;
    command(&Project::new(
        goalfile_path,
        Location::beside(Path::new("."), memory_dir).with_access(access(cli)),
        settings(cli),
        cli.wait,
    ))
}

/// `goal daemon`, in the foreground.
fn daemon(cli: &Cli, project: &Project, log: Option<PathBuf>, skip_missed: bool) -> Result<u8> {
    let mut job_arguments = vec![format!("-j{}", cli.jobs)];
    if cli.keep_going {
        job_arguments.push("-k".to_owned());
    }
    if cli.quiet {
        job_arguments.push("-q".to_owned());
    }
    job_arguments.extend((0..cli.verbose).map(|_| "-v".to_owned()));
    crate::daemon::run(crate::daemon::Config {
        goalfile: project.goalfile_path.clone(),
        location: project.location.clone(),
        log,
        skip_missed,
        job_arguments,
    })
}

/// Moves to the project's directory, where every command runs and every path is relative to.
fn enter(project: &Path) -> Result<()> {
    std::env::set_current_dir(project).map_err(|error| {
        Problem::input(
            "goal::directory",
            format!("cannot change to {}: {error}", project.display()),
        )
        .into()
    })
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
    memory::command(command, location, access(cli)).map_err(|error| Error {
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
        force: Force::Nothing,
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

/// `goal init`: the file `-f` names, else `Goalfile` here.
fn init_command(cli: &Cli) -> Result<u8> {
    let path = cli.file.clone().unwrap_or_else(|| PathBuf::from(GOALFILE));
    let starter = crate::init::starter(&project_dir(&path));
    let said = crate::init::write(&path, &starter, cli.dry_run)?;
    crate::report::print_answer(&said)?;
    Ok(0)
}

/// `goal status [--count N] [--local]`.
fn status_command(cli: &Cli, count: usize, local: bool, memory_dir: Option<PathBuf>) -> Result<u8> {
    let path = find_goalfile(cli.file.as_deref())?;
    let location = Location::beside(&project_dir(&path), memory_dir);
    let fleet = location.database.as_ref().filter(|_| !local);
    Ok(logs::status(&location.state_dir, fleet, count, cli.json)?)
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
    let settings = settings(cli);
    // A recipe that runs `goal` again is part of the run that started it: it shares that run's
    // Memory through the socket and must not wait for that run's lock.
    let nested = memory::inherited_socket(Some(&location)).is_some();
    let lock = if settings.options.dry_run || nested {
        None
    } else {
        Some(RunLock::acquire(&location.state_dir, cli.wait)?)
    };
    let memory = Memory::new(location.clone());
    memory.read_ahead();
    let run = Run {
        goalfile,
        location: &location,
        memory,
        lock: lock.as_ref(),
        environment: Vec::new(),
    };
    runner::reach(settings, run, requests)
}

/// `--json` where it has no meaning is a mistake to say, not to ignore.
fn check_json(cli: &Cli) -> Result<()> {
    let answers_json = match cli.command {
        Some(Command::Status { .. } | Command::Jobs { .. }) => true,
        None => cli.list || cli.dry_run,
        Some(_) => false,
    };
    if cli.json && !answers_json {
        return Err(Problem::input(
            "goal::json-unsupported",
            "--json goes only with --list, --dry-run, `goal status` and `goal jobs`",
        )
        .with_optional_help(
            cli.command
                .is_none()
                .then(|| "add --dry-run to see as JSON what a run would do".to_string()),
        )
        .into());
    }
    Ok(())
}

/// Whether the command line asks for a dry run: `goal graph` draws one, `goal compdb` reads
/// the recipes of one.
fn dry_run(cli: &Cli) -> bool {
    cli.dry_run
        || matches!(
            cli.command,
            Some(Command::Graph { .. } | Command::Compdb { .. })
        )
}

/// Every name given to `goal compdb` is a goal of the Goalfile, which has a goal `all` to start
/// from.
fn known_goals(names: &[String], goalfile: &Goalfile) -> Result<()> {
    let goals = || goalfile.goals.iter().map(|goal| goal.name.text.as_str());
    if !goals().any(|goal| goal == "all") {
        return Err(Problem::input(
            "goal::no-default-goal",
            "`goal compdb` lists what a dry run of `all` meets, and the Goalfile has no goal `all`",
        )
        .with_help("add `goal all { … }` requiring what the project builds")
        .into());
    }
    let problems: Vec<Problem> = names
        .iter()
        .filter(|name| !goals().any(|goal| goal == name.as_str()))
        .map(|name| {
            Problem::input(
                "goal::unknown-goal",
                format!("there is no goal `{name}` in the Goalfile"),
            )
            .with_help(
                did_you_mean(name, goals())
                    .unwrap_or_else(|| "`goal --list` shows the goals".to_string()),
            )
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.into())
    }
}

/// How the command line asks runs to be made.
fn settings(cli: &Cli) -> Settings {
    let graph = matches!(cli.command, Some(Command::Graph { .. }));
    // The database is the whole answer: no summary of a dry run that only read recipes.
    let compdb_run = matches!(cli.command, Some(Command::Compdb { .. }));
    let compdb = match &cli.command {
        Some(Command::Compdb { goals }) => Some(goals.clone()),
        _ => None,
    };
    // A compilation database lists every compile, up to date or not: its recipes are rendered
    // as if every goal fired.
    let always = cli.always || compdb.is_some();
    Settings {
        answer: match (compdb, graph, cli.json) {
            (Some(goals), _, _) => Answer::Compdb(goals),
            (None, true, _) => Answer::Graph,
            (None, false, true) => Answer::Json,
            (None, false, false) => Answer::Lines,
        },
        options: Options {
            dry_run: dry_run(cli),
            explain: cli.explain,
            keep_going: cli.keep_going,
            jobs: cli.jobs.into(),
            force: if always {
                Force::Everything
            } else if cli.force {
                Force::Requested
            } else {
                Force::Nothing
            },
        },
        verbosity: match (cli.quiet || compdb_run, cli.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, _) => Verbosity::Verbose,
        },
    }
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

/// The checked Goalfile `-f` names, or the nearest one, through the cache.
fn load_goalfile(file: Option<&Path>) -> Result<Goalfile> {
    let path = find_goalfile(file)?;
    crate::cache::load_checked(
        &path,
        &project_dir(&path).join(".goal"),
        crate::cache::Store::Allowed,
    )
}

/// Prints what `make` writes: a script or a page, the product of the command.
fn print_made(make: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>) -> Result<u8> {
    let mut text = Vec::new();
    make(&mut text)
        .and_then(|()| crate::report::print_bytes(&text))
        .map_err(|error| {
            Problem::failure(
                "goal::output",
                format!("cannot write to standard output: {error}"),
            )
        })?;
    Ok(0)
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;
    use crate::check::RESERVED_NAMES;

    #[test]
    fn every_subcommand_name_is_reserved_for_goals() {
        for subcommand in Cli::command().get_subcommands() {
            let name = subcommand.get_name();
            assert!(
                RESERVED_NAMES.contains(&name),
                "`{name}` is a subcommand, but a goal may still be named so: add it to RESERVED_NAMES"
            );
        }
    }
}
