//! The `plan` statement: fill in the transitions and the wanted tags, ask the planner for the
//! cheapest plan, show it, and run its steps in order through the same shell as `run`.

use std::path::{Path, PathBuf};

use super::mtimes::Touched;
use super::scope::Scope;
use super::{Body, Evaluator, Result};
use crate::diagnostic::Problem;
use crate::goalfile::{
    Name, Plan, Span, TagEffect, TagEffectKind, TagTest, TagTestKind, STEP_FILES,
};
use crate::plan::{self, is_tag_name, Effect, Failure, Found, Lost, Quantity, State, Test};
use crate::template::Context;

impl<'g> Evaluator<'g> {
    pub(super) fn plan(
        &mut self,
        plan: &'g Plan,
        scope: &Scope<'g>,
        body: &mut Body<'g>,
    ) -> Result<()> {
        let from = self.render(&plan.from, scope, Context::Literal)?;
        let to = self.render(&plan.to, scope, Context::Literal)?;
        let start = self.start(plan, scope)?;
        let want = self.tests(&plan.want, scope)?;
        let mut steps = Vec::with_capacity(self.goalfile.transitions.len());
        let mut transitions = Vec::with_capacity(self.goalfile.transitions.len());
        for def in &self.goalfile.transitions {
            let step_scope = self.transition_scope(&def.params, scope)?;
            transitions.push(plan::Transition {
                name: def.name.text.to_string(),
                when: self.tests(&def.when, &step_scope)?,
                effects: self.effects(&def.effects, &step_scope)?,
                cost: def.cost.clone(),
            });
            steps.push(step_scope);
        }
        let limit = plan.limit.unwrap_or(plan::DEFAULT_LIMIT);
        let found = plan::search(&transitions, start, &want, limit)
            .map_err(|failure| self.no_plan(failure, plan.span))?;
        self.show(&found, &transitions);
        if found.plan.steps.is_empty() || !self.act(body) {
            return Ok(());
        }
        self.run_steps(plan, &found.plan, &steps, from, to)
    }

    /// Each step's recipe, in order, passing the files along.
    fn run_steps(
        &mut self,
        plan: &'g Plan,
        chosen: &plan::Plan,
        scopes: &[Scope<'g>],
        from: String,
        to: String,
    ) -> Result<()> {
        let scratch = Scratch::beside(&to).map_err(|error| {
            let message = format!(
                "cannot make a directory for the plan's intermediate files beside {to}: {error}"
            );
            let sources = self.sources().clone();
            Problem::failure("goal::plan-files", message).at(
                &sources,
                plan.to.span,
                "the plan's output",
            )
        })?;
        let last = chosen.steps.len() - 1;
        let mut input = from;
        for (number, &index) in chosen.steps.iter().enumerate() {
            let def = &self.goalfile.transitions[index];
            let output = if number == last {
                to.clone()
            } else {
                let name = format!("{}-{}", number + 1, def.name.text);
                scratch.join(name).to_string_lossy().into_owned()
            };
            let mut scope = scopes[index].clone();
            scope.push(STEP_FILES[0], input);
            scope.push(STEP_FILES[1], output.clone());
            let script = self.render(&def.run.script, &scope, Context::Shell)?;
            let which = format!("step {} of its plan, `{}`,", number + 1, def.name.text);
            let before = (number == last).then(|| Written::now(&to));
            let ran = self.recipe(
                &script,
                &scope,
                def.run.span,
                def.run.retry,
                &which,
                Touched::Anything,
            );
            if let (Err(_), Some(before)) = (&ran, &before) {
                before.undo_changes(&to);
            }
            ran?;
            input = output;
        }
        Ok(())
    }

    /// The start's `add` and `set` items, then the tags its command prints.
    fn start(&mut self, plan: &'g Plan, scope: &Scope<'g>) -> Result<State> {
        let mut state = State::default();
        for effect in self.effects(&plan.start, scope)? {
            state.apply(&effect);
        }
        let Some(command) = &plan.start_output else {
            return Ok(state);
        };
        let printed = self.output_of(command, scope, plan.span, "start")?;
        for line in printed
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
        {
            let (tag, value) = line.split_once('=').unwrap_or((line, ""));
            if !is_tag_name(tag) {
                let sources = self.sources().clone();
                return Err(Problem::failure(
                    "goal::start-tags",
                    format!("the start command printed `{line}`, which is not a tag"),
                )
                .at(&sources, command.span, "this command")
                .with_help("print one tag a line: NAME or NAME=VALUE, where NAME is like `format`")
                .into());
            }
            state.apply(&Effect::Set(tag.to_string(), value.to_string()));
        }
        Ok(state)
    }

    /// A transition's parameters, bound by name from where the plan stands.
    fn transition_scope(&mut self, params: &'g [Name], scope: &Scope<'g>) -> Result<Scope<'g>> {
        let mut bound = Scope::new();
        for param in params {
            let value = match scope.get(&param.text) {
                Some(value) => value.to_string(),
                // The checker makes sure every parameter is defined where a plan stands.
                None => self.global(&param.text)?.unwrap_or_default(),
            };
            bound.push(&param.text, value);
        }
        Ok(bound)
    }

