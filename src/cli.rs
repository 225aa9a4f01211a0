//! The command line: parses arguments and hands them to the stages. (skeleton)

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::memory::MemoryCommand;

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
    let _cli = Cli::parse();
    ExitCode::SUCCESS
}
