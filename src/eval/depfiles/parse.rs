//! The make-format dependency files compilers write (`gcc -MD`, `-MMD -MF FILE`, `-MP`; clang
//! alike): `targets: prerequisites`, one rule a line.
//!
//! What gcc and clang write, and so what is read:
//!
//! - a line ending with `\` goes on on the next line;
//! - several targets may stand before the `:`, and several rules one after another (`-MP`
//!   adds `header.h:` rules with no prerequisites, which name nothing to compare);
//! - a space in a path is written `\ `, a `#` as `\#`, a `$` as `$$`; before a space, `2N`
//!   backslashes are `N` backslashes ending the path, and `2N+1` are `N` and a space (as ninja
//!   reads them). Other backslashes are part of the path.
//!
//! The `:` of a rule is the first one followed by a space, a tab or the end of the line, so a
//! path may hold a `:` elsewhere (`C:\src` is not split).

use std::fmt;

/// Why a depfile's text is not a dependency file.
#[derive(Debug, PartialEq, Eq)]
pub enum Corrupt {
    /// A line with words but no `:` ending its targets (1-based).
    NoColon { line: usize },
    /// A rule with prerequisites but no target before its `:` (1-based).
    NoTarget { line: usize },
    /// No rule at all: nothing says what the target depends on.
    Empty,
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Corrupt::NoColon { line } => {
                write!(f, "line {line} has no `:` after its targets")
            }
            Corrupt::NoTarget { line } => write!(f, "line {line} has no target before its `:`"),
            Corrupt::Empty => write!(f, "it holds no rule"),
        }
    }
}

/// Every prerequisite of every rule, in order, each once.
pub fn prerequisites(text: &str) -> Result<Vec<String>, Corrupt> {
    let mut found: Vec<String> = Vec::new();
    let mut rules = 0;
    for (line, rule) in logical_lines(text) {
        let words = words(&rule);
        if words.is_empty() {
            continue;
        }
        let Some(colon) = words.iter().position(|word| word.ends_rule) else {
            return Err(Corrupt::NoColon { line });
        };
        let targets = colon + usize::from(!words[colon].text.is_empty());
        if targets == 0 {
            return Err(Corrupt::NoTarget { line });
        }
        rules += 1;
        for word in &words[colon + 1..] {
            if !word.text.is_empty() && !found.contains(&word.text) {
                found.push(word.text.clone());
            }
        }
    }
    if rules == 0 {
        return Err(Corrupt::Empty);
    }
    Ok(found)
}

/// The lines of `text` with continuations joined, each with the number of its first line;
/// comments (from an unescaped `#` on) dropped.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut first = 1;
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if current.is_empty() {
            first = index + 1;
        }
        let trailing = line.len() - line.trim_end_matches('\\').len();
        if trailing % 2 == 1 {
            current.push_str(&line[..line.len() - 1]);
            current.push(' ');
        } else {
            current.push_str(line);
            lines.push((first, std::mem::take(&mut current)));
        }
    }
    if !current.is_empty() {
        lines.push((first, current));
    }
    lines
}

/// One word of a rule, unescaped.
#[derive(Debug)]
struct Word {
    text: String,
    /// It ended with the rule's `:` (the `:` is not part of its text).
    ends_rule: bool,
}

