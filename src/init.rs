//! `goal init`: a commented starting Goalfile, from the template that fits what the directory
//! holds (C sources, or anything else).

use std::path::Path;

use crate::diagnostic::{Problem, Result};

/// The templates `goal init` chooses from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// Compile every C source to an object with its depfile, link a program.
    C,
    /// A few small goals that show targets, parameters and requirements.
    Chores,
}

/// The Goalfile `goal init` would write in `dir`, and why it chose its template.
#[derive(Debug)]
pub struct Starter {
    pub template: Template,
    /// What made `goal init` choose the template, as the user should hear it.
    pub reason: String,
    pub text: String,
}

const C_TEMPLATE: &str = include_str!("init/c.kdl");
const CHORES_TEMPLATE: &str = include_str!("init/chores.kdl");

/// Chooses the template for `dir`: C when it holds C sources (in `src/` or at its top) or a
/// Makefile that runs a C compiler, chores otherwise.
pub fn starter(dir: &Path) -> Starter {
    let sources_in = |sub: &str| c_sources(&dir.join(sub));
    let (sources_dir, sources) = match sources_in("src") {
        sources if !sources.is_empty() => ("src/", sources),
        _ => ("", sources_in(".")),
    };
    if let Some(first) = sources.first() {
        let program = sources
            .iter()
            .find(|source| defines_main(&dir.join(sources_dir).join(source)))
            .unwrap_or(first);
        let program = format!("build/{}", program.trim_end_matches(".c"));
        return Starter {
            template: Template::C,
            reason: format!("found C sources in {}", shown_dir(sources_dir)),
            text: c_text(sources_dir, &program),
        };
    }
    if makefile_compiles_c(dir) {
        return Starter {
            template: Template::C,
            reason: "the Makefile compiles C; the template looks for the sources in src/"
                .to_string(),
            text: c_text("src/", "build/program"),
        };
    }
    Starter {
        template: Template::Chores,
        reason: "found no C sources".to_string(),
        text: CHORES_TEMPLATE.to_string(),
    }
}

fn c_text(sources_dir: &str, program: &str) -> String {
    C_TEMPLATE
        .replace("@sources@", sources_dir)
        .replace("@program@", program)
}

fn shown_dir(sources_dir: &str) -> &str {
    match sources_dir {
        "" => "this directory",
        dir => dir,
    }
}

/// The names of the `.c` files directly in `dir`, sorted, that the template's parameter
/// pattern accepts.
fn c_sources(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| {
            name.strip_suffix(".c").is_some_and(|stem| {
                !stem.is_empty()
                    && stem
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
        })
        .collect();
    names.sort();
    names
}

/// Whether the C file defines `main`: its name is the program's.
fn defines_main(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| text.contains("main("))
}

/// Whether a Makefile here names a C compiler or a C source among its words.
fn makefile_compiles_c(dir: &Path) -> bool {
    ["Makefile", "makefile", "GNUmakefile"].iter().any(|name| {
        std::fs::read_to_string(dir.join(name)).is_ok_and(|text| {
            text.split(|c: char| c.is_whitespace() || c == ':' || c == '=')
                .any(|word| {
                    ["$(CC)", "${CC}", "cc", "gcc", "clang"].contains(&word)
                        || word.len() > 2 && word.ends_with(".c")
                })
        })
    })
}

/// Writes `starter` to `path`, refusing to replace any file there, or with `dry_run` only says
/// what it would write; returns what to tell the user.
pub fn write(path: &Path, starter: &Starter, dry_run: bool) -> Result<String> {
    let exists = || {
        Problem::input(
            "goal::goalfile-exists",
            format!(
                "{} already exists: `goal init` writes only a new Goalfile",
                path.display()
            ),
        )
        .with_help("edit it, or move it away and run `goal init` again")
    };
    if path.symlink_metadata().is_ok() {
        return Err(exists().into());
    }
    if dry_run {
        return Ok(format!(
            "{}\n{}",
            summary("would write", path, starter),
            starter.text
        ));
    }
    // create_new: a file that appeared since the test above is refused too, never replaced.
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, starter.text.as_bytes()));
    match written {
        Ok(()) => Ok(summary("wrote", path, starter)),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Err(exists().into()),
        Err(error) => Err(Problem::failure(
            "goal::init-write",
            format!("cannot write {}: {error}", path.display()),
        )
        .into()),
    }
}

fn summary(verb: &str, path: &Path, starter: &Starter) -> String {
    let (template, next) = match starter.template {
        Template::C => (
            "C-project",
            "`goal --list` lists its goals, `goal` builds the program",
        ),
        Template::Chores => (
            "chores",
            "`goal --list` lists its goals, `goal` reaches `all`",
        ),
    };
    format!(
        "{verb} {} from the {template} template ({})\nnext: {next}, `goal fmt` keeps it tidy\n",
        path.display(),
        starter.reason
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(text: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Goalfile");
        std::fs::write(&path, text).unwrap();
        let goalfile = crate::parse::load(&path).unwrap();
        crate::check::check(&goalfile).unwrap();
    }

    #[test]
    fn a_makefile_that_names_a_compiler_or_a_c_source_is_a_c_project() {
        let dir = tempfile::tempdir().unwrap();
        let makefile = dir.path().join("Makefile");
        for (text, c) in [
            ("hello: hello.o\n\t$(CC) -o $@ $^\n", true),
            ("OBJS=main.o\nmain.o: main.c\n", true),
            ("all:\n\tgcc -o x x.o\n", true),
            ("docs:\n\tsphinx-build . .cache\n", false),
            ("site:\n\tcp -r src public\n", false),
        ] {
            std::fs::write(&makefile, text).unwrap();
            assert_eq!(makefile_compiles_c(dir.path()), c, "{text}");
        }
    }

    #[test]
    fn every_template_passes_the_checks() {
        checked(CHORES_TEMPLATE);
        checked(&c_text("src/", "build/hello"));
        checked(&c_text("", "build/hello"));
    }
}
