//! The code blocks of the documents (`README.md`, `docs/*.md`, `spec/*.md`), for the tests that
//! run them: a document's examples are tests, so it cannot drift from the binary.
//!
//! A block may be preceded by an HTML comment of directives, invisible when the Markdown is
//! rendered, one `key: value` per line:
//!
//! ```text
//! <!-- transcript
//! copy: examples/c-project
//! setup: touch src/greet.c
//! -->
//! ```

use std::fs;
use std::path::PathBuf;

use super::repo_root;

/// One fenced code block.
pub struct Block {
    /// The document, relative to the repository's root.
    pub file: String,
    /// The line of the opening fence, from 1.
    pub line: usize,
    /// What follows the opening fence: `kdl`, `kdl-error`, `text`, …
    pub fence: String,
    pub text: String,
    /// The `key: value` lines of the HTML comment just above the fence, if any.
    pub directives: Vec<(String, String)>,
}

impl Block {
    pub fn place(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    pub fn directive(&self, key: &str) -> Option<&str> {
        self.directives
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn directives<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> {
        self.directives
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The documents, sorted by path, each with its blocks in order.
pub fn documents() -> Vec<(String, Vec<Block>)> {
    let mut paths: Vec<PathBuf> = ["spec", "docs"]
        .iter()
        .flat_map(|dir| fs::read_dir(repo_root().join(dir)).into_iter().flatten())
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    paths.push(repo_root().join("README.md"));
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let name = path
                .strip_prefix(repo_root())
                .unwrap()
                .display()
                .to_string();
            let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
            let blocks = blocks(&name, &text);
            (name, blocks)
        })
        .collect()
}

/// Every block of every document.
pub fn all_blocks() -> Vec<Block> {
    documents()
        .into_iter()
        .flat_map(|(_, blocks)| blocks)
        .collect()
}

fn blocks(file: &str, text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    // The directives of a comment that ended on the last non-blank line.
    let mut pending: Option<Vec<(String, String)>> = None;
    let mut comment: Option<Vec<(String, String)>> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(block) = &mut open {
            if trimmed == "```" {
                blocks.push(open.take().unwrap());
            } else {
                block.text.push_str(line);
                block.text.push('\n');
            }
            continue;
        }
        if let Some(directives) = &mut comment {
            if trimmed.starts_with("-->") {
                pending = comment.take();
            } else if let Some((key, value)) = trimmed.split_once(':') {
                directives.push((key.trim().to_string(), value.trim().to_string()));
            } else if !trimmed.is_empty() {
                directives.push((trimmed.to_string(), String::new()));
            }
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("<!--") {
            let mut directives = Vec::new();
            // `<!-- key: value -->` on one line, or a comment over several lines.
            let (first, closed) = match rest.strip_suffix("-->") {
                Some(inner) => (inner.trim(), true),
                None => (rest.trim(), false),
            };
            match first.split_once(':') {
                Some((key, value)) => directives.push((key.trim().into(), value.trim().into())),
                None if !first.is_empty() => directives.push((first.to_string(), String::new())),
                None => {}
            }
            if closed {
                pending = Some(directives);
            } else {
                comment = Some(directives);
            }
            continue;
        }
        if let Some(fence) = trimmed.strip_prefix("```") {
            open = Some(Block {
                file: file.to_string(),
                line: index + 1,
                fence: fence.trim().to_string(),
                text: String::new(),
                directives: pending.take().unwrap_or_default(),
            });
            continue;
        }
        if !trimmed.is_empty() {
            pending = None;
        }
    }
    blocks
}
