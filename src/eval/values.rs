//! Values: templates rendered over scopes and globals, globals computed once, parameters bound
//! and checked against their patterns, the items a `for` goes over.

use std::borrow::Cow;

use regex::Regex;

use super::commands::owned_env;
use super::files;
use super::mtimes::Touched;
use super::scope::{Globals, Scope};
use super::shared::lock;
use super::{Evaluator, Result};
use crate::diagnostic::{did_you_mean, Problem};
use crate::goalfile::{ForSource, LetValue, Param, Pattern, Span};
use crate::shell::Stdout;
use crate::template::{Context, Template};

impl<'g> Evaluator<'g> {
    pub(super) fn for_items(
        &mut self,
        source: &'g ForSource,
        scope: &Scope<'g>,
        span: Span,
    ) -> Result<Vec<String>> {
        Ok(match source {
            ForSource::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.render(item, scope, Context::Literal)?);
                }
                values
            }
            ForSource::Words(words) => self
                .render(words, scope, Context::Literal)?
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            ForSource::Output(command) => self
                .output_of(command, scope, span, "for")?
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .map(str::to_string)
                .collect(),
            ForSource::Glob(pattern) => {
                let pattern = self.render(pattern, scope, Context::Literal)?;
                let mut paths = self.glob(&pattern, span)?;
                paths.sort_unstable();
                paths
            }
        })
    }

    /// The paths matching `pattern`, in no particular order.
    pub(super) fn glob(&mut self, pattern: &str, span: Span) -> Result<Vec<String>> {
        let globbed = match lock(&self.shared.listings).as_mut() {
            Some(listings) => listings.glob(pattern),
            None => files::glob(pattern),
        };
        globbed.map_err(|error| {
            let sources = self.sources().clone();
            Problem::failure(
                "goal::invalid-glob",
                format!("invalid glob pattern `{pattern}`: {}", error.msg),
            )
            .at(&sources, span, "in this glob")
            .into()
        })
    }

    /// Binds arguments to parameters: every argument names a parameter, every parameter without
    /// a default is bound, and every value matches its parameter's pattern.
    pub(super) fn bind(
        &mut self,
        goal_name: &str,
        params: &'g [Param],
        args: Vec<(&str, String)>,
    ) -> Result<Box<[String]>> {
        // Inline: most goals have a parameter or two, and every requirement binds them.
        let mut values: smallvec::SmallVec<[Option<String>; 4]> =
            smallvec::smallvec![None; params.len()];
        for (name, value) in args {
            let Some(position) = params.iter().position(|param| param.name.text == name) else {
                let help = did_you_mean(name, params.iter().map(|p| p.name.text.as_str()))
                    .unwrap_or_else(|| parameter_list(params));
                return Err(Problem::failure(
                    "goal::unknown-param",
                    format!("`{goal_name}` has no parameter `{name}`"),
                )
                .with_help(help)
                .into());
            };
            if values[position].is_some() {
                return Err(Problem::failure(
                    "goal::duplicate-parameter",
                    format!("the parameter `{name}` of `{goal_name}` is bound twice"),
                )
                .into());
            }
            values[position] = Some(value);
        }
        let mut bound = Vec::with_capacity(params.len());
        for (param, value) in params.iter().zip(values) {
            let value = match (value, &param.default) {
                (Some(value), _) => value,
                (None, Some(default)) => {
                    // A default may name the parameters before it.
                    let mut scope = Scope::new();
                    for (earlier, value) in params.iter().zip(&bound) {
                        scope.push(&earlier.name.text, String::clone(value));
                    }
                    self.render(default, &scope, Context::Literal)?
                }
                (None, None) => {
                    return Err(Problem::failure(
                        "goal::missing-param",
                        format!(
                            "`{goal_name}` needs a value for its parameter `{}`",
                            param.name.text
                        ),
                    )
                    .with_help(format!("pass it as {}=VALUE", param.name.text))
                    .into());
                }
            };
            if let Some(pattern) = &param.pattern {
                if !self.regex(pattern, true)?.is_match(&value) {
                    let sources = self.sources().clone();
                    return Err(Problem::failure(
                        "goal::pattern-mismatch",
                        format!(
                            "the value {value:?} of `{goal_name}`'s parameter `{}` does not match its pattern",
                            param.name.text
                        ),
                    )
                    .at(&sources, pattern.span, "the pattern it must match").into());
                }
            }
            bound.push(value);
        }
        Ok(bound.into_boxed_slice())
    }

    /// The compiled form of a pattern; parameter patterns must match in full.
    pub(super) fn regex(&mut self, pattern: &'g Pattern, anchored: bool) -> Result<Regex> {
        if let Some(regex) = lock(&self.shared.regexes).get(pattern.source.as_str()) {
            return Ok(regex.clone());
        }
        let source = if anchored {
            format!("^(?:{})$", pattern.source)
        } else {
            pattern.source.to_string()
        };
        let regex = Regex::new(&source).map_err(|error| {
            let sources = self.sources().clone();
            Problem::failure(
                "goal::regex",
                format!("invalid regular expression: {error}"),
            )
            .at(&sources, pattern.span, "this pattern")
        })?;
        lock(&self.shared.regexes).insert(pattern.source.as_str(), regex.clone());
        Ok(regex)
    }

    /// Renders a template in a scope, computing the globals it refers to first.
    pub(super) fn render(
        &mut self,
        template: &'g Template,
        scope: &Scope<'g>,
        context: Context,
    ) -> Result<String> {
        let local = |name: &str| scope.get(name).map(Cow::Borrowed);
        if template
            .refs()
            .all(|reference| scope.get(&reference.name).is_some())
        {
            return Ok(template.render(context, local));
        }
        let shared = self.shared.clone();
        let mut globals = lock(&shared.globals);
        self.compute_globals_of(template, scope, &mut globals)?;
        Ok(template.render(context, |name| {
            local(name).or_else(|| globals.get(name).map(Cow::Borrowed))
        }))
    }

    /// The value of the global `name`, computed if nothing asked for it yet.
    pub(super) fn global(&mut self, name: &str) -> Result<Option<String>> {
        let shared = self.shared.clone();
        let mut globals = lock(&shared.globals);
        let Some(position) = globals.position(name) else {
            return Ok(None);
        };
        self.compute_global(position, &mut globals)?;
        Ok(globals.value(position).map(str::to_string))
    }

    /// Computes the globals `template` refers to (other than names in `scope`).
    pub(super) fn compute_globals_of(
        &mut self,
        template: &'g Template,
        scope: &Scope<'g>,
        globals: &mut Globals<'g>,
    ) -> Result<()> {
        for reference in template.refs() {
            if scope.get(&reference.name).is_none() {
                if let Some(position) = globals.position(&reference.name) {
                    self.compute_global(position, globals)?;
                }
            }
        }
        Ok(())
    }

    /// Computes a global under the lock of all globals, so that every branch sees one value and
    /// a global's command runs once.
    pub(super) fn compute_global(
        &mut self,
        position: usize,
        globals: &mut Globals<'g>,
    ) -> Result<()> {
        if globals.value(position).is_some() {
            return Ok(());
        }
        let definition = &globals.defs[position];
        let (template, context) = match &definition.value {
            LetValue::Template(template) => (template, Context::Literal),
            LetValue::Output(command) => (command, Context::Shell),
            LetValue::Variable(index) => {
                let value = self.variable(*index, globals)?;
                globals.set(position, value);
                return Ok(());
            }
        };
        let empty = Scope::new();
        self.compute_globals_of(template, &empty, globals)?;
        let text = template.render(context, |name| globals.get(name).map(Cow::Borrowed));
        let value = match &definition.value {
            // Its command sees only the globals defined before it: computing the others first
            // could need this very value.
            LetValue::Output(_) => {
                let env = owned_env(globals.computed().take(position));
                let finished = self.spawn(
                    &text,
                    env,
                    Stdout::Capture,
                    definition.span,
                    Touched::Anything,
                )?;
                self.expect_success(&finished, &text, definition.span, "let")?;
                finished.stdout.trim().to_string()
            }
            LetValue::Template(_) | LetValue::Variable(_) => text,
        };
        globals.set(position, value);
        Ok(())
    }
}

