//! Persistent variables: declared with `var`, kept in the Memory, read by templates as globals,
//! changed by `goal set` and the `set` statement, and watched by `when` jobs.

use std::cmp::Ordering;
use std::fmt::Write as _;

use regex::Regex;

use crate::diagnostic::{did_you_mean, Error, Problem, Sources};
use crate::goalfile::{Goalfile, Variable};
use crate::memory::Memory;

/// Every key `goal` keeps for itself in the Memory starts with this; users' keys should not.
pub const RESERVED_PREFIX: &str = "goal/";

/// Where the value of the variable `name` is kept in the Memory.
pub fn key(name: &str) -> String {
    format!("{RESERVED_PREFIX}var/{name}")
}

/// `NAME=VALUE` words from the command line, each name a declared variable (once), each value
/// matching the variable's pattern: every problem is reported, and nothing is set unless none.
pub fn assignments(goalfile: &Goalfile, words: &[String]) -> Result<Vec<(String, String)>, Error> {
    let sources = Sources::of(goalfile);
    let mut problems = Vec::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for word in words {
        let Some((name, value)) = word.split_once('=') else {
            problems.push(
                Problem::input("goal::assignment", format!("`{word}` is not NAME=VALUE"))
                    .with_help("write each variable as NAME=VALUE: goal set version=1.2"),
            );
            continue;
        };
        let Some(variable) = goalfile.variables.iter().find(|v| v.name.text == name) else {
            problems.push(unknown(goalfile, name));
            continue;
        };
        if pairs.iter().any(|(set, _)| set == name) {
            problems.push(Problem::input(
                "goal::assignment",
                format!("`{name}` is given twice"),
            ));
            continue;
        }
        if let Some(problem) = mismatch(variable, value, &sources) {
            problems.push(problem);
            continue;
        }
        pairs.push((name.to_owned(), value.to_owned()));
    }
    if pairs.is_empty() && problems.is_empty() {
        problems.push(
            Problem::input("goal::assignment", "no variable to set")
                .with_help("name at least one: goal set NAME=VALUE…"),
        );
    }
    if problems.is_empty() {
        Ok(pairs)
    } else {
        Err(problems.into())
    }
}

/// The problem with giving `variable` this value, if its pattern refuses it.
pub fn mismatch(variable: &Variable, value: &str, sources: &Sources) -> Option<Problem> {
    let pattern = variable.pattern.as_ref()?;
    // The checker compiled every pattern: an invalid one cannot reach here.
    let regex = Regex::new(&format!("^(?:{})$", pattern.source)).ok()?;
    (!regex.is_match(value)).then(|| {
        Problem::input(
            "goal::pattern-mismatch",
            format!(
                "the value {value:?} of the variable `{}` does not match its pattern",
                variable.name.text
            ),
        )
        .at(sources, pattern.span, "the pattern it must match")
    })
}

fn unknown(goalfile: &Goalfile, name: &str) -> Problem {
    let names = goalfile.variables.iter().map(|v| v.name.text.as_str());
    let help = did_you_mean(name, names).unwrap_or_else(|| match goalfile.variables.len() {
        0 => "the Goalfile declares no variable: add `var NAME` to it".to_owned(),
        _ => "`goal vars` lists the variables".to_owned(),
    });
    Problem::input(
        "goal::unknown-variable",
        format!("there is no variable `{name}` in the Goalfile"),
    )
    .with_help(help)
}

/// The Memory entries that set these variables.
pub fn entries(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (key(name), value.clone()))
        .collect()
}

/// `goal get NAME`: the value as set, else the default (rendered by `values`).
pub fn get(goalfile: &Goalfile, name: &str, values: &[(String, String)]) -> Result<String, Error> {
    match values.iter().find(|(variable, _)| variable == name) {
        Some((_, value)) => Ok(format!("{value}\n")),
        None => Err(unknown(goalfile, name).into()),
    }
}

/// `goal vars`: each variable with its value, marked when it is the default, and its doc.
pub fn list(
    goalfile: &Goalfile,
    values: &[(String, String)],
    memory: &Memory,
) -> Result<String, Problem> {
    if values.is_empty() {
        return Ok("the Goalfile declares no variables; declare one with `var NAME`\n".to_owned());
    }
    let set = memory.list(&key(""))?;
    let width = values.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for ((name, value), variable) in values.iter().zip(&goalfile.variables) {
        let note = match (set.iter().any(|(k, _)| *k == key(name)), &variable.doc) {
            (true, Some(doc)) => format!("  # {doc}"),
            (true, None) => String::new(),
            (false, Some(doc)) => format!("  # default; {doc}"),
            (false, None) => "  # default".to_owned(),
        };
        let _ = writeln!(out, "{name:width$} = {value:?}{note}");
    }
    Ok(out)
}

/// Orders two values as versions: runs of ASCII digits compare as numbers and everything else
/// as text, so `1.10 > 1.9`, `10 > 9` and `v2-rc1 < v2-rc2`. The empty value comes first.
pub fn version_order(left: &str, right: &str) -> Ordering {
    let mut left = Chunks(left);
    let mut right = Chunks(right);
    loop {
        let ordering = match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(Chunk::Number(a)), Some(Chunk::Number(b))) => {
                let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
                a.len().cmp(&b.len()).then_with(|| a.cmp(b))
            }
            // Digits before text, whatever the text's characters, so the order is total.
            (Some(Chunk::Number(_)), Some(Chunk::Text(_))) => Ordering::Less,
            (Some(Chunk::Text(_)), Some(Chunk::Number(_))) => Ordering::Greater,
            (Some(Chunk::Text(a)), Some(Chunk::Text(b))) => a.cmp(b),
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
}

enum Chunk<'a> {
    Number(&'a str),
    Text(&'a str),
}

/// A value split into alternating runs of digits and of anything else.
struct Chunks<'a>(&'a str);

impl<'a> Iterator for Chunks<'a> {
    type Item = Chunk<'a>;

    fn next(&mut self) -> Option<Chunk<'a>> {
        let first = self.0.bytes().next()?;
        let digits = first.is_ascii_digit();
        let end = self
            .0
            .bytes()
            .position(|byte| byte.is_ascii_digit() != digits)
            .unwrap_or(self.0.len());
        let (chunk, rest) = self.0.split_at(end);
        self.0 = rest;
        Some(if digits {
            Chunk::Number(chunk)
        } else {
            Chunk::Text(chunk)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_their_numbers() {
        let ascending = [
            "", "0.9", "1", "1.0", "1.0.1", "1.2", "1.9", "1.10", "2", "2.0-rc1", "2.0-rc2", "10",
        ];
        for pair in ascending.windows(2) {
            assert_eq!(version_order(pair[0], pair[1]), Ordering::Less, "{pair:?}");
            assert_eq!(
                version_order(pair[1], pair[0]),
                Ordering::Greater,
                "{pair:?}"
            );
        }
        assert_eq!(version_order("007", "7"), Ordering::Equal);
        assert_eq!(version_order("1.2", "1.2"), Ordering::Equal);
    }
}
