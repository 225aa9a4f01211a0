//! Evaluate: reach goal instances depth-first, in the order their bodies say.
//!
//! A goal body is a sequence of statements run in order, as when a goal is a function: a
//! `target` that holds ends the goal at once ("already reached"); one that does not is the
//! promise checked again after the body has run. Each instance is reached at most once per
//! invocation; a second `require` of it reuses the first outcome, and requiring an instance
//! that is still being reached is a cycle.
//!
//! A dry run walks the same statements without running recipes or writing the Memory. Once a
//! requirement would fire, later targets of the requiring goal cannot be known before it has
//! run, so such goals are reported as "may fire".

mod files;
mod instance;
mod predicate;
mod scope;

use std::borrow::Cow;
use std::time::{Instant, SystemTime};

use regex::Regex;
use rustc_hash::FxHashMap as HashMap;

use crate::diagnostic::{did_you_mean, Problem, Sources};
use crate::goalfile::{
    ForSource, Goal, Goalfile, LetValue, Param, Pattern, Span, Statement, Target,
};
use crate::interrupt;
use crate::logs::{Logs, RecipeLog};
use crate::memory::{Memory, RunLock};
use crate::report::Reporter;
use crate::run::{self, Finished, Stdout};
use crate::template::{Context, Template};

pub use instance::{describe, Instance};
use scope::{Globals, Scope};

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Evaluate targets only: run no recipe, write nothing to the Memory.
    pub dry_run: bool,
    /// Say why each goal fires or is skipped.
    pub explain: bool,
}

/// A goal asked for on the command line, with its `name=value` arguments.
#[derive(Debug, Clone)]
pub struct Request {
    pub goal: String,
    pub args: Vec<(String, String)>,
}

/// What reaching an instance came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Its target held (or, with nothing to run of its own, all it requires was reached).
    Reached,
    /// Its body ran.
    Ran,
    /// Dry run: its target is false, so its recipe would run.
    WouldFire,
    /// Dry run: something it requires would fire first, so its target cannot be known yet.
    MayFire,
}

impl Outcome {
    fn fires(self) -> bool {
        matches!(self, Outcome::WouldFire | Outcome::MayFire)
    }
}

/// Whether a body goes on after a statement.
enum Flow {
    Continue,
    /// The target held: the goal is already reached.
    Reached,
}

/// What one instance's body has done so far.
#[derive(Default)]
struct Body<'g> {
    /// The target, once it was found false: the promise to check after the body.
    promise: Option<&'g Target>,
    /// Why the target was false (for a dry run's answer and `--explain`).
    why_fires: Option<String>,
    /// Dry run: the first requirement that would fire.
    pending: Option<String>,
    /// When the first recipe or Memory write of this instance began.
    started: Option<Instant>,
    /// Dry run: the body holds a recipe or Memory write it would run.
    would_act: bool,
}

pub struct Evaluator<'g> {
    goalfile: &'g Goalfile,
    goals: HashMap<&'g str, usize>,
    predicates: HashMap<&'g str, usize>,
    globals: Globals<'g>,
    /// Compiled once per distinct pattern: compiling costs ~100 µs.
    regexes: HashMap<&'g str, Regex>,
    /// Every instance met in this invocation, by id: each is stored once, and the stack and
    /// outcomes refer to it by id.
    instances: Vec<Instance>,
    ids: HashMap<Instance, usize>,
    /// By id; `None` while the instance is being reached.
    outcomes: Vec<Option<Outcome>>,
    /// The ids of the instances being reached, outermost first, for cycle chains and
    /// "required by".
    stack: Vec<usize>,
    /// Modification times seen since the last command ran (any command may change files).
    mtimes: HashMap<String, Option<SystemTime>>,
    memory: Memory,
    /// The environment commands need to reach the Memory, once served: only when a command is
    /// first run.
    memory_env: Option<Vec<(&'static str, String)>>,
    /// Where to advertise the socket, so `goal memory` from another terminal reaches it.
    run_lock: Option<&'g RunLock>,
    /// Where recipes' output is kept; none for a dry run, which runs no recipe.
    logs: Option<Logs>,
    options: Options,
    pub reporter: Reporter,
    sources: Option<Sources>,
}

