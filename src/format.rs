//! `goal fmt`: lays a Goalfile out ([`crate::parse::layout`]) and writes it back, or with
//! `--check` (and in a dry run) shows as a unified diff what it would change.

use std::path::Path;

use crate::diagnostic::{Problem, Result};

/// What `goal fmt` found, for its exit status: 0 when the file is laid out already (or now
/// is), 1 when `--check` found it would change.
pub fn run(path: &Path, check: bool) -> Result<u8> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        Problem::input(
            "goal::read",
            format!("cannot read {}: {error}", path.display()),
        )
    })?;
    let name = path.display().to_string();
    let formatted = crate::parse::layout::lay_out(&name, &text)?;
    if formatted == text {
        return Ok(0);
    }
    if check {
        crate::report::print_answer(&diff(&name, &text, &formatted))?;
        return Ok(1);
    }
    write_atomically(path, &formatted)?;
    Ok(0)
}

/// The unified diff from `old` to `new`, both the file `name`.
fn diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(name, &format!("{name} (formatted)"))
        .to_string()
}

/// Replaces the file with `text` by renaming a finished copy over it: an interruption leaves
/// the old file or the new one, never half of one. The copy keeps the file's permissions, and
/// a symbolic link is written through, not replaced.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let failed = |error: std::io::Error| {
        Problem::failure(
            "goal::fmt-write",
            format!(
                "cannot write {}: {error}; it is left as it was",
                path.display()
            ),
        )
    };
    let target = std::fs::canonicalize(path).map_err(failed)?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let permissions = std::fs::metadata(&target).map_err(failed)?.permissions();
    let copy = tempfile::Builder::new()
        .prefix(".Goalfile.fmt")
        .tempfile_in(dir)
        .map_err(failed)?;
    // Through the file itself: the temporary file's own `Write` names its random path in errors.
    std::io::Write::write_all(&mut copy.as_file(), text.as_bytes()).map_err(failed)?;
    copy.as_file().sync_all().map_err(failed)?;
    std::fs::set_permissions(copy.path(), permissions).map_err(failed)?;
    copy.persist(&target).map_err(|error| failed(error.error))?;
    Ok(())
}
