//! The cache of the checked Goalfile, seen from outside: which runs use it, which do not, and
//! that a cache that cannot be used or written never changes what a run does.
//!
//! What the cache did is seen in `-vv`'s debug traces, which name the cache file by a hash of
//! the project's temporary path: those runs look for the trace's words (`cache hit`) instead of
//! comparing the whole of standard error.

use crate::common;

use std::fs;
use std::path::PathBuf;

use common::Project;

const GOALFILE: &str = r#"
include "lib.kdl"
goal all {
    run "echo {greeting}"
}
"#;

fn project() -> Project {
    Project::new()
        .goalfile(GOALFILE)
        .file("lib.kdl", "let greeting \"hello\"\n")
}

/// The one cache file of the project.
fn cache_file(project: &Project) -> PathBuf {
    let files: Vec<PathBuf> = fs::read_dir(project.path().join(".goal/cache"))
        .expect("a cache directory")
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files.into_iter().next().unwrap()
}

fn set_mtime(project: &Project, relative: &str, seconds_since_epoch: u64) {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds_since_epoch);
    fs::File::options()
        .write(true)
        .open(project.path().join(relative))
        .unwrap()
        .set_modified(time)
        .unwrap();
}

#[test]
fn the_second_run_reads_the_cache() {
    let project = project();
    project
        .goal(&["-vv"])
        .success()
        .stderr_has("cache miss")
        .stdout_is("hello\n");
    project
        .goal(&["-vv"])
        .success()
        .stderr_has("cache hit")
        .stdout_is("hello\n");
}

