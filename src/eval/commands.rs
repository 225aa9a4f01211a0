//! Commands: recipes (with job slots and retries), commands whose output is used, and the
//! environment every command gets.

use std::path::Path;

use super::mtimes::Touched;
use super::scope::Scope;
use super::shared::lock;
use super::{interrupted, Evaluator, LastRecipe, Result};
use crate::diagnostic::Problem;
use crate::goalfile::{Retry, Span};
use crate::interrupt;
use crate::logs::RecipeLog;
use crate::progress;
use crate::shell::{self, Finished, Stdout};
use crate::template::{Context, Template};

impl<'g> Evaluator<'g> {
    /// Runs a recipe (a `run`, a step of a plan) holding one of the `-j` job slots: an
    /// interruption stops the goal; a failure is tried again as `retry` says, then fails it,
    /// naming the recipe as `which` says (`its recipe`, a plan's step). `touched`: what it may
    /// change (see [`super::mtimes`]).
    pub(super) fn recipe(
        &mut self,
        script: &str,
        scope: &Scope<'g>,
        span: Span,
        retry: Retry,
        which: &str,
        touched: Touched,
    ) -> Result<()> {
        let mut wait = retry.delay;
        let mut attempt = 1;
        loop {
            let slot = self.shared.jobs.acquire().map_err(|error| {
                Problem::failure("goal::jobs", format!("cannot take a job slot: {error}"))
            })?;
            // Waiting for a slot may have outlasted an interruption.
            self.check_stop()?;
            let log = self.recipe_log();
            let running = progress::Running::new(&self.current());
            let finished = self.command(
                script,
                scope,
                Stdout::Show(log.as_ref()),
                span,
                touched.clone(),
            );
            drop(running);
            drop(slot);
            let finished = finished?;
            self.last_recipe = self.stack.last().map(|&id| LastRecipe {
                instance: id,
                status: finished.status,
                log: log
                    .as_ref()
                    .and_then(|log| log.path())
                    .map(Path::to_path_buf),
            });
            if interrupt::interrupted() {
                return Err(interrupted().into());
            }
            if finished.status.success() {
                return Ok(());
            }
            if attempt > retry.attempts {
                return Err(self
                    .recipe_failed(&finished, log.as_ref(), span, which)
                    .into());
            }
            attempt += 1;
            let text = self.current();
            let why = shell::describe_status(finished.status);
            self.report()
                .retry(&text, attempt, retry.attempts + 1, wait, &why);
            interrupt::sleep(wait);
            wait = wait.mul_f64(retry.backoff);
        }
    }

    /// The trimmed standard output of a command (`let output=`, `for output=`); a failing
    /// command is an error, since its output cannot be trusted.
    pub(super) fn output_of(
        &mut self,
        command: &'g Template,
        scope: &Scope<'g>,
        span: Span,
        what: &str,
    ) -> Result<String> {
        let script = self.render(command, scope, Context::Shell)?;
        let finished = self.command(&script, scope, Stdout::Capture, span, Touched::Anything)?;
        self.expect_success(&finished, &script, span, what)?;
        Ok(finished.stdout.trim().to_string())
    }

    pub(super) fn expect_success(
        &mut self,
        finished: &Finished,
        script: &str,
        span: Span,
        what: &str,
    ) -> Result<()> {
        if finished.status.success() {
            return Ok(());
        }
        let sources = self.sources().clone();
        Err(Problem::failure(
            "goal::command-failed",
            format!(
                "the command of this `{what}` {}: {}",
                shell::describe_status(finished.status),
                script.trim()
            ),
        )
        .at(&sources, span, "this command failed")
        .with_optional_help(self.required_by())
        .into())
    }

    /// Runs a shell command with every global (recipes see them all: the ones nothing asked for
    /// yet are computed now) and the scope in its environment.
    pub(super) fn command(
        &mut self,
        script: &str,
        scope: &Scope<'g>,
        stdout: Stdout,
        span: Span,
        touched: Touched,
    ) -> Result<Finished> {
        let mut env = {
            let shared = self.shared.clone();
            let mut globals = lock(&shared.globals);
            for position in 0..globals.defs.len() {
                self.compute_global(position, &mut globals)?;
            }
            owned_env(globals.computed())
        };
        env.extend(owned_env(scope.vars()));
        self.spawn(script, env, stdout, span, touched)
    }

    /// Runs a shell command with `env` and the Memory socket in its environment: every command
    /// of a run (recipes, `sh` and `output` predicates, `let output=`, `for output=`) comes
    /// here, and `-v` shows each as it starts. Once it has ended, every branch forgets the
    /// modification times `touched` says it may have changed.
    pub(super) fn spawn(
        &mut self,
        script: &str,
        mut env: Vec<(String, String)>,
        stdout: Stdout,
        span: Span,
        touched: Touched,
    ) -> Result<Finished> {
        {
            let mut memory_env = lock(&self.shared.memory_env);
            if memory_env.is_none() {
                let path = self.memory.serve()?;
                tracing::debug!(socket = %path.display(), "serving the Memory to commands");
                if let Some(lock) = self.run_lock {
                    lock.advertise(&[&path])?;
                }
                *memory_env = Some(self.memory.environment(&path));
            }
            for (name, value) in memory_env.iter().flatten() {
                env.push((name.to_string(), value.clone()));
            }
        }
        for (name, value) in &self.shared.environment {
            env.push((name.to_string(), value.clone()));
        }
        let mut env: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // Recipes share the job slots; a predicate's or `output`'s `make` is not one of the jobs.
        if matches!(stdout, Stdout::Show(_)) {
            env.extend(self.shared.jobs.env());
        }
        self.report().command(script);
        let finished = shell::run(script, &env, stdout);
        // What the command changed must be seen, by this branch and the others alike.
        self.shared.changes.record(touched, &self.shared.depfiles);
        finished.map_err(|error| {
            let sources = self.sources().clone();
            Problem::failure("goal::spawn", format!("could not start /bin/sh: {error}"))
                .at(&sources, span, "running this")
                .into()
        })
    }

    /// A log for a recipe run of the instance being reached now.
    fn recipe_log(&mut self) -> Option<RecipeLog> {
        let text = self.current();
        let required_by = self.requirer_chain(&self.stack[..self.stack.len().saturating_sub(1)]);
        let log = lock(&self.shared.logs)
            .as_mut()?
            .start(&text, &required_by)?;
        Some(if self.options.jobs > 1 {
            log.prefix_lines(&text)
        } else {
            log
        })
    }

    pub(super) fn recipe_failed(
        &mut self,
        finished: &Finished,
        log: Option<&RecipeLog>,
        span: Span,
        which: &str,
    ) -> Problem {
        let text = self.current();
        let sources = self.sources().clone();
        Problem::failure(
            "goal::recipe-failed",
            format!(
                "`{text}` failed: {which} {}",
                shell::describe_status(finished.status)
            ),
        )
        .at(&sources, span, "this recipe")
        .with_optional_help(self.required_by())
        .with_help_line(
            log.and_then(RecipeLog::path)
                .map(|path| format!("its output is in {}", path.display())),
        )
    }
}

pub(super) fn owned_env<'a>(
    vars: impl Iterator<Item = (&'a str, &'a str)>,
) -> Vec<(String, String)> {
    vars.map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}
