//! Run logs: the output of every recipe run, kept under `<state_dir>/logs/`.
//!
//! Each invocation of `goal` that runs a recipe gets a directory of its own,
//! `logs/<start>-<pid>/` (`20261123T103151.123Z-4242`, so names sort by start time), holding one
//! file per recipe run, `NNN-<instance>.log` (its standard output and standard error as they
//! came), and an `index`, appended to as each run starts and ends ([`index`]), so that an
//! invocation killed at any point leaves a readable index: a run with no end was interrupted.
//! The writer holds a lock on its `index` for as long as it lives, which tells readers whether a
//! run without an end is still going. When an invocation starts writing, the oldest
//! invocations beyond the limits are removed ([`prune`]).

mod index;
mod prune;
mod record;
mod show;

use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::SystemTime;

use crate::memory::fleet::RunRecorder;

pub(crate) use record::record;
pub use show::{last_run, show, status};

use index::Ending;

/// The directory of the logs in a project's state directory.
const LOGS: &str = "logs";

/// The logs of one invocation's recipes, written from its first recipe on.
pub struct Logs {
    logs_dir: PathBuf,
    state: State,
    /// With a shared Memory: where every host's runs are recorded for `goal status`.
    fleet: Option<Arc<RunRecorder>>,
}

enum State {
    /// No recipe has run yet: a run that finds everything reached leaves no trace.
    Unopened,
    Open(Invocation),
    /// Writing failed once; the run goes on without logs rather than warn at every recipe.
    Failed,
}

struct Invocation {
    dir: PathBuf,
    /// Locked for the whole invocation; appended to by every [`RecipeLog`].
    index: Arc<File>,
    /// The number of the next recipe run.
    next: u32,
}

/// The log of one recipe run: its output file, and its lines in the index.
#[derive(Debug)]
pub struct RecipeLog {
    number: u32,
    path: PathBuf,
    /// Made at the recipe's first output: most build steps print nothing, and creating a file a
    /// recipe is most of what logging costs on a journalling file system.
    file: std::cell::OnceCell<File>,
    index: Arc<File>,
    /// Put before each line shown on the terminal, when recipes run side by side.
    prefix: Option<String>,
    /// The fleet's record of this run, and its id there.
    fleet: Option<(Arc<RunRecorder>, i64)>,
}

impl Logs {
    /// Logs in `state_dir` (`.goal`); nothing is created before the first recipe runs.
    pub fn new(state_dir: &Path) -> Logs {
        Logs {
            logs_dir: logs_dir(state_dir),
            state: State::Unopened,
            fleet: None,
        }
    }

    /// Also records each recipe run for the fleet, with a shared Memory.
    pub fn for_fleet(self, fleet: Option<RunRecorder>) -> Logs {
        Logs {
            fleet: fleet.map(Arc::new),
            ..self
        }
    }

    /// Starts the log of a recipe run of `instance` (as users see it), which the instances of
    /// `required_by` required, the nearest first. When the log cannot be written, says so once
    /// and returns `None` from then on: losing a log must not stop work.
    pub fn start(&mut self, instance: &str, required_by: &[String]) -> Option<RecipeLog> {
        if let State::Unopened = self.state {
            self.state = match Invocation::open(&self.logs_dir) {
                Ok(invocation) => {
                    prune::prune(&self.logs_dir, prune::LIMITS);
                    State::Open(invocation)
                }
                Err(error) => return self.give_up(&error),
            };
        }
        let State::Open(invocation) = &mut self.state else {
            return None;
        };
        match invocation.start(instance, required_by) {
            Ok(mut log) => {
                log.fleet = self.fleet.as_ref().and_then(|fleet| {
                    let id = fleet.started(instance, SystemTime::now(), &log.path)?;
                    Some((fleet.clone(), id))
                });
                Some(log)
            }
            Err(error) => self.give_up(&error),
        }
    }

    fn give_up(&mut self, error: &io::Error) -> Option<RecipeLog> {
        tracing::warn!(
            "not keeping logs of this run's recipes: cannot write in {}: {error}",
            self.logs_dir.display()
        );
        self.state = State::Failed;
        None
    }
}

