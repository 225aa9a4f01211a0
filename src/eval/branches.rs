//! `-j`: independent requirements reached side by side, each on a branch of its own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use super::mtimes::Mtimes;
use super::scope::Scope;
use super::shared::lock;
use super::{Body, Evaluator, Result};
use crate::diagnostic::Problem;
use crate::goalfile::Statement;

impl<'g> Evaluator<'g> {
    /// A new branch that goes on from where this one stands.
    pub(super) fn fork(&self) -> Evaluator<'g> {
        Evaluator {
            goalfile: self.goalfile,
            shared: self.shared.clone(),
            branch: self.shared.next_branch.fetch_add(1, Ordering::Relaxed),
            stack: self.stack.clone(),
            mtimes: Mtimes::new(0, &self.shared.changes),
            reached_unshown: 0,
            last_recipe: None,
            memory: self.memory.clone(),
            run_lock: self.run_lock,
            options: self.options,
            sources: None,
            last_run: self.last_run.clone(),
        }
    }

    /// Whether independent requirements are reached side by side: with `-j` above 1, but not
    /// in a dry run, whose report keeps the order of the Goalfile.
    pub(super) fn parallel(&self) -> bool {
        self.options.jobs > 1 && !self.options.dry_run
    }

    /// Whether independent requirements are reached side by side in `body`.
    pub(super) fn side_by_side(&self, body: &Body) -> bool {
        self.parallel() && body.blocked.is_none()
    }

    /// Consecutive `require` statements, reached by up to `jobs` branches at once. Out of
    /// line: inlined, its locals would grow the frame of `statements`, on the recursive path.
    #[inline(never)]
    pub(super) fn requires_side_by_side(
        &mut self,
        requires: &'g [Statement],
        scope: &Scope<'g>,
        body: &mut Body<'g>,
    ) -> Result<()> {
        self.check_stop()?;
        let mut wanted = Vec::with_capacity(requires.len());
        for statement in requires {
            if let Statement::Require(require) = statement {
                let required = self.required_instance(require, scope)?;
                wanted.push((std::sync::Arc::new(required), require.span));
            }
        }
        let outcomes = self
            .in_branches(wanted.len(), |branch, i| {
                let (instance, span) = &wanted[i];
                branch.reach(instance.clone(), Some(*span))
            })
            .inspect_err(|_| {
                self.note_failed_requirements(wanted.iter().map(|(instance, _)| &**instance), body)
            })?;
        for ((instance, _), outcome) in wanted.iter().zip(outcomes) {
            self.note_requirement(instance, outcome, body);
        }
        Ok(())
    }

    /// Runs `task` for 0..count on new branches: this thread takes them one at a time, and
    /// hands the rest to more threads while the run has spare ones. The first problem wins,
    /// preferring a real one to a branch that only stopped because of it.
    pub(super) fn in_branches<T: Send>(
        &mut self,
        count: usize,
        task: impl Fn(&mut Evaluator<'g>, usize) -> Result<T> + Sync,
    ) -> Result<Vec<T>> {
        let results: Vec<Mutex<Option<Result<T>>>> = (0..count).map(|_| Mutex::new(None)).collect();
        // Hosts sharing a Memory walk the same Goalfile: in the same order, they would all
        // want the same instance at once and wait in turn for its lock. Each takes the group
        // in an order of its own instead.
        let order = self.memory.is_shared().then(|| shuffled(count));
        let work = Work {
            next: AtomicUsize::new(0),
            order,
            results: &results,
            task: &task,
            spare_threads: &self.shared.spare_threads,
            finished: Mutex::new(Vec::new()),
        };
        let first = self.fork();
        std::thread::scope(|threads| work.run(threads, first));
        for branch in work
            .finished
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
        {
            self.absorb(branch);
        }
        let mut values = Vec::with_capacity(count);
        let mut problem: Option<Box<Problem>> = None;
        for slot in results {
            match slot.into_inner().unwrap_or_else(PoisonError::into_inner) {
                Some(Ok(value)) => values.push(value),
                Some(Err(error)) => {
                    if problem.as_ref().is_none_or(|p| p.code == STOPPED) {
                        problem = Some(error);
                    }
                }
                // A branch that panicked left its slot empty: that is a bug, but not a reason
                // to go on as if the work were done.
                None => problem = problem.or_else(|| Some(stopped().into())),
            }
        }
        match problem {
            Some(problem) => Err(problem),
            None => Ok(values),
        }
    }

    /// Takes over what a finished branch learnt: the modification times it saw (the link
    /// step after a loop of compiles would otherwise stat every object again).
    pub(super) fn absorb(&mut self, branch: Evaluator<'g>) {
        self.reached_unshown += branch.reached_unshown;
        self.mtimes.absorb(&self.shared.changes, branch.mtimes);
    }
}

