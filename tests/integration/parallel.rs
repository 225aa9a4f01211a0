//! `-j N`: independent requirements side by side, proven by what recipes record (two recipes
//! that each wait for the other's file finish only if they run at once), never by timing.
//!
//! Recipes side by side print their status lines in an order that varies from run to run: a
//! test of several recipes at `-j2` or more looks for the lines that matter, or compares the
//! lines sorted, instead of comparing the whole of standard error.

use crate::common;

use common::Project;

/// `left` and `right` each write their file and wait (at most 2 s) for the other.
const MEET: &str = r#"
goal side name {
    target { file-exists "{name}.done" }
    let other output="if [ {name} = left ]; then echo right; else echo left; fi"
    run """
        touch {name}.here
        i=0
        while [ ! -e {other}.here ]; do
            i=$((i + 1)); [ $i -lt 200 ] || {{ echo {other} never came; exit 1; }}
            sleep 0.01
        done
        touch {name}.done
        """
}
goal consecutive {
    require side name="left"
    require side name="right"
}
goal looped {
    for name "left" "right" { require side name="{name}" }
}
"#;

#[test]
fn consecutive_requirements_run_at_once_with_j2() {
    let project = Project::new().goalfile(MEET);
    project
        .goal(&["-j2", "consecutive"])
        .success()
        .stderr_has("2 ran");
}

#[test]
fn for_iterations_run_at_once_with_j2() {
    let project = Project::new().goalfile(MEET);
    project
        .goal(&["-j", "2", "looped"])
        .success()
        .stderr_has("2 ran");
}

#[test]
fn goals_named_on_the_command_line_run_at_once_with_j2() {
    let project = Project::new().goalfile(MEET);
    let run = project.goal(&["-j2", "side", "name=left", "side", "name=right"]);
    run.status(0).stdout_is("");
    // The two branches start and end in either order: the lines are compared in sorted order.
    let mut lines: Vec<String> = common::normalize(&run.stderr)
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "goal: done  side name=left (<duration>)",
            "goal: done  side name=right (<duration>)",
            "goal: start side name=left",
            "goal: start side name=right",
            "goal: summary: 2 ran, 0 already reached (<duration>)",
        ]
    );
}

#[test]
fn with_keep_going_a_failing_goal_of_the_command_line_does_not_stop_the_other() {
    let project = Project::new().goalfile(
        r#"
goal bad { run "exit 1" }
goal good { run "touch good" }
"#,
    );
    let run = project.goal(&["-j2", "-k", "bad", "good"]);
    run.status(1).stdout_is("");
    // The two branches' status lines come in either order: they are compared sorted, and what
    // follows the summary as it is.
    let stderr = common::normalize(&run.stderr);
    let (lines, summary) = stderr.split_at(stderr.find("goal: summary").unwrap());
    let mut lines: Vec<&str> = lines.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "goal: FAILED bad (<duration>)",
            "goal: done  good (<duration>)",
            "goal: start bad",
            "goal: start good",
        ]
    );
    assert_eq!(
        summary,
        r#"goal: summary: 1 ran, 0 already reached, 1 failed (<duration>)
goal: failed: bad
goal::recipe-failed

  × `bad` failed: its recipe exited with status 1
   ╭─[Goalfile:2:12]
 1 │
 2 │ goal bad { run "exit 1" }
   ·            ──────┬──────
   ·                  ╰── this recipe
 3 │ goal good { run "touch good" }
   ╰────
"#
    );
    assert!(project.exists("good"));
}

#[test]
fn j1_runs_one_recipe_at_a_time() {
    let project = Project::new().goalfile(MEET);
    project
        .goal(&["consecutive"]).expect(1, "right never came\n", r#"
            goal: start side name=left
            goal: FAILED side name=left (<duration>)
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: side name=left
            goal::recipe-failed

              × `side name=left` failed: its recipe exited with status 1
                ╭─[Goalfile:5:5]
              4 │         let other output="if [ {name} = left ]; then echo right; else echo left; fi"
              5 │ ╭─▶     run """
              6 │ │           touch {name}.here
              7 │ │           i=0
              8 │ │           while [ ! -e {other}.here ]; do
              9 │ │               i=$((i + 1)); [ $i -lt 200 ] || {{ echo {other} never came; exit 1; }}
             10 │ │               sleep 0.01
             11 │ │           done
             12 │ │           touch {name}.done
             13 │ ├─▶         """
                · ╰──── this recipe
             14 │     }
                ╰────
              help: required by consecutive
                    its output is in .goal/logs/<run>/001-side_name=left.log
            "#);
}

