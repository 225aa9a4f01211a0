//! What each Goalfile node means: goals, predicate definitions, `every`, statements and
//! predicates, built from nodes whose shape `reader` has checked.

use compact_str::CompactString;
use kdl::KdlNode;

use super::reader::{is_callable_name, value_span, Block, FileCx, Node, Shape};
use crate::diagnostic::did_you_mean;
use crate::goalfile::{
    comparison_keyword, Arg, Change, Every, For, ForSource, Goal, Hook, Hooks, JobLimits, Let,
    LetValue, Missed, Name, OutputTest, Param, Paths, Pattern, Predicate, PredicateDef,
    PredicateKind, Require, Retry, Run, Schedule, Statement, Target, Variable, When,
    BUILTIN_PREDICATES, STATEMENTS,
};
use crate::plan::Comparison;
use crate::template::Template;

/// Names only allowed at the top level of a file.
pub const TOP_LEVEL: &[&str] = &[
    "let",
    "include",
    "goal",
    "predicate",
    "every",
    "when",
    "var",
    "transition",
    "on-failure",
    "on-success",
];

/// The hooks, which close a goal body (and may stand at the top level).
const HOOKS: &[&str] = &["on-failure", "on-success"];

/// `goal NAME PARAM… doc="…" { param…; statements… }`; the block may be left out.
pub fn goal(cx: &mut FileCx, kdl: &KdlNode) -> Option<Goal> {
    let node = cx.open(kdl, Shape::new(&["doc"], Block::Optional));
    let (name, header) = header(cx, &node, "goal", "goal NAME PARAM… { … }");
    let (params, rest) = params(cx, &node, header);
    let first_hook = rest
        .iter()
        .position(|child| HOOKS.contains(&child.name().value()))
        .unwrap_or(rest.len());
    let body = statements(cx, &rest[..first_hook]);
    let hooks = hooks(cx, &rest[first_hook..]);
    let doc = cx.prop(&node, "doc", FileCx::text);
    Some(Goal {
        name: name?,
        doc,
        params: params?,
        body: body?,
        hooks: hooks?,
        span: cx.span(kdl.span()),
    })
}

/// `predicate NAME PARAM… doc="…" { param…; predicates… }`.
pub fn predicate_def(cx: &mut FileCx, kdl: &KdlNode) -> Option<PredicateDef> {
    let node = cx.open(kdl, Shape::new(&["doc"], Block::Required));
    let (name, header) = header(cx, &node, "predicate", "predicate NAME PARAM… { … }");
    let (params, rest) = params(cx, &node, header);
    let body = predicates(cx, &node, rest, 1);
    let doc = cx.prop(&node, "doc", FileCx::text);
    let name = name?;
    if BUILTIN_PREDICATES.contains(&name.text.as_str()) || is_reserved(&name.text) {
        let meaning = if is_reserved(&name.text) {
            "a word of the language"
        } else {
            "a built-in predicate"
        };
        cx.report(
            "goal::builtin-predicate",
            format!("`{}` is {meaning}", name.text),
            name.span.source_span(),
            "defined again here",
            Some("choose another name for your predicate".into()),
        );
        return None;
    }
    Some(PredicateDef {
        name,
        doc,
        params: params?,
        body: body?,
        span: cx.span(kdl.span()),
    })
}

/// `every "30 minutes" name="…" max-running="N" missed="run" { … }`, or with
/// `cron="*/30 * * * *"` instead of the interval.
pub fn every(cx: &mut FileCx, kdl: &KdlNode) -> Option<Every> {
    let props = &["name", "cron", "max-running", "missed"];
    let node = cx.open(kdl, Shape::new(props, Block::Required));
    let usage = "every \"30 minutes\" { … }` or `every cron=\"*/30 * * * *\" { … }";
    let body = statements_only(cx, node.children(), "an `every` body");
    let name = cx.prop(&node, "name", |cx, entry| cx.callable_name(entry, "job"));
    let limits = job_limits(cx, &node);
    let missed = missed(cx, &node);
    let schedule = match (node.args.as_slice(), node.prop("cron")) {
        ([interval], None) => interval_schedule(cx, interval)?,
        ([], Some(cron)) => cron_schedule(cx, cron)?,
        _ => {
            cx.report(
                "goal::schedule",
                "`every` needs exactly one schedule: an interval or `cron=`",
                kdl.span(),
                "here",
                Some(format!("write `{usage}`")),
            );
            return None;
        }
    };
    Some(Every {
        name,
        schedule,
        limits: limits?,
        missed: missed?,
        body: body?,
        span: cx.span(kdl.span()),
    })
}

fn interval_schedule(cx: &mut FileCx, entry: &kdl::KdlEntry) -> Option<Schedule> {
    let every = cx.duration(entry)?;
    let text = cx.text(entry)?;
    if every.is_zero() {
        cx.report(
            "goal::duration",
            "an `every` interval must be longer than zero",
            value_span(entry),
            "zero",
            Some("write a duration such as \"30 minutes\"".into()),
        );
        return None;
    }
    Some(Schedule::Interval { text, every })
}

