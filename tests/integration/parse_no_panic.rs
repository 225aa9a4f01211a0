//! No input makes parsing, checking or `goal fmt`'s layout panic, abort or stall: every
//! Goalfile we have, cut short at many places and mutated at random (deterministically), gives `Ok` or `Err`, in process and
//! through the real `goal --check` (where an abort shows as a signal), in time that grows with
//! the input's size, not faster. The inputs once found to break that are regression tests here.
//!
//! `GOAL_FUZZ_SECONDS` runs the mutation of the binary longer than the few seconds of the
//! suite, and `GOAL_FUZZ_SEED` starts it elsewhere (docs/contributing.md).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{self, Project, Run};

/// Goalfiles under examples/, ```kdl blocks of spec/*.md, and tests/goalfiles/.
fn corpus() -> Vec<(String, String)> {
    let root = common::repo_root();
    let mut files = Vec::new();
    for dir in ["examples", "tests/goalfiles"] {
        collect_goalfiles(&root.join(dir), &mut files);
    }
    let mut corpus: Vec<(String, String)> = files
        .into_iter()
        .filter_map(|path| Some((path.display().to_string(), fs::read_to_string(&path).ok()?)))
        .collect();
    if let Ok(entries) = fs::read_dir(root.join("spec")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "md") {
                let text = fs::read_to_string(&path).unwrap_or_default();
                for (i, block) in kdl_blocks(&text).into_iter().enumerate() {
                    corpus.push((format!("{}#{i}", path.display()), block));
                }
            }
        }
    }
    corpus
}

fn collect_goalfiles(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_goalfiles(&path, out);
        } else if path.file_name().is_some_and(|n| n == "Goalfile")
            || path.extension().is_some_and(|ext| ext == "kdl")
        {
            out.push(path);
        }
    }
}

