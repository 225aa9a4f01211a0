//! The one diagnostic type every stage reports with, and how it is shown.
//!
//! A [`Problem`] carries a stable code (`goal::unknown-goal`), a message, where in the Goalfile
//! it happened (file, span, label) when there is such a place, and help. Stages collect all the
//! problems of a file before stopping, so a user fixes them in one pass rather than one per run.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};

use crate::goalfile::{Goalfile, Span};

/// The text of one Goalfile, named by its path, shared by every problem that points into it.
pub type Source = Arc<NamedSource<Arc<String>>>;

/// The sources of a Goalfile's files, indexed like [`Goalfile::files`].
#[derive(Debug, Clone, Default)]
pub struct Sources(Vec<Source>);

impl Sources {
    pub fn of(goalfile: &Goalfile) -> Sources {
        Sources(
            goalfile
                .files
                .iter()
                .map(|file| source(&file.path.display().to_string(), file.text.get().clone()))
                .collect(),
        )
    }

    pub fn push(&mut self, source: Source) {
        self.0.push(source);
    }

    pub fn get(&self, span: Span) -> Option<&Source> {
        self.0.get(span.file as usize)
    }
}

pub fn source(name: &str, text: Arc<String>) -> Source {
    Arc::new(NamedSource::new(name, text).with_language("kdl"))
}

/// Which kind of failure: decides the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The Goalfile or the command line is wrong; nothing ran. Exit status 2.
    Input,
    /// Something failed while running (a recipe, a broken promise, the Memory). Exit status 1.
    Failure,
    /// The run was interrupted by a signal. Exit status 130, as shells report it.
    Interrupted,
}

#[derive(Debug, Clone)]
pub struct Problem {
    pub code: &'static str,
    pub message: String,
    pub kind: Kind,
    pub location: Option<Location>,
    pub help: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Location {
    pub source: Source,
    pub span: miette::SourceSpan,
    pub label: String,
}

/// How far along its line a span may start or end and still be shown with its line: miette
/// pads to a column with a formatting width, which panics past 65,535, and a tab or a wide
/// character takes several columns. Lines this long are generated, not read, anyway.
const MAX_SHOWN_COLUMN: usize = 4096;

impl Location {
    /// "Goalfile:3:7": where the problem is, as editors count lines and columns.
    pub fn place(&self) -> String {
        place(self.source.name(), self.source.inner(), self.span.offset())
    }

    /// Whether the span can be shown in its line: it starts and ends near enough to the
    /// start of its line.
    fn showable(&self) -> bool {
        let text = self.source.inner().as_str();
        let column = |offset: usize| {
            let before = text.get(..offset).unwrap_or(text);
            let line_start = before.rfind('\n').map_or(0, |at| at + 1);
            before[line_start..].chars().count()
        };
        let start = self.span.offset();
        column(start) <= MAX_SHOWN_COLUMN && column(start + self.span.len()) <= MAX_SHOWN_COLUMN
    }
}

/// "NAME:LINE:COLUMN" of a byte offset into `text`, lines and characters counted from 1.
pub fn place(name: &str, text: &str, offset: usize) -> String {
    LineStarts::of(text).place(name, text, offset)
}

/// Where the lines of a text start, so that many offsets are placed without a scan of the text
/// each: problems about a generated file can be as many as its lines.
#[derive(Debug, Clone, Default)]
pub struct LineStarts(Vec<usize>);

impl LineStarts {
    pub fn of(text: &str) -> LineStarts {
        let after_newlines = text.match_indices('\n').map(|(at, _)| at + 1);
        LineStarts(std::iter::once(0).chain(after_newlines).collect())
    }

    /// "NAME:LINE:COLUMN" of `offset` in `text`, the text these line starts are of.
    pub fn place(&self, name: &str, text: &str, offset: usize) -> String {
        let offset = offset.min(text.len());
        let line = self.0.partition_point(|&start| start <= offset).max(1);
        let start = self.0[line - 1];
        let column = text
            .get(start..offset)
            .map_or(0, |before| before.chars().count())
            + 1;
        format!("{name}:{line}:{column}")
    }
}

impl Problem {
    /// A problem in the Goalfile or on the command line (exit status 2).
    pub fn input(code: &'static str, message: impl Into<String>) -> Problem {
        Problem {
            code,
            message: message.into(),
            kind: Kind::Input,
            location: None,
            help: None,
        }
    }

    /// A failure while running (exit status 1).
    pub fn failure(code: &'static str, message: impl Into<String>) -> Problem {
        Problem {
            kind: Kind::Failure,
            ..Problem::input(code, message)
        }
    }

