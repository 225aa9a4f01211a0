//! `goal memory export` and `goal memory import`: a whole Memory as text, to move it from one
//! backend to another (an embedded Memory to a PostgreSQL server) or to keep a copy.
//!
//! The format is line-oriented JSON: a first line naming the format and its version, then one
//! line per entry, sorted by key:
//!
//! ```text
//! {"format":"goal-memory","version":1}
//! {"key":"built-zlib","value":"1.3"}
//! {"key":"goal/var/release","value":"2.1\n"}
//! ```
//!
//! Every key of the Memory is an entry: the persistent variables (`goal/var/…`) and the jobs'
//! state (`goal/every/…`, `goal/when/…`, `goal/serial`) are keys like the others. JSON escapes
//! line breaks and control characters, so any value fits on its line.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{escape, Memory};
use crate::diagnostic::Problem;

/// The name in the first line: a file that lacks it is not an export of a Memory.
const FORMAT: &str = "goal-memory";
/// Raised when the meaning of a line changes; an import refuses any other.
const VERSION: u32 = 1;

const IMPORT: &str = "goal::memory-import";
const IMPORT_VERSION: &str = "goal::memory-import-version";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    key: String,
    value: String,
}

/// Every entry of `memory`, in the export format.
pub(super) fn export(memory: &Memory) -> Result<String, Problem> {
    let header = Header {
        format: FORMAT.to_owned(),
        version: VERSION,
    };
    let mut out = line(&header);
    for (key, value) in memory.list("")? {
        out.push_str(&line(&Entry { key, value }));
    }
    Ok(out)
}

fn line(value: &impl Serialize) -> String {
    // Strings and integers always serialise.
    serde_json::to_string(value).unwrap_or_default() + "\n"
}

/// Reads the export in `file` (`-`: standard input) and sets all its entries in `memory` at once:
/// all of them or, on any problem, none. With `dry_run`, writes nothing and returns what it
/// would set instead.
pub(super) fn import(memory: &Memory, file: &Path, dry_run: bool) -> Result<String, Problem> {
    let entries = read(file)?;
    if dry_run {
        let mut out = format!("would import {}\n", count(entries.len()));
        for (key, value) in &entries {
            let _ = writeln!(out, "{}\t{}", escape(key), escape(value));
        }
        return Ok(out);
    }
    memory.set_all(&entries)?;
    Ok(format!("imported {}\n", count(entries.len())))
}

fn count(entries: usize) -> String {
    match entries {
        1 => "1 entry".to_owned(),
        n => format!("{n} entries"),
    }
}

fn read(file: &Path) -> Result<Vec<(String, String)>, Problem> {
    let shown = if file == Path::new("-") {
        "standard input".to_owned()
    } else {
        format!("`{}`", file.display())
    };
    let input: Box<dyn Read> = if file == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(file)
                .map_err(|error| Problem::input(IMPORT, format!("cannot read {shown}: {error}")))?,
        )
    };
    let not_an_export = |why: String| {
        Problem::input(
            IMPORT,
            format!("{shown} is not an export of a Memory: {why}"),
        )
        .with_help("make it with `goal memory export > FILE`; nothing was imported")
    };
    let mut lines = BufReader::new(input).lines();
    let first = match lines.next() {
        Some(first) => first.map_err(|error| not_an_export(error.to_string()))?,
        None => return Err(not_an_export("it is empty".to_owned())),
    };
    let header: Header = serde_json::from_str(&first)
        .ok()
        .filter(|header: &Header| header.format == FORMAT)
        .ok_or_else(|| not_an_export("its first line does not name its format".to_owned()))?;
    if header.version != VERSION {
        return Err(Problem::input(
            IMPORT_VERSION,
            format!(
                "{shown} is an export of version {}; this goal reads version {VERSION} only",
                header.version
            ),
        )
        .with_help(
            "import it with the goal that exported it, or a newer one; nothing was imported",
        ));
    }
    let mut entries = Vec::new();
    for (index, text) in lines.enumerate() {
        let number = index + 2;
        let text = text.map_err(|error| not_an_export(format!("line {number}: {error}")))?;
        let entry: Entry = serde_json::from_str(&text).map_err(|error| {
            // serde_json's own position counts lines of the one line it was given.
            let why = error.to_string();
            let why = why
                .rsplit_once(" at line ")
                .map_or(why.as_str(), |(why, _)| why);
            not_an_export(format!("line {number}, column {}: {why}", error.column()))
        })?;
        entries.push((entry.key, entry.value));
    }
    Ok(entries)
}
