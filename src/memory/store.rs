//! The embedded Memory: a sled database, by default in the project's `.goal/memory`.

use std::fmt::Display;
use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use super::{lock, Store, IO};
use crate::diagnostic::Problem;

/// sled refuses to open a database twice, even in one process: handles on the same directory
/// share the open one.
static OPEN: Mutex<Vec<(PathBuf, Weak<SledStore>)>> = Mutex::new(Vec::new());

pub(super) struct SledStore {
    db: sled::Db,
    dir: PathBuf,
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
                });
                open.push((canonical, Arc::downgrade(&store)));
                Ok(store)
            }
            Err(_) if held_by_another(dir) => Err(OpenError::Locked),
            Err(error) => Err(failed(&error)),
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

    fn durable(&self, action: &str) -> Result<(), Problem> {
        self.db
            .flush()
            .map(drop)
            .map_err(|error| self.problem(action, &error))
    }
}

impl Store for SledStore {
    fn get(&self, key: &str) -> Result<Option<String>, Problem> {
        match self.db.get(key) {
            Ok(Some(value)) => self.text(key, &value).map(Some),
            Ok(None) => Ok(None),
            Err(error) => Err(self.problem("read", &error)),
        }
    }

    fn set(&self, key: &str, value: &str) -> Result<(), Problem> {
        self.db
            .insert(key, value.as_bytes())
            .map_err(|error| self.problem("write", &error))?;
        self.durable("write")
    }

    fn set_all(&self, entries: &[(String, String)]) -> Result<(), Problem> {
        let mut batch = sled::Batch::default();
        for (key, value) in entries {
            batch.insert(key.as_bytes(), value.as_bytes());
        }
        self.db
            .apply_batch(batch)
            .map_err(|error| self.problem("write", &error))?;
        self.durable("write")
    }

    fn delete(&self, key: &str) -> Result<bool, Problem> {
        let existed = self
            .db
            .remove(key)
            .map_err(|error| self.problem("write", &error))?
            .is_some();
        self.durable("write")?;
        Ok(existed)
    }

    fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, Problem> {
        // sled orders keys by their bytes, which for UTF-8 is the order of the strings.
        self.db
            .scan_prefix(prefix)
            .map(|entry| {
                let (key, value) = entry.map_err(|error| self.problem("read", &error))?;
                let key = self.text(&String::from_utf8_lossy(&key), &key)?;
                let value = self.text(&key, &value)?;
                Ok((key, value))
            })
            .collect()
    }

    fn flush(&self) -> Result<(), Problem> {
        self.durable("flush")
    }
}

fn problem(dir: &Path, action: &str, cause: &dyn Display) -> Problem {
    Problem::failure(
        IO,
        format!("cannot {action} the Memory at `{}`: {cause}", dir.display()),
    )
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
