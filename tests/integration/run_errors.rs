//! Each error of the command line and of running has its code, its message and its exit status.

use crate::common;

use common::Project;

#[test]
fn command_line_errors_exit_2_with_their_codes() {
    let project = Project::new().goalfile(r#"goal build pkg { run "true" }"#);
    project.goal(&["pkg=x"]).expect(
        2,
        "",
        "
            goal::argument-before-goal

              × `pkg=x` binds a parameter, but no goal is named before it
              help: name the goal first: goal GOAL name=value
            ",
    );
    project.goal(&[]).expect(
        2,
        "",
        "
            goal::no-default-goal

              × no goal was named and the Goalfile has no goal `all`
              help: name a goal (`goal --list` shows them), or add `goal all { … }`
            ",
    );
    project.goal(&["build", "pkg=a", "pkg=b"]).expect(
        2,
        "",
        "
            goal::duplicate-parameter

              × the parameter `pkg` of `build` is bound twice
            ",
    );
    project.goal(&["-C", "no/such/dir"]).expect(
        2,
        "",
        "
            goal::directory

              × cannot change to no/such/dir: No such file or directory (os error 2)
            ",
    );
    Project::new().goal(&[]).expect(
        2,
        "",
        "
            goal::no-goalfile

              × no Goalfile in /tmp/project or any directory above it
              help: create one, or name one with -f FILE or a directory with -C DIR
            ",
    );
}

#[test]
fn running_errors_exit_1_with_their_codes() {
    let project = Project::new().goalfile(
        r#"
goal failing { run "exit 7" }
goal unkept { target { file-exists "never" }; run "true" }
goal bad-output { let x output="exit 3"; run "echo {x}" }
"#,
    );
    project.goal(&["failing"]).expect(
        1,
        "",
        r#"
            goal: start failing
            goal: FAILED failing (<duration>)
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: failing
            goal::recipe-failed

              × `failing` failed: its recipe exited with status 7
               ╭─[Goalfile:2:16]
             1 │
             2 │ goal failing { run "exit 7" }
               ·                ──────┬──────
               ·                      ╰── this recipe
             3 │ goal unkept { target { file-exists "never" }; run "true" }
               ╰────
            "#,
    );
    project.goal(&["unkept"]).expect(
        1,
        "",
        r#"
            goal: start unkept
            goal: FAILED unkept (<duration>)
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: unkept
            goal::broken-promise

              × `unkept` ran, but its target is still false: never does not exist
               ╭─[Goalfile:3:15]
             2 │ goal failing { run "exit 7" }
             3 │ goal unkept { target { file-exists "never" }; run "true" }
               ·               ───────────────┬──────────────
               ·                              ╰── this target is still false
             4 │ goal bad-output { let x output="exit 3"; run "echo {x}" }
               ╰────
            "#,
    );
    project.goal(&["bad-output"]).expect(
        1,
        "",
        r#"
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: bad-output
            goal::command-failed

              × the command of this `let` exited with status 3: exit 3
               ╭─[Goalfile:4:19]
             3 │ goal unkept { target { file-exists "never" }; run "true" }
             4 │ goal bad-output { let x output="exit 3"; run "echo {x}" }
               ·                   ──────────┬──────────
               ·                             ╰── this command failed
               ╰────
            "#,
    );
}

#[test]
fn an_unusable_state_directory_is_a_run_lock_error() {
    // `.goal` is a file: the run lock cannot be made (root ignores permissions, this does not).
    let project = Project::new()
        .goalfile(r#"goal all { run "touch ran" }"#)
        .file(".goal", "not a directory");
    project.goal(&[]).expect(
        1,
        "",
        "
            goal::run-lock

              × cannot use the run lock `.goal/run.lock`: File exists (os error 17)
            ",
    );
    assert!(!project.exists("ran"));
}

#[test]
fn a_recipe_the_system_cannot_start_is_a_spawn_error() {
    // One argument longer than the kernel allows (128 KiB): the shell cannot even be started.
    let project = Project::new().goalfile(
        r#"
goal all {
    let big output="head -c 200000 /dev/zero | tr '\\0' x"
    run "echo {big}"
}
"#,
    );
    project.goal(&[]).expect(
        1,
        "",
        r#"
            goal: start all
            goal: FAILED all (<duration>)
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: all
            goal::spawn

              × could not start /bin/sh: Argument list too long (os error 7)
               ╭─[Goalfile:4:5]
             3 │     let big output="head -c 200000 /dev/zero | tr '\\0' x"
             4 │     run "echo {big}"
               ·     ────────┬───────
               ·             ╰── running this
             5 │ }
               ╰────
            "#,
    );
}

#[test]
fn a_reader_that_stops_reading_is_not_an_error() {
    let mut goalfile = String::new();
    for i in 0..2000 {
        goalfile.push_str(&format!("goal g{i} {{ run \"true\" }}\n"));
    }
    goalfile.push_str("goal all {\n");
    for i in 0..2000 {
        goalfile.push_str(&format!("    require g{i}\n"));
    }
    goalfile.push_str("}\n");
    let project = Project::new().goalfile(&goalfile);
    for (args, status) in [("--dry-run", 1), ("--list", 0)] {
        let mut child = project
            .command(&[args])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader stops at once: goal's writes meet a closed pipe.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args}: {stderr}");
        assert_eq!(output.status.code(), Some(status), "{args}: {stderr}");
    }
}

#[test]
fn an_unwritable_standard_output_is_an_error_for_list() {
    let project = Project::new().goalfile(r#"goal all { run "true" }"#);
    let out = project
        .command(&["--list"])
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    common::Run::from(out).expect(
        1,
        "",
        "
        goal::output

          × cannot write to standard output: No space left on device (os error 28)
        ",
    );
}

/// Without -k the run stops at the first failure: the goal that failed is counted apart from
/// the goal it blocks, and the grouping `all` is neither shown nor counted.
#[test]
fn the_summary_tells_a_failure_from_the_goals_it_blocks() {
    let project = Project::new().goalfile(
        r#"
goal compiled {
    run "exit 2"
}
goal linked {
    require compiled
    run "touch linked"
}
goal all {
    require linked
}
"#,
    );
    project.goal(&[]).expect(
        1,
        "",
        r#"
        goal: start compiled
        goal: FAILED compiled (0.00s)
        goal: blocked linked (requires compiled, which failed)
        goal: summary: 0 ran, 0 already reached, 1 failed, 1 blocked (0.00s)
        goal: failed: compiled
        goal: blocked: linked
        goal::recipe-failed

          × `compiled` failed: its recipe exited with status 2
           ╭─[Goalfile:3:5]
         2 │ goal compiled {
         3 │     run "exit 2"
           ·     ──────┬─────
           ·           ╰── this recipe
         4 │ }
           ╰────
          help: required by linked ← all
        "#,
    );
}

/// A grouping goal is not counted while it only groups, but a failure of its own (a value it
/// binds) is the run's failure, and the summary counts and names it.
#[test]
fn a_grouping_goal_that_fails_itself_is_counted() {
    let project = Project::new().goalfile(
        r##"
goal built pkg {
    param pkg pattern=#"[a-z]+"#
    run "true"
}
goal all {
    for pkg words="fmt OCaml" { require built pkg="{pkg}" }
}
"##,
    );
    project.goal(&[]).expect(
        1,
        "",
        r##"
        goal: start built pkg=fmt
        goal: done  built pkg=fmt (0.00s)
        goal: summary: 1 ran, 0 already reached, 1 failed (0.00s)
        goal: failed: all
        goal::pattern-mismatch

          × the value "OCaml" of `built`'s parameter `pkg` does not match its pattern
           ╭─[Goalfile:3:23]
         2 │ goal built pkg {
         3 │     param pkg pattern=#"[a-z]+"#
           ·                       ─────┬────
           ·                            ╰── the pattern it must match
         4 │     run "true"
           ╰────
          help: required by all
        "##,
    );
}
