//! The embedded Memory: a sled database, by default in the project's `.goal/memory`.

use std::ffi::CString;
use std::fmt::Display;
use std::fs::{self, File, TryLockError};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use super::{lock, Store, DAMAGED, IO};
use crate::diagnostic::Problem;

/// sled refuses to open a database twice, even in one process: handles on the same directory
/// share the open one.
static OPEN: Mutex<Vec<(PathBuf, Weak<SledStore>)>> = Mutex::new(Vec::new());

/// sled waits for ever on a write the disk refused (a full disk): a write is done on a thread of
/// its own, and waited for only so long. After this long, a disk without room is taken to be why.
const WRITE_PATIENCE: Duration = Duration::from_secs(1);
/// On a disk with room, this is far longer than any healthy write takes.
const WRITE_LIMIT: Duration = Duration::from_secs(60);
/// How often a write that takes long is looked at.
const WRITE_POLL: Duration = Duration::from_millis(50);
/// sled writes its log in segments of 512 KiB: a disk with less room than two cannot take it.
const ROOM_NEEDED: u64 = 1 << 20;

pub(super) struct SledStore {
    db: sled::Db,
    dir: PathBuf,
    /// A write never ended: sled would make every later one wait behind it.
    stuck: AtomicBool,
}

pub(super) enum OpenError {
    /// Another process has the database open.
    Locked,
    Failed(Problem),
}

impl SledStore {
    pub(super) fn open(dir: &Path) -> Result<Arc<SledStore>, OpenError> {
        let failed = |cause: &dyn Display| OpenError::Failed(problem(dir, "open", cause));
        fs::create_dir_all(dir).map_err(|error| failed(&error))?;
        let canonical = dir.canonicalize().map_err(|error| failed(&error))?;
        let mut open = lock(&OPEN);
        open.retain(|(_, store)| store.strong_count() > 0);
        let shared = open
            .iter()
            .find(|(path, _)| *path == canonical)
            .and_then(|(_, store)| store.upgrade());
        if let Some(store) = shared {
            return Ok(store);
        }
        if let Some(problem) = emptied(dir) {
            return Err(OpenError::Failed(problem));
        }
        let mut opened = sled::Config::new().path(dir).open();
        if matches!(opened, Err(sled::Error::Corruption { .. }))
            && !held_by_another(dir)
            && remove_unfinished_snapshots(dir)
        {
            opened = sled::Config::new().path(dir).open();
        }
        match opened {
            Ok(db) => {
                let store = Arc::new(SledStore {
                    db,
                    dir: dir.to_owned(),
                    stuck: AtomicBool::new(false),
                });
                open.push((canonical, Arc::downgrade(&store)));
                Ok(store)
            }
            Err(_) if held_by_another(dir) => Err(OpenError::Locked),
            Err(error) => Err(OpenError::Failed(sled_problem(dir, "open", &error))),
        }
    }

    fn problem(&self, action: &str, cause: &dyn Display) -> Problem {
        problem(&self.dir, action, cause)
    }

    fn text(&self, key: &str, bytes: &[u8]) -> Result<String, Problem> {
        String::from_utf8(bytes.to_vec()).map_err(|_| {
            self.problem(
                "read",
                &format!("the entry `{key}` is not UTF-8 (not written by goal)"),
            )
        })
    }

    /// Runs `write`, then makes it durable, on a thread of its own; the result, or a problem
    /// when the write does not end (a full disk), after which every write fails at once.
    fn write<T: Send + 'static>(
        &self,
        write: impl FnOnce(&sled::Db) -> sled::Result<T> + Send + 'static,
    ) -> Result<T, Problem> {
        if self.stuck.load(Ordering::SeqCst) {
            return Err(self.stuck_problem("an earlier write never ended"));
        }
        let db = self.db.clone();
        let (sender, done) = mpsc::channel();
        thread::Builder::new()
            .name("goal-memory-write".to_owned())
            .spawn(move || {
                let _ = sender.send(write(&db).and_then(|value| db.flush().map(|_| value)));
            })
            .map_err(|error| self.problem("write", &error))?;
        let started = Instant::now();
        loop {
            match done.recv_timeout(WRITE_POLL) {
                Ok(result) => {
                    return result.map_err(|error| sled_problem(&self.dir, "write", &error))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.problem("write", &"the write ended without an answer"))
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            let waited = started.elapsed();
            let full = waited >= WRITE_PATIENCE && !has_room(&self.dir);
            if full || waited >= WRITE_LIMIT {
                self.stuck.store(true, Ordering::SeqCst);
                // Dropping the database flushes it, which would wait for ever as well.
                std::mem::forget(self.db.clone());
                return Err(self.stuck_problem(if full {
                    "the disk is full"
                } else {
                    "the write did not end in a minute"
                }));
            }
        }
    }

    fn stuck_problem(&self, cause: &str) -> Problem {
        self.problem("write", &cause).with_help(format!(
            "make room on the disk holding `{}` and run again: what was written before is kept",
            self.dir.display()
        ))
    }
}

