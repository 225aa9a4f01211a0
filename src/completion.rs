//! Shell completions. `goal completions SHELL` prints the script a shell sources; at every TAB
//! that script calls `goal` back with `GOAL_COMPLETE=SHELL` in its environment, and `goal`
//! answers with the subcommands, flags, goals and parameters that fit there (clap_complete's
//! dynamic mode), the goals read from the Goalfile the command line names, through the cache.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Command;
use clap_complete::env::{Bash, EnvCompleter, Fish, Zsh};
use clap_complete::{ArgValueCompleter, CompleteEnv, CompletionCandidate};

use crate::diagnostic::Result;
use crate::goalfile::Goalfile;

/// The variable in which the scripts name their shell when they call `goal` back: not clap's
/// usual `COMPLETE`, so that a run in an environment that happens to set it is still a run.
const VARIABLE: &str = "GOAL_COMPLETE";

/// The shells `goal completions` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Reads the checked Goalfile `-f` names, or the nearest one.
pub type Loader = fn(Option<&Path>) -> Result<Goalfile>;

/// Answers a shell that calls `goal` back for completions, then exits; returns at once in any
/// other run.
pub fn answer_if_asked(command: fn() -> Command, load: Loader) {
    let current_dir = std::env::current_dir().ok();
    match CompleteEnv::with_factory(|| with_goal_completion(command(), load))
        .var(VARIABLE)
        .try_complete(std::env::args_os(), current_dir.as_deref())
    {
        Ok(false) => {}
        Ok(true) => std::process::exit(0),
        // Nothing may be written into the shell's line: the scripts take a failure as no
        // completion.
        Err(_) => std::process::exit(1),
    }
}

/// `goal completions SHELL`: the script that registers the completions in that shell.
pub fn script(shell: Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let shell: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
    };
    shell.write_registration(VARIABLE, "goal", "goal", &this_binary(), out)
}

/// How the scripts call `goal` back: as it was called to write them, so `goal` is found on the
/// PATH again (the one installed after an upgrade), and a path is made absolute.
fn this_binary() -> String {
    let called = PathBuf::from(std::env::args_os().next().unwrap_or_else(|| "goal".into()));
    let called = if called.components().count() > 1 {
        std::path::absolute(&called).unwrap_or(called)
    } else {
        called
    };
    called.to_string_lossy().into_owned()
}

/// What a word of the command line may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offer {
    /// `goal GOAL NAME=VALUE…` (and `goal graph GOAL NAME=VALUE…`): a goal, or a parameter of
    /// the goal named before it.
    GoalsAndParameters,
    /// `goal log GOAL`.
    Goals,
    /// `goal log GOAL NAME=VALUE…`.
    Parameters,
}

/// The command line with the goals and their parameters completed from the Goalfile.
fn with_goal_completion(command: Command, load: Loader) -> Command {
    let parser = command.clone();
    let completer = move |offer| {
        let parser = parser.clone();
        ArgValueCompleter::new(move |current: &OsStr| offered(&parser, load, offer, current))
    };
    command
        .mut_arg("targets", |arg| {
            arg.add(completer(Offer::GoalsAndParameters))
        })
        .mut_subcommand("graph", |command| {
            command.mut_arg("targets", |arg| {
                arg.add(completer(Offer::GoalsAndParameters))
            })
        })
        .mut_subcommand("compdb", |command| {
            command.mut_arg("goals", |arg| arg.add(completer(Offer::Goals)))
        })
        .mut_subcommand("log", move |command| {
            command
                .mut_arg("goal", |arg| arg.add(completer(Offer::Goals)))
                .mut_arg("args", |arg| arg.add(completer(Offer::Parameters)))
        })
}

/// The goals whose names start with `current`, and the parameters, not bound yet, of the goal
/// named last before it, as `NAME=`. Nothing when there is no Goalfile or it has problems.
fn offered(
    parser: &Command,
    load: Loader,
    offer: Offer,
    current: &OsStr,
) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let Ok(matches) = parser
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(words_before_cursor())
    else {
        return Vec::new();
    };
    // `-f` is relative to `-C`, as in a run.
    if let Some(directory) = matches.get_one::<PathBuf>("directory") {
        if std::env::set_current_dir(directory).is_err() {
            return Vec::new();
        }
    }
    let Ok(goalfile) = load(matches.get_one::<PathBuf>("file").map(PathBuf::as_path)) else {
        return Vec::new();
    };
    let words: Vec<&String> = match matches.subcommand() {
        Some(("log", log)) => log
            .get_one::<String>("goal")
            .into_iter()
            .chain(log.get_many::<String>("args").into_iter().flatten())
            .collect(),
        Some(("graph", graph)) => graph
            .get_many::<String>("targets")
            .into_iter()
            .flatten()
            .collect(),
        _ => matches
            .get_many::<String>("targets")
            .into_iter()
            .flatten()
            .collect(),
    };
    let mut candidates = Vec::new();
    if offer != Offer::Parameters && !current.contains('=') {
        let mut goals: Vec<_> = goalfile.goals.iter().collect();
        goals.sort_by(|a, b| a.name.text.cmp(&b.name.text));
        candidates.extend(
            goals
                .into_iter()
                .filter(|goal| goal.name.text.starts_with(current))
                .map(|goal| {
                    CompletionCandidate::new(goal.name.text.as_str())
                        .help(goal.doc.as_ref().map(|doc| doc.to_string().into()))
                }),
        );
    }
    let named = words.iter().rposition(|word| !word.contains('='));
    let goal = named.and_then(|at| {
        let name = words[at].as_str();
        goalfile.goals.iter().find(|goal| goal.name.text == name)
    });
    if let (Some(at), Some(goal), false) = (named, goal, offer == Offer::Goals) {
        let bound: Vec<&str> = words[at + 1..]
            .iter()
            .filter_map(|word| word.split_once('=').map(|(name, _)| name))
            .collect();
        candidates.extend(
            goal.params
                .iter()
                .filter(|param| !bound.contains(&param.name.text.as_str()))
                .map(|param| (format!("{}=", param.name.text), param))
                .filter(|(word, _)| word.starts_with(current))
                .map(|(word, param)| {
                    CompletionCandidate::new(word)
                        .help(param.doc.as_ref().map(|doc| doc.to_string().into()))
                }),
        );
    }
    candidates
}

/// The words of the command line before the one being completed, `goal` first: bash and zsh
/// pass every word and say where the cursor is, fish passes the words up to the cursor.
fn words_before_cursor() -> Vec<OsString> {
    let mut words: Vec<OsString> = std::env::args_os()
        .skip_while(|word| word != "--")
        .skip(1)
        .collect();
    let cursor = std::env::var("_CLAP_COMPLETE_INDEX")
        .ok()
        .and_then(|index| index.parse().ok())
        .unwrap_or(words.len().saturating_sub(1));
    words.truncate(cursor);
    words
}
