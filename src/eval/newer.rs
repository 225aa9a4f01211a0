//! `file-newer`: make's rule over the paths its targets and sources name (paths, lists, globs,
//! depfiles), and the changed sources a recipe sees as `{newer}` (make's `$?`).

use std::sync::Arc;
use std::time::SystemTime;

use compact_str::CompactString;

use rustc_hash::FxHashSet as HashSet;

use crate::diagnostic::Problem;
use crate::goalfile::{Paths, Predicate, PredicateKind, Span};
use crate::template::Context;

use super::depfiles::Unreadable;
use super::mtimes::Role;
use super::predicate::Verdict;
use super::scope::Scope;
use super::shared::lock;
use super::{Evaluator, Result};

/// A source of a `file-newer`.
enum Source {
    Path(String),
    /// A prerequisite a depfile names, by its index in the run's depfiles.
    Prerequisite(u32),
}

/// What [`Evaluator::file_newer`] finds besides its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gather {
    /// The verdict only: it stops at the first reason to be false.
    Verdict,
    /// The sources newer than the oldest target, or missing; all of them when a target or a
    /// depfile is missing.
    Newer,
    /// Every source (a forced run).
    All,
}

impl<'g> Evaluator<'g> {
    /// A file's modification time, `None` when it does not exist, as this branch last read it
    /// when nothing since can have changed it (see [`super::mtimes`]): a no-op run would
    /// otherwise stat every object twice, once for its own target and once for the link's.
    fn modified(&mut self, path: &str, role: Role) -> Option<SystemTime> {
        self.mtimes.modified(&self.shared.changes, path, role)
    }

    /// A source's modification time, as [`Evaluator::modified`]. A depfile's prerequisite is
    /// looked up by its index, and by its path only the first time.
    fn source_modified(&mut self, source: &Source) -> Option<SystemTime> {
        match *source {
            Source::Path(ref path) => self.modified(path, Role::Source),
            Source::Prerequisite(index) => {
                if let Some(time) = self.mtimes.prerequisite(&self.shared.changes, index) {
                    return time;
                }
                // Inline, as the path is kept: most are short.
                let path = CompactString::from(lock(&self.shared.depfiles).path(index));
                let time = self.modified(&path, Role::Prerequisite);
                self.mtimes.keep_prerequisite(index, time);
                time
            }
        }
    }

    fn source_path(&self, source: &Source) -> String {
        match source {
            Source::Path(path) => path.clone(),
            Source::Prerequisite(index) => lock(&self.shared.depfiles).path(*index).to_string(),
        }
    }

    /// make's rule: every target exists, and no source is newer than the oldest target. With
    /// `gather` other than [`Gather::Verdict`], also the sources that make it false (see there).
    pub(super) fn file_newer(
        &mut self,
        targets: &'g [Paths],
        sources: &'g [Paths],
        scope: &Scope<'g>,
        span: Span,
        gather: Gather,
    ) -> Result<(Verdict, Vec<String>)> {
        let mut oldest: Option<(SystemTime, String)> = None;
        // Why it is false before any source is compared.
        let mut missing = None;
        let mut target_paths = Vec::with_capacity(targets.len());
        for target in targets {
            self.paths(target, scope, span, &mut target_paths)?;
        }
        for path in target_paths {
            let Some(modified) = self.modified(&path, Role::Output) else {
                missing = Some(format!("{path} does not exist"));
                break;
            };
            if oldest.as_ref().is_none_or(|(time, _)| modified < *time) {
                oldest = Some((modified, path));
            }
        }
        if let (Some(why), Gather::Verdict) = (&missing, gather) {
            return Ok((Verdict::no(why.clone()), Vec::new()));
        }
        if oldest.is_none() && missing.is_none() && gather == Gather::Verdict {
            // No target at all (an empty list): nothing can be older than a source.
            return Ok((Verdict::yes(), Vec::new()));
        }
        let mut paths = Vec::with_capacity(sources.len());
        for source in sources {
            if let Some(why) = self.file_sources(source, scope, span, &mut paths)? {
                if gather == Gather::Verdict {
                    return Ok((Verdict::no(why), Vec::new()));
                }
                missing.get_or_insert(why);
            }
        }
        let every_source = gather == Gather::All || missing.is_some();
        let mut why_false = missing;
        let mut changed = Vec::new();
        let mut seen = HashSet::default();
        for source in &paths {
            let newer = match (self.source_modified(source), &oldest) {
                (None, _) => {
                    why_false.get_or_insert_with(|| {
                        format!("its source {} does not exist", self.source_path(source))
                    });
                    true
                }
                (Some(time), Some((oldest, oldest_path))) if time > *oldest => {
                    why_false.get_or_insert_with(|| {
                        format!("{oldest_path} is older than {}", self.source_path(source))
                    });
                    true
                }
                _ => false,
            };
            if gather == Gather::Verdict {
                if let Some(why) = why_false {
                    return Ok((Verdict::no(why), Vec::new()));
                }
            } else if newer || every_source {
                let path = self.source_path(source);
                if seen.insert(path.clone()) {
                    changed.push(path);
                }
            }
        }
        let verdict = match why_false {
            Some(why) => Verdict::no(why),
            None => self.yes(|| match &oldest {
                Some((_, oldest_path)) => format!(
                    "{oldest_path} is not older than its {} source(s)",
                    paths.len()
                ),
                None => "it has no targets".to_string(),
            }),
        };
        Ok((verdict, changed))
    }

