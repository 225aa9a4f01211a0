//! The typed Goalfile: what the parser produces, the checker validates and the evaluator walks.
//!
//! Every node keeps a [`Span`] into the file it came from, so that any stage (including the
//! evaluator, long after parsing) can point a diagnostic at the Goalfile text. The whole
//! structure is serializable so a later stage can cache the checked Goalfile instead of
//! re-parsing KDL (which reads only ~1.4 MB/s) on every run.
//!
//! The Goalfile's strings are [`CompactString`]s: names, literals and references are nearly
//! always at most 24 bytes, which it keeps inline. Loading the cache is on every run's path, and
//! with `String` each of them was an allocation of its own (4,000 of the 13,000 allocations of a
//! 1,000-goal chain).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use compact_str::CompactString;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::plan::{Comparison, CostFormula};
use crate::template::Template;

/// A place in one of the Goalfile's source files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Span {
    /// Index into [`Goalfile::files`].
    pub file: u32,
    /// Byte offset into that file's text.
    pub offset: u32,
    pub len: u32,
}

impl Span {
    pub fn new(file: u32, offset: usize, len: usize) -> Span {
        Span {
            file,
            offset: offset as u32,
            len: len as u32,
        }
    }

    pub fn source_span(self) -> miette::SourceSpan {
        (self.offset as usize, self.len as usize).into()
    }
}

/// One file read while parsing: the root Goalfile or an included one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceFile {
    /// The path as the user will recognise it (relative to the working directory when possible).
    pub path: PathBuf,
    /// Only diagnostics quote it: the cache keeps it apart from the Goalfile, to be read only
    /// when one does.
    #[serde(skip)]
    pub text: SourceText,
}

/// The text of a [`SourceFile`]: as parsed, or still in the cache file it was loaded from.
#[derive(Debug, Clone, Default)]
pub struct SourceText {
    text: OnceLock<Arc<String>>,
    cached: Option<crate::cache::CachedText>,
}

impl SourceText {
    pub fn new(text: Arc<String>) -> SourceText {
        SourceText {
            text: OnceLock::from(text),
            cached: None,
        }
    }

    pub(crate) fn cached(cached: crate::cache::CachedText) -> SourceText {
        SourceText {
            text: OnceLock::new(),
            cached: Some(cached),
        }
    }

    /// The text, read from the cache at the first call for a cached Goalfile (empty if the
    /// cache cannot give it: a diagnostic is then shown without the quote).
    pub fn get(&self) -> &Arc<String> {
        self.text.get_or_init(|| {
            Arc::new(
                self.cached
                    .as_ref()
                    .map(crate::cache::CachedText::read)
                    .unwrap_or_default(),
            )
        })
    }
}

/// A name written in the Goalfile, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Name {
    pub text: CompactString,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Goalfile {
    /// `files[0]` is the root Goalfile; includes follow in the order they were read.
    pub files: Vec<SourceFile>,
    /// Global `let` values in definition order (included files spliced at their `include`).
    pub globals: Vec<Let>,
    pub goals: Vec<Goal>,
    pub predicates: Vec<PredicateDef>,
    pub every: Vec<Every>,
    /// `when` blocks, in file order.
    pub when: Vec<When>,
    /// Declared persistent variables, in file order; each is also a global
    /// ([`LetValue::Variable`]) at the place it was declared.
    pub variables: Vec<Variable>,
    /// The steps every `plan` may take.
    pub transitions: Vec<TransitionDef>,
    /// Goalfile-wide hooks: run after every goal that ran.
    pub hooks: Hooks,
}

impl Goalfile {
    /// Index of goals by name. Built on demand: the evaluator builds it once per run.
    pub fn goal_index(&self) -> FxHashMap<&str, usize> {
        self.goals
            .iter()
            .enumerate()
            .map(|(i, goal)| (goal.name.text.as_str(), i))
            .collect()
    }

    pub fn predicate_index(&self) -> FxHashMap<&str, usize> {
        self.predicates
            .iter()
            .enumerate()
            .map(|(i, def)| (def.name.text.as_str(), i))
            .collect()
    }
}

/// A declared parameter of a goal or predicate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Param {
    pub name: Name,
    /// A regex every value must match in full (anchored when compiled).
    pub pattern: Option<Pattern>,
    /// Used when a caller does not bind the parameter. Rendered over globals and earlier params.
    pub default: Option<Template>,
    pub doc: Option<CompactString>,
}

