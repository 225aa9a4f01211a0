//! Reading one KDL node: its arguments, properties and block, with every type, name and shape
//! problem reported once, in one place, so the walkers in `body` only say what a node means.

use std::time::Duration;

use compact_str::CompactString;
use kdl::{KdlEntry, KdlNode, KdlValue};
use miette::SourceSpan;

use crate::diagnostic::{did_you_mean, Problem, Sources};
use crate::goalfile::{Name, Pattern, Span};
use crate::template::{is_value_name, Template};

/// The file being walked and the problems found in it so far.
pub struct FileCx<'a> {
    pub file: u32,
    pub text: &'a str,
    pub sources: &'a Sources,
    pub problems: &'a mut Vec<Problem>,
}

/// Whether a node takes a child block.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Block {
    No,
    Optional,
    Required,
}

/// The shape of a node: its properties (`None`: any name, checked later against parameters)
/// and its block.
#[derive(Clone, Copy)]
pub struct Shape {
    pub props: Option<&'static [&'static str]>,
    pub block: Block,
}

impl Shape {
    pub const fn new(props: &'static [&'static str], block: Block) -> Shape {
        Shape {
            props: Some(props),
            block,
        }
    }

    pub const fn any_props(block: Block) -> Shape {
        Shape { props: None, block }
    }
}

/// A node whose shape has been checked: positional arguments and properties apart.
pub struct Node<'k> {
    pub kdl: &'k KdlNode,
    pub name: &'k str,
    pub args: Vec<&'k KdlEntry>,
    pub props: Vec<&'k KdlEntry>,
}

impl<'k> Node<'k> {
    pub fn prop(&self, key: &str) -> Option<&'k KdlEntry> {
        self.props
            .iter()
            .copied()
            .find(|entry| entry.name().map(|name| name.value()) == Some(key))
    }

    pub fn children(&self) -> &'k [KdlNode] {
        self.kdl
            .children()
            .map(|document| document.nodes())
            .unwrap_or_default()
    }
}

/// The span of an entry's value alone (an entry's span includes `key=` and a type annotation).
pub fn value_span(entry: &KdlEntry) -> SourceSpan {
    let span = entry.span();
    match entry.format() {
        Some(format) if format.value_repr.len() <= span.len() => {
            let len = format.value_repr.len();
            (span.offset() + span.len() - len, len).into()
        }
        _ => span,
    }
}

/// Where the string's content starts inside its written form, when every byte of the content
/// is written as itself (no escapes, not a dedented multi-line string).
fn content_offset(repr: &str, value: &str) -> Option<usize> {
    if repr == value {
        return Some(0);
    }
    let hashes = repr.len() - repr.trim_start_matches('#').len();
    let quoted = &repr[hashes..];
    if quoted.starts_with("\"\"\"") {
        return None;
    }
    let body = quoted
        .strip_suffix(&repr[..hashes])?
        .strip_prefix('"')?
        .strip_suffix('"')?;
    (body == value).then_some(hashes + 1)
}

fn describe(value: &KdlValue) -> &'static str {
    match value {
        KdlValue::String(_) => "a string",
        KdlValue::Integer(_) | KdlValue::Float(_) => "a number",
        KdlValue::Bool(_) => "a boolean",
        KdlValue::Null => "#null",
    }
}

