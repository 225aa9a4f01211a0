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
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use compact_str::CompactString;
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};

use nix::errno::Errno;

use super::files::{self, Stamp, Status};
use crate::cache;

/// Bump when what is kept changes.
const FORMAT: &str = "goal depfiles 2";

/// What one depfile said, as it was.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    stamp: Stamp,
    /// Where its prerequisites are in [`Kept::prerequisites`].
    start: u32,
    len: u32,
}

/// The depfiles kept, their prerequisites interned. Read on every no-op, so made of few
/// allocations: inline strings, and every depfile's prerequisites in one list.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Kept {
    paths: Vec<CompactString>,
    /// Indices into `paths`, a depfile's after another's.
    prerequisites: Indices,
    entries: HashMap<CompactString, Entry>,
    /// Where each path is in `paths`; built at the first lookup of a run.
    #[serde(skip)]
    index: HashMap<CompactString, u32>,
}

/// Numbers kept as little-endian bytes: read back in one copy, where a list is read one
/// number at a time, and there are some twenty for each object of a build.
#[derive(Debug, Default)]
struct Indices(Vec<u32>);

impl Serialize for Indices {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = self.0.iter().flat_map(|i| i.to_le_bytes()).collect();
        serializer.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for Indices {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = <&[u8]>::deserialize(deserializer)?;
        let numbers = bytes.chunks_exact(4);
        if !numbers.remainder().is_empty() {
            return Err(serde::de::Error::custom("a number cut short"));
        }
        Ok(Indices(
            numbers
                .map(|n| u32::from_le_bytes(n.try_into().expect("four bytes")))
                .collect(),
        ))
    }
}

impl Kept {
    /// Where each path is in `paths`, built at the first lookup of a run.
    fn index(&mut self) -> &mut HashMap<CompactString, u32> {
        if self.index.len() != self.paths.len() {
            self.index = (0..)
                .zip(&self.paths)
                .map(|(i, p)| (p.clone(), i))
                .collect();
        }
        &mut self.index
    }

    fn intern(&mut self, path: &str) -> u32 {
        if let Some(&index) = self.index().get(path) {
            return index;
        }
        let index = self.paths.len() as u32;
        self.paths.push(path.into());
        self.index.insert(path.into(), index);
        index
    }

    /// Keeps what `depfile` said: `paths`, by their index in `paths`.
    fn insert(&mut self, depfile: &str, stamp: Stamp, paths: impl IntoIterator<Item = u32>) {
        let start = self.prerequisites.0.len();
        self.prerequisites.0.extend(paths);
        let entry = Entry {
            stamp,
            start: start as u32,
            len: (self.prerequisites.0.len() - start) as u32,
        };
        self.entries.insert(depfile.into(), entry);
    }

    /// Whether every entry's prerequisites are in the list, and every index in the list names
    /// a path.
    fn is_whole(&self) -> bool {
        let (list, paths) = (&self.prerequisites.0, self.paths.len());
        self.entries.values().all(|entry| {
            (entry.start as usize)
                .checked_add(entry.len as usize)
                .is_some_and(|end| end <= list.len())
        }) && list.iter().all(|&index| (index as usize) < paths)
    }

