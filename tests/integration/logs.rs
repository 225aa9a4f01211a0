//! Run logs: every recipe's output streams as before and is kept under `.goal/logs/`;
//! `goal log` prints a run's log, `goal status` lists the runs.

use crate::common;

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use common::{Project, Run};

/// Waits until `condition` holds; the test fails if it never does.
fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The invocation directories under `.goal/logs`, oldest first.
fn invocations(project: &Project) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(project.path().join(".goal/logs"))
        .map(|entries| entries.map(|entry| entry.unwrap().path()).collect())
        .unwrap_or_default();
    dirs.retain(|dir| dir.is_dir());
    dirs.sort();
    dirs
}

/// The log files of the only invocation, in the order they were written.
fn log_files(project: &Project) -> Vec<PathBuf> {
    let dirs = invocations(project);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let mut files: Vec<PathBuf> = fs::read_dir(&dirs[0])
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn next_line(reader: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    line
}

fn kill(signal: &str, pid: &str) {
    std::process::Command::new("kill")
        .args([&format!("-{signal}"), "--", pid.trim()])
        .status()
        .unwrap();
}

/// Kills a recipe's shell and all it started (its process group), which outlive a killed goal.
fn kill_recipe(shell: &str) {
    kill("KILL", &format!("-{}", shell.trim()));
}

fn finish(child: Child) -> Run {
    Run::from(child.wait_with_output().unwrap())
}

#[test]
fn output_streams_as_it_comes_and_the_log_holds_what_was_shown() {
    let project = Project::new().goalfile(
        r#"
goal talked {
    run "echo first; while [ ! -e go ]; do sleep 0.02; done; echo second; printf 'no line break'"
}
"#,
    );
    let mut child = project
        .command(&["talked"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // The recipe waits for the test, so its first line can only be here if it streamed.
    assert_eq!(next_line(&mut stdout), "first\n");
    project.write("go", "");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(rest, "second\nno line break");
    let files = log_files(&project);
    assert_eq!(files.len(), 1);
    assert_eq!(read(&files[0]), format!("first\n{rest}"));
}

#[test]
fn standard_output_and_error_are_both_logged_each_in_order() {
    let project = Project::new().goalfile(
        r#"
goal talked {
    run "for i in $(seq 1 300); do echo out $i; echo err $i >&2; done"
}
"#,
    );
    let out = project.goal(&["talked"]);
    out.success();
    let numbered = |text: &str, stream: &str| -> Vec<String> {
        text.lines()
            .filter(|line| line.starts_with(stream))
            .map(str::to_string)
            .collect()
    };
    let expected =
        |stream: &str| -> Vec<String> { (1..=300).map(|i| format!("{stream} {i}")).collect() };
    assert_eq!(numbered(&out.stdout, "out"), expected("out"));
    assert_eq!(numbered(&out.stderr, "err"), expected("err"));
    let log = read(&log_files(&project)[0]);
    assert_eq!(numbered(&log, "out"), expected("out"));
    assert_eq!(numbered(&log, "err"), expected("err"));
    assert_eq!(log.lines().count(), 600, "every line whole: {log}");
}

#[test]
fn a_failing_recipe_names_its_log_and_goal_log_prints_it() {
    let project = Project::new().goalfile(
        r#"
goal built pkg arch {
    param arch default="x86_64"
    run "echo building {pkg} for {arch}; echo oops >&2; exit 3"
}
goal all { require built pkg="foo" }
"#,
    );
    let out = project.goal(&[]);
    out.expect(
        1,
        "building foo for x86_64\n",
        r#"
        goal: start built pkg=foo arch=x86_64
        oops
        goal: FAILED built pkg=foo arch=x86_64 (<duration>)
        goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
        goal: failed: built pkg=foo arch=x86_64
        goal::recipe-failed

          × `built pkg=foo arch=x86_64` failed: its recipe exited with status 3
           ╭─[Goalfile:4:5]
         3 │     param arch default="x86_64"
         4 │     run "echo building {pkg} for {arch}; echo oops >&2; exit 3"
           ·     ─────────────────────────────┬─────────────────────────────
           ·                                  ╰── this recipe
         5 │ }
           ╰────
          help: required by all
                its output is in .goal/logs/<run>/001-built_pkg=foo_arch=x86_64.log
        "#,
    );
    let named = out
        .stderr
        .split("its output is in ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .unwrap()
        .trim();
    assert!(named.ends_with("-built_pkg=foo_arch=x86_64.log"), "{named}");
    assert_eq!(
        read(&project.path().join(named)),
        "building foo for x86_64\noops\n"
    );
    // The instance is named as on the command line, defaults included.
    // The header names the run's start time and its log's path, with the run's pid.
    let shown = project.goal(&["log", "built", "pkg=foo"]);
    shown.expect(
        0,
        "building foo for x86_64\noops\n",
        &format!("goal: built pkg=foo arch=x86_64: started <date>, <duration>, failed (status 3), log {named}\n"),
    );
    assert_eq!(
        project
            .goal(&["log", "built", "arch=x86_64", "pkg=foo"])
            .stdout,
        shown.stdout
    );
    // Without a goal: the latest recipe run of any.
    assert_eq!(project.goal(&["log"]).stdout, shown.stdout);
}

#[test]
fn goal_log_shows_the_latest_run_of_the_instance() {
    let project = Project::new().goalfile(
        r#"
goal counted n {
    run "echo run $(cat count-{n} 2>/dev/null || echo 0) of {n}; echo x >> count-{n}"
}
goal other { run "echo other" }
"#,
    );
    project.goal(&["counted", "n=1"]).expect(
        0,
        "run 0 of 1\n",
        "
        goal: start counted n=1
        goal: done  counted n=1 (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["counted", "n=1"]).expect(
        0,
        "run x of 1\n",
        "
        goal: start counted n=1
        goal: done  counted n=1 (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["counted", "n=2"]).expect(
        0,
        "run 0 of 2\n",
        "
        goal: start counted n=2
        goal: done  counted n=2 (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["other"]).expect(
        0,
        "other\n",
        "
        goal: start other
        goal: done  other (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project
        .goal(&["log", "counted", "n=1"]).expect(0, "run x of 1\n", "goal: counted n=1: started <date>, <duration>, ok, log .goal/logs/<run>/001-counted_n=1.log\n");
    project
        .goal(&["log", "counted", "n=2"]).expect(0, "run 0 of 2\n", "goal: counted n=2: started <date>, <duration>, ok, log .goal/logs/<run>/001-counted_n=2.log\n");
    project.goal(&["log"]).expect(
        0,
        "other\n",
        "goal: other: started <date>, <duration>, ok, log .goal/logs/<run>/001-other.log\n",
    );
}

#[test]
fn goal_log_shows_every_run_statement_of_the_latest_reaching() {
    let project = Project::new().goalfile(
        r#"
goal staged {
    run "echo configured"
    run "echo built"
}
goal other { run "echo other" }
"#,
    );
    project.goal(&["staged", "other"]).expect(
        0,
        "
        configured
        built
        other
        ",
        "
        goal: start staged
        goal: done  staged (<duration>)
        goal: start other
        goal: done  other (<duration>)
        goal: summary: 2 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["staged"]).expect(
        0,
        "
        configured
        built
        ",
        "
        goal: start staged
        goal: done  staged (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["log", "staged"]).expect(
        0,
        "
        configured
        built
        ",
        "
        goal: staged: started <date>, <duration>, ok, log .goal/logs/<run>/001-staged.log
        goal: staged: started <date>, <duration>, ok, log .goal/logs/<run>/002-staged.log
        ",
    );
    project.goal(&["status"]).expect(
        0,
        "
        <date>  <duration>  ok  staged
        <date>  <duration>  ok  staged
        <date>  <duration>  ok  other
        <date>  <duration>  ok  staged
        <date>  <duration>  ok  staged
        ",
        "",
    );
}

#[test]
fn goal_log_names_no_file_for_a_recipe_that_printed_nothing() {
    let project = Project::new().goalfile(
        r#"
goal silent {
    run "true"
    run "echo said"
}
"#,
    );
    project.goal(&["silent"]).expect(
        0,
        "said\n",
        "
        goal: start silent
        goal: done  silent (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    let said = log_files(&project);
    assert_eq!(said.len(), 1, "only the recipe that printed has a file");
    let said = said[0]
        .strip_prefix(project.path())
        .unwrap()
        .display()
        .to_string();
    project.goal(&["log", "silent"]).expect(
        0,
        "said\n",
        &format!(
            "goal: silent: started 2026-12-04T13:37:17Z, 0.00s, ok, no output\n\
             goal: silent: started 2026-12-04T13:37:17Z, 0.00s, ok, log {said}\n"
        ),
    );
}

#[test]
fn goal_status_lists_ok_failed_running_and_interrupted_runs_newest_last() {
    let project = Project::new().goalfile(
        r#"
goal fine { run "echo fine" }
goal broken { run "exit 4" }
goal slow {
    run "echo $$ > shell; sleep 30"
}
"#,
    );
    project.goal(&["fine"]).expect(
        0,
        "fine\n",
        "
        goal: start fine
        goal: done  fine (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["broken"]).expect(
        1,
        "",
        r#"
        goal: start broken
        goal: FAILED broken (<duration>)
        goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
        goal: failed: broken
        goal::recipe-failed

          × `broken` failed: its recipe exited with status 4
           ╭─[Goalfile:3:15]
         2 │ goal fine { run "echo fine" }
         3 │ goal broken { run "exit 4" }
           ·               ──────┬──────
           ·                     ╰── this recipe
         4 │ goal slow {
           ╰────
        "#,
    );
    let child = project
        .command(&["slow"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually("the slow recipe started", || project.exists("shell"));
    project.goal(&["status"]).expect(
        0,
        "
        <date>  <duration>  ok                 fine
        <date>  <duration>  failed (status 4)  broken
        <date>  <duration>  running            slow
        ",
        "",
    );
    // Killed outright, goal writes no end: the run counts as interrupted.
    kill("KILL", &child.id().to_string());
    finish(child);
    kill_recipe(&project.read("shell"));
    project.goal(&["status"]).expect(
        0,
        "
        <date>  <duration>  ok                 fine
        <date>  <duration>  failed (status 4)  broken
        <date>      -  interrupted        slow
        ",
        "",
    );
    // --count chooses how many, still newest last.
    project.goal(&["status", "--count", "2"]).expect(
        0,
        "
        <date>  <duration>  failed (status 4)  broken
        <date>      -  interrupted        slow
        ",
        "",
    );
}

#[test]
fn a_run_stopped_by_ctrl_c_is_logged_as_interrupted() {
    let project = Project::new().goalfile(
        r#"
goal slow {
    run "echo going; touch started; sleep 30"
}
"#,
    );
    let child = project
        .command(&["slow"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually("the slow recipe started", || project.exists("started"));
    kill("INT", &child.id().to_string());
    finish(child).status(130);
    project
        .goal(&["status"])
        .expect(0, "<date>  <duration>  interrupted  slow\n", "");
    project.goal(&["log", "slow"]).expect(
        0,
        "going\n",
        "goal: slow: started <date>, <duration>, interrupted, log .goal/logs/<run>/001-slow.log\n",
    );
}

#[test]
fn follow_prints_lines_as_they_come_and_ends_with_the_run() {
    let project = Project::new().goalfile(
        r#"
goal stepped {
    run "echo one; touch started; while [ ! -e go ]; do sleep 0.02; done; echo two; exit 5"
}
"#,
    );
    let run = project
        .command(&["stepped"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually("the recipe started", || project.exists("started"));
    let mut follower = project
        .command(&["log", "--follow", "stepped"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(follower.stdout.take().unwrap());
    assert_eq!(next_line(&mut stdout), "one\n");
    // The recipe is still waiting, so the follower must be too.
    assert!(follower.try_wait().unwrap().is_none());
    project.write("go", "");
    assert_eq!(next_line(&mut stdout), "two\n");
    let follower = finish(follower);
    follower.expect(
        0,
        "",
        "
        goal: stepped: started <date>, <duration> so far, running, log .goal/logs/<run>/001-stepped.log
        goal: stepped: <duration>, failed (status 5)
        ",
    );
    finish(run).status(1);
}

#[test]
fn follow_ends_when_the_writing_goal_is_gone() {
    let project = Project::new().goalfile(
        r#"
goal stuck { run "echo $$ > shell; echo waiting; sleep 30" }
"#,
    );
    let run = project
        .command(&["stuck"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually("the recipe started", || project.exists("shell"));
    let mut follower = project
        .command(&["log", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(follower.stdout.take().unwrap());
    assert_eq!(next_line(&mut stdout), "waiting\n");
    kill("KILL", &run.id().to_string());
    finish(run);
    finish(follower).expect(
        0,
        "",
        "
        goal: stuck: started <date>, <duration> so far, running, log .goal/logs/<run>/001-stuck.log
        goal: stuck: interrupted
        ",
    );
    kill_recipe(&project.read("shell"));
}

#[test]
fn follow_on_a_finished_run_prints_it_and_ends() {
    let project = Project::new().goalfile(r#"goal done { run "echo all done" }"#);
    project.goal(&["done"]).expect(
        0,
        "all done\n",
        "
        goal: start done
        goal: done  done (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["log", "--follow", "done"]).expect(
        0,
        "all done\n",
        "goal: done: started <date>, <duration>, ok, log .goal/logs/<run>/001-done.log\n",
    );
}

#[test]
fn old_runs_are_pruned_and_a_run_that_reaches_everything_leaves_no_log() {
    let project = Project::new().goalfile(
        r#"
goal ran { run "echo ran" }
goal reached {
    target { file-exists "Goalfile" }
    run "echo never"
}
"#,
    );
    project.write(".goal/logs/notes/kept.txt", "not goal's");
    project.goal(&["reached"]).expect(
        0,
        "",
        "
        goal: reached reached
        goal: summary: 0 ran, 1 already reached (<duration>)
        ",
    );
    project.goal(&["--dry-run", "ran"]).expect(
        1,
        "would fire: ran  (it has no target)\n",
        "goal: summary: 1 would fire, 0 may fire, 0 already reached (<duration>)\n",
    );
    assert!(invocations(&project)
        .iter()
        .all(|dir| dir.ends_with("notes")));
    let first = {
        project.goal(&["ran"]).expect(
            0,
            "ran\n",
            "
            goal: start ran
            goal: done  ran (<duration>)
            goal: summary: 1 ran, 0 already reached (<duration>)
            ",
        );
        invocations(&project)[0].clone()
    };
    for _ in 0..52 {
        project.goal(&["ran"]).expect(
            0,
            "ran\n",
            "
            goal: start ran
            goal: done  ran (<duration>)
            goal: summary: 1 ran, 0 already reached (<duration>)
            ",
        );
    }
    let dirs = invocations(&project);
    assert_eq!(dirs.len(), 51, "50 runs and notes/");
    assert!(!first.exists(), "the oldest run is pruned");
    assert!(project.exists(".goal/logs/notes/kept.txt"));
    assert_eq!(
        project
            .goal(&["status", "-c", "1000"])
            .stdout
            .lines()
            .count(),
        50
    );
}

#[test]
fn a_recipe_writing_megabytes_to_both_streams_does_not_block() {
    let project = Project::new().goalfile(
        r#"
goal loud {
    run "(yes err | head -c 3000000 >&2) & yes out | head -c 5000000; wait"
}
"#,
    );
    let out = project.goal(&["loud"]);
    out.success();
    assert_eq!(out.stdout.len(), 5_000_000);
    assert_eq!(out.stderr.matches("err\n").count(), 750_000);
    let log = read(&log_files(&project)[0]);
    assert_eq!(log.len(), 8_000_000);
    assert_eq!(log.matches("out\n").count(), 1_250_000);
    assert_eq!(log.matches("err\n").count(), 750_000);
}

#[test]
fn a_recipe_that_closes_its_output_early_is_still_waited_for() {
    let project = Project::new().goalfile(
        r#"
goal closed { run "echo before; echo said >&2; exec >&- 2>&-; sleep 0.2; touch finished" }
"#,
    );
    project.goal(&["closed"]).expect(
        0,
        "before\n",
        "
            goal: start closed
            said
            goal: done  closed (<duration>)
            goal: summary: 1 ran, 0 already reached (<duration>)
            ",
    );
    assert!(
        project.exists("finished"),
        "goal went on before the recipe ended"
    );
    assert_eq!(read(&log_files(&project)[0]), "before\nsaid\n");
}

#[test]
fn a_process_left_in_the_background_does_not_hold_the_run() {
    let project = Project::new().goalfile(
        r#"
goal started { run "sleep 30 & echo $! > sleeper; echo started" }
"#,
    );
    project.goal(&["started"]).expect(
        0,
        "started\n",
        "
        goal: start started
        goal: done  started (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    let sleeper = project.read("sleeper");
    // goal ended while the background sleep, which holds the recipe's output, still runs.
    assert!(Path::new(&format!("/proc/{}", sleeper.trim())).exists());
    kill("KILL", &sleeper);
    assert_eq!(read(&log_files(&project)[0]), "started\n");
}

#[test]
fn hostile_parameter_values_give_safe_log_names() {
    let project = Project::new().goalfile(
        r#"
goal echoed value { run "echo {value}" }
"#,
    );
    let hostile = "../../etc/x y'\"$(touch pwned)\n/";
    project
        .goal(&["echoed", &format!("value={hostile}")])
        .expect(
            0,
            r#"
            ../../etc/x y'"$(touch pwned)
            /
            "#,
            r#"
            goal: start echoed value='../../etc/x y'\''"$(touch pwned)
            /'
            goal: done  echoed value='../../etc/x y'\''"$(touch pwned)
            /' (<duration>)
            goal: summary: 1 ran, 0 already reached (<duration>)
            "#,
        );
    assert!(!project.exists("pwned"));
    let files = log_files(&project);
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._=-".contains(c)),
        "{name}"
    );
    assert!(name.starts_with("001-echoed_value="), "{name}");
    project
        .goal(&["log", "echoed", &format!("value={hostile}")]).expect(0, r#"
            ../../etc/x y'"$(touch pwned)
            /
            "#, r#"
            goal: echoed value='../../etc/x y'\''"$(touch pwned)
            /': started <date>, <duration>, ok, log .goal/logs/<run>/001-echoed_value=_.._.._etc_x_y_touch_pwned.log
            "#);
    project.goal(&["status"]).expect(
        0,
        r#"
        <date>  <duration>  ok  echoed value='../../etc/x y'\''"$(touch pwned)
        /'
        "#,
        "",
    );
}

#[test]
fn logs_that_cannot_be_written_do_not_stop_the_run() {
    let project = Project::new()
        .goalfile(r#"goal talked { run "echo still here" }"#)
        .file(".goal/logs", "a file where the logs' directory should be");
    project
        .goal(&["talked"]).expect(0, "still here\n", "
            goal: start talked
            goal: warning: not keeping logs of this run's recipes: cannot write in .goal/logs: File exists (os error 17)
            goal: done  talked (<duration>)
            goal: summary: 1 ran, 0 already reached (<duration>)
            ");
}

#[test]
fn nothing_recorded_is_a_clear_problem() {
    let project = Project::new().goalfile(
        r#"
goal built pkg { run "echo {pkg}" }
goal reached {
    target { file-exists "Goalfile" }
    run "echo never"
}
"#,
    );
    project.goal(&["log"]).expect(
        1,
        "",
        "
            goal::no-log

              × no recipe run is recorded in .goal/logs
              help: a run of goal keeps the output of every recipe it runs
            ",
    );
    project
        .goal(&["status"])
        .expect(0, "", "goal: no recipe run is recorded in .goal/logs\n");
    project.goal(&["built", "pkg=a"]).expect(
        0,
        "a\n",
        "
        goal: start built pkg=a
        goal: done  built pkg=a (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project
        .goal(&["log", "built", "pkg=b"]).expect(1, "", "
            goal::no-log

              × no recipe run of `built pkg=b` is recorded in .goal/logs
              help: `goal status` lists the recorded runs; a goal already reached runs no recipe, and only the
                    last 50 runs of goal are kept
            ");
    project
        .goal(&["log", "reached"]).expect(1, "", "
            goal::no-log

              × no recipe run of `reached` is recorded in .goal/logs
              help: `goal status` lists the recorded runs; a goal already reached runs no recipe, and only the
                    last 50 runs of goal are kept
            ");
}

#[test]
fn a_removed_or_unreadable_log_is_a_clear_problem() {
    let project = Project::new().goalfile(r#"goal talked { run "echo hi" }"#);
    project.goal(&["talked"]).expect(
        0,
        "hi\n",
        "
        goal: start talked
        goal: done  talked (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    let file = log_files(&project).remove(0);
    fs::remove_file(&file).unwrap();
    project.goal(&["log", "talked"]).expect(
        1,
        "",
        "
            goal::no-log

              × the log of `talked` (.goal/logs/<run>/001-talked.log) has been removed
              help: `goal status` lists the recipe runs still recorded
            ",
    );
    fs::create_dir(&file).unwrap();
    // The message names a path with the run's pid in it, and is wrapped by its length: the
    // line breaks move with the pid's digits, so the words are looked for.
    project
        .goal(&["log", "talked"])
        .status(1)
        .stdout_is("")
        .stderr_has("goal::log-io")
        .stderr_has("001-talked.log: Is a directory");
    let index = invocations(&project)[0].join("index");
    fs::remove_file(&index).unwrap();
    fs::create_dir(&index).unwrap();
    project
        .goal(&["status"])
        .status(1)
        .stdout_is("")
        .stderr_has("goal::log-io")
        .stderr_has("/index: Is a directory");
}

#[test]
fn a_log_that_cannot_be_printed_is_a_clear_problem() {
    let project = Project::new().goalfile(r#"goal talked { run "echo hi" }"#);
    project.goal(&["talked"]).expect(
        0,
        "hi\n",
        "
        goal: start talked
        goal: done  talked (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    let full = fs::File::create("/dev/full").unwrap();
    let out = Run::from(
        project
            .command(&["log"])
            .stdout(full)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap(),
    );
    out.expect(
        1,
        "",
        "
        goal: talked: started <date>, <duration>, ok, log .goal/logs/<run>/001-talked.log
        goal::log-io

          × cannot write to standard output: No space left on device (os error 28)
        ",
    );
}

#[test]
fn goal_log_names_one_goal_as_goal_does() {
    let project = Project::new().goalfile(r#"goal built pkg { run "echo {pkg}" }"#);
    project
        .goal(&["log", "built", "other"]).expect(2, "", "
            error: invalid value 'other' for '[NAME=VALUE]...': expected NAME=VALUE: `goal log` shows one goal's runs

            For more information, try '--help'.
            ");
    project.goal(&["log", "biult", "pkg=a"]).expect(
        2,
        "",
        "
            goal::unknown-goal

              × there is no goal `biult` in the Goalfile
              help: did you mean `built`?
            ",
    );
    project.goal(&["log", "built"]).expect(
        2,
        "",
        "
            goal::missing-param

              × `built` needs a value for its parameter `pkg`
              help: pass it as pkg=VALUE
            ",
    );
}

#[test]
fn a_goal_named_like_a_subcommand_is_refused_by_check_and_by_a_run() {
    let project = Project::new().goalfile(
        r#"
goal status { run "echo the goal status" }
goal status-report { run "echo a name that only begins like one is free" }
"#,
    );
    let refused = "
        goal::reserved-name

          × a goal cannot be named `status`: the name is reserved for `goal status`
           ╭─[Goalfile:2:6]
         1 │ 
         2 │ goal status { run \"echo the goal status\" }
           ·      ───┬──
           ·         ╰── reserved name
         3 │ goal status-report { run \"echo a name that only begins like one is free\" }
           ╰────
          help: `goal status` is goal's own command; rename the goal (say, `status-task`)
        ";
    project.goal(&["--check"]).expect(2, "", refused);
    project.goal(&["status-report"]).expect(2, "", refused);
    // The word still runs the command, whatever the Goalfile says.
    project
        .goal(&["status"])
        .expect(0, "", "goal: no recipe run is recorded in .goal/logs\n");
}

#[test]
fn names_kept_for_commands_to_come_are_refused_too() {
    let project = Project::new().goalfile("goal help\n");
    project.goal(&["--check"]).expect(
        2,
        "",
        "
        goal::reserved-name

          × a goal cannot be named `help`: the name is reserved for `goal help`
           ╭─[Goalfile:1:6]
         1 │ goal help
           ·      ──┬─
           ·        ╰── reserved name
           ╰────
          help: `goal help` is goal's own command; rename the goal (say, `help-task`)
        ",
    );
}

#[test]
fn run_flags_are_read_after_a_subcommand_and_status_counts_with_count() {
    let project = Project::new().goalfile(
        r#"
goal one { run "true" }
goal two { run "true" }
"#,
    );
    project.goal(&["one", "two"]).expect(
        0,
        "",
        "
        goal: start one
        goal: done  one (<duration>)
        goal: start two
        goal: done  two (<duration>)
        goal: summary: 2 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["status", "-c", "1", "-q"]).expect(
        0,
        "2026-12-04T13:37:17Z  0.00s  ok  two\n",
        "",
    );
    project
        .goal(&["status", "--count", "1", "-v"])
        .stdout_is("2026-12-04T13:37:17Z  0.00s  ok  two\n");
}

/// A tmpfs of `size` mounted on `dir` until dropped; `None` where mounting is not permitted.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        fs::create_dir_all(dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        mounted.then(|| SmallDisk(dir.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_disk_that_fills_up_loses_the_log_but_not_the_output() {
    let project = Project::new();
    let Some(_disk) = SmallDisk::mount(&project.path().join("small"), "64k") else {
        eprintln!("skipped: mounting a small tmpfs needs privileges this test does not have");
        return;
    };
    project.write(
        "small/Goalfile",
        r#"goal loud { run "yes out | head -c 1000000" }"#,
    );
    let out = project.goal(&["-C", "small", "loud"]);
    assert_eq!(out.stdout.len(), 1_000_000);
    out.success().stderr_is(
        "
        goal: start loud
        goal: warning: cannot write the log .goal/logs/<run>/001-loud.log: No space left on device (os error 28)
        goal: done  loud (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
}

#[test]
fn a_recipe_that_prints_nothing_leaves_no_file_yet_shows_as_logged() {
    let project = Project::new().goalfile(r#"goal quiet { run "true" }"#);
    project.goal(&["quiet"]).expect(
        0,
        "",
        "
        goal: start quiet
        goal: done  quiet (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    let logs: Vec<_> = walk(&project.path().join(".goal/logs"))
        .into_iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    assert!(logs.is_empty(), "{logs:?}");
    project.goal(&["log", "quiet"]).expect(
        0,
        "",
        "goal: quiet: started <date>, <duration>, ok, no output\n",
    );
    project
        .goal(&["status"])
        .expect(0, "<date>  <duration>  ok  quiet\n", "");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
