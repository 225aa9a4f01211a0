//! Predicates: whether a condition holds, and, when it does not, why.
//!
//! The reason is what a user reads in `--dry-run`, `--explain` and broken-promise errors
//! ("obj/a.o is older than src/a.c"). It is only built when it will be shown, so a no-op run
//! over thousands of true targets builds no strings for them.

use std::fs;
use std::time::{Duration, SystemTime};

use crate::diagnostic::Problem;
use crate::goalfile::{Arg, Change, OutputTest, Predicate, PredicateKind, Span};
use crate::plan::Comparison;
use crate::shell::Stdout;
use crate::template::{Context, Template};

use super::mtimes::Touched;
use super::newer::Gather;
use super::scope::Scope;
use super::shared::lock;
use super::{Evaluator, Result};

/// Whether a predicate holds, with the reason when it will be shown.
pub struct Verdict {
    pub holds: bool,
    pub reason: Option<String>,
}

impl Verdict {
    pub(super) fn yes() -> Verdict {
        Verdict {
            holds: true,
            reason: None,
        }
    }

    pub(super) fn no(reason: String) -> Verdict {
        Verdict {
            holds: false,
            reason: Some(reason),
        }
    }
}

impl<'g> Evaluator<'g> {
    /// A true verdict, with its reason only under `--explain`.
    pub(super) fn yes(&self, reason: impl FnOnce() -> String) -> Verdict {
        Verdict {
            holds: true,
            reason: self.options.explain.then(reason),
        }
    }

    pub(super) fn holds(&mut self, predicate: &'g Predicate, scope: &Scope<'g>) -> Result<Verdict> {
        match &predicate.kind {
            PredicateKind::FileExists(paths) => {
                for path in paths {
                    let path = self.render(path, scope, Context::Literal)?;
                    if fs::symlink_metadata(&path).is_err() {
                        return Ok(Verdict::no(format!("{path} does not exist")));
                    }
                }
                Ok(self.yes(|| "the files exist".to_string()))
            }
            PredicateKind::FileNewer { targets, sources } => {
                let (verdict, _) =
                    self.file_newer(targets, sources, scope, predicate.span, Gather::Verdict)?;
                Ok(verdict)
            }
            PredicateKind::UrlExists { url, timeout } => {
                let url = self.render(url, scope, Context::Literal)?;
                let answer =
                    crate::http::url_exists(&url, timeout.unwrap_or(crate::http::DEFAULT_TIMEOUT));
                Ok(self.url_verdict(answer))
            }
            PredicateKind::UrlContains { url, text, timeout } => {
                let url = self.render(url, scope, Context::Literal)?;
                let text = self.render(text, scope, Context::Literal)?;
                let answer = crate::http::url_contains(
                    &url,
                    &text,
                    timeout.unwrap_or(crate::http::DEFAULT_TIMEOUT),
                );
                Ok(self.url_verdict(answer))
            }
            PredicateKind::MemoryExists(key) => {
                let key = self.render(key, scope, Context::Literal)?;
                Ok(match self.memory_get(&key, predicate.span)? {
                    Some(_) => self.yes(|| format!("the memory key {key:?} is set")),
                    None => Verdict::no(format!("the memory key {key:?} is not set")),
                })
            }
            PredicateKind::MemoryEquals { key, value } => {
                let key = self.render(key, scope, Context::Literal)?;
                let wanted = self.render(value, scope, Context::Literal)?;
                Ok(match self.memory_get(&key, predicate.span)? {
                    Some(value) if value == wanted => {
                        self.yes(|| format!("the memory key {key:?} is {wanted:?}"))
                    }
                    Some(value) => Verdict::no(format!(
                        "the memory key {key:?} is {value:?}, not {wanted:?}"
                    )),
                    None => Verdict::no(format!("the memory key {key:?} is not set")),
                })
            }
            PredicateKind::Sh(command) => {
                let script = self.render(command, scope, Context::Shell)?;
                let finished = self.command(
                    &script,
                    scope,
                    Stdout::Discard,
                    predicate.span,
                    Touched::Anything,
                )?;
                Ok(if finished.status.success() {
                    self.yes(|| format!("`{}` succeeded", script.trim()))
                } else {
                    Verdict::no(format!(
                        "`{}` {}",
                        script.trim(),
                        crate::shell::describe_status(finished.status)
                    ))
                })
            }
            PredicateKind::Output { command, test } => {
                self.output_test(command, test, scope, predicate.span)
            }
            PredicateKind::All(predicates) => self.all(predicates, scope),
            PredicateKind::Any(predicates) => {
                let mut reasons = Vec::new();
                for predicate in predicates {
                    let verdict = self.holds(predicate, scope)?;
                    if verdict.holds {
                        return Ok(verdict);
                    }
                    reasons.extend(verdict.reason);
                }
                Ok(Verdict::no(format!("none holds: {}", reasons.join("; "))))
            }
            PredicateKind::Not(inner) => {
                let explain = self.options.explain;
                let verdict = self.holds(inner, scope)?;
                Ok(if verdict.holds {
                    let why = verdict
                        .reason
                        .unwrap_or_else(|| format!("`{}` holds", inner.kind.keyword()));
                    Verdict::no(format!("not expected, but {why}"))
                } else {
                    Verdict {
                        holds: true,
                        reason: explain.then(|| verdict.reason.unwrap_or_default()),
                    }
                })
            }
            PredicateKind::Memo {
                key,
                valid_for,
                predicate: inner,
            } => self.memo(key, *valid_for, inner, scope, predicate.span),
            PredicateKind::Call { name, args } => {
                self.call(name.text.as_str(), args, scope, predicate.span)
            }
            PredicateKind::Compare {
                left,
                comparison,
                right,
            } => {
                let left = self.render(left, scope, Context::Literal)?;
                let right = self.render(right, scope, Context::Literal)?;
                let order = crate::variables::version_order(&left, &right);
                let holds = match comparison {
                    Comparison::Equal => left == right,
                    Comparison::NotEqual => left != right,
                    Comparison::Less => order.is_lt(),
                    Comparison::LessOrEqual => order.is_le(),
                    Comparison::Greater => order.is_gt(),
                    Comparison::GreaterOrEqual => order.is_ge(),
                };
                let keyword = predicate.kind.keyword();
                Ok(if holds {
                    self.yes(|| format!("{left:?} is {keyword} {right:?}"))
                } else {
                    Verdict::no(format!("{left:?} is not {keyword} {right:?}"))
                })
            }
            PredicateKind::Change { variable, change } => {
                self.change(&variable.text, *change, predicate.span)
            }
        }
    }

