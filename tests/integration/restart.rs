//! Killing `goal` at any point and starting it again continues: every finished goal is found
//! reached, nothing is redone, and the Memory opens cleanly after every kill.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::Project;

const STEPS: usize = 8;

fn goalfile() -> String {
    let steps: Vec<String> = (1..=STEPS).map(|n| format!("\"{n}\"")).collect();
    format!(
        r#"
goal step n {{
    target {{ memory-exists "step-{{n}}" }}
    run "echo {{n}} >> log; sleep 0.15; touch made-{{n}}"
    memory-set "step-{{n}}" "done"
}}
goal all {{
    for n {} {{ require step n="{{n}}" }}
    target {{ file-exists "final" }}
    run "touch final"
}}
"#,
        steps.join(" ")
    )
}

fn remembered(project: &Project) -> BTreeSet<String> {
    let out = project.goal(&["memory", "list", "step-"]);
    out.success();
    out.stdout
        .lines()
        .map(|line| {
            line.split('\t')
                .next()
                .unwrap()
                .trim_start_matches("step-")
                .to_string()
        })
        .collect()
}

#[test]
fn sigkill_at_any_point_then_restart_completes_without_redoing_finished_goals() {
    let project = Project::new().goalfile(&goalfile());
    for delay_ms in [100, 250, 420, 90, 600] {
        let before = remembered(&project);
        let log_before = std::fs::read_to_string(project.path().join("log")).unwrap_or_default();
        let mut child = project.command(&["-q"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let log_after = std::fs::read_to_string(project.path().join("log")).unwrap_or_default();
        let started_again: Vec<&str> = log_after[log_before.len()..].lines().collect();
        for n in &started_again {
            assert!(
                !before.contains(*n),
                "step {n} was finished before this run, yet ran again"
            );
        }
        // Every finished step left its file; every remembered step finished.
        for n in remembered(&project) {
            assert!(
                project.exists(&format!("made-{n}")),
                "step {n} remembered but not made"
            );
        }
    }
    // The last kill may have left its recipe running (it sleeps a moment), which this run stops
    // first, with a warning naming its process group: that line comes or not with the timing.
    let mut last = project.goal(&[]);
    last.stderr = last
        .stderr
        .lines()
        .filter(|line| !line.starts_with("goal: warning: stopping process group "))
        .map(|line| format!("{line}\n"))
        .collect();
    last.expect(
        0,
        "",
        "
        goal: start step n=7
        goal: done  step n=7 (<duration>)
        goal: start step n=8
        goal: done  step n=8 (<duration>)
        goal: start all
        goal: done  all (<duration>)
        goal: summary: 3 ran, 6 already reached (<duration>)
        ",
    );
    assert_eq!(remembered(&project).len(), STEPS);
    assert!(project.exists("final"));
    project.goal(&[]).expect(
        0,
        "",
        "
            goal: reached all
            goal: summary: 0 ran, 9 already reached (<duration>)
            ",
    );
}

/// SIGKILL leaves the running recipe going by itself; the next run stops it before it starts
/// that recipe again, so the two never run side by side.
#[test]
fn the_next_run_stops_the_recipe_a_killed_run_left_running() {
    let project = Project::new().goalfile(
        r#"
goal slow {
    target { file-exists "done" }
    run "if [ -e started ]; then touch done; else echo $$ > started; sleep 30; touch late; fi"
}
"#,
    );
    let mut killed = project.command(&["slow"]).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let started = project.path().join("started");
    while std::fs::read_to_string(&started).map_or(true, |pid| !pid.ends_with('\n')) {
        assert!(
            std::time::Instant::now() < deadline,
            "the recipe never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    let left = project.read("started").trim().to_string();
    assert!(common::alive(&left), "the recipe went with its goal");
    // The killed run's Memory socket, in a directory made for it, is left behind too.
    let lock = project.read(".goal/run.lock");
    let socket = std::path::PathBuf::from(lock.lines().nth(1).expect("the socket's line"));
    let socket_dir = socket.parent().unwrap().to_path_buf();
    assert!(socket.exists());
    project.goal(&["slow"]).expect(
        0,
        "",
        &format!(
            "
            goal: warning: stopping process group {left}: a recipe that a killed goal run left running
            goal: start slow
            goal: done  slow (<duration>)
            goal: summary: 1 ran, 0 already reached (<duration>)
            "
        ),
    );
    // Stopped, though init may take a moment to collect it.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while common::alive(&left) {
        assert!(
            std::time::Instant::now() < deadline,
            "the recipe still runs"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!project.exists("late"));
    assert!(!socket_dir.exists(), "{} is left", socket_dir.display());
}

/// A lock left naming a socket that a live run still answers on is not a killed run's: a `goal`
/// run inside another's recipe, on the same Memory, names the outer run's socket. Its recipes
/// and its socket are left alone.
#[test]
fn a_socket_a_live_run_answers_on_is_not_a_killed_runs() {
    let outer = Project::new().goalfile(
        r#"
goal slow {
    target { file-exists "done" }
    run "touch started && sleep 2 && touch done"
}
"#,
    );
    let running = outer
        .command(&["-q", "slow"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !outer.exists("started") {
        assert!(
            std::time::Instant::now() < deadline,
            "the recipe never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let socket = outer
        .read(".goal/run.lock")
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    // Another project's lock, left by a run that was killed while it used the outer one's
    // socket (pid 1 is never a goal run).
    let inner = Project::new()
        .goalfile("goal all { run \"true\" }\n")
        .file(".goal/run.lock", &format!("1\n{socket}\n"));
    inner.goal(&["-q"]).expect(0, "", "");
    assert!(std::path::Path::new(&socket).exists());
    let ended = running.wait_with_output().unwrap();
    common::Run::from(ended).expect(0, "", "");
    assert!(outer.exists("done"));
}