/// A group of requirements reached side by side, shared by the threads that take them.
struct Work<'w, 'g, T, F> {
    /// The next requirement nobody has taken yet.
    next: AtomicUsize,
    /// The order requirements are taken in, when not the Goalfile's.
    order: Option<Vec<usize>>,
    results: &'w [Mutex<Option<Result<T>>>],
    task: &'w F,
    spare_threads: &'w AtomicUsize,
    /// The branches done with the group, for what they learnt.
    finished: Mutex<Vec<Evaluator<'g>>>,
}

impl<'g, T: Send, F: Fn(&mut Evaluator<'g>, usize) -> Result<T> + Sync> Work<'_, 'g, T, F> {
    /// Takes requirements on `branch` until none is left; before each, hands the rest to one
    /// more thread too, when the run has one to spare. The thread that started the group works
    /// on it rather than wait, so threads stay as many as `-j` however the groups nest.
    fn run<'scope>(
        &'scope self,
        threads: &'scope std::thread::Scope<'scope, '_>,
        mut branch: Evaluator<'g>,
    ) {
        loop {
            let taken = self.next.fetch_add(1, Ordering::Relaxed);
            if taken >= self.results.len() {
                break;
            }
            let i = self.order.as_ref().map_or(taken, |order| order[taken]);
            let slot = &self.results[i];
            if taken + 1 < self.results.len() && take_spare(self.spare_threads) {
                let helper = branch.fork();
                threads.spawn(move || {
                    // A branch that panicked leaves its slots empty, which the group reports;
                    // the other threads go on, and the thread is spare again.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.run(threads, helper);
                    }));
                    self.spare_threads.fetch_add(1, Ordering::SeqCst);
                });
            }
            *lock(slot) = Some((self.task)(&mut branch, i));
        }
        lock(&self.finished).push(branch);
    }
}

/// 0..count in an order that differs from process to process (a xorshift generator seeded by
/// the clock and the process id, shuffling Fisher–Yates).
fn shuffled(count: usize) -> Vec<usize> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    let mut state = (u64::from(std::process::id()) << 32 | u64::from(nanos)) | 1;
    let mut order: Vec<usize> = (0..count).collect();
    for last in (1..count).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let pick = usize::try_from(state % (last as u64 + 1)).unwrap_or(0);
        order.swap(last, pick);
    }
    order
}

fn take_spare(spare_threads: &AtomicUsize) -> bool {
    spare_threads
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |spare| {
            spare.checked_sub(1)
        })
        .is_ok()
}

/// A `for` body that only computes values and requires goals: its iterations are independent.
pub(super) fn only_requires(statements: &[Statement]) -> bool {
    statements
        .iter()
        .all(|statement| matches!(statement, Statement::Let(_) | Statement::Require(_)))
}

/// Marks a branch that stopped because another failed: the other's problem is the one shown.
pub(super) const STOPPED: &str = "goal::stopped";

pub(super) fn stopped() -> Problem {
    Problem::failure(STOPPED, "stopped: another goal failed")
}

#[cfg(test)]
mod tests {
    use super::shuffled;

    #[test]
    fn a_shuffled_order_takes_every_requirement_once() {
        for count in [0, 1, 2, 1000] {
            let mut order = shuffled(count);
            order.sort_unstable();
            assert_eq!(order, (0..count).collect::<Vec<_>>());
        }
    }
}
