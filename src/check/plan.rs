//! Checks of `transition`s and `plan` statements: the names their templates use, the
//! parameters a plan must provide, and tags that nothing ever sets.

use std::collections::BTreeSet;

use super::{Checker, Place, Scope};
use crate::diagnostic::did_you_mean;
use crate::goalfile::{
    Plan, Span, Statement, TagEffect, TagEffectKind, TagTest, TagTestKind, STEP_FILES,
};
use crate::template::{Part, Template};

impl<'g> Checker<'g> {
    /// A transition's templates see its parameters and the globals; its recipe also sees the
    /// paths of its step.
    pub(super) fn transitions(&mut self) {
        for transition in &self.goalfile.transitions {
            let mut scope = Scope::new(usize::MAX, &[], Place::Elsewhere);
            scope.locals.extend(&transition.params);
            for test in &transition.when {
                self.tag_test(test, &scope);
            }
            for effect in &transition.effects {
                self.tag_effect(effect, &scope);
            }
            self.refs(&without_step_files(&transition.run.script), &scope);
            self.quoting(&transition.run.script);
        }
        self.tags();
    }

    /// Every transition's parameters are bound by name where a plan stands.
    pub(super) fn plan(&mut self, plan: &'g Plan, scope: &Scope<'g>) {
        self.refs(&plan.from, scope);
        self.refs(&plan.to, scope);
        for effect in &plan.start {
            self.tag_effect(effect, scope);
        }
        if let Some(command) = &plan.start_output {
            self.command(command, scope);
        }
        for test in &plan.want {
            self.tag_test(test, scope);
        }
        for transition in &self.goalfile.transitions {
            for param in &transition.params {
                if self.visible(&param.text, scope) {
                    continue;
                }
                self.report(
                    "goal::unknown-name",
                    format!(
                        "transition `{}` takes `{}`, which is not defined where this plan stands",
                        transition.name.text, param.text
                    ),
                    plan.span,
                    format!("`{}` undefined", param.text),
                    Some(format!(
                        "a plan binds transition parameters by name: define `{}` before it, as a \
                         parameter or with `let`",
                        param.text
                    )),
                );
            }
        }
    }

    fn tag_test(&mut self, test: &TagTest, scope: &Scope<'g>) {
        match &test.kind {
            TagTestKind::Has | TagTestKind::Lacks => {}
            TagTestKind::Is(value) | TagTestKind::Compare(_, value) => self.refs(value, scope),
        }
    }

    fn tag_effect(&mut self, effect: &TagEffect, scope: &Scope<'g>) {
        if let TagEffectKind::Set(value) = &effect.kind {
            self.refs(value, scope);
        }
    }

    /// A tag tested or counted in a cost that no start and no transition ever gives is a typo,
    /// unless some start takes its tags from a command, which may give any.
    fn tags(&mut self) {
        let goalfile = self.goalfile;
        let mut plans = Vec::new();
        for goal in &goalfile.goals {
            collect_plans(&goal.body, &mut plans);
        }
        for every in &goalfile.every {
            collect_plans(&every.body, &mut plans);
        }
        for when in &goalfile.when {
            collect_plans(&when.body, &mut plans);
        }
        if plans.iter().any(|plan| plan.start_output.is_some()) {
            return;
        }
        let given: BTreeSet<&str> = plans
            .iter()
            .flat_map(|plan| &plan.start)
            .chain(goalfile.transitions.iter().flat_map(|t| &t.effects))
            .filter(|effect| !matches!(effect.kind, TagEffectKind::Remove))
            .map(|effect| effect.tag.text.as_str())
            .collect();
        let tested = goalfile
            .transitions
            .iter()
            .flat_map(|t| &t.when)
            .chain(plans.iter().flat_map(|plan| &plan.want))
            .map(|test| (test.tag.text.as_str(), test.tag.span));
        let costed = goalfile.transitions.iter().flat_map(|transition| {
            transition
                .cost
                .tags()
                .map(move |tag| (tag, transition.cost_span))
        });
        let unknown: Vec<(&str, Span)> = tested
            .chain(costed)
            .filter(|(tag, _)| !given.contains(tag))
            .collect();
        for (tag, span) in unknown {
            let help = did_you_mean(tag, given.iter().copied()).unwrap_or_else(|| {
                "tags come from a plan's `start` and from transitions' `effects`".to_string()
            });
            self.report(
                "goal::unknown-tag",
                format!("no start and no transition gives the tag `{tag}`"),
                span,
                "never given",
                Some(help),
            );
        }
    }
}

fn collect_plans<'g>(statements: &'g [Statement], out: &mut Vec<&'g Plan>) {
    for statement in statements {
        match statement {
            Statement::Plan(plan) => out.push(plan.as_ref()),
            Statement::For(each) => collect_plans(&each.body, out),
            _ => {}
        }
    }
}

/// The recipe's template without its `{input}` and `{output}` references, which every step
/// defines.
fn without_step_files(template: &Template) -> Template {
    let parts = template
        .parts
        .iter()
        .filter(|part| !matches!(part, Part::Ref(r) if STEP_FILES.contains(&r.name.as_str())))
        .cloned()
        .collect();
    Template {
        parts,
        span: template.span,
    }
}
