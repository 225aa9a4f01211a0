//! The persistent Memory: string keys to string values, kept beside the Goalfile.
//!
//! Only one process can open the embedded database (sled takes an exclusive lock on it), yet
//! recipes must read and write the Memory while `goal` runs. So the running `goal` owns the
//! database and serves it on a Unix socket ([`Memory::serve`]) whose path its children find in
//! [`SOCKET_ENV`], and advertises that socket in its run lock ([`RunLock::advertise`]) for
//! `goal memory` started from another terminal. A [`Memory`] decides on first use where its
//! values are: the socket named in its environment, else the database itself, else (when another
//! process holds the database) the socket advertised in the run lock.
//!
//! A PostgreSQL Memory ([`Database`]) is shared by several hosts at once; what they share besides
//! the keys (who fires the jobs, which host ran what) is in [`fleet`].

pub mod fleet;
mod lock;
mod postgres;
mod socket;
mod store;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::diagnostic::{Problem, Result};

pub use lock::{daemon, Holder, RunLock};
pub use postgres::{Database, InstanceLock};

use crate::socket::Server;
use postgres::PostgresStore;
use socket::SocketStore;
use store::{OpenError, SledStore};

/// The environment variable through which recipes reach the running `goal`'s Memory.
pub const SOCKET_ENV: &str = "GOAL_MEMORY_SOCKET";

/// Beside [`SOCKET_ENV`]: the directory of the Memory that socket serves, so a recipe running
/// `goal` for another project does not write into this one's Memory.
pub const DIR_ENV: &str = "GOAL_MEMORY_DIR";

/// The environment variable (and `--memory`) naming the Memory: a directory, or the URL of a
/// PostgreSQL server.
pub const MEMORY_ENV: &str = "GOAL_MEMORY";

/// The namespace of the project's keys in a PostgreSQL Memory (default: the project
/// directory's name), so that hosts whose copies of the project are in directories of other
/// names share one, and projects sharing a database do not.
pub const NAMESPACE_ENV: &str = "GOAL_MEMORY_NAMESPACE";

const KEY: &str = "goal::memory-key";
const READ_ONLY: &str = "goal::memory-read-only";
const LOCKED: &str = "goal::memory-locked";
const IO: &str = "goal::memory-io";
const DAMAGED: &str = "goal::memory-damaged";
const SOCKET: &str = "goal::memory-socket";
const NO_GOALFILE: &str = "goal::no-goalfile";
const RUN_LOCKED: &str = "goal::run-locked";
const RUN_LOCK_IO: &str = "goal::run-lock";
const DAEMON_RUNNING: &str = "goal::daemon-running";

/// Every code a Memory problem can carry, so one that crossed the socket as text gets its
/// `&'static` code back.
const CODES: [&str; 10] = [
    KEY,
    READ_ONLY,
    LOCKED,
    IO,
    DAMAGED,
    SOCKET,
    NO_GOALFILE,
    RUN_LOCKED,
    RUN_LOCK_IO,
    DAEMON_RUNNING,
];

/// How long to wait for the database while another process holds it: `goal memory` commands
/// hold it for milliseconds, and a starting run advertises its socket soon after taking it.
const LOCK_PATIENCE: Duration = Duration::from_secs(3);
const LOCK_POLL: Duration = Duration::from_millis(25);

/// Where the Memory and the project's run state live.
#[derive(Debug, Clone)]
pub struct Location {
    /// The sled database directory (default `<project>/.goal/memory`).
    pub memory_dir: PathBuf,
    /// The project's state directory (`<project>/.goal`): run lock, logs.
    pub state_dir: PathBuf,
    /// Whether handles opened here may write: chosen once, from the command line, so that no
    /// command can write during a dry run.
    pub access: Access,
    /// The shared Memory on a PostgreSQL server, when the user chose one: then it holds the
    /// values instead of `memory_dir`.
    pub database: Option<Database>,
}

/// What a [`Memory`] handle may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadWrite,
    /// `--dry-run`: reads work, `set` and `delete` are refused.
    ReadOnly,
}

