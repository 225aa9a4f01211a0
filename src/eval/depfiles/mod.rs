//! Depfiles: the prerequisites a compiler wrote for each object, kept from one run to the next.
//!
//! A no-op build reads every object's depfile, and parsing thousands of them on every run would
//! cost more than the `stat`s the build is made of. As with directory listings, what a depfile
//! said is kept in `.goal/cache/depfiles` with the file's device, inode, mtime and ctime, and
//! reused while those are unchanged: rewriting a depfile (the compiler does on every compile)
//! changes them, so it is read again. A depfile changed less than [`RACY`](crate::cache::RACY)
//! before it was read is read again next time, as a listing is. The prerequisites of all depfiles
//! are kept once each: objects share most of their headers.

mod parse;

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};

use super::listings::Stamp;
use crate::cache;

/// Bump when what is kept changes.
const FORMAT: &str = "goal depfiles 1";

/// What one depfile said, as it was.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    stamp: Stamp,
    /// Indices into [`Kept::paths`].
    prerequisites: Vec<u32>,
}

/// The depfiles kept, their prerequisites interned.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Kept {
    paths: Vec<String>,
    entries: HashMap<String, Entry>,
    /// Where each path is in `paths`; built when a depfile is first parsed in a run.
    #[serde(skip)]
    index: HashMap<String, u32>,
}

impl Kept {
    fn intern(&mut self, path: &str) -> u32 {
        if self.index.is_empty() && !self.paths.is_empty() {
            self.index = (0..)
                .zip(&self.paths)
                .map(|(i, p)| (p.clone(), i))
                .collect();
        }
        if let Some(&index) = self.index.get(path) {
            return index;
        }
        let index = self.paths.len() as u32;
        self.paths.push(path.to_string());
        self.index.insert(path.to_string(), index);
        index
    }
}

/// Why a depfile could not be read.
#[derive(Debug)]
pub struct Unreadable(pub String);

/// The depfiles of a project, read at the first depfile and written back at the end of the run
/// when one was parsed or dropped.
#[derive(Debug)]
pub struct Depfiles {
    file: Option<PathBuf>,
    kept: Option<Kept>,
    changed: bool,
}

impl Depfiles {
    /// Depfiles kept in `state_dir`.
    pub fn new(state_dir: &Path) -> Depfiles {
        Depfiles {
            file: Some(state_dir.join("cache").join("depfiles")),
            kept: None,
            changed: false,
        }
    }

    /// Depfiles parsed each time they are read, kept nowhere (for runs that keep no state).
    pub fn unkept() -> Depfiles {
        Depfiles {
            file: None,
            kept: Some(Kept::default()),
            changed: false,
        }
    }

    /// The prerequisites `depfile` names, each once; `None` when it does not exist.
    pub fn prerequisites(&mut self, depfile: &str) -> Result<Option<Vec<String>>, Unreadable> {
        let meta = match fs::metadata(depfile) {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) => return Err(Unreadable("it is not a file".to_string())),
            Err(error) if error.kind() == ErrorKind::NotFound => {
                self.forget(depfile);
                return Ok(None);
            }
            Err(error) => return Err(Unreadable(error.to_string())),
        };
        let stamp = Stamp::from(&meta);
        let file = &self.file;
        let kept = self
            .kept
            .get_or_insert_with(|| file.as_deref().map(read).unwrap_or_default());
        if let Some(entry) = kept.entries.get(depfile) {
            if entry.stamp == stamp {
                tracing::debug!(depfile, "depfile reused");
                let paths = &kept.paths;
                return Ok(Some(
                    entry
                        .prerequisites
                        .iter()
                        .map(|&i| paths[i as usize].clone())
                        .collect(),
                ));
            }
            kept.entries.remove(depfile);
            self.changed = true;
        }
        let text = fs::read(depfile).map_err(|error| Unreadable(error.to_string()))?;
        let text =
            String::from_utf8(text).map_err(|_| Unreadable("it is not UTF-8 text".to_string()))?;
        let prerequisites =
            parse::prerequisites(&text).map_err(|corrupt| Unreadable(corrupt.to_string()))?;
        if self.file.is_some() && stamp.settled(SystemTime::now()) {
            let indices = prerequisites.iter().map(|path| kept.intern(path)).collect();
            kept.entries.insert(
                depfile.to_string(),
                Entry {
                    stamp,
                    prerequisites: indices,
                },
            );
            self.changed = true;
        }
        Ok(Some(prerequisites))
    }

    /// Drops what a depfile that is gone said, so the cache does not keep it forever.
    fn forget(&mut self, depfile: &str) {
        let file = &self.file;
        let kept = self
            .kept
            .get_or_insert_with(|| file.as_deref().map(read).unwrap_or_default());
        if kept.entries.remove(depfile).is_some() {
            self.changed = true;
        }
    }

    /// Writes the depfiles back if this run changed them, keeping only the paths some depfile
    /// still names. Failing is not an error: the next run
    /// reads the depfiles again.
    pub fn save(&self) {
        let (Some(file), Some(kept)) = (&self.file, &self.kept) else {
            return;
        };
        if !self.changed {
            return;
        }
        let mut compact = Kept::default();
        for (depfile, entry) in &kept.entries {
            let prerequisites = entry
                .prerequisites
                .iter()
                .map(|&i| compact.intern(&kept.paths[i as usize]))
                .collect();
            compact.entries.insert(
                depfile.clone(),
                Entry {
                    stamp: entry.stamp,
                    prerequisites,
                },
            );
        }
        let written = postcard::to_stdvec(&(FORMAT, &compact))
            .map_err(std::io::Error::other)
            .and_then(|bytes| cache::replace(file, &bytes));
        if let Err(error) = written {
            tracing::debug!(file = %file.display(), %error, "depfiles not written");
        }
    }
}

