//! `{newer}`: the statements after a goal's `target` see its changed sources under that name,
//! so it is defined there and may not be defined again.

use super::{Checker, Place, Scope};
use crate::goalfile::{Name, Span, NEWER};

impl<'g> Checker<'g> {
    /// After the `target` at `span`: `newer` is defined from here on, and a parameter or local
    /// already called so would be hidden by it.
    pub(super) fn define_newer(&mut self, span: Span, scope: &mut Scope<'g>) {
        if scope.place != Place::GoalBody {
            return;
        }
        let earlier = scope
            .params
            .iter()
            .map(|param| &param.name)
            .chain(scope.locals.iter().copied())
            .find(|earlier| earlier.text == NEWER);
        if let Some(earlier) = earlier {
            let help = format!(
                "the target at {} gives its changed sources the name `{NEWER}`; choose another name",
                self.position(span)
            );
            self.report(
                "goal::redefined",
                format!("`{NEWER}` is defined again by the target after it"),
                earlier.span,
                "defined here",
                Some(help),
            );
        }
        scope.after_target = Some(span);
    }

    /// Whether `name` is `newer` where a target already defines it (then reported).
    pub(super) fn redefines_newer(&mut self, name: &Name, scope: &Scope<'g>) -> bool {
        let Some(target) = scope.after_target.filter(|_| name.text == NEWER) else {
            return false;
        };
        let help = format!(
            "the target at {} gives its changed sources this name; choose another name",
            self.position(target)
        );
        self.report(
            "goal::redefined",
            format!("`{NEWER}` is already the changed sources here"),
            name.span,
            "defined again",
            Some(help),
        );
        true
    }
}

/// Help for `{newer}` where no target defines it.
pub(super) fn unknown_newer_help(name: &str) -> Option<String> {
    (name == NEWER).then(|| {
        format!(
            "`{NEWER}` holds the changed sources of a goal's `target`, in the statements after it"
        )
    })
}
