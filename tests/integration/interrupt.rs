//! Ctrl-C and SIGTERM stop a run cleanly: the running recipe's whole process group stops, the
//! Memory keeps every write, the exit status is 130, and the next run continues.

use crate::common;

use std::process::Child;
use std::time::{Duration, Instant};

use common::{alive, Project, Run};

fn signal(child: &Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_for_file(project: &Project, relative: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !project.exists(relative) {
        assert!(Instant::now() < deadline, "{relative} never appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The writer may not have finished the line yet.
    std::thread::sleep(Duration::from_millis(50));
}

fn gone_soon(pid: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn goalfile() -> &'static str {
    r#"
goal first {
    target { memory-exists "first" }
    memory-set "first" "done"
}
goal slow {
    target { file-exists "slow-done" }
    run "sleep 30 & echo $! > sleeper; echo $$ > shell; wait; touch slow-done"
}
goal all {
    require first
    require slow
    target { file-exists "all-done" }
    run "touch all-done"
}
"#
}

fn interrupt_with(signal_name: &str, args: &[&str]) {
    let project = Project::new().goalfile(goalfile());
    let mut child = project.command(args).spawn().unwrap();
    wait_for_file(&project, "sleeper");
    let started = Instant::now();
    signal(&child, signal_name);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{signal_name}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let sleeper = project.read("sleeper");
    let shell = project.read("shell");
    assert!(
        gone_soon(&sleeper),
        "the recipe's background sleep outlived goal"
    );
    assert!(gone_soon(&shell), "the recipe's shell outlived goal");
    assert!(!project.exists("slow-done"));
    assert!(
        !project.exists("all-done"),
        "nothing runs after an interruption"
    );
    // The Memory opens cleanly and kept what was written before.
    project
        .goal(&["memory", "get", "first"])
        .expect(0, "done\n", "");
    // Starting again continues: `first` is reached, `slow` runs again.
    std::fs::remove_file(project.path().join("sleeper")).unwrap();
    let mut again = project.command(args).spawn().unwrap();
    wait_for_file(&project, "sleeper");
    let sleeper = project.read("sleeper");
    // Let the slow recipe finish quickly this time.
    std::process::Command::new("kill")
        .arg(sleeper.trim())
        .status()
        .unwrap();
    let status = again.wait().unwrap();
    assert!(status.success());
    assert!(project.exists("all-done"));
}

#[test]
fn sigterm_stops_the_recipe_group_and_the_next_run_continues() {
    interrupt_with("TERM", &[]);
}

#[test]
fn with_j2_every_running_group_stops() {
    interrupt_with("TERM", &["-j2"]);
}

#[test]
fn sigint_stops_the_recipe_group_and_the_next_run_continues() {
    interrupt_with("INT", &[]);
}

#[test]
fn an_interrupted_run_says_so_and_how_to_continue() {
    let project = Project::new().goalfile(goalfile());
    let child = project
        .command(&["slow"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&project, "sleeper");
    signal(&child, "INT");
    let out = Run::from(child.wait_with_output().unwrap());
    // Where the signal lands in the recipe decides which lines come before these: only they are known.
    out.status(130)
        .stderr_has("goal: interrupted: stopping")
        .stderr_has("goal::interrupted")
        .stderr_has("run goal again to continue");
}

#[test]
fn a_second_interruption_ends_at_once() {
    let project = Project::new().goalfile(
        r#"
goal stubborn {
    run "trap '' TERM; echo $$ > shell; sleep 30; touch finished"
}
"#,
    );
    let mut child = project.command(&["stubborn"]).spawn().unwrap();
    wait_for_file(&project, "shell");
    signal(&child, "TERM");
    // The recipe ignores SIGTERM, so goal waits for it…
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "goal ended before the recipe"
    );
    // …until a second signal kills the group and ends goal.
    let started = Instant::now();
    signal(&child, "TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(gone_soon(&project.read("shell")));
    assert!(!project.exists("finished"));
}

/// The goal whose recipe was running is interrupted, not failed; a goal the run came to but
/// did not start is counted as not started; the grouping `all` is neither shown nor counted.
#[test]
fn the_summary_tells_interrupted_from_not_started() {
    let project = Project::new().goalfile(
        r#"
goal slow {
    run "echo $$ > shell; sleep 30"
}
goal after-slow {
    require slow
    run "touch after-slow"
}
goal all {
    require slow
    require after-slow
}
"#,
    );
    // With two jobs, the branch that reaches `after-slow` waits for `slow`, started by the
    // other: one recipe runs, so the output is known whole.
    let child = project
        .command(&["-j2"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_file(&project, "shell");
    signal(&child, "INT");
    Run::from(child.wait_with_output().unwrap()).expect(
        130,
        "",
        "
        goal: start slow
        goal: interrupted: stopping (interrupt again to stop at once)
        goal: interrupted slow (0.52s)
        goal: summary: 0 ran, 0 already reached, 1 interrupted, 1 not started (0.52s)
        goal: interrupted: slow
        goal::interrupted

          × interrupted
          help: run goal again to continue: whatever finished is found reached
        ",
    );
    assert!(!project.exists("after-slow"));
}