/// The kept depfiles; none when the file is missing, unreadable or of another format.
fn read(file: &Path) -> Kept {
    let Ok(bytes) = fs::read(file) else {
        return Kept::default();
    };
    match postcard::from_bytes::<(&str, Kept)>(&bytes) {
        Ok((FORMAT, kept)) => kept,
        _ => {
            tracing::debug!(file = %file.display(), "depfiles of another format ignored");
            Kept::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_kept_depfile_is_reused_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let depfile = dir.path().join("a.d");
        fs::write(&depfile, "a.o: a.c a.h\n").unwrap();
        // A depfile is kept only once its last change is a few seconds old.
        std::thread::sleep(crate::cache::RACY + Duration::from_millis(1100));
        let depfile = depfile.to_str().unwrap();
        let mut depfiles = Depfiles::new(dir.path());
        assert_eq!(
            depfiles.prerequisites(depfile).unwrap(),
            Some(vec!["a.c".to_string(), "a.h".to_string()])
        );
        depfiles.save();

        // A second run reads it from the cache: shown by a cache that says otherwise.
        let mut depfiles = Depfiles::new(dir.path());
        let mut kept = read(&dir.path().join("cache").join("depfiles"));
        kept.paths[1] = "kept.h".to_string();
        let bytes = postcard::to_stdvec(&(FORMAT, &kept)).unwrap();
        fs::write(dir.path().join("cache").join("depfiles"), bytes).unwrap();
        assert_eq!(
            depfiles.prerequisites(depfile).unwrap(),
            Some(vec!["a.c".to_string(), "kept.h".to_string()])
        );

        // Rewritten, it is read again.
        fs::write(depfile, "a.o: a.c b.h\n").unwrap();
        assert_eq!(
            depfiles.prerequisites(depfile).unwrap(),
            Some(vec!["a.c".to_string(), "b.h".to_string()])
        );
    }

    #[test]
    fn a_missing_depfile_is_none_and_a_corrupt_one_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let mut depfiles = Depfiles::unkept();
        let missing = dir.path().join("missing.d");
        assert!(depfiles
            .prerequisites(missing.to_str().unwrap())
            .unwrap()
            .is_none());
        let corrupt = dir.path().join("corrupt.d");
        fs::write(&corrupt, "no colon here\n").unwrap();
        let Unreadable(why) = depfiles
            .prerequisites(corrupt.to_str().unwrap())
            .unwrap_err();
        assert_eq!(why, "line 1 has no `:` after its targets");
        let Unreadable(why) = depfiles
            .prerequisites(dir.path().to_str().unwrap())
            .unwrap_err();
        assert_eq!(why, "it is not a file");
    }

    #[test]
    fn a_depfile_gone_is_forgotten_with_the_paths_only_it_named() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.d"), dir.path().join("b.d"));
        fs::write(&a, "a.o: a.c shared.h\n").unwrap();
        fs::write(&b, "b.o: b.c shared.h\n").unwrap();
        std::thread::sleep(crate::cache::RACY + Duration::from_millis(1100));
        let mut depfiles = Depfiles::new(dir.path());
        for depfile in [&a, &b] {
            depfiles.prerequisites(depfile.to_str().unwrap()).unwrap();
        }
        depfiles.save();
        fs::remove_file(&a).unwrap();
        let mut depfiles = Depfiles::new(dir.path());
        assert!(depfiles
            .prerequisites(a.to_str().unwrap())
            .unwrap()
            .is_none());
        depfiles.save();
        let kept = read(&dir.path().join("cache").join("depfiles"));
        assert_eq!(kept.entries.len(), 1);
        assert_eq!(kept.paths, ["b.c", "shared.h"]);
    }

    #[test]
    fn depfiles_of_another_format_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("depfiles");
        fs::write(&file, b"not postcard").unwrap();
        assert!(read(&file).entries.is_empty());
    }
}