fn cron_schedule(cx: &mut FileCx, entry: &kdl::KdlEntry) -> Option<Schedule> {
    let expression = cx.text(entry)?;
    let parsed = croner::Cron::new(&expression)
        .with_seconds_optional()
        .parse();
    match parsed {
        Ok(_) => Some(Schedule::Cron { expression }),
        Err(error) => {
            cx.report(
                "goal::cron",
                format!("invalid cron expression: {error}"),
                value_span(entry),
                "invalid cron expression",
                Some("write five fields, minute hour day month weekday: \"*/30 * * * *\"".into()),
            );
            None
        }
    }
}

/// `max-running="N"` of a job: how many of its firings may run at once, 1 or more.
fn job_limits(cx: &mut FileCx, node: &Node) -> Option<JobLimits> {
    let Some(entry) = node.prop("max-running") else {
        return Some(JobLimits::default());
    };
    let max_running = cx.count(entry)?;
    if max_running == 0 {
        // Zero would mean the job never runs: surely not what was meant.
        cx.report(
            "goal::max-running",
            "`max-running` must be at least 1",
            value_span(entry),
            "zero",
            Some("write `max-running=\"1\"` (the default) to never run two firings at once".into()),
        );
        return None;
    }
    Some(JobLimits { max_running })
}

/// `missed="run"` or `missed="skip"`: what a daemon does at start about a firing it missed.
fn missed(cx: &mut FileCx, node: &Node) -> Option<Missed> {
    const WAYS: [(&str, Missed); 2] = [("run", Missed::Run), ("skip", Missed::Skip)];
    let Some(entry) = node.prop("missed") else {
        return Some(Missed::default());
    };
    let written = cx.string(entry)?;
    if let Some((_, missed)) = WAYS.iter().find(|(word, _)| *word == written) {
        return Some(*missed);
    }
    let help = did_you_mean(written, WAYS.iter().map(|(word, _)| *word)).unwrap_or_else(|| {
        "write `missed=\"run\"` (the default: run once at start) or `missed=\"skip\"`".into()
    });
    cx.report(
        "goal::missed",
        format!("`{written}` is not one of `run` and `skip`"),
        value_span(entry),
        "unknown value",
        Some(help),
    );
    None
}

/// `when "NAME" max-running="N" { condition { predicate… }; statement… }`: the condition comes
/// first so the block reads "when this holds, do that".
pub fn when(cx: &mut FileCx, kdl: &KdlNode) -> Option<When> {
    let node = cx.open(kdl, Shape::new(&["max-running"], Block::Required));
    let usage = "when NAME { condition { predicate… }; statement… }";
    let name = if cx.arg_count(&node, 1, Some(1), usage) {
        cx.callable_name(node.args[0], "job")
    } else {
        None
    };
    let limits = job_limits(cx, &node);
    let children = node.children();
    let (condition, rest) = leading_condition(cx, &node, usage);
    let first_is_condition = rest.len() < children.len();
    let body = all_of(cx, rest, |cx, child| {
        if is_condition(child) {
            misplaced_condition(cx, child, first_is_condition);
            return None;
        }
        body_statement(cx, child, "a `when` body")
    });
    Some(When {
        name: name?,
        condition: condition?,
        limits: limits?,
        body: body?,
        span: cx.span(kdl.span()),
    })
}

/// The `condition` opening a `when`'s block, and the statements after it (the whole block when
/// it does not open with one). A block without any `condition` is reported here; a misplaced
/// one is reported with the statements.
fn leading_condition<'k>(
    cx: &mut FileCx,
    node: &Node<'k>,
    usage: &str,
) -> (Option<Target>, &'k [KdlNode]) {
    let children = node.children();
    if let Some((first, rest)) = children
        .split_first()
        .filter(|(first, _)| is_condition(first))
    {
        return (conjunction_block(cx, first), rest);
    }
    // No block at all is already a missing block.
    if node.kdl.children().is_some() && !children.iter().any(is_condition) {
        cx.report(
            "goal::condition",
            "a `when` needs a `condition { … }`",
            node.kdl.name().span(),
            "no condition",
            Some(format!("write `{usage}`")),
        );
    }
    (None, children)
}

fn is_condition(kdl: &KdlNode) -> bool {
    kdl.name().value() == "condition"
}

/// A `condition` that is not the first child of its `when`.
fn misplaced_condition(cx: &mut FileCx, kdl: &KdlNode, first_is_condition: bool) {
    let (message, help) = if first_is_condition {
        (
            "a `when` has one `condition`",
            "put all predicates in the first `condition { … }`; they must all hold",
        )
    } else {
        (
            "`condition` must be the first child of `when`",
            "move it before the statements",
        )
    };
    cx.report(
        "goal::condition",
        message,
        kdl.name().span(),
        "here",
        Some(help.into()),
    );
}

