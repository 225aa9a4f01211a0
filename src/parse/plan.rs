//! Planning nodes: top-level `transition`s and the `plan` statement, with the tag tests and
//! effects they are made of.

use kdl::{KdlEntry, KdlNode};

use super::body::{all_of, header, run, unknown_node};
use super::reader::{value_span, Block, FileCx, Node, Shape};
use crate::goalfile::{
    Name, Plan, Run, Span, TagEffect, TagEffectKind, TagTest, TagTestKind, TransitionDef,
    STEP_FILES,
};
use crate::plan::{is_tag_name, Comparison, CostFormula, Quantity, COST_FORMS, QUANTITY_FORMS};
use crate::template::Template;

const TESTS: &[&str] = &["has", "lacks", "is", "compare"];
const EFFECTS: &[&str] = &["add", "remove", "set"];
/// A start has no tags to remove.
const START: &[&str] = &["add", "set"];

/// `transition NAME PARAM… cost="…" doc="…" { when { … }; effects { … }; run "…" }`.
pub fn transition(cx: &mut FileCx, kdl: &KdlNode) -> Option<TransitionDef> {
    let node = cx.open(kdl, Shape::new(&["cost", "doc"], Block::Required));
    let usage = "transition NAME PARAM… cost=\"5\" { when { … }; effects { … }; run \"…\" }";
    let (name, header) = header(cx, &node, "transition", usage);
    let mut params_ok = header.ok;
    for param in &header.params {
        if STEP_FILES.contains(&param.text.as_str()) {
            cx.report(
                "goal::reserved-name",
                format!("`{}` is the path a step's recipe works on", param.text),
                param.span.source_span(),
                "reserved",
                Some(
                    "`{input}` and `{output}` are given to every step: choose another name".into(),
                ),
            );
            params_ok = false;
        }
    }
    let cost = cost(cx, &node, usage);
    let doc = cx.prop(&node, "doc", FileCx::text);
    let mut when = Some(Vec::new());
    let mut effects = Some(Vec::new());
    let mut recipe: Option<Option<Run>> = None;
    let mut seen: Vec<&str> = Vec::new();
    for child in node.children() {
        let child_name = child.name().value();
        if seen.contains(&child_name) {
            cx.report(
                "goal::transition",
                format!("a transition has at most one `{child_name}`"),
                child.name().span(),
                "given again",
                Some(format!("merge the two `{child_name}` nodes")),
            );
            continue;
        }
        match child_name {
            "when" => when = block(cx, child, TESTS, test),
            "effects" => effects = block(cx, child, EFFECTS, effect),
            "run" => recipe = Some(run(cx, child)),
            other => {
                unknown_node(
                    cx,
                    child,
                    other,
                    &["when", "effects", "run"],
                    "transition part",
                );
                continue;
            }
        }
        seen.push(child_name);
    }
    let Some(recipe) = recipe else {
        cx.report(
            "goal::transition",
            "a transition needs a `run` recipe",
            kdl.span(),
            "no `run`",
            Some("add `run \"command {input} {output}\"`: it writes {output} from {input}".into()),
        );
        return None;
    };
    let (cost, cost_span) = cost?;
    Some(TransitionDef {
        name: name?,
        doc,
        params: Some(header.params).filter(|_| params_ok)?,
        cost,
        cost_span,
        when: when?,
        effects: effects?,
        run: recipe?,
        span: cx.span(kdl.span()),
    })
}

fn cost(cx: &mut FileCx, node: &Node, usage: &str) -> Option<(CostFormula, Span)> {
    let Some(entry) = node.prop("cost") else {
        cx.report(
            "goal::arguments",
            "a transition needs a `cost=`",
            node.kdl.span(),
            "no cost",
            Some(format!("write `{usage}`")),
        );
        return None;
    };
    let text = cx.string(entry)?;
    let span = value_span(entry);
    match CostFormula::parse(text) {
        Some(formula) => Some((formula, cx.span(span))),
        None => {
            cx.report(
                "goal::cost",
                format!("`{text}` is not a cost"),
                span,
                "not a cost",
                Some(COST_FORMS.into()),
            );
            None
        }
    }
}

