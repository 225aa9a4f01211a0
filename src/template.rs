//! Templates: strings with `{name}` references and `{name|filter}` filters.
//!
//! A template is parsed once, when the Goalfile is read, into literal parts and references, so
//! rendering is a walk over parts with no scanning. How a reference is rendered depends on where
//! the template is used: in a shell context every value is single-quoted (so a parameter such as
//! `x; rm -rf ~` stays one harmless word), everywhere else it is used literally.
//!
//! Parts hold [`CompactString`]s, as the rest of the Goalfile does (see [`crate::goalfile`]): a
//! short literal or name is stored inline rather than allocated when the cache is loaded.

use std::borrow::Cow;
use std::path::Path;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use smallvec::{smallvec, SmallVec};

use crate::goalfile::Span;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Nearly every template is one part (a literal, or a lone `{name}`), kept inline rather than
    /// in an allocation of its own: the cached Goalfile is loaded on every run.
    pub parts: SmallVec<[Part; 1]>,
    /// The string as written in the Goalfile.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Part {
    Literal(CompactString),
    /// Boxed: most parts are literals, and a part inline in every template (and so in every
    /// statement of the loaded Goalfile) was as large as a reference.
    Ref(Box<Ref>),
}

/// `{name|filter|filter:arg}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ref {
    pub name: CompactString,
    /// A boxed slice: filters never grow once parsed, and it is 8 bytes less than a `Vec`.
    pub filters: Box<[Filter]>,
    /// The reference itself where that can be located in the source, else the whole string.
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Filter {
    /// `base`: the file name (`src/a.c` → `a.c`).
    Base,
    /// `dir`: the directory (`src/a.c` → `src`; `.` when there is none).
    Dir,
    /// `stem`: the file name without its last extension (`src/a.c` → `a`).
    Stem,
    /// `ext`: the last extension without the dot (`src/a.c` → `c`; empty when there is none).
    Ext,
    /// `noext`: the path without its last extension (`src/a.c` → `src/a`).
    NoExt,
    /// `trim-suffix:S`: the value without a trailing `S` (unchanged when it does not end so).
    TrimSuffix(CompactString),
    /// `trim-prefix:S`: the value without a leading `S`.
    TrimPrefix(CompactString),
    /// `replace:FROM:TO`: every `FROM` replaced by `TO`.
    Replace(CompactString, CompactString),
    /// `raw`: inserted as written even in shell contexts (for values meant to split into words,
    /// such as compiler flags).
    Raw,
}

/// The filter names, for error messages and "did you mean".
pub const FILTERS: &[&str] = &[
    "base",
    "dir",
    "stem",
    "ext",
    "noext",
    "trim-suffix",
    "trim-prefix",
    "replace",
    "raw",
];

/// What went wrong in a template; `offset` and `len` are byte positions within the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub message: String,
    pub help: Option<String>,
    pub offset: usize,
    pub len: usize,
}

/// Where a rendered template goes: decides whether references are shell-quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Paths, URLs, Memory keys, parameter values: values inserted as they are.
    Literal,
    /// Shell commands: every value single-quoted unless filtered with `raw`.
    Shell,
}

impl Template {
    /// A template with no references, e.g. for defaults built in code.
    pub fn literal(text: &str, span: Span) -> Template {
        let parts = if text.is_empty() {
            SmallVec::new()
        } else {
            smallvec![Part::Literal(text.into())]
        };
        Template { parts, span }
    }

    /// Parses `text`. `locate` maps a byte range of `text` to a span in the Goalfile (exact
    /// when the string was written without escapes, else the whole string).
    pub fn parse(
        text: &str,
        locate: impl Fn(usize, usize) -> Span,
    ) -> Result<Template, TemplateError> {
        let mut parts = SmallVec::new();
        let mut literal = String::new();
        let mut rest = text;
        let mut position = 0;
        while let Some(i) = rest.find(['{', '}']) {
            literal.push_str(&rest[..i]);
            let brace = rest.as_bytes()[i];
            let after = &rest[i + 1..];
            if after.as_bytes().first() == Some(&brace) {
                literal.push(brace as char);
                rest = &after[1..];
                position += i + 2;
                continue;
            }
            if brace == b'}' {
                return Err(TemplateError {
                    message: "unmatched `}` in a template".into(),
                    help: Some("write `}}` for a literal `}`".into()),
                    offset: position + i,
                    len: 1,
                });
            }
            let Some(close) = after.find('}') else {
                return Err(TemplateError {
                    message: "unclosed `{` in a template".into(),
                    help: Some(
                        "close the reference with `}`, or write `{{` for a literal `{`".into(),
                    ),
                    offset: position + i,
                    len: 1,
                });
            };
            let inner = &after[..close];
            let start = position + i;
            let reference = parse_reference(inner, start + 1)?;
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal).into()));
            }
            parts.push(Part::Ref(Box::new(Ref {
                name: reference.0,
                filters: reference.1.into(),
                span: locate(start, close + 2),
            })));
            rest = &after[close + 1..];
            position = start + close + 2;
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal.into()));
        }
        Ok(Template {
            parts,
            span: locate(0, text.len()),
        })
    }

    /// The references in order of appearance.
    pub fn refs(&self) -> impl Iterator<Item = &Ref> {
        self.parts.iter().filter_map(|part| match part {
            Part::Ref(reference) => Some(&**reference),
            Part::Literal(_) => None,
        })
    }

    /// The text when the template has no references.
    pub fn as_literal(&self) -> Option<String> {
        let mut text = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(literal) => text.push_str(literal),
                Part::Ref(_) => return None,
            }
        }
        Some(text)
    }

    /// Renders the template, looking names up with `lookup`. The checker guarantees every name
    /// is defined, so an unknown name is a bug; it renders as an empty string rather than panic.
    pub fn render<'v>(
        &self,
        context: Context,
        mut lookup: impl FnMut(&str) -> Option<Cow<'v, str>>,
    ) -> String {
        // Room for the literals and a short value for each reference: most render in one
        // allocation.
        let room = self
            .parts
            .iter()
            .map(|part| match part {
                Part::Literal(literal) => literal.len(),
                Part::Ref(_) => 16,
            })
            .sum();
        let mut out = String::with_capacity(room);
        for part in &self.parts {
            match part {
                Part::Literal(literal) => out.push_str(literal),
                Part::Ref(reference) => {
                    let value = lookup(&reference.name).unwrap_or_default();
                    let value = apply_filters(&value, &reference.filters);
                    let raw = reference.filters.contains(&Filter::Raw);
                    if context == Context::Shell && !raw {
                        push_shell_quoted(&mut out, &value);
                    } else {
                        out.push_str(&value);
                    }
                }
            }
        }
        out
    }
}