    fn prerequisites(&self, entry: &Entry) -> &[u32] {
        let start = entry.start as usize;
        &self.prerequisites.0[start..start + entry.len as usize]
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

    /// Adds the prerequisites `depfile` names to `out`, each once, as indices for [`Depfiles::path`]:
    /// a no-op looks up thousands of headers, and an index is cheaper to copy and to look up
    /// than a path. False when the depfile does not exist.
    /// `status` is what `stat` said of the depfile when the run read it ahead, else it is read
    /// here.
    pub(super) fn prerequisites(
        &mut self,
        depfile: &str,
        status: Option<Result<Status, Errno>>,
        out: &mut Vec<u32>,
    ) -> Result<bool, Unreadable> {
        let stamp = match status.unwrap_or_else(|| files::status(depfile)) {
            Ok(status) if status.is_file => status.stamp,
            Ok(_) => return Err(Unreadable("it is not a file".to_string())),
            Err(Errno::ENOENT) => {
                self.forget(depfile);
                return Ok(false);
            }
            Err(errno) => return Err(Unreadable(std::io::Error::from(errno).to_string())),
        };
        let keeps = self.file.is_some();
        let kept = self.kept();
        if let Some(entry) = kept.entries.get(depfile) {
            if entry.stamp == stamp {
                tracing::debug!(depfile, "depfile reused");
                out.extend_from_slice(kept.prerequisites(entry));
                return Ok(true);
            }
            kept.entries.remove(depfile);
            self.changed = true;
        }
        let text = fs::read(depfile).map_err(|error| Unreadable(error.to_string()))?;
        let text =
            String::from_utf8(text).map_err(|_| Unreadable("it is not UTF-8 text".to_string()))?;
        let prerequisites =
            parse::prerequisites(&text).map_err(|corrupt| Unreadable(corrupt.to_string()))?;
        // Interned even when not kept: the run refers to its paths by index all the same.
        let kept = self.kept();
        let indices: Vec<u32> = prerequisites.iter().map(|path| kept.intern(path)).collect();
        out.extend_from_slice(&indices);
        if keeps && stamp.settled(SystemTime::now()) {
            kept.insert(depfile, stamp, indices);
            self.changed = true;
        }
        Ok(true)
    }

    /// The path of a prerequisite [`Depfiles::prerequisites`] gave.
    pub fn path(&self, index: u32) -> &str {
        let kept = self.kept.as_ref().expect("an index was given out");
        &kept.paths[index as usize]
    }

    /// The index of `path` if some depfile read in this run, or kept, names it.
    pub fn index_of(&mut self, path: &str) -> Option<u32> {
        self.kept.as_mut()?.index().get(path).copied()
    }

    /// What is kept, read at the first use.
    fn kept(&mut self) -> &mut Kept {
        let file = &self.file;
        self.kept
            .get_or_insert_with(|| file.as_deref().map(read).unwrap_or_default())
    }

    /// Drops what a depfile that is gone said, so the cache does not keep it forever.
    fn forget(&mut self, depfile: &str) {
        if self.kept().entries.remove(depfile).is_some() {
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
            let paths: Vec<u32> = kept
                .prerequisites(entry)
                .iter()
                .map(|&i| compact.intern(&kept.paths[i as usize]))
                .collect();
            compact.insert(depfile, entry.stamp, paths);
        }
        let written = postcard::to_stdvec(&(FORMAT, &compact))
            .map_err(std::io::Error::other)
            .and_then(|bytes| cache::replace(file, &bytes));
        if let Err(error) = written {
            tracing::debug!(file = %file.display(), %error, "depfiles not written");
        }
    }
}

/// The kept depfiles; none when the file is missing, unreadable, of another format, or damaged
/// (an index out of its list, which would otherwise stop the run).
fn read(file: &Path) -> Kept {
    let Ok(bytes) = fs::read(file) else {
        return Kept::default();
    };
    match postcard::from_bytes::<(&str, Kept)>(&bytes) {
        Ok((FORMAT, kept)) if kept.is_whole() => kept,
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

    /// What `depfile` names, as paths; `None` when it does not exist.
    fn names(depfiles: &mut Depfiles, depfile: &str) -> Result<Option<Vec<String>>, Unreadable> {
        let mut indices = Vec::new();
        if !depfiles.prerequisites(depfile, None, &mut indices)? {
            return Ok(None);
        }
        Ok(Some(
            indices
                .iter()
                .map(|&i| depfiles.path(i).to_string())
                .collect(),
        ))
    }

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
            names(&mut depfiles, depfile).unwrap(),
            Some(vec!["a.c".to_string(), "a.h".to_string()])
        );
        depfiles.save();

        // A second run reads it from the cache: shown by a cache that says otherwise.
        let mut depfiles = Depfiles::new(dir.path());
        let mut kept = read(&dir.path().join("cache").join("depfiles"));
        kept.paths[1] = "kept.h".into();
        let bytes = postcard::to_stdvec(&(FORMAT, &kept)).unwrap();
        fs::write(dir.path().join("cache").join("depfiles"), bytes).unwrap();
        assert_eq!(
            names(&mut depfiles, depfile).unwrap(),
            Some(vec!["a.c".to_string(), "kept.h".to_string()])
        );

        // Rewritten, it is read again.
        fs::write(depfile, "a.o: a.c b.h\n").unwrap();
        assert_eq!(
            names(&mut depfiles, depfile).unwrap(),
            Some(vec!["a.c".to_string(), "b.h".to_string()])
        );
    }

    #[test]
    fn a_missing_depfile_is_none_and_a_corrupt_one_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let mut depfiles = Depfiles::unkept();
        let missing = dir.path().join("missing.d");
        assert!(names(&mut depfiles, missing.to_str().unwrap())
            .unwrap()
            .is_none());
        let corrupt = dir.path().join("corrupt.d");
        fs::write(&corrupt, "no colon here\n").unwrap();
        let Unreadable(why) = names(&mut depfiles, corrupt.to_str().unwrap()).unwrap_err();
        assert_eq!(why, "line 1 has no `:` after its targets");
        let Unreadable(why) = names(&mut depfiles, dir.path().to_str().unwrap()).unwrap_err();
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
            names(&mut depfiles, depfile.to_str().unwrap()).unwrap();
        }
        depfiles.save();
        fs::remove_file(&a).unwrap();
        let mut depfiles = Depfiles::new(dir.path());
        assert!(names(&mut depfiles, a.to_str().unwrap()).unwrap().is_none());
        depfiles.save();
        let kept = read(&dir.path().join("cache").join("depfiles"));
        assert_eq!(kept.entries.len(), 1);
        assert_eq!(kept.paths, ["b.c", "shared.h"]);
    }

    #[test]
    fn kept_depfiles_with_an_index_out_of_their_lists_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("depfiles");
        let stamp = Stamp::from(&fs::metadata(dir.path()).unwrap());
        let mut kept = Kept::default();
        let index = kept.intern("a.h");
        kept.insert("a.d", stamp, [index]);
        let write = |kept: &Kept| {
            fs::write(&file, postcard::to_stdvec(&(FORMAT, kept)).unwrap()).unwrap();
        };
        write(&kept);
        assert_eq!(read(&file).entries.len(), 1);
        kept.prerequisites.0[0] = 7;
        write(&kept);
        assert!(read(&file).entries.is_empty());
        kept.prerequisites.0[0] = 0;
        kept.entries.get_mut("a.d").unwrap().len = 2;
        write(&kept);
        assert!(read(&file).entries.is_empty());
    }

    #[test]
    fn depfiles_of_another_format_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("depfiles");
        fs::write(&file, b"not postcard").unwrap();
        assert!(read(&file).entries.is_empty());
    }
}