    /// The paths one target or source names, added to `out`; why the predicate is false when it
    /// is a depfile that does not exist.
    fn paths(
        &mut self,
        paths: &'g Paths,
        scope: &Scope<'g>,
        span: Span,
        out: &mut Vec<String>,
    ) -> Result<Option<String>> {
        if let Paths::One(path) = paths {
            out.push(self.render(path, scope, Context::Literal)?);
            return Ok(None);
        }
        let mut sources = Vec::new();
        let missing = self.file_sources(paths, scope, span, &mut sources)?;
        out.extend(sources.into_iter().map(|source| match source {
            Source::Path(path) => path,
            prerequisite => self.source_path(&prerequisite),
        }));
        Ok(missing)
    }

    /// As [`Evaluator::paths`], with a depfile's prerequisites by their index.
    fn file_sources(
        &mut self,
        paths: &'g Paths,
        scope: &Scope<'g>,
        span: Span,
        out: &mut Vec<Source>,
    ) -> Result<Option<String>> {
        match paths {
            Paths::One(path) => {
                out.push(Source::Path(self.render(path, scope, Context::Literal)?))
            }
            Paths::Words(list) => {
                let list = self.render(list, scope, Context::Literal)?;
                out.extend(
                    list.split_whitespace()
                        .map(|word| Source::Path(word.to_string())),
                );
            }
            Paths::Glob(pattern) => {
                let pattern = self.render(pattern, scope, Context::Literal)?;
                out.extend(self.glob(&pattern, span)?.into_iter().map(Source::Path));
            }
            Paths::Depfile(depfile) => {
                let depfile = self.render(depfile, scope, Context::Literal)?;
                let mut prerequisites = Vec::new();
                if !self.depfile(&depfile, span, &mut prerequisites)? {
                    return Ok(Some(format!("its depfile {depfile} does not exist")));
                }
                out.reserve(prerequisites.len());
                out.extend(prerequisites.into_iter().map(Source::Prerequisite));
            }
        }
        Ok(None)
    }

    /// Adds the prerequisites a depfile names to `out`; false when it does not exist. A depfile
    /// that cannot be read or parsed is an error: taking it for "no prerequisites" could call
    /// an object up to date whose headers changed.
    fn depfile(&mut self, depfile: &str, span: Span, out: &mut Vec<u32>) -> Result<bool> {
        let status = self.mtimes.read_ahead(&self.shared.changes, depfile);
        let read = lock(&self.shared.depfiles).prerequisites(depfile, status, out);
        read.map_err(|Unreadable(why)| {
            let text = self.current();
            let sources = self.sources().clone();
            Problem::failure(
                "goal::depfile",
                format!("`{text}` cannot use the depfile {depfile}: {why}"),
            )
            .at(&sources, span, "this predicate reads it")
            .with_help(format!(
                "remove {depfile} to rebuild its target: the compiler writes it again"
            ))
            .into()
        })
    }

