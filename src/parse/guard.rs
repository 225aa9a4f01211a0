//! The guards run over the text before it reaches kdl, in one linear scan.
//!
//! kdl parses child blocks and nested `/* */` comments recursively and overflows the stack (an
//! abort, which `catch_unwind` cannot stop) at about 60 levels on a 2 MiB debug thread and
//! 1,200 on a release main thread; it also parses the rest of the document again, one level
//! deeper, after each `}` that closes no block; and it takes time far beyond linear in the length of a chain
//! of `/-` (each commenting out the next) and in the number of properties of one node. A
//! Goalfile needs none of that in quantity, so the guards refuse each past a limit well above
//! real use, and what kdl is given parses in time linear in its size. The scan follows KDL's
//! strings and comments so that braces in templates (`"{x}"`) do not count; where it cannot
//! tell, it counts, so it never sees less than kdl would.

/// Deeper nesting of blocks than any real Goalfile needs, and well within what kdl survives on
/// a debug test thread (measured: 60 levels on 2 MiB).
pub const MAX_DEPTH: usize = 32;

/// Nesting of braces counted in strings as well. kdl, recovering from a string it rejects (a
/// bad escape, a multi-line string's indentation), reads the rest of it as nodes, so braces in
/// strings can nest blocks too; strings of a real Goalfile hold balanced `{x}`, so the limit
/// is far above [`MAX_DEPTH`] and far below what kdl survives on the parser's big stack
/// (measured: about 30,000 levels in 64 MiB).
pub const MAX_DEPTH_WITH_STRINGS: usize = 1024;

/// Deeper nesting of `/* */` comments than anyone writes; kdl recurses per level as for blocks.
pub const MAX_COMMENT_DEPTH: usize = 32;

/// `/-` in a row (`/- /- node`): one is what anyone means; a few more stay cheap for kdl.
pub const MAX_SLASHDASH_CHAIN: usize = 3;

/// Properties of one node: far more than any node of a Goalfile takes.
pub const MAX_PROPERTIES: usize = 256;

/// `}` that close no block. kdl reports the first and, recovering, parses the rest of the
/// document one call deeper: a fuzzed Goalfile of 32,768 lines with a stray `}` (and a string
/// left open) each overflowed its big stack. A few get kdl's own diagnostics.
pub const MAX_STRAY_CLOSES: usize = 64;

/// `}` that close no block, counting braces in strings: a string of a real Goalfile may hold a
/// `}` of its own (`sed 's/}//'`), so the limit is higher, and still far below what kdl survives.
pub const MAX_STRAY_CLOSES_WITH_STRINGS: usize = 1024;

/// What the text has too much of, at a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Excess {
    /// A `{` that opens a block deeper than [`MAX_DEPTH`].
    Blocks(usize),
    /// A `{` deeper than [`MAX_DEPTH_WITH_STRINGS`], counting braces in strings.
    BracesWithStrings(usize),
    /// A `/*` that opens a comment nested deeper than [`MAX_COMMENT_DEPTH`].
    Comments(usize),
    /// The `/-` that makes a chain longer than [`MAX_SLASHDASH_CHAIN`].
    Slashdashes(usize),
    /// The `=` of the property that is one more than [`MAX_PROPERTIES`] on its node.
    Properties(usize),
    /// The `}` that is one more than [`MAX_STRAY_CLOSES`] closing no block.
    StrayCloses(usize),
    /// The `}` that is one more than [`MAX_STRAY_CLOSES_WITH_STRINGS`] closing no block,
    /// counting braces in strings.
    StrayClosesWithStrings(usize),
}

