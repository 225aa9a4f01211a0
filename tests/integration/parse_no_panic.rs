//! No input makes parsing or checking panic or abort: every Goalfile we have, cut short at
//! many places and mutated at random (deterministically), gives `Ok` or `Err`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::common;

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

/// Parses and checks; only a panic (or an abort, which ends the test binary) is a failure.
fn parse_and_check(text: &str) {
    if let Ok(goalfile) = goal::parse::parse_text("Goalfile", text) {
        let _ = goal::check::check(&goalfile);
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

#[test]
fn truncated_inputs_do_not_panic() {
    let corpus = corpus();
    let per_file = (BUDGET / corpus.len()).max(10);
    for (_, text) in corpus {
        let ends: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        let stride = (ends.len() / per_file).max(1);
        for &end in ends.iter().step_by(stride) {
            parse_and_check(&text[..end]);
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
        for _ in 0..per_file {
            parse_and_check(&mutate(&chars, &mut rng));
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
            parse_and_check(&format!("every cron=\"{value}\" {{ run \"x\" }}"));
            parse_and_check(&format!("every \"{value}\" {{ run \"x\" }}"));
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
