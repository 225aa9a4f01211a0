//! The files the last run looked at, `stat`ed ahead on a second core.
//!
//! A no-op run is a `stat` per target and source, one after another: at 10,000 sources half its
//! time was in the kernel, waiting for them. A run that runs no command keeps, in
//! `.goal/cache/stats-HASH` (one list for each set of goals asked for: `goal all`, `goal test`
//! and each job read different files), the paths it read in the order it first read them; the
//! next run hands that list to a thread that `stat`s them ahead of the evaluator, which takes
//! each answer in turn instead of asking the kernel itself. An answer counts only while the run has run no
//! command: what a command may change is read again, as [`super::mtimes`] says. One that is not
//! there yet, or a path not next in the list, is read as before: the list is only a guess of
//! what comes next.
//!
//! Only at `-j1`, where the evaluator is the only thread that runs commands, so that no command
//! can end between its check that none has run and its use of an answer. With `-j2` and more,
//! the branches already spread their `stat`s over the cores.

use compact_str::CompactString;
use nix::errno::Errno;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use super::files::{self, Status};
use crate::cache;

/// The paths of the last run, and what `stat` says of them as the thread reads them.
#[derive(Debug)]
struct Shared {
    paths: Vec<CompactString>,
    /// What `stat` said, as the thread reads them.
    statuses: Vec<OnceLock<Result<Status, Errno>>>,
    /// Where the evaluator is in `paths`: the thread skips what it has passed.
    taken: AtomicUsize,
    /// Set when a command has run, after which no answer counts: the thread stops.
    halted: AtomicBool,
}

/// The answers ahead of the evaluator, and the paths it reads, for the next run.
#[derive(Debug)]
pub(super) struct Prefetch {
    file: PathBuf,
    shared: Arc<Shared>,
    /// The next path the list expects.
    next: usize,
    /// The paths this run read first, in order, while it ran no command.
    read: Vec<CompactString>,
}

/// How far past a path the list expects the evaluator's path is looked for: a few files added or
/// removed since the last run.
const LOOKAHEAD: usize = 8;

/// A run that read fewer paths keeps no list: reading them ahead would save it little, and each
/// set of goals asked for (a campaign's `goal rebuilt pkg=…` for each package) would leave one.
const MIN_KEPT: usize = 64;

impl Prefetch {
    /// Starts reading what `stat` says of the paths the last run asked for `asked` read, kept
    /// in `state_dir`; on one core, or without a list, only records this run's.
    pub(super) fn start(state_dir: &Path, asked: &str) -> Prefetch {
        let hash = blake3::hash(asked.as_bytes());
        let file = state_dir
            .join("cache")
            .join(format!("stats-{}", &hash.to_hex()[..16]));
        let mut paths = read(&file);
        // Asked only with a list to read: it reads the cgroup's quota, a few files, on start-up.
        if !paths.is_empty()
            && !std::thread::available_parallelism().is_ok_and(|cores| cores.get() > 1)
        {
            paths.clear();
        }
        let shared = Arc::new(Shared {
            statuses: (0..paths.len()).map(|_| OnceLock::new()).collect(),
            paths,
            taken: AtomicUsize::new(0),
            halted: AtomicBool::new(false),
        });
        if !shared.paths.is_empty() {
            let ahead = shared.clone();
            let started = std::thread::Builder::new()
                .name("goal-stat-ahead".to_owned())
                .spawn(move || ahead.run());
            if let Err(error) = started {
                tracing::debug!(%error, "no thread to stat ahead");
            }
        }
        let read = Vec::with_capacity(shared.paths.len());
        Prefetch {
            file,
            shared,
            next: 0,
            read,
        }
    }

    /// What `stat` said of `path` as the thread read it, if it is one of the next paths of the
    /// list and the thread has read it; records `path` as read.
    pub(super) fn take(&mut self, path: &str) -> Option<Result<Status, Errno>> {
        self.read.push(path.into());
        let shared = &*self.shared;
        let end = shared.paths.len().min(self.next + LOOKAHEAD);
        let found = (self.next..end).find(|&i| shared.paths[i] == path)?;
        self.next = found + 1;
        shared.taken.store(self.next, Ordering::Relaxed);
        shared.statuses[found].get().copied()
    }