impl Invocation {
    fn open(logs_dir: &Path) -> io::Result<Invocation> {
        fs::create_dir_all(logs_dir)?;
        let name = format!(
            "{}-{}",
            index::compact_time(SystemTime::now()),
            std::process::id()
        );
        let dir = logs_dir.join(name);
        fs::create_dir(&dir)?;
        let index = File::options()
            .append(true)
            .create_new(true)
            .open(dir.join(index::INDEX))?;
        index.lock()?;
        Ok(Invocation {
            dir,
            index: Arc::new(index),
            next: 1,
        })
    }

    fn start(&mut self, instance: &str, required_by: &[String]) -> io::Result<RecipeLog> {
        let number = self.next;
        self.next += 1;
        let name = format!("{number:03}-{}.log", file_name_part(instance));
        let path = self.dir.join(&name);
        let line = index::start_line(number, SystemTime::now(), &name, instance, required_by);
        (&*self.index).write_all(line.as_bytes())?;
        Ok(RecipeLog {
            number,
            path,
            file: std::cell::OnceCell::new(),
            index: self.index.clone(),
            prefix: None,
            fleet: None,
        })
    }
}

impl RecipeLog {
    /// Shows the recipe's output on the terminal a whole line at a time, each line after
    /// `[instance]`: with `-j`, lines of recipes running at once stay readable.
    pub fn prefix_lines(mut self, instance: &str) -> RecipeLog {
        self.prefix = Some(format!("[{instance}] "));
        self
    }

    /// Where the output goes, relative to the project directory; `None` while the recipe has
    /// printed nothing (there is no file then).
    pub fn path(&self) -> Option<&Path> {
        self.file.get().map(|_| self.path.as_path())
    }

    /// The log file, made on first use.
    fn file(&self) -> io::Result<&File> {
        if let Some(file) = self.file.get() {
            return Ok(file);
        }
        let file = File::options()
            .append(true)
            .create_new(true)
            .open(&self.path)?;
        Ok(self.file.get_or_init(|| file))
    }

    /// Records how the run ended; once this is in the index, the log is complete.
    fn end(&self, status: ExitStatus) {
        let ending = if crate::interrupt::interrupted() {
            Ending::Interrupted
        } else {
            Ending::of(status)
        };
        let silent = self.file.get().is_none();
        let now = SystemTime::now();
        if let Some((fleet, id)) = &self.fleet {
            fleet.ended(*id, now, &ending.text());
        }
        let line = index::end_line(self.number, now, ending, silent);
        if let Err(error) = (&*self.index).write_all(line.as_bytes()) {
            tracing::warn!("cannot record the end of {}: {error}", self.path.display());
        }
    }
}

fn logs_dir(state_dir: &Path) -> PathBuf {
    state_dir.join(LOGS)
}

/// The instance in a form safe for a file name: `built pkg='a/b c'` gives `built_pkg=_a_b_c`.
/// Only a hint for people listing the directory; the index names the instance exactly.
fn file_name_part(instance: &str) -> String {
    const MAX: usize = 80;
    let mut part = String::with_capacity(instance.len().min(MAX));
    for c in instance.chars() {
        let c = if c.is_ascii_alphanumeric() || "._=-".contains(c) {
            c
        } else {
            '_'
        };
        if !(c == '_' && part.ends_with('_')) {
            part.push(c);
        }
        if part.len() == MAX {
            break;
        }
    }
    part.trim_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(file_name_part("compiled"), "compiled");
        assert_eq!(
            file_name_part("compiled c_file=src/main.c"),
            "compiled_c_file=src_main.c"
        );
        assert_eq!(
            file_name_part(r#"built pkg='../a b'\''"c'"#),
            "built_pkg=_.._a_b_c"
        );
        assert_eq!(file_name_part("p v=ünï\ncode"), "p_v=_n_code");
        assert_eq!(file_name_part(&"x".repeat(500)).len(), 80);
    }
}