/// A regular expression as written; compiled (and so validated) by the checker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pattern {
    pub source: CompactString,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Goal {
    pub name: Name,
    pub doc: Option<CompactString>,
    pub params: Vec<Param>,
    pub body: Vec<Statement>,
    pub hooks: Hooks,
    /// The whole `goal` node.
    pub span: Span,
}

impl Goal {
    /// The goal's `target`, if it has one (only at the top level of its body).
    pub fn target(&self) -> Option<&Target> {
        self.body.iter().find_map(|statement| match statement {
            Statement::Target(target) => Some(target),
            _ => None,
        })
    }

    /// A goal with no target and no recipe or Memory write of its own (`goal all { require … }`)
    /// only groups what it requires: it is neither shown nor counted, and a dry run finds it
    /// reached unless something it requires would fire.
    pub fn is_grouping(&self) -> bool {
        self.target().is_none() && !acts(&self.body)
    }
}

/// Whether statements run a recipe or write the Memory.
fn acts(statements: &[Statement]) -> bool {
    statements.iter().any(|statement| match statement {
        Statement::Run(_)
        | Statement::MemorySet { .. }
        | Statement::MemoryDelete { .. }
        | Statement::Plan(_)
        | Statement::Set { .. } => true,
        Statement::For(each) => acts(&each.body),
        Statement::Let(_) | Statement::Target(_) | Statement::Require(_) => false,
    })
}

/// `on-failure { … }` and `on-success { … }`: statements run after a goal failed, or after its
/// body ran and its promise held (to mail, notify, clean up). Boxed: few goals have hooks, and
/// inline they made every goal 64 bytes larger (208 instead of 144), in the cache loaded on
/// every run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Hooks {
    pub on_failure: Option<Box<Hook>>,
    pub on_success: Option<Box<Hook>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hook {
    pub body: Vec<Statement>,
    pub span: Span,
}

/// `predicate NAME PARAMS… { predicates… }`: holds when all of its body holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PredicateDef {
    pub name: Name,
    pub doc: Option<CompactString>,
    pub params: Vec<Param>,
    pub body: Vec<Predicate>,
    pub span: Span,
}

/// `every SCHEDULE [name="NAME"] [max-running="N"] [missed="run"|"skip"] { statements… }`: a
/// periodic job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Every {
    pub name: Option<Name>,
    pub schedule: Schedule,
    pub limits: JobLimits,
    /// Whether a firing missed while no daemon ran is made up for once at start.
    pub missed: Missed,
    pub body: Vec<Statement>,
    pub span: Span,
}

impl Every {
    /// The job's name: its `name=`, else `every-N` for the N-th `every` block (1-based) of the
    /// Goalfile, includes spliced in.
    pub fn job_name(&self, index: usize) -> String {
        match &self.name {
            Some(name) => name.text.to_string(),
            None => format!("every-{}", index + 1),
        }
    }
}

/// `missed="run"` (the default) or `missed="skip"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Missed {
    #[default]
    Run,
    Skip,
}

/// Limits every job has: how many of its firings may run at once (`max-running="N"`, default 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobLimits {
    pub max_running: u32,
}

impl Default for JobLimits {
    fn default() -> JobLimits {
        JobLimits { max_running: 1 }
    }
}

/// `when "NAME" [max-running="N"] { condition { predicates… }; statements… }`: a job that runs
/// when its condition turns from false to true.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct When {
    pub name: Name,
    /// Holds when all of its predicates hold; may use `changed`, `increased`, `decreased`.
    pub condition: Target,
    pub limits: JobLimits,
    pub body: Vec<Statement>,
    pub span: Span,
}

/// `var NAME [default="…"] [pattern=#"…"#] [doc="…"]`: a persistent variable. Its value lives in
/// the Memory (set by `goal set` or a `set` statement); templates read it as a global.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Variable {
    pub name: Name,
    /// The value while none was set; may refer to globals defined before the `var`.
    pub default: Option<Template>,
    /// A regex every value must match in full.
    pub pattern: Option<Pattern>,
    pub doc: Option<CompactString>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Schedule {
    /// `every "30 minutes"`.
    Interval {
        text: CompactString,
        every: Duration,
    },
    /// `every cron="*/30 * * * *"`.
    Cron { expression: CompactString },
}

