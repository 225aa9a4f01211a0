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
mod plan;
mod predicate;
mod scope;

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use regex::Regex;
use rustc_hash::FxHashMap as HashMap;

use crate::diagnostic::{did_you_mean, Kind, Problem, Sources};
use crate::goalfile::{
    ForSource, Goal, Goalfile, Hook, Hooks, LetValue, Param, Pattern, Require, Retry, Span,
    Statement, Target,
};
use crate::interrupt;
use crate::memory::{Memory, RunLock};
use crate::report::{Reporter, Stats};
use crate::run::{self, Finished, Stdout};
use crate::template::{Context, Template};

pub use instance::{describe, Instance};
use scope::{Globals, Scope};

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Evaluate targets only: run no recipe, write nothing to the Memory.
    pub dry_run: bool,
    /// Say why each goal fires or is skipped.
    pub explain: bool,
    /// After a failure, go on with whatever does not depend on the failed goal.
    pub keep_going: bool,
    /// How many recipes may run at once; above 1, consecutive requirements of a body and the
    /// iterations of a `for` over requirements are reached side by side.
    pub jobs: usize,
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
    /// Keep-going: it failed, or something it requires failed.
    Failed,
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
    /// Keep-going: the first requirement that failed. The body then only reaches its other
    /// requirements (independent work goes on) and runs nothing of its own.
    blocked: Option<String>,
}

/// What every branch of a run shares: the instances met so far, the globals, the reporter.
/// Each branch (an [`Evaluator`]) has its own stack; `-j` runs branches on threads of their own.
struct Shared<'g> {
    goals: HashMap<&'g str, usize>,
    predicates: HashMap<&'g str, usize>,
    table: Mutex<Table>,
    /// Signalled whenever an instance gets its outcome, for branches waiting on it.
    settled: Condvar,
    globals: Mutex<Globals<'g>>,
    /// Compiled once per distinct pattern: compiling costs ~100 µs.
    regexes: Mutex<HashMap<&'g str, Regex>>,
    /// The environment commands need to reach the Memory, once served: only when a command is
    /// first run.
    memory_env: Mutex<Option<Vec<(&'static str, String)>>>,
    reporter: Mutex<Reporter>,
    /// Keep-going: the failures so far, reported together at the end.
    failures: Mutex<Vec<Problem>>,
    /// Without keep-going, a failure in one branch stops the others.
    stopped: AtomicBool,
    /// Counts commands run: any command may change files, so a branch's cache of modification
    /// times is good only while this is unchanged.
    commands_run: AtomicU64,
    next_branch: AtomicUsize,
    /// The job slots, as a GNU make job server: at most `jobs` recipes run at once, and a
    /// `make` run by a recipe takes its extra jobs from the same slots.
    jobs: jobserver::Client,
}

/// Every instance met in this invocation, by id: each is stored once, and stacks and outcomes
/// refer to it by id.
#[derive(Default)]
struct Table {
    instances: Vec<Arc<Instance>>,
    ids: HashMap<Arc<Instance>, usize>,
    /// By id; `None` while the instance is being reached.
    outcomes: Vec<Option<Outcome>>,
    /// By id: the branch reaching it.
    owners: Vec<usize>,
    /// Branch → the instance it waits for, to find cycles that cross branches.
    waiting: HashMap<usize, usize>,
}

/// A panic in one branch must not poison the run for the others: what the locks guard is never
/// left half-changed.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One branch of a run: the instances it is reaching (its stack) over the shared state.
pub struct Evaluator<'g> {
    goalfile: &'g Goalfile,
    shared: Arc<Shared<'g>>,
    branch: usize,
    /// The ids of the instances being reached, outermost first (a forked branch starts with its
    /// parent's), for cycle chains and "required by".
    stack: Vec<usize>,
    /// Modification times seen since `commands_seen` commands had run.
    mtimes: HashMap<String, Option<SystemTime>>,
    commands_seen: u64,
    memory: Memory,
    /// Where to advertise the socket, so `goal memory` from another terminal reaches it.
    run_lock: Option<&'g RunLock>,
    options: Options,
    sources: Option<Sources>,
}

type Result<T> = std::result::Result<T, Problem>;