fn kdl_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```kdl") => current = Some(String::new()),
            Some(block) if line.trim_start().starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// Parses and checks, and for one input in [`LAID_OUT`] lays out as `goal fmt` would; only a
/// panic (or an abort, which ends the test binary) is a failure, and a layout `goal fmt`
/// refuses to write as one it could not verify (`goal::fmt-unstable`, its own bug) rather than
/// for the file's KDL problems.
fn parse_and_check(text: &str, nth: usize) {
    if let Ok(goalfile) = goal::parse::parse_text("Goalfile", text) {
        let _ = goal::check::check(&goalfile);
    }
    if !nth.is_multiple_of(LAID_OUT) {
        return;
    }
    if let Err(error) = goal::parse::layout::lay_out("Goalfile", text) {
        assert!(
            error
                .problems
                .iter()
                .all(|p| p.code != "goal::fmt-unstable"),
            "goal fmt cannot lay this out:\n{text}"
        );
    }
}

/// xorshift64*: deterministic, good enough to pick places and bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Characters that matter to KDL, templates, names and regexes.
const NOISE: &[char] = &[
    '{', '}', '"', '#', '/', '*', '\\', '=', '(', ')', ';', '\n', ' ', '|', ':', '-', '.', '1',
    'a', 'x', '$', '^', '[', 'é',
];

/// What makes a parser slow or deep when repeated: comments, slashdashes, properties, blocks,
/// strings, templates, quotes in commands.
const HAZARDS: &[&str] = &[
    "/- ",
    "/-",
    "/*",
    "*/",
    "// x\n",
    "p=1 ",
    "a=",
    "{",
    "}",
    "a {",
    "\"",
    "#\"",
    "\"#",
    "\\\n",
    "(t)",
    "{x}",
    "'{x}'",
    "\"\\\"{x}\\\"\"",
    ";",
    "\n",
    " ",
    "é",
];

/// A mutant much larger than its source: a hazard, a slice of it or a few of its lines,
/// repeated in place from a few dozen to tens of thousands of times; half of the time at the
/// start of a line, where a hazard is read as KDL rather than inside a string.
fn blow_up(text: &[char], rng: &mut Rng) -> String {
    let mut at = rng.below(text.len() + 1);
    if rng.below(2) == 0 {
        at = text[..at]
            .iter()
            .rposition(|&c| c == '\n')
            .map_or(0, |i| i + 1);
    }
    let piece: Vec<char> = match rng.below(3) {
        _ if at == text.len() => HAZARDS[rng.below(HAZARDS.len())].chars().collect(),
        0 => HAZARDS[rng.below(HAZARDS.len())].chars().collect(),
        1 => {
            let len = 1 + rng.below(16).min(text.len() - at - 1);
            text[at..at + len].to_vec()
        }
        _ => {
            // Whole lines repeated: many goals, duplicates, long cycles.
            let lines = 1 + rng.below(5);
            let end = text[at..]
                .iter()
                .enumerate()
                .filter(|(_, &c)| c == '\n')
                .nth(lines - 1)
                .map_or(text.len(), |(i, _)| at + i + 1);
            text[at..end].to_vec()
        }
    };
    let times = 1 << (5 + rng.below(11));
    let mut chars = text[..at].to_vec();
    for _ in 0..times {
        chars.extend_from_slice(&piece);
    }
    chars.extend_from_slice(&text[at..]);
    chars.into_iter().collect()
}

fn mutate(text: &[char], rng: &mut Rng) -> String {
    let mut chars = text.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(4) {
            0 if at < chars.len() => {
                let len = 1 + rng.below(8).min(chars.len() - at - 1);
                chars.drain(at..at + len);
            }
            1 if at < chars.len() => {
                let len = 1 + rng.below(16).min(chars.len() - at - 1);
                let copy: Vec<char> = chars[at..at + len].to_vec();
                let to = rng.below(chars.len());
                chars.splice(to..to, copy);
            }
            2 if at < chars.len() => chars[at] = NOISE[rng.below(NOISE.len())],
            _ => chars.insert(at, NOISE[rng.below(NOISE.len())]),
        }
    }
    chars.into_iter().collect()
}

#[test]
fn the_corpus_is_valid() {
    let corpus = corpus();
    assert!(corpus.len() >= 2, "no corpus found");
    for (name, text) in corpus
        .iter()
        .filter(|(name, _)| name.contains("tests/goalfiles"))
    {
        let goalfile = goal::parse::parse_text(name, text)
            .unwrap_or_else(|e| panic!("{name}:\n{}", goal::diagnostic::render(&e.problems)));
        goal::check::check(&goalfile)
            .unwrap_or_else(|e| panic!("{name}:\n{}", goal::diagnostic::render(&e.problems)));
    }
}

/// How many parses each test may spend over the whole corpus: the corpus grows with every
/// example in spec/ and examples/, and the suite must stay quick in a debug build.
const BUDGET: usize = 12_000;

/// A layout parses its input, lays it out, and parses and lays out the result again to verify
/// it: several times a parse. One input in this many is laid out too, which still covers every
/// file of the corpus.
const LAID_OUT: usize = 4;

#[test]
fn truncated_inputs_do_not_panic() {
    let corpus = corpus();
    let per_file = (BUDGET / corpus.len()).max(10);
    for (_, text) in corpus {
        let ends: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        let stride = (ends.len() / per_file).max(1);
        for (nth, &end) in ends.iter().step_by(stride).enumerate() {
            parse_and_check(&text[..end], nth);
        }
    }
}

#[test]
fn mutated_inputs_do_not_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let corpus = corpus();
    let per_file = (BUDGET / corpus.len()).max(10);
    for (_, text) in corpus {
        let chars: Vec<char> = text.chars().collect();
        for nth in 0..per_file {
            parse_and_check(&mutate(&chars, &mut rng), nth);
        }
    }
}

#[test]
fn mutated_schedules_and_durations_do_not_panic() {
    let mut rng = Rng(7);
    for seed in [
        "*/30 * * * *",
        "0 3 * * 1-5",
        "0 0 12 L * ?",
        "30 minutes",
        "1h 30m",
    ] {
        let chars: Vec<char> = seed.chars().collect();
        for _ in 0..300 {
            let value = mutate(&chars, &mut rng).replace(['"', '\\'], "");
            parse_and_check(&format!("every cron=\"{value}\" {{ run \"x\" }}"), 0);
            parse_and_check(&format!("every \"{value}\" {{ run \"x\" }}"), 0);
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_an_abort() {
    for opener in ["a {", "all {", "a \"}}}\" {", "a /* } */ {", "a #\"}\"# {"] {
        let text = opener.repeat(5_000);
        assert!(goal::parse::parse_text("Goalfile", &text).is_err());
    }
}

/// How long `goal --check` may take on `size` bytes: a generous multiple of what a debug build
/// needs on a busy machine, so that only time beyond linear (seconds for kilobytes) fails.
fn time_bound(size: usize) -> Duration {
    Duration::from_secs(10) + Duration::from_micros(100 * size as u64)
}

/// `goal --check` on `text` as the project's Goalfile, its output captured to files (a pipe
/// could fill and stall it); `None` when it took longer than [`time_bound`] (it is killed).
fn check_within_bound(project: &Project, text: &str) -> Option<Run> {
    project.write("Goalfile", text);
    let output = |name: &str| fs::File::create(project.path().join(name)).expect("output file");
    let mut child = project
        .command(&["--check"])
        .stdin(Stdio::null())
        .stdout(output(".stdout"))
        .stderr(output(".stderr"))
        .spawn()
        .expect("running goal");
    let deadline = Instant::now() + time_bound(text.len());
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for goal") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let read = |name: &str| fs::read_to_string(project.path().join(name)).unwrap_or_default();
    Some(Run {
        status: status.code(),
        stdout: read(".stdout"),
        stderr: read(".stderr"),
    })
}

/// Keeps an input that broke `goal --check` where it can be replayed, and fails with how.
fn failed(text: &str, what: &str) -> ! {
    let dir = common::repo_root().join("target/fuzz-failures");
    let _ = fs::create_dir_all(&dir);
    let path = dir.join(format!("{:016x}.Goalfile", blake3_like(text)));
    let _ = fs::write(&path, text);
    panic!(
        "goal --check {what}; the input is saved in {}",
        path.display()
    );
}

/// A name for a failing input that stays the same across runs.
fn blake3_like(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ byte as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// The mutation harness on the real binary: a few seconds in the suite, as long as
/// `GOAL_FUZZ_SECONDS` says in a nightly run. Every mutant must end with status 0 or 2 (an
/// abort is a signal, a panic 101) within [`time_bound`].
#[test]
fn goal_check_ends_cleanly_on_mutated_goalfiles() {
    let seconds: f64 = std::env::var("GOAL_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let seed: u64 = std::env::var("GOAL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let corpus = corpus();
    let project = Project::new();
    let mut rng = Rng(seed.max(1));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut inputs = 0;
    while inputs == 0 || Instant::now() < deadline {
        let (_, text) = &corpus[rng.below(corpus.len())];
        let chars: Vec<char> = text.chars().collect();
        let mutant = match rng.below(4) {
            0 => blow_up(&chars, &mut rng),
            _ => mutate(&chars, &mut rng),
        };
        match check_within_bound(&project, &mutant) {
            None => failed(
                &mutant,
                &format!("took longer than {:?}", time_bound(mutant.len())),
            ),
            Some(run) if !matches!(run.status, Some(0 | 2)) => {
                let how = match run.status {
                    Some(code) => format!("exited with status {code}"),
                    None => "was ended by a signal".to_string(),
                };
                failed(&mutant, &format!("{how}: {}", run.stderr))
            }
            Some(_) => inputs += 1,
        }
    }
}

/// `goal --check` on one input, failing (rather than stalling the suite) past the time bound.
#[track_caller]
fn check(text: &str) -> Run {
    let project = Project::new();
    check_within_bound(&project, text).unwrap_or_else(|| failed(text, "took too long"))
}

/// 3 KB of `/-` took kdl 6 s, and 6 KB more than 20 s.
#[test]
fn a_long_slashdash_chain_is_refused_at_once() {
    let text = "/- ".repeat(2_000);
    check(&text).expect(
        2,
        "",
        &format!(
            "goal::slashdash-chain

  × more than 3 `/-` in a row
   ╭─[Goalfile:1:10]
 1 │ {text}
   ·          ─┬
   ·           ╰── one too many
   ╰────
  help: one `/-` comments out the whole node or value after it: remove the others
"
        ),
    );
}

/// One node with 4,000 properties took kdl 4 s, and as many problems took longer to show.
#[test]
fn a_node_with_thousands_of_properties_is_refused_at_once() {
    let properties: Vec<String> = (0..4_000).map(|i| format!("p{i}=\"x\"")).collect();
    let text = format!("goal a {} {{ run \"x\" }}\n", properties.join(" "));
    let column = text
        .match_indices('=')
        .nth(256)
        .map(|(at, _)| at + 1)
        .unwrap();
    let line = text.trim_end();
    let pad = " ".repeat(column - 1);
    check(&text).expect(
        2,
        "",
        &format!(
            "goal::too-many-properties

  × a node has more than 256 properties
   ╭─[Goalfile:1:{column}]
 1 │ {line}
   · {pad}┬
   · {pad}╰── one too many
   ╰────
  help: no node of a Goalfile takes this many: split it, or pass values in a file
"
        ),
    );
}

/// The fuzz harness found this: 32,768 lines, each with a `}` that closes no block (and a
/// string left open), overflowed the stack of kdl's thread, which parses the rest of the file
/// again one level deeper after each.
#[test]
fn thousands_of_stray_closing_braces_are_refused_not_an_abort() {
    let head = "goal compiled c {\n    run \"cc -c {c}\"\n}\n";
    let text = head.to_string() + &"w} -c {c} -o {c|noext}.o\"\n}\n".repeat(32_768);
    // The 65th stray `}`: the first line of each pair has one outside strings.
    let line = 4 + 2 * 64;
    check(&text).expect(
        2,
        "",
        &format!(
            "goal::stray-braces

  × more than 64 `}}` close no block
     ╭─[Goalfile:{line}:2]
 {before} │ }}
 {line} │ w}} -c {{c}} -o {{c|noext}}.o\"
     ·  ┬
     ·  ╰── one too many
 {after} │ }}
     ╰────
  help: each `}}` closes the block its `{{` opened: remove those that close none
",
            before = line - 1,
            after = line + 1,
        ),
    );
    // Counting braces in strings, where a string may hold a `}` of its own: more are let by.
    check(&"x \"}\"\n".repeat(2_000)).expect(
        2,
        "",
        "goal::stray-braces

  × more than 1024 `}` close no block, counting those in strings
      ╭─[Goalfile:1025:4]
 1024 │ x \"}\"
 1025 │ x \"}\"
      ·    ┬
      ·    ╰── one too many
 1026 │ x \"}\"
      ╰────
  help: balance the braces in the strings: the KDL parser reads the rest of a string it rejects as
        nodes, where a `}` closes a block
",
    );
}

/// 100,000 nested comments overflowed the stack of kdl's thread and aborted the process.
#[test]
fn deeply_nested_comments_are_refused_not_an_abort() {
    let text = "/*".repeat(100_000) + &"*/".repeat(100_000) + "\n";
    let line = text.trim_end();
    check(&text).expect(
        2,
        "",
        &format!(
            "goal::too-deep

  × `/* */` comments are nested more than 32 deep
   ╭─[Goalfile:1:65]
 1 │ {line}
   ·                                                                 ─┬
   ·                                                                  ╰── this comment is too deep
   ╰────
  help: close the comments with `*/`, or comment lines out with `//`
