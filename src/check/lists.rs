//! A list where one path is expected: `than="{objs}"` with `let objs "a.o b.o"` would compare
//! with one file called `a.o b.o`, which does not exist, so the goal would fire on every run
//! and its promise fail only after its recipe ran.
//!
//! A value is known to be a list when the Goalfile uses it whole as one (`for o words="{objs}"`,
//! `words="{objs}"`, `than-words="{objs}"`: a local in its goal's body, a global anywhere), or
//! when its text is several words that each look like a path: each has a `/` or a `.`, or is a
//! reference (`"build/a.o build/b.o"`, `"{a} {b}"`), or it refers to a list. A path with spaces
//! (`"my build/a.o"`) is one path, and a value a command computes is known only when used whole
//! as a list.

use std::collections::HashSet;

use super::Checker;
use crate::goalfile::{ForSource, LetValue, Paths, Predicate, PredicateKind, Statement};
use crate::template::{Part, Template};

/// A name defined at one point: whether its value is a list, whether it is a global.
#[derive(Clone, Copy)]
struct Known<'g> {
    name: &'g str,
    list: bool,
    global: bool,
}

/// The names defined at one point, innermost last, and the names used whole as lists.
#[derive(Clone)]
struct Names<'g> {
    defined: Vec<Known<'g>>,
    /// Used as lists by the goal being checked.
    local_lists: HashSet<&'g str>,
    /// Used as lists anywhere: for globals.
    global_lists: HashSet<&'g str>,
}

impl Names<'_> {
    fn is_list(&self, name: &str) -> bool {
        let Some(known) = self.defined.iter().rev().find(|known| known.name == name) else {
            return false;
        };
        known.list
            || if known.global {
                self.global_lists.contains(name)
            } else {
                self.local_lists.contains(name)
            }
    }
}

impl<'g> Checker<'g> {
    /// Reports every value known to be a list where `file-newer` expects one path.
    pub(super) fn lists(&mut self) {
        let goalfile = self.goalfile;
        let mut global_lists = HashSet::new();
        for goal in &goalfile.goals {
            used_as_lists(&goal.body, &mut global_lists);
        }
        let mut globals = Names {
            defined: Vec::new(),
            local_lists: HashSet::new(),
            global_lists,
        };
        for global in &goalfile.globals {
            let list = match &global.value {
                LetValue::Template(template) => is_list(template, &globals),
                LetValue::Output(_) | LetValue::Variable(_) => false,
            };
            globals.defined.push(Known {
                name: &global.name.text,
                list,
                global: true,
            });
        }
        for goal in &goalfile.goals {
            let mut names = globals.clone();
            used_as_lists(&goal.body, &mut names.local_lists);
            names.defined.extend(goal.params.iter().map(|param| Known {
                name: &param.name.text,
                list: false,
                global: false,
            }));
            self.list_statements(&goal.body, &mut names);
        }
        for def in &goalfile.predicates {
            let mut names = globals.clone();
            names.defined.extend(def.params.iter().map(|param| Known {
                name: &param.name.text,
                list: false,
                global: false,
            }));
            for predicate in &def.body {
                self.list_predicate(predicate, &names);
            }
        }
    }

    fn list_statements(&mut self, statements: &'g [Statement], names: &mut Names<'g>) {
        for statement in statements {
            match statement {
                Statement::Let(definition) => {
                    let list = match &definition.value {
                        LetValue::Template(template) => is_list(template, names),
                        LetValue::Output(_) | LetValue::Variable(_) => false,
                    };
                    names.defined.push(Known {
                        name: &definition.name.text,
                        list,
                        global: false,
                    });
                }
                Statement::Target(target) => self.list_predicate(&target.predicate, names),
                Statement::For(each) => {
                    let mark = names.defined.len();
                    names.defined.push(Known {
                        name: &each.var.text,
                        list: false,
                        global: false,
                    });
                    self.list_statements(&each.body, names);
                    names.defined.truncate(mark);
                }
                _ => {}
            }
        }
    }