/// `var NAME default="…" pattern=#"…"# doc="…"`: a persistent variable, described like a
/// parameter.
pub fn var(cx: &mut FileCx, kdl: &KdlNode) -> Option<Variable> {
    let node = cx.open(kdl, Shape::new(DESCRIPTION, Block::No));
    let usage = "var NAME default=\"value\" pattern=#\"regex\"# doc=\"text\"";
    if !cx.arg_count(&node, 1, Some(1), usage) {
        return None;
    }
    let name = cx.value_name(node.args[0]);
    let description = description(cx, &node)?;
    Some(Variable {
        name: name?,
        default: description.default,
        pattern: description.pattern,
        doc: description.doc,
        span: cx.span(kdl.span()),
    })
}

/// The properties that describe a value: a `param` or a `var`.
const DESCRIPTION: &[&str] = &["pattern", "default", "doc"];

struct Description {
    pattern: Option<Pattern>,
    default: Option<Template>,
    doc: Option<CompactString>,
}

/// The `pattern=`, `default=` and `doc=` of a `param` or `var`; `None` if any is wrong.
fn description(cx: &mut FileCx, node: &Node) -> Option<Description> {
    let errors_before = cx.problems.len();
    let description = Description {
        pattern: cx.prop(node, "pattern", FileCx::pattern),
        default: cx.prop(node, "default", FileCx::template),
        doc: cx.prop(node, "doc", FileCx::text),
    };
    (cx.problems.len() == errors_before).then_some(description)
}

/// The name and parameter list of a goal or predicate header. The list holds the parameters
/// that could be read even when others could not, so `param` nodes are not reported twice.
pub(super) fn header(
    cx: &mut FileCx,
    node: &Node,
    what: &str,
    usage: &str,
) -> (Option<Name>, Header) {
    if !cx.arg_count(node, 1, None, usage) {
        return (None, Header::default());
    }
    let name = cx.callable_name(node.args[0], what);
    let mut params: Vec<Name> = Vec::new();
    let mut ok = true;
    for entry in &node.args[1..] {
        match cx.value_name(entry) {
            Some(param) if params.iter().any(|p| p.text == param.text) => {
                cx.report(
                    "goal::param",
                    format!("parameter `{}` is declared twice", param.text),
                    param.span.source_span(),
                    "declared again",
                    None,
                );
                ok = false;
            }
            Some(param) => params.push(param),
            None => ok = false,
        }
    }
    (name, Header { params, ok })
}

#[derive(Default)]
pub(super) struct Header {
    pub params: Vec<Name>,
    /// Every parameter of the header was read.
    pub ok: bool,
}

/// Reads the leading `param` nodes of a body into the header's parameters; returns them (`None`
/// when anything was wrong, already reported) and the rest of the body.
fn params<'k>(
    cx: &mut FileCx,
    node: &Node<'k>,
    header: Header,
) -> (Option<Vec<Param>>, &'k [KdlNode]) {
    let children = node.children();
    let count = children
        .iter()
        .take_while(|child| child.name().value() == "param")
        .count();
    let mut params: Vec<Param> = header
        .params
        .into_iter()
        .map(|name| Param {
            name,
            pattern: None,
            default: None,
            doc: None,
        })
        .collect();
    let mut described = vec![false; params.len()];
    let mut ok = header.ok;
    for child in &children[..count] {
        ok &= param(cx, child, &mut params, &mut described);
    }
    (Some(params).filter(|_| ok), &children[count..])
}

/// `param NAME pattern=… default=… doc=…`: fills in the header parameter `NAME`.
fn param(cx: &mut FileCx, kdl: &KdlNode, params: &mut [Param], described: &mut [bool]) -> bool {
    let node = cx.open(kdl, Shape::new(DESCRIPTION, Block::No));
    if !cx.arg_count(
        &node,
        1,
        Some(1),
        "param NAME pattern=#\"…\"# default=\"…\"",
    ) {
        return false;
    }
    let Some(name) = cx.value_name(node.args[0]) else {
        return false;
    };
    let Some(index) = params.iter().position(|p| p.name.text == name.text) else {
        let help = did_you_mean(&name.text, params.iter().map(|p| p.name.text.as_str()))
            .unwrap_or_else(|| "declare it in the header: `goal NAME PARAM… { … }`".into());
        cx.report(
            "goal::param",
            format!("`{}` is not a parameter of this header", name.text),
            name.span.source_span(),
            "not in the header",
            Some(help),
        );
        return false;
    };
    if std::mem::replace(&mut described[index], true) {
        cx.report(
            "goal::param",
            format!("parameter `{}` is described twice", name.text),
            name.span.source_span(),
            "described again",
            Some("merge the two `param` nodes".into()),
        );
        return false;
    }
    let Some(description) = description(cx, &node) else {
        return false;
    };
    let param = &mut params[index];
    param.pattern = description.pattern;
    param.default = description.default;
    param.doc = description.doc;
    true
}

