//! `goal fmt`: one canonical layout for a Goalfile, every comment kept.
//!
//! kdl's own `autoformat` drops the comments it finds after a node's last value, before its
//! children block and at the end of its line, so the layout is written here from the parsed
//! document and the comment text kdl keeps beside each part. The layout: four spaces a level,
//! one space between a node's parts, at most one blank line between nodes and none at the
//! start of a block, a children block on one line only if it was written on one line. Values
//! are written as they were (raw, quoted or multi-line strings stay so), and so are
//! slashdashed (`/-`) parts and block comments; line comments above a node follow its indent.

use kdl::{KdlDocument, KdlEntry, KdlNode};

use crate::diagnostic::{Problem, Result};

const INDENT: &str = "    ";

/// `text`, the Goalfile `name`, in the canonical layout; a file that does not parse is
/// refused with its problems.
pub fn lay_out(name: &str, text: &str) -> Result<String> {
    let document = super::kdl_document(name, text)?;
    let formatted = layout(&document, text);
    verified(name, text, &document, formatted)
}

/// `formatted`, once checked to be a faithful layout of `text` (parsed as `document`): it
/// parses to the same nodes and values, keeps every comment marker, and is its own layout.
fn verified(name: &str, text: &str, document: &KdlDocument, formatted: String) -> Result<String> {
    let reparsed = super::kdl_document(name, &formatted).map_err(|_| unstable(name))?;
    if without_comments(&reparsed) != without_comments(document)
        || comment_markers(&formatted) != comment_markers(text)
        || layout(&reparsed, &formatted) != formatted
    {
        return Err(unstable(name).into());
    }
    Ok(formatted)
}

fn unstable(name: &str) -> Problem {
    Problem::failure(
        "goal::fmt-unstable",
        format!(
            "`goal fmt` cannot lay {name} out without changing what it says; it is left as it is"
        ),
    )
    .with_help("this is a bug in `goal fmt`: please report it with the file")
}

/// The document's nodes and values, in kdl's own layout with no comment.
fn without_comments(document: &KdlDocument) -> String {
    let mut bare = document.clone();
    bare.autoformat_no_comments();
    bare.to_string()
}

/// How many times each comment marker appears: a lost comment changes a count. Whitespace is
/// left out, since the layout changes only that around comments: `a/**/*b` counts as
/// `a /**/ *b` does.
fn comment_markers(text: &str) -> [usize; 3] {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    ["//", "/*", "/-"].map(|marker| text.matches(marker).count())
}

/// The whole file, `source` parsed, in the canonical layout.
fn layout(document: &KdlDocument, source: &str) -> String {
    let mut out = String::new();
    block(&mut out, document, 0, source);
    if out.trim().is_empty() {
        return String::new();
    }
    out
}

/// The nodes of `document` a line each at `depth`, with the comments around them.
fn block(out: &mut String, document: &KdlDocument, depth: usize, source: &str) {
    let indent = INDENT.repeat(depth);
    let (leading, trailing) = document
        .format()
        .map_or(("", ""), |f| (f.leading.as_str(), f.trailing.as_str()));
    let mut first = true;
    let line_ended = comments_above(out, leading, &indent, &mut first);
    end_line(out, line_ended);
    for node in document.nodes() {
        let node_leading = node.format().map_or("", |f| f.leading.as_str());
        if comments_above(out, node_leading, &indent, &mut first) {
            out.push_str(&indent);
        }
        node_line(out, node, depth, source);
        // A line continuation followed by a comment has ended the line already.
        if !out.ends_with('\n') {
            out.push('\n');
        }
        first = false;
    }
    let line_ended = comments_above(out, trailing, &indent, &mut first);
    end_line(out, line_ended);
}

/// Ends the line of a comment that nothing follows on it.
fn end_line(out: &mut String, line_ended: bool) {
    if !line_ended {
        out.pop();
        out.push('\n');
    }
}

/// The comments (and slashdashed nodes) written above a node or at the end of a block: a
/// blank line before them if there was one and something is above, then each at `indent`.
/// Returns false if what follows goes on the last comment's line, as `/* c */ goal x` does.
fn comments_above(out: &mut String, decor: &str, indent: &str, first: &mut bool) -> bool {
    let text = decor.trim();
    let before = &decor[..decor.len() - decor.trim_start().len()];
    if before.contains('\n') && !*first {
        out.push('\n');
    }
    if text.is_empty() {
        return true;
    }
    *first = false;
    // Lines that start a comment or a slashdashed node follow the indent; the lines a block
    // comment or a slashdashed node goes on over are kept as written (they may be strings).
    let mut open_comments = 0usize;
    let mut blank = false;
    for line in text.lines() {
        let trimmed = line.trim();
        let starts_comment = ["//", "/*", "/-"].iter().any(|m| trimmed.starts_with(m));
        if open_comments == 0 && trimmed.is_empty() {
            blank = true;
            continue;
        }
        if std::mem::take(&mut blank) {
            out.push('\n');
        }
        if open_comments == 0 && starts_comment {
            out.push_str(indent);
            out.push_str(trimmed);
        } else {
            out.push_str(line.trim_end());
        }
        out.push('\n');
        if !trimmed.starts_with("//") {
            open_comments = (open_comments + line.matches("/*").count())
                .saturating_sub(line.matches("*/").count());
        }
    }
    // A line comment ends its line: what follows goes on the next one, whatever the decor says.
    let ends_with_line_comment = text
        .lines()
        .last()
        .is_some_and(|line| line.trim_start().starts_with("//"));
    let after = &decor[decor.trim_end().len()..];
    match after.matches('\n').count() {
        0 if !ends_with_line_comment => {
            out.pop();
            out.push(' ');
            false
        }
        0 | 1 => true,
        _ => {
            out.push('\n');
            true
        }
    }
}