    /// The files a target names as its own, its recipes' declared outputs (see
    /// [`super::mtimes`]): `file-newer` targets and depfiles and `file-exists` paths, wherever
    /// they are in it. `None` when it names none, or calls a predicate of the Goalfile (whose
    /// files are not rendered here): then its recipes may change anything.
    pub(super) fn outputs(
        &mut self,
        predicate: &'g Predicate,
        scope: &Scope<'g>,
    ) -> Result<Option<Arc<[CompactString]>>> {
        let mut outputs = Vec::new();
        if !self.named_files(predicate, scope, &mut outputs)? || outputs.is_empty() {
            return Ok(None);
        }
        Ok(Some(outputs.into_iter().map(CompactString::from).collect()))
    }

    /// The first target and the first source of the first `file-newer` of a target, written in
    /// it directly or in an `all` there: what a compile command makes and reads, for
    /// `goal compdb`.
    pub(super) fn first_file_newer(
        &mut self,
        predicate: &'g Predicate,
        scope: &Scope<'g>,
    ) -> Result<Option<(String, Option<String>)>> {
        match &predicate.kind {
            PredicateKind::FileNewer { targets, sources } => {
                let mut paths = Vec::new();
                for target in targets {
                    self.paths(target, scope, predicate.span, &mut paths)?;
                }
                let Some(target) = paths.into_iter().next() else {
                    return Ok(None);
                };
                let mut paths = Vec::new();
                for source in sources {
                    self.paths(source, scope, predicate.span, &mut paths)?;
                    if !paths.is_empty() {
                        break;
                    }
                }
                Ok(Some((target, paths.into_iter().next())))
            }
            PredicateKind::All(predicates) => {
                for predicate in predicates {
                    if let Some(found) = self.first_file_newer(predicate, scope)? {
                        return Ok(Some(found));
                    }
                }
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// Adds the files `predicate` names as its own to `out`; false when it calls a predicate.
    fn named_files(
        &mut self,
        predicate: &'g Predicate,
        scope: &Scope<'g>,
        out: &mut Vec<String>,
    ) -> Result<bool> {
        match &predicate.kind {
            PredicateKind::FileNewer { targets, sources } => {
                for target in targets {
                    self.paths(target, scope, predicate.span, out)?;
                }
                for source in sources {
                    if let Paths::Depfile(depfile) = source {
                        out.push(self.render(depfile, scope, Context::Literal)?);
                    }
                }
            }
            PredicateKind::FileExists(paths) => {
                for path in paths {
                    out.push(self.render(path, scope, Context::Literal)?);
                }
            }
            PredicateKind::All(predicates) | PredicateKind::Any(predicates) => {
                for predicate in predicates {
                    if !self.named_files(predicate, scope, out)? {
                        return Ok(false);
                    }
                }
            }
            PredicateKind::Not(predicate) | PredicateKind::Memo { predicate, .. } => {
                return self.named_files(predicate, scope, out);
            }
            PredicateKind::Call { .. } => return Ok(false),
            _ => {}
        }
        Ok(true)
    }

    /// The changed sources of a target found false, as `{newer}` holds them: those of every
    /// `file-newer` written in it directly or in an `all` there, each once, separated by
    /// spaces; every source when `forced`.
    pub(super) fn newer_sources(
        &mut self,
        predicate: &'g Predicate,
        scope: &Scope<'g>,
        forced: bool,
    ) -> Result<String> {
        let mut changed = Vec::new();
        self.changed_sources(predicate, scope, forced, &mut changed)?;
        let mut seen = HashSet::default();
        changed.retain(|source| seen.insert(source.clone()));
        Ok(changed.join(" "))
    }

    fn changed_sources(
        &mut self,
        predicate: &'g Predicate,
        scope: &Scope<'g>,
        forced: bool,
        out: &mut Vec<String>,
    ) -> Result<()> {
        match &predicate.kind {
            PredicateKind::FileNewer { targets, sources } => {
                let gather = if forced { Gather::All } else { Gather::Newer };
                let (_, changed) =
                    self.file_newer(targets, sources, scope, predicate.span, gather)?;
                out.extend(changed);
            }
            PredicateKind::All(predicates) => {
                for predicate in predicates {
                    self.changed_sources(predicate, scope, forced, out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}