impl<'g> Evaluator<'g> {
    /// The value of the persistent variable `variables[index]`: as set in the Memory, else its
    /// default.
    fn variable(&mut self, index: usize, globals: &mut Globals<'g>) -> Result<String> {
        let variable = &self.goalfile.variables[index];
        let key = crate::variables::key(&variable.name.text);
        match self.memory.get(&key) {
            Ok(Some(value)) => Ok(value),
            Ok(None) => self.variable_default(index, globals),
            Err(problem) => Err(self.locate(problem, variable.span, "reading this variable")),
        }
    }

    /// What the variable `variables[index]` is while nothing set it.
    pub(super) fn variable_default(
        &mut self,
        index: usize,
        globals: &mut Globals<'g>,
    ) -> Result<String> {
        let Some(default) = &self.goalfile.variables[index].default else {
            return Ok(String::new());
        };
        self.compute_globals_of(default, &Scope::new(), globals)?;
        Ok(default.render(Context::Literal, |name| {
            globals.get(name).map(Cow::Borrowed)
        }))
    }

    /// Checks `value` against the pattern of the variable `variables[index]`: a value computed
    /// while running, so a failure of the run.
    pub(super) fn check_variable(&mut self, index: usize, value: &str) -> Result<()> {
        let sources = self.sources().clone();
        match crate::variables::mismatch(&self.goalfile.variables[index], value, &sources) {
            Some(problem) => Err(Problem {
                kind: crate::diagnostic::Kind::Failure,
                ..problem
            }
            .into()),
            None => Ok(()),
        }
    }
}

pub(super) fn parameter_list(params: &[Param]) -> String {
    if params.is_empty() {
        "it takes no parameters".to_string()
    } else {
        let names: Vec<&str> = params.iter().map(|p| p.name.text.as_str()).collect();
        format!("its parameters are: {}", names.join(", "))
    }
}