"
        ),
    );
}

/// Found by the harness: kdl reads the rest of a multi-line string it rejects (here for its
/// indentation) as nodes, and thousands of `{` in it overflowed the stack of kdl's thread.
#[test]
fn braces_in_a_rejected_string_are_refused_not_an_abort() {
    let braces = "{".repeat(40_000);
    let text = format!("goal a {{\n    run \"\"\"\n{braces}\n    \"\"\"\n}}\n");
    let pad = " ".repeat(1_023);
    check(&text).expect(
        2,
        "",
        &format!(
            "goal::too-deep

  × braces are nested more than 1024 deep, counting those in strings
   ╭─[Goalfile:3:1024]
 2 │     run \"\"\"
 3 │ {braces}
   · {pad}┬
   · {pad}╰── this brace is too deep
 4 │     \"\"\"
   ╰────
  help: close the `{{`s in the strings: the KDL parser reads the rest of a string it rejects as
        nodes, where braces open blocks
"
        ),
    );
}

/// A cycle through thousands of goals was reported with every step and where it is written,
/// each found by a scan of the file: time grew with the square of the file.
#[test]
fn a_cycle_through_thousands_of_goals_shows_its_first_steps() {
    let goals = 3_000;
    let text: String = (0..goals)
        .map(|i| format!("goal g{i} {{ require g{}; }}\n", (i + 1) % goals))
        .collect();
    check(&text).expect(
        2,
        "",
        "goal::requirement-cycle

  × requirement cycle: g2998 → g2999 → g0 → g1 → g2 → g3 → g4 → g5 → g6 → g7 → g8 → g9 → … → g2998
      ╭─[Goalfile:2999:14]
 2998 │ goal g2997 { require g2998; }
 2999 │ goal g2998 { require g2999; }
      ·              ──────┬──────
      ·                    ╰── requires `g2999`
 3000 │ goal g2999 { require g0; }
      ╰────
  help: `g2998` requires `g2999` at Goalfile:2999:14; `g2999` requires `g0` at Goalfile:3000:14;
        `g0` requires `g1` at Goalfile:1:11; `g1` requires `g2` at Goalfile:2:11; `g2` requires
        `g3` at Goalfile:3:11; `g3` requires `g4` at Goalfile:4:11; `g4` requires `g5` at
        Goalfile:5:11; `g5` requires `g6` at Goalfile:6:11; `g6` requires `g7` at Goalfile:7:11;
        `g7` requires `g8` at Goalfile:8:11; `g8` requires `g9` at Goalfile:9:11; `g9` requires
        `g10` at Goalfile:10:11; 2988 more steps; this repeats forever whatever the parameters
",
    );
}

