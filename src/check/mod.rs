//! Check: static checks over a parsed Goalfile.
//!
//! Everything that can be known without running a command is checked here, and every problem
//! of the file is reported at once: names of goals and predicates, parameters bound by
//! callers, references to values, regular expressions, where a `target` may stand, and
//! requirement cycles that hold whatever the parameters are.

mod cycles;
mod lists;
mod newer;
mod plan;
mod quoting;

use std::collections::HashMap;

use regex::Regex;

use crate::diagnostic::{did_you_mean, LineStarts, Problem, Result, Sources};
use crate::goalfile::{
    Arg, ForSource, Goalfile, Hooks, LetValue, Name, OutputTest, Param, Paths, Pattern, Predicate,
    PredicateKind, Span, Statement, Variable, BUILTIN_PREDICATES, NEWER,
};
use crate::template::Template;
use cycles::Call;

/// Names a goal may not have: `goal NAME` runs the command of that name, so a goal named so
/// could never be reached from the command line. Every subcommand of the CLI (a test holds the
/// CLI to it), and the names of commands planned next, reserved now so that adding them later
/// breaks no Goalfile silently.
pub const RESERVED_NAMES: &[&str] = &[
    // The subcommands.
    "memory",
    "log",
    "status",
    "daemon",
    "tick",
    "set",
    "get",
    "vars",
    "jobs",
    "job",
    "graph",
    "compdb",
    "completions",
    "man",
    "init",
    "fmt",
    "help",
];

/// Reports every static problem of the Goalfile at once.
pub fn check(goalfile: &Goalfile) -> Result<()> {
    let mut checker = Checker::new(goalfile);
    checker.duplicates();
    checker.reserved_names();
    checker.globals();
    checker.goals();
    checker.predicate_defs();
    checker.every();
    checker.when();
    checker.jobs();
    checker.variables();
    checker.transitions();
    checker.lists();
    checker.cycles();
    if checker.problems.is_empty() {
        Ok(())
    } else {
        Err(checker.problems.into())
    }
}

struct Checker<'g> {
    goalfile: &'g Goalfile,
    sources: Sources,
    /// Where the lines of each file start, for [`Checker::position`].
    line_starts: Vec<LineStarts>,
    problems: Vec<Problem>,
    goals: HashMap<&'g str, usize>,
    predicates: HashMap<&'g str, usize>,
    /// Global names with the index of their first definition.
    globals: HashMap<&'g str, usize>,
    /// `var` names with the index of their first declaration.
    variables: HashMap<&'g str, usize>,
    /// Compiled regexes by source (`None`: invalid, already reported); each compiled once.
    regexes: HashMap<String, Option<Regex>>,
}

/// The names visible at one point of a body.
struct Scope<'g> {
    /// Globals with an index below this are visible (a global sees only earlier ones).
    globals_before: usize,
    params: &'g [Param],
    locals: Vec<&'g Name>,
    /// Where a `target` found now would stand.
    place: Place,
    targets: Vec<Span>,
    /// The goal's target, once passed: the statements after it see `{newer}`.
    after_target: Option<Span>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    GoalBody,
    ForBody,
    EveryBody,
    WhenBody,
    /// A `when`'s `condition`: the one place `changed` and the like may stand.
    WhenCondition,
    Hook,
    Elsewhere,
}

impl<'g> Scope<'g> {
    fn new(globals_before: usize, params: &'g [Param], place: Place) -> Scope<'g> {
        Scope {
            globals_before,
            params,
            locals: Vec::new(),
            place,
            targets: Vec::new(),
            after_target: None,
        }
    }
}

impl<'g> Checker<'g> {
    /// "file:line:column" of a span, for help that points at a second place.
    fn position(&self, span: Span) -> String {
        let file = span.file as usize;
        match (self.goalfile.files.get(file), self.line_starts.get(file)) {
            (Some(source), Some(line_starts)) => line_starts.place(
                &source.path.display().to_string(),
                source.text.get(),
                span.offset as usize,
            ),
            _ => String::new(),
        }
    }

