//! What a dry run found of each instance, kept when its answer is printed as JSON or drawn as a
//! graph rather than written line by line.

use rustc_hash::FxHashMap as HashMap;
use serde::Serialize;

/// The instances a dry run met, in the order it met them (depth-first, as the Goalfile says),
/// each with its state, why, and what it requires.
#[derive(Debug, Default)]
pub struct Record {
    pub instances: Vec<RecordedInstance>,
    ids: HashMap<String, usize>,
}

#[derive(Debug)]
pub struct RecordedInstance {
    /// As users see it: `compiled c_file=src/main.c`.
    pub instance: String,
    pub goal: String,
    /// Each parameter and its value, in the goal's order.
    pub arguments: Vec<(String, String)>,
    pub state: State,
    pub reason: Option<String>,
    /// Indices into [`Record::instances`], in the order they are required.
    pub requires: Vec<usize>,
    /// The first target and the first source of its first `file-newer`, as rendered.
    pub file_newer: Option<(String, Option<String>)>,
    /// Its recipes, as a dry run renders them, in the order they would run.
    pub recipes: Vec<String>,
}

/// What a dry run found an instance to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Its target holds (or, with no target, everything it requires is reached).
    Reached,
    /// Its recipe would run.
    WouldFire,
    /// Something it requires would fire first, so its target cannot be known yet.
    MayFire,
    /// Evaluating it failed (a value, a predicate's command, with `-k`).
    Failed,
}

impl State {
    /// As the text of a dry run says it: `would fire`.
    pub fn words(self) -> &'static str {
        match self {
            State::Reached => "reached",
            State::WouldFire => "would fire",
            State::MayFire => "may fire",
            State::Failed => "failed",
        }
    }
}

impl Record {
    /// An instance met, required by `requirer` (none for one named on the command line).
    pub fn met(
        &mut self,
        requirer: Option<&str>,
        instance: &str,
        goal: &str,
        arguments: Vec<(String, String)>,
    ) {
        let id = match self.ids.get(instance) {
            Some(&id) => id,
            None => {
                let id = self.instances.len();
                self.ids.insert(instance.to_string(), id);
                self.instances.push(RecordedInstance {
                    instance: instance.to_string(),
                    goal: goal.to_string(),
                    arguments,
                    // Until it settles: a dry run that stops part-way leaves it so.
                    state: State::MayFire,
                    reason: None,
                    requires: Vec::new(),
                    file_newer: None,
                    recipes: Vec::new(),
                });
                id
            }
        };
        if let Some(&requirer) = requirer.and_then(|requirer| self.ids.get(requirer)) {
            let requires = &mut self.instances[requirer].requires;
            if !requires.contains(&id) {
                requires.push(id);
            }
        }
    }

    /// Why the instance is in the state it settles in; the first reason given stands.
    pub fn reason(&mut self, instance: &str, why: &str) {
        if let Some(&id) = self.ids.get(instance) {
            self.instances[id]
                .reason
                .get_or_insert_with(|| why.to_string());
        }
    }

    /// The first target and source of the instance's first `file-newer`; the first given stands.
    pub fn file_newer(&mut self, instance: &str, target: &str, source: Option<&str>) {
        if let Some(&id) = self.ids.get(instance) {
            self.instances[id]
                .file_newer
                .get_or_insert_with(|| (target.to_string(), source.map(str::to_string)));
        }
    }

    /// A recipe the instance would run, as rendered.
    pub fn recipe(&mut self, instance: &str, script: &str) {
        if let Some(&id) = self.ids.get(instance) {
            self.instances[id].recipes.push(script.to_string());
        }
    }

    /// Why the instance would or may fire: the dry run's last word on it, which replaces a
    /// reason given on the way (a target that held after a recipe that would run).
    pub fn verdict(&mut self, instance: &str, why: &str) {
        if let Some(&id) = self.ids.get(instance) {
            self.instances[id].reason = Some(why.to_string());
        }
    }

    /// The state the instance settled in; `failure`, the message of its own failure.
    pub fn settled(&mut self, instance: &str, state: State, failure: Option<&str>) {
        let Some(&id) = self.ids.get(instance) else {
            return;
        };
        // Only an instance with nothing of its own to say settles without a reason: one that
        // groups others, or one blocked by a requirement that failed.
        let failed_requirement = self.instances[id]
            .requires
            .iter()
            .find(|&&required| self.instances[required].state == State::Failed)
            .map(|&required| {
                format!(
                    "requires {}, which failed",
                    self.instances[required].instance
                )
            });
        let recorded = &mut self.instances[id];
        recorded.state = state;
        if recorded.reason.is_none() {
            recorded.reason = match (state, failure) {
                (State::Failed, Some(message)) => Some(message.to_string()),
                (State::Failed, None) => failed_requirement,
                (State::Reached, _) => {
                    Some("it has no target, and everything it requires is reached".to_string())
                }
                _ => None,
            };
        }
    }
}

/// A recipe run as the run logs tell it, for `goal status --json` and `goal graph --last-run`.
#[derive(Debug, Clone, Serialize)]
pub struct RecipeRun {
    /// As users see it.
    pub instance: String,
    /// The instances that required it, the nearest first: empty when it was named on the
    /// command line; none in a campaign's view, whose record keeps no requirements.
    pub required_by: Option<Vec<String>>,
    /// When it started (RFC 3339, UTC, in seconds).
    pub started: String,
    /// How long it ran, or has run so far; none when its end was never recorded.
    pub seconds: Option<f64>,
    pub state: RunState,
    /// As `goal status` says it: `ok`, `failed (status 2)`, `running`, `interrupted`.
    pub result: String,
    /// The host that ran it, in the view of a campaign sharing its Memory.
    pub host: Option<String>,
    /// Its log, relative to the project's directory on the host that ran it; none when the
    /// recipe printed nothing.
    pub log: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    Ok,
    Failed,
    Running,
    Interrupted,
}
