//! Names and their values while a goal body runs.
//!
//! Lookup is innermost first: `for` variables and `let` values, then parameters (all held in
//! one stack, [`Scope`]), then globals. Globals are computed lazily and once: a `let` global
//! that runs a command costs nothing on a run that never refers to it.

use rustc_hash::FxHashMap as HashMap;

use crate::goalfile::Let;

/// The local names of one goal or predicate instance, innermost last.
#[derive(Debug, Default, Clone)]
pub struct Scope<'g> {
    vars: Vec<(&'g str, String)>,
}

impl<'g> Scope<'g> {
    pub fn new() -> Scope<'g> {
        Scope { vars: Vec::new() }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .rev()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn push(&mut self, name: &'g str, value: String) {
        self.vars.push((name, value));
    }

    /// A mark to [`Scope::truncate`] back to when a `for` body's iteration ends.
    pub fn mark(&self) -> usize {
        self.vars.len()
    }

    pub fn truncate(&mut self, mark: usize) {
        self.vars.truncate(mark);
    }

    pub fn vars(&self) -> impl Iterator<Item = (&'g str, &str)> + '_ {
        self.vars
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
    }
}

/// Global `let` values, computed on first use.
pub struct Globals<'g> {
    pub defs: &'g [Let],
    index: HashMap<&'g str, usize>,
    values: Vec<Option<String>>,
}

impl<'g> Globals<'g> {
    pub fn new(defs: &'g [Let]) -> Globals<'g> {
        Globals {
            defs,
            // Later definitions win, like the checker's view of redefinition.
            index: defs
                .iter()
                .enumerate()
                .map(|(i, def)| (def.name.text.as_str(), i))
                .collect(),
            values: vec![None; defs.len()],
        }
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn value(&self, position: usize) -> Option<&str> {
        self.values[position].as_deref()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.value(self.position(name)?)
    }

    pub fn set(&mut self, position: usize, value: String) {
        self.values[position] = Some(value);
    }

    /// The globals computed so far, for a command's environment.
    pub fn computed(&self) -> impl Iterator<Item = (&'g str, &str)> + '_ {
        self.defs
            .iter()
            .zip(&self.values)
            .filter_map(|(def, value)| Some((def.name.text.as_str(), value.as_deref()?)))
    }
}