/// The hooks closing a goal body: statements do not follow them, since they are not run in
/// order with the body but after it.
fn hooks(cx: &mut FileCx, nodes: &[KdlNode]) -> Option<Hooks> {
    let mut hooks = Hooks::default();
    let errors_before = cx.problems.len();
    for kdl in nodes {
        match kdl.name().value() {
            "on-failure" => add_hook(cx, &mut hooks.on_failure, kdl),
            "on-success" => add_hook(cx, &mut hooks.on_success, kdl),
            other => cx.report(
                "goal::hook",
                format!("`{other}` after a hook"),
                kdl.name().span(),
                "after `on-failure` or `on-success`",
                Some("statements come first; `on-failure` and `on-success` close the goal".into()),
            ),
        }
    }
    (cx.problems.len() == errors_before).then_some(hooks)
}

/// Reads an `on-failure` or `on-success` block into `slot`; a second one is an error.
pub fn add_hook(cx: &mut FileCx, slot: &mut Option<Box<Hook>>, kdl: &KdlNode) {
    let name = kdl.name().value();
    if slot.is_some() {
        cx.report(
            "goal::hook",
            format!("a second `{name}`"),
            kdl.name().span(),
            "second hook",
            Some(format!("put all its statements in one `{name} {{ … }}`")),
        );
        return;
    }
    let node = cx.open(kdl, Shape::new(&[], Block::Required));
    let place = format!("an `{name}` block");
    if let Some(body) = statements_only(cx, node.children(), &place) {
        *slot = Some(Box::new(Hook {
            body,
            span: cx.span(kdl.span()),
        }));
    }
}

/// Statements of a body that takes no `param` nodes.
fn statements_only(cx: &mut FileCx, children: &[KdlNode], place: &str) -> Option<Vec<Statement>> {
    all_of(cx, children, |cx, child| body_statement(cx, child, place))
}

/// A statement of a body that takes no `param` nodes; `place` names the body in the error.
fn body_statement(cx: &mut FileCx, kdl: &KdlNode, place: &str) -> Option<Statement> {
    if kdl.name().value() != "param" {
        return statement(cx, kdl);
    }
    cx.report(
        "goal::param",
        format!("`param` is not allowed in {place}"),
        kdl.name().span(),
        "here",
        Some("`param` describes a parameter of a goal or predicate".into()),
    );
    None
}

/// Walks every node (reporting all problems); `None` if any was wrong.
pub(super) fn all_of<T>(
    cx: &mut FileCx,
    children: &[KdlNode],
    mut read: impl FnMut(&mut FileCx, &KdlNode) -> Option<T>,
) -> Option<Vec<T>> {
    let items: Vec<Option<T>> = children.iter().map(|child| read(cx, child)).collect();
    items.into_iter().collect()
}

fn statements(cx: &mut FileCx, children: &[KdlNode]) -> Option<Vec<Statement>> {
    all_of(cx, children, statement)
}

fn statement(cx: &mut FileCx, kdl: &KdlNode) -> Option<Statement> {
    match kdl.name().value() {
        "let" => let_(cx, kdl).map(Statement::Let),
        "target" => conjunction_block(cx, kdl).map(Statement::Target),
        "require" => require(cx, kdl).map(Statement::Require),
        "for" => for_(cx, kdl).map(|each| Statement::For(Box::new(each))),
        "run" => run(cx, kdl).map(Statement::Run),
        "memory-set" => memory_set(cx, kdl),
        "memory-delete" => memory_delete(cx, kdl),
        "plan" => super::plan::plan(cx, kdl).map(|plan| Statement::Plan(Box::new(plan))),
        "set" => set(cx, kdl),
        "param" => {
            cx.report(
                "goal::param",
                "`param` must come before the statements of a body",
                kdl.name().span(),
                "after a statement",
                Some("move the `param` nodes to the start of the body".into()),
            );
            None
        }
        other => {
            unknown_node(cx, kdl, other, STATEMENTS, "statement");
            None
        }
    }
}

/// Reports an unknown node name, with a hint when the name belongs somewhere else.
pub fn unknown_node(cx: &mut FileCx, kdl: &KdlNode, name: &str, valid: &[&str], what: &str) {
    let help = if name == "param" {
        Some("`param` nodes come first in a goal or predicate body".into())
    } else if STATEMENTS.contains(&name) && what != "statement" {
        Some(format!("`{name}` is a statement: put it in a goal body"))
    } else if BUILTIN_PREDICATES.contains(&name) && what != "predicate" {
        Some(format!(
            "`{name}` is a predicate: put it in `target {{ … }}`"
        ))
    } else if TOP_LEVEL.contains(&name) && what != "top-level node" {
        Some(format!(
            "`{name}` is only allowed at the top level of a file"
        ))
    } else {
        did_you_mean(name, valid.iter().copied())
            .or_else(|| Some(format!("expected one of: {}", valid.join(", "))))
    };
    cx.report(
        "goal::unknown-node",
        format!("unknown {what} `{name}`"),
        kdl.name().span(),
        format!("not a {what}"),
        help,
    );
}