    fn new(goalfile: &'g Goalfile) -> Checker<'g> {
        let mut globals = HashMap::new();
        for (index, global) in goalfile.globals.iter().enumerate() {
            globals.entry(global.name.text.as_str()).or_insert(index);
        }
        Checker {
            goalfile,
            sources: Sources::of(goalfile),
            line_starts: goalfile
                .files
                .iter()
                .map(|file| LineStarts::of(file.text.get()))
                .collect(),
            problems: Vec::new(),
            goals: first_by_name(goalfile.goals.iter().map(|goal| &goal.name)),
            predicates: first_by_name(goalfile.predicates.iter().map(|def| &def.name)),
            globals,
            variables: first_by_name(goalfile.variables.iter().map(|v| &v.name)),
            regexes: HashMap::new(),
        }
    }

    fn report(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        let problem = Problem::input(code, message)
            .at(&self.sources, span, label)
            .with_optional_help(help);
        self.problems.push(problem);
    }

    /// A second definition of a name, pointing at the second with help naming the first.
    fn defined_twice(&mut self, code: &'static str, what: &str, first: Span, second: &Name) {
        let help = format!("the first is at {}", self.position(first));
        self.report(
            code,
            format!("{what} `{}` is defined twice", second.text),
            second.span,
            "defined again here",
            Some(help),
        );
    }

    fn duplicates(&mut self) {
        let goalfile = self.goalfile;
        let kinds = [
            (
                "goal::duplicate-goal",
                "goal",
                goalfile.goals.iter().map(|g| &g.name).collect::<Vec<_>>(),
            ),
            (
                "goal::duplicate-predicate",
                "predicate",
                goalfile.predicates.iter().map(|p| &p.name).collect(),
            ),
            (
                "goal::duplicate-global",
                "global",
                goalfile.globals.iter().map(|g| &g.name).collect(),
            ),
            (
                "goal::duplicate-transition",
                "transition",
                goalfile.transitions.iter().map(|t| &t.name).collect(),
            ),
        ];
        for (code, what, names) in kinds {
            let mut first: HashMap<&str, Span> = HashMap::new();
            for name in names {
                match first.get(name.text.as_str()) {
                    Some(&span) => self.defined_twice(code, what, span, name),
                    None => {
                        first.insert(&name.text, name.span);
                    }
                }
            }
        }
    }

    fn reserved_names(&mut self) {
        for goal in &self.goalfile.goals {
            let name = goal.name.text.as_str();
            if RESERVED_NAMES.contains(&name) {
                self.report(
                    "goal::reserved-name",
                    format!(
                        "a goal cannot be named `{name}`: the name is reserved for `goal {name}`"
                    ),
                    goal.name.span,
                    "reserved name",
                    Some(format!(
                        "`goal {name}` is goal's own command; rename the goal (say, `{name}-task`)"
                    )),
                );
            }
        }
    }

    /// Each global may refer to the globals defined before it.
    fn globals(&mut self) {
        for (index, global) in self.goalfile.globals.iter().enumerate() {
            let mut scope = Scope::new(index, &[], Place::Elsewhere);
            self.let_value(&global.value, &mut scope);
        }
    }

    fn goals(&mut self) {
        for goal in &self.goalfile.goals {
            let mut scope = Scope::new(usize::MAX, &goal.params, Place::GoalBody);
            self.params(&goal.params);
            self.statements(&goal.body, &mut scope);
            self.hooks(&goal.hooks, &goal.params);
        }
        // Goalfile-wide hooks run for goals of every shape: only globals can be named.
        self.hooks(&self.goalfile.hooks, &[]);
    }

    /// A hook sees the goal's parameters (and the globals), like the goal's body.
    fn hooks(&mut self, hooks: &'g Hooks, params: &'g [Param]) {
        for hook in [&hooks.on_failure, &hooks.on_success].into_iter().flatten() {
            let mut scope = Scope::new(usize::MAX, params, Place::Hook);
            self.statements(&hook.body, &mut scope);
        }
    }

    fn predicate_defs(&mut self) {
        for def in &self.goalfile.predicates {
            let mut scope = Scope::new(usize::MAX, &def.params, Place::Elsewhere);
            self.params(&def.params);
            for predicate in &def.body {
                self.predicate(predicate, &mut scope);
            }
        }
    }

    fn every(&mut self) {
        for every in &self.goalfile.every {
            let mut scope = Scope::new(usize::MAX, &[], Place::EveryBody);
            self.statements(&every.body, &mut scope);
        }
    }

    /// A `when` sees the globals, like an `every` body; its condition may watch variables.
    fn when(&mut self) {
        for when in &self.goalfile.when {
            let mut condition = Scope::new(usize::MAX, &[], Place::WhenCondition);
            self.predicate(&when.condition.predicate, &mut condition);
            let mut body = Scope::new(usize::MAX, &[], Place::WhenBody);
            self.statements(&when.body, &mut body);
        }
    }

    /// `every` and `when` jobs share one namespace (the daemon, `GOAL_JOB` and the Memory's
    /// `goal/every/NAME` and `goal/when/NAME` keys name them), apart from goals.
    fn jobs(&mut self) {
        let goalfile = self.goalfile;
        // (name, where it is written, whether it is an `every`'s default name)
        let every = goalfile.every.iter().enumerate().map(|(index, every)| {
            let keyword = Span::new(every.span.file, every.span.offset as usize, "every".len());
            match &every.name {
                Some(name) => (name.text.to_string(), name.span, false),
                None => (every.job_name(index), keyword, true),
            }
        });
        let when = goalfile
            .when
            .iter()
            .map(|when| (when.name.text.to_string(), when.name.span, false));
        let mut first: HashMap<String, (Span, bool)> = HashMap::new();
        for (name, span, defaulted) in every.chain(when).collect::<Vec<_>>() {
            let Some(&(earlier, earlier_defaulted)) = first.get(&name) else {
                first.insert(name, (span, defaulted));
                continue;
            };
            let mut help = format!(
                "the first is at {}; `every` and `when` jobs share one set of names",
                self.position(earlier)
            );
            if defaulted || earlier_defaulted {
                help.push_str(
                    "; an `every` without `name=` is called `every-N` (the N-th `every`): \
                     give it a `name=`",
                );
            }
            self.report(
                "goal::duplicate-job",
                format!("job `{name}` is defined twice"),
                span,
                "defined again here",
                Some(help),
            );
        }
    }

    /// Patterns compile and literal defaults match them; a default's references are checked
    /// with the globals, since a `var` is one.
    fn variables(&mut self) {
        for variable in &self.goalfile.variables {
            self.described(&variable.name, &variable.pattern, &variable.default);
        }
    }

    /// Patterns compile; a default refers to globals and earlier parameters only.
    fn params(&mut self, params: &'g [Param]) {
        for (index, param) in params.iter().enumerate() {
            self.described(&param.name, &param.pattern, &param.default);
            if let Some(default) = &param.default {
                let scope = Scope::new(usize::MAX, &params[..index], Place::Elsewhere);
                self.refs(default, &scope);
            }
        }
    }

    /// The pattern of a parameter or `var` compiles, and a literal default matches it.
    fn described(&mut self, name: &Name, pattern: &Option<Pattern>, default: &Option<Template>) {
        match (pattern, default) {
            (Some(pattern), Some(default)) => self.literal_matches(name, pattern, default),
            (Some(pattern), None) => {
                self.regex(pattern, true);
            }
            (None, _) => {}
        }
    }

    /// The compiled regex for a pattern (anchored for parameter patterns), reporting it once.
    fn regex(&mut self, pattern: &Pattern, anchored: bool) -> Option<Regex> {
        let source = if anchored {
            format!("^(?:{})$", pattern.source)
        } else {
            pattern.source.to_string()
        };
        if let Some(compiled) = self.regexes.get(&source) {
            return compiled.clone();
        }
        let compiled = Regex::new(&source);
        if let Err(error) = &compiled {
            let text = error.to_string();
            let reason = text
                .lines()
                .find_map(|line| line.strip_prefix("error: "))
                .unwrap_or(&text)
                .to_string();
            self.report(
                "goal::regex",
                format!("invalid regular expression: {reason}"),
                pattern.span,
                "invalid regex",
                Some("regexes use Rust `regex` syntax; look-around and backreferences are not supported".into()),
            );
        }
        let compiled = compiled.ok();
        self.regexes.insert(source, compiled.clone());
        compiled
    }

    fn statements(&mut self, statements: &'g [Statement], scope: &mut Scope<'g>) {
        for statement in statements {
            self.statement(statement, scope);
        }
    }

    fn statement(&mut self, statement: &'g Statement, scope: &mut Scope<'g>) {
        match statement {
            Statement::Let(let_) => {
                self.let_value(&let_.value, scope);
                self.define_local(&let_.name, scope);
            }
            Statement::Target(target) => {
                self.target_place(target.span, scope);
                self.predicate(&target.predicate, scope);
                self.define_newer(target.span, scope);
            }
            Statement::Require(require) => {
                match self.goals.get(require.goal.text.as_str()) {
                    Some(&index) => {
                        let goal = &self.goalfile.goals[index];
                        self.args(
                            "goal",
                            &goal.name.text,
                            &goal.params,
                            &require.args,
                            require.span,
                        );
                    }
                    None => self.unknown_goal(&require.goal),
                }
                for arg in &require.args {
                    self.refs(&arg.value, scope);
                }
            }
            Statement::For(for_) => {
                match &for_.source {
                    ForSource::List(values) => {
                        for value in values {
                            self.refs(value, scope);
                        }
                    }
                    ForSource::Glob(pattern) => self.glob(pattern, scope),
                    ForSource::Output(command) => self.command(command, scope),
                    ForSource::Words(value) => self.refs(value, scope),
                }
                let outer = (scope.locals.len(), scope.place);
                self.define_local(&for_.var, scope);
                if scope.place == Place::GoalBody {
                    scope.place = Place::ForBody;
                }
                self.statements(&for_.body, scope);
                scope.locals.truncate(outer.0);
                scope.place = outer.1;
            }
            Statement::Run(run) => self.command(&run.script, scope),
            Statement::MemorySet { key, value, .. } => {
                self.refs(key, scope);
                self.refs(value, scope);
            }
            Statement::MemoryDelete { key, .. } => self.refs(key, scope),
            Statement::Plan(plan) => self.plan(plan, scope),
            Statement::Set { assignments, .. } => {
                for assignment in assignments {
                    self.refs(&assignment.value, scope);
                    let pattern = self
                        .variable(&assignment.name)
                        .and_then(|v| v.pattern.as_ref());
                    if let Some(pattern) = pattern {
                        self.literal_matches(&assignment.name, pattern, &assignment.value);
                    }
                }
            }
        }
    }

    fn let_value(&mut self, value: &LetValue, scope: &mut Scope<'g>) {
        match value {
            LetValue::Template(template) => self.refs(template, scope),
            LetValue::Output(command) => self.command(command, scope),
            // A `var`'s default is checked where the `var` stands, like a global's value.
            LetValue::Variable(index) => {
                if let Some(default) = &self.goalfile.variables[*index].default {
                    self.refs(default, scope);
                }
            }
        }
    }

    /// At most one `target`, at the top level of a goal body.
    fn target_place(&mut self, span: Span, scope: &mut Scope<'g>) {
        let misplaced = match scope.place {
            Place::GoalBody => None,
            Place::ForBody => Some("a `target` cannot stand inside `for`"),
            Place::EveryBody => Some("an `every` body has no `target`"),
            Place::WhenBody => Some("a `when` body has no `target`"),
            Place::Hook => Some("a hook has no `target`"),
            Place::WhenCondition | Place::Elsewhere => {
                Some("a `target` is only allowed in a goal body")
            }
        };
        if let Some(message) = misplaced {
            let help = "move the `target` to the top level of a goal body";
            self.report("goal::target", message, span, "here", Some(help.into()));
        } else if let Some(&first) = scope.targets.first() {
            let help = format!(
                "the first is at {}; put all predicates in one `target {{ … }}`",
                self.position(first)
            );
            self.report(
                "goal::target",
                "a goal has at most one `target`",
                span,
                "second target",
                Some(help),
            );
        } else {
            scope.targets.push(span);
        }
    }

    fn predicate(&mut self, predicate: &'g Predicate, scope: &mut Scope<'g>) {
        match &predicate.kind {
            PredicateKind::FileExists(paths) => self.all_refs(paths, scope),
            PredicateKind::FileNewer { targets, sources } => {
                for paths in targets.iter().chain(sources) {
                    match paths {
                        Paths::Glob(pattern) => self.glob(pattern, scope),
                        other => self.refs(other.template(), scope),
                    }
                }
            }
            PredicateKind::UrlExists { url, .. } => self.refs(url, scope),
            PredicateKind::UrlContains { url, text, .. } => {
                self.refs(url, scope);
                self.refs(text, scope);
            }
            PredicateKind::MemoryExists(key) => self.refs(key, scope),
            PredicateKind::Sh(command) => self.command(command, scope),
            PredicateKind::MemoryEquals { key, value } => {
                self.refs(key, scope);
                self.refs(value, scope);
            }
            PredicateKind::Output { command, test } => {
                self.command(command, scope);
                match test {
                    OutputTest::Equals(expected) => self.refs(expected, scope),
                    OutputTest::Matches(pattern) => {
                        self.regex(pattern, false);
                    }
                }
            }
            PredicateKind::All(inner) | PredicateKind::Any(inner) => {
                for predicate in inner {
                    self.predicate(predicate, scope);
                }
            }
            PredicateKind::Not(inner) => self.predicate(inner, scope),
            PredicateKind::Compare { left, right, .. } => {
                self.refs(left, scope);
                self.refs(right, scope);
            }
            PredicateKind::Change { variable, change } => {
                self.variable(variable);
                if scope.place != Place::WhenCondition {
                    self.report(
                        "goal::change",
                        format!(
                            "`{}` is only allowed in the `condition` of a `when`",
                            change.keyword()
                        ),
                        predicate.span,
                        "not in a `when` condition",
                        Some(format!(
                            "`{}` compares a variable with its value when the `when` job last \
                             ran; elsewhere compare values with `equal`, `less` and the like",
                            change.keyword()
                        )),
                    );
                }
            }
            PredicateKind::Memo { key, predicate, .. } => {
                self.refs(key, scope);
                self.predicate(predicate, scope);
            }
            PredicateKind::Call { name, args } => {
                match self.predicates.get(name.text.as_str()) {
                    Some(&index) => {
                        let def = &self.goalfile.predicates[index];
                        self.args(
                            "predicate",
                            &def.name.text,
                            &def.params,
                            args,
                            predicate.span,
                        );
                    }
                    None => self.unknown_predicate(name),
                }
                for arg in args {
                    self.refs(&arg.value, scope);
                }
            }
        }
    }

    /// The `var` called `name`, reported when there is none.
    fn variable(&mut self, name: &Name) -> Option<&'g Variable> {
        if let Some(&index) = self.variables.get(name.text.as_str()) {
            return Some(&self.goalfile.variables[index]);
        }
        let help = did_you_mean(&name.text, self.variables.keys().copied()).or_else(|| {
            Some(if self.globals.contains_key(name.text.as_str()) {
                format!(
                    "`{}` is a `let`; only a `var` keeps a value that can be set and watched",
                    name.text
                )
            } else {
                format!(
                    "declare it at the top level: `var {} default=\"…\"`",
                    name.text
                )
            })
        });
        self.report(
            "goal::unknown-variable",
            format!("there is no variable `{}`", name.text),
            name.span,
            "not a `var`",
            help,
        );
        None
    }

