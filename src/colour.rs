//! Whether `goal` colours what it writes to standard error: decided once, from `--color`, the
//! environment and the terminal, and asked by everything that colours (status lines and
//! summaries, diagnostics, the progress line, debug traces), so that they always agree.

use std::io::IsTerminal;
use std::sync::OnceLock;

/// `--color`: when to colour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum When {
    /// When standard error is a terminal, unless `NO_COLOR` or `CLICOLOR_FORCE` says otherwise
    #[default]
    Auto,
    /// Always, even into a file or a pipe
    Always,
    /// Never
    Never,
}

static COLOUR: OnceLock<bool> = OnceLock::new();

/// The `--color` of the command line, read before clap parses it: clap's own help and usage
/// errors are coloured by the same decision, and it must be made before clap writes them. A
/// value clap will refuse counts as `auto`.
pub fn requested(args: impl IntoIterator<Item = std::ffi::OsString>) -> When {
    let mut when = When::Auto;
    let mut args = args.into_iter().skip(1);
    while let Some(arg) = args.next() {
        let value = match arg.to_str() {
            Some("--") => break,
            Some("--color") => args.next(),
            Some(arg) => arg.strip_prefix("--color=").map(Into::into),
            None => None,
        };
        if let Some(value) = value {
            when = clap::ValueEnum::from_str(&value.to_string_lossy(), false).unwrap_or(when);
        }
    }
    when
}

/// Makes the one decision, for the rest of the process; the first call wins.
pub fn decide(when: When) {
    let colour = *COLOUR.get_or_init(|| decision(when));
    // indicatif draws the progress line through console, which decides on its own otherwise.
    console::set_colors_enabled(colour);
    console::set_colors_enabled_stderr(colour);
}

/// Whether to colour: as decided, or as `--color auto` would decide when nothing was.
pub fn enabled() -> bool {
    *COLOUR.get_or_init(|| decision(When::Auto))
}

/// `--color` overrides the environment; in `auto`, a non-empty `NO_COLOR` (no-color.org) turns
/// colour off even where `CLICOLOR_FORCE` would turn it on, and `CLICOLOR_FORCE` other than `0`
/// turns it on away from a terminal.
fn decision(when: When) -> bool {
    let set = |name| std::env::var_os(name).filter(|value| !value.is_empty());
    match when {
        When::Always => true,
        When::Never => false,
        When::Auto if set("NO_COLOR").is_some() => false,
        When::Auto if set("CLICOLOR_FORCE").is_some_and(|value| value != "0") => true,
        When::Auto => std::io::stderr().is_terminal(),
    }
}