/// `let NAME "template"` or `let NAME output="command"`: a global or a local.
pub fn let_(cx: &mut FileCx, kdl: &KdlNode) -> Option<Let> {
    let node = cx.open(kdl, Shape::new(&["output"], Block::No));
    let usage = "let NAME \"value\"` or `let NAME output=\"command\"";
    let value = match (node.args.len(), node.prop("output")) {
        (2, None) => cx.template(node.args[1]).map(LetValue::Template),
        (1, Some(output)) => cx.template(output).map(LetValue::Output),
        _ => {
            cx.report(
                "goal::arguments",
                "`let` needs a name and exactly one value",
                kdl.span(),
                "here",
                Some(format!("write `{usage}`")),
            );
            return None;
        }
    };
    let name = cx.value_name(node.args[0]);
    Some(Let {
        name: name?,
        value: value?,
        span: cx.span(kdl.span()),
    })
}

/// `target { predicates… }` or a `when`'s `condition { predicates… }`: one predicate that holds
/// when all of them hold.
fn conjunction_block(cx: &mut FileCx, kdl: &KdlNode) -> Option<Target> {
    let node = cx.open(kdl, Shape::new(&[], Block::Required));
    cx.arg_count(
        &node,
        0,
        Some(0),
        &format!("{} {{ predicate… }}", node.name),
    );
    let predicates = predicates(cx, &node, node.children(), 1)?;
    Some(Target {
        predicate: conjunction(predicates, cx.span(kdl.span())),
        span: cx.span(kdl.span()),
    })
}

/// One predicate stays itself (so a broken promise names it); several become `all`.
fn conjunction(mut predicates: Vec<Predicate>, span: crate::goalfile::Span) -> Predicate {
    if predicates.len() == 1 {
        if let Some(only) = predicates.pop() {
            return only;
        }
    }
    Predicate {
        kind: PredicateKind::All(predicates),
        span,
    }
}

/// `require GOAL name="value"…`.
fn require(cx: &mut FileCx, kdl: &KdlNode) -> Option<Require> {
    let node = cx.open(kdl, Shape::any_props(Block::No));
    let usage = "require GOAL param=\"value\"…";
    if !cx.arg_count(&node, 1, Some(1), usage) {
        return None;
    }
    let goal = cx.callable_name(node.args[0], "goal");
    let args = named_args(cx, &node);
    Some(Require {
        goal: goal?,
        args: args?,
        span: cx.span(kdl.span()),
    })
}

/// Properties as parameter bindings.
fn named_args(cx: &mut FileCx, node: &Node) -> Option<Vec<Arg>> {
    let args: Vec<Option<Arg>> = node
        .props
        .iter()
        .map(|entry| {
            let key = entry.name()?;
            let value = cx.template(entry)?;
            Some(Arg {
                name: Name {
                    text: key.value().into(),
                    span: cx.span(key.span()),
                },
                value,
            })
        })
        .collect();
    args.into_iter().collect()
}

/// `for VAR "a" "b" { … }`, or one of `glob=`, `output=`, `words=`.
fn for_(cx: &mut FileCx, kdl: &KdlNode) -> Option<For> {
    let node = cx.open(
        kdl,
        Shape::new(&["glob", "output", "words"], Block::Required),
    );
    let usage = "for VAR \"a\" \"b\" { … }` or `for VAR glob=\"src/*.c\" { … }";
    if !cx.arg_count(&node, 1, None, usage) {
        return None;
    }
    let var = cx.value_name(node.args[0]);
    let list = &node.args[1..];
    let source = match (list.is_empty(), node.props.as_slice()) {
        (false, []) => cx.templates(list).map(ForSource::List),
        (true, [prop]) => {
            let value = cx.template(prop);
            match prop.name().map(|name| name.value()) {
                Some("glob") => value.map(ForSource::Glob),
                Some("output") => value.map(ForSource::Output),
                Some("words") => value.map(ForSource::Words),
                _ => None,
            }
        }
        _ => {
            cx.report(
                "goal::one-of",
                "`for` needs exactly one source: a list of values, `glob=`, `output=` or `words=`",
                kdl.span(),
                "here",
                Some(format!("write `{usage}`")),
            );
            None
        }
    };
    let body = statements_only(cx, node.children(), "a `for` body");
    Some(For {
        var: var?,
        source: source?,
        body: body?,
        span: cx.span(kdl.span()),
    })
}

/// A node with exactly one template argument and nothing else.
fn single_template<'k>(
    cx: &mut FileCx,
    kdl: &'k KdlNode,
    props: &'static [&'static str],
    usage: &str,
) -> Option<(Node<'k>, crate::template::Template)> {
    let node = cx.open(kdl, Shape::new(props, Block::No));
    if !cx.arg_count(&node, 1, Some(1), usage) {
        return None;
    }
    let template = cx.template(node.args[0])?;
    Some((node, template))
}