/// Every statement is as large as the largest kind, and every goal's body is a `Vec` of them,
/// loaded from the cache on every run: the rarer large kinds keep their bulk in a `Box` (`for`,
/// `memory-set`'s value, `plan`), so that a statement is no larger than a `let` or a `target`
/// (120 bytes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Statement {
    Let(Let),
    Target(Target),
    Require(Require),
    For(Box<For>),
    Run(Run),
    MemorySet {
        key: Template,
        value: Box<Template>,
        span: Span,
    },
    MemoryDelete {
        key: Template,
        span: Span,
    },
    Plan(Box<Plan>),
    /// `set NAME="value"…`: sets persistent variables, all at once.
    Set {
        assignments: Vec<Arg>,
        span: Span,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Let {
    pub name: Name,
    pub value: LetValue,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum LetValue {
    /// `let x "template"`: rendered literally.
    Template(Template),
    /// `let x output="command"`: the command's trimmed standard output.
    Output(Template),
    /// `var x`: the persistent variable `variables[i]`, read from the Memory.
    Variable(usize),
}

/// `target { … }`: the skip test and the promise. Holds when all its predicates hold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    pub predicate: Predicate,
    pub span: Span,
}

/// `require GOAL name=value…`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Require {
    pub goal: Name,
    pub args: Vec<Arg>,
    pub span: Span,
}

/// A parameter bound by name: `pkg="{dep}"`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Arg {
    pub name: Name,
    pub value: Template,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct For {
    pub var: Name,
    pub source: ForSource,
    pub body: Vec<Statement>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ForSource {
    /// `for x "a" "b" { … }`.
    List(Vec<Template>),
    /// `for f glob="src/*.c" { … }`: matching paths, sorted.
    Glob(Template),
    /// `for dep output="deps-of {pkg}" { … }`: the non-empty trimmed lines of the output.
    Output(Template),
    /// `for w words="{list}" { … }`: the value split on whitespace.
    Words(Template),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub script: Template,
    /// What to do when the recipe fails: a flaky step is run again.
    pub retry: Retry,
    pub span: Span,
}

/// `retries="3" delay="10s" backoff="2"`: up to `attempts` more runs of a failed recipe, the
/// first after `delay`, each next one after the previous wait times `backoff`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Retry {
    pub attempts: u32,
    pub delay: Duration,
    pub backoff: f64,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            attempts: 0,
            delay: Duration::from_secs(1),
            backoff: 1.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Predicate {
    pub kind: PredicateKind,
    /// The whole predicate node, for "this predicate is still false" diagnostics.
    pub span: Span,
}

/// The kinds with two templates box one of them: nearly every goal's target holds a predicate,
/// and inline the second template made every predicate larger by its size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum PredicateKind {
    FileExists(Vec<Template>),
    /// make's rule: every target exists and no source is newer than the oldest target.
    /// Targets are [`Paths::One`] or [`Paths::Words`]; sources are kept in the order of
    /// [`Paths`]' kinds, so the first newer source named in a reason is the same whatever order
    /// they were written in.
    FileNewer {
        targets: Vec<Paths>,
        sources: Vec<Paths>,
    },
    UrlExists {
        url: Template,
        timeout: Option<Duration>,
    },
    UrlContains {
        url: Template,
        text: Box<Template>,
        timeout: Option<Duration>,
    },
    MemoryExists(Template),
    MemoryEquals {
        key: Template,
        value: Box<Template>,
    },
    /// A shell command exits with status 0.
    Sh(Template),
    /// A shell command's trimmed output passes a test.
    Output {
        command: Box<Template>,
        test: OutputTest,
    },
    All(Vec<Predicate>),
    Any(Vec<Predicate>),
    Not(Box<Predicate>),
    /// A true answer of `predicate` is remembered in the Memory under `key`.
    Memo {
        key: Template,
        valid_for: Option<Duration>,
        predicate: Box<Predicate>,
    },
    /// `equal A B`, `not-equal`, `less`, `greater`, `at-most`, `at-least`: two values compared,
    /// as text for (in)equality, as versions for order (runs of digits compare as numbers).
    Compare {
        left: Template,
        comparison: Comparison,
        right: Box<Template>,
    },
    /// `changed NAME`, `increased NAME`, `decreased NAME`: in a `when` condition, the variable
    /// against the value it had when that job last ran.
    Change {
        variable: Name,
        change: Change,
    },
    /// A user-defined predicate.
    Call {
        name: Name,
        args: Vec<Arg>,
    },
}

/// Where `file-newer` finds paths, each a template rendered literally.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Paths {
    /// One path: a target argument, `than=`, `than "…"`.
    One(Template),
    /// `words=`, `than-words=`: the value split on whitespace, as `for words=` splits it.
    Words(Template),
    /// `than-glob=`: the paths matching a pattern.
    Glob(Template),
    /// `depfile=`: the prerequisites a make-format dependency file names.
    Depfile(Template),
}

