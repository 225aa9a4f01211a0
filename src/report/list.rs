//! `goal --list`: what a user can call or set, built once and rendered as text or JSON.

use serde::Serialize;

use crate::goalfile::{Goalfile, Span};

/// Everything `--list` shows, in the order it shows it.
#[derive(Debug, Serialize)]
pub struct GoalList {
    /// Sorted by name.
    pub goals: Vec<ListedGoal>,
    /// The transitions plans may take, sorted by name.
    pub transitions: Vec<ListedTransition>,
    /// The persistent variables, in file order.
    pub variables: Vec<ListedVariable>,
    /// The `every` and `when` blocks.
    pub jobs: Vec<ListedJob>,
}

#[derive(Debug, Serialize)]
pub struct ListedGoal {
    pub name: String,
    pub doc: Option<String>,
    pub parameters: Vec<ListedParameter>,
    pub span: Location,
}

#[derive(Debug, Serialize)]
pub struct ListedParameter {
    pub name: String,
    pub doc: Option<String>,
    pub pattern: Option<String>,
    /// The default when it is a plain value.
    pub default: Option<String>,
    /// The default refers to other values: it is known only once the goal is called.
    pub computed_default: bool,
    pub span: Location,
}

#[derive(Debug, Serialize)]
pub struct ListedTransition {
    pub name: String,
    pub cost: String,
    pub doc: Option<String>,
    pub span: Location,
}

#[derive(Debug, Serialize)]
pub struct ListedVariable {
    pub name: String,
    pub default: Option<String>,
    pub computed_default: bool,
    pub doc: Option<String>,
    pub span: Location,
}

#[derive(Debug, Serialize)]
pub struct ListedJob {
    pub name: String,
    /// When it fires, as `goal jobs --names` says it.
    pub runs: String,
}

/// Where something is written: the file as the user names it, the line and column (from 1) an
/// editor jumps to, and the byte range.
#[derive(Debug, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub offset: usize,
    pub length: usize,
}

impl GoalList {
    pub fn of(goalfile: &Goalfile) -> GoalList {
        let locate = |span: Span| Location::of(goalfile, span);
        let mut goals: Vec<ListedGoal> = goalfile
            .goals
            .iter()
            .map(|goal| ListedGoal {
                name: goal.name.text.to_string(),
                doc: goal.doc.as_ref().map(ToString::to_string),
                parameters: goal
                    .params
                    .iter()
                    .map(|param| {
                        let default = param.default.as_ref().map(|d| d.as_literal());
                        ListedParameter {
                            name: param.name.text.to_string(),
                            doc: param.doc.as_ref().map(ToString::to_string),
                            pattern: param.pattern.as_ref().map(|p| p.source.to_string()),
                            computed_default: matches!(default, Some(None)),
                            default: default.flatten(),
                            span: locate(param.name.span),
                        }
                    })
                    .collect(),
                span: locate(goal.span),
            })
            .collect();
        goals.sort_by(|a, b| a.name.cmp(&b.name));
        let mut transitions: Vec<ListedTransition> = goalfile
            .transitions
            .iter()
            .map(|transition| ListedTransition {
                name: transition.name.text.to_string(),
                cost: transition.cost.to_string(),
                doc: transition.doc.as_ref().map(ToString::to_string),
                span: locate(transition.span),
            })
            .collect();
        transitions.sort_by(|a, b| a.name.cmp(&b.name));
        let variables = goalfile
            .variables
            .iter()
            .map(|variable| {
                let default = variable.default.as_ref().map(|d| d.as_literal());
                ListedVariable {
                    name: variable.name.text.to_string(),
                    computed_default: matches!(default, Some(None)),
                    default: default.flatten(),
                    doc: variable.doc.as_ref().map(ToString::to_string),
                    span: locate(variable.span),
                }
            })
            .collect();
        let jobs = crate::jobs::all(goalfile)
            .iter()
            .map(|job| ListedJob {
                name: job.name.clone(),
                runs: job.trigger(),
            })
            .collect();
        GoalList {
            goals,
            transitions,
            variables,
            jobs,
        }
    }

    /// The text `goal --list` prints: each goal as it is called, with its doc and its
    /// parameters' docs, then the transitions, variables and jobs.
    pub fn text(&self) -> String {
        let usage: Vec<String> = self
            .goals
            .iter()
            .map(|goal| {
                let mut usage = goal.name.clone();
                for param in &goal.parameters {
                    usage.push(' ');
                    usage.push_str(&param.name);
                    if let Some(default) = &param.default {
                        usage.push_str(&format!("={default:?}"));
                    }
                }
                usage
            })
            .collect();
        let width = usage.iter().map(String::len).max().unwrap_or(0);
        let mut out = String::from("Goals:\n");
        for (goal, usage) in self.goals.iter().zip(&usage) {
            match &goal.doc {
                Some(doc) => out.push_str(&format!("    {usage:width$}  # {doc}\n")),
                None => out.push_str(&format!("    {usage}\n")),
            }
            for param in &goal.parameters {
                let mut notes = Vec::new();
                if let Some(doc) = &param.doc {
                    notes.push(doc.clone());
                }
                if let Some(pattern) = &param.pattern {
                    notes.push(format!("matches {pattern}"));
                }
                if !notes.is_empty() {
                    out.push_str(&format!("        {}: {}\n", param.name, notes.join("; ")));
                }
            }
        }
        let transitions = self
            .transitions
            .iter()
            .map(|t| (format!("{} (cost {})", t.name, t.cost), t.doc.clone()))
            .collect();
        let variables = self
            .variables
            .iter()
            .map(|variable| {
                let usage = match &variable.default {
                    Some(default) => format!("{}={default:?}", variable.name),
                    None => variable.name.clone(),
                };
                (usage, variable.doc.clone())
            })
            .collect();
        let jobs = self
            .jobs
            .iter()
            .map(|job| (job.name.clone(), Some(job.runs.clone())))
            .collect();
        out.push_str(&section("Transitions", transitions));
        out.push_str(&section("Variables (goal set NAME=VALUE)", variables));
        out.push_str(&section("Jobs (goal daemon, goal tick)", jobs));
        out
    }
}

impl Location {
    pub fn of(goalfile: &Goalfile, span: Span) -> Location {
        let file = &goalfile.files[span.file as usize];
        let text = file.text.get();
        let offset = span.offset as usize;
        // No text when a cached Goalfile's copy cannot be read: the offset is still right.
        let before = text.get(..offset).unwrap_or_default();
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        Location {
            file: file.path.display().to_string(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            offset,
            length: span.len as usize,
        }
    }
}

/// One part of `--list`: a title, then each entry with its doc aligned after it.
fn section(title: &str, entries: Vec<(String, Option<String>)>) -> String {
    if entries.is_empty() {
        return String::new();
    }
    let width = entries
        .iter()
        .map(|(usage, _)| usage.len())
        .max()
        .unwrap_or(0);
    let mut out = format!("{title}:\n");
    for (usage, doc) in entries {
        match doc {
            Some(doc) => out.push_str(&format!("    {usage:width$}  # {doc}\n")),
            None => out.push_str(&format!("    {usage}\n")),
        }
    }
    out
}
