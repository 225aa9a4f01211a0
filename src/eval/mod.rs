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

mod branches;
mod commands;
mod depfiles;
mod files;
mod force;
mod instance;
mod jobs;
mod listings;
mod mtimes;
mod newer;
mod plan;
mod predicate;
mod prefetch;
mod scope;
mod shared;
mod values;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use compact_str::CompactString;
use rustc_hash::FxHashMap as HashMap;

use crate::diagnostic::{did_you_mean, Kind, Problem, Sources};
use crate::goalfile::{
    Arg, Goal, Goalfile, Hook, Hooks, LetValue, Require, Span, Statement, Target,
};
use crate::interrupt;
use crate::logs::Logs;
use crate::memory::{InstanceLock, Memory, RunLock};
use crate::progress;
use crate::report::{Record, Reporter, State, Stats};
use crate::shell;
use crate::template::Context;
pub use depfiles::Depfiles;
pub use force::Force;
pub use listings::Listings;

use branches::{only_requires, stopped, STOPPED};
pub use instance::{describe, Instance};
use mtimes::{Changes, Mtimes, Touched};
pub use predicate::Verdict;
use scope::{Globals, Scope};
use shared::{lock, waits_for, Shared, Table};

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
    /// Which goals fire even when their target holds.
    pub force: Force,
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

/// A recipe's end, as the hooks of its instance see it.
struct LastRecipe {
    /// The instance's id.
    instance: usize,
    status: std::process::ExitStatus,
    log: Option<std::path::PathBuf>,
}

/// What [`Evaluator::claim`] found an instance to be.
enum Claim {
    /// Not reached before: its id, and the instance as the table keeps it.
    New(usize, Arc<Instance>),
    /// Reached already (or being reached, and now settled): its outcome.
    Settled(Result<Outcome>),
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
    /// The files the promise names, once it fires: what its recipes declare they change (see
    /// [`mtimes`]); `None` when it names none.
    outputs: Option<Arc<[CompactString]>>,
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
    /// With a shared Memory: this instance is locked across hosts while its body runs.
    instance_lock: Option<InstanceLock>,
}

/// One branch of a run: the instances it is reaching (its stack) over the shared state.
pub struct Evaluator<'g> {
    goalfile: &'g Goalfile,
    shared: Arc<Shared<'g>>,
    branch: usize,
    /// The ids of the instances being reached, outermost first (a forked branch starts with its
    /// parent's), for cycle chains and "required by".
    stack: Vec<usize>,
    /// The modification times this branch has read and can still trust.
    mtimes: Mtimes,
    /// Reached goals not shown, counted here until the branch ends.
    reached_unshown: usize,
    /// The last recipe this branch ran, for the hooks of its instance.
    last_recipe: Option<LastRecipe>,
    memory: Memory,
    /// Where to advertise the socket, so `goal memory` from another terminal reaches it.
    run_lock: Option<&'g RunLock>,
    options: Options,
    sources: Option<Sources>,
    /// While a `when` condition is evaluated: each variable's value when that job last ran.
    last_run: Option<Arc<HashMap<String, String>>>,
}

// Boxed: a `Problem` is 120 bytes, and every `Result` of the evaluator's recursion (a level
// per goal of a chain) held a slot for one in its stack frame; the boxed error is only
// allocated when something fails.
type Result<T> = std::result::Result<T, Box<Problem>>;