#[test]
fn a_touched_file_with_the_same_content_is_hashed_and_still_a_hit() {
    let project = project();
    project.goal(&[]).expect(
        0,
        "hello\n",
        "
        goal: start all
        goal: done  all (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    set_mtime(&project, "lib.kdl", 1_000_000_000);
    set_mtime(&project, "Goalfile", 1_000_000_000);
    project
        .goal(&["-vv"])
        .success()
        .stderr_has("cache hit (touched, same content)");
    // The settled mtimes were recorded: no hash this time.
    project
        .goal(&["-vv"])
        .success()
        .stderr_has("cache hit")
        .stderr_lacks("touched");
}

#[test]
fn a_cached_goalfile_still_quotes_its_files_in_diagnostics() {
    // The texts are kept apart in the cache and read only for a diagnostic: the included file's
    // comes second, after the root's.
    let project = Project::new()
        .goalfile("include \"lib.kdl\"\ngoal all { require broken }\n")
        .file("lib.kdl", "goal broken {\n    run \"exit 3\"\n}\n");
    let quoted = |project: &Project, trace: &str| {
        project
            .goal(&["-vv"])
            .status(1)
            .stderr_has(trace)
            .stderr_has("lib.kdl:2:5")
            .stderr_has("run \"exit 3\"");
    };
    quoted(&project, "cache miss");
    quoted(&project, "cache hit");
    // A touched file rewrites the cache with the texts it had not read yet.
    set_mtime(&project, "lib.kdl", 1_000_000_000);
    quoted(&project, "cache hit (touched, same content)");
    quoted(&project, "cache hit");
}

#[test]
fn editing_the_goalfile_or_an_include_invalidates_the_cache() {
    let project = project();
    project.goal(&[]).expect(
        0,
        "hello\n",
        "
        goal: start all
        goal: done  all (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    // Same size, same (settled) mtime: only the content tells.
    project.write("lib.kdl", "let greeting \"howdy\"\n");
    set_mtime(&project, "lib.kdl", 1_000_000_000);
    project
        .goal(&["-vv"])
        .success()
        .stderr_has("cache miss")
        .stderr_has("lib.kdl changed")
        .stdout_is("howdy\n");
    project.write("Goalfile", &GOALFILE.replace("echo", "echo say"));
    project
        .goal(&["-vv"])
        .success()
        .stderr_has("Goalfile changed")
        .stdout_is("say howdy\n");
    project.goal(&["-vv"]).success().stderr_has("cache hit");
}

#[test]
fn a_goalfile_with_problems_is_not_cached() {
    let project = Project::new().goalfile("goal all { require nothing-here }\n");
    project.goal(&[]).expect(
        2,
        "",
        "
        goal::unknown-goal

          × unknown goal `nothing-here`
           ╭─[Goalfile:1:20]
         1 │ goal all { require nothing-here }
           ·                    ──────┬─────
           ·                          ╰── no such goal
           ╰────
        ",
    );
    assert!(
        !project.exists(".goal/cache")
            || fs::read_dir(project.path().join(".goal/cache"))
                .unwrap()
                .next()
                .is_none()
    );
}

#[test]
fn a_corrupt_cache_is_ignored_and_replaced() {
    let project = project();
    project.goal(&[]).expect(
        0,
        "hello\n",
        "
        goal: start all
        goal: done  all (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    let file = cache_file(&project);
    let good = fs::read(&file).unwrap();
    for bad in [
        &b""[..],
        &good[..good.len() / 2],
        b"\x05garbage and more garbage",
    ] {
        fs::write(&file, bad).unwrap();
        project
            .goal(&["-vv"])
            .success()
            .stderr_has("cache miss")
            .stdout_is("hello\n");
        assert_eq!(fs::read(&file).unwrap().len(), good.len());
    }
    project.goal(&["-vv"]).success().stderr_has("cache hit");
}

#[test]
fn a_cache_from_another_version_is_ignored() {
    let project = project();
    project.goal(&[]).expect(
        0,
        "hello\n",
        "
        goal: start all
        goal: done  all (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    let file = cache_file(&project);
    let mut bytes = fs::read(&file).unwrap();
    // The file starts with the version string (a length byte, then the text).
    let version = env!("CARGO_PKG_VERSION").as_bytes();
    assert_eq!(&bytes[1..=version.len()], version);
    let other = b"9".repeat(version.len());
    bytes[1..=version.len()].copy_from_slice(&other);
    fs::write(&file, &bytes).unwrap();
    project
        .goal(&["-vv"])
        .success()
        .stderr_has(&format!(
            "written by goal {}",
            String::from_utf8(other).unwrap()
        ))
        .stdout_is("hello\n");
    project.goal(&["-vv"]).success().stderr_has("cache hit");
}

#[test]
fn a_read_only_cache_directory_does_not_break_the_run() {
    use std::os::unix::fs::PermissionsExt;
    let project = project();
    fs::create_dir_all(project.path().join(".goal/cache")).unwrap();
    let read_only = fs::Permissions::from_mode(0o555);
    fs::set_permissions(project.path().join(".goal/cache"), read_only).unwrap();
    // Root writes there anyway; anyone else gets the failed write, which must stay silent.
    project.goal(&[]).expect(
        0,
        "hello\n",
        "
            goal: start all
            goal: done  all (<duration>)
            goal: summary: 1 ran, 0 already reached (<duration>)
            ",
    );
    project.goal(&[]).expect(
        0,
        "hello\n",
        "
        goal: start all
        goal: done  all (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
}

#[test]
fn a_cache_that_cannot_be_written_does_not_break_the_run() {
    let project = project();
    // A file where the directory should be stops root too, unlike a read-only mode.
    project.write(".goal/cache", "not a directory");
    project
        .goal(&["-vv"])
        .success()
        .stderr_has("cache not written")
        .stdout_is("hello\n");
    project.goal(&["-q"]).expect(0, "hello\n", "");
}

#[test]
fn check_never_trusts_the_cache_but_fills_it() {
    let project = project();
    project
        .goal(&["--check", "-vv"])
        .expect(0, "", "DEBUG goal::cli: reading goalfile=Goalfile\n");
    project
        .goal(&["--check", "-vv"])
        .expect(0, "", "DEBUG goal::cli: reading goalfile=Goalfile\n");
    project.goal(&["-vv"]).success().stderr_has("cache hit");
}

/// A dry run writes nothing, not even the cache: it parses a new or changed Goalfile each time,
/// and the first real run keeps it.
#[test]
fn a_dry_run_keeps_no_cache() {
    let project =
        Project::new().goalfile(r#"goal all { target { file-exists "made" }; run "touch made" }"#);
    for _ in 0..2 {
        project
            .goal(&["-n", "-vv"])
            .status(1)
            .stderr_has("cache miss");
        project.goal(&["--check", "-n"]).expect(0, "", "");
    }
    assert!(!project.exists(".goal"));
    project.goal(&["--check"]).expect(0, "", "");
    project
        .goal(&["-n", "-vv"])
        .status(1)
        .stderr_has("cache hit");
    // A changed Goalfile is parsed again by a dry run, and the stale cache left as it was.
    let cache = cache_file(&project);
    let before = fs::read(&cache).unwrap();
    project.write(
        "Goalfile",
        r#"goal all { target { file-exists "done" }; run "touch done" }"#,
    );
    project
        .goal(&["-n", "-vv"])
        .status(1)
        .stderr_has("cache miss");
    assert_eq!(fs::read(&cache).unwrap(), before);
}