/// A problem at a column past 65,535 made miette panic ("Formatting argument out of range"):
/// such a problem is shown without its line, and says where it is.
#[test]
fn a_problem_far_along_its_line_is_shown_without_the_line() {
    let text = " ".repeat(70_000) + "bogus \"x\"\n";
    check(&text).expect(
        2,
        "",
        "goal::unknown-node

  × unknown top-level node `bogus`
  help: expected one of: let, include, goal, predicate, every, when, var, transition, on-failure,
        on-success
        at Goalfile:1:70001: too far along its line to show
",
    );
}

/// A generated file with a problem per node shows the first ones and counts the rest.
#[test]
fn thousands_of_problems_show_the_first_fifty() {
    let text = "bogus\n".repeat(2_000);
    let run = check(&text);
    let shown = (1..=50)
        .map(|line: usize| {
            // The gutter is as wide as the last line number shown.
            let width = (line + 1).to_string().len();
            let gutter = " ".repeat(width + 1);
            let before = if line > 1 {
                format!(" {:>width$} │ bogus\n", line - 1)
            } else {
                String::new()
            };
            format!(
                "goal::unknown-node\n\n  × unknown top-level node `bogus`\n{gutter} ╭─[Goalfile:{line}:1]\n\
                 {before} {line:>width$} │ bogus\n{gutter} · ──┬──\n{gutter} ·   ╰── not a top-level \
                 node\n {after:>width$} │ bogus\n{gutter} ╰────\n  help: expected one of: let, include, \
                 goal, predicate, every, when, var, transition, on-failure,\n        on-success\n",
                after = line + 1
            )
        })
        .collect::<String>();
    run.expect(2, "", &format!("{shown}1950 more not shown\n2000 errors\n"));
}