impl Location {
    /// The Memory of the project whose Goalfile is in `goalfile_dir`: `.goal/memory` there,
    /// unless the user chose another directory or a PostgreSQL URL (`--memory`, `GOAL_MEMORY`).
    pub fn beside(goalfile_dir: &Path, memory_override: Option<PathBuf>) -> Location {
        // Shown to users relative to the project directory: `.goal/logs`, not `./.goal/logs`.
        let state_dir = goalfile_dir
            .strip_prefix(".")
            .unwrap_or(goalfile_dir)
            .join(".goal");
        let url = memory_override
            .as_deref()
            .and_then(Path::to_str)
            .filter(|setting| Database::is_url(setting));
        let database = url.map(|url| Database {
            url: url.to_owned(),
            namespace: namespace(goalfile_dir),
        });
        Location {
            memory_dir: match (&database, memory_override) {
                (None, Some(dir)) => dir,
                _ => state_dir.join("memory"),
            },
            state_dir,
            access: Access::ReadWrite,
            database,
        }
    }

    /// What names this Memory in the environment of a `goal` started for the same project
    /// (the daemon's jobs): [`MEMORY_ENV`], and [`NAMESPACE_ENV`] for a PostgreSQL Memory.
    pub fn environment(&self) -> Vec<(&'static str, String)> {
        match &self.database {
            Some(database) => vec![
                (MEMORY_ENV, database.url.clone()),
                (NAMESPACE_ENV, database.namespace.clone()),
            ],
            None => vec![(
                MEMORY_ENV,
                absolute(&self.memory_dir)
                    .unwrap_or_else(|| self.memory_dir.clone())
                    .to_string_lossy()
                    .into_owned(),
            )],
        }
    }

    /// What tells this Memory from another in [`DIR_ENV`]: its directory, or its URL and
    /// namespace.
    fn identity(&self) -> Option<PathBuf> {
        match &self.database {
            Some(database) => Some(PathBuf::from(format!(
                "{}#{}",
                database.url, database.namespace
            ))),
            None => absolute(&self.memory_dir),
        }
    }

    /// The same Memory, with handles that may only do what `access` allows.
    pub fn with_access(self, access: Access) -> Location {
        Location { access, ..self }
    }
}