    fn tests(&mut self, tests: &'g [TagTest], scope: &Scope<'g>) -> Result<Vec<Test>> {
        let mut rendered = Vec::with_capacity(tests.len());
        for test in tests {
            let tag = test.tag.text.to_string();
            rendered.push(match &test.kind {
                TagTestKind::Has => Test::Has(tag),
                TagTestKind::Lacks => Test::Lacks(tag),
                TagTestKind::Is(value) => {
                    Test::Is(tag, self.render(value, scope, Context::Literal)?)
                }
                TagTestKind::Compare(comparison, value) => {
                    let written = self.render(value, scope, Context::Literal)?;
                    let Some(quantity) = Quantity::parse(&written) else {
                        return Err(self.not_a_quantity(&written, test.span).into());
                    };
                    Test::Compare {
                        tag,
                        comparison: *comparison,
                        value: quantity,
                        written,
                    }
                }
            });
        }
        Ok(rendered)
    }

    fn not_a_quantity(&mut self, written: &str, span: Span) -> Problem {
        let sources = self.sources().clone();
        Problem::failure(
            "goal::quantity",
            format!("`{written}` is not a number or a size"),
        )
        .at(&sources, span, "in this comparison")
        .with_help(plan::QUANTITY_FORMS)
    }

    fn effects(&mut self, effects: &'g [TagEffect], scope: &Scope<'g>) -> Result<Vec<Effect>> {
        let mut rendered = Vec::with_capacity(effects.len());
        for effect in effects {
            let tag = effect.tag.text.to_string();
            rendered.push(match &effect.kind {
                TagEffectKind::Add => Effect::Add(tag),
                TagEffectKind::Remove => Effect::Remove(tag),
                TagEffectKind::Set(value) => {
                    Effect::Set(tag, self.render(value, scope, Context::Literal)?)
                }
            });
        }
        Ok(rendered)
    }

    fn no_plan(&mut self, failure: Failure, span: Span) -> Problem {
        let (code, message, closest, explored, advice) = match failure {
            Failure::Unreachable { closest, explored } => (
                "goal::no-plan",
                "no plan reaches the wanted tags".to_string(),
                closest,
                explored,
                "",
            ),
            Failure::Limit { limit, closest } => (
                "goal::plan-limit",
                format!(
                    "the plan search explored {limit} states, its limit, without reaching the \
                     wanted tags"
                ),
                closest,
                limit,
                "; raise the limit with `limit=\"…\"` on the plan",
            ),
        };
        let unmet: Vec<String> = closest.unmet.iter().map(ToString::to_string).collect();
        let help = format!(
            "unmet: {}; the closest of the {explored} states explored has: {}{advice}",
            unmet.join("; "),
            closest.state
        );
        let text = self.current();
        let sources = self.sources().clone();
        Problem::failure(code, format!("`{text}`: {message}"))
            .at(&sources, span, "this plan")
            .with_help(help)
    }

