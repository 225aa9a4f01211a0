//! Directory listings remembered from one run to the next.
//!
//! A glob such as `src/*.c` lists its directory on every run. On ext4 listing a directory of
//! 10,000 files costs about 3 ms of kernel time (the htree hashes every name and sorts them in a
//! tree), and matching the names as much again: two such globs were a sixth of a no-op run over
//! 10,000 sources, more than the `stat` of every file they name. A directory's entries change
//! only when the directory's own mtime and ctime do (creating, removing or renaming an entry sets
//! both; neither can be set back without changing the ctime), so, as git's untracked cache does,
//! the paths a pattern matched are kept in `.goal/cache/listings` with the directory's device,
//! inode and times, and reused while those are unchanged.
//!
//! A directory changed less than [`RACY`](crate::cache::RACY) before it was listed is listed again next time: a
//! change in the same clock tick as the listing would leave its times as they were.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use glob::{Pattern, PatternError};
use serde::{Deserialize, Serialize};

use super::files::{self, Stamp};
use crate::cache;

/// Listings kept: the most recently made first.
const KEPT: usize = 256;

/// Bump when [`Listing`] changes.
const FORMAT: &str = "goal listings 2";

/// The paths a name pattern matched in one directory.
#[derive(Debug, Serialize, Deserialize)]
struct Listing {
    directory: String,
    pattern: String,
    stamp: Stamp,
    /// The paths, each ended by a NUL (which no path holds): one string to read back rather
    /// than one per path.
    paths: String,
}

impl Listing {
    fn paths(&self) -> Vec<String> {
        self.paths
            .split_terminator('\0')
            .map(str::to_string)
            .collect()
    }
}

/// The listings of a project, read at the first glob and written back at the end of the run
/// when a listing was made or dropped.
#[derive(Debug)]
pub struct Listings {
    file: PathBuf,
    kept: Option<VecDeque<Listing>>,
    changed: bool,
}

impl Listings {
    /// The listings kept in `state_dir`.
    pub fn new(state_dir: &Path) -> Listings {
        Listings {
            file: state_dir.join("cache").join("listings"),
            kept: None,
            changed: false,
        }
    }

    /// The paths matching `pattern`, as [`files::glob`] finds them, but from the kept listing
    /// when its directory is unchanged.
    pub fn glob(&mut self, pattern: &str) -> Result<Vec<String>, PatternError> {
        let Some((directory, name)) = files::one_directory(pattern) else {
            return files::glob(pattern);
        };
        let name_pattern = Pattern::new(name)?;
        let Some(stamp) = Stamp::of(directory) else {
            return Ok(Vec::new());
        };
        let kept = self.kept.get_or_insert_with(|| read(&self.file));
        let found = kept
            .iter()
            .position(|listing| listing.directory == directory && listing.pattern == name);
        if let Some(index) = found {
            if kept[index].stamp == stamp {
                // Left where it is: a run that only reuses listings writes nothing.
                tracing::debug!(directory, pattern = name, "directory listing reused");
                return Ok(kept[index].paths());
            }
            kept.remove(index);
            self.changed = true;
        }
        let mut paths = files::in_one_directory(directory, &name_pattern);
        if stamp.settled(SystemTime::now()) {
            // Kept sorted: `for` sorts what a glob gives, and sorting sorted paths is one pass
            // (sorting 10,000 in directory order was 6 % of a no-op's instructions).
            paths.sort_unstable();
            kept.push_front(Listing {
                directory: directory.to_string(),
                pattern: name.to_string(),
                stamp,
                paths: paths.iter().flat_map(|path| [path, "\0"]).collect(),
            });
            kept.truncate(KEPT);
            self.changed = true;
        }
        Ok(paths)
    }

    /// Writes the listings back if this run changed them. Failing is not an error: the next run
    /// lists the directories again.
    pub fn save(&self) {
        let Some(kept) = self.kept.as_ref().filter(|_| self.changed) else {
            return;
        };
        let written = postcard::to_stdvec(&(FORMAT, kept))
            .map_err(std::io::Error::other)
            .and_then(|bytes| cache::replace(&self.file, &bytes));
        if let Err(error) = written {
            tracing::debug!(file = %self.file.display(), %error, "listings not written");
        }
    }
}

/// The kept listings; none when the file is missing, unreadable or of another format.
fn read(file: &Path) -> VecDeque<Listing> {
    let Ok(bytes) = fs::read(file) else {
        return VecDeque::new();
    };
    match postcard::from_bytes::<(&str, VecDeque<Listing>)>(&bytes) {
        Ok((FORMAT, kept)) => kept,
        _ => {
            tracing::debug!(file = %file.display(), "listings of another format ignored");
            VecDeque::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_of_another_format_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("listings");
        fs::write(&file, b"not postcard at all").unwrap();
        assert!(read(&file).is_empty());
        let other: VecDeque<Listing> = VecDeque::new();
        fs::write(
            &file,
            postcard::to_stdvec(&("goal listings 0", other)).unwrap(),
        )
        .unwrap();
        assert!(read(&file).is_empty());
    }
}