/// The first place where the text has more than kdl should be given.
pub fn excess(text: &str) -> Option<Excess> {
    let bytes = text.as_bytes();
    let mut depth = Depth::default();
    let mut depth_with_strings = Depth::counting_strings();
    let mut chain = 0usize;
    // The `-` of a `/-` is part of it, not an end of the chain.
    let mut slashdash_dash = None;
    let mut properties = 0usize;
    // A `\` outside strings continues the node on the next line.
    let mut continued = false;
    scan(text, |i, token| {
        let byte = match token {
            Token::CommentTooDeep => return Some(Excess::Comments(i)),
            Token::String(end) => {
                for (at, &byte) in bytes[i..end].iter().enumerate() {
                    if let Some(excess) = depth_with_strings.brace(byte, i + at) {
                        return Some(excess);
                    }
                }
                // A string is a value: it ends a chain of `/-` and a line continuation.
                b'"'
            }
            // A line comment ends its line, and is whitespace for the rest.
            Token::LineComment => b'\n',
            Token::Byte(byte) => byte,
        };
        match byte {
            b'/' if bytes.get(i + 1) == Some(&b'-') => {
                chain += 1;
                slashdash_dash = Some(i + 1);
                if chain > MAX_SLASHDASH_CHAIN {
                    return Some(Excess::Slashdashes(i));
                }
            }
            _ if slashdash_dash == Some(i) => {}
            b' ' | b'\t' | b'\r' | b'\\' => {}
            b'\n' => {}
            _ => chain = 0,
        }
        if byte != b'"' {
            if let Some(excess) = depth.brace(byte, i) {
                return Some(excess);
            }
            if let Some(excess) = depth_with_strings.brace(byte, i) {
                return Some(excess);
            }
        }
        match byte {
            b'=' => {
                properties += 1;
                if properties > MAX_PROPERTIES {
                    return Some(Excess::Properties(i));
                }
            }
            b'\\' => continued = true,
            b'\n' if continued => continued = false,
            b'\n' | b';' | b'{' | b'}' => properties = 0,
            b' ' | b'\t' | b'\r' => {}
            _ => continued = false,
        }
        None
    })
}

/// The nesting of braces in one view of the text (strings skipped, or not), and the `}` in it
/// that closed nothing.
#[derive(Default)]
struct Depth {
    with_strings: bool,
    open: usize,
    strays: usize,
}

impl Depth {
    fn counting_strings() -> Depth {
        Depth {
            with_strings: true,
            ..Depth::default()
        }
    }

    /// Counts `byte`, at `at`, when it is a brace; what that took past its limits.
    fn brace(&mut self, byte: u8, at: usize) -> Option<Excess> {
        match byte {
            b'{' => self.open += 1,
            b'}' if self.open == 0 => self.strays += 1,
            b'}' => self.open -= 1,
            _ => return None,
        }
        match self.with_strings {
            false if self.open > MAX_DEPTH => Some(Excess::Blocks(at)),
            false if self.strays > MAX_STRAY_CLOSES => Some(Excess::StrayCloses(at)),
            true if self.open > MAX_DEPTH_WITH_STRINGS => Some(Excess::BracesWithStrings(at)),
            true if self.strays > MAX_STRAY_CLOSES_WITH_STRINGS => {
                Some(Excess::StrayClosesWithStrings(at))
            }
            _ => None,
        }
    }
}