/// A block of tests or effects: `when { … }`, `effects { … }`, `want { … }`, `start { … }`.
fn block<T>(
    cx: &mut FileCx,
    kdl: &KdlNode,
    allowed: &[&str],
    read: fn(&mut FileCx, &KdlNode) -> Option<T>,
) -> Option<Vec<T>> {
    let node = cx.open(kdl, Shape::new(&[], Block::Required));
    cx.arg_count(&node, 0, Some(0), &format!("{} {{ … }}", node.name));
    items(cx, node.children(), allowed, read)
}

fn items<T>(
    cx: &mut FileCx,
    children: &[KdlNode],
    allowed: &[&str],
    read: fn(&mut FileCx, &KdlNode) -> Option<T>,
) -> Option<Vec<T>> {
    all_of(cx, children, |cx, child| {
        let name = child.name().value();
        if allowed.contains(&name) {
            return read(cx, child);
        }
        let what = if allowed == TESTS {
            "tag test"
        } else {
            "tag change"
        };
        unknown_node(cx, child, name, allowed, what);
        None
    })
}

/// The first argument of a test or effect: a tag name, written literally.
fn tag(cx: &mut FileCx, entry: &KdlEntry) -> Option<Name> {
    let text = cx.string(entry)?;
    let span = value_span(entry);
    if is_tag_name(text) {
        return Some(Name {
            text: text.into(),
            span: cx.span(span),
        });
    }
    cx.report(
        "goal::name",
        format!("`{text}` is not a valid tag name"),
        span,
        "invalid tag name",
        Some("a tag name starts with a letter or `_` and has only letters, digits, `_` and `-`; values go after it: `set \"size\" \"4G\"`".into()),
    );
    None
}

/// `has "T"`, `lacks "T"`, `is "T" "value"`, `compare "T" ">=" "4G"`.
fn test(cx: &mut FileCx, kdl: &KdlNode) -> Option<TagTest> {
    let node = cx.open(kdl, Shape::new(&[], Block::No));
    let (count, usage) = match node.name {
        "is" => (2, "is \"tag\" \"value\""),
        "compare" => (3, "compare \"tag\" \">=\" \"4G\""),
        "has" => (1, "has \"tag\""),
        _ => (1, "lacks \"tag\""),
    };
    if !cx.arg_count(&node, count, Some(count), usage) {
        return None;
    }
    let tag = tag(cx, node.args[0]);
    let kind = match node.name {
        "has" => TagTestKind::Has,
        "lacks" => TagTestKind::Lacks,
        "is" => TagTestKind::Is(cx.template(node.args[1])?),
        _ => compare(cx, node.args[1], node.args[2])?,
    };
    Some(TagTest {
        tag: tag?,
        kind,
        span: cx.span(kdl.span()),
    })
}

fn compare(cx: &mut FileCx, operator: &KdlEntry, value: &KdlEntry) -> Option<TagTestKind> {
    let written = cx.string(operator)?;
    let Some(comparison) = Comparison::parse(written) else {
        let operators: Vec<&str> = Comparison::ALL.iter().map(|(op, _)| *op).collect();
        cx.report(
            "goal::comparison",
            format!("`{written}` is not a comparison"),
            value_span(operator),
            "unknown operator",
            Some(format!("compare with one of {}", operators.join(" "))),
        );
        return None;
    };
    let template = cx.template(value)?;
    if let Some(literal) = template.as_literal() {
        if Quantity::parse(&literal).is_none() {
            cx.report(
                "goal::quantity",
                format!("`{literal}` is not a number or a size"),
                value_span(value),
                "not a quantity",
                Some(QUANTITY_FORMS.into()),
            );
            return None;
        }
    }
    Some(TagTestKind::Compare(comparison, template))
}