    /// `changed`, `increased`, `decreased`: the variable now against its value when the `when`
    /// job being evaluated last ran (its default before the job ever ran).
    fn change(&mut self, name: &str, change: Change, span: Span) -> Result<Verdict> {
        let index = self
            .goalfile
            .variables
            .iter()
            .position(|variable| variable.name.text == name);
        let (Some(index), Some(last_run)) = (index, self.last_run.clone()) else {
            let sources = self.sources().clone();
            return Err(Problem::failure(
                "goal::change",
                format!("`{}` compares a variable with a when job's last run, and only a `when` condition has one", change.keyword()),
            )
            .at(&sources, span, "here").into());
        };
        let now = self.global(name)?.unwrap_or_default();
        let then = match last_run.get(name) {
            Some(value) => value.clone(),
            None => {
                let shared = self.shared.clone();
                let mut globals = lock(&shared.globals);
                self.variable_default(index, &mut globals)?
            }
        };
        let order = crate::variables::version_order(&now, &then);
        let holds = match change {
            Change::Changed => now != then,
            Change::Increased => order.is_gt(),
            Change::Decreased => order.is_lt(),
        };
        let keyword = change.keyword();
        Ok(if holds {
            self.yes(|| format!("{name} {keyword}: {then:?} then, {now:?} now"))
        } else {
            Verdict::no(format!(
                "{name} has not {keyword}: {then:?} then, {now:?} now"
            ))
        })
    }

    /// All of `predicates` hold; stops at the first that does not.
    fn all(&mut self, predicates: &'g [Predicate], scope: &Scope<'g>) -> Result<Verdict> {
        let mut reasons = Vec::new();
        for predicate in predicates {
            let verdict = self.holds(predicate, scope)?;
            if !verdict.holds {
                return Ok(verdict);
            }
            reasons.extend(verdict.reason);
        }
        Ok(self.yes(|| reasons.join("; ")))
    }

