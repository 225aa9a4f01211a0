//! References that the shell's own quoting would undo.
//!
//! In a shell command every `{value}` is rendered single-quoted, which keeps it one word only
//! where the shell reads that quote as the start of a quoted word. Inside `'…'` the value's own
//! quotes close and reopen the user's string, leaving the value bare; inside `"…"`, `$'…'`, a
//! here-document or after a backslash the quotes are plain characters and `$(…)` in the value
//! runs; in a `#` comment a newline in the value ends the comment. So the literal text of a
//! command is followed with the shell's quoting rules, and a reference that stands in any of
//! those places is reported, unless it is `{name|raw}`, which says the text is shell code.

use super::{Checker, Scope};
use crate::template::{Filter, Part, Ref, Template};

/// Where a reference stands that undoes its quoting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trap {
    SingleQuotes,
    DoubleQuotes,
    AnsiQuotes,
    Backslash,
    Comment,
    HereDocument,
}

impl Trap {
    fn place(self) -> &'static str {
        match self {
            Trap::SingleQuotes => "inside single quotes in a shell command",
            Trap::DoubleQuotes => "inside double quotes in a shell command",
            Trap::AnsiQuotes => "inside `$'…'` in a shell command",
            Trap::Backslash => "after a backslash in a shell command",
            Trap::Comment => "in a comment of a shell command",
            Trap::HereDocument => "in a here-document of a shell command",
        }
    }
}

/// One level of the shell's reading of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Frame {
    /// Outside quotes; `(`s opened inside it, so that a `$(…)` frame knows its `)`.
    Bare {
        parens: usize,
    },
    Single,
    Double,
    Ansi,
    /// From an unquoted `#` at the start of a word to the end of the line.
    Comment,
    /// The lines of a here-document up to the one that is `delimiter` (after leading tabs with
    /// `<<-`); `line` is the current line so far.
    HereDocument {
        delimiter: String,
        strip_tabs: bool,
        line: String,
    },
}

/// Follows the shell's quoting through the literal text of a command.
struct Reader {
    frames: Vec<Frame>,
    /// The previous character was an unquoted backslash: the next one is escaped.
    escaped: bool,
    /// Whether the next character starts a word (for `#`).
    word_start: bool,
    /// Here-documents announced on the current line, whose bodies start at its end.
    pending: Vec<(String, bool)>,
}

impl Reader {
    fn new() -> Reader {
        Reader {
            frames: vec![Frame::Bare { parens: 0 }],
            escaped: false,
            word_start: true,
            pending: Vec::new(),
        }
    }

    fn top(&mut self) -> &mut Frame {
        // The bottom frame is never popped, so there is always a top.
        self.frames.last_mut().expect("the bottom frame stays")
    }

    /// Where a reference at this point stands, when that undoes its quoting.
    fn trap(&self) -> Option<Trap> {
        if self.escaped {
            return Some(Trap::Backslash);
        }
        match self.frames.last()? {
            Frame::Bare { .. } => None,
            Frame::Single => Some(Trap::SingleQuotes),
            Frame::Double => Some(Trap::DoubleQuotes),
            Frame::Ansi => Some(Trap::AnsiQuotes),
            Frame::Comment => Some(Trap::Comment),
            Frame::HereDocument { .. } => Some(Trap::HereDocument),
        }
    }

    /// A reference's value: one word of text as far as quoting goes.
    fn value(&mut self) {
        self.escaped = false;
        self.word_start = false;
        if let Frame::HereDocument { line, .. } = self.top() {
            line.push('\0');
        }
    }