    /// Stops the thread: a command has run, and what it reads from now on would not count (a
    /// rebuild's recipes have the second core to themselves).
    pub(super) fn halt(&self) {
        self.shared.halted.store(true, Ordering::Relaxed);
    }

    /// Keeps the paths this run read for the next, when they differ from the last run's. A run
    /// that ran a command read only the paths before it this way: its list is kept only when
    /// there is none, lest it replace a whole one.
    pub(super) fn save(&self, ran_commands: bool) {
        if self.read.len() < MIN_KEPT
            || self.read == self.shared.paths
            || (ran_commands && !self.shared.paths.is_empty())
        {
            return;
        }
        let mut text = String::with_capacity(self.read.iter().map(|path| path.len() + 1).sum());
        for path in &self.read {
            text.push_str(path);
            text.push('\0');
        }
        if let Err(error) = cache::replace(&self.file, text.as_bytes()) {
            tracing::debug!(file = %self.file.display(), %error, "stat list not written");
        }
    }
}

impl Shared {
    /// Reads each time, from where the evaluator is when it is ahead.
    fn run(&self) {
        let mut i = 0;
        while i < self.paths.len() && !self.halted.load(Ordering::Relaxed) {
            i = i.max(self.taken.load(Ordering::Relaxed));
            let Some(path) = self.paths.get(i) else {
                break;
            };
            let _ = self.statuses[i].set(files::status(path));
            i += 1;
        }
    }
}

/// The paths in `file`, each ended by a NUL; none when it cannot be read.
fn read(file: &Path) -> Vec<CompactString> {
    let Ok(bytes) = std::fs::read(file) else {
        return Vec::new();
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Vec::new();
    };
    text.split_terminator('\0')
        .map(CompactString::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// Waits until the thread has read every path of the list.
    fn read_all(prefetch: &Prefetch) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while prefetch
            .shared
            .statuses
            .iter()
            .any(|status| status.get().is_none())
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the thread read nothing"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn a_run_reads_ahead_what_the_last_run_read_in_its_order() {
        if !std::thread::available_parallelism().is_ok_and(|cores| cores.get() > 1) {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, "").unwrap();
        let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());

        // No list yet: nothing is read ahead, and what is read is kept.
        let others: Vec<String> = (0..MIN_KEPT).map(|n| format!("other{n}")).collect();
        let mut first = Prefetch::start(dir.path(), "all");
        assert!(first.take(a).is_none());
        assert!(first.take(b).is_none());
        others
            .iter()
            .for_each(|other| assert!(first.take(other).is_none()));
        first.save(false);
        // Another set of goals has a list of its own.
        assert!(Prefetch::start(dir.path(), "test").shared.paths.is_empty());

        let mut second = Prefetch::start(dir.path(), "all");
        read_all(&second);
        let modified =
            |status: Option<Result<Status, Errno>>| status.map(|s| s.ok()?.stamp.modified());
        assert_eq!(modified(second.take(a)), Some(files::modified(a)));
        // A path the list does not expect is read as before, and the list goes on after it.
        assert!(second.take("elsewhere").is_none());
        assert_eq!(
            second.take(b).map(|status| status.err()),
            Some(Some(Errno::ENOENT))
        );
    }

    #[test]
    fn a_run_that_ran_commands_keeps_its_list_only_when_there_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let paths = |prefix: &str| -> Vec<String> {
            (0..MIN_KEPT).map(|n| format!("{prefix}{n}")).collect()
        };
        let kept = |prefetch: &Prefetch| read(&prefetch.file);
        let run = |prefix: &str, ran_commands: bool| {
            let mut prefetch = Prefetch::start(dir.path(), "all");
            for path in paths(prefix) {
                let _ = prefetch.take(&path);
            }
            prefetch.save(ran_commands);
            kept(&prefetch)
        };
        assert_eq!(run("partial", true), paths("partial"));
        assert_eq!(run("whole", false), paths("whole"));
        assert_eq!(run("partial", true), paths("whole"));

        // Too few paths to be worth a list.
        let mut small = Prefetch::start(dir.path(), "small");
        small.take("a");
        small.save(false);
        assert!(kept(&small).is_empty());
    }
}
