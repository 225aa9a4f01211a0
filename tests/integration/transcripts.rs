//! Every transcript in the documents is run, and what it shows must be what `goal` prints.
//!
//! A transcript is a ```` ```text ```` block whose first line is a command, `$ goal …` (or any
//! shell command, `$ touch src/greet.c && goal --dry-run`), followed by what the user sees:
//! standard output and standard error as they interleave on a terminal. Several commands may
//! follow one another in one block. Each command runs with `sh -c` in a project made in a
//! temporary directory, with this build's `goal` first on `PATH`, the previous command's exit
//! status in `$?`, and the environment of every test (no colour, diagnostics 100 columns wide).
//! Output is compared exactly, after [`normalize`] (durations, dates, the temporary path), and
//! with blank lines at the end of a command's output ignored.
//!
//! The project is the Goalfile of the nearest ```` ```kdl ```` or ```` ```kdl-error ```` block
//! above the transcript. Transcripts that follow one Goalfile share one project, in order, so a
//! document can tell a story: a first run, then a second that finds everything reached. An HTML
//! comment just above the transcript (see `common::documents`) changes that:
//!
//! - `copy: PATH` starts a new project from the repository's directory `PATH` (its contents
//!   at the project's root), instead of a Goalfile block;
//! - `goalfile: none` starts a new, empty project;
//! - `fresh` starts a new project from the Goalfile block, though one already exists;
//! - `setup: COMMAND` runs a shell command in the project first, unseen (it must succeed);
//! - `command: ARGS…` says the block is the output of that command, for a block that shows
//!   output alone;
//! - `postgres` gives the commands `$DATABASE_URL`, the URL of a new database on the tests'
//!   throwaway PostgreSQL server (`common::postgres`), for a transcript of the shared Memory;
//! - `not run: REASON` leaves the block out, saying why (a remote server, a clock).
//!
//! A ```` ```text ```` block that shows `goal:` lines but is neither a transcript nor left out
//! with a reason fails the test, so new output in a document is run or explained.
//!
//! After a deliberate change of output, `GOAL_BLESS_TRANSCRIPTS=1 cargo test transcripts`
//! writes what `goal` printed into the documents; review the change with `git diff` before
//! committing it, as a reader will see it.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common;

use common::documents::{documents, Block};
use common::{normalize, repo_root, stable_environment, Project};

/// The `goal` a transcript's commands find first on `PATH`.
fn path_with_goal() -> String {
    let binary = Path::new(env!("CARGO_BIN_EXE_goal"));
    let dir = binary.parent().unwrap().display().to_string();
    match std::env::var("PATH") {
        Ok(path) => format!("{dir}:{path}"),
        Err(_) => dir,
    }
}

/// One command of a transcript and the output shown after it.
struct Step {
    command: String,
    expected: String,
}

fn steps(block: &Block) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    if let Some(command) = block.directive("command") {
        steps.push(Step {
            command: command.to_string(),
            expected: String::new(),
        });
    }
    for line in block.text.lines() {
        match (line.strip_prefix("$ "), steps.last_mut()) {
            (Some(command), _) if block.directive("command").is_none() => steps.push(Step {
                command: command.to_string(),
                expected: String::new(),
            }),
            (_, Some(step)) => {
                step.expected.push_str(line);
                step.expected.push('\n');
            }
            (_, None) => {}
        }
    }
    steps
}

fn is_transcript(block: &Block) -> bool {
    block.fence == "text" && (block.text.starts_with("$ ") || block.directive("command").is_some())
}

/// A block that looks like output of `goal` (status lines or a diagnostic's code).
fn shows_output(block: &Block) -> bool {
    block.fence == "text"
        && block
            .text
            .lines()
            .any(|line| line.starts_with("goal: ") || line.starts_with("goal::"))
}