    fn url_verdict(&mut self, answer: crate::http::UrlAnswer) -> Verdict {
        if answer.unreachable {
            self.report()
                .note(&format!("{}; counting the URL as missing", answer.reason));
        }
        if answer.holds {
            self.yes(|| answer.reason)
        } else {
            Verdict::no(answer.reason)
        }
    }

    fn memory_get(&mut self, key: &str, span: Span) -> Result<Option<String>> {
        self.memory
            .get(key)
            .map_err(|problem| self.locate(problem, span, "reading the Memory here"))
    }

    fn output_test(
        &mut self,
        command: &'g Template,
        test: &'g OutputTest,
        scope: &Scope<'g>,
        span: Span,
    ) -> Result<Verdict> {
        let script = self.render(command, scope, Context::Shell)?;
        let finished = self.command(&script, scope, Stdout::Capture, span, Touched::Anything)?;
        let output = finished.stdout.trim();
        let shown = script.trim();
        let failed = |status| format!("`{shown}` {}", crate::shell::describe_status(status));
        Ok(match test {
            OutputTest::Equals(wanted) => {
                let wanted = self.render(wanted, scope, Context::Literal)?;
                if !finished.status.success() {
                    Verdict::no(failed(finished.status))
                } else if output == wanted {
                    self.yes(|| format!("`{shown}` printed {wanted:?}"))
                } else {
                    Verdict::no(format!("`{shown}` printed {output:?}, not {wanted:?}"))
                }
            }
            OutputTest::Matches(pattern) => {
                if !finished.status.success() {
                    Verdict::no(failed(finished.status))
                } else if self.regex(pattern, false)?.is_match(output) {
                    self.yes(|| format!("`{shown}` printed {output:?}, which matches"))
                } else {
                    Verdict::no(format!(
                        "`{shown}` printed {output:?}, which does not match {:?}",
                        pattern.source
                    ))
                }
            }
        })
    }

    /// A true answer is remembered under `key` (with the time, so `for=` can expire it); a
    /// remembered answer is trusted without asking again.
    fn memo(
        &mut self,
        key: &'g Template,
        valid_for: Option<Duration>,
        inner: &'g Predicate,
        scope: &Scope<'g>,
        span: Span,
    ) -> Result<Verdict> {
        let key = self.render(key, scope, Context::Literal)?;
        if let Some(value) = self.memory_get(&key, span)? {
            let fresh = match valid_for {
                None => true,
                Some(limit) => humantime::parse_rfc3339(&value)
                    .ok()
                    .and_then(|since| since.elapsed().ok())
                    .is_some_and(|age| age < limit),
            };
            if fresh {
                return Ok(
                    self.yes(|| format!("remembered under the memory key {key:?} since {value}"))
                );
            }
        }
        let verdict = self.holds(inner, scope)?;
        if verdict.holds && !self.options.dry_run {
            let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
            self.memory
                .set(&key, &now)
                .map_err(|problem| self.locate(problem, span, "remembering this"))?;
        }
        Ok(verdict)
    }

    /// A user-defined predicate: its parameters bound by name, its body evaluated in a scope
    /// of its own (globals and parameters only).
    fn call(
        &mut self,
        name: &str,
        args: &'g [Arg],
        scope: &Scope<'g>,
        span: Span,
    ) -> Result<Verdict> {
        let Some(&index) = self.shared.predicates.get(name) else {
            let sources = self.sources().clone();
            return Err(Problem::failure(
                "goal::unknown-predicate",
                format!("there is no predicate `{name}`"),
            )
            .at(&sources, span, "unknown predicate")
            .into());
        };
        let definition = &self.goalfile.predicates[index];
        let mut values = Vec::with_capacity(args.len());
        for arg in args {
            let value = self.render(&arg.value, scope, Context::Literal)?;
            values.push((arg.name.text.as_str(), value));
        }
        let bound = self
            .bind(name, &definition.params, values)
            .map_err(|problem| self.locate(problem, span, "in this call"))?;
        let mut inner = Scope::new();
        for (param, value) in definition.params.iter().zip(bound.into_vec()) {
            inner.push(&param.name.text, value);
        }
        self.all(&definition.body, &inner)
    }
}
