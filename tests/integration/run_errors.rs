//! Each error of the command line and of running has its code, its message and its exit status.

use crate::common;

use common::Project;

#[test]
fn command_line_errors_exit_2_with_their_codes() {
    let project = Project::new().goalfile(r#"goal build pkg { run "true" }"#);
    project
        .goal(&["pkg=x"])
        .status(2)
        .stderr_has("goal::argument-before-goal");
    project
        .goal(&[])
        .status(2)
        .stderr_has("goal::no-default-goal");
    project
        .goal(&["build", "pkg=a", "pkg=b"])
        .status(2)
        .stderr_has("goal::duplicate-parameter")
        .stderr_has("the parameter `pkg` of `build` is bound twice");
    project
        .goal(&["-C", "no/such/dir"])
        .status(2)
        .stderr_has("goal::directory")
        .stderr_has("cannot change to no/such/dir");
    Project::new()
        .goal(&[])
        .status(2)
        .stderr_has("goal::no-goalfile");
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
    project
        .goal(&["failing"])
        .status(1)
        .stderr_has("goal::recipe-failed")
        .stderr_has("its recipe exited with status 7");
    project
        .goal(&["unkept"])
        .status(1)
        .stderr_has("goal::broken-promise");
    project
        .goal(&["bad-output"])
        .status(1)
        .stderr_has("goal::command-failed")
        .stderr_has("exited with status 3");
}

#[test]
fn an_unusable_state_directory_is_a_run_lock_error() {
    // `.goal` is a file: the run lock cannot be made (root ignores permissions, this does not).
    let project = Project::new()
        .goalfile(r#"goal all { run "touch ran" }"#)
        .file(".goal", "not a directory");
    project
        .goal(&[])
        .status(1)
        .stderr_has("goal::run-lock")
        .stderr_has("cannot use the run lock");
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
    project
        .goal(&[])
        .status(1)
        .stderr_has("goal::spawn")
        .stderr_has("could not start /bin/sh");
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
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("goal::output"));
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
