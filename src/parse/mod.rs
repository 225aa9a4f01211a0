//! Parse: KDL text to a typed [`Goalfile`].
//!
//! A file goes through three gates before it means anything: the brace-depth guard (kdl would
//! abort the process on deep nesting), kdl itself (its errors become problems with hints for
//! the KDL v2 traps), then the walk in `body`, which reports every unknown name, wrong type and
//! missing piece of the file at once. Includes are read at their `include` node so globals keep
//! the order they were written in.

mod body;
mod guard;
mod kdl_errors;
pub mod layout;
mod plan;
mod reader;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kdl::{KdlDocument, KdlError, KdlNode};

use crate::diagnostic::{source, Problem, Result, Sources};
use crate::goalfile::{Goalfile, Let, LetValue, SourceFile, SourceText, Variable};
pub use reader::is_callable_name;
use reader::{Block, FileCx, Shape};

/// Reads the Goalfile at `path` and every file it includes.
pub fn load(path: &Path) -> Result<Goalfile> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        Problem::input(
            "goal::read",
            format!("cannot read {}: {error}", path.display()),
        )
    })?;
    parse_root(path, text)
}

/// Parses `text` as a Goalfile named `name`; includes are read relative to `name`'s directory.
pub fn parse_text(name: &str, text: &str) -> Result<Goalfile> {
    parse_root(Path::new(name), text.to_string())
}

/// The KDL document of one file named `name`, through the same gates as a Goalfile's files
/// (the depth guard, kdl's errors turned into problems), without reading it as a Goalfile.
pub fn kdl_document(name: &str, text: &str) -> Result<KdlDocument> {
    let mut loader = Loader::new();
    loader
        .sources
        .push(source(name, Arc::new(text.to_string())));
    match loader.parse_kdl(0, text) {
        Some(document) => Ok(document),
        None => Err(loader.problems.into()),
    }
}

fn parse_root(path: &Path, text: String) -> Result<Goalfile> {
    let mut loader = Loader::new();
    loader.read_file(path.to_path_buf(), identity(path), text);
    if loader.problems.is_empty() {
        Ok(loader.goalfile)
    } else {
        Err(loader.problems.into())
    }
}

