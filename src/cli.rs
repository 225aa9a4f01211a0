//! The command line: parses arguments and hands them to the stages. (skeleton)

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use crate::diagnostic::{render, Problem, Result};
use crate::memory::{self, Location, MemoryCommand};

#[derive(Debug, Parser)]
#[command(name = "goal", version, about)]
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
    #[arg(long, env = "GOAL_MEMORY", global = true)]
    pub memory: Option<PathBuf>,
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
    if let Some(Command::Memory { command }) = &cli.command {
        return memory_main(&cli, command);
    }
    ExitCode::SUCCESS
}

/// `goal memory …`. Any problem exits with status 2, since 1 already means "not set".
fn memory_main(cli: &Cli, command: &MemoryCommand) -> ExitCode {
    match memory_location(cli).and_then(|location| memory::command(command, location)) {
        Ok(status) => ExitCode::from(status),
        Err(error) => {
            eprint!("{}", render(&error.problems));
            ExitCode::from(2)
        }
    }
}

/// The Memory beside the project's Goalfile, or in `--memory DIR` alone; `None` when neither
/// names one (a recipe's `goal memory` needs neither: it talks to the running `goal`).
fn memory_location(cli: &Cli) -> Result<Option<Location>> {
    if let Some(directory) = &cli.directory {
        std::env::set_current_dir(directory).map_err(|error| {
            Problem::input(
                "goal::directory",
                format!("cannot change to `{}`: {error}", directory.display()),
            )
        })?;
    }
    let here = std::env::current_dir().map_err(|error| {
        Problem::input(
            "goal::directory",
            format!("cannot tell the current directory: {error}"),
        )
    })?;
    let goalfile = match &cli.file {
        Some(file) if file.is_file() => Some(here.join(file)),
        Some(file) => {
            return Err(Problem::input(
                "goal::no-goalfile",
                format!("there is no Goalfile `{}`", file.display()),
            )
            .into())
        }
        None => find_goalfile(&here),
    };
    let project = match goalfile.as_deref().and_then(Path::parent) {
        Some(project) => project,
        None if cli.memory.is_some() => &here,
        None => return Ok(None),
    };
    // Absolute, so the Location means the same wherever it is used from.
    let memory_dir = cli.memory.as_ref().map(|dir| here.join(dir));
    Ok(Some(Location::beside(project, memory_dir)))
}

/// The file named `Goalfile` in `start` or the nearest of its parents.
pub fn find_goalfile(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join("Goalfile"))
        .find(|path| path.is_file())
}