    fn unknown_goal(&mut self, name: &Name) {
        let help = did_you_mean(&name.text, self.goals.keys().copied());
        self.report(
            "goal::unknown-goal",
            format!("unknown goal `{}`", name.text),
            name.span,
            "no such goal",
            help,
        );
    }

    fn unknown_predicate(&mut self, name: &Name) {
        let candidates = self
            .predicates
            .keys()
            .copied()
            .chain(BUILTIN_PREDICATES.iter().copied());
        let help = did_you_mean(&name.text, candidates);
        self.report(
            "goal::unknown-predicate",
            format!("unknown predicate `{}`", name.text),
            name.span,
            "no such predicate",
            help,
        );
    }

    /// The arguments of a `require` or a predicate call against the callee's parameters.
    fn args(&mut self, kind: &str, callee: &str, params: &[Param], args: &[Arg], span: Span) {
        for arg in args {
            let Some(param) = params.iter().find(|p| p.name.text == arg.name.text) else {
                let help =
                    did_you_mean(&arg.name.text, params.iter().map(|p| p.name.text.as_str()))
                        .or_else(|| Some(parameter_list(kind, callee, params)));
                self.report(
                    "goal::unknown-param",
                    format!("{kind} `{callee}` has no parameter `{}`", arg.name.text),
                    arg.name.span,
                    "unknown parameter",
                    help,
                );
                continue;
            };
            if let Some(pattern) = &param.pattern {
                self.literal_matches(&param.name, pattern, &arg.value);
            }
        }
        for param in params {
            let bound = args.iter().any(|arg| arg.name.text == param.name.text);
            if !bound && param.default.is_none() {
                self.report(
                    "goal::missing-param",
                    format!(
                        "parameter `{}` of {kind} `{callee}` is not bound",
                        param.name.text
                    ),
                    span,
                    format!("`{}` missing", param.name.text),
                    Some(format!("add `{}=\"…\"`", param.name.text)),
                );
            }
        }
    }