pub(super) fn run(cx: &mut FileCx, kdl: &KdlNode) -> Option<Run> {
    let usage = "run \"shell command\" retries=\"3\" delay=\"10s\" backoff=\"2\"";
    let (node, script) = single_template(cx, kdl, &["retries", "delay", "backoff"], usage)?;
    let attempts = cx.prop(&node, "retries", FileCx::count);
    let delay = cx.prop(&node, "delay", FileCx::duration);
    let backoff = cx.prop(&node, "backoff", FileCx::factor);
    if attempts.is_none() && (node.prop("delay").is_some() || node.prop("backoff").is_some()) {
        let entry = node.prop("delay").or(node.prop("backoff"))?;
        cx.report(
            "goal::arguments",
            "`delay` and `backoff` only mean something with `retries`",
            entry.span(),
            "without retries=",
            Some(format!("write `{usage}`")),
        );
        return None;
    }
    let default = Retry::default();
    Some(Run {
        script,
        retry: Retry {
            attempts: attempts.unwrap_or(default.attempts),
            delay: delay.unwrap_or(default.delay),
            backoff: backoff.unwrap_or(default.backoff),
        },
        span: cx.span(kdl.span()),
    })
}

fn memory_set(cx: &mut FileCx, kdl: &KdlNode) -> Option<Statement> {
    let node = cx.open(kdl, Shape::new(&[], Block::No));
    if !cx.arg_count(&node, 2, Some(2), "memory-set \"key\" \"value\"") {
        return None;
    }
    let key = cx.template(node.args[0]);
    let value = cx.template(node.args[1]);
    Some(Statement::MemorySet {
        key: key?,
        value: Box::new(value?),
        span: cx.span(kdl.span()),
    })
}

/// `set NAME="value"…`: the names are checked against the `var`s later.
fn set(cx: &mut FileCx, kdl: &KdlNode) -> Option<Statement> {
    let node = cx.open(kdl, Shape::any_props(Block::No));
    let usage = "set NAME=\"value\"…";
    if !cx.arg_count(&node, 0, Some(0), usage) {
        return None;
    }
    if node.props.is_empty() {
        cx.report(
            "goal::arguments",
            "`set` needs at least one variable to set",
            kdl.span(),
            "nothing to set",
            Some(format!("write `{usage}`")),
        );
        return None;
    }
    Some(Statement::Set {
        assignments: named_args(cx, &node)?,
        span: cx.span(kdl.span()),
    })
}

fn memory_delete(cx: &mut FileCx, kdl: &KdlNode) -> Option<Statement> {
    let (_, key) = single_template(cx, kdl, &[], "memory-delete \"key\"")?;
    Some(Statement::MemoryDelete {
        key,
        span: cx.span(kdl.span()),
    })
}

/// The predicates of a block, at least `min` of them.
fn predicates(
    cx: &mut FileCx,
    node: &Node,
    children: &[KdlNode],
    min: usize,
) -> Option<Vec<Predicate>> {
    if children.len() < min && node.kdl.children().is_some() {
        cx.report(
            "goal::arguments",
            format!(
                "`{}` needs at least {min} predicate(s) in its block",
                node.name
            ),
            node.kdl.span(),
            "empty block",
            Some(format!("write `{} {{ file-exists \"out\" }}`", node.name)),
        );
        return None;
    }
    all_of(cx, children, predicate)
}

fn predicate(cx: &mut FileCx, kdl: &KdlNode) -> Option<Predicate> {
    let kind = match kdl.name().value() {
        "file-exists" => file_exists(cx, kdl),
        "file-newer" => file_newer(cx, kdl),
        "url-exists" => url_exists(cx, kdl),
        "url-contains" => url_contains(cx, kdl),
        "memory-exists" => single_template(cx, kdl, &[], "memory-exists \"key\"")
            .map(|(_, key)| PredicateKind::MemoryExists(key)),
        "memory-equals" => memory_equals(cx, kdl),
        "sh" => single_template(cx, kdl, &[], "sh \"command\"")
            .map(|(_, command)| PredicateKind::Sh(command)),
        "output" => output(cx, kdl),
        "all" => nested(cx, kdl).map(PredicateKind::All),
        "any" => nested(cx, kdl).map(PredicateKind::Any),
        "not" => not(cx, kdl),
        "memo" => memo(cx, kdl),
        "changed" => change(cx, kdl, Change::Changed),
        "increased" => change(cx, kdl, Change::Increased),
        "decreased" => change(cx, kdl, Change::Decreased),
        name if comparison_named(name).is_some() => compare(cx, kdl),
        name if is_reserved(name) || !is_callable_name(name) => {
            unknown_node(cx, kdl, name, BUILTIN_PREDICATES, "predicate");
            None
        }
        _ => call(cx, kdl),
    }?;
    Some(Predicate {
        kind,
        span: cx.span(kdl.span()),
    })
}

/// Names that mean something else in the language, so they cannot name a user predicate call.
fn is_reserved(name: &str) -> bool {
    STATEMENTS.contains(&name) || TOP_LEVEL.contains(&name) || name == "param"
}

fn file_exists(cx: &mut FileCx, kdl: &KdlNode) -> Option<PredicateKind> {
    let node = cx.open(kdl, Shape::new(&[], Block::No));
    if !cx.arg_count(&node, 1, None, "file-exists \"path\"…") {
        return None;
    }
    cx.templates(&node.args).map(PredicateKind::FileExists)
}

/// The properties and children of `file-newer` that give sources, each a kind of [`Paths`].
const FILE_NEWER_SOURCES: [&str; 4] = ["than", "than-words", "than-glob", "depfile"];

