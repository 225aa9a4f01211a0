//! Builds as C projects need them: forced runs (`-B`, `--force`), sources read from the
//! depfiles a compiler writes, lists as sources and targets, and the changed sources (`{newer}`).
//! The C tests run the real `cc` on real files.

use crate::common;

use std::fs;
use std::time::{Duration, SystemTime};

use common::Project;

/// Sets a file's modification time `seconds` from now (negative: in the past), so that tests
/// order files without sleeping.
fn age(project: &Project, relative: &str, seconds: i64) {
    let now = SystemTime::now();
    let shift = Duration::from_secs(seconds.unsigned_abs());
    let time = if seconds < 0 { now - shift } else { now + shift };
    fs::File::options()
        .write(true)
        .open(project.path().join(relative))
        .unwrap()
        .set_modified(time)
        .unwrap();
}

const FORCED: &str = r#"
goal dep {
    target { file-exists "dep.txt" }
    run "echo dep >> log && touch dep.txt"
}
goal made {
    require dep
    target { file-exists "made.txt" }
    run "echo made >> log && touch made.txt"
}
goal all { require made }
"#;

#[test]
fn always_fires_every_goal_once_and_force_only_the_named_ones() {
    let project = Project::new().goalfile(FORCED);
    project.goal(&["-q"]).expect(0, "", "");
    project.goal(&["-q"]).expect(0, "", "");
    assert_eq!(project.read("log"), "dep\nmade\n");

    project.goal(&["-B"]).expect(
        0,
        "",
        "
        goal: start dep
        goal: done  dep (0.00s)
        goal: start made
        goal: done  made (0.00s)
        goal: summary: 2 ran, 0 already reached (0.00s)
        ",
    );
    assert_eq!(project.read("log"), "dep\nmade\ndep\nmade\n");

    project.goal(&["--force", "made"]).expect(
        0,
        "",
        "
        goal: start made
        goal: done  made (0.00s)
        goal: summary: 1 ran, 1 already reached (0.00s)
        ",
    );
    assert_eq!(project.read("log"), "dep\nmade\ndep\nmade\nmade\n");
}

#[test]
fn a_forced_dry_run_would_fire_every_goal_and_says_why() {
    let project = Project::new().goalfile(FORCED);
    project.goal(&["-q"]).expect(0, "", "");
    project.goal(&["-n", "--always"]).expect(
        1,
        "
        would fire: dep  (every goal fires with -B (--always))
        would fire: made  (every goal fires with -B (--always))
        ",
        "goal: summary: 2 would fire, 0 may fire, 0 already reached (0.00s)\n",
    );
    project.goal(&["-n", "--force", "made"]).expect(
        1,
        "would fire: made  (it is named with --force)\n",
        "goal: summary: 1 would fire, 0 may fire, 1 already reached (0.00s)\n",
    );
}

#[test]
fn a_forced_goal_still_keeps_its_promise() {
    let project = Project::new().goalfile(
        r#"
goal all {
    target { file-exists "made.txt" }
    run "rm made.txt"
}
"#,
    );
    project.write("made.txt", "");
    project.goal(&["-q"]).expect(0, "", "");
    project.goal(&["-q", "-B"]).expect(
        1,
        "",
        "
        goal::broken-promise

          × `all` ran, but its target is still false: made.txt does not exist
           ╭─[Goalfile:3:5]
         2 │ goal all {
         3 │     target { file-exists \"made.txt\" }
           ·     ────────────────┬────────────────
           ·                     ╰── this target is still false
         4 │     run \"rm made.txt\"
           ╰────
        ",
    );
}

#[test]
fn always_and_force_cannot_be_given_together() {
    let project = Project::new().goalfile(FORCED);
    project.goal(&["-B", "--force", "made"]).expect(
        2,
        "",
        "
        error: the argument '--always' cannot be used with '--force'

        Usage: goal --always <GOAL [NAME=VALUE]...>...

        For more information, try '--help'.
        ",
    );
}