    /// A literal value (an argument, a default or a `set` value) that can never match the
    /// pattern of the parameter or variable `name` is wrong already.
    fn literal_matches(&mut self, name: &Name, pattern: &Pattern, value: &Template) {
        let Some(regex) = self.regex(pattern, true) else {
            return;
        };
        let Some(literal) = value.as_literal() else {
            return;
        };
        if !regex.is_match(&literal) {
            self.report(
                "goal::pattern-mismatch",
                format!("`{literal}` does not match the pattern of `{}`", name.text),
                value.span,
                format!("must match `{}`", pattern.source),
                Some(format!("the pattern is at {}", self.position(pattern.span))),
            );
        }
    }

    /// A glob pattern: its references, and, when it has none, whether it is a valid pattern
    /// (one built from values can only be checked when it is used).
    fn glob(&mut self, pattern: &Template, scope: &Scope<'g>) {
        self.refs(pattern, scope);
        if let Some(text) = pattern.as_literal() {
            if let Err(error) = glob::Pattern::new(&text) {
                self.report(
                    "goal::invalid-glob",
                    format!("invalid glob pattern `{text}`: {}", error.msg),
                    pattern.span,
                    "this pattern",
                    Some(
                        "a glob uses `*`, `?`, `[abc]` and `**` for any depth of directories"
                            .into(),
                    ),
                );
            }
        }
    }

