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

impl Location {
    pub fn beside(goalfile_dir: &std::path::Path, memory_override: Option<PathBuf>) -> Location {
        let state_dir = goalfile_dir.join(".goal");
        Location {
            memory_dir: memory_override.unwrap_or_else(|| state_dir.join("memory")),
            state_dir,
        }
    }
}

/// (stub)
#[derive(Clone)]
pub struct Memory;

impl Memory {
    pub fn new(_location: Location) -> Memory {
        Memory
    }
    pub fn read_only(_location: Location) -> Memory {
        Memory
    }
    pub fn get(&self, _key: &str) -> std::result::Result<Option<String>, Problem> {
        Ok(None)
    }
    pub fn set(&self, _key: &str, _value: &str) -> std::result::Result<(), Problem> {
        Ok(())
    }
    pub fn delete(&self, _key: &str) -> std::result::Result<bool, Problem> {
        Ok(false)
    }
    pub fn flush(&self) {}
    pub fn serve(&self) -> std::result::Result<PathBuf, Problem> {
        Ok(PathBuf::from("/nonexistent"))
    }
}

/// (stub)
pub struct RunLock;
impl RunLock {
    pub fn acquire(
        _state_dir: &std::path::Path,
        _wait: bool,
    ) -> std::result::Result<RunLock, Problem> {
        Ok(RunLock)
    }
    pub fn advertise(&self, _socket: &std::path::Path) -> std::result::Result<(), Problem> {
        Ok(())
    }
}