type Result<T> = std::result::Result<T, Problem>;

impl<'g> Evaluator<'g> {
    pub fn new(
        goalfile: &'g Goalfile,
        memory: Memory,
        options: Options,
        reporter: Reporter,
    ) -> Evaluator<'g> {
        Evaluator {
            goalfile,
            goals: goalfile.goal_index(),
            predicates: goalfile.predicate_index(),
            globals: Globals::new(&goalfile.globals),
            regexes: HashMap::default(),
            instances: Vec::new(),
            ids: HashMap::default(),
            outcomes: Vec::new(),
            stack: Vec::new(),
            mtimes: HashMap::default(),
            memory,
            memory_env: None,
            run_lock: None,
            logs: None,
            options,
            reporter,
            sources: None,
        }
    }

    /// Advertises the Memory socket in `lock` once the socket is served.
    pub fn advertise_in(&mut self, lock: &'g RunLock) {
        self.run_lock = Some(lock);
    }

    /// Keeps the output of every recipe run in `logs`.
    pub fn keep_logs(&mut self, logs: Logs) {
        self.logs = Some(logs);
    }

    /// Turns the command line's requests into instances, checking every goal name, parameter
    /// name and value before anything runs.
    pub fn instances(
        &mut self,
        requests: &[Request],
    ) -> std::result::Result<Vec<Instance>, Vec<Problem>> {
        let mut instances = Vec::new();
        let mut problems = Vec::new();
        for request in requests {
            match self.request_instance(request) {
                Ok(instance) => instances.push(instance),
                Err(problem) => problems.push(problem),
            }
        }
        if problems.is_empty() {
            Ok(instances)
        } else {
            Err(problems)
        }
    }

    fn request_instance(&mut self, request: &Request) -> Result<Instance> {
        let Some(&goal) = self.goals.get(request.goal.as_str()) else {
            return Err(Problem::input(
                "goal::unknown-goal",
                format!("there is no goal `{}` in the Goalfile", request.goal),
            )
            .with_help(
                did_you_mean(&request.goal, self.goals.keys().copied())
                    .unwrap_or_else(|| "`goal --list` shows the goals".to_string()),
            ));
        };
        let params = &self.goalfile.goals[goal].params;
        let args = request
            .args
            .iter()
            .map(|(name, value)| (name.as_str(), value.clone()))
            .collect();
        let values = self
            .bind(&request.goal, params, args)
            .map_err(|problem| Problem {
                kind: crate::diagnostic::Kind::Input,
                ..problem
            })?;
        Ok(Instance { goal, values })
    }

    /// Reaches every instance, in order.
    pub fn reach_all(&mut self, instances: Vec<Instance>) -> Result<()> {
        for instance in instances {
            let text = self.describe(&instance);
            let grouping = self.goalfile.goals[instance.goal].is_grouping();
            if self.reach(instance, None)? == Outcome::Reached && !grouping {
                self.reporter.reached(&text, true);
            }
        }
        Ok(())
    }

    fn describe(&self, instance: &Instance) -> String {
        describe(&self.goalfile.goals[instance.goal], &instance.values)
    }

    /// The instance being reached now.
    fn current(&self) -> String {
        self.stack
            .last()
            .map(|&id| self.describe(&self.instances[id]))
            .unwrap_or_default()
    }

    fn sources(&mut self) -> &Sources {
        self.sources
            .get_or_insert_with(|| Sources::of(self.goalfile))
    }

    /// "required by linked ← all": who required the instance failing now (the top of the stack).
    fn required_by(&self) -> Option<String> {
        let below = self.stack.len().saturating_sub(1);
        self.requirers(&self.stack[..below])
    }

    /// The same for a requirement made by the instance being reached now.
    fn required_by_current(&self) -> Option<String> {
        self.requirers(&self.stack)
    }

    fn requirers(&self, ids: &[usize]) -> Option<String> {
        if ids.is_empty() {
            return None;
        }
        let chain: Vec<String> = ids
            .iter()
            .rev()
            .map(|&id| self.describe(&self.instances[id]))
            .collect();
        Some(format!("required by {}", chain.join(" ← ")))
    }

    fn reach(&mut self, instance: Instance, via: Option<Span>) -> Result<Outcome> {
        if let Some(&id) = self.ids.get(&instance) {
            return match self.outcomes[id] {
                Some(outcome) => Ok(outcome),
                None => Err(self.cycle(id, via)),
            };
        }
        let id = self.instances.len();
        self.ids.insert(instance.clone(), id);
        self.instances.push(instance);
        self.outcomes.push(None);
        self.stack.push(id);
        let result = self.reach_new(id);
        self.stack.pop();
        let outcome = result?;
        self.outcomes[id] = Some(outcome);
        Ok(outcome)
    }

    fn cycle(&mut self, id: usize, via: Option<Span>) -> Problem {
        let start = self.stack.iter().position(|&open| open == id).unwrap_or(0);
        let chain: Vec<String> = self.stack[start..]
            .iter()
            .chain(std::iter::once(&id))
            .map(|&open| self.describe(&self.instances[open]))
            .collect();
        let problem = Problem::failure(
            "goal::requirement-cycle",
            format!("requirement cycle: {}", chain.join(" → ")),
        );
        match via {
            Some(span) => {
                let sources = self.sources().clone();
                problem.at(&sources, span, "this requirement closes the cycle")
            }
            None => problem,
        }
    }

    fn reach_new(&mut self, id: usize) -> Result<Outcome> {
        let instance = &self.instances[id];
        let goal = &self.goalfile.goals[instance.goal];
        let mut scope = Scope::new();
        for (param, value) in goal.params.iter().zip(instance.values.iter()) {
            scope.push(&param.name.text, value.clone());
        }
        if self.options.explain
            && !self.options.dry_run
            && goal.target().is_none()
            && !goal.is_grouping()
        {
            let text = self.current();
            self.reporter.explain(
                &text,
                "fires: it has no target, so it runs whenever it is required",
            );
        }
        let mut body = Body::default();
        let flow = self.statements(&goal.body, &mut scope, &mut body);
        if let (Err(_), Some(started)) = (&flow, body.started) {
            let text = self.current();
            self.reporter.failed(&text, started.elapsed());
        }
        if let Flow::Reached = flow? {
            if body.would_act {
                // A dry run passed a recipe placed before the target: that recipe would run.
                let text = self.current();
                self.reporter
                    .would_fire(&text, "it runs a recipe before its target");
                return Ok(Outcome::WouldFire);
            }
            return Ok(if body.started.is_some() {
                self.finish(&body);
                Outcome::Ran
            } else {
                Outcome::Reached
            });
        }
        if self.options.dry_run {
            return Ok(self.dry_outcome(goal, &body));
        }
        if let Some(target) = body.promise {
            let verdict = self.holds(&target.predicate, &scope)?;
            if !verdict.holds {
                return Err(self.broken_promise(target, verdict.reason, &body));
            }
        }
        self.finish(&body);
        Ok(Outcome::Ran)
    }

    fn finish(&mut self, body: &Body) {
        if let Some(started) = body.started {
            let text = self.current();
            self.reporter.finished(&text, started.elapsed());
        }
    }

    fn dry_outcome(&mut self, goal: &Goal, body: &Body) -> Outcome {
        let text = self.current();
        if let Some(why) = &body.why_fires {
            self.reporter.would_fire(&text, why);
            Outcome::WouldFire
        } else if let Some(requirement) = &body.pending {
            if goal.target().is_some() || body.would_act {
                let why = format!("requires {requirement}, which may fire first");
                self.reporter.may_fire(&text, &why);
            }
            Outcome::MayFire
        } else if body.would_act {
            self.reporter.would_fire(&text, "it has no target");
            Outcome::WouldFire
        } else {
            Outcome::Reached
        }
    }

    fn broken_promise(&mut self, target: &Target, reason: Option<String>, body: &Body) -> Problem {
        let text = self.current();
        if let Some(started) = body.started {
            self.reporter.failed(&text, started.elapsed());
        }
        let reason = reason.unwrap_or_else(|| "its predicate is false".to_string());
        let sources = self.sources().clone();
        Problem::failure(
            "goal::broken-promise",
            format!("`{text}` ran, but its target is still false: {reason}"),
        )
        .at(&sources, target.span, "this target is still false")
        .with_optional_help(self.required_by())
    }

    fn statements(
        &mut self,
        statements: &'g [Statement],
        scope: &mut Scope<'g>,
        body: &mut Body<'g>,
    ) -> Result<Flow> {
        for statement in statements {
            if let Flow::Reached = self.statement(statement, scope, body)? {
                return Ok(Flow::Reached);
            }
        }
        Ok(Flow::Continue)
    }

    fn statement(
        &mut self,
        statement: &'g Statement,
        scope: &mut Scope<'g>,
        body: &mut Body<'g>,
    ) -> Result<Flow> {
        if interrupt::interrupted() {
            return Err(interrupted());
        }
        match statement {
            Statement::Let(definition) => {
                let value = match &definition.value {
                    LetValue::Template(template) => {
                        self.render(template, scope, Context::Literal)?
                    }
                    LetValue::Output(command) => {
                        let all = self.globals.defs.len();
                        self.output_of(command, scope, definition.span, "let", all)?
                    }
                };
                scope.push(&definition.name.text, value);
            }
            Statement::Target(target) => return self.target(target, scope, body),
            Statement::Require(require) => {
                let Some(&goal) = self.goals.get(require.goal.text.as_str()) else {
                    let sources = self.sources().clone();
                    return Err(Problem::failure(
                        "goal::unknown-goal",
                        format!("there is no goal `{}`", require.goal.text),
                    )
                    .at(&sources, require.goal.span, "unknown goal"));
                };
                let mut args = Vec::with_capacity(require.args.len());
                for arg in &require.args {
                    let value = self.render(&arg.value, scope, Context::Literal)?;
                    args.push((arg.name.text.as_str(), value));
                }
                let callee = &self.goalfile.goals[goal];
                let values =
                    self.bind(&callee.name.text, &callee.params, args)
                        .map_err(|problem| {
                            let help = problem.help.clone().or_else(|| self.required_by_current());
                            self.locate(problem, require.span, "in this requirement")
                                .with_optional_help(help)
                        })?;
                let required = Instance { goal, values };
                let outcome = self.reach(required.clone(), Some(require.span))?;
                if outcome.fires() && body.pending.is_none() {
                    body.pending = Some(self.describe(&required));
                }
            }
            Statement::For(each) => {
                let items = self.for_items(&each.source, scope, each.span)?;
                for item in items {
                    let mark = scope.mark();
                    scope.push(&each.var.text, item);
                    let flow = self.statements(&each.body, scope, body);
                    scope.truncate(mark);
                    if let Flow::Reached = flow? {
                        return Ok(Flow::Reached);
                    }
                }
            }
            Statement::Run(recipe) => {
                let script = self.render(&recipe.script, scope, Context::Shell)?;
                if self.act(body) {
                    self.reporter.command(&script);
                    let log = self.recipe_log();
                    let finished =
                        self.command(&script, scope, Stdout::Show(log.as_ref()), recipe.span)?;
                    if interrupt::interrupted() {
                        return Err(interrupted());
                    }
                    if !finished.status.success() {
                        return Err(self.recipe_failed(&finished, log.as_ref(), recipe.span));
                    }
                }
            }
            Statement::MemorySet { key, value, span } => {
                let key = self.render(key, scope, Context::Literal)?;
                let value = self.render(value, scope, Context::Literal)?;
                if self.act(body) {
                    self.memory
                        .set(&key, &value)
                        .map_err(|problem| self.locate(problem, *span, "this memory-set"))?;
                }
            }
            Statement::MemoryDelete { key, span } => {
                let key = self.render(key, scope, Context::Literal)?;
                if self.act(body) {
                    self.memory
                        .delete(&key)
                        .map_err(|problem| self.locate(problem, *span, "this memory-delete"))?;
                }
            }
        }
        Ok(Flow::Continue)
    }

    /// Marks the body as acting (a recipe or a Memory write); says whether to really act.
    fn act(&mut self, body: &mut Body) -> bool {
        if self.options.dry_run {
            body.would_act = true;
            return false;
        }
        if body.started.is_none() {
            body.started = Some(Instant::now());
            let text = self.current();
            self.reporter.started(&text);
        }
        true
    }

    fn target(
        &mut self,
        target: &'g Target,
        scope: &mut Scope<'g>,
        body: &mut Body<'g>,
    ) -> Result<Flow> {
        let verdict = self.holds(&target.predicate, scope)?;
        if verdict.holds && body.pending.is_none() {
            let nested = body.started.is_none() && self.stack.len() > 1;
            // Building the instance's text for each of ten thousand reached goals would be
            // the bulk of a no-op run's work: only when it is shown.
            if self.options.explain || (nested && self.reporter.shows_nested_reached()) {
                let text = self.current();
                if self.options.explain {
                    let why = verdict.reason.as_deref().unwrap_or("its target holds");
                    self.reporter
                        .explain(&text, &format!("already reached: {why}"));
                }
                if nested {
                    self.reporter.reached(&text, false);
                }
            } else if nested {
                self.reporter.count_reached();
            }
            return Ok(Flow::Reached);
        }
        if !verdict.holds {
            let why = verdict
                .reason
                .unwrap_or_else(|| "its target is false".to_string());
            if self.options.explain && !self.options.dry_run {
                let text = self.current();
                self.reporter.explain(&text, &format!("fires: {why}"));
            }
            if body.pending.is_none() {
                body.why_fires = Some(why);
            }
        }
        body.promise = Some(target);
        Ok(Flow::Continue)
    }

    fn for_items(
        &mut self,
        source: &'g ForSource,
        scope: &Scope<'g>,
        span: Span,
    ) -> Result<Vec<String>> {
        Ok(match source {
            ForSource::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.render(item, scope, Context::Literal)?);
                }
                values
            }
            ForSource::Words(words) => self
                .render(words, scope, Context::Literal)?
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            ForSource::Output(command) => self
                .output_of(command, scope, span, "for", self.globals.defs.len())?
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_string)
                .collect(),
            ForSource::Glob(pattern) => {
                let pattern = self.render(pattern, scope, Context::Literal)?;
                let mut paths = self.glob(&pattern, span)?;
                paths.sort_unstable();
                paths
            }
        })
    }

    /// The paths matching `pattern`, in no particular order.
    fn glob(&mut self, pattern: &str, span: Span) -> Result<Vec<String>> {
        files::glob(pattern).map_err(|error| {
            let sources = self.sources().clone();
            Problem::failure(
                "goal::invalid-glob",
                format!("invalid glob pattern `{pattern}`: {}", error.msg),
            )
            .at(&sources, span, "in this glob")
        })
    }

    /// Points a problem raised without a place (by the Memory, by binding) at `span`.
    fn locate(&mut self, problem: Problem, span: Span, label: &str) -> Problem {
        if problem.location.is_some() {
            return problem;
        }
        let sources = self.sources().clone();
        problem.at(&sources, span, label)
    }

    /// Binds arguments to parameters: every argument names a parameter, every parameter without
    /// a default is bound, and every value matches its parameter's pattern.
    fn bind(
        &mut self,
        goal_name: &str,
        params: &'g [Param],
        args: Vec<(&str, String)>,
    ) -> Result<Box<[String]>> {
        let mut values: Vec<Option<String>> = vec![None; params.len()];
        for (name, value) in args {
            let Some(position) = params.iter().position(|param| param.name.text == name) else {
                let help = did_you_mean(name, params.iter().map(|p| p.name.text.as_str()))
                    .unwrap_or_else(|| parameter_list(params));
                return Err(Problem::failure(
                    "goal::unknown-param",
                    format!("`{goal_name}` has no parameter `{name}`"),
                )
                .with_help(help));
            };
            if values[position].is_some() {
                return Err(Problem::failure(
                    "goal::duplicate-parameter",
                    format!("the parameter `{name}` of `{goal_name}` is bound twice"),
                ));
            }
            values[position] = Some(value);
        }
        let mut scope = Scope::new();
        for (param, value) in params.iter().zip(values) {
            let value = match (value, &param.default) {
                (Some(value), _) => value,
                (None, Some(default)) => self.render(default, &scope, Context::Literal)?,
                (None, None) => {
                    return Err(Problem::failure(
                        "goal::missing-param",
                        format!(
                            "`{goal_name}` needs a value for its parameter `{}`",
                            param.name.text
                        ),
                    )
                    .with_help(format!("pass it as {}=VALUE", param.name.text)));
                }
            };
            if let Some(pattern) = &param.pattern {
                if !self.regex(pattern, true)?.is_match(&value) {
                    let sources = self.sources().clone();
                    return Err(Problem::failure(
                        "goal::pattern-mismatch",
                        format!(
                            "the value {value:?} of `{goal_name}`'s parameter `{}` does not match its pattern",
                            param.name.text
                        ),
                    )
                    .at(&sources, pattern.span, "the pattern it must match"));
                }
            }
            scope.push(&param.name.text, value);
        }
        Ok(scope.vars().map(|(_, value)| value.to_string()).collect())
    }

    /// The compiled form of a pattern; parameter patterns must match in full.
    fn regex(&mut self, pattern: &'g Pattern, anchored: bool) -> Result<&Regex> {
        if !self.regexes.contains_key(pattern.source.as_str()) {
            let source = if anchored {
                format!("^(?:{})$", pattern.source)
            } else {
                pattern.source.clone()
            };
            let regex = Regex::new(&source).map_err(|error| {
                let sources = self.sources().clone();
                Problem::failure(
                    "goal::regex",
                    format!("invalid regular expression: {error}"),
                )
                .at(&sources, pattern.span, "this pattern")
            })?;
            self.regexes.insert(pattern.source.as_str(), regex);
        }
        Ok(&self.regexes[pattern.source.as_str()])
    }

    /// Renders a template in a scope, computing the globals it refers to first.
    fn render(
        &mut self,
        template: &'g Template,
        scope: &Scope<'g>,
        context: Context,
    ) -> Result<String> {
        for reference in template.refs() {
            if scope.get(&reference.name).is_none() {
                if let Some(position) = self.globals.position(&reference.name) {
                    self.compute_global(position)?;
                }
            }
        }
        let globals = &self.globals;
        Ok(template.render(context, |name| {
            scope
                .get(name)
                .or_else(|| globals.get(name))
                .map(Cow::Borrowed)
        }))
    }

    fn compute_global(&mut self, position: usize) -> Result<()> {
        if self.globals.value(position).is_some() {
            return Ok(());
        }
        let definition = &self.globals.defs[position];
        let empty = Scope::new();
        let value = match &definition.value {
            LetValue::Template(template) => self.render(template, &empty, Context::Literal)?,
            // Its command sees only the globals defined before it: computing the others first
            // could need this very value.
            LetValue::Output(command) => {
                self.output_of(command, &empty, definition.span, "let", position)?
            }
        };
        self.globals.set(position, value);
        Ok(())
    }

    /// The trimmed standard output of a command (`let output=`, `for output=`); a failing
    /// command is an error, since its output cannot be trusted.
    /// `globals` is how many globals, in definition order, the command gets in its environment.
    fn output_of(
        &mut self,
        command: &'g Template,
        scope: &Scope<'g>,
        span: Span,
        what: &str,
        globals: usize,
    ) -> Result<String> {
        let script = self.render(command, scope, Context::Shell)?;
        let finished = self.command_with(&script, scope, Stdout::Capture, span, globals)?;
        if !finished.status.success() {
            let sources = self.sources().clone();
            return Err(Problem::failure(
                "goal::command-failed",
                format!(
                    "the command of this `{what}` {}: {}",
                    run::describe_status(finished.status),
                    script.trim()
                ),
            )
            .at(&sources, span, "this command failed")
            .with_optional_help(self.required_by()));
        }
        Ok(finished.stdout.trim().to_string())
    }

    /// Runs a shell command with the globals, the scope and the Memory socket in its
    /// environment.
    fn command(
        &mut self,
        script: &str,
        scope: &Scope<'g>,
        stdout: Stdout,
        span: Span,
    ) -> Result<Finished> {
        self.command_with(script, scope, stdout, span, self.globals.defs.len())
    }

    fn command_with(
        &mut self,
        script: &str,
        scope: &Scope<'g>,
        stdout: Stdout,
        span: Span,
        globals: usize,
    ) -> Result<Finished> {
        if self.memory_env.is_none() {
            let path = self.memory.serve()?;
            tracing::debug!(socket = %path.display(), "serving the Memory to commands");
            if let Some(lock) = self.run_lock {
                lock.advertise(&path)?;
            }
            self.memory_env = Some(self.memory.environment(&path));
        }
        // Recipes see every global; compute the ones nothing has asked for yet.
        for position in 0..globals {
            self.compute_global(position)?;
        }
        let mut env: Vec<(&str, &str)> = self.globals.computed().take(globals).collect();
        env.extend(scope.vars());
        for (name, value) in self.memory_env.iter().flatten() {
            env.push((name, value));
        }
        self.mtimes.clear();
        run::shell(script, &env, stdout).map_err(|error| {
            let sources = self
                .sources
                .get_or_insert_with(|| Sources::of(self.goalfile));
            Problem::failure("goal::spawn", format!("could not start /bin/sh: {error}")).at(
                sources,
                span,
                "running this",
            )
        })
    }

    /// A log for a recipe run of the instance being reached now.
    fn recipe_log(&mut self) -> Option<RecipeLog> {
        let text = self.current();
        self.logs.as_mut()?.start(&text)
    }

    fn recipe_failed(
        &mut self,
        finished: &Finished,
        log: Option<&RecipeLog>,
        span: Span,
    ) -> Problem {
        let text = self.current();
        let sources = self.sources().clone();
        Problem::failure(
            "goal::recipe-failed",
            format!(
                "`{text}` failed: its recipe {}",
                run::describe_status(finished.status)
            ),
        )
        .at(&sources, span, "this recipe")
        .with_optional_help(self.required_by())
        .with_help_line(log.map(|log| format!("its output is in {}", log.path().display())))
    }
}

fn interrupted() -> Problem {
    Problem {
        kind: crate::diagnostic::Kind::Interrupted,
        ..Problem::failure("goal::interrupted", "interrupted")
    }
    .with_help("run goal again to continue: whatever finished is found reached")
}

fn parameter_list(params: &[Param]) -> String {
    if params.is_empty() {
        "it takes no parameters".to_string()
    } else {
        let names: Vec<&str> = params.iter().map(|p| p.name.text.as_str()).collect();
        format!("its parameters are: {}", names.join(", "))
    }
}