/// The namespace chosen in [`NAMESPACE_ENV`], else the name of the project's directory.
fn namespace(goalfile_dir: &Path) -> String {
    std::env::var(NAMESPACE_ENV)
        .ok()
        .filter(|namespace| !namespace.is_empty())
        .or_else(|| {
            let dir = absolute(goalfile_dir)?;
            Some(dir.file_name()?.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "goal".to_owned())
}

/// Where values are kept: the embedded database, a running `goal` that owns it, or a
/// PostgreSQL server shared by several processes.
trait Store: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<String>, Problem>;
    /// Durable when it returns.
    fn set(&self, key: &str, value: &str) -> Result<(), Problem>;
    /// All entries or none; durable when it returns.
    fn set_all(&self, entries: &[(String, String)]) -> Result<(), Problem>;
    /// Durable when it returns; whether the key was set.
    fn delete(&self, key: &str) -> Result<bool, Problem>;
    /// Sorted by key.
    fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, Problem>;
    fn flush(&self) -> Result<(), Problem>;
    /// Takes the lock on the instance `name` across every process sharing this Memory, waiting
    /// while another holds it; `None` when the store is one process's own (then the run lock
    /// already keeps other runs out).
    fn lock_instance(
        &self,
        _name: &str,
        _keep_waiting: &dyn Fn() -> Result<(), Problem>,
    ) -> Result<Option<InstanceLock>, Problem> {
        Ok(None)
    }
}

/// A handle on the Memory; clones share one database and one server.
#[derive(Clone)]
pub struct Memory {
    shared: Arc<Shared>,
}

struct Shared {
    backend: Arc<Backend>,
    server: Mutex<Option<Server>>,
}

/// The checks every access gets, whether from this process or through the socket, in front of
/// a store opened on first use.
struct Backend {
    /// `None` for `goal memory` outside any project: only [`SOCKET_ENV`] can then serve.
    location: Option<Location>,
    writable: bool,
    store: Mutex<Option<Arc<dyn Store>>>,
}

impl Memory {
    /// Opens nothing yet: opening the database costs milliseconds and threads, and most runs of
    /// an up-to-date project never need it. Writes only when the location's access allows.
    pub fn new(location: Location) -> Memory {
        let access = location.access;
        Memory::at(Some(location), access)
    }

    /// A Memory that only reads, for commands that only look: reads work, `set` and `delete`
    /// are refused.
    pub fn read_only(location: Location) -> Memory {
        Memory::at(Some(location), Access::ReadOnly)
    }

    fn at(location: Option<Location>, access: Access) -> Memory {
        Memory {
            shared: Arc::new(Shared {
                backend: Arc::new(Backend {
                    location,
                    writable: access == Access::ReadWrite,
                    store: Mutex::new(None),
                }),
                server: Mutex::new(None),
            }),
        }
    }

    pub fn get(&self, key: &str) -> Result<Option<String>, Problem> {
        self.shared.backend.get(key)
    }

    /// Durable (flushed to disk) before it returns.
    pub fn set(&self, key: &str, value: &str) -> Result<(), Problem> {
        self.shared.backend.set(key, value)
    }

    /// Sets every entry at once: a reader sees all of them or none. Durable before it returns.
    pub fn set_all(&self, entries: &[(String, String)]) -> Result<(), Problem> {
        self.shared.backend.set_all(entries)
    }

    /// Durable before it returns; whether the key was set.
    pub fn delete(&self, key: &str) -> Result<bool, Problem> {
        self.shared.backend.delete(key)
    }

    /// The keys starting with `prefix` and their values, sorted by key.
    pub fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, Problem> {
        self.shared.backend.list(prefix)
    }

    /// With a shared Memory, waits for and takes the lock on the instance `name`, so that no
    /// other process runs its recipe meanwhile; `keep_waiting` says whether to go on waiting.
    /// `None` with a Memory of this process's own: nothing to lock.
    pub fn lock_instance(
        &self,
        name: &str,
        keep_waiting: &dyn Fn() -> Result<(), Problem>,
    ) -> Result<Option<InstanceLock>, Problem> {
        let backend = &self.shared.backend;
        if !backend.writable
            || backend
                .location
                .as_ref()
                .is_none_or(|l| l.database.is_none())
        {
            return Ok(None);
        }
        backend.store()?.lock_instance(name, keep_waiting)
    }

    /// Serves this Memory on a Unix socket (started once; later calls return the same path) for
    /// the children of this process, which find the path in [`SOCKET_ENV`]. Inside a recipe of
    /// another run, that run's socket already serves, so it is the answer.
    pub fn serve(&self) -> Result<PathBuf, Problem> {
        if let Some(path) = inherited_socket(self.shared.backend.location.as_ref()) {
            return Ok(path);
        }
        let mut server = lock(&self.shared.server);
        let server = match &mut *server {
            Some(server) => server,
            None => server.insert(socket::serve(self.shared.backend.clone())?),
        };
        Ok(server.path().to_owned())
    }

    /// The environment a command needs to reach this Memory: [`SOCKET_ENV`] and [`DIR_ENV`].
    pub fn environment(&self, socket: &Path) -> Vec<(&'static str, String)> {
        let mut env = vec![(SOCKET_ENV, socket.to_string_lossy().into_owned())];
        if let Some(dir) = self
            .shared
            .backend
            .location
            .as_ref()
            .and_then(Location::identity)
        {
            env.push((DIR_ENV, dir.to_string_lossy().into_owned()));
        }
        env
    }

    /// Best effort: every `set` and `delete` is already durable; this is for exit paths.
    pub fn flush(&self) {
        self.shared.backend.flush();
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Stop answering before the last flush, so no write lands after it.
        drop(lock(&self.server).take());
        self.backend.flush();
    }
}

impl Backend {
    fn get(&self, key: &str) -> Result<Option<String>, Problem> {
        check_key(key)?;
        self.store()?.get(key)
    }

    fn set(&self, key: &str, value: &str) -> Result<(), Problem> {
        self.check_writable(key)?;
        self.store()?.set(key, value)
    }

    fn set_all(&self, entries: &[(String, String)]) -> Result<(), Problem> {
        for (key, _) in entries {
            self.check_writable(key)?;
        }
        self.store()?.set_all(entries)
    }

    fn delete(&self, key: &str) -> Result<bool, Problem> {
        self.check_writable(key)?;
        self.store()?.delete(key)
    }

    fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, Problem> {
        self.store()?.list(prefix)
    }

    fn flush(&self) {
        let store = lock(&self.store).clone();
        if let Some(Err(problem)) = store.map(|store| store.flush()) {
            tracing::warn!("{problem}");
        }
    }

    fn check_writable(&self, key: &str) -> Result<(), Problem> {
        check_key(key)?;
        if self.writable {
            Ok(())
        } else {
            Err(Problem::failure(
                READ_ONLY,
                format!("not changing `{key}`: the Memory is read-only during a dry run"),
            ))
        }
    }

    /// The store, opened on first use. The lock is held only to open it, never while it is used,
    /// so the socket server and this process's own accesses proceed side by side.
    fn store(&self) -> Result<Arc<dyn Store>, Problem> {
        let mut store = lock(&self.store);
        if let Some(store) = &*store {
            return Ok(store.clone());
        }
        let opened = open_store(self.location.as_ref())?;
        Ok(store.insert(opened).clone())
    }
}

fn check_key(key: &str) -> Result<(), Problem> {
    if key.is_empty() {
        Err(Problem::input(KEY, "a Memory key cannot be empty")
            .with_help("keys are non-empty strings; check what produced this one"))
    } else {
        Ok(())
    }
}

fn open_store(location: Option<&Location>) -> Result<Arc<dyn Store>, Problem> {
    if let Some(path) = inherited_socket(location) {
        tracing::debug!("Memory: the running goal's socket {}", path.display());
        return Ok(Arc::new(SocketStore::from_env(path)));
    }
    let location = location.ok_or_else(|| {
        Problem::input(
            NO_GOALFILE,
            "no Goalfile found here or above; the Memory lives beside it",
        )
        .with_help(
            "run this in the project, name it with -C DIR or -f FILE, \
             or name the Memory's directory with --memory DIR",
        )
    })?;
    if let Some(database) = &location.database {
        let store = PostgresStore::open(database)?;
        tracing::debug!("Memory: opened {}", database.shown());
        return Ok(store);
    }
    let deadline = Instant::now() + LOCK_PATIENCE;
    loop {
        match SledStore::open(&location.memory_dir) {
            Ok(store) => {
                tracing::debug!("Memory: opened {}", location.memory_dir.display());
                return Ok(store);
            }
            Err(OpenError::Failed(problem)) => return Err(problem),
            Err(OpenError::Locked) => {}
        }
        // A run, or the daemon, may hold the database: either serves it on a socket.
        let holders: Vec<lock::Holder> = lock::SERVING_LOCKS
            .iter()
            .filter_map(|name| lock::holder(&location.state_dir, name))
            .filter(|holder| !holder.is_us())
            .collect();
        let served_by_holder = holders
            .iter()
            .filter_map(|holder| holder.socket.as_deref())
            .find(|socket| crate::socket::answers(socket));
        if let Some(socket) = served_by_holder {
            tracing::debug!("Memory: the socket {} of a run", socket.display());
            return Ok(Arc::new(SocketStore::from_run_lock(socket.to_owned())));
        }
        if Instant::now() >= deadline {
            let by = match holders.first() {
                Some(holder) => format!("another goal run (pid {})", holder.pid),
                None => "another process".to_owned(),
            };
            return Err(Problem::failure(
                LOCKED,
                format!(
                    "the Memory at `{}` is in use by {by}",
                    location.memory_dir.display()
                ),
            )
            .with_help("only one process at a time can open the Memory; wait for it to finish"));
        }
        std::thread::sleep(LOCK_POLL);
    }
}

/// The socket of the running `goal` this process was started by (as a recipe or a predicate's
/// command), when that run serves the Memory at `location`: a recipe's `goal memory …` names
/// the project it runs in, but `goal -C elsewhere …` names another project and its own Memory.
pub fn inherited_socket(location: Option<&Location>) -> Option<PathBuf> {
    let socket = std::env::var_os(SOCKET_ENV)
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)?;
    let served = std::env::var_os(DIR_ENV).map(PathBuf::from);
    let same = match (location, served) {
        (Some(location), Some(served)) => location.identity() == Some(served),
        _ => true,
    };
    same.then_some(socket)
}