/// One node from its name to its last value or its children block, with what comments it
/// holds; the line's end is the caller's.
fn node_line(out: &mut String, node: &KdlNode, depth: usize, source: &str) {
    let format = node.format();
    let decor = |pick: fn(&kdl::KdlNodeFormat) -> &String| format.map_or("", |f| pick(f).as_str());
    if let Some(ty) = node.ty() {
        let decor = [
            decor(|f| &f.before_ty_name),
            decor(|f| &f.after_ty_name),
            decor(|f| &f.after_ty),
        ];
        type_annotation(out, &ty.to_string(), decor);
    }
    out.push_str(&node.name().to_string());
    for entry in node.entries() {
        entry_text(out, entry);
    }
    inline(out, decor(|f| &f.before_children));
    if let Some(children) = node.children() {
        space(out);
        out.push('{');
        if children.to_string().contains('\n') {
            out.push('\n');
            block(out, children, depth + 1, source);
            out.push_str(&INDENT.repeat(depth));
        } else {
            one_line_block(out, children, source);
        }
        out.push('}');
    }
    inline(out, decor(|f| &f.before_terminator));
    let terminator = match decor(|f| &f.terminator).trim() {
        "" if node.children().is_some() => comment_after_block(node, source),
        terminator => terminator,
    };
    if terminator.starts_with("//") {
        space(out);
        out.push_str(terminator);
    }
    inline(out, decor(|f| &f.trailing));
}

/// The line comment after a node's children block, which kdl leaves out of the node's format
/// (`target { … } // why`): read from the source, after the node's span.
fn comment_after_block<'a>(node: &KdlNode, source: &'a str) -> &'a str {
    let end = node.span().offset() + node.span().len();
    let rest = source.get(end..).unwrap_or_default();
    let rest = rest.trim_start_matches([' ', '\t']);
    match rest.starts_with("//") {
        true => rest.lines().next().unwrap_or_default().trim_end(),
        false => "",
    }
}

/// A children block written on one line: `{ a; b }`, `{ }` when empty.
fn one_line_block(out: &mut String, children: &KdlDocument, source: &str) {
    let (leading, trailing) = children
        .format()
        .map_or(("", ""), |f| (f.leading.as_str(), f.trailing.as_str()));
    inline(out, leading);
    for (index, node) in children.nodes().iter().enumerate() {
        if index > 0 {
            out.push(';');
        }
        inline(out, node.format().map_or("", |f| f.leading.as_str()));
        space(out);
        node_line(out, node, 0, source);
    }
    inline(out, trailing);
    space(out);
}

/// Comments between the parts of a line, after a space: one on this line as written, one
/// that goes on over lines (after a line continuation) as written from its first character
/// to the next part's indent. Nothing when there is none; a line continuation with no comment
/// is left out, so the node is written on one line.
/// A type annotation, `(ty)`, of a node or a value, with the comments around its name and after
/// it.
fn type_annotation(out: &mut String, ty: &str, [before_name, after_name, after]: [&str; 3]) {
    out.push('(');
    inline(out, before_name);
    out.push_str(ty);
    inline(out, after_name);
    out.push(')');
    inline(out, after);
}

fn inline(out: &mut String, decor: &str) {
    let text = decor.trim();
    if text.chars().all(|c| c == '\\' || c.is_whitespace()) {
        return;
    }
    space(out);
    if decor.trim_start().contains('\n') {
        out.push_str(decor.trim_start());
    } else {
        out.push_str(text);
    }
}

/// A space before the next part, unless one is there or the part opens the line.
fn space(out: &mut String) {
    if !out.is_empty() && !out.ends_with([' ', '(', '\n']) {
        out.push(' ');
    }
}

/// One argument or property, after a space: `value`, `key=value`, `(type)value`.
fn entry_text(out: &mut String, entry: &KdlEntry) {
    let format = entry.format();
    let decor = |pick: fn(&kdl::KdlEntryFormat) -> &String| format.map_or("", |f| pick(f).as_str());
    inline(out, decor(|f| &f.leading));
    space(out);
    if let Some(name) = entry.name() {
        out.push_str(&name.to_string());
        inline(out, decor(|f| &f.after_key));
        out.push('=');
        inline(out, decor(|f| &f.after_eq));
    }
    if let Some(ty) = entry.ty() {
        let decor = [
            decor(|f| &f.before_ty_name),
            decor(|f| &f.after_ty_name),
            decor(|f| &f.after_ty),
        ];
        type_annotation(out, &ty.to_string(), decor);
    }
    match format {
        Some(format) if !format.value_repr.is_empty() => out.push_str(&format.value_repr),
        _ => out.push_str(&entry.value().to_string()),
    }
    inline(out, decor(|f| &f.trailing));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the layout writes is checked: a layout that lost a comment, changed a value, or is
    /// not its own layout is refused.
    #[test]
    fn an_unfaithful_layout_is_refused() {
        let text = "goal a { run \"x\" } // why\n";
        let document = super::super::kdl_document("Goalfile", text).unwrap();
        for wrong in [
            "goal a { run \"x\" }\n",
            "goal a { run \"y\" } // why\n",
            "goal a {   run \"x\" } // why\n",
            "goal a { run \"x\" // why\n",
        ] {
            let error = verified("Goalfile", text, &document, wrong.to_string()).unwrap_err();
            assert_eq!(error.problems[0].code, "goal::fmt-unstable", "{wrong}");
        }
        let right = verified(
            "Goalfile",
            text,
            &document,
            lay_out("Goalfile", text).unwrap(),
        );
        assert_eq!(right.unwrap(), "goal a { run \"x\" } // why\n");
    }
}