    fn all_refs(&mut self, templates: &[Template], scope: &Scope<'g>) {
        for template in templates {
            self.refs(template, scope);
        }
    }

    /// Every `{name}` of a template is visible at this point.
    fn refs(&mut self, template: &Template, scope: &Scope<'g>) {
        for reference in template.refs() {
            if self.visible(&reference.name, scope) {
                continue;
            }
            let help = newer::unknown_newer_help(&reference.name)
                .or_else(|| did_you_mean(&reference.name, self.visible_names(scope).into_iter()))
                .or_else(|| {
                    Some(format!(
                        "define it first with `let {} \"…\"`, or declare a parameter",
                        reference.name
                    ))
                });
            self.report(
                "goal::unknown-name",
                format!("`{}` is not defined here", reference.name),
                reference.span,
                "undefined",
                help,
            );
        }
    }

    fn visible(&self, name: &str, scope: &Scope<'g>) -> bool {
        (scope.after_target.is_some() && name == NEWER)
            || scope.locals.iter().any(|local| local.text == name)
            || scope.params.iter().any(|param| param.name.text == name)
            || self
                .globals
                .get(name)
                .is_some_and(|&index| index < scope.globals_before)
    }

    fn visible_names(&self, scope: &Scope<'g>) -> Vec<&'g str> {
        let locals = scope.locals.iter().map(|local| local.text.as_str());
        let params = scope.params.iter().map(|param| param.name.text.as_str());
        let globals = self
            .globals
            .iter()
            .filter(|(_, &index)| index < scope.globals_before)
            .map(|(&name, _)| name);
        let newer = scope.after_target.map(|_| NEWER);
        locals.chain(params).chain(globals).chain(newer).collect()
    }

    /// A local may shadow a global, never a parameter or a local still in scope.
    fn define_local(&mut self, name: &'g Name, scope: &mut Scope<'g>) {
        if self.redefines_newer(name, scope) {
            scope.locals.push(name);
            return;
        }
        let earlier = scope
            .params
            .iter()
            .map(|param| (&param.name, "a parameter"))
            .chain(scope.locals.iter().map(|local| (*local, "a local value")))
            .find(|(earlier, _)| earlier.text == name.text);
        if let Some((earlier, what)) = earlier {
            let help = format!(
                "it is defined at {}; choose another name",
                self.position(earlier.span)
            );
            self.report(
                "goal::redefined",
                format!("`{}` is already {what} here", name.text),
                name.span,
                "defined again",
                Some(help),
            );
        }
        scope.locals.push(name);
    }

    fn cycles(&mut self) {
        let goalfile = self.goalfile;
        let goal_params: Vec<&[Param]> =
            goalfile.goals.iter().map(|g| g.params.as_slice()).collect();
        let mut requires = Vec::new();
        for (from, goal) in goalfile.goals.iter().enumerate() {
            self.collect_requires(from, &goal.body, &mut requires);
        }
        let goal_names: Vec<&str> = goalfile
            .goals
            .iter()
            .map(|g| g.name.text.as_str())
            .collect();
        for cycle in cycles::definite_cycles(&goal_params, &requires) {
            self.report_cycle(
                "goal::requirement-cycle",
                "requirement cycle",
                "requires",
                &goal_names,
                &requires,
                &cycle,
            );
        }
        let def_params: Vec<&[Param]> = goalfile
            .predicates
            .iter()
            .map(|p| p.params.as_slice())
            .collect();
        let mut calls = Vec::new();
        for (from, def) in goalfile.predicates.iter().enumerate() {
            for predicate in &def.body {
                self.collect_calls(from, predicate, &mut calls);
            }
        }
        let def_names: Vec<&str> = goalfile
            .predicates
            .iter()
            .map(|p| p.name.text.as_str())
            .collect();
        for cycle in cycles::definite_cycles(&def_params, &calls) {
            self.report_cycle(
                "goal::predicate-cycle",
                "predicate cycle",
                "uses",
                &def_names,
                &calls,
                &cycle,
            );
        }
    }

    fn collect_requires(&self, from: usize, body: &'g [Statement], out: &mut Vec<Call<'g>>) {
        for statement in body {
            match statement {
                Statement::Require(require) => {
                    if let Some(&to) = self.goals.get(require.goal.text.as_str()) {
                        out.push(Call {
                            from,
                            to,
                            args: &require.args,
                            span: require.span,
                        });
                    }
                }
                Statement::For(for_) => self.collect_requires(from, &for_.body, out),
                _ => {}
            }
        }
    }

    fn collect_calls(&self, from: usize, predicate: &'g Predicate, out: &mut Vec<Call<'g>>) {
        match &predicate.kind {
            PredicateKind::Call { name, args } => {
                if let Some(&to) = self.predicates.get(name.text.as_str()) {
                    out.push(Call {
                        from,
                        to,
                        args,
                        span: predicate.span,
                    });
                }
            }
            PredicateKind::All(inner) | PredicateKind::Any(inner) => {
                for predicate in inner {
                    self.collect_calls(from, predicate, out);
                }
            }
            PredicateKind::Not(inner)
            | PredicateKind::Memo {
                predicate: inner, ..
            } => self.collect_calls(from, inner, out),
            _ => {}
        }
    }

    fn report_cycle(
        &mut self,
        code: &'static str,
        what: &str,
        verb: &str,
        names: &[&str],
        calls: &[Call],
        cycle: &[usize],
    ) {
        let Some(&first) = cycle.first() else { return };
        let shown = &cycle[..cycle.len().min(MAX_CYCLE_STEPS_SHOWN)];
        let mut chain: Vec<&str> = shown.iter().map(|&call| names[calls[call].from]).collect();
        if shown.len() < cycle.len() {
            chain.push("…");
        }
        chain.push(names[calls[first].from]);
        let mut steps: Vec<String> = shown
            .iter()
            .map(|&call| {
                let call = &calls[call];
                format!(
                    "`{}` {verb} `{}` at {}",
                    names[call.from],
                    names[call.to],
                    self.position(call.span)
                )
            })
            .collect();
        if shown.len() < cycle.len() {
            steps.push(format!("{} more steps", cycle.len() - shown.len()));
        }
        self.report(
            code,
            format!("{what}: {}", chain.join(" → ")),
            calls[first].span,
            format!("{verb} `{}`", names[calls[first].to]),
            Some(format!(
                "{}; this repeats forever whatever the parameters",
                steps.join("; ")
            )),
        );
    }
}

/// The steps of a cycle named in its problem: a generated Goalfile can have a cycle through
/// thousands of goals, and finding where each step is written costs a scan of the file.
const MAX_CYCLE_STEPS_SHOWN: usize = 12;

fn first_by_name<'g>(names: impl Iterator<Item = &'g Name>) -> HashMap<&'g str, usize> {
    let mut index = HashMap::new();
    for (i, name) in names.enumerate() {
        index.entry(name.text.as_str()).or_insert(i);
    }
    index
}

fn parameter_list(kind: &str, callee: &str, params: &[Param]) -> String {
    if params.is_empty() {
        format!("{kind} `{callee}` takes no parameters")
    } else {
        let names: Vec<&str> = params.iter().map(|p| p.name.text.as_str()).collect();
        format!("the parameters of `{callee}` are: {}", names.join(", "))
    }
}