fn absolute(path: &Path) -> Option<PathBuf> {
    std::path::absolute(path).ok()
}

/// A panic elsewhere must not take the Memory down with it: the data behind these locks is
/// never left half-changed.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `goal memory get|set|delete|list`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum MemoryCommand {
    /// Print the value of KEY (exit status 1 when it is not set)
    Get { key: String },
    /// Set KEY to VALUE
    Set {
        // One argument of two words: only so is the word after the key read as the value
        // when it is also one of goal's flags, which subcommands accept too (`goal memory set
        // k -v` sets `-v`).
        #[arg(num_args = 2, value_names = ["KEY", "VALUE"], allow_hyphen_values = true, required = true)]
        key_value: Vec<String>,
    },
    /// Delete KEY (exit status 1 when it was not set)
    Delete { key: String },
    /// List keys and values (KEY<TAB>VALUE, with \n, \r, \t and \\ escaped), optionally only
    /// those starting with PREFIX
    List { prefix: Option<String> },
}

/// Runs a `goal memory` command; `location` is `None` when no Goalfile was found (then only a
/// running `goal`'s socket can serve it). Returns the exit status.
pub fn command(command: &MemoryCommand, location: Option<Location>, access: Access) -> Result<u8> {
    let memory = Memory::at(location, access);
    let mut out = String::new();
    let status = match command {
        MemoryCommand::Get { key } => match memory.get(key)? {
            Some(value) => {
                out = value + "\n";
                0
            }
            None => 1,
        },
        MemoryCommand::Set { key_value } => {
            // clap gives exactly two words.
            if let [key, value] = key_value.as_slice() {
                memory.set(key, value)?;
            }
            0
        }
        MemoryCommand::Delete { key } => {
            if memory.delete(key)? {
                0
            } else {
                1
            }
        }
        MemoryCommand::List { prefix } => {
            for (key, value) in memory.list(prefix.as_deref().unwrap_or(""))? {
                // Writing to a String cannot fail.
                let _ = writeln!(out, "{}\t{}", escape(&key), escape(&value));
            }
            0
        }
    };
    print(&out)?;
    Ok(status)
}