/// The path that identifies a file for include cycles and diamonds.
fn identity(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

struct Loader {
    goalfile: Goalfile,
    sources: Sources,
    problems: Vec<Problem>,
    /// Files already read (by identity): a diamond include reads a file once.
    read: HashSet<PathBuf>,
    /// The files being read, outermost first, to name an include cycle.
    chain: Vec<(PathBuf, PathBuf)>,
}

impl Loader {
    fn new() -> Loader {
        Loader {
            goalfile: Goalfile {
                files: Vec::new(),
                globals: Vec::new(),
                goals: Vec::new(),
                predicates: Vec::new(),
                every: Vec::new(),
                when: Vec::new(),
                variables: Vec::new(),
                transitions: Vec::new(),
                hooks: Default::default(),
            },
            sources: Sources::default(),
            problems: Vec::new(),
            read: HashSet::new(),
            chain: Vec::new(),
        }
    }

    fn read_file(&mut self, path: PathBuf, identity: PathBuf, text: String) {
        let file = self.goalfile.files.len() as u32;
        let text = Arc::new(text);
        self.sources
            .push(source(&path.display().to_string(), text.clone()));
        self.goalfile.files.push(SourceFile {
            path: path.clone(),
            text: SourceText::new(text.clone()),
        });
        self.read.insert(identity.clone());
        self.chain.push((identity, path.clone()));
        if let Some(document) = self.parse_kdl(file, &text) {
            for node in document.nodes() {
                self.top_level(file, &path, &text, node);
            }
        }
        self.chain.pop();
    }

    /// The KDL document, or `None` with the problems reported.
    fn parse_kdl(&mut self, file: u32, text: &str) -> Option<KdlDocument> {
        let mut cx = FileCx {
            file,
            text,
            sources: &self.sources,
            problems: &mut self.problems,
        };
        if let Some(excess) = guard::excess(text) {
            let (code, message, offset, len, label, help) = excess_problem(excess);
            cx.report(
                code,
                message,
                (offset, len).into(),
                label,
                Some(help.into()),
            );
            return None;
        }
        match parse_on_big_stack(text) {
            Ok(document) => Some(document),
            Err(error) => {
                kdl_errors::report(&mut cx, error);
                None
            }
        }
    }

    fn top_level(&mut self, file: u32, path: &Path, text: &str, node: &KdlNode) {
        let mut cx = FileCx {
            file,
            text,
            sources: &self.sources,
            problems: &mut self.problems,
        };
        match node.name().value() {
            "let" => {
                if let Some(global) = body::let_(&mut cx, node) {
                    self.goalfile.globals.push(global);
                }
            }
            "goal" => {
                if let Some(goal) = body::goal(&mut cx, node) {
                    self.goalfile.goals.push(goal);
                }
            }
            "predicate" => {
                if let Some(def) = body::predicate_def(&mut cx, node) {
                    self.goalfile.predicates.push(def);
                }
            }
            "every" => {
                if let Some(every) = body::every(&mut cx, node) {
                    self.goalfile.every.push(every);
                }
            }
            "when" => {
                if let Some(when) = body::when(&mut cx, node) {
                    self.goalfile.when.push(when);
                }
            }
            "var" => {
                if let Some(variable) = body::var(&mut cx, node) {
                    add_variable(&mut self.goalfile, variable);
                }
            }
            "transition" => {
                if let Some(transition) = plan::transition(&mut cx, node) {
                    self.goalfile.transitions.push(transition);
                }
            }
            "on-failure" => body::add_hook(&mut cx, &mut self.goalfile.hooks.on_failure, node),
            "on-success" => body::add_hook(&mut cx, &mut self.goalfile.hooks.on_success, node),
            "include" => self.include(file, path, text, node),
            other => body::unknown_node(&mut cx, node, other, body::TOP_LEVEL, "top-level node"),
        }
    }

    /// `include "path"`: relative to the including file; read once; cycles are errors.
    fn include(&mut self, file: u32, including: &Path, text: &str, node: &KdlNode) {
        let mut cx = FileCx {
            file,
            text,
            sources: &self.sources,
            problems: &mut self.problems,
        };
        let include = cx.open(node, Shape::new(&[], Block::No));
        if !cx.arg_count(&include, 1, Some(1), "include \"path\"") {
            return;
        }
        let Some(relative) = cx.string(include.args[0]) else {
            return;
        };
        let path = match including.parent() {
            Some(dir) => dir.join(relative),
            None => PathBuf::from(relative),
        };
        let identity = identity(&path);
        let span = reader::value_span(include.args[0]);
        if let Some(start) = self.chain.iter().position(|(id, _)| *id == identity) {
            let names: Vec<String> = self.chain[start..]
                .iter()
                .map(|(_, path)| path.display().to_string())
                .chain([path.display().to_string()])
                .collect();
            cx.report(
                "goal::include-cycle",
                format!("include cycle: {}", names.join(" → ")),
                span,
                "included again here",
                Some("remove one of the includes".into()),
            );
            return;
        }
        if self.read.contains(&identity) {
            return;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => self.read_file(path, identity, text),
            Err(error) => cx.report(
                "goal::include",
                format!("cannot read included file {}: {error}", path.display()),
                span,
                "included here",
                Some("the path is relative to the including file".into()),
            ),
        }
    }
}

/// A `var` is also a global at its place in the file, so that templates read it like any global
/// and the scoping rules of globals hold for it.
fn add_variable(goalfile: &mut Goalfile, variable: Variable) {
    let global = Let {
        name: variable.name.clone(),
        value: LetValue::Variable(goalfile.variables.len()),
        span: variable.span,
    };
    goalfile.globals.push(global);
    goalfile.variables.push(variable);
}

/// The problem for what the guard found: code, message, offset, length, label and help.
fn excess_problem(
    excess: guard::Excess,
) -> (
    &'static str,
    String,
    usize,
    usize,
    &'static str,
    &'static str,
) {
    match excess {
        guard::Excess::Blocks(offset) => (
            "goal::too-deep",
            format!("blocks are nested more than {} deep", guard::MAX_DEPTH),
            offset,
            1,
            "this block is too deep",
            "a Goalfile never needs this much nesting; split it into goals",
        ),
        guard::Excess::BracesWithStrings(offset) => (
            "goal::too-deep",
            format!(
                "braces are nested more than {} deep, counting those in strings",
                guard::MAX_DEPTH_WITH_STRINGS
            ),
            offset,
            1,
            "this brace is too deep",
            "close the `{`s in the strings: the KDL parser reads the rest of a string it \
             rejects as nodes, where braces open blocks",
        ),
        guard::Excess::Comments(offset) => (
            "goal::too-deep",
            format!(
                "`/* */` comments are nested more than {} deep",
                guard::MAX_COMMENT_DEPTH
            ),
            offset,
            2,
            "this comment is too deep",
            "close the comments with `*/`, or comment lines out with `//`",
        ),
        guard::Excess::Slashdashes(offset) => (
            "goal::slashdash-chain",
            format!("more than {} `/-` in a row", guard::MAX_SLASHDASH_CHAIN),
            offset,
            2,
            "one too many",
            "one `/-` comments out the whole node or value after it: remove the others",
        ),
        guard::Excess::StrayCloses(offset) => (
            "goal::stray-braces",
            format!("more than {} `}}` close no block", guard::MAX_STRAY_CLOSES),
            offset,
            1,
            "one too many",
            "each `}` closes the block its `{` opened: remove those that close none",
        ),
        guard::Excess::StrayClosesWithStrings(offset) => (
            "goal::stray-braces",
            format!(
                "more than {} `}}` close no block, counting those in strings",
                guard::MAX_STRAY_CLOSES_WITH_STRINGS
            ),
            offset,
            1,
            "one too many",
            "balance the braces in the strings: the KDL parser reads the rest of a string it \
             rejects as nodes, where a `}` closes a block",
        ),
        guard::Excess::Properties(offset) => (
            "goal::too-many-properties",
            format!("a node has more than {} properties", guard::MAX_PROPERTIES),
            offset,
            1,
            "one too many",
            "no node of a Goalfile takes this many: split it, or pass values in a file",
        ),
    }
}

/// kdl recurses per block; the depth guard keeps that within a 2 MiB debug thread, and a big
/// stack here leaves a wide margin in case the guard's view of strings differs from kdl's.
fn parse_on_big_stack(text: &str) -> std::result::Result<KdlDocument, KdlError> {
    const STACK: usize = 64 << 20;
    std::thread::scope(|scope| {
        let parsed = std::thread::Builder::new()
            .name("kdl".into())
            .stack_size(STACK)
            .spawn_scoped(scope, || KdlDocument::parse(text));
        match parsed {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => KdlDocument::parse(text),
        }
    })
}

#[cfg(test)]
mod tests;