/// `file-newer "t"… words="…" than="s" than-words="…" than-glob="p" depfile="d"`, and/or
/// children `than "a"…`, `than-words "…"…`, `than-glob "p"…`, `depfile "d"…`.
fn file_newer(cx: &mut FileCx, kdl: &KdlNode) -> Option<PredicateKind> {
    const PROPERTIES: [&str; 5] = ["words", "than", "than-words", "than-glob", "depfile"];
    let node = cx.open(kdl, Shape::new(&PROPERTIES, Block::Optional));
    let usage = "file-newer \"target\"… than=\"source\"` or `depfile=\"build/a.d\"";
    let errors_before = cx.problems.len();
    let mut targets: Vec<Paths> = cx
        .templates(&node.args)
        .unwrap_or_default()
        .into_iter()
        .map(Paths::One)
        .collect();
    targets.extend(cx.prop(&node, "words", FileCx::template).map(Paths::Words));
    if targets.is_empty() && cx.problems.len() == errors_before {
        cx.report(
            "goal::arguments",
            "`file-newer` needs at least one target: an argument or `words=`",
            kdl.span(),
            "no target",
            Some(format!("write `{usage}`")),
        );
    }
    let mut sources = Vec::new();
    for name in FILE_NEWER_SOURCES {
        if let Some(template) = cx.prop(&node, name, FileCx::template) {
            sources.push(paths_of(name, template));
        }
    }
    for child in node.children() {
        let name = child.name().value();
        if !FILE_NEWER_SOURCES.contains(&name) {
            unknown_node(cx, child, name, &FILE_NEWER_SOURCES, "`file-newer` source");
            continue;
        }
        let source = cx.open(child, Shape::new(&[], Block::No));
        if cx.arg_count(&source, 1, None, &format!("{name} \"…\"…")) {
            let templates = cx.templates(&source.args).unwrap_or_default();
            sources.extend(
                templates
                    .into_iter()
                    .map(|template| paths_of(name, template)),
            );
        }
    }
    if sources.is_empty() && cx.problems.len() == errors_before {
        cx.report(
            "goal::arguments",
            "`file-newer` needs sources to compare with: `than=`, `than-words=`, `than-glob=` or `depfile=`",
            kdl.span(),
            "no sources",
            Some(format!(
                "write `{usage}`, or `file-exists` for targets without sources"
            )),
        );
    }
    if cx.problems.len() != errors_before {
        return None;
    }
    // Stable: the order within a kind is the order written.
    sources.sort_by_key(|paths| match paths {
        Paths::One(_) => 0,
        Paths::Words(_) => 1,
        Paths::Glob(_) => 2,
        Paths::Depfile(_) => 3,
    });
    Some(PredicateKind::FileNewer { targets, sources })
}

/// The sources a `file-newer` property or child called `name` gives.
fn paths_of(name: &str, template: Template) -> Paths {
    match name {
        "than-words" => Paths::Words(template),
        "than-glob" => Paths::Glob(template),
        "depfile" => Paths::Depfile(template),
        _ => Paths::One(template),
    }
}

fn url_exists(cx: &mut FileCx, kdl: &KdlNode) -> Option<PredicateKind> {
    let (node, url) = single_template(cx, kdl, &["timeout"], "url-exists \"https://…\"")?;
    Some(PredicateKind::UrlExists {
        url,
        timeout: cx.prop(&node, "timeout", FileCx::duration),
    })
}

fn url_contains(cx: &mut FileCx, kdl: &KdlNode) -> Option<PredicateKind> {
    let usage = "url-contains \"https://…\" text=\"needle\"";
    let (node, url) = single_template(cx, kdl, &["text", "timeout"], usage)?;
    let Some(text) = node.prop("text") else {
        cx.report(
            "goal::arguments",
            "`url-contains` needs `text=`",
            kdl.span(),
            "no text",
            Some(format!("write `{usage}`")),
        );
        return None;
    };
    Some(PredicateKind::UrlContains {
        url,
        text: Box::new(cx.template(text)?),
        timeout: cx.prop(&node, "timeout", FileCx::duration),
    })
}

fn memory_equals(cx: &mut FileCx, kdl: &KdlNode) -> Option<PredicateKind> {
    let node = cx.open(kdl, Shape::new(&[], Block::No));
    if !cx.arg_count(&node, 2, Some(2), "memory-equals \"key\" \"value\"") {
        return None;
    }
    let key = cx.template(node.args[0]);
    let value = cx.template(node.args[1]);
    Some(PredicateKind::MemoryEquals {
        key: key?,
        value: Box::new(value?),
    })
}

