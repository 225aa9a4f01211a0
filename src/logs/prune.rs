//! Keeping the logs bounded: when an invocation starts writing, the oldest invocations beyond
//! [`LIMITS`] are removed, whole.

use std::fs;
use std::path::Path;

use super::index;

#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Invocations kept, the one starting included.
    pub(super) invocations: usize,
    /// Bytes kept, over all the invocations kept.
    pub(super) bytes: u64,
}

/// Enough to look back over a day of work, small enough never to fill a disk.
pub(super) const LIMITS: Limits = Limits {
    invocations: 50,
    bytes: 100 << 20,
};

/// Removes the invocations under `logs_dir` beyond `limits`, oldest first, except those still
/// running. Best effort: a log that cannot be removed is left for the next run to try again.
pub(super) fn prune(logs_dir: &Path, limits: Limits) {
    let invocations = match index::invocations(logs_dir) {
        Ok(invocations) => invocations,
        Err(error) => {
            tracing::warn!("cannot prune the logs in {}: {error}", logs_dir.display());
            return;
        }
    };
    let mut kept = 0;
    let mut bytes = 0;
    let mut full = false;
    for dir in invocations {
        let size = size(&dir);
        full = full || kept == limits.invocations || bytes + size > limits.bytes;
        if !full {
            kept += 1;
            bytes += size;
        } else if !index::writing(&dir) {
            if let Err(error) = fs::remove_dir_all(&dir) {
                tracing::warn!("cannot remove the old logs {}: {error}", dir.display());
            }
        }
    }
}

/// The bytes of the files in `dir`.
fn size(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.metadata().ok())
        .map(|metadata| metadata.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::fs::File;

    /// Invocation directories named for seconds 10, 11, … with one log of `size` bytes each.
    fn invocations(logs_dir: &Path, sizes: &[usize]) {
        for (second, size) in sizes.iter().enumerate() {
            let dir = logs_dir.join(format!("20261123T1031{}.000Z-7", second + 10));
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join(index::INDEX), "").unwrap();
            fs::write(dir.join("001-a.log"), vec![b'x'; *size]).unwrap();
        }
    }

    fn left(logs_dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(logs_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn keeps_the_newest_invocations() {
        let logs = tempfile::tempdir().unwrap();
        invocations(logs.path(), &[1, 1, 1, 1, 1]);
        fs::create_dir(logs.path().join("mine")).unwrap();
        prune(
            logs.path(),
            Limits {
                invocations: 2,
                bytes: u64::MAX,
            },
        );
        assert_eq!(
            left(logs.path()),
            ["20261123T103113.000Z-7", "20261123T103114.000Z-7", "mine"]
        );
    }

    #[test]
    fn keeps_the_newest_bytes_and_nothing_older_than_the_first_too_many() {
        let logs = tempfile::tempdir().unwrap();
        invocations(logs.path(), &[10, 1, 100, 10, 10]);
        prune(
            logs.path(),
            Limits {
                invocations: 50,
                bytes: 30,
            },
        );
        assert_eq!(
            left(logs.path()),
            ["20261123T103113.000Z-7", "20261123T103114.000Z-7"]
        );
    }

    #[test]
    fn keeps_an_invocation_that_is_still_writing() {
        let logs = tempfile::tempdir().unwrap();
        invocations(logs.path(), &[1, 1, 1]);
        let oldest = logs.path().join("20261123T103110.000Z-7");
        let index = File::open(oldest.join(index::INDEX)).unwrap();
        index.lock().unwrap();
        prune(
            logs.path(),
            Limits {
                invocations: 1,
                bytes: u64::MAX,
            },
        );
        assert_eq!(
            left(logs.path()),
            ["20261123T103110.000Z-7", "20261123T103112.000Z-7"]
        );
    }
}