/// The words of one logical line. A word made of the `:` alone (`a.o : a.c`) is an empty word
/// that ends the targets.
fn words(line: &str) -> Vec<Word> {
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut text = String::new();
    let mut started = false;
    let mut seen_colon = false;
    let mut i = 0;
    let end_word = |text: &mut String, started: &mut bool, words: &mut Vec<Word>, ends_rule| {
        if *started || ends_rule {
            words.push(Word {
                text: std::mem::take(text),
                ends_rule,
            });
        }
        *started = false;
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => {
                end_word(&mut text, &mut started, &mut words, false);
                i += 1;
            }
            '#' => break,
            '\\' => {
                let run = chars[i..].iter().take_while(|&&c| c == '\\').count();
                let next = chars.get(i + run).copied();
                match next {
                    Some(' ') | Some('\t') | None => {
                        text.extend(std::iter::repeat_n('\\', run / 2));
                        started = true;
                        i += run;
                        if run % 2 == 1 && next.is_some() {
                            text.push(' ');
                            i += 1;
                        }
                    }
                    Some('#') => {
                        text.extend(std::iter::repeat_n('\\', run / 2));
                        if run % 2 == 1 {
                            text.push('#');
                            i += run + 1;
                        } else {
                            i += run;
                        }
                        started = true;
                    }
                    _ => {
                        text.extend(std::iter::repeat_n('\\', run));
                        started = true;
                        i += run;
                    }
                }
            }
            '$' if chars.get(i + 1) == Some(&'$') => {
                text.push('$');
                started = true;
                i += 2;
            }
            ':' if !seen_colon && matches!(chars.get(i + 1), None | Some(' ') | Some('\t')) => {
                seen_colon = true;
                end_word(&mut text, &mut started, &mut words, true);
                i += 1;
            }
            _ => {
                text.push(c);
                started = true;
                i += 1;
            }
        }
    }
    end_word(&mut text, &mut started, &mut words, false);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Vec<String> {
        prerequisites(text).unwrap()
    }

    #[test]
    fn one_rule_as_gcc_writes_it() {
        assert_eq!(
            parsed("build/a.o: src/a.c src/a.h \\\n include/common.h\n"),
            ["src/a.c", "src/a.h", "include/common.h"]
        );
    }

    #[test]
    fn phony_entries_of_mp_name_nothing_more() {
        assert_eq!(
            parsed("a.o: a.c a.h b.h\n\na.h:\n\nb.h:\n"),
            ["a.c", "a.h", "b.h"]
        );
    }

    #[test]
    fn several_targets_and_rules_give_each_prerequisite_once() {
        assert_eq!(
            parsed("a.o a.d: a.c a.h\nb.o : a.h b.h\n"),
            ["a.c", "a.h", "b.h"]
        );
    }

    #[test]
    fn escaped_spaces_hashes_and_dollars() {
        assert_eq!(
            parsed("my\\ dir/a.o: my\\ dir/a\\ b.c x\\#1.h cost$$.h odd\\\\\\ name.h two\\\\ words.h\n"),
            [
                "my dir/a b.c",
                "x#1.h",
                "cost$.h",
                "odd\\ name.h",
                "two\\",
                "words.h"
            ]
        );
    }

    #[test]
    fn other_backslashes_and_colons_are_part_of_a_path() {
        assert_eq!(
            parsed("out\\a.o: C:\\src\\a.c d:e.h\r\n"),
            ["C:\\src\\a.c", "d:e.h"]
        );
    }

    #[test]
    fn a_continuation_may_end_the_file_and_crlf_lines_are_read() {
        assert_eq!(parsed("a.o: a.c \\\r\n  a.h \\"), ["a.c", "a.h"]);
    }

    #[test]
    fn a_rule_with_no_prerequisites_is_no_error() {
        assert_eq!(parsed("a.o:\n"), Vec::<String>::new());
    }

    #[test]
    fn corrupt_files_say_where() {
        assert_eq!(
            prerequisites("a.o: a.c\ngarbage here\n"),
            Err(Corrupt::NoColon { line: 2 })
        );
        assert_eq!(
            prerequisites("a.o: a.c \\\n a.h\n: b.h\n"),
            Err(Corrupt::NoTarget { line: 3 })
        );
        assert_eq!(prerequisites(""), Err(Corrupt::Empty));
        assert_eq!(
            prerequisites("\n  \n# only a comment\n"),
            Err(Corrupt::Empty)
        );
        assert_eq!(
            Corrupt::NoColon { line: 2 }.to_string(),
            "line 2 has no `:` after its targets"
        );
    }
}