impl Paths {
    pub fn template(&self) -> &Template {
        match self {
            Paths::One(template)
            | Paths::Words(template)
            | Paths::Glob(template)
            | Paths::Depfile(template) => template,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum OutputTest {
    Equals(Template),
    Matches(Pattern),
}

impl PredicateKind {
    /// The name the predicate is written with in a Goalfile.
    pub fn keyword(&self) -> &str {
        match self {
            PredicateKind::FileExists(_) => "file-exists",
            PredicateKind::FileNewer { .. } => "file-newer",
            PredicateKind::UrlExists { .. } => "url-exists",
            PredicateKind::UrlContains { .. } => "url-contains",
            PredicateKind::MemoryExists(_) => "memory-exists",
            PredicateKind::MemoryEquals { .. } => "memory-equals",
            PredicateKind::Sh(_) => "sh",
            PredicateKind::Output { .. } => "output",
            PredicateKind::All(_) => "all",
            PredicateKind::Any(_) => "any",
            PredicateKind::Not(_) => "not",
            PredicateKind::Memo { .. } => "memo",
            PredicateKind::Compare { comparison, .. } => comparison_keyword(*comparison),
            PredicateKind::Change { change, .. } => change.keyword(),
            PredicateKind::Call { name, .. } => &name.text,
        }
    }
}

/// The keyword of a comparison predicate.
pub fn comparison_keyword(comparison: Comparison) -> &'static str {
    match comparison {
        Comparison::Equal => "equal",
        Comparison::NotEqual => "not-equal",
        Comparison::Less => "less",
        Comparison::Greater => "greater",
        Comparison::LessOrEqual => "at-most",
        Comparison::GreaterOrEqual => "at-least",
    }
}

/// How a variable moved since a job last ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    Changed,
    Increased,
    Decreased,
}

impl Change {
    pub fn keyword(self) -> &'static str {
        match self {
            Change::Changed => "changed",
            Change::Increased => "increased",
            Change::Decreased => "decreased",
        }
    }
}

/// The built-in predicate names, for "did you mean" and for telling a user predicate's name
/// apart from a built-in one.
pub const BUILTIN_PREDICATES: &[&str] = &[
    "file-exists",
    "file-newer",
    "url-exists",
    "url-contains",
    "memory-exists",
    "memory-equals",
    "sh",
    "output",
    "all",
    "any",
    "not",
    "memo",
    "equal",
    "not-equal",
    "less",
    "greater",
    "at-most",
    "at-least",
    "changed",
    "increased",
    "decreased",
];

/// The statement names allowed in goal, `every` and `for` bodies.
pub const STATEMENTS: &[&str] = &[
    "let",
    "target",
    "require",
    "for",
    "run",
    "memory-set",
    "memory-delete",
    "plan",
    "set",
];

/// The name under which the statements after a goal's `target` see its changed sources.
pub const NEWER: &str = "newer";

/// `transition NAME PARAM… cost="…" { when { … }; effects { … }; run "…" }`: a step a `plan`
/// may take. Its parameters are bound by name from where the `plan` stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TransitionDef {
    pub name: Name,
    pub doc: Option<CompactString>,
    pub params: Vec<Name>,
    pub cost: CostFormula,
    pub cost_span: Span,
    pub when: Vec<TagTest>,
    pub effects: Vec<TagEffect>,
    /// Sees the parameters, the globals, `{input}` and `{output}`.
    pub run: Run,
    pub span: Span,
}

/// The names a transition's recipe sees besides its parameters and the globals.
pub const STEP_FILES: [&str; 2] = ["input", "output"];

/// A condition on a tag: `has`, `lacks`, `is`, `compare`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TagTest {
    pub tag: Name,
    pub kind: TagTestKind,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum TagTestKind {
    Has,
    Lacks,
    Is(Template),
    Compare(Comparison, Template),
}

/// A change to a tag: `add`, `remove`, `set`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TagEffect {
    pub tag: Name,
    pub kind: TagEffectKind,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum TagEffectKind {
    Add,
    Remove,
    Set(Template),
}

/// `plan from="…" to="…" { start …; want { … } }`: the cheapest steps from the start's tags to
/// the wanted ones, run in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub from: Template,
    pub to: Template,
    /// `add` and `set` items of `start { … }`.
    pub start: Vec<TagEffect>,
    /// `start output="command"`: more tags, one a line, `NAME` or `NAME=VALUE`.
    pub start_output: Option<Template>,
    pub want: Vec<TagTest>,
    /// How many states the search may explore.
    pub limit: Option<usize>,
    pub span: Span,
}