    /// Points the problem at `span` of the Goalfile, labelled `label`.
    pub fn at(mut self, sources: &Sources, span: Span, label: impl Into<String>) -> Problem {
        if let Some(source) = sources.get(span) {
            self.location = Some(Location {
                source: source.clone(),
                span: span.source_span(),
                label: label.into(),
            });
        }
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }

    pub fn with_optional_help(mut self, help: Option<String>) -> Problem {
        self.help = help;
        self
    }

    /// Adds `line`, if any, to the help under what is already there.
    pub fn with_help_line(mut self, line: Option<String>) -> Problem {
        if let Some(line) = line {
            self.help = Some(match self.help {
                Some(help) => format!("{help}\n{line}"),
                None => line,
            });
        }
        self
    }
}

impl Problem {
    /// The location, when it can be shown with its line.
    fn shown_location(&self) -> Option<&Location> {
        self.location
            .as_ref()
            .filter(|location| location.showable())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    /// The help, and where the problem is when its line cannot be shown.
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let hidden = match (&self.location, self.shown_location()) {
            (Some(location), None) => Some(format!(
                "at {}: too far along its line to show",
                location.place()
            )),
            _ => None,
        };
        match (&self.help, hidden) {
            (Some(help), Some(hidden)) => Some(Box::new(format!("{help}\n{hidden}"))),
            (Some(help), None) => Some(Box::new(help)),
            (None, Some(hidden)) => Some(Box::new(hidden)),
            (None, None) => None,
        }
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.shown_location()
            .map(|location| location.source.as_ref() as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let location = self.shown_location()?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(location.label.clone()),
            location.span,
        ))))
    }
}

/// Everything that stops `goal`: one problem or several (all those found in a Goalfile).
#[derive(Debug)]
pub struct Error {
    pub problems: Vec<Problem>,
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        let has = |kind| self.problems.iter().any(|p| p.kind == kind);
        if has(Kind::Interrupted) {
            crate::interrupt::EXIT_STATUS
        } else if has(Kind::Failure) {
            1
        } else {
            2
        }
    }
}

impl From<Problem> for Error {
    fn from(problem: Problem) -> Error {
        Error {
            problems: vec![problem],
        }
    }
}

impl From<Vec<Problem>> for Error {
    fn from(problems: Vec<Problem>) -> Error {
        Error { problems }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many problems are shown: a generated or mangled file can have one per node, and each
/// shows its lines, so showing them all would take time and output beyond the file's size.
const MAX_SHOWN_PROBLEMS: usize = 50;

/// Renders problems for stderr, coloured as [`crate::colour`] decides; a fixed width when
/// `GOAL_DIAGNOSTIC_WIDTH` is set so tests get stable text.
pub fn render(problems: &[Problem]) -> String {
    let theme = if crate::colour::enabled() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let mut handler = GraphicalReportHandler::new_themed(theme).with_links(false);
    if let Some(width) = std::env::var("GOAL_DIAGNOSTIC_WIDTH")
        .ok()
        .and_then(|w| w.parse().ok())
    {
        handler = handler.with_width(width);
    }
    let mut out = String::new();
    for problem in problems.iter().take(MAX_SHOWN_PROBLEMS) {
        if handler.render_report(&mut out, problem).is_err() {
            out.push_str(&format!("error: {}\n", problem.message));
        }
    }
    if let Some(hidden) = problems
        .len()
        .checked_sub(MAX_SHOWN_PROBLEMS)
        .filter(|&n| n > 0)
    {
        out.push_str(&format!("{hidden} more not shown\n"));
    }
    if problems.len() > 1 {
        out.push_str(&format!("{} errors\n", problems.len()));
    }
    out
}

/// "did you mean `x`?" for the closest of `candidates`, when one is close enough to be a typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    candidates
        .map(|candidate| (strsim::damerau_levenshtein(name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (name.len().max(candidate.len()) / 3).max(1))
        .min()
        .map(|(_, candidate)| format!("did you mean `{candidate}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_count_lines_and_characters_from_one() {
        let text = "ab\néé x\n\nlast";
        let starts = LineStarts::of(text);
        let at = |needle: &str| text.find(needle).unwrap();
        assert_eq!(starts.place("G", text, 0), "G:1:1");
        assert_eq!(starts.place("G", text, 2), "G:1:3");
        assert_eq!(starts.place("G", text, at("x")), "G:2:4");
        assert_eq!(starts.place("G", text, at("\n\n") + 1), "G:3:1");
        assert_eq!(starts.place("G", text, at("last")), "G:4:1");
        assert_eq!(starts.place("G", text, text.len()), "G:4:5");
        assert_eq!(starts.place("G", text, text.len() + 10), "G:4:5");
        assert_eq!(place("G", text, at("x")), "G:2:4");
    }
}