/// One line per entry in `goal memory list` and in the run logs' index, readable and splittable
/// on the tab.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c => escaped.push(c),
        }
    }
    escaped
}

fn print(text: &str) -> Result<(), Problem> {
    crate::report::print_out(text)
        .map_err(|error| Problem::failure(IO, format!("cannot write to standard output: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_is_named_relative_to_the_project() {
        let here = Location::beside(Path::new("."), None);
        assert_eq!(here.state_dir, Path::new(".goal"));
        assert_eq!(here.memory_dir, Path::new(".goal/memory"));
        let elsewhere = Location::beside(Path::new("/p"), Some(PathBuf::from("/m")));
        assert_eq!(elsewhere.state_dir, Path::new("/p/.goal"));
        assert_eq!(elsewhere.memory_dir, Path::new("/m"));
        assert_eq!(elsewhere.database, None);
    }

    #[test]
    fn a_url_names_a_postgres_memory_named_after_the_project() {
        let shared = Location::beside(
            Path::new("/work/rebuild/."),
            Some(PathBuf::from("postgres://db/campaign")),
        );
        assert_eq!(shared.memory_dir, Path::new("/work/rebuild/.goal/memory"));
        let database = shared.database.expect("a PostgreSQL Memory");
        assert_eq!(database.url, "postgres://db/campaign");
        // Unless the environment names another namespace.
        if std::env::var_os(NAMESPACE_ENV).is_none() {
            assert_eq!(database.namespace, "rebuild");
        }
    }
}