#[test]
fn an_instance_required_by_two_branches_runs_once() {
    let project = Project::new().goalfile(
        r#"
goal shared {
    target { file-exists "shared.done" }
    run "echo shared >> log; sleep 0.3; touch shared.done"
}
goal a { require shared; run "echo a >> log" }
goal b { require shared; run "echo b >> log" }
goal c { require shared; run "echo c >> log" }
goal all { require a; require b; require c }
"#,
    );
    project.goal(&["-j3"]).success().stderr_has("4 ran");
    let log = project.read("log");
    assert_eq!(log.matches("shared").count(), 1, "{log}");
    assert!(log.starts_with("shared\n"), "{log}");
    assert_eq!(log.lines().count(), 4, "{log}");
}

#[test]
fn a_cycle_across_branches_is_an_error_not_a_hang() {
    let project = Project::new().goalfile(
        r#"
goal all { require x n="1"; require y n="1" }
goal x n { let m output="echo {n}"; run "sleep 0.2"; require y n="{m}" }
goal y n { let m output="echo {n}"; run "sleep 0.2"; require x n="{m}" }
"#,
    );
    project
        .goal(&["-j2"])
        .status(1)
        .stderr_has("requirement cycle");
}

#[test]
fn keep_going_with_j2_reports_every_failure() {
    let project = Project::new().goalfile(
        r#"
goal part name {
    target { file-exists "{name}.done" }
    run "case {name} in bad*) exit 1;; esac; touch {name}.done"
}
goal all {
    for name "bad1" "ok1" "bad2" "ok2" { require part name="{name}" }
}
"#,
    );
    project
        .goal(&["-j2", "-k"])
        .status(1)
        .stderr_has("`part name=bad1` failed")
        .stderr_has("`part name=bad2` failed")
        .stderr_has("2 ran");
    assert!(project.exists("ok1.done") && project.exists("ok2.done"));
}

#[test]
fn without_keep_going_a_failure_stops_the_other_branches() {
    let project = Project::new().goalfile(
        r#"
goal quick-fail { run "exit 3" }
goal slow-chain n {
    target { file-exists "chain-{n}" }
    run "sleep 0.2; touch chain-{n}"
}
goal slow {
    for n "1" "2" "3" "4" "5" { require slow-chain n="{n}" }
}
goal all { require quick-fail; require slow }
"#,
    );
    let out = project.goal(&["-j2"]);
    out.status(1).stderr_has("`quick-fail` failed");
    assert!(!out.stderr.contains("goal::stopped"), "{}", out.stderr);
    assert!(
        !project.exists("chain-5"),
        "the other branch went on to the end"
    );
}

/// Two make targets that each wait (at most 2 s) for the other: make finishes only with two
/// jobs, which it can only get from goal's job server (its command line has no `-j`).
const MAKEFILE: &str = "all: left right\n\
left:\n\ttouch left.here; i=0; while [ ! -e right.here ]; do i=$$((i+1)); [ $$i -lt 200 ] || exit 1; sleep 0.01; done\n\
right:\n\ttouch right.here; i=0; while [ ! -e left.here ]; do i=$$((i+1)); [ $$i -lt 200 ] || exit 1; sleep 0.01; done\n\
.PHONY: all left right\n";

