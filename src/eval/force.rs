//! Forced runs: `-B` (`--always`) fires every goal whatever its target says, and `--force` the
//! goals named on the command line only. The target is still the promise, checked after the
//! body has run.

use super::shared::lock;
use super::{Evaluator, Instance};

/// Which goals fire even when their target holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Force {
    /// None: a target that holds ends its goal.
    #[default]
    Nothing,
    /// `-B`, `--always`: every goal.
    Everything,
    /// `--force`: the instances named on the command line, not what they require.
    Requested,
}

impl<'g> Evaluator<'g> {
    /// Under `--force`, the instances that fire whatever their targets say.
    pub(super) fn force_requested(&mut self, instances: &[Instance]) {
        if self.options.force == Force::Requested {
            *lock(&self.shared.forced) = instances.to_vec();
        }
    }

    /// Why the instance being reached fires without looking at its target, if it does.
    pub(super) fn forced(&self) -> Option<&'static str> {
        match self.options.force {
            Force::Nothing => None,
            Force::Everything => Some("every goal fires with -B (--always)"),
            Force::Requested => {
                let &id = self.stack.last()?;
                let instance = lock(&self.shared.table).instances[id].clone();
                lock(&self.shared.forced)
                    .contains(&instance)
                    .then_some("it is named with --force")
            }
        }
    }
}