    fn literal(&mut self, text: &str) {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            i += self.step(&chars[i..]);
        }
    }

    /// Reads the character at the start of `rest` (with what follows it when that decides its
    /// meaning); returns how many characters were read.
    fn step(&mut self, rest: &[char]) -> usize {
        let c = rest[0];
        let next = rest.get(1).copied();
        if self.escaped {
            self.escaped = false;
            self.word_start = false;
            return 1;
        }
        let was_word_start = std::mem::replace(&mut self.word_start, false);
        match self.top() {
            Frame::Single => {
                if c == '\'' {
                    self.frames.pop();
                }
            }
            Frame::Ansi => match c {
                '\\' => return 2.min(rest.len()),
                '\'' => {
                    self.frames.pop();
                }
                _ => {}
            },
            Frame::Double => match (c, next) {
                ('\\', _) => return 2.min(rest.len()),
                ('"', _) => {
                    self.frames.pop();
                }
                ('$', Some('(')) => {
                    self.frames.push(Frame::Bare { parens: 0 });
                    self.word_start = true;
                    return 2;
                }
                _ => {}
            },
            Frame::Comment => {
                if c == '\n' {
                    self.frames.pop();
                    self.end_of_line();
                }
            }
            Frame::HereDocument {
                delimiter,
                strip_tabs,
                line,
            } => {
                if c != '\n' {
                    line.push(c);
                    return 1;
                }
                let written = if *strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line.as_str()
                };
                if written == delimiter {
                    self.frames.pop();
                    self.end_of_line();
                } else {
                    line.clear();
                }
            }
            Frame::Bare { parens } => {
                let parens = *parens;
                return self.bare(rest, was_word_start, parens);
            }
        }
        1
    }

    fn bare(&mut self, rest: &[char], was_word_start: bool, parens: usize) -> usize {
        let c = rest[0];
        let next = rest.get(1).copied();
        let nested = self.frames.len() > 1;
        self.word_start = c.is_whitespace() || ";&|()<>".contains(c);
        match (c, next) {
            ('\\', _) => self.escaped = true,
            ('\'', _) => self.frames.push(Frame::Single),
            ('"', _) => self.frames.push(Frame::Double),
            ('$', Some('\'')) => {
                self.frames.push(Frame::Ansi);
                return 2;
            }
            ('$', Some('(')) => {
                self.frames.push(Frame::Bare { parens: 0 });
                self.word_start = true;
                return 2;
            }
            ('#', _) if was_word_start => self.frames.push(Frame::Comment),
            ('(', _) => *self.top() = Frame::Bare { parens: parens + 1 },
            (')', _) if parens > 0 => *self.top() = Frame::Bare { parens: parens - 1 },
            (')', _) if nested => {
                self.frames.pop();
            }
            ('<', Some('<')) if rest.get(2) != Some(&'<') => return self.here_document(rest),
            ('\n', _) => self.end_of_line(),
            _ => {}
        }
        1
    }

    /// `<<WORD` or `<<-WORD`: the body starts at the end of this line. The delimiter is the word
    /// with its quotes removed (quoting it only stops expansion, which a value's own quotes
    /// would still show in).
    fn here_document(&mut self, rest: &[char]) -> usize {
        let mut i = 2;
        let strip_tabs = rest.get(i) == Some(&'-');
        if strip_tabs {
            i += 1;
        }
        while rest.get(i).is_some_and(|c| *c == ' ' || *c == '\t') {
            i += 1;
        }
        let mut delimiter = String::new();
        while let Some(&c) = rest.get(i) {
            if c.is_whitespace() || ";&|()<>".contains(c) {
                break;
            }
            if !matches!(c, '\'' | '"' | '\\') {
                delimiter.push(c);
            }
            i += 1;
        }
        // `$((x << 2))` and `((x <<= 1))` shift: no delimiter starts with a digit or `=`.
        let shift = delimiter.starts_with(|c: char| c.is_ascii_digit() || c == '=');
        if !delimiter.is_empty() && !shift {
            self.pending.push((delimiter, strip_tabs));
        }
        i
    }

    /// A newline outside quotes: the bodies of the here-documents announced on the line begin.
    fn end_of_line(&mut self) {
        self.word_start = true;
        if self.pending.is_empty() {
            return;
        }
        // The first announced is read first, so it goes on top.
        for (delimiter, strip_tabs) in self.pending.drain(..).rev() {
            self.frames.push(Frame::HereDocument {
                delimiter,
                strip_tabs,
                line: String::new(),
            });
        }
    }
}

/// The references of a shell command that stand where the shell would undo their quoting.
pub fn quoted_references(command: &Template) -> Vec<(&Ref, Trap)> {
    let mut reader = Reader::new();
    let mut found = Vec::new();
    for part in &command.parts {
        match part {
            Part::Literal(text) => reader.literal(text),
            Part::Ref(reference) => {
                let raw = reference.filters.contains(&Filter::Raw);
                if let (false, Some(trap)) = (raw, reader.trap()) {
                    found.push((&**reference, trap));
                }
                reader.value();
            }
        }
    }
    found
}