/// Where a bare `scheme://…` starts: KDL reads `scheme:` and takes the rest for a comment.
pub fn bare_url(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    scan(text, |i, token| {
        if token != Token::LineComment || i == 0 || bytes[i - 1] != b':' {
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

/// What [`scan`] shows of the text outside strings and comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Byte(u8),
    /// The `//` that starts a line comment (the comment and its newline are skipped).
    LineComment,
    /// The first `/*` of a comment that nests deeper than [`MAX_COMMENT_DEPTH`].
    CommentTooDeep,
    /// A string (quoted, multi-line or raw) that ends before this index.
    String(usize),
}

/// Calls `visit` with each byte outside strings and comments, and with each line comment and
/// too deep block comment, until it returns something.
fn scan<T>(text: &str, mut visit: impl FnMut(usize, Token) -> Option<T>) -> Option<T> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        i = match bytes[i] {
            byte @ (b'"' | b'#') => {
                let end = if byte == b'"' {
                    skip_quoted(bytes, i)
                } else {
                    skip_raw(bytes, i)
                };
                if let Some(found) = visit(i, Token::String(end)) {
                    return Some(found);
                }
                end
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                if let Some(found) = visit(i, Token::LineComment) {
                    return Some(found);
                }
                skip_line(bytes, i)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let (end, too_deep) = skip_block_comment(bytes, i);
                if let Some(found) = too_deep.and_then(|at| visit(at, Token::CommentTooDeep)) {
                    return Some(found);
                }
                end
            }
            byte => {
                if let Some(found) = visit(i, Token::Byte(byte)) {
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

/// Skips a `/* … */` comment (KDL block comments nest); returns the index after it and where a
/// comment first nests deeper than [`MAX_COMMENT_DEPTH`].
fn skip_block_comment(bytes: &[u8], start: usize) -> (usize, Option<usize>) {
    let mut nesting = 0usize;
    let mut too_deep = None;
    let mut i = start;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"/*") {
            nesting += 1;
            if nesting > MAX_COMMENT_DEPTH && too_deep.is_none() {
                too_deep = Some(i);
            }
            i += 2;
        } else if bytes[i..].starts_with(b"*/") {
            nesting -= 1;
            i += 2;
            if nesting == 0 {
                return (i, too_deep);
            }
        } else {
            i += 1;
        }
    }
    (bytes.len(), too_deep)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        "a {".repeat(depth) + &"}".repeat(depth)
    }

    #[test]
    fn counts_real_nesting() {
        assert_eq!(excess(&nested(MAX_DEPTH)), None);
        assert_eq!(
            excess(&nested(MAX_DEPTH + 1)),
            Some(Excess::Blocks(MAX_DEPTH * 3 + 2))
        );
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
            assert_eq!(excess(&text), None, "{text}");
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
        assert!(excess(&text).is_some());
    }

    /// kdl reads the rest of a string it rejects as nodes, where its braces open blocks.
    #[test]
    fn counts_braces_in_strings_past_a_wider_limit() {
        let strings = |count: usize| format!("a {{\n{}}}", "  run \"\\q{\"\n".repeat(count));
        assert_eq!(excess(&strings(MAX_DEPTH_WITH_STRINGS - 1)), None);
        assert!(matches!(
            excess(&strings(MAX_DEPTH_WITH_STRINGS)),
            Some(Excess::BracesWithStrings(_))
        ));
        let balanced = "  run \"{x} {{y}}\"\n".repeat(2 * MAX_DEPTH_WITH_STRINGS);
        assert_eq!(excess(&format!("a {{\n{balanced}}}")), None);
    }

    #[test]
    fn counts_comment_nesting() {
        let comments = |depth: usize| "/*".repeat(depth) + &"*/".repeat(depth) + " a";
        assert_eq!(excess(&comments(MAX_COMMENT_DEPTH)), None);
        assert_eq!(
            excess(&comments(MAX_COMMENT_DEPTH + 1)),
            Some(Excess::Comments(MAX_COMMENT_DEPTH * 2))
        );
        assert_eq!(excess(&"/* a */ ".repeat(1000)), None);
    }

    #[test]
    fn counts_slashdashes_in_a_row() {
        let chain = |length: usize| "/- ".repeat(length) + "a";
        assert_eq!(excess(&chain(MAX_SLASHDASH_CHAIN)), None);
        assert_eq!(
            excess(&chain(MAX_SLASHDASH_CHAIN + 1)),
            Some(Excess::Slashdashes(MAX_SLASHDASH_CHAIN * 3))
        );
        let across_lines = "/-\n/- // c\n/* c */ /-\n/-a";
        assert_eq!(excess(across_lines), Some(Excess::Slashdashes(22)));
        assert_eq!(excess(&"/-a /-b\n".repeat(1000)), None);
    }

    #[test]
    fn counts_properties_per_node() {
        let node = |count: usize| {
            let properties: Vec<String> = (0..count).map(|i| format!("p{i}=1")).collect();
            format!("a {}", properties.join(" "))
        };
        assert_eq!(excess(&node(MAX_PROPERTIES)), None);
        let text = node(MAX_PROPERTIES + 1);
        assert_eq!(
            excess(&text),
            Some(Excess::Properties(text.rfind('=').unwrap()))
        );
        let lines = format!("{}\n", node(MAX_PROPERTIES)).repeat(3);
        assert_eq!(excess(&lines), None);
        let continued = format!("{} \\ // c\n{}", node(MAX_PROPERTIES), node(1));
        assert!(matches!(excess(&continued), Some(Excess::Properties(_))));
        assert_eq!(excess("a \"p=1 q=2\" r=#\"=\"# // =\n"), None);
    }
}