impl<'g> Evaluator<'g> {
    pub fn new(
        goalfile: &'g Goalfile,
        memory: Memory,
        options: Options,
        reporter: Reporter,
    ) -> std::result::Result<Evaluator<'g>, Problem> {
        let jobs = shell::JobSlots::new(options.jobs).map_err(|error| {
            Problem::failure("goal::jobs", format!("cannot make the job slots: {error}"))
        })?;
        let recording = reporter.records();
        let shared = Shared {
            goals: goalfile.goal_index(),
            predicates: goalfile.predicate_index(),
            table: Mutex::new(Table::with_capacity(goalfile.goals.len())),
            settled: Condvar::new(),
            globals: Mutex::new(Globals::new(&goalfile.globals)),
            regexes: Mutex::default(),
            memory_env: Mutex::new(None),
            reporter: Mutex::new(reporter),
            failures: Mutex::default(),
            stopped: AtomicBool::new(false),
            changes: Changes::default(),
            next_branch: AtomicUsize::new(1),
            spare_threads: AtomicUsize::new(options.jobs.saturating_sub(1)),
            variables_set: AtomicBool::new(false),
            environment: Vec::new(),
            jobs,
            logs: Mutex::new(None),
            listings: Mutex::new(None),
            forced: Mutex::default(),
            depfiles: Mutex::new(Depfiles::unkept()),
            recording,
        };
        Ok(Evaluator {
            goalfile,
            shared: Arc::new(shared),
            branch: 0,
            stack: Vec::new(),
            // A file or two a goal, as in a chain of goals, without growing step by step.
            mtimes: Mtimes::new(goalfile.goals.len(), &Changes::default()),
            reached_unshown: 0,
            last_recipe: None,
            memory,
            run_lock: None,
            options,
            sources: None,
            last_run: None,
        })
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

    /// The dry run's answer, when the reporter kept it (see [`Reporter::recording`]).
    pub fn take_record(&self) -> Option<Record> {
        self.report().take_record()
    }

    /// Reuses directory listings kept in `listings`; [`Evaluator::end`] keeps those this run
    /// made.
    pub fn remember_listings(&mut self, listings: Listings) {
        *lock(&self.shared.listings) = Some(listings);
    }

    /// Reuses what the depfiles kept in `depfiles` said; [`Evaluator::end`] keeps those this run
    /// read.
    pub fn remember_depfiles(&mut self, depfiles: Depfiles) {
        *lock(&self.shared.depfiles) = depfiles;
    }

    /// At `-j1`, reads ahead the times of the files the last run asked for `requests` read, kept
    /// in `state_dir` (see [`prefetch`]); [`Evaluator::end`] keeps the list of this run's.
    pub fn read_ahead_files(&mut self, state_dir: &std::path::Path, requests: &[Request]) {
        if self.options.jobs <= 1 {
            let asked: Vec<String> = requests
                .iter()
                .map(|request| {
                    let args = request
                        .args
                        .iter()
                        .map(|(name, value)| format!(" {name}={value}"));
                    std::iter::once(request.goal.clone()).chain(args).collect()
                })
                .collect();
            let asked = asked.join("\n");
            self.mtimes.prefetch = Some(prefetch::Prefetch::start(state_dir, &asked));
        }
    }

    /// Writes the listings and depfiles this run read, unless it is a dry run (see
    /// [`Evaluator::remember_listings`]), and lets go of what the run met without freeing it: the process ends soon after (a
    /// `goal tick` runs one run per job), and freeing every instance, outcome, mtime and listed
    /// path one allocation at a time was 9 % of a no-op's instructions over 1,000 sources.
    pub fn end(mut self) {
        // A dry run reuses what the last run kept, and keeps nothing of its own: it writes
        // nothing at all.
        let keep = !self.options.dry_run;
        if let Some(listings) = lock(&self.shared.listings).take() {
            if keep {
                listings.save();
            }
            std::mem::forget(listings);
        }
        let depfiles = std::mem::replace(&mut *lock(&self.shared.depfiles), Depfiles::unkept());
        if keep {
            depfiles.save();
        }
        std::mem::forget(depfiles);
        if let Some(prefetch) = self.mtimes.prefetch.take() {
            if keep {
                prefetch.save(self.shared.changes.count() > 0);
            }
            std::mem::forget(prefetch);
        }
        std::mem::forget(std::mem::take(&mut *lock(&self.shared.table)));
        std::mem::forget(std::mem::take(&mut self.mtimes));
    }