#[test]
fn a_make_in_a_recipe_shares_the_job_slots() {
    let project = Project::new()
        .goalfile(r#"goal built { run "make -s" }"#)
        .file("Makefile", MAKEFILE);
    project.goal(&["-j2", "built"]).expect(
        0,
        "",
        "
        goal: start built
        goal: done  built (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    let project = Project::new()
        .goalfile(r#"goal built { run "make -s" }"#)
        .file("Makefile", MAKEFILE);
    project.goal(&["-j1", "built"]).expect(
        1,
        "",
        r#"
        goal: start built
        make: *** [Makefile:3: left] Error 1
        goal: FAILED built (<duration>)
        goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
        goal: failed: built
        goal::recipe-failed

          × `built` failed: its recipe exited with status 2
           ╭─[Goalfile:1:14]
         1 │ goal built { run "make -s" }
           ·              ───────┬──────
           ·                     ╰── this recipe
           ╰────
          help: its output is in .goal/logs/<run>/001-built.log
        "#,
    );
}

#[test]
fn with_j2_each_output_line_names_its_instance() {
    let goalfile = r#"
goal say word {
    run "printf 'one %s\ntwo %s\npartial' {word} {word}; echo oops >&2"
}
goal all { require say word="a"; require say word="b" }
"#;
    let project = Project::new().goalfile(goalfile);
    let out = project.goal(&["-j2"]);
    out.success()
        .stdout_has("[say word=a] one a\n")
        .stdout_has("[say word=a] two a\n")
        .stdout_has("[say word=a] partial\n")
        .stdout_has("[say word=b] one b\n")
        .stderr_has("[say word=b] oops\n");
    // The log keeps the recipe's own lines (standard output and error together).
    project
        .goal(&["log", "say", "word=a"])
        .success()
        .stdout_has("one a\ntwo a\n")
        .stdout_lacks("[say");
    let plain = Project::new().goalfile(goalfile);
    plain.goal(&[]).expect(
        0,
        "one a\ntwo a\npartialone b\ntwo b\npartial",
        "
            goal: start say word=a
            oops
            goal: done  say word=a (<duration>)
            goal: start say word=b
            oops
            goal: done  say word=b (<duration>)
            goal: summary: 2 ran, 0 already reached (<duration>)
            ",
    );
}

const STEPS: &str = r#"
goal step n { run "sleep 0.3; echo stepped {n}" }
goal all { for n "1" "2" "3" { require step n="{n}" } }
"#;

#[test]
fn on_a_terminal_progress_shows_what_runs() {
    let project = Project::new().goalfile(STEPS);
    // `script` gives goal a pseudo-terminal, as a user's shell would.
    let command = format!("{} -j2", env!("CARGO_BIN_EXE_goal"));
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(project.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("script (util-linux) runs goal on a pseudo-terminal");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("2 running · 1 waiting: step n="), "{shown}");
    assert!(shown.contains("stepped 3"), "{shown}");
}

#[test]
fn off_a_terminal_there_is_no_progress() {
    let project = Project::new().goalfile(STEPS);
    // Side by side, the steps' lines come in an order that varies: only the progress line's
    // absence is checked.
    project
        .goal(&["-j2"])
        .success()
        .stderr_lacks(" running · ")
        .stdout_lacks(" running · ");
}

/// A `for` over requirements reached side by side: a failing iteration blocks the goal that
/// loops, counted apart from the failure.
#[test]
fn a_failed_iteration_blocks_the_goal_that_loops() {
    let project = Project::new()
        .goalfile(
            r#"
goal compiled name {
    target { file-exists "{name}.o" }
    run "exit 1"
}
goal linked {
    for name "ready" "broken" {
        require compiled name="{name}"
    }
    run "touch linked"
}
"#,
        )
        .file("ready.o", "");
    project.goal(&["-j2", "linked"]).expect(
        1,
        "",
        r#"
        goal: start compiled name=broken
        goal: FAILED compiled name=broken (0.00s)
        goal: blocked linked (requires compiled name=broken, which failed)
        goal: summary: 0 ran, 1 already reached, 1 failed, 1 blocked (0.00s)
        goal: failed: compiled name=broken
        goal: blocked: linked
        goal::recipe-failed

          × `compiled name=broken` failed: its recipe exited with status 1
           ╭─[Goalfile:4:5]
         3 │     target { file-exists "{name}.o" }
         4 │     run "exit 1"
           ·     ──────┬─────
           ·           ╰── this recipe
         5 │ }
           ╰────
          help: required by linked
        "#,
    );
}

/// Three levels of groups side by side, eight wide: 512 recipes under 72 groups.
const DEEP_FAN_OUT: &str = r#"
goal leaf a b c {
    target { file-exists "done/{a}{b}{c}" }
    run "sleep 0.02; touch done/{a}{b}{c}"
}
goal middle a b {
    for c "1" "2" "3" "4" "5" "6" "7" "8" { require leaf a="{a}" b="{b}" c="{c}" }
}
goal top a {
    for b "1" "2" "3" "4" "5" "6" "7" "8" { require middle a="{a}" b="{b}" }
}
goal all {
    for a "1" "2" "3" "4" "5" "6" "7" "8" { require top a="{a}" }
}
"#;

#[test]
fn nested_groups_side_by_side_use_as_many_threads_as_jobs() {
    let project = Project::new().goalfile(DEEP_FAN_OUT).file("done/.keep", "");
    let mut child = project
        .command(&["-j8", "all"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut most = 0;
    while child.try_wait().unwrap().is_none() {
        let threads = std::fs::read_to_string(&status)
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("Threads:"))
            .and_then(|count| count.trim().parse().ok())
            .unwrap_or(0);
        most = most.max(threads);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let run = common::Run::from(child.wait_with_output().unwrap());
    run.success();
    assert_eq!(
        std::fs::read_dir(project.path().join("done"))
            .unwrap()
            .count(),
        513
    );
    // The branches' threads (`-j` of them, the main one included), and a few of `goal`'s own that
    // do not grow with the Goalfile (the Ctrl-C watcher, the Memory's socket); a thread for
    // each group would be hundreds.
    assert!(most <= 8 + 4, "{most} threads at once");
}