fn parse_reference(
    inner: &str,
    offset: usize,
) -> Result<(CompactString, Vec<Filter>), TemplateError> {
    let mut pieces = inner.split('|');
    let name = pieces.next().unwrap_or_default().trim();
    if !is_value_name(name) {
        return Err(TemplateError {
            message: if name.is_empty() {
                "empty reference `{}` in a template".into()
            } else {
                format!("`{name}` is not a valid name in a template reference")
            },
            help: Some(
                "a reference is `{name}` or `{name|filter}`; write `{{` and `}}` for literal braces"
                    .into(),
            ),
            offset: offset - 1,
            len: inner.len() + 2,
        });
    }
    let mut filters = Vec::new();
    let mut filter_offset = offset + inner.find('|').unwrap_or(inner.len()) + 1;
    for piece in pieces {
        filters.push(
            parse_filter(piece).map_err(|(message, help)| TemplateError {
                message,
                help,
                offset: filter_offset,
                len: piece.len().max(1),
            })?,
        );
        filter_offset += piece.len() + 1;
    }
    Ok((name.into(), filters))
}

fn parse_filter(text: &str) -> Result<Filter, (String, Option<String>)> {
    let mut words = text.trim().splitn(3, ':');
    let name = words.next().unwrap_or_default();
    let first = words.next();
    let second = words.next();
    let arity = |wanted: usize| -> Result<(), (String, Option<String>)> {
        let given = first.is_some() as usize + second.is_some() as usize;
        if given == wanted {
            Ok(())
        } else {
            Err((
                format!("the filter `{name}` takes {wanted} argument(s), not {given}"),
                Some(match name {
                    "trim-suffix" => "write `{path|trim-suffix:.c}`".into(),
                    "trim-prefix" => "write `{path|trim-prefix:src/}`".into(),
                    "replace" => "write `{value|replace:FROM:TO}`".into(),
                    _ => format!("write `{{value|{name}}}`"),
                }),
            ))
        }
    };
    let filter = match name {
        "base" => Filter::Base,
        "dir" => Filter::Dir,
        "stem" => Filter::Stem,
        "ext" => Filter::Ext,
        "noext" => Filter::NoExt,
        "raw" => Filter::Raw,
        "trim-suffix" => {
            arity(1)?;
            return Ok(Filter::TrimSuffix(first.unwrap_or_default().into()));
        }
        "trim-prefix" => {
            arity(1)?;
            return Ok(Filter::TrimPrefix(first.unwrap_or_default().into()));
        }
        "replace" => {
            arity(2)?;
            return Ok(Filter::Replace(
                first.unwrap_or_default().into(),
                second.unwrap_or_default().into(),
            ));
        }
        _ => {
            let help = crate::diagnostic::did_you_mean(name, FILTERS.iter().copied())
                .unwrap_or_else(|| format!("the filters are: {}", FILTERS.join(", ")));
            return Err((format!("unknown filter `{name}`"), Some(help)));
        }
    };
    arity(0)?;
    Ok(filter)
}