    /// The chosen plan on a dry run's standard output or as a status line; with `--explain`,
    /// the runner-ups and why they lost.
    fn show(&mut self, found: &Found, transitions: &[plan::Transition]) {
        let text = self.current();
        let steps: Vec<(&str, String)> = found
            .plan
            .steps
            .iter()
            .zip(&found.plan.costs)
            .map(|(&step, cost)| (transitions[step].name.as_str(), cost.to_string()))
            .collect();
        self.report().plan(
            &text,
            &steps,
            &found.plan.total.to_string(),
            self.options.dry_run,
        );
        if !self.options.explain {
            return;
        }
        self.report().explain(
            &text,
            &format!(
                "plan chosen after exploring {} states: {}",
                found.explored,
                outline(&found.plan, transitions)
            ),
        );
        for runner_up in &found.runner_ups {
            let why = match runner_up.lost {
                Lost::Dearer(more) => format!("it costs {more} more"),
                Lost::Longer => format!(
                    "as cheap, but {} steps instead of {}",
                    runner_up.plan.steps.len(),
                    found.plan.steps.len()
                ),
                Lost::LaterName(step) => format!(
                    "as cheap and as long, but at step {} `{}` comes after `{}` by name",
                    step + 1,
                    transitions[runner_up.plan.steps[step]].name,
                    transitions[found.plan.steps[step]].name
                ),
            };
            self.report().explain(
                &text,
                &format!("runner-up {}: {why}", outline(&runner_up.plan, transitions)),
            );
        }
    }
}

/// `convert (5) → resize (1), total 6`.
fn outline(plan: &plan::Plan, transitions: &[plan::Transition]) -> String {
    if plan.steps.is_empty() {
        return "no step, total 0".to_string();
    }
    let steps: Vec<String> = plan
        .steps
        .iter()
        .zip(&plan.costs)
        .map(|(&step, cost)| format!("{} ({cost})", transitions[step].name))
        .collect();
    format!("{}, total {}", steps.join(" → "), plan.total)
}

/// The plan's output as it was before its last step: a step that fails after writing part of
/// it must not leave what the next run would take for the result, as make's
/// `.DELETE_ON_ERROR` does not either. An output the step did not touch is left as it was.
struct Written(Option<(std::time::SystemTime, u64, u64)>);

impl Written {
    fn now(path: &str) -> Written {
        use std::os::unix::fs::MetadataExt;
        Written(std::fs::symlink_metadata(path).ok().map(|meta| {
            (
                meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                meta.len(),
                meta.ino(),
            )
        }))
    }

    /// Removes the output if the failed step made or changed it.
    fn undo_changes(&self, path: &str) {
        let after = Written::now(path);
        if after.0.is_none() || after.0 == self.0 {
            return;
        }
        let removed = match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(path),
            _ => std::fs::remove_file(path),
        };
        if let Err(error) = removed {
            tracing::warn!("cannot remove {path}, which a failed step wrote: {error}");
        }
    }
}

/// Intermediate files go beside the output: on the same file system, where there is room for
/// it. The directory is removed when the plan ends; its path is relative like the output's, so
/// recipes and logs show short names.
struct Scratch {
    /// Held only to remove the directory when the plan ends.
    _dir: tempfile::TempDir,
    relative: PathBuf,
}

impl Scratch {
    fn beside(to: &str) -> std::io::Result<Scratch> {
        let parent = match Path::new(to).parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new(""),
        };
        let dir = tempfile::Builder::new().prefix(".goal-plan-").tempdir_in(
            if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            },
        )?;
        let relative = parent.join(dir.path().file_name().unwrap_or_default());
        Ok(Scratch {
            _dir: dir,
            relative,
        })
    }

    fn join(&self, name: String) -> PathBuf {
        self.relative.join(name)
    }
}