    /// Keeps the output of every recipe run in `logs`.
    pub fn keep_logs(&mut self, logs: Logs) {
        *lock(&self.shared.logs) = Some(logs);
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
                Err(problem) => problems.push(*problem),
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
            )
            .into());
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
                ..*problem
            })?;
        Ok(Instance { goal, values })
    }

    /// Reaches every instance, as independent requirements: side by side with `-j`, else in
    /// order. With keep-going, every failure is collected and returned at the end.
    pub fn reach_all(&mut self, instances: Vec<Instance>) -> std::result::Result<(), Vec<Problem>> {
        self.force_requested(&instances);
        let reached = if instances.len() > 1 && self.parallel() {
            self.in_branches(instances.len(), |branch, i| {
                branch.reach_requested(instances[i].clone())
            })
            .map(drop)
        } else {
            instances
                .into_iter()
                .try_for_each(|instance| self.reach_requested(instance))
        };
        let stopped_by = reached.err();
        // Counted however the run ended: the summary says what was found reached before.
        let reached = std::mem::take(&mut self.reached_unshown);
        self.report().count_reached(reached);
        if let Some(problem) = stopped_by {
            return Err(vec![*problem]);
        }
        let failures = std::mem::take(&mut *lock(&self.shared.failures));
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures)
        }
    }

    /// Reaches an instance named on the command line, saying so when it was already reached.
    fn reach_requested(&mut self, instance: Instance) -> Result<()> {
        let text = self.describe(&instance);
        let grouping = self.goalfile.goals[instance.goal].is_grouping();
        if self.shared.recording {
            self.record_met(&instance);
        }
        if let Outcome::Reached = self.reach(Arc::new(instance), None)? {
            if !grouping {
                self.report().reached(&text, true);
            }
        }
        Ok(())
    }

    /// Recording: the reporter meets `instance`, required by the instance being reached now.
    #[inline(never)]
    fn record_met(&self, instance: &Instance) {
        let goal = &self.goalfile.goals[instance.goal];
        let arguments = goal
            .params
            .iter()
            .zip(instance.values.iter())
            .map(|(param, value)| (param.name.text.to_string(), value.clone()))
            .collect();
        let requirer = self.stack.last().map(|&id| self.describe_id(id));
        let text = self.describe(instance);
        self.report()
            .met(requirer.as_deref(), &text, &goal.name.text, arguments);
    }

    /// Recording: a recipe the instance being reached would run.
    #[inline(never)]
    fn record_recipe(&mut self, script: &str) {
        let text = self.current();
        self.report().recipe(&text, script);
    }

    /// Recording: what the first `file-newer` of the instance's target makes and reads.
    #[inline(never)]
    fn record_file_newer(&mut self, target: &'g Target, scope: &Scope<'g>) -> Result<()> {
        if let Some((made, read)) = self.first_file_newer(&target.predicate, scope)? {
            let text = self.current();
            self.report().file_newer(&text, &made, read.as_deref());
        }
        Ok(())
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
        Some(format!(
            "required by {}",
            self.requirer_chain(ids).join(" ← ")
        ))
    }

    /// The instances of a stack of requirers, the nearest (the top) first.
    fn requirer_chain(&self, ids: &[usize]) -> Vec<String> {
        ids.iter().rev().map(|&id| self.describe_id(id)).collect()
    }

    // `reach`, `reach_new`, `statements` and `require` are the evaluator's recursion: a chain
    // of N goals nests them N deep, and each level's stack is fresh memory (a page fault per
    // 4 KiB; ~2 KiB a level made them a third of a 1,000-deep chain's no-op). So they keep
    // only the hot path, and everything with large locals (messages, problems, hooks, the
    // other statements) is in functions kept out of line, whose frames are gone by the time
    // the recursion goes deeper.
    fn reach(&mut self, instance: Arc<Instance>, via: Option<Span>) -> Result<Outcome> {
        let (id, instance) = match self.claim(instance, via) {
            Claim::New(id, instance) => (id, instance),
            Claim::Settled(outcome) => return outcome,
        };
        self.stack.push(id);
        let (result, blocked) = self.reach_new(&instance);
        self.settle(id, &instance, result, blocked)
    }

    /// The instance's id if it is new (now owned by this branch), else its outcome: at once
    /// when it has settled, after waiting when another branch is reaching it.
    #[inline(never)]
    fn claim(&mut self, instance: Arc<Instance>, via: Option<Span>) -> Claim {
        let mut table = lock(&self.shared.table);
        if let Some(&id) = table.ids.get(&instance) {
            loop {
                if let Some(outcome) = table.outcomes[id] {
                    return Claim::Settled(Ok(outcome));
                }
                if self.stack.contains(&id) || waits_for(&table, id, self.branch) {
                    drop(table);
                    return Claim::Settled(Err(self.cycle(id, via).into()));
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
                    return Claim::Settled(Err(stopped().into()));
                }
            }
        }
        let id = table.instances.len();
        table.ids.insert(instance.clone(), id);
        table.instances.push(instance.clone());
        table.outcomes.push(None);
        table.owners.push(self.branch);
        drop(table);
        progress::met();
        Claim::New(id, instance)
    }

    /// After the body of the instance `id` (on top of the stack): its hooks, its failure
    /// recorded, and its outcome published to the branches waiting for it. `blocked`: a
    /// requirement's failure stopped its body.
    #[inline(never)]
    fn settle(
        &mut self,
        id: usize,
        instance: &Instance,
        result: Result<Outcome>,
        blocked: bool,
    ) -> Result<Outcome> {
        self.run_hooks(id, instance, &result, blocked);
        if self.shared.recording {
            let state = match result {
                Ok(Outcome::Reached | Outcome::Ran) => State::Reached,
                Ok(Outcome::WouldFire) => State::WouldFire,
                Ok(Outcome::MayFire) => State::MayFire,
                Ok(Outcome::Failed) | Err(_) => State::Failed,
            };
            let failure = result
                .as_ref()
                .err()
                .map(|problem| problem.message.as_str());
            let text = self.describe(instance);
            self.report().settled(&text, state, failure);
        }
        self.stack.pop();
        let settled = match result {
            Ok(outcome) => Ok(outcome),
            Err(problem)
                if self.options.keep_going
                    && problem.kind != Kind::Interrupted
                    && problem.code != STOPPED =>
            {
                lock(&self.shared.failures).push(*problem);
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
        progress::done();
        settled
    }

    /// The goal's own hook, then the Goalfile-wide one: `on-success` after its body ran and its
    /// promise held, `on-failure` after it failed itself (not only blocked by a requirement:
    /// without keep-going the requirement's problem comes up through every goal that required
    /// it, and only the goal that failed runs the hooks). A hook's failure is a note: the
    /// goal's outcome is already decided.
    fn run_hooks(
        &mut self,
        id: usize,
        instance: &Instance,
        result: &Result<Outcome>,
        blocked: bool,
    ) {
        let failure = match result {
            _ if self.options.dry_run || blocked => return,
            Ok(Outcome::Ran) => None,
            Err(problem) if problem.code != STOPPED && problem.kind != Kind::Interrupted => {
                Some(problem)
            }
            _ => return,
        };
        let goal = &self.goalfile.goals[instance.goal];
        let (which, pick): (_, fn(&'g Hooks) -> Option<&'g Hook>) = match failure {
            Some(_) => ("on-failure", |hooks| hooks.on_failure.as_deref()),
            None => ("on-success", |hooks| hooks.on_success.as_deref()),
        };
        // Only this instance's own last recipe, not a requirement's; read before a hook's own
        // recipes replace it.
        let mut recipe_env = Vec::new();
        if let Some(last) = self.last_recipe.as_ref().filter(|last| last.instance == id) {
            let exit = match last.status.code() {
                Some(code) => code.to_string(),
                None => shell::describe_status(last.status),
            };
            recipe_env.push(("GOAL_EXIT", exit));
            if let Some(log) = &last.log {
                recipe_env.push(("GOAL_LOG", log.display().to_string()));
            }
        }
        for hook in [pick(&goal.hooks), pick(&self.goalfile.hooks)]
            .into_iter()
            .flatten()
        {
            let mut scope = Scope::new();
            for (param, value) in goal.params.iter().zip(instance.values.iter()) {
                scope.push(&param.name.text, value.clone());
            }
            scope.push("GOAL_GOAL", goal.name.text.to_string());
            scope.push("GOAL_INSTANCE", self.describe(instance));
            scope.push(
                "GOAL_STATUS",
                if failure.is_some() { "failed" } else { "ok" }.into(),
            );
            if let Some(problem) = failure {
                scope.push("GOAL_ERROR", problem.message.clone());
            }
            for (name, value) in &recipe_env {
                scope.push(name, value.clone());
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

    /// The instance's outcome, and whether a requirement's failure blocked its body.
    fn reach_new(&mut self, instance: &Instance) -> (Result<Outcome>, bool) {
        let goal = &self.goalfile.goals[instance.goal];
        let mut scope = Scope::new();
        for (param, value) in goal.params.iter().zip(instance.values.iter()) {
            scope.push(&param.name.text, value.clone());
        }
        if self.options.explain {
            self.explain_start(goal);
        }
        let mut body = Body::default();
        let flow = self.statements(&goal.body, &mut scope, &mut body);
        let result = self.conclude(goal, flow, &scope, &body);
        if let Err(problem) = &result {
            self.account_unfinished(goal, problem, &body);
        }
        (result, body.blocked.is_some())
    }

    /// Reports and counts an instance that did not finish, by what stopped it: its own failure,
    /// a requirement's failure, or the run stopping (interrupted, or another goal failed). A
    /// grouping goal is counted only when it fails itself (a value it binds, a command of its
    /// own): that failure is the run's.
    #[inline(never)]
    fn account_unfinished(&mut self, goal: &Goal, problem: &Problem, body: &Body) {
        let text = self.current();
        let elapsed = body.started.map(|started| started.elapsed());
        let mut report = self.report();
        // An interruption stops every branch, some with `STOPPED`; a failure elsewhere stops
        // only the branches it does not block.
        let stopping = problem.kind == Kind::Interrupted
            || interrupt::interrupted()
            || (problem.code == STOPPED && body.blocked.is_none());
        match (&body.blocked, elapsed) {
            _ if goal.is_grouping() && (stopping || body.blocked.is_some()) => {}
            (_, Some(elapsed)) if stopping => report.interrupted(&text, elapsed),
            (_, None) if stopping => report.not_started(),
            (Some(requirement), _) => report.blocked(&text, requirement),
            (None, elapsed) => report.failed(&text, elapsed),
        }
    }

    /// `--explain` of a goal without a target, before its body runs.
    #[inline(never)]
    fn explain_start(&mut self, goal: &Goal) {
        if !self.options.dry_run && goal.target().is_none() && !goal.is_grouping() {
            let text = self.current();
            self.report().explain(
                &text,
                "fires: it has no target, so it runs whenever it is required",
            );
        }
    }

    /// What the instance's body came to, once its statements are done.
    #[inline(never)]
    fn conclude(
        &mut self,
        goal: &'g Goal,
        flow: Result<Flow>,
        scope: &Scope<'g>,
        body: &Body<'g>,
    ) -> Result<Outcome> {
        let flow = flow?;
        if let Some(requirement) = &body.blocked {
            if !goal.is_grouping() {
                let text = self.current();
                self.report().blocked(&text, requirement);
            }
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
                self.finish(body);
                Outcome::Ran
            } else {
                Outcome::Reached
            });
        }
        if self.options.dry_run {
            return Ok(self.dry_outcome(goal, body));
        }
        if let Some(target) = body.promise {
            let verdict = self.holds(&target.predicate, scope)?;
            if !verdict.holds {
                return Err(self.broken_promise(target, verdict.reason).into());
            }
        }
        self.finish(body);
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
            let why = format!("requires {requirement}, which may fire first");
            if goal.target().is_some() || body.would_act {
                self.report().may_fire(&text, &why);
            } else {
                // A goal that only groups others is not shown, but a record names it.
                self.report().reason(&text, &why);
            }
            Outcome::MayFire
        } else if body.would_act {
            self.report().would_fire(&text, "it has no target");
            Outcome::WouldFire
        } else {
            Outcome::Reached
        }
    }

    fn broken_promise(&mut self, target: &Target, reason: Option<String>) -> Problem {
        let text = self.current();
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
            let flow = match first {
                Statement::Require(require) => {
                    self.check_stop()?;
                    self.require(require, scope, body)?;
                    Flow::Continue
                }
                _ => self.statement(first, scope, body)?,
            };
            if let Flow::Reached = flow {
                return Ok(Flow::Reached);
            }
            rest = tail;
        }
        Ok(Flow::Continue)
    }

    fn check_stop(&self) -> Result<()> {
        if interrupt::interrupted() {
            return Err(interrupted().into());
        }
        if self.shared.stopped.load(Ordering::Relaxed) {
            return Err(stopped().into());
        }
        Ok(())
    }

    /// Reaches the instance a `require` names, and notes its outcome in the body.
    fn require(&mut self, require: &'g Require, scope: &Scope<'g>, body: &mut Body) -> Result<()> {
        // Shared, not cloned: the body needs it again after reaching it.
        let required = Arc::new(self.required_instance(require, scope)?);
        if self.shared.recording {
            self.record_met(&required);
        }
        match self.reach(required.clone(), Some(require.span)) {
            Ok(outcome) => {
                self.note_requirement(&required, outcome, body);
                Ok(())
            }
            Err(problem) => {
                self.note_failed_requirements([&*required], body);
                Err(problem)
            }
        }
    }

    /// After a requirement's problem stopped the body: the first of `required` that settled as
    /// failed blocks it. None did when the problem is this body's own (a cycle it closes) or the
    /// run is stopping while it waited for another branch.
    #[inline(never)]
    fn note_failed_requirements<'i>(
        &self,
        required: impl IntoIterator<Item = &'i Instance>,
        body: &mut Body,
    ) {
        let table = lock(&self.shared.table);
        let failed = required.into_iter().find(|instance| {
            table
                .ids
                .get(*instance)
                .is_some_and(|&id| table.outcomes[id] == Some(Outcome::Failed))
        });
        if let Some(instance) = failed {
            drop(table);
            body.blocked = body
                .blocked
                .take()
                .or_else(|| Some(self.describe(instance)));
        }
    }

    /// One statement. `statements` calls [`Evaluator::require`] itself for a `require`, so
    /// that this function's frame, sized for the largest statement, is not on the recursion.
    #[inline(never)]
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
                    | Statement::Set { .. }
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
                    // Only ever a global; its value is the global's.
                    LetValue::Variable(_) => {
                        self.global(&definition.name.text)?.unwrap_or_default()
                    }
                };
                scope.push(&definition.name.text, value);
            }
            Statement::Target(target) => return self.target(target, scope, body),
            Statement::Require(require) => self.require(require, scope, body)?,
            Statement::For(each) => {
                let items = self.for_items(&each.source, scope, each.span)?;
                if items.len() > 1 && self.side_by_side(body) && only_requires(&each.body) {
                    // An iteration stopped by a requirement's failure blocks the body too.
                    let blocked = Mutex::new(None);
                    let bodies = self.in_branches(items.len(), |branch, i| {
                        let mut scope = scope.clone();
                        scope.push(&each.var.text, items[i].clone());
                        let mut iteration = Body::default();
                        let flow = branch.statements(&each.body, &mut scope, &mut iteration);
                        if flow.is_err() && iteration.blocked.is_some() {
                            lock(&blocked).get_or_insert(iteration.blocked.take());
                        }
                        flow?;
                        Ok(iteration)
                    });
                    let bodies = bodies.inspect_err(|_| {
                        body.blocked = body.blocked.take().or(lock(&blocked).take().flatten());
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
                if self.shared.recording {
                    self.record_recipe(&script);
                }
                if self.act(body) {
                    let touched = match &body.outputs {
                        Some(outputs) => Touched::Outputs(outputs.clone()),
                        None => Touched::Anything,
                    };
                    let span = recipe.span;
                    self.recipe(&script, scope, span, recipe.retry, "its recipe", touched)?;
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
            Statement::Set { assignments, span } => self.set(assignments, *span, scope, body)?,
        }
        Ok(Flow::Continue)
    }

    /// `set NAME="value"…`: every value is checked against its variable's pattern, then all are
    /// written at once, so no reader sees some set and others not.
    fn set(
        &mut self,
        assignments: &'g [Arg],
        span: Span,
        scope: &Scope<'g>,
        body: &mut Body<'g>,
    ) -> Result<()> {
        let mut values = Vec::with_capacity(assignments.len());
        for assignment in assignments {
            let name = assignment.name.text.as_str();
            let value = self.render(&assignment.value, scope, Context::Literal)?;
            let index = self
                .goalfile
                .variables
                .iter()
                .position(|variable| variable.name.text == name)
                .ok_or_else(|| {
                    Problem::failure("goal::unknown-variable", format!("no variable `{name}`"))
                })?;
            self.check_variable(index, &value)?;
            values.push((name, value));
        }
        if !self.act(body) {
            return Ok(());
        }
        let entries: Vec<(String, String)> = values
            .iter()
            .map(|(name, value)| (crate::variables::key(name), value.clone()))
            .collect();
        self.memory
            .set_all(&entries)
            .map_err(|problem| self.locate(problem, span, "this set"))?;
        // Later templates of this run read the new values.
        let mut globals = lock(&self.shared.globals);
        for (name, value) in values {
            if let Some(position) = globals.position(name) {
                globals.set(position, value);
            }
        }
        drop(globals);
        self.shared.variables_set.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// The instance a `require` names, its arguments rendered and bound.
    fn required_instance(&mut self, require: &'g Require, scope: &Scope<'g>) -> Result<Instance> {
        let Some(&goal) = self.shared.goals.get(require.goal.text.as_str()) else {
            let sources = self.sources().clone();
            return Err(Problem::failure(
                "goal::unknown-goal",
                format!("there is no goal `{}`", require.goal.text),
            )
            .at(&sources, require.goal.span, "unknown goal")
            .into());
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
        if self.shared.recording {
            self.record_file_newer(target, scope)?;
        }
        let forced = self.forced();
        let mut verdict = match forced {
            Some(why) => Verdict {
                holds: false,
                reason: Some(why.to_string()),
            },
            None => self.holds(&target.predicate, scope)?,
        };
        let fires = !verdict.holds || body.pending.is_some();
        if fires && !self.options.dry_run {
            body.instance_lock = self.lock_instance(target)?;
            // Another host may have reached it while this one waited for the lock.
            if body.instance_lock.is_some() && forced.is_none() {
                verdict = self.holds(&target.predicate, scope)?;
            }
        }
        if verdict.holds && body.pending.is_none() {
            let nested = body.started.is_none() && self.stack.len() > 1;
            // Building the instance's text for each of ten thousand reached goals would be
            // the bulk of a no-op run's work: only when it is shown.
            if self.options.explain
                || self.shared.recording
                || (nested && self.report().shows_nested_reached())
            {
                let text = self.current();
                let why = verdict.reason.as_deref().unwrap_or("its target holds");
                if self.shared.recording {
                    self.report().reason(&text, why);
                }
                if self.options.explain {
                    self.report()
                        .explain(&text, &format!("already reached: {why}"));
                }
                if nested {
                    self.report().reached(&text, false);
                }
            } else if nested {
                // Counted by the branch and handed to the reporter at the end: one lock per
                // reached goal would be most of a parallel no-op run's contention.
                self.reached_unshown += 1;
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
            // Forced, it fires whatever its requirements do.
            if body.pending.is_none() || forced.is_some() {
                body.why_fires = Some(why);
            }
        }
        let newer = self.newer_sources(&target.predicate, scope, forced.is_some())?;
        scope.push(crate::goalfile::NEWER, newer);
        if !self.options.dry_run {
            body.outputs = self.outputs(&target.predicate, scope)?;
        }
        body.promise = Some(target);
        Ok(Flow::Continue)
    }

    /// With a shared Memory, the lock on the instance being reached, taken before it fires so
    /// that no other host runs it meanwhile; waiting for it ends when the run stops.
    #[inline(never)]
    fn lock_instance(&mut self, target: &Target) -> Result<Option<InstanceLock>> {
        let text = self.current();
        let keep_waiting = || self.check_stop().map_err(|problem| *problem);
        let locked = self.memory.lock_instance(&text, &keep_waiting);
        locked.map_err(|problem| match problem.kind {
            // Stopped while waiting: the run's stop, not a problem of this target.
            Kind::Interrupted => Box::new(problem),
            _ if problem.code == STOPPED => Box::new(problem),
            _ => self.locate(problem, target.span, "locking before this target"),
        })
    }

    /// Points a problem raised without a place (by the Memory, by binding) at `span`.
    fn locate(
        &mut self,
        problem: impl Into<Box<Problem>>,
        span: Span,
        label: &str,
    ) -> Box<Problem> {
        let problem = problem.into();
        if problem.location.is_some() {
            return problem;
        }
        let sources = self.sources().clone();
        Box::new(problem.at(&sources, span, label))
    }
}

fn interrupted() -> Problem {
    Problem {
        kind: Kind::Interrupted,
        ..Problem::failure("goal::interrupted", "interrupted")
    }
    .with_help("run goal again to continue: whatever finished is found reached")
}
