//! `goal compdb`: a compilation database (`compile_commands.json`, as clangd and other tools
//! read it) of the instances of some goals, as `ninja -t compdb` writes one for some rules.

use serde::Serialize;

use super::Record;

/// One compile command, in the order of fields `ninja -t compdb` writes.
#[derive(Serialize)]
struct Entry<'r> {
    directory: &'r str,
    command: &'r str,
    file: &'r str,
    output: &'r str,
}

/// The entries of the instances of `goals` the dry run met, in the order it met them: each with
/// the first source and the first target of its first `file-newer`, and the compile command of
/// its first recipe as the dry run rendered it (see [`compile_command`]), run in `directory`.
/// An instance with no such source or no recipe compiles nothing, and is left out.
pub fn compile_commands(record: &Record, goals: &[String], directory: &str) -> String {
    let entries: Vec<Entry> = record
        .instances
        .iter()
        .filter(|recorded| goals.contains(&recorded.goal))
        .filter_map(|recorded| {
            let (output, file) = recorded.file_newer.as_ref()?;
            Some(Entry {
                directory,
                command: compile_command(recorded.recipes.first()?, file.as_deref()?),
                file: file.as_deref()?,
                output,
            })
        })
        .collect();
    let mut json = serde_json::to_string_pretty(&entries).unwrap_or_default();
    json.push('\n');
    json
}

/// The command of a recipe that compiles `file`: editors take a command's first word for the
/// compiler, so of a recipe such as `mkdir -p build && cc … -c src/a.c`, the one command (split
/// at `&&`, `||`, `;`, `|` and line ends outside quotes) that names `file`; the whole recipe when
/// none or several do.
fn compile_command<'s>(recipe: &'s str, file: &str) -> &'s str {
    let mut naming = commands(recipe).filter(|command| command.contains(file));
    match (naming.next(), naming.next()) {
        (Some(command), None) => command,
        _ => recipe.trim(),
    }
}

/// The commands of a shell script joined by `&&`, `||`, `;`, `|` or line ends, trimmed, as far
/// as quotes tell: a `;` inside quotes joins nothing.
fn commands(script: &str) -> impl Iterator<Item = &str> {
    let bytes = script.as_bytes();
    let mut parts = Vec::new();
    let (mut start, mut quote, mut i) = (0, None, 0);
    while i < bytes.len() {
        let byte = bytes[i];
        match quote {
            Some(open) if byte == open => quote = None,
            Some(b'"') if byte == b'\\' => i += 1,
            Some(_) => {}
            None if byte == b'\'' || byte == b'"' => quote = Some(byte),
            None if byte == b'\\' => i += 1,
            None if matches!(byte, b';' | b'\n' | b'&' | b'|') => {
                // `&&` and `||` are one separator; a lone `&` (a background job) is one too.
                parts.push(&script[start..i]);
                while i + 1 < bytes.len() && matches!(bytes[i + 1], b'&' | b'|') {
                    i += 1;
                }
                start = i + 1;
            }
            None => {}
        }
        i += 1;
    }
    parts.push(&script[start.min(script.len())..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|part| !part.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_that_names_the_file_is_the_compile_command() {
        let recipe = "mkdir -p 'build' && cc -Wall -c 'src/a.c' -o 'build/a.o'";
        assert_eq!(
            compile_command(recipe, "src/a.c"),
            "cc -Wall -c 'src/a.c' -o 'build/a.o'"
        );
        assert_eq!(
            compile_command("cc -c a.c; echo done\n", "a.c"),
            "cc -c a.c"
        );
        // Quotes join what they hold; a file named twice, or not at all, leaves the recipe whole.
        assert_eq!(
            compile_command("cc -D'X=1;2' -c a.c || true", "a.c"),
            "cc -D'X=1;2' -c a.c"
        );
        assert_eq!(
            compile_command("cc -c a.c && cp a.c saved/", "a.c"),
            "cc -c a.c && cp a.c saved/"
        );
        assert_eq!(compile_command(" make a.o ", "a.c"), "make a.o");
    }
}
