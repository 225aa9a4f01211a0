//! kdl's syntax errors as the project's problems, pointed at the right file, with hints for the
//! KDL v2 traps Goalfile authors fall into.

use kdl::{KdlDiagnostic, KdlError};
use miette::SourceSpan;

use super::reader::FileCx;

/// Reports every diagnostic of `error`, which came from parsing the file of `cx`.
pub fn report(cx: &mut FileCx, error: KdlError) {
    // A bare URL on a line with a closing `}` comments the brace out; kdl then reports a
    // missing `}` far from the cause, so the cause comes first.
    if let Some((offset, len)) = super::guard::bare_url(cx.text) {
        let url = &cx.text[offset..offset + len];
        cx.report(
            "goal::unquoted-url",
            format!("the bare value `{url}` is cut short: `//` starts a comment in KDL"),
            (offset, len).into(),
            "the rest of the line is a comment",
            Some(format!("quote it: \"{url}\"")),
        );
    }
    let unclosed_block = error
        .diagnostics
        .iter()
        .any(|d| d.message.as_deref() == Some(UNCLOSED_BLOCK));
    for diagnostic in error.diagnostics {
        // kdl reports an unclosed block twice, the second time at the last node.
        if unclosed_block && diagnostic.message.as_deref() == Some(UNCLOSED_NODES) {
            continue;
        }
        report_one(cx, diagnostic);
    }
}

const UNCLOSED_BLOCK: &str = "No closing '}' for child block";
const UNCLOSED_NODES: &str = "Closing '}' was not found after nodes";

fn report_one(cx: &mut FileCx, diagnostic: KdlDiagnostic) {
    let text = cx.text;
    let span = narrow(text, diagnostic.span);
    let written = text
        .get(span.offset()..span.offset() + span.len())
        .unwrap_or_default();
    let message = diagnostic
        .message
        .unwrap_or_else(|| "invalid KDL".to_string());
    let help = trap_hint(written, &message).or(diagnostic.help);
    let label = diagnostic.label.unwrap_or_else(|| "here".to_string());
    cx.report("goal::kdl-syntax", message, span, label, help);
}

/// Some kdl spans run from far before the error (a bad float's starts at byte 0) or end in
/// whitespace: keep the last token, which is what the user has to fix.
fn narrow(text: &str, span: SourceSpan) -> SourceSpan {
    let start = span.offset().min(text.len());
    let end = (start + span.len()).min(text.len());
    let Some(written) = text.get(start..end) else {
        return span;
    };
    let trimmed = written.trim_end();
    if trimmed.is_empty() {
        return (start, span.len().min(1)).into();
    }
    let token_start = if trimmed.contains('\n') || trimmed.len() > 40 {
        trimmed
            .rfind(char::is_whitespace)
            .map(|at| at + 1)
            .unwrap_or(0)
    } else {
        0
    };
    (start + token_start, trimmed.len() - token_start).into()
}

/// A hint for the KDL v2 mistakes that kdl reports without one.
fn trap_hint(written: &str, message: &str) -> Option<String> {
    if matches!(written, "true" | "false" | "null") {
        return Some(format!(
            "KDL v2 writes `#{written}`; for the string, quote it: \"{written}\""
        ));
    }
    if message == UNCLOSED_BLOCK {
        return Some("close the block with `}`".into());
    }
    if message.contains("Multi-line string opening quotes") {
        return Some(
            "`\"\"\"` starts a multi-line string and must end its line; for one line write \"…\""
                .into(),
        );
    }
    if written.starts_with('"') && has_invalid_escape(written) {
        return Some(
            "`\\` starts an escape in a KDL string; write regexes and other backslash-heavy \
             text as a raw string: #\"^\\d+$\"#"
                .into(),
        );
    }
    if !written.starts_with(['"', '#']) && written.contains('/') {
        return Some(format!(
            "`/` cannot appear in a bare value: quote it: \"{written}\""
        ));
    }
    None
}

fn has_invalid_escape(quoted: &str) -> bool {
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'r' | 't' | '\\' | '"' | 'b' | 'f' | 's' | 'u') => {}
                Some(c) if c.is_whitespace() => {}
                _ => return true,
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrows_long_spans_to_the_last_token() {
        let text = "goal a {\n  run \"x\"\n}\nb 1.\n";
        let span = narrow(text, (0, text.len()).into());
        assert_eq!(&text[span.offset()..span.offset() + span.len()], "1.");
        let span = narrow("a 1.\n", (2, 3).into());
        assert_eq!((span.offset(), span.len()), (2, 2));
    }

    #[test]
    fn hints() {
        assert!(trap_hint("true", "").unwrap().contains("#true"));
        assert!(trap_hint("\"^\\d+$\"", "").unwrap().contains("raw string"));
        assert!(trap_hint("src/*.c", "").unwrap().contains("\"src/*.c\""));
        assert_eq!(trap_hint("\"\\n\"", ""), None);
    }
}
