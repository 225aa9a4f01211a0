//! Modification times a run has read, kept across the commands it runs.
//!
//! A no-op run reads each file's mtime once. A rebuild runs commands between its reads, and a
//! command may change any file, so what was read before it cannot all be trusted after it. But
//! forgetting everything after each command made a touch-one rebuild of a large graph stat every
//! object again for the link's target and again for its promise. So each command says what it
//! may have changed ([`Touched`]), and each branch forgets only that:
//!
//! - A recipe of an instance whose target names files (`file-newer` targets and depfiles,
//!   `file-exists` paths) changes those, its declared outputs. Of the files some goal of the
//!   run declares as its outputs, it is assumed to change no other: as in make and ninja, two
//!   goals writing one file is a mistake of the Goalfile.
//! - Nor does it change a file a depfile names (a header the compiler read): a header made
//!   during the build is the output of a goal, declared (a first build, with no depfile yet,
//!   must make it before the compiles that include it), and read again when its own recipe
//!   runs. Re-reading the headers after each recipe instead cost a `stat` per header each
//!   object checked between two recipes includes: touching a header included by a fiftieth
//!   of 10,000 objects made 230,000 `stat`s where ninja makes 35,000.
//! - Every other file (a source no goal produces and no depfile names, an input a recipe
//!   touches on the side) may have been changed by it, and is read again: a `stat` per such
//!   source of the checks still to come, as each is most often read by one check only.
//! - Any other command (a recipe of an instance that names no files, a hook's or a plan's
//!   recipe, an `sh` or `output` predicate, `let output=`, `for output=`, a `let` global) may
//!   have changed anything: everything is read again.
//!
//! A path is kept under the spelling it was read by; a goal that names another's output by
//! another spelling (`./a.o` for `a.o`) reads it as a source, so again after every command.
//!
//! A depfile's prerequisites are also kept by their index in the run's [`Depfiles`]: a no-op
//! looks up some twenty headers for each object, and looking them up by path (hashing and
//! comparing each) was most of what depfiles added to a no-op besides their `stat`s.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use compact_str::CompactString;
use rustc_hash::FxHashMap as HashMap;

use nix::errno::Errno;

use super::depfiles::Depfiles;
use super::files::{self, Status};
use super::prefetch::Prefetch;
use super::shared::lock;

/// What one command may have changed.
#[derive(Debug, Clone)]
pub(super) enum Touched {
    /// Any file.
    Anything,
    /// These declared outputs, and any file no goal declares as its output.
    Outputs(Arc<[CompactString]>),
}

/// What one command may have changed, as the run's log keeps it.
#[derive(Debug)]
enum Change {
    Anything,
    Outputs {
        paths: Arc<[CompactString]>,
        /// The indices of those paths some depfile names.
        prerequisites: Box<[u32]>,
    },
}

/// Every change of a run, in the order the commands ended: each branch catches up with it
/// before it trusts what it read.
#[derive(Debug, Default)]
pub(super) struct Changes {
    log: Mutex<Vec<Change>>,
    /// The log's length, read without its lock on every lookup.
    count: AtomicUsize,
}

impl Changes {
    /// Records that a command ended having touched `touched`. Its outputs are looked up in
    /// `depfiles` now, after it ended: a branch that gave a path its index before then read it
    /// before then too, and one that gives it later reads it afresh.
    pub(super) fn record(&self, touched: Touched, depfiles: &Mutex<Depfiles>) {
        let change = match touched {
            Touched::Anything => Change::Anything,
            Touched::Outputs(paths) => {
                let mut depfiles = lock(depfiles);
                let prerequisites = paths
                    .iter()
                    .filter_map(|path| depfiles.index_of(path))
                    .collect();
                Change::Outputs {
                    paths,
                    prerequisites,
                }
            }
        };
        let mut log = lock(&self.log);
        log.push(change);
        self.count.store(log.len(), Ordering::SeqCst);
    }

    pub(super) fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

/// How a path is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// A target of the instance checking it: an output of the run.
    Output,
    /// A prerequisite a depfile names: kept as an output is.
    Prerequisite,
    /// Anything else.
    Source,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    time: Option<SystemTime>,
    /// An output or a depfile's prerequisite: good until a command that may change anything,
    /// or one that declares it as its output.
    kept: bool,
    /// The commands run when it was read (wrapping: a run of four billion commands may take a
    /// source read four billion commands ago for fresh): a source is good only until the next
    /// command. 32 bits keep an entry, with its key, in 48 bytes: the map holds a no-op's every
    /// file, and its size is felt.
    generation: u32,
}

