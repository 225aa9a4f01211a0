//! File-system questions the evaluator asks often: globs and modification times.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::cache::RACY;

use glob::{MatchOptions, Pattern, PatternError};

/// As a shell expands them: `*` does not match a leading dot, and case matters.
const OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: true,
};

/// The paths matching `pattern`, in no particular order (sorting ten thousand names costs more
/// than finding them; callers that need an order sort); an unreadable entry is skipped, as a
/// shell skips it.
///
/// Nearly every pattern in a Goalfile is a literal directory and a wildcard file name
/// (`src/*.c`). Those read their directory once and match names with the `glob` crate's own
/// matcher, which is several times cheaper than its general walker on a directory of ten
/// thousand files; every other pattern goes to that walker.
pub fn glob(pattern: &str) -> Result<Vec<String>, PatternError> {
    Ok(match one_directory(pattern) {
        Some((dir, name)) => in_one_directory(dir, &Pattern::new(name)?),
        None => glob::glob_with(pattern, OPTIONS)?
            .filter_map(|path| Some(path.ok()?.to_string_lossy().into_owned()))
            .collect(),
    })
}

/// A pattern's directory and name pattern, when the directory is literal (`src` and `*.c` of
/// `src/*.c`; an empty directory is the working one).
pub fn one_directory(pattern: &str) -> Option<(&str, &str)> {
    let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    (is_literal(dir) && !name.is_empty()).then_some((dir, name))
}

fn is_literal(text: &str) -> bool {
    !text.contains(['*', '?', '['])
}

pub fn in_one_directory(dir: &str, name: &Pattern) -> Vec<String> {
    let Ok(entries) = fs::read_dir(if dir.is_empty() { "." } else { dir }) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let file_name = entry.ok()?.file_name();
            let file_name = file_name.to_str()?;
            if !name.matches_with(file_name, OPTIONS) {
                return None;
            }
            // Not format!: at ~650 instructions a call, it was 8% of a no-op run's
            // instructions at 10,000 sources (two listings of 10,000 names).
            let mut path = String::with_capacity(dir.len() + 1 + file_name.len());
            if !dir.is_empty() {
                path.push_str(dir);
                path.push('/');
            }
            path.push_str(file_name);
            Some(path)
        })
        .collect()
}

/// What tells that a directory's entries, or a file's content, are as they were (depfiles are
/// kept by the same stamp: writing a file sets its mtime and ctime too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Stamp {
    device: u64,
    inode: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

impl Stamp {
    /// The stamp of `directory` (the working one when empty).
    pub(super) fn of(directory: &str) -> Option<Stamp> {
        let meta = fs::metadata(if directory.is_empty() { "." } else { directory }).ok()?;
        Some(Stamp::from(&meta))
    }

    pub(super) fn from(meta: &fs::Metadata) -> Stamp {
        Stamp {
            device: meta.dev(),
            inode: meta.ino(),
            modified: (meta.mtime(), meta.mtime_nsec()),
            changed: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Whether the last change was already [`RACY`] old at `time`.
    pub(super) fn settled(&self, time: SystemTime) -> bool {
        let Ok(now) = time.duration_since(SystemTime::UNIX_EPOCH) else {
            return false;
        };
        let latest = self.modified.0.max(self.changed.0);
        // Whole seconds, rounded up: a change at 12.9 s is not settled at 14.0 s.
        latest.saturating_add(1 + RACY.as_secs() as i64) <= now.as_secs() as i64
    }

    /// The modification time; `None` when a `SystemTime` cannot hold it.
    pub(super) fn modified(&self) -> Option<SystemTime> {
        let (seconds, nanoseconds) = self.modified;
        let whole = Duration::from_secs(seconds.unsigned_abs());
        let second = if seconds >= 0 {
            UNIX_EPOCH.checked_add(whole)
        } else {
            UNIX_EPOCH.checked_sub(whole)
        }?;
        // The nanoseconds count forward from the second, before 1970 too.
        second.checked_add(Duration::from_nanos(nanoseconds as u64))
    }
}

/// What one `stat` says of a path.
#[derive(Debug, Clone, Copy)]
pub(super) struct Status {
    pub(super) stamp: Stamp,
    /// A regular file, or a link to one.
    pub(super) is_file: bool,
}

/// What `stat` says of `path`.
///
/// With `stat`, not std's `statx` asking for every field: a no-op run is a `stat` per target and
/// source, and on ext4 `statx` cost ~0.05–0.1 µs more a call (~1 ms of a 10,000-source no-op).
pub(super) fn status(path: &str) -> Result<Status, Errno> {
    let stat = nix::sys::stat::stat(path)?;
    Ok(Status {
        stamp: Stamp {
            device: stat.st_dev,
            inode: stat.st_ino,
            modified: (stat.st_mtime, stat.st_mtime_nsec),
            changed: (stat.st_ctime, stat.st_ctime_nsec),
        },
        is_file: stat.st_mode & libc::S_IFMT == libc::S_IFREG,
    })
}

/// A file's modification time, `None` when it does not exist.
pub fn modified(path: &str) -> Option<SystemTime> {
    status(path).ok()?.stamp.modified()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(seconds: i64) -> Stamp {
        Stamp {
            device: 1,
            inode: 2,
            modified: (seconds, 500_000_000),
            changed: (seconds - 10, 0),
        }
    }

    #[test]
    fn a_directory_changed_within_racy_seconds_is_not_settled() {
        let at = |seconds: u64| SystemTime::UNIX_EPOCH + Duration::from_millis(seconds * 1000);
        assert!(!stamp(100).settled(at(100)));
        assert!(!stamp(100).settled(at(102)));
        assert!(stamp(100).settled(at(103)));
        let mut changed_later = stamp(100);
        changed_later.changed = (104, 0);
        assert!(!changed_later.settled(at(106)));
        assert!(changed_later.settled(at(107)));
    }

    #[test]
    fn modified_agrees_with_std() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        let file = fs::File::create(&path).unwrap();
        let path = path.to_str().unwrap();
        for time in [
            SystemTime::now(),
            UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789),
            UNIX_EPOCH - Duration::new(315_537_897, 999_999_999),
        ] {
            file.set_modified(time).unwrap();
            assert_eq!(modified(path), Some(time));
            assert_eq!(modified(path), fs::metadata(path).unwrap().modified().ok());
        }
        assert_eq!(modified(&format!("{path}-missing")), None);
    }

    #[test]
    fn both_paths_agree_with_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "a.c",
            "b.c",
            ".hidden.c",
            "c.h",
            "sub/d.c",
            "sub/deeper/e.c",
        ] {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "").unwrap();
        }
        let root = dir.path().to_str().unwrap();
        let strip = |paths: Vec<String>| -> Vec<String> {
            let mut paths: Vec<String> = paths
                .into_iter()
                .map(|p| p[root.len() + 1..].to_string())
                .collect();
            paths.sort();
            paths
        };
        assert_eq!(strip(glob(&format!("{root}/*.c")).unwrap()), ["a.c", "b.c"]);
        assert_eq!(strip(glob(&format!("{root}/*/*.c")).unwrap()), ["sub/d.c"]);
        assert_eq!(
            strip(glob(&format!("{root}/**/*.c")).unwrap()),
            ["a.c", "b.c", "sub/d.c", "sub/deeper/e.c"]
        );
        assert!(glob(&format!("{root}/missing/*.c")).unwrap().is_empty());
        assert!(glob("[").is_err());
    }
}
