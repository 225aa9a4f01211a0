//! `goal man`: the manual page, goal(1), made from the same definitions as `--help`, so the
//! two never disagree.

use std::io::Write;

use clap_mangen::Man;
use roff::{bold, roman, Roff};

/// Writes the page for `command` (the whole command line) in roff, as `man` reads it.
pub fn write(mut command: clap::Command, out: &mut dyn Write) -> std::io::Result<()> {
    // Built, the command has the `help` subcommand that `--help` lists.
    command.build();
    let page = Man::new(command.clone());
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    subcommands(&command).to_writer(out)?;
    page.render_version_section(out)
}

/// The subcommands, each as it is typed (`goal memory`): clap_mangen would name a page of its
/// own for each (goal-memory(1)), which one page cannot install.
fn subcommands(command: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["SUBCOMMANDS"]);
    for subcommand in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        roff.control("TP", []);
        roff.text([bold(format!("goal {}", subcommand.get_name()))]);
        if let Some(about) = subcommand.get_about() {
            roff.text([roman(about.to_string())]);
        }
    }
    roff.control("PP", []);
    roff.text([
        roman("Each subcommand's options: "),
        bold("goal help SUBCOMMAND"),
        roman("."),
    ]);
    roff
}
