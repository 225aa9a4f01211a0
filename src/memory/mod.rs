//! The persistent Memory. (stub: being written)

use std::path::PathBuf;

use crate::diagnostic::{Problem, Result};

/// The environment variable through which recipes reach the running `goal`'s Memory.
pub const SOCKET_ENV: &str = "GOAL_MEMORY_SOCKET";

/// Where the Memory and the project's run state live.
#[derive(Debug, Clone)]
pub struct Location {
    /// The sled database directory (default `<project>/.goal/memory`).
    pub memory_dir: PathBuf,
    /// The project's state directory (`<project>/.goal`): run lock, logs.
    pub state_dir: PathBuf,
}

/// `goal memory get|set|delete|list`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum MemoryCommand {
    /// Print the value of KEY (exit status 1 when it is not set)
    Get { key: String },
    /// Set KEY to VALUE
    Set { key: String, value: String },
    /// Delete KEY (exit status 1 when it was not set)
    Delete { key: String },
    /// List keys and values, optionally only those starting with PREFIX
    List { prefix: Option<String> },
}

/// Runs a `goal memory` command; `location` is `None` when no Goalfile was found (then only a
/// running `goal`'s socket can serve it). Returns the exit status.
pub fn command(command: &MemoryCommand, location: Option<Location>) -> Result<u8> {
    let _ = (command, location);
    Err(Problem::failure("goal::memory", "not yet").into())
}