/// One branch's modification times (see the module's doc).
#[derive(Debug, Default)]
pub(super) struct Mtimes {
    /// Inline strings: most paths are short, and a no-op run inserts one per file it looks at.
    entries: HashMap<CompactString, Entry>,
    /// What `entries` holds of depfiles' prerequisites, by their index in the run's depfiles:
    /// `None` when not read, else their modification time (`None` when they do not exist).
    prerequisites: Vec<Option<Option<SystemTime>>>,
    /// The times read ahead, in the first branch only.
    pub(super) prefetch: Option<Prefetch>,
    /// How much of the run's [`Changes`] is applied to `entries`.
    seen: usize,
}

impl Mtimes {
    /// Empty, and up to date with `changes` as they stand.
    pub(super) fn new(capacity: usize, changes: &Changes) -> Mtimes {
        Mtimes {
            entries: HashMap::with_capacity_and_hasher(capacity, Default::default()),
            prerequisites: Vec::new(),
            prefetch: None,
            seen: changes.count(),
        }
    }

    /// The modification time of the prerequisite with index `index` in the run's depfiles, as
    /// kept; `None` when not read since it can have changed: then it is read by path, with
    /// [`Mtimes::modified`], and kept with [`Mtimes::keep_prerequisite`].
    pub(super) fn prerequisite(
        &mut self,
        changes: &Changes,
        index: u32,
    ) -> Option<Option<SystemTime>> {
        let count = changes.count();
        if count != self.seen {
            self.catch_up(changes, count);
        }
        self.prerequisites.get(index as usize).copied().flatten()
    }

    pub(super) fn keep_prerequisite(&mut self, index: u32, time: Option<SystemTime>) {
        let index = index as usize;
        if index >= self.prerequisites.len() {
            self.prerequisites.resize(index + 1, None);
        }
        self.prerequisites[index] = Some(time);
    }

    /// `path`'s modification time, `None` when it does not exist: as read before when nothing
    /// since can have changed it.
    pub(super) fn modified(
        &mut self,
        changes: &Changes,
        path: &str,
        role: Role,
    ) -> Option<SystemTime> {
        let count = changes.count();
        if count != self.seen {
            self.catch_up(changes, count);
        }
        let generation = self.seen as u32;
        if let Some(entry) = self.entries.get_mut(path) {
            if entry.kept || entry.generation == generation {
                entry.kept |= role != Role::Source;
                return entry.time;
            }
        }
        let time = match self.read_ahead(changes, path) {
            Some(status) => status.ok().and_then(|status| status.stamp.modified()),
            None => files::modified(path),
        };
        let entry = Entry {
            time,
            kept: role != Role::Source,
            generation,
        };
        self.entries.insert(path.into(), entry);
        time
    }

    /// What `stat` said of `path`, read ahead (see [`super::prefetch`]), when the first branch
    /// has it and no command has run.
    pub(super) fn read_ahead(
        &mut self,
        changes: &Changes,
        path: &str,
    ) -> Option<Result<Status, Errno>> {
        let count = changes.count();
        if count != self.seen {
            self.catch_up(changes, count);
        }
        match &mut self.prefetch {
            Some(prefetch) if self.seen == 0 => prefetch.take(path),
            _ => None,
        }
    }

    /// Applies the changes recorded after `self.seen`, up to `count`. Sources need nothing:
    /// their generation is older than any change now.
    fn catch_up(&mut self, changes: &Changes, count: usize) {
        if let Some(prefetch) = &self.prefetch {
            prefetch.halt();
        }
        let log = lock(&changes.log);
        for change in &log[self.seen..count] {
            match change {
                Change::Anything => {
                    self.entries.clear();
                    self.prerequisites.clear();
                }
                Change::Outputs {
                    paths,
                    prerequisites,
                } => {
                    for path in paths.iter() {
                        self.entries.remove(path.as_str());
                    }
                    for &index in prerequisites.iter() {
                        if let Some(time) = self.prerequisites.get_mut(index as usize) {
                            *time = None;
                        }
                    }
                }
            }
        }
        self.seen = count;
    }

    /// Takes over what a branch forked from this one read: it is as recent as this one's, or
    /// more.
    pub(super) fn absorb(&mut self, changes: &Changes, branch: Mtimes) {
        if branch.seen > self.seen {
            self.catch_up(changes, branch.seen);
        }
        if branch.seen == self.seen {
            self.entries.extend(branch.entries);
            if self.prerequisites.len() < branch.prerequisites.len() {
                self.prerequisites.resize(branch.prerequisites.len(), None);
            }
            for (mine, theirs) in self.prerequisites.iter_mut().zip(branch.prerequisites) {
                if theirs.is_some() {
                    *mine = theirs;
                }
            }
        }
    }
}