/// `add "T"`, `remove "T"`, `set "T" "value"`.
fn effect(cx: &mut FileCx, kdl: &KdlNode) -> Option<TagEffect> {
    let node = cx.open(kdl, Shape::new(&[], Block::No));
    let (count, usage) = match node.name {
        "set" => (2, "set \"tag\" \"value\""),
        "add" => (1, "add \"tag\""),
        _ => (1, "remove \"tag\""),
    };
    if !cx.arg_count(&node, count, Some(count), usage) {
        return None;
    }
    let tag = tag(cx, node.args[0]);
    let kind = match node.name {
        "add" => TagEffectKind::Add,
        "remove" => TagEffectKind::Remove,
        _ => TagEffectKind::Set(cx.template(node.args[1])?),
    };
    Some(TagEffect {
        tag: tag?,
        kind,
        span: cx.span(kdl.span()),
    })
}

/// `plan from="…" to="…" limit="…" { start output="…" { … }; want { … } }`.
pub fn plan(cx: &mut FileCx, kdl: &KdlNode) -> Option<Plan> {
    let node = cx.open(kdl, Shape::new(&["from", "to", "limit"], Block::Required));
    let usage = "plan from=\"{src}\" to=\"{out}\" { start { … }; want { … } }";
    cx.arg_count(&node, 0, Some(0), usage);
    let mut files = ["from", "to"].map(|key| match node.prop(key) {
        Some(entry) => cx.template(entry),
        None => {
            cx.report(
                "goal::arguments",
                format!("a plan needs `{key}=`"),
                kdl.span(),
                format!("no `{key}=`"),
                Some(format!("write `{usage}`")),
            );
            None
        }
    });
    let limit = node.prop("limit").map(|entry| limit(cx, entry));
    let mut start = Some((Vec::new(), None));
    let mut want = None;
    let mut seen: Vec<&str> = Vec::new();
    for child in node.children() {
        let child_name = child.name().value();
        if seen.contains(&child_name) {
            cx.report(
                "goal::plan",
                format!("a plan has at most one `{child_name}`"),
                child.name().span(),
                "given again",
                Some(format!("merge the two `{child_name}` nodes")),
            );
            continue;
        }
        match child_name {
            "start" => start = start_of(cx, child),
            "want" => want = Some(block(cx, child, TESTS, test)),
            other => {
                unknown_node(cx, child, other, &["start", "want"], "plan part");
                continue;
            }
        }
        seen.push(child_name);
    }
    let Some(want) = want else {
        cx.report(
            "goal::plan",
            "a plan needs `want { … }`: the tags to reach",
            kdl.span(),
            "no `want`",
            Some("add e.g. `want { is \"format\" \"qcow2\" }`".into()),
        );
        return None;
    };
    let (start, start_output) = start?;
    Some(Plan {
        from: files[0].take()?,
        to: files[1].take()?,
        start,
        start_output,
        want: want?,
        limit: limit.transpose().ok()?,
        span: cx.span(kdl.span()),
    })
}

type Start = (Vec<TagEffect>, Option<Template>);

/// `start { add …; set … }`, `start output="command"`, or both.
fn start_of(cx: &mut FileCx, kdl: &KdlNode) -> Option<Start> {
    let node = cx.open(kdl, Shape::new(&["output"], Block::Optional));
    cx.arg_count(
        &node,
        0,
        Some(0),
        "start output=\"command\" { add …; set … }",
    );
    let output = match node.prop("output") {
        Some(entry) => Some(cx.template(entry)?),
        None => None,
    };
    let tags = items(cx, node.children(), START, effect)?;
    Some((tags, output))
}

/// A positive number of states.
fn limit(cx: &mut FileCx, entry: &KdlEntry) -> Result<usize, ()> {
    let text = cx.string(entry).ok_or(())?;
    match text.parse::<usize>() {
        Ok(limit) if limit > 0 => Ok(limit),
        _ => {
            cx.report(
                "goal::plan",
                format!("`{text}` is not a limit"),
                value_span(entry),
                "not a positive whole number",
                Some(
                    "the limit is how many states the search may explore: write e.g. \"100000\""
                        .into(),
                ),
            );
            Err(())
        }
    }
}
