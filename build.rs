//! Names the commit in `goal --version` for a build from this project's git checkout; any other
//! build (from a published crate, without git) says the version alone, and never fails for it.

use std::path::Path;
use std::process::Command;

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let version = match commit(Path::new(&manifest_dir)) {
        Some(commit) => format!("{version} (commit {commit})"),
        None => version,
    };
    println!("cargo:rustc-env=GOAL_VERSION={version}");
    println!("cargo:rerun-if-changed=build.rs");
}

/// The commit checked out, if `dir` is the top of a git work tree (not a crate unpacked inside
/// some other repository); asks to be run again when the checkout moves to another commit.
fn commit(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    let commit = git(dir, &["rev-parse", "--short=12", "HEAD"])?;
    // HEAD names the branch, the branch's ref (loose or packed) names the commit: watching the
    // files that exist is enough, and a missing one would make cargo run this every build.
    let git_dir = git(dir, &["rev-parse", "--absolute-git-dir"])?;
    let common_dir = git(
        dir,
        &["rev-parse", "--path-format=absolute", "--git-common-dir"],
    )?;
    let mut watched = vec![Path::new(&git_dir).join("HEAD")];
    watched.push(Path::new(&common_dir).join("packed-refs"));
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(Path::new(&common_dir).join(branch));
    }
    for path in watched.iter().filter(|path| path.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    Some(commit)
}

/// What `git ARGS` prints in `dir`, trimmed; nothing if git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_string())
}