impl<'g> Checker<'g> {
    /// A template run by the shell: its names are visible, and no reference stands where the
    /// shell would undo its quoting.
    pub(super) fn command(&mut self, command: &Template, scope: &Scope<'g>) {
        self.refs(command, scope);
        self.quoting(command);
    }

    pub(super) fn quoting(&mut self, command: &Template) {
        for (reference, trap) in quoted_references(command) {
            let name = &reference.name;
            let help = match trap {
                Trap::SingleQuotes | Trap::DoubleQuotes | Trap::AnsiQuotes => format!(
                    "the value is quoted for the shell already, and these quotes undo that: \
                     remove them (`echo hello {{{name}}}`), or, to join it to other text, close \
                     them before it (`'hello '{{{name}}}`)"
                ),
                Trap::Backslash => "the value is quoted for the shell already, and the \
                                    backslash undoes that: remove the backslash"
                    .to_string(),
                Trap::Comment | Trap::HereDocument => format!(
                    "the shell reads no quotes there, so the value is not one word: move the \
                     reference out, or write `${name}` (every value is also an environment \
                     variable)"
                ),
            };
            let help = format!("{help}; `{{{name}|raw}}` is for a value that is shell code");
            self.report(
                "goal::quoted-reference",
                format!("`{{{name}}}` stands {}", trap.place()),
                reference.span,
                "its quoting is undone here",
                Some(help),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goalfile::Span;

    fn traps(command: &str) -> Vec<(String, Trap)> {
        let template = Template::parse(command, |offset, len| Span::new(0, offset, len)).unwrap();
        quoted_references(&template)
            .into_iter()
            .map(|(reference, trap)| (reference.name.to_string(), trap))
            .collect()
    }

    #[test]
    fn bare_references_are_safe() {
        for command in [
            "echo hello {name}",
            "echo 'hello '{name}",
            "echo \"a\"{name}'b'",
            "cc -c {dir}/{file}.c -o out.o",
            "echo $(cat {file})",
            "echo \"$(cat {file})\"",
            "echo \"$(printf '%s' \"$(cat {file})\")\" {b}",
            "echo it\\'s {name}",
            "echo a#b {name}",
            "echo '#' {name}",
            "cat <<EOF\nhello\nEOF\necho {name}",
            "cat <<-'END'\n\thello\n\tEND\necho {name}",
            "echo $'a\\'b' {name}",
            "test $((1 + (2))) -eq 3 && echo {name}",
            "echo $((1 << 2))\necho {name}",
            "((x <<= 1))\necho {name}",
            "echo {name|raw} '{flags|raw}'",
        ] {
            assert_eq!(traps(command), [], "{command}");
        }
    }

    #[test]
    fn references_whose_quoting_is_undone() {
        let cases = [
            ("echo 'hello {name}'", Trap::SingleQuotes),
            ("echo \"hello {name}\"", Trap::DoubleQuotes),
            ("echo \"a\\\"b {name}\"", Trap::DoubleQuotes),
            ("echo $'x {name}'", Trap::AnsiQuotes),
            ("echo \\{name}", Trap::Backslash),
            ("echo hi # {name}", Trap::Comment),
            ("# {name}\necho", Trap::Comment),
            ("cat <<EOF\nhello {name}\nEOF", Trap::HereDocument),
            ("cat <<'EOF' | sh\n{name}\nEOF", Trap::HereDocument),
            ("cat <<-EOF\n\tEOFX\n\t{name}\n\tEOF", Trap::HereDocument),
            ("echo \"$(echo 'x {name}')\"", Trap::SingleQuotes),
            ("echo $(echo \")\" \"{name}\")", Trap::DoubleQuotes),
        ];
        for (command, trap) in cases {
            assert_eq!(traps(command), [("name".to_string(), trap)], "{command}");
        }
    }

    #[test]
    fn quoting_state_runs_across_references() {
        assert_eq!(
            traps("echo {a} '{b}' {c} \"x{d}\" {e}"),
            [
                ("b".to_string(), Trap::SingleQuotes),
                ("d".to_string(), Trap::DoubleQuotes)
            ]
        );
    }
}