    fn list_predicate(&mut self, predicate: &'g Predicate, names: &Names<'g>) {
        match &predicate.kind {
            PredicateKind::FileNewer { targets, sources } => {
                let targets = targets.iter().map(|paths| (paths, true));
                for (paths, is_target) in targets.chain(sources.iter().map(|paths| (paths, false)))
                {
                    if let Paths::One(template) = paths {
                        self.one_path(template, is_target, names);
                    }
                }
            }
            PredicateKind::All(predicates) | PredicateKind::Any(predicates) => {
                for predicate in predicates {
                    self.list_predicate(predicate, names);
                }
            }
            PredicateKind::Not(predicate) | PredicateKind::Memo { predicate, .. } => {
                self.list_predicate(predicate, names)
            }
            _ => {}
        }
    }

    /// A path of `file-newer` that refers to a list.
    fn one_path(&mut self, template: &Template, is_target: bool, names: &Names<'g>) {
        let Some(list) = template
            .refs()
            .find(|reference| names.is_list(&reference.name))
        else {
            return;
        };
        let (what, instead) = if is_target {
            ("a target", "words")
        } else {
            ("a source", "than-words")
        };
        self.report(
            "goal::list-as-path",
            format!(
                "`{}` is a list of several paths, where {what} is one path",
                list.name
            ),
            list.span,
            "a list",
            Some(format!(
                "write `{instead}=\"{{{}}}\"` to give each word of the list as {what}",
                list.name
            )),
        );
    }
}

/// The names `statements` use whole as lists: `"{name}"` as the list of `for … words=`,
/// `words=` or `than-words=`.
fn used_as_lists<'g>(statements: &'g [Statement], out: &mut HashSet<&'g str>) {
    for statement in statements {
        match statement {
            Statement::For(each) => {
                if let ForSource::Words(list) = &each.source {
                    out.extend(whole_reference(list));
                }
                used_as_lists(&each.body, out);
            }
            Statement::Target(target) => predicate_lists(&target.predicate, out),
            _ => {}
        }
    }
}

fn predicate_lists<'g>(predicate: &'g Predicate, out: &mut HashSet<&'g str>) {
    match &predicate.kind {
        PredicateKind::FileNewer { targets, sources } => {
            for paths in targets.iter().chain(sources) {
                if let Paths::Words(list) = paths {
                    out.extend(whole_reference(list));
                }
            }
        }
        PredicateKind::All(predicates) | PredicateKind::Any(predicates) => {
            for predicate in predicates {
                predicate_lists(predicate, out);
            }
        }
        PredicateKind::Not(predicate) | PredicateKind::Memo { predicate, .. } => {
            predicate_lists(predicate, out)
        }
        _ => {}
    }
}

/// The name of a template that is one reference without filters (`"{objs}"`).
fn whole_reference(template: &Template) -> Option<&str> {
    match template.parts.as_slice() {
        [Part::Ref(reference)] if reference.filters.is_empty() => Some(&reference.name),
        _ => None,
    }
}

/// Whether the template's value is several words that each look like a path, or holds a list.
fn is_list(template: &Template, names: &Names) -> bool {
    let mut words = 0;
    let mut path_like = 0;
    // The word being read, if any: whether it looks like a path so far.
    let mut word: Option<bool> = None;
    for part in &template.parts {
        match part {
            Part::Literal(text) => {
                for c in text.chars() {
                    if c.is_whitespace() {
                        if let Some(like) = word.take() {
                            words += 1;
                            path_like += usize::from(like);
                        }
                    } else {
                        let like = word.unwrap_or(false);
                        word = Some(like || c == '/' || c == '.');
                    }
                }
            }
            Part::Ref(reference) => {
                if names.is_list(&reference.name) {
                    return true;
                }
                word = Some(true);
            }
        }
    }
    if let Some(like) = word {
        words += 1;
        path_like += usize::from(like);
    }
    words > 1 && path_like == words
}