/// Names of values (parameters, `let`, `for` variables) become environment variables, so they
/// are restricted to what a shell can expand.
pub fn is_value_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn apply_filters<'a>(value: &'a str, filters: &[Filter]) -> Cow<'a, str> {
    let mut value = Cow::Borrowed(value);
    for filter in filters {
        value = match filter {
            Filter::Raw => continue,
            Filter::Base => cut(value, file_name),
            Filter::Dir => cut(value, |path| match Path::new(path).parent() {
                Some(dir) if !dir.as_os_str().is_empty() => {
                    dir.to_str().expect("a part of a str is a str")
                }
                _ => ".",
            }),
            Filter::Stem => cut(value, |path| split_extension(file_name(path)).0),
            Filter::Ext => cut(value, |path| split_extension(file_name(path)).1),
            Filter::NoExt => cut(value, |path| {
                let name = file_name(path);
                let (stem, ext) = split_extension(name);
                let cut = if ext.is_empty() {
                    0
                } else {
                    name.len() - stem.len()
                };
                &path[..path.len() - cut]
            }),
            Filter::TrimSuffix(suffix) => cut(value, |text| {
                text.strip_suffix(suffix.as_str()).unwrap_or(text)
            }),
            Filter::TrimPrefix(prefix) => cut(value, |text| {
                text.strip_prefix(prefix.as_str()).unwrap_or(text)
            }),
            Filter::Replace(from, to) if !from.is_empty() => {
                Cow::Owned(value.replace(from.as_str(), to))
            }
            Filter::Replace(..) => value,
        };
    }
    value
}

/// The part of `value` that `part` picks, borrowed when `value` is: most filters pick a part of
/// a path, and rendering a template for each of thousands of objects is part of every no-op.
fn cut<'a>(value: Cow<'a, str>, part: impl FnOnce(&str) -> &str) -> Cow<'a, str> {
    match value {
        Cow::Borrowed(text) => Cow::Borrowed(part(text)),
        Cow::Owned(text) => Cow::Owned(part(&text).to_string()),
    }
}

fn file_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// Splits `a.tar.gz` into `a.tar` and `gz`; a leading dot (`.profile`) is not an extension.
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i + 1..]),
        _ => (name, ""),
    }
}

/// Appends `value` single-quoted for a POSIX shell: `'…'`, each `'` written as `'\''`. Every
/// value is quoted, even ones that look safe, because shell-words leaves `{a,b}` and `!x` bare.
pub fn push_shell_quoted(out: &mut String, value: &str) {
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Template {
        Template::parse(text, |offset, len| Span::new(0, offset, len)).unwrap()
    }

    fn render(text: &str, context: Context, value: &str) -> String {
        parse(text).render(context, |_| Some(Cow::Borrowed(value)))
    }

    #[test]
    fn literal_braces_and_references() {
        let template = parse("a{{b}}{x}c");
        assert_eq!(
            template.parts.as_slice(),
            [
                Part::Literal("a{b}".into()),
                Part::Ref(Box::new(Ref {
                    name: "x".into(),
                    filters: Box::default(),
                    span: Span::new(0, 6, 3)
                })),
                Part::Literal("c".into()),
            ]
        );
    }

    #[test]
    fn filters() {
        let cases = [
            ("{v|base}", "src/a.c", "a.c"),
            ("{v|dir}", "src/a.c", "src"),
            ("{v|dir}", "a.c", "."),
            ("{v|stem}", "src/a.tar.gz", "a.tar"),
            ("{v|ext}", "src/a.c", "c"),
            ("{v|ext}", "src/.profile", ""),
            ("{v|noext}", "src/a.c", "src/a"),
            ("{v|noext}", "src.d/a", "src.d/a"),
            ("{v|trim-suffix:.c}.o", "src/a.c", "src/a.o"),
            ("{v|trim-prefix:src/}", "src/a.c", "a.c"),
            ("{v|replace:/:_}", "a/b/c", "a_b_c"),
            ("{v|base|stem}.o", "src/a.c", "a.o"),
        ];
        for (text, value, expected) in cases {
            assert_eq!(render(text, Context::Literal, value), expected, "{text}");
        }
    }

    #[test]
    fn shell_quoting_quotes_every_value() {
        assert_eq!(render("echo {v}", Context::Shell, "a b"), "echo 'a b'");
        assert_eq!(render("echo {v}", Context::Shell, "{a,b}"), "echo '{a,b}'");
        assert_eq!(
            render("echo {v}", Context::Shell, "it's"),
            "echo 'it'\\''s'"
        );
        assert_eq!(render("cc {v|raw}", Context::Shell, "-O2 -g"), "cc -O2 -g");
        assert_eq!(render("{v}", Context::Literal, "a b"), "a b");
    }

    #[test]
    fn errors_point_into_the_string() {
        let locate = |offset, len| Span::new(0, offset, len);
        let error = Template::parse("ab{x", locate).unwrap_err();
        assert_eq!((error.offset, error.len), (2, 1));
        let error = Template::parse("ab}", locate).unwrap_err();
        assert_eq!((error.offset, error.len), (2, 1));
        let error = Template::parse("{x|stme}", locate).unwrap_err();
        assert_eq!(error.message, "unknown filter `stme`");
        assert_eq!((error.offset, error.len), (3, 4));
        assert!(error.help.unwrap().contains("stem"));
        let error = Template::parse("{a-b}", locate).unwrap_err();
        assert_eq!((error.offset, error.len), (0, 5));
        let error = Template::parse("{x|replace:a}", locate).unwrap_err();
        assert!(error.message.contains("takes 2 argument"));
    }
}