/// Goal and predicate names: `[A-Za-z_][A-Za-z0-9_-]*`.
pub fn is_callable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl FileCx<'_> {
    pub fn span(&self, span: SourceSpan) -> Span {
        Span::new(self.file, span.offset(), span.len())
    }

    pub fn report(
        &mut self,
        code: &'static str,
        message: impl Into<String>,
        span: SourceSpan,
        label: impl Into<String>,
        help: Option<String>,
    ) {
        let problem = Problem::input(code, message)
            .at(self.sources, self.span(span), label)
            .with_optional_help(help);
        self.problems.push(problem);
    }

    /// Checks a node against `shape` and splits its entries. Problems with the node's shape are
    /// reported; the node is still returned so its meaning can be checked too.
    pub fn open<'k>(&mut self, kdl: &'k KdlNode, shape: Shape) -> Node<'k> {
        let name = kdl.name().value();
        if let Some(ty) = kdl.ty() {
            self.type_annotation(ty.span());
        }
        let mut node = Node {
            kdl,
            name,
            args: Vec::new(),
            props: Vec::new(),
        };
        for entry in kdl.entries() {
            if let Some(ty) = entry.ty() {
                self.type_annotation(ty.span());
            }
            self.lint_cut_value(entry);
            match entry.name() {
                None => node.args.push(entry),
                Some(key) => {
                    self.check_property(&node, shape, entry, key.value());
                    node.props.push(entry);
                }
            }
        }
        self.check_block(&node, shape.block);
        node
    }

    fn type_annotation(&mut self, span: SourceSpan) {
        self.report(
            "goal::type-annotation",
            "type annotations are not used in a Goalfile",
            span,
            "type annotation",
            Some("remove the `(…)`".into()),
        );
    }

    /// `url-exists https://x.org/a` reads as `url-exists "https:"`: `//` starts a comment.
    fn lint_cut_value(&mut self, entry: &KdlEntry) {
        let (Some(format), KdlValue::String(value)) = (entry.format(), entry.value()) else {
            return;
        };
        if format.value_repr == *value && value.ends_with(':') {
            self.report(
                "goal::unquoted-url",
                format!("the bare value `{value}` is cut short: `//` starts a comment in KDL"),
                value_span(entry),
                "the value ends here",
                Some(format!("quote the whole value: \"{value}//…\"")),
            );
        }
    }

    fn check_property(&mut self, node: &Node, shape: Shape, entry: &KdlEntry, key: &str) {
        let key_span = entry.name().map(|name| name.span()).unwrap_or(entry.span());
        if node.prop(key).is_some() {
            self.report(
                "goal::duplicate-property",
                format!("`{key}` is given twice"),
                key_span,
                "given again here",
                Some(format!("give `{key}` once")),
            );
            return;
        }
        let Some(allowed) = shape.props else { return };
        if !allowed.contains(&key) {
            let help = did_you_mean(key, allowed.iter().copied()).or_else(|| {
                Some(if allowed.is_empty() {
                    format!("`{}` takes no properties", node.name)
                } else {
                    format!("`{}` takes: {}", node.name, allowed.join(", "))
                })
            });
            self.report(
                "goal::unknown-property",
                format!("unknown property `{key}` on `{}`", node.name),
                key_span,
                "unknown property",
                help,
            );
        }
    }

    fn check_block(&mut self, node: &Node, block: Block) {
        let kdl = node.kdl;
        match (block, kdl.children()) {
            (Block::No, Some(children)) => self.report(
                "goal::unexpected-block",
                format!("`{}` takes no block", node.name),
                self.block_span(kdl, children.span()),
                "a block starts here",
                Some(format!(
                    "`{{` starts a child block in KDL; if it belongs to the value, quote the \
                     whole value, e.g. `{} \"echo {{x}}\"`",
                    node.name
                )),
            ),
            (Block::Required, None) => self.report(
                "goal::missing-block",
                format!("`{}` needs a block `{{ … }}`", node.name),
                kdl.span(),
                "no block",
                None,
            ),
            _ => {}
        }
    }

    /// From a block's `{` to the end of its node (kdl's block span covers only its content).
    fn block_span(&self, kdl: &KdlNode, content: SourceSpan) -> SourceSpan {
        let open = self
            .text
            .get(..content.offset())
            .and_then(|before| before.rfind('{'))
            .unwrap_or(content.offset());
        let end = kdl.span().offset() + kdl.span().len();
        (open, end.saturating_sub(open).max(1)).into()
    }

    /// Checks the number of positional arguments; `usage` shows the right form.
    pub fn arg_count(&mut self, node: &Node, min: usize, max: Option<usize>, usage: &str) -> bool {
        let count = node.args.len();
        let (message, span) = if count < min {
            let wanted = match max {
                Some(max) if max == min => format!("{min}"),
                _ => format!("at least {min}"),
            };
            (
                format!("`{}` needs {wanted} argument(s), found {count}", node.name),
                node.kdl.span(),
            )
        } else if max.is_some_and(|max| count > max) {
            let max = max.unwrap_or_default();
            let extra = node.args[max].span();
            (
                format!("`{}` takes {max} argument(s), found {count}", node.name),
                extra,
            )
        } else {
            return true;
        };
        self.report(
            "goal::arguments",
            message,
            span,
            "here",
            Some(format!("write `{usage}`")),
        );
        false
    }

    /// The entry's string value; a number, boolean or null is reported.
    pub fn string<'k>(&mut self, entry: &'k KdlEntry) -> Option<&'k str> {
        if let KdlValue::String(text) = entry.value() {
            return Some(text);
        }
        let repr = entry
            .format()
            .map(|format| format.value_repr.clone())
            .unwrap_or_else(|| entry.value().to_string());
        self.report(
            "goal::type",
            format!("expected a string, found {}", describe(entry.value())),
            value_span(entry),
            "not a string",
            Some(format!("quote it: \"{repr}\"")),
        );
        None
    }

    pub fn template(&mut self, entry: &KdlEntry) -> Option<Template> {
        let text = self.string(entry)?;
        let value = value_span(entry);
        let repr = entry.format().map(|format| format.value_repr.as_str());
        let start = repr.and_then(|repr| content_offset(repr, text));
        let file = self.file;
        let locate = move |offset: usize, len: usize| match start {
            Some(start) => Span::new(file, value.offset() + start + offset, len),
            None => Span::new(file, value.offset(), value.len()),
        };
        match Template::parse(text, locate) {
            Ok(template) => Some(template),
            Err(error) => {
                let span = locate(error.offset, error.len);
                let problem = Problem::input("goal::template", error.message)
                    .at(self.sources, span, "in this template")
                    .with_optional_help(error.help);
                self.problems.push(problem);
                None
            }
        }
    }

    /// Every entry of `entries` as a template; `None` if any is wrong (all are reported).
    pub fn templates(&mut self, entries: &[&KdlEntry]) -> Option<Vec<Template>> {
        let templates: Vec<_> = entries.iter().map(|entry| self.template(entry)).collect();
        templates.into_iter().collect()
    }

    /// A regular expression as written; the checker compiles it.
    pub fn pattern(&mut self, entry: &KdlEntry) -> Option<Pattern> {
        let source = self.string(entry)?.into();
        Some(Pattern {
            source,
            span: self.span(value_span(entry)),
        })
    }

    /// A plain string, e.g. a `doc`.
    pub fn text(&mut self, entry: &KdlEntry) -> Option<CompactString> {
        self.string(entry).map(CompactString::from)
    }

    /// A whole number written as a string (`retries="3"`), like every value in a Goalfile.
    pub fn count(&mut self, entry: &KdlEntry) -> Option<u32> {
        let text = self.string(entry)?;
        self.number(entry, text, "a whole number such as \"3\"", |text| {
            text.parse::<u32>().ok()
        })
    }

    /// A factor of 1 or more written as a string (`backoff="2"`, `backoff="1.5"`).
    pub fn factor(&mut self, entry: &KdlEntry) -> Option<f64> {
        let text = self.string(entry)?;
        self.number(
            entry,
            text,
            "a number of 1 or more such as \"2\" or \"1.5\"",
            |text| {
                text.parse::<f64>()
                    .ok()
                    .filter(|factor| factor.is_finite() && *factor >= 1.0)
            },
        )
    }

    fn number<T>(
        &mut self,
        entry: &KdlEntry,
        text: &str,
        wanted: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let parsed = parse(text.trim());
        if parsed.is_none() {
            self.report(
                "goal::number",
                format!("`{text}` is not {wanted}"),
                value_span(entry),
                "not a valid number here",
                Some(format!("write {wanted}")),
            );
        }
        parsed
    }

    pub fn duration(&mut self, entry: &KdlEntry) -> Option<Duration> {
        let text = self.string(entry)?;
        match humantime::parse_duration(text) {
            Ok(duration) => Some(duration),
            Err(error) => {
                self.report(
                    "goal::duration",
                    format!("`{text}` is not a duration: {error}"),
                    value_span(entry),
                    "not a duration",
                    Some("write a duration such as \"30 minutes\", \"1h 30m\" or \"10s\"".into()),
                );
                None
            }
        }
    }

    /// A goal or predicate name.
    pub fn callable_name(&mut self, entry: &KdlEntry, what: &str) -> Option<Name> {
        let text = self.string(entry)?;
        if is_callable_name(text) {
            return Some(self.name(entry, text));
        }
        self.report(
            "goal::name",
            format!("`{text}` is not a valid {what} name"),
            value_span(entry),
            "invalid name",
            Some(
                "a name starts with a letter or `_` and has only letters, digits, `_` and `-`"
                    .into(),
            ),
        );
        None
    }

    /// A parameter, `let` or `for` name: these become environment variables.
    pub fn value_name(&mut self, entry: &KdlEntry) -> Option<Name> {
        let text = self.string(entry)?;
        if is_value_name(text) {
            return Some(self.name(entry, text));
        }
        self.report_value_name(text, value_span(entry));
        None
    }

    pub fn report_value_name(&mut self, text: &str, span: SourceSpan) {
        let underscored = text.replace('-', "_");
        let help = if is_value_name(&underscored) {
            format!("values become environment variables, which cannot contain `-`: write `{underscored}`")
        } else {
            "a value name starts with a letter or `_` and has only letters, digits and `_`".into()
        };
        self.report(
            "goal::name",
            format!("`{text}` is not a valid value name"),
            span,
            "invalid name",
            Some(help),
        );
    }

    fn name(&self, entry: &KdlEntry, text: &str) -> Name {
        Name {
            text: text.into(),
            span: self.span(value_span(entry)),
        }
    }

    /// The property `key` read with `read`; `None` when absent or wrong.
    pub fn prop<T>(
        &mut self,
        node: &Node,
        key: &str,
        read: impl FnOnce(&mut Self, &KdlEntry) -> Option<T>,
    ) -> Option<T> {
        node.prop(key).and_then(|entry| read(self, entry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_offsets() {
        assert_eq!(content_offset("abc", "abc"), Some(0));
        assert_eq!(content_offset("\"a{x}\"", "a{x}"), Some(1));
        assert_eq!(content_offset("#\"a\\d\"#", "a\\d"), Some(2));
        assert_eq!(content_offset("##\"a\"##", "a"), Some(3));
        assert_eq!(content_offset("\"a\\tb\"", "a\tb"), None);
        assert_eq!(content_offset("\"\"\"\n  a\n  \"\"\"", "a"), None);
    }
}