/// `output "cmd" equals="…"` or `output "cmd" matches=#"regex"#`.
fn output(cx: &mut FileCx, kdl: &KdlNode) -> Option<PredicateKind> {
    let usage = "output \"command\" equals=\"text\"` or `output \"command\" matches=#\"regex\"#";
    let (node, command) = single_template(cx, kdl, &["equals", "matches"], usage)?;
    let test = match (node.prop("equals"), node.prop("matches")) {
        (Some(equals), None) => OutputTest::Equals(cx.template(equals)?),
        (None, Some(matches)) => OutputTest::Matches(cx.pattern(matches)?),
        _ => {
            cx.report(
                "goal::one-of",
                "`output` needs exactly one of `equals=` and `matches=`",
                kdl.span(),
                "here",
                Some(format!("write `{usage}`")),
            );
            return None;
        }
    };
    Some(PredicateKind::Output {
        command: Box::new(command),
        test,
    })
}

fn nested(cx: &mut FileCx, kdl: &KdlNode) -> Option<Vec<Predicate>> {
    let node = cx.open(kdl, Shape::new(&[], Block::Required));
    cx.arg_count(
        &node,
        0,
        Some(0),
        &format!("{} {{ predicate… }}", node.name),
    );
    predicates(cx, &node, node.children(), 1)
}

fn not(cx: &mut FileCx, kdl: &KdlNode) -> Option<PredicateKind> {
    let node = cx.open(kdl, Shape::new(&[], Block::Required));
    cx.arg_count(&node, 0, Some(0), "not { predicate }");
    let mut inner = predicates(cx, &node, node.children(), 1)?;
    if inner.len() > 1 {
        cx.report(
            "goal::arguments",
            "`not` takes exactly one predicate",
            kdl.span(),
            "here",
            Some("write `not { any { … } }` or `not { all { … } }`".into()),
        );
        return None;
    }
    inner.pop().map(|only| PredicateKind::Not(Box::new(only)))
}

/// The comparison whose predicate is called `name` (`equal`, `at-most`, …).
fn comparison_named(name: &str) -> Option<Comparison> {
    Comparison::ALL
        .iter()
        .map(|(_, comparison)| *comparison)
        .find(|comparison| comparison_keyword(*comparison) == name)
}

/// `equal "a" "b"`, `less "a" "b"`, …: two values.
fn compare(cx: &mut FileCx, kdl: &KdlNode) -> Option<PredicateKind> {
    let node = cx.open(kdl, Shape::new(&[], Block::No));
    let comparison = comparison_named(node.name)?;
    let usage = format!("{} \"value\" \"value\"", node.name);
    if !cx.arg_count(&node, 2, Some(2), &usage) {
        return None;
    }
    let left = cx.template(node.args[0]);
    let right = cx.template(node.args[1]);
    Some(PredicateKind::Compare {
        left: left?,
        comparison,
        right: Box::new(right?),
    })
}

/// `changed NAME`, `increased NAME`, `decreased NAME`: whether they may stand here, and whether
/// NAME is a `var`, is for the checker, which sees the whole file.
fn change(cx: &mut FileCx, kdl: &KdlNode, change: Change) -> Option<PredicateKind> {
    let node = cx.open(kdl, Shape::new(&[], Block::No));
    let usage = format!("{} VARIABLE", change.keyword());
    if !cx.arg_count(&node, 1, Some(1), &usage) {
        return None;
    }
    let variable = cx.value_name(node.args[0])?;
    Some(PredicateKind::Change { variable, change })
}

/// `memo "key" for="1 hour" { predicates… }`.
fn memo(cx: &mut FileCx, kdl: &KdlNode) -> Option<PredicateKind> {
    let node = cx.open(kdl, Shape::new(&["for"], Block::Required));
    let usage = "memo \"key\" for=\"1 hour\" { predicate… }";
    if !cx.arg_count(&node, 1, Some(1), usage) {
        return None;
    }
    let key = cx.template(node.args[0]);
    let valid_for = cx.prop(&node, "for", FileCx::duration);
    let inner = predicates(cx, &node, node.children(), 1)?;
    Some(PredicateKind::Memo {
        key: key?,
        valid_for,
        predicate: Box::new(conjunction(inner, cx.span(kdl.span()))),
    })
}

/// `NAME arg="value"…`: a user predicate, checked against its definition later.
fn call(cx: &mut FileCx, kdl: &KdlNode) -> Option<PredicateKind> {
    let node = cx.open(kdl, Shape::any_props(Block::No));
    let name = kdl.name().value();
    if let Some(first) = node.args.first() {
        // Positional arguments are what built-in predicates take: a name close to a built-in
        // one is far more likely a typo of it than a user predicate called the wrong way.
        let builtin = did_you_mean(name, BUILTIN_PREDICATES.iter().copied());
        match builtin {
            Some(help) => cx.report(
                "goal::unknown-predicate",
                format!("unknown predicate `{name}`"),
                kdl.name().span(),
                "not a predicate",
                Some(help),
            ),
            None => cx.report(
                "goal::arguments",
                format!("arguments of `{name}` are bound by name"),
                first.span(),
                "positional argument",
                Some(format!("write `{name} param=\"value\"`")),
            ),
        }
        return None;
    }
    Some(PredicateKind::Call {
        name: Name {
            text: name.into(),
            span: cx.span(kdl.name().span()),
        },
        args: named_args(cx, &node)?,
    })
}
