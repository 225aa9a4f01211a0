//! Directory listings kept between runs: a glob over an unchanged directory reuses the last
//! listing, and any change to the directory's entries is seen by the next run.
//!
//! Whether a listing was reused shows only in `-vv`'s debug traces, whose other lines name
//! files by hashes of the temporary path: those runs look for the trace's words.

use crate::common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::thread::sleep;
use std::time::Duration;

use common::Project;

const GOALFILE: &str = r#"
goal all {
    for source glob="src/*.c" { require show source="{source}" }
}
goal show source {
    run "echo seen {source}"
}
"#;

const REUSED: &str = "directory listing reused";

#[test]
fn a_kept_listing_is_reused_until_the_directory_changes() {
    let project = Project::new()
        .goalfile(GOALFILE)
        .file("src/a.c", "")
        .file("src/b.c", "")
        .file(".goal/cache/listings", "not a listing");
    // A listing is kept only once its directory's last change is a few seconds old.
    sleep(Duration::from_millis(3100));

    project
        .goal(&["-vv"])
        .success()
        .stderr_has("listings of another format ignored")
        .stderr_lacks(REUSED)
        .stdout_is("seen src/a.c\nseen src/b.c\n");
    project
        .goal(&["-vv"])
        .success()
        .stderr_has(REUSED)
        .stdout_is("seen src/a.c\nseen src/b.c\n");

    project.write("src/c.c", "");
    project
        .goal(&["-vv"])
        .success()
        .stderr_lacks(REUSED)
        .stdout_is("seen src/a.c\nseen src/b.c\nseen src/c.c\n");
    fs::remove_file(project.path().join("src/a.c")).unwrap();
    project
        .goal(&["-vv"])
        .success()
        .stderr_lacks(REUSED)
        .stdout_is("seen src/b.c\nseen src/c.c\n");
}

#[test]
fn a_directory_changed_just_before_its_listing_is_listed_again() {
    let project = Project::new().goalfile(GOALFILE).file("src/a.c", "");
    for _ in 0..2 {
        project
            .goal(&["-vv"])
            .success()
            .stderr_lacks(REUSED)
            .stdout_is("seen src/a.c\n");
    }
    assert!(!project.exists(".goal/cache/listings"));
}

#[test]
fn a_newer_file_found_by_than_glob_fires_the_goal() {
    let project = Project::new()
        .goalfile(
            r#"
goal all {
    target { file-newer "app" than-glob="src/*.c" }
    run "touch app"
}
"#,
        )
        .file("src/a.c", "");
    sleep(Duration::from_millis(3100));
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start all
        goal: done  all (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["-vv"]).expect(
        0,
        "",
        r#"
            DEBUG goal::cli: reading goalfile=Goalfile
            DEBUG goal::cache: cache hit cache=./.goal/cache/goalfile-008697d47cc036cd
            DEBUG goal::eval::listings: directory listing reused directory="src" pattern="*.c"
            goal: reached all
            goal: summary: 0 ran, 1 already reached (<duration>)
            "#,
    );
    // A new source, newer than `app`, in a directory whose listing was kept.
    sleep(Duration::from_millis(20));
    project.write("src/b.c", "");
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start all
        goal: done  all (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
}

#[test]
fn a_run_that_only_reuses_listings_writes_nothing() {
    let project = Project::new()
        .goalfile(
            r#"
goal all {
    for source glob="src/*.c" { require show source="{source}" }
    target { file-newer "app" than-glob="lib/*.h" }
    run "touch app"
}
goal show source {
    run "echo seen {source}"
}
"#,
        )
        .file("src/a.c", "")
        .file("lib/a.h", "");
    sleep(Duration::from_millis(3100));
    project.goal(&[]).expect(
        0,
        "seen src/a.c\n",
        "
        goal: start show source=src/a.c
        goal: done  show source=src/a.c (<duration>)
        goal: start all
        goal: done  all (<duration>)
        goal: summary: 2 ran, 0 already reached (<duration>)
        ",
    );
    let listings = project.path().join(".goal/cache/listings");
    let written = fs::metadata(&listings).unwrap();
    project.goal(&["-vv"]).success().stderr_has(REUSED);
    let after = fs::metadata(&listings).unwrap();
    // The file is replaced, never rewritten in place: a new write is a new inode.
    assert_eq!(
        (after.ino(), after.mtime_nsec()),
        (written.ino(), written.mtime_nsec())
    );
}