impl<'g> Evaluator<'g> {
    pub fn new(
        goalfile: &'g Goalfile,
        memory: Memory,
        options: Options,
        reporter: Reporter,
    ) -> Result<Evaluator<'g>> {
        let jobs = jobserver::Client::new(options.jobs.max(1)).map_err(|error| {
            Problem::failure("goal::jobs", format!("cannot make the job slots: {error}"))
        })?;
        let shared = Shared {
            goals: goalfile.goal_index(),
            predicates: goalfile.predicate_index(),
            table: Mutex::default(),
            settled: Condvar::new(),
            globals: Mutex::new(Globals::new(&goalfile.globals)),
            regexes: Mutex::default(),
            memory_env: Mutex::new(None),
            reporter: Mutex::new(reporter),
            failures: Mutex::default(),
            stopped: AtomicBool::new(false),
            commands_run: AtomicU64::new(0),
            next_branch: AtomicUsize::new(1),
            jobs,
        };
        Ok(Evaluator {
            goalfile,
            shared: Arc::new(shared),
            branch: 0,
            stack: Vec::new(),
            mtimes: HashMap::default(),
            commands_seen: 0,
            memory,
            run_lock: None,
            options,
            sources: None,
        })
    }

    /// A new branch that goes on from where this one stands.
    fn fork(&self) -> Evaluator<'g> {
        Evaluator {
            goalfile: self.goalfile,
            shared: self.shared.clone(),
            branch: self.shared.next_branch.fetch_add(1, Ordering::Relaxed),
            stack: self.stack.clone(),
            mtimes: HashMap::default(),
            commands_seen: 0,
            memory: self.memory.clone(),
            run_lock: self.run_lock,
            options: self.options,
            sources: None,
        }
    }

    fn report(&self) -> MutexGuard<'_, Reporter> {
        lock(&self.shared.reporter)
    }

    pub fn stats(&self) -> Stats {
        self.report().stats()
    }

    pub fn summary(&self, elapsed: Duration, dry_run: bool) {
        self.report().summary(elapsed, dry_run);
    }

    /// Advertises the Memory socket in `lock` once the socket is served.
    pub fn advertise_in(&mut self, lock: &'g RunLock) {
        self.run_lock = Some(lock);
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
        let Some(&goal) = self.shared.goals.get(request.goal.as_str()) else {
            return Err(Problem::input(
                "goal::unknown-goal",
                format!("there is no goal `{}` in the Goalfile", request.goal),
            )
            .with_help(
                did_you_mean(&request.goal, self.shared.goals.keys().copied())
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
                kind: Kind::Input,
                ..problem
            })?;
        Ok(Instance { goal, values })
    }

    /// Reaches every instance, in order. With keep-going, every failure is collected and
    /// returned at the end.
    pub fn reach_all(&mut self, instances: Vec<Instance>) -> std::result::Result<(), Vec<Problem>> {
        for instance in instances {
            let text = self.describe(&instance);
            let grouping = self.goalfile.goals[instance.goal].is_grouping();
            match self.reach(instance, None) {
                Ok(Outcome::Reached) if !grouping => self.report().reached(&text, true),
                Ok(_) => {}
                Err(problem) => return Err(vec![problem]),
            }
        }
        let failures = std::mem::take(&mut *lock(&self.shared.failures));
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures)
        }
    }

    fn describe(&self, instance: &Instance) -> String {
        describe(&self.goalfile.goals[instance.goal], &instance.values)
    }

    fn describe_id(&self, id: usize) -> String {
        let instance = lock(&self.shared.table).instances[id].clone();
        self.describe(&instance)
    }

    /// The instance being reached now.
    fn current(&self) -> String {
        self.stack
            .last()
            .map(|&id| self.describe_id(id))
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
        let chain: Vec<String> = ids.iter().rev().map(|&id| self.describe_id(id)).collect();
        Some(format!("required by {}", chain.join(" ← ")))
    }

    fn reach(&mut self, instance: Instance, via: Option<Span>) -> Result<Outcome> {
        let mut table = lock(&self.shared.table);
        if let Some(&id) = table.ids.get(&instance) {
            loop {
                if let Some(outcome) = table.outcomes[id] {
                    return Ok(outcome);
                }
                if self.stack.contains(&id) || waits_for(&table, id, self.branch) {
                    drop(table);
                    return Err(self.cycle(id, via));
                }
                // Another branch is reaching it: its outcome is ours once it settles.
                table.waiting.insert(self.branch, id);
                table = self
                    .shared
                    .settled
                    .wait(table)
                    .unwrap_or_else(PoisonError::into_inner);
                table.waiting.remove(&self.branch);
                if self.shared.stopped.load(Ordering::SeqCst) {
                    return Err(stopped());
                }
            }
        }
        let id = table.instances.len();
        let instance = Arc::new(instance);
        table.ids.insert(instance.clone(), id);
        table.instances.push(instance.clone());
        table.outcomes.push(None);
        table.owners.push(self.branch);
        drop(table);
        self.stack.push(id);
        let result = self.reach_new(&instance);
        self.run_hooks(&instance, &result);
        self.stack.pop();
        if matches!(&result, Err(problem) if problem.code != STOPPED) {
            let text = self.describe_id(id);
            self.report().record_failure(text);
        }
        let settled = match result {
            Ok(outcome) => Ok(outcome),
            Err(problem)
                if self.options.keep_going
                    && problem.kind != Kind::Interrupted
                    && problem.code != STOPPED =>
            {
                lock(&self.shared.failures).push(problem);
                Ok(Outcome::Failed)
            }
            Err(problem) => {
                self.shared.stopped.store(true, Ordering::SeqCst);
                Err(problem)
            }
        };
        // Branches waiting on it wake up to its outcome (or, stopped, to stop too). Waking is a
        // system call: only when some branch waits.
        let mut table = lock(&self.shared.table);
        table.outcomes[id] = Some(*settled.as_ref().unwrap_or(&Outcome::Failed));
        if !table.waiting.is_empty() {
            self.shared.settled.notify_all();
        }
        drop(table);
        settled
    }

    /// The goal's own hook, then the Goalfile-wide one: `on-success` after its body ran and its
    /// promise held, `on-failure` after it failed. A hook's failure is a note: the goal's
    /// outcome is already decided.
    fn run_hooks(&mut self, instance: &Instance, result: &Result<Outcome>) {
        let failure = match result {
            _ if self.options.dry_run => return,
            Ok(Outcome::Ran) => None,
            Err(problem) if problem.code != STOPPED && problem.kind != Kind::Interrupted => {
                Some(problem)
            }
            _ => return,
        };
        let goal = &self.goalfile.goals[instance.goal];
        let (which, pick): (_, fn(&'g Hooks) -> Option<&'g Hook>) = match failure {
            Some(_) => ("on-failure", |hooks| hooks.on_failure.as_ref()),
            None => ("on-success", |hooks| hooks.on_success.as_ref()),
        };
        for hook in [pick(&goal.hooks), pick(&self.goalfile.hooks)]
            .into_iter()
            .flatten()
        {
            let mut scope = Scope::new();
            for (param, value) in goal.params.iter().zip(instance.values.iter()) {
                scope.push(&param.name.text, value.clone());
            }
            scope.push("GOAL_GOAL", goal.name.text.clone());
            scope.push("GOAL_INSTANCE", self.describe(instance));
            scope.push(
                "GOAL_STATUS",
                if failure.is_some() { "failed" } else { "ok" }.into(),
            );
            if let Some(problem) = failure {
                scope.push("GOAL_ERROR", problem.message.clone());
            }
            // Already started: a hook's recipes are part of the goal, not a new start.
            let mut body = Body {
                started: Some(Instant::now()),
                ..Body::default()
            };
            if let Err(problem) = self.statements(&hook.body, &mut scope, &mut body) {
                let text = self.describe(instance);
                self.report().note(&format!(
                    "the {which} hook of {text} failed: {}",
                    problem.message
                ));
            }
        }
    }

    fn cycle(&mut self, id: usize, via: Option<Span>) -> Problem {
        let start = self.stack.iter().position(|&open| open == id).unwrap_or(0);
        let chain: Vec<String> = self.stack[start..]
            .iter()
            .chain(std::iter::once(&id))
            .map(|&open| self.describe_id(open))
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

    fn reach_new(&mut self, instance: &Instance) -> Result<Outcome> {
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
            self.report().explain(
                &text,
                "fires: it has no target, so it runs whenever it is required",
            );
        }
        let mut body = Body::default();
        let flow = self.statements(&goal.body, &mut scope, &mut body);
        if let (Err(_), Some(started)) = (&flow, body.started) {
            let text = self.current();
            self.report().failed(&text, started.elapsed());
        }
        let flow = flow?;
        if let Some(requirement) = &body.blocked {
            let text = self.current();
            self.report().blocked(&text, requirement);
            return Ok(Outcome::Failed);
        }
        if let Flow::Reached = flow {
            if body.would_act {
                // A dry run passed a recipe placed before the target: that recipe would run.
                let text = self.current();
                self.report()
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
            self.report().finished(&text, started.elapsed());
        }
    }

    fn dry_outcome(&mut self, goal: &Goal, body: &Body) -> Outcome {
        let text = self.current();
        if let Some(why) = &body.why_fires {
            self.report().would_fire(&text, why);
            Outcome::WouldFire
        } else if let Some(requirement) = &body.pending {
            if goal.target().is_some() || body.would_act {
                let why = format!("requires {requirement}, which may fire first");
                self.report().may_fire(&text, &why);
            }
            Outcome::MayFire
        } else if body.would_act {
            self.report().would_fire(&text, "it has no target");
            Outcome::WouldFire
        } else {
            Outcome::Reached
        }
    }

    fn broken_promise(&mut self, target: &Target, reason: Option<String>, body: &Body) -> Problem {
        let text = self.current();
        if let Some(started) = body.started {
            self.report().failed(&text, started.elapsed());
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
        let mut rest = statements;
        while let Some((first, tail)) = rest.split_first() {
            let requires = rest
                .iter()
                .take_while(|statement| matches!(statement, Statement::Require(_)))
                .count();
            if requires > 1 && self.side_by_side(body) {
                self.requires_side_by_side(&rest[..requires], scope, body)?;
                rest = &rest[requires..];
                continue;
            }
            if let Flow::Reached = self.statement(first, scope, body)? {
                return Ok(Flow::Reached);
            }
            rest = tail;
        }
        Ok(Flow::Continue)
    }

    /// Whether independent requirements are reached side by side here: with `-j` above 1, but
    /// not in a dry run, whose report keeps the order of the Goalfile.
    fn side_by_side(&self, body: &Body) -> bool {
        self.options.jobs > 1 && !self.options.dry_run && body.blocked.is_none()
    }

    /// Consecutive `require` statements, reached by up to `jobs` branches at once.
    fn requires_side_by_side(
        &mut self,
        requires: &'g [Statement],
        scope: &Scope<'g>,
        body: &mut Body<'g>,
    ) -> Result<()> {
        self.check_stop()?;
        let mut wanted = Vec::with_capacity(requires.len());
        for statement in requires {
            if let Statement::Require(require) = statement {
                wanted.push((self.required_instance(require, scope)?, require.span));
            }
        }
        let outcomes = self.in_branches(wanted.len(), |branch, i| {
            let (instance, span) = &wanted[i];
            branch.reach(instance.clone(), Some(*span))
        })?;
        for ((instance, _), outcome) in wanted.iter().zip(outcomes) {
            self.note_requirement(instance, outcome, body);
        }
        Ok(())
    }

    /// Runs `task` for 0..count on up to `jobs` new branches; the first problem wins, preferring
    /// a real one to a branch that only stopped because of it.
    fn in_branches<T: Send>(
        &mut self,
        count: usize,
        task: impl Fn(&mut Evaluator<'g>, usize) -> Result<T> + Sync,
    ) -> Result<Vec<T>> {
        let next = AtomicUsize::new(0);
        let results: Vec<Mutex<Option<Result<T>>>> = (0..count).map(|_| Mutex::new(None)).collect();
        let branches: Vec<Evaluator<'g>> = (0..self.options.jobs.min(count))
            .map(|_| self.fork())
            .collect();
        let branches: Vec<Evaluator<'g>> = std::thread::scope(|threads| {
            let running: Vec<_> = branches
                .into_iter()
                .map(|mut branch| {
                    let (next, results, task) = (&next, &results, &task);
                    threads.spawn(move || {
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(slot) = results.get(i) else { break };
                            *lock(slot) = Some(task(&mut branch, i));
                        }
                        branch
                    })
                })
                .collect();
            running
                .into_iter()
                .filter_map(|thread| thread.join().ok())
                .collect()
        });
        for branch in branches {
            self.absorb(branch);
        }
        let mut values = Vec::with_capacity(count);
        let mut problem: Option<Problem> = None;
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
                None => problem = problem.or_else(|| Some(stopped())),
            }
        }
        match problem {
            Some(problem) => Err(problem),
            None => Ok(values),
        }
    }

    /// Takes over what a finished branch learnt: the modification times it saw (the link
    /// step after a loop of compiles would otherwise stat every object again).
    fn absorb(&mut self, branch: Evaluator<'g>) {
        if branch.commands_seen == self.shared.commands_run.load(Ordering::SeqCst) {
            if self.commands_seen != branch.commands_seen {
                self.mtimes.clear();
                self.commands_seen = branch.commands_seen;
            }
            self.mtimes.extend(branch.mtimes);
        }
    }

    fn check_stop(&self) -> Result<()> {
        if interrupt::interrupted() {
            return Err(interrupted());
        }
        if self.shared.stopped.load(Ordering::Relaxed) {
            return Err(stopped());
        }
        Ok(())
    }

    fn statement(
        &mut self,
        statement: &'g Statement,
        scope: &mut Scope<'g>,
        body: &mut Body<'g>,
    ) -> Result<Flow> {
        self.check_stop()?;
        if body.blocked.is_some()
            && matches!(
                statement,
                Statement::Target(_)
                    | Statement::Run(_)
                    | Statement::MemorySet { .. }
                    | Statement::MemoryDelete { .. }
                    | Statement::Plan(_)
            )
        {
            return Ok(Flow::Continue);
        }
        match statement {
            Statement::Let(definition) => {
                let value = match &definition.value {
                    LetValue::Template(template) => {
                        self.render(template, scope, Context::Literal)?
                    }
                    LetValue::Output(command) => {
                        self.output_of(command, scope, definition.span, "let")?
                    }
                };
                scope.push(&definition.name.text, value);
            }
            Statement::Target(target) => return self.target(target, scope, body),
            Statement::Require(require) => {
                let required = self.required_instance(require, scope)?;
                let outcome = self.reach(required.clone(), Some(require.span))?;
                self.note_requirement(&required, outcome, body);
            }
            Statement::For(each) => {
                let items = self.for_items(&each.source, scope, each.span)?;
                if items.len() > 1 && self.side_by_side(body) && only_requires(&each.body) {
                    let bodies = self.in_branches(items.len(), |branch, i| {
                        let mut scope = scope.clone();
                        scope.push(&each.var.text, items[i].clone());
                        let mut iteration = Body::default();
                        branch.statements(&each.body, &mut scope, &mut iteration)?;
                        Ok(iteration)
                    })?;
                    for iteration in bodies {
                        body.pending = body.pending.take().or(iteration.pending);
                        body.blocked = body.blocked.take().or(iteration.blocked);
                    }
                    return Ok(Flow::Continue);
                }
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
                    self.recipe(&script, scope, recipe.span, recipe.retry)?;
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
            Statement::Plan(plan) => self.plan(plan, scope, body)?,
        }
        Ok(Flow::Continue)
    }

    /// The instance a `require` names, its arguments rendered and bound.
    fn required_instance(&mut self, require: &'g Require, scope: &Scope<'g>) -> Result<Instance> {
        let Some(&goal) = self.shared.goals.get(require.goal.text.as_str()) else {
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
        let values = self
            .bind(&callee.name.text, &callee.params, args)
            .map_err(|problem| {
                let help = problem.help.clone().or_else(|| self.required_by_current());
                self.locate(problem, require.span, "in this requirement")
                    .with_optional_help(help)
            })?;
        Ok(Instance { goal, values })
    }

    /// What a requirement's outcome means for the body that required it.
    fn note_requirement(&self, required: &Instance, outcome: Outcome, body: &mut Body) {
        if outcome.fires() && body.pending.is_none() {
            body.pending = Some(self.describe(required));
        }
        if outcome == Outcome::Failed && body.blocked.is_none() {
            body.blocked = Some(self.describe(required));
        }
    }

    /// Runs a recipe (a `run`, a step of a plan) holding one of the `-j` job slots: an
    /// interruption stops the goal; a failure is tried again as `retry` says, then fails it.
    fn recipe(&mut self, script: &str, scope: &Scope<'g>, span: Span, retry: Retry) -> Result<()> {
        self.report().command(script);
        let mut wait = retry.delay;
        let mut attempt = 1;
        loop {
            let slot = self.shared.jobs.acquire().map_err(|error| {
                Problem::failure("goal::jobs", format!("cannot take a job slot: {error}"))
            })?;
            // Waiting for a slot may have outlasted an interruption.
            self.check_stop()?;
            let finished = self.command(script, scope, Stdout::Show, span);
            drop(slot);
            let finished = finished?;
            if interrupt::interrupted() {
                return Err(interrupted());
            }
            if finished.status.success() {
                return Ok(());
            }
            if attempt > retry.attempts {
                return Err(self.recipe_failed(&finished, span));
            }
            attempt += 1;
            let text = self.current();
            let why = run::describe_status(finished.status);
            self.report()
                .retry(&text, attempt, retry.attempts + 1, wait, &why);
            interrupt::sleep(wait);
            wait = wait.mul_f64(retry.backoff);
        }
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
            self.report().started(&text);
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
            if self.options.explain || (nested && self.report().shows_nested_reached()) {
                let text = self.current();
                if self.options.explain {
                    let why = verdict.reason.as_deref().unwrap_or("its target holds");
                    self.report()
                        .explain(&text, &format!("already reached: {why}"));
                }
                if nested {
                    self.report().reached(&text, false);
                }
            } else if nested {
                self.report().count_reached();
            }
            return Ok(Flow::Reached);
        }
        if !verdict.holds {
            let why = verdict
                .reason
                .unwrap_or_else(|| "its target is false".to_string());
            if self.options.explain && !self.options.dry_run {
                let text = self.current();
                self.report().explain(&text, &format!("fires: {why}"));
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
                .output_of(command, scope, span, "for")?
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
    fn regex(&mut self, pattern: &'g Pattern, anchored: bool) -> Result<Regex> {
        if let Some(regex) = lock(&self.shared.regexes).get(pattern.source.as_str()) {
            return Ok(regex.clone());
        }
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
        lock(&self.shared.regexes).insert(pattern.source.as_str(), regex.clone());
        Ok(regex)
    }

    /// Renders a template in a scope, computing the globals it refers to first.
    fn render(
        &mut self,
        template: &'g Template,
        scope: &Scope<'g>,
        context: Context,
    ) -> Result<String> {
        let local = |name: &str| scope.get(name).map(Cow::Borrowed);
        if template
            .refs()
            .all(|reference| scope.get(&reference.name).is_some())
        {
            return Ok(template.render(context, local));
        }
        let shared = self.shared.clone();
        let mut globals = lock(&shared.globals);
        self.compute_globals_of(template, scope, &mut globals)?;
        Ok(template.render(context, |name| {
            local(name).or_else(|| globals.get(name).map(Cow::Borrowed))
        }))
    }

    /// The value of the global `name`, computed if nothing asked for it yet.
    fn global(&mut self, name: &str) -> Result<Option<String>> {
        let shared = self.shared.clone();
        let mut globals = lock(&shared.globals);
        let Some(position) = globals.position(name) else {
            return Ok(None);
        };
        self.compute_global(position, &mut globals)?;
        Ok(globals.value(position).map(str::to_string))
    }

    /// Computes the globals `template` refers to (other than names in `scope`).
    fn compute_globals_of(
        &mut self,
        template: &'g Template,
        scope: &Scope<'g>,
        globals: &mut Globals<'g>,
    ) -> Result<()> {
        for reference in template.refs() {
            if scope.get(&reference.name).is_none() {
                if let Some(position) = globals.position(&reference.name) {
                    self.compute_global(position, globals)?;
                }
            }
        }
        Ok(())
    }

    /// Computes a global under the lock of all globals, so that every branch sees one value and
    /// a global's command runs once.
    fn compute_global(&mut self, position: usize, globals: &mut Globals<'g>) -> Result<()> {
        if globals.value(position).is_some() {
            return Ok(());
        }
        let definition = &globals.defs[position];
        let empty = Scope::new();
        let (template, context) = match &definition.value {
            LetValue::Template(template) => (template, Context::Literal),
            LetValue::Output(command) => (command, Context::Shell),
        };
        self.compute_globals_of(template, &empty, globals)?;
        let text = template.render(context, |name| globals.get(name).map(Cow::Borrowed));
        let value = match &definition.value {
            LetValue::Template(_) => text,
            // Its command sees only the globals defined before it: computing the others first
            // could need this very value.
            LetValue::Output(_) => {
                let env = owned_env(globals.computed().take(position));
                let finished = self.spawn(&text, env, Stdout::Capture, definition.span)?;
                self.expect_success(&finished, &text, definition.span, "let")?;
                finished.stdout.trim().to_string()
            }
        };
        globals.set(position, value);
        Ok(())
    }

    /// The trimmed standard output of a command (`let output=`, `for output=`); a failing
    /// command is an error, since its output cannot be trusted.
    fn output_of(
        &mut self,
        command: &'g Template,
        scope: &Scope<'g>,
        span: Span,
        what: &str,
    ) -> Result<String> {
        let script = self.render(command, scope, Context::Shell)?;
        let finished = self.command(&script, scope, Stdout::Capture, span)?;
        self.expect_success(&finished, &script, span, what)?;
        Ok(finished.stdout.trim().to_string())
    }

    fn expect_success(
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
                run::describe_status(finished.status),
                script.trim()
            ),
        )
        .at(&sources, span, "this command failed")
        .with_optional_help(self.required_by()))
    }

    /// Runs a shell command with every global (recipes see them all: the ones nothing asked for
    /// yet are computed now) and the scope in its environment.
    fn command(
        &mut self,
        script: &str,
        scope: &Scope<'g>,
        stdout: Stdout,
        span: Span,
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
        self.spawn(script, env, stdout, span)
    }

    /// Runs a shell command with `env` and the Memory socket in its environment.
    fn spawn(
        &mut self,
        script: &str,
        mut env: Vec<(String, String)>,
        stdout: Stdout,
        span: Span,
    ) -> Result<Finished> {
        {
            let mut memory_env = lock(&self.shared.memory_env);
            if memory_env.is_none() {
                let path = self.memory.serve()?;
                tracing::debug!(socket = %path.display(), "serving the Memory to commands");
                if let Some(lock) = self.run_lock {
                    lock.advertise(&path)?;
                }
                *memory_env = Some(self.memory.environment(&path));
            }
            for (name, value) in memory_env.iter().flatten() {
                env.push((name.to_string(), value.clone()));
            }
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let jobs = (stdout == Stdout::Show).then_some(&self.shared.jobs);
        let finished = run::shell(script, &env, stdout, jobs);
        // What the command changed must be seen, by this branch and the others alike.
        self.shared.commands_run.fetch_add(1, Ordering::SeqCst);
        finished.map_err(|error| {
            let sources = self.sources().clone();
            Problem::failure("goal::spawn", format!("could not start /bin/sh: {error}")).at(
                &sources,
                span,
                "running this",
            )
        })
    }

    fn recipe_failed(&mut self, finished: &Finished, span: Span) -> Problem {
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
    }
}

/// A `for` body that only computes values and requires goals: its iterations are independent.
fn only_requires(statements: &[Statement]) -> bool {
    statements
        .iter()
        .all(|statement| matches!(statement, Statement::Let(_) | Statement::Require(_)))
}

fn owned_env<'a>(vars: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    vars.map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// Whether branch `me` waiting for instance `id` would wait forever: the branch reaching `id`
/// waits, directly or through others, for an instance `me` is reaching.
fn waits_for(table: &Table, id: usize, me: usize) -> bool {
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

/// Marks a branch that stopped because another failed: the other's problem is the one shown.
const STOPPED: &str = "goal::stopped";

fn stopped() -> Problem {
    Problem::failure(STOPPED, "stopped: another goal failed")
}

fn interrupted() -> Problem {
    Problem {
        kind: Kind::Interrupted,
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
