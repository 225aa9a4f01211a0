//! What the jobs (`every`, `when`) need of an evaluator besides reaching goals: a `when`
//! condition evaluated against the job's last run, the persistent variables' values, and the
//! job's name and serial in every command's environment.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

use super::predicate::Verdict;
use super::scope::Scope;
use super::shared::lock;
use super::Evaluator;
use crate::diagnostic::Problem;
use crate::goalfile::{LetValue, Target};

impl<'g> Evaluator<'g> {
    /// Adds `env` to the environment of every command of the run. Call it before the run
    /// starts: once branches share the run's state, it can no longer change.
    pub fn set_environment(&mut self, env: Vec<(&'static str, String)>) {
        match Arc::get_mut(&mut self.shared) {
            Some(shared) => shared.environment = env,
            None => tracing::warn!("the job's environment was set too late"),
        }
    }

    /// Takes these values of persistent variables as theirs for this evaluator, instead of the
    /// Memory's (`goal set --test`, a condition as it stood when a job started).
    pub fn assume_variables(&mut self, values: &[(String, String)]) {
        let mut globals = lock(&self.shared.globals);
        for (name, value) in values {
            if let Some(position) = globals.position(name) {
                globals.set(position, value.clone());
            }
        }
    }

    /// The current value of every persistent variable, in declaration order.
    pub fn variable_values(&mut self) -> Result<Vec<(String, String)>, Problem> {
        let goalfile = self.goalfile;
        let mut values = Vec::with_capacity(goalfile.variables.len());
        for definition in &goalfile.globals {
            if let LetValue::Variable(_) = definition.value {
                let name = definition.name.text.to_string();
                let value = self.global(&name).map_err(|problem| *problem)?;
                let value = value.unwrap_or_default();
                values.push((name, value));
            }
        }
        Ok(values)
    }

    /// Whether a `when` job's condition holds, `last_run` holding each variable's value when
    /// the job last ran (a variable missing there had its default).
    pub fn condition(
        &mut self,
        condition: &'g Target,
        last_run: HashMap<String, String>,
    ) -> Result<Verdict, Problem> {
        self.last_run = Some(Arc::new(last_run));
        let verdict = self.holds(&condition.predicate, &Scope::new());
        self.last_run = None;
        verdict.map_err(|problem| *problem)
    }

    /// Whether a `set` statement of this run changed a persistent variable.
    pub fn variables_set(&self) -> bool {
        self.shared.variables_set.load(Ordering::SeqCst)
    }
}