/// Runs a shell command in the project, as a user would type it, with `environment`.
fn shell(
    project: &Path,
    command: &str,
    last_status: i32,
    environment: &[(&str, String)],
) -> (i32, String) {
    let mut shell = Command::new("timeout");
    shell
        .args(["60", "sh", "-c"])
        .arg(format!("exec 2>&1; (exit {last_status}); {command}"))
        .current_dir(project)
        .env("PATH", path_with_goal());
    stable_environment(&mut shell);
    shell.envs(environment.iter().map(|(name, value)| (name, value)));
    let output = shell.output().expect("running sh");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn trim_end_lines(text: &str) -> String {
    let mut text = normalize(text);
    while text.ends_with('\n') {
        text.pop();
    }
    text
}

/// Copies the repository's directory `from` into `to`, leaving out what a build wrote.
fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == ".goal" || name == "build" || name == "target" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs the transcripts of one document; returns what differed, and each differing
/// transcript's block as `goal` printed it (for `GOAL_BLESS_TRANSCRIPTS`).
fn run_document(blocks: &[Block]) -> (Vec<String>, Vec<(usize, String)>) {
    let mut failures = Vec::new();
    let mut blessed = Vec::new();
    let mut goalfile: Option<&Block> = None;
    // The project the latest transcripts used, and the Goalfile block it was made from.
    let mut current: Option<(Project, Option<usize>)> = None;
    for block in blocks {
        if block.fence.starts_with("kdl") {
            goalfile = Some(block);
            continue;
        }
        if let Some(reason) = block.directive("not run") {
            if reason.is_empty() {
                failures.push(format!("{}: `not run` needs a reason", block.place()));
            }
            continue;
        }
        if !is_transcript(block) {
            if shows_output(block) {
                failures.push(format!(
                    "{}: this block shows goal's output but is not a transcript: start it with \
                     `$ goal …`, give it a `command:`, or say `not run: REASON`",
                    block.place()
                ));
            }
            continue;
        }
        let source = goalfile.map(|block| block.line);
        let copy = block.directive("copy");
        let empty = block
            .directive("goalfile")
            .is_some_and(|value| value == "none");
        let reuse = copy.is_none()
            && !empty
            && block.directive("fresh").is_none()
            && current
                .as_ref()
                .is_some_and(|(_, made_from)| *made_from == source);
        if !reuse {
            let project = Project::new();
            match (copy, goalfile) {
                (Some(dir), _) => copy_tree(&repo_root().join(dir), project.path()),
                (None, _) if empty => {}
                (None, Some(kdl)) => project.write("Goalfile", &kdl.text),
                (None, None) => {
                    failures.push(format!(
                        "{}: a transcript needs a ```kdl block above it, `copy:` or \
                         `goalfile: none`",
                        block.place()
                    ));
                    continue;
                }
            }
            let made_from = if copy.is_some() || empty {
                None
            } else {
                source
            };
            current = Some((project, made_from));
        }
        let (project, _) = current.as_ref().unwrap();
        let database = block
            .directive("postgres")
            .map(|_| common::postgres::Database::new());
        let environment: Vec<(&str, String)> = database
            .iter()
            .map(|database| ("DATABASE_URL", database.url.clone()))
            .collect();
        for setup in block.directives("setup") {
            let (status, output) = shell(project.path(), setup, 0, &environment);
            if status != 0 {
                failures.push(format!(
                    "{}: setup `{setup}` failed ({status}):\n{output}",
                    block.place()
                ));
            }
        }
        let mut status = 0;
        let mut printed = String::new();
        let mut differs = false;
        let steps = steps(block);
        for (index, step) in steps.iter().enumerate() {
            let (code, output) = shell(project.path(), &step.command, status, &environment);
            status = code;
            let (expected, actual) = (trim_end_lines(&step.expected), trim_end_lines(&output));
            if block.directive("command").is_none() {
                printed.push_str(&format!("$ {}\n", step.command));
            }
            printed.push_str(output.trim_end_matches('\n'));
            if !printed.ends_with('\n') {
                printed.push('\n');
            }
            // Keep the blank line a document puts between one command's output and the next.
            if index + 1 < steps.len() && step.expected.ends_with("\n\n") {
                printed.push('\n');
            }
            if expected != actual {
                differs = true;
                failures.push(format!(
                    "{}: `$ {}` printed something else (after normalisation)\n--- the document \
                     shows\n{expected}\n--- goal printed\n{actual}\n---",
                    block.place(),
                    step.command
                ));
            }
        }
        if differs {
            blessed.push((block.line, printed));
        }
    }
    (failures, blessed)
}

/// Writes each block's new text into its document: the lines between the fences that open at
/// `line` and close after it.
fn bless(file: &str, replacements: &[(usize, String)]) {
    let path = repo_root().join(file);
    let text = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for (line, printed) in replacements.iter().rev() {
        let start = *line; // the first line inside the block, 0-based
        let end = start
            + lines[start..]
                .iter()
                .position(|l| l.trim_start() == "```")
                .unwrap();
        lines.splice(start..end, printed.lines().map(str::to_owned));
    }
    fs::write(&path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn every_transcript_in_the_documents_shows_what_goal_prints() {
    let documents = documents();
    let transcripts = documents
        .iter()
        .flat_map(|(_, blocks)| blocks)
        .filter(|block| is_transcript(block) && block.directive("not run").is_none())
        .count();
    assert!(transcripts >= 50, "only {transcripts} transcripts found");
    // Documents are independent: half on each core.
    let results: Vec<_> = std::thread::scope(|scope| {
        let (left, right) = documents.split_at(documents.len() / 2);
        let right = scope.spawn(|| {
            right
                .iter()
                .map(|(file, blocks)| (file, run_document(blocks)))
                .collect::<Vec<_>>()
        });
        let mut results: Vec<_> = left
            .iter()
            .map(|(file, blocks)| (file, run_document(blocks)))
            .collect();
        results.extend(right.join().unwrap());
        results
    });
    let mut failures = Vec::new();
    for (file, (differences, blessed)) in results {
        failures.extend(differences);
        if std::env::var_os("GOAL_BLESS_TRANSCRIPTS").is_some() && !blessed.is_empty() {
            bless(file, &blessed);
        }
    }
    assert!(
        failures.is_empty(),
        "{} transcripts differ from the binary:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
