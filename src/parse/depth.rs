//! The brace-depth guard run before the text reaches kdl.
//!
//! kdl parses child blocks recursively and overflows the stack (an abort, which `catch_unwind`
//! cannot stop) at about 60 levels on a 2 MiB debug thread and 1,200 on a release main thread.
//! A Goalfile never needs more than a dozen levels, so anything deeper is rejected here. The scan
//! follows KDL's strings and comments so braces in templates (`"{x}"`) do not count; where it
//! cannot tell, it counts the brace, so it never sees less nesting than kdl would.

/// Deeper nesting than any real Goalfile needs, and well within what kdl survives on a debug
/// test thread (measured: 60 levels on 2 MiB).
pub const MAX_DEPTH: usize = 32;

/// The byte offset of the first `{` that opens a block deeper than [`MAX_DEPTH`].
pub fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    scan(text, |i, byte| {
        match byte {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        (depth > MAX_DEPTH).then_some(i)
    })
}

/// Where a bare `scheme://…` starts: KDL reads `scheme:` and takes the rest for a comment.
pub fn bare_url(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    scan(text, |i, byte| {
        if byte != b'/' || i == 0 || bytes[i - 1] != b':' {
            return None;
        }
        let start = bytes[..i - 1]
            .iter()
            .rposition(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')))
            .map_or(0, |at| at + 1);
        let bare = start < i - 1 && (start == 0 || matches!(bytes[start - 1], b' ' | b'\t' | b'='));
        let end = bytes[i..]
            .iter()
            .position(|b| b.is_ascii_whitespace() || matches!(b, b'}' | b';'))
            .map_or(bytes.len(), |at| i + at);
        bare.then_some((start, end - start))
    })
}

/// Calls `visit` with each byte outside strings and comments (and with the `/` that starts a
/// line comment), until it returns something.
fn scan<T>(text: &str, mut visit: impl FnMut(usize, u8) -> Option<T>) -> Option<T> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        i = match bytes[i] {
            b'"' => skip_quoted(bytes, i),
            b'#' => skip_raw(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                if let Some(found) = visit(i, b'/') {
                    return Some(found);
                }
                skip_line(bytes, i)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => skip_block_comment(bytes, i),
            byte => {
                if let Some(found) = visit(i, byte) {
                    return Some(found);
                }
                i + 1
            }
        };
    }
    None
}

/// Skips `"…"` or `"""…"""` (with `\` escapes) starting at `start`; returns the index after it.
fn skip_quoted(bytes: &[u8], start: usize) -> usize {
    let multi_line = bytes[start..].starts_with(b"\"\"\"");
    let mut i = start + if multi_line { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' if !multi_line => return i + 1,
            b'"' if bytes[i..].starts_with(b"\"\"\"") => return i + 3,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Skips a raw string `#"…"#` (any number of `#`) starting at `start`; a `#` that does not open
/// one (`#true`) is skipped alone.
fn skip_raw(bytes: &[u8], start: usize) -> usize {
    let hashes = bytes[start..].iter().take_while(|&&b| b == b'#').count();
    let open = start + hashes;
    if bytes.get(open) != Some(&b'"') {
        return open;
    }
    let quotes = if bytes[open..].starts_with(b"\"\"\"") {
        3
    } else {
        1
    };
    let mut closing = vec![b'"'; quotes];
    closing.extend(std::iter::repeat_n(b'#', hashes));
    let body = open + quotes;
    match bytes[body.min(bytes.len())..]
        .windows(closing.len())
        .position(|window| window == closing.as_slice())
    {
        Some(at) => body + at + closing.len(),
        None => bytes.len(),
    }
}

fn skip_line(bytes: &[u8], start: usize) -> usize {
    match bytes[start..].iter().position(|&b| b == b'\n') {
        Some(at) => start + at + 1,
        None => bytes.len(),
    }
}

/// Skips a `/* … */` comment; KDL block comments nest.
fn skip_block_comment(bytes: &[u8], start: usize) -> usize {
    let mut nesting = 0usize;
    let mut i = start;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"/*") {
            nesting += 1;
            i += 2;
        } else if bytes[i..].starts_with(b"*/") {
            nesting -= 1;
            i += 2;
            if nesting == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        "a {".repeat(depth) + &"}".repeat(depth)
    }

    #[test]
    fn counts_real_nesting() {
        assert_eq!(too_deep(&nested(MAX_DEPTH)), None);
        assert_eq!(too_deep(&nested(MAX_DEPTH + 1)), Some(MAX_DEPTH * 3 + 2));
    }

    #[test]
    fn ignores_braces_in_strings_and_comments() {
        let braces = "{".repeat(100);
        for text in [
            format!("a \"{braces}\""),
            format!("a #\"{braces}\"#"),
            format!("a ##\"\"\"\n{braces}\"#\n\"\"\"##"),
            format!("a \"\"\"\n{braces}\n\"\"\""),
            format!("// {braces}\na"),
            format!("/* /* */ {braces} */ a"),
            format!("a \"\\\"{braces}\""),
        ] {
            assert_eq!(too_deep(&text), None, "{text}");
        }
    }

    #[test]
    fn finds_bare_urls() {
        let text = "a https://x.org/a\nb \"https://y\"\nc u=http://z }";
        assert_eq!(bare_url(text), Some((2, 15)));
        assert_eq!(bare_url(&text[18..]), Some((18, 8)));
        assert_eq!(bare_url("a \"https://y\" // c://d"), None);
    }

    #[test]
    fn a_brace_in_a_string_does_not_hide_real_nesting() {
        let text = "a \"}}}}\" ".to_string() + &nested(MAX_DEPTH + 1);
        assert!(too_deep(&text).is_some());
    }
}
