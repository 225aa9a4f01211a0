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
    project.goal(&[]).expect(
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
