//! The state of a run that its branches share, and the locking rules around it.

use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use regex::Regex;
use rustc_hash::FxHashMap as HashMap;

use super::mtimes::Changes;
use super::scope::Globals;
use super::{Depfiles, Instance, Listings, Outcome};
use crate::diagnostic::Problem;
use crate::logs::Logs;
use crate::report::Reporter;
use crate::shell::JobSlots;

/// What every branch of a run shares: the instances met so far, the globals, the reporter.
/// Each branch (an [`Evaluator`]) has its own stack; `-j` runs branches on threads of their own.
pub(super) struct Shared<'g> {
    pub(super) goals: HashMap<&'g str, usize>,
    pub(super) predicates: HashMap<&'g str, usize>,
    pub(super) table: Mutex<Table>,
    /// Signalled whenever an instance gets its outcome, for branches waiting on it.
    pub(super) settled: Condvar,
    pub(super) globals: Mutex<Globals<'g>>,
    /// Compiled once per distinct pattern: compiling costs ~100 µs.
    pub(super) regexes: Mutex<HashMap<&'g str, Regex>>,
    /// The environment commands need to reach the Memory, once served: only when a command is
    /// first run.
    pub(super) memory_env: Mutex<Option<Vec<(&'static str, String)>>>,
    pub(super) reporter: Mutex<Reporter>,
    /// Keep-going: the failures so far, reported together at the end.
    pub(super) failures: Mutex<Vec<Problem>>,
    /// Without keep-going, a failure in one branch stops the others.
    pub(super) stopped: AtomicBool,
    /// What each command run so far may have changed, for the modification times each branch
    /// keeps.
    pub(super) changes: Changes,
    pub(super) next_branch: AtomicUsize,
    /// How many more threads branches may start: with the main one, `-j` threads reach
    /// instances, whatever the nesting of groups reached side by side, as at most that many
    /// recipes run at once anyway.
    pub(super) spare_threads: AtomicUsize,
    /// A `set` statement changed a persistent variable: `when` jobs must look again.
    pub(super) variables_set: AtomicBool,
    /// Added to every command's environment: a job's name and serial.
    pub(super) environment: Vec<(&'static str, String)>,
    pub(super) jobs: JobSlots,
    /// Where recipe runs are recorded: one numbering for the whole run, whichever branch.
    pub(super) logs: Mutex<Option<Logs>>,
    /// Directory listings kept between runs, when the run keeps them.
    pub(super) listings: Mutex<Option<Listings>>,
    /// Under `--force`, the instances named on the command line.
    pub(super) forced: Mutex<Vec<Instance>>,
    /// What depfiles said, kept between runs when the run keeps them.
    pub(super) depfiles: Mutex<Depfiles>,
    /// The reporter keeps a dry run's answer whole (JSON, a graph): it is told of every
    /// instance and requirement. Read once, so the hot path asks no lock.
    pub(super) recording: bool,
}

/// Every instance met in this invocation, by id: each is stored once, and stacks and outcomes
/// refer to it by id.
#[derive(Default)]
pub(super) struct Table {
    pub(super) instances: Vec<Arc<Instance>>,
    pub(super) ids: HashMap<Arc<Instance>, usize>,
    /// By id; `None` while the instance is being reached.
    pub(super) outcomes: Vec<Option<Outcome>>,
    /// By id: the branch reaching it.
    pub(super) owners: Vec<usize>,
    /// Branch → the instance it waits for, to find cycles that cross branches.
    pub(super) waiting: HashMap<usize, usize>,
}

impl Table {
    /// Room for an instance of each goal: a run over a chain of goals reaches every one, and
    /// growing the table step by step copies it each time.
    pub(super) fn with_capacity(goals: usize) -> Table {
        Table {
            instances: Vec::with_capacity(goals),
            ids: HashMap::with_capacity_and_hasher(goals, Default::default()),
            outcomes: Vec::with_capacity(goals),
            owners: Vec::with_capacity(goals),
            waiting: HashMap::default(),
        }
    }
}

/// A panic in one branch must not poison the run for the others: what the locks guard is never
/// left half-changed.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether branch `me` waiting for instance `id` would wait forever: the branch reaching `id`
/// waits, directly or through others, for an instance `me` is reaching.
pub(super) fn waits_for(table: &Table, id: usize, me: usize) -> bool {
    let mut owner = table.owners[id];
    for _ in 0..=table.waiting.len() {
        if owner == me {
            return true;
        }
        match table.waiting.get(&owner) {
            Some(&next) => owner = table.owners[next],
            None => return false,
        }
    }
    false
}