impl Store for SledStore {
    fn get(&self, key: &str) -> Result<Option<String>, Problem> {
        match self.db.get(key) {
            Ok(Some(value)) => self.text(key, &value).map(Some),
            Ok(None) => Ok(None),
            Err(error) => Err(sled_problem(&self.dir, "read", &error)),
        }
    }

    fn set(&self, key: &str, value: &str) -> Result<(), Problem> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.write(move |db| db.insert(key, value.as_bytes()).map(drop))
    }

    fn set_all(&self, entries: &[(String, String)]) -> Result<(), Problem> {
        let mut batch = sled::Batch::default();
        for (key, value) in entries {
            batch.insert(key.as_bytes(), value.as_bytes());
        }
        self.write(move |db| db.apply_batch(batch))
    }

    fn delete(&self, key: &str) -> Result<bool, Problem> {
        let key = key.to_owned();
        self.write(move |db| db.remove(key).map(|old| old.is_some()))
    }

    fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, Problem> {
        // sled orders keys by their bytes, which for UTF-8 is the order of the strings.
        self.db
            .scan_prefix(prefix)
            .map(|entry| {
                let (key, value) =
                    entry.map_err(|error| sled_problem(&self.dir, "read", &error))?;
                let key = self.text(&String::from_utf8_lossy(&key), &key)?;
                let value = self.text(&key, &value)?;
                Ok((key, value))
            })
            .collect()
    }

    fn flush(&self) -> Result<(), Problem> {
        if self.stuck.load(Ordering::SeqCst) {
            // Said already, by the write that got stuck.
            return Ok(());
        }
        self.write(|_| Ok(()))
    }
}

/// Whether the file system holding `dir` has the room sled needs to go on; when that cannot be
/// told, it is taken to have it.
fn has_room(dir: &Path) -> bool {
    let Ok(path) = CString::new(dir.as_os_str().as_bytes()) else {
        return true;
    };
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a NUL-terminated string and `stats` has room for the answer.
    if unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) } != 0 {
        return true;
    }
    // SAFETY: statvfs filled it in, as it returned 0.
    let stats = unsafe { stats.assume_init() };
    stats.f_bavail.saturating_mul(stats.f_frsize) >= ROOM_NEEDED
}

/// What a failure of sled means for the Memory at `dir`.
fn sled_problem(dir: &Path, action: &str, error: &sled::Error) -> Problem {
    match error {
        sled::Error::Corruption { .. } | sled::Error::Unsupported(_) => {
            // sled's own words name its internals (file offsets, its versions), not what
            // happened to the user's Memory or what to do about it.
            tracing::debug!("sled cannot {action} {}: {error}", dir.display());
            damaged(dir, "what its files hold cannot be read")
        }
        error => problem(dir, action, error),
    }
}

fn problem(dir: &Path, action: &str, cause: &dyn Display) -> Problem {
    Problem::failure(
        IO,
        format!("cannot {action} the Memory at `{}`: {cause}", dir.display()),
    )
}

/// A Memory whose log was cut to nothing (a disk fault, a bad copy) opens in sled as an empty
/// one: every key would be silently gone, and every goal reached through the Memory would run
/// again. sled never leaves its log empty once it has made it; a process holding it may be
/// making it now.
fn emptied(dir: &Path) -> Option<Problem> {
    let log = fs::metadata(dir.join("db")).ok()?;
    (log.is_file() && log.len() == 0 && !held_by_another(dir))
        .then(|| damaged(dir, "its file `db` is empty"))
}

fn damaged(dir: &Path, why: &str) -> Problem {
    Problem::failure(
        DAMAGED,
        format!("the Memory at `{}` is damaged: {why}", dir.display()),
    )
    .with_help(format!(
        "restore `{}` from a backup; or move it away to start with an empty Memory, \
         in which every goal whose target is in the Memory runs again",
        dir.display()
    ))
}

/// Removes the snapshots a killed process left unfinished (`snap.<lsn>.generating`); whether
/// there was any. sled 0.34 writes a snapshot under that name and renames it when done, but when
/// it opens a database it takes the newest `snap.*` file, unfinished ones included: one left
/// empty by a process killed at the wrong moment makes the database fail to open ("Read
/// corrupted data"), though every acknowledged write is intact in the log. Only called while no
/// process holds the database, so no snapshot is being written.
fn remove_unfinished_snapshots(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    let mut removed = false;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            tracing::warn!("removing the unfinished snapshot {name} of a killed goal");
            removed |= fs::remove_file(entry.path()).is_ok();
        }
    }
    removed
}

/// sled tells a held lock from other failures only in the words of its message, so ask the lock
/// itself: sled holds an exclusive `flock` on `<dir>/db`, as std's `try_lock` would.
fn held_by_another(dir: &Path) -> bool {
    File::open(dir.join("db"))
        .is_ok_and(|file| matches!(file.try_lock(), Err(TryLockError::WouldBlock)))
}
