//! Jobs without a daemon: `goal tick` runs the periodic jobs that are due and the when-jobs that
//! fire; `goal set`, `goal get` and `goal vars` handle the persistent variables; the `set`
//! statement; `goal job start` in the foreground.

use crate::common;

use common::Project;

#[test]
fn tick_runs_a_due_periodic_job_once_with_its_name_and_serial() {
    let project = Project::new().goalfile(
        r#"
every "1 hour" name="hourly" {
    run "echo $GOAL_JOB $GOAL_JOB_SERIAL >> ran.txt"
}
every cron="0 0 1 1 *" name="yearly" {
    run "echo yearly >> ran.txt"
}
"#,
    );
    project.goal(&["tick"]).expect(
        0,
        "",
        "
        goal: start every hourly
        goal: done  every hourly (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.lines("ran.txt"), ["hourly 1"]);
    // Not due again for an hour; the cron job waits for its time.
    project.goal(&["tick"]).expect(0, "", "");
    assert_eq!(project.lines("ran.txt"), ["hourly 1"]);
    project
        .goal(&["memory", "get", "goal/serial"])
        .expect(0, "1\n", "");
}

#[test]
fn a_failing_job_makes_tick_fail_and_the_next_tick_waits_for_its_deadline() {
    let project = Project::new().goalfile(
        r#"
every "1 hour" name="broken" { run "echo trying >> tries.txt; exit 3" }
every "1 hour" name="fine" { run "echo fine >> fine.txt" }
"#,
    );
    project.goal(&["tick"]).expect(
        1,
        "",
        r#"
            goal: start every broken
            goal: FAILED every broken (<duration>)
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: every broken
            goal::recipe-failed

              × `every broken` failed: its recipe exited with status 3
               ╭─[/tmp/project/Goalfile:2:32]
             1 │
             2 │ every "1 hour" name="broken" { run "echo trying >> tries.txt; exit 3" }
               ·                                ───────────────────┬───────────────────
               ·                                                   ╰── this recipe
             3 │ every "1 hour" name="fine" { run "echo fine >> fine.txt" }
               ╰────
            goal: start every fine
            goal: done  every fine (<duration>)
            goal: summary: 1 ran, 0 already reached (<duration>)
            "#,
    );
    // The next job still ran.
    assert_eq!(project.lines("fine.txt"), ["fine"]);
    project.goal(&["tick"]).expect(0, "", "");
    assert_eq!(project.lines("tries.txt"), ["trying"]);
}

const RELEASE: &str = r##"
var version default="0.0.0" pattern=#"\d+\.\d+\.\d+"# doc="the version to release"

when "release" {
    condition { changed version }
    run "echo {version} >> released.txt"
}
"##;

#[test]
fn goal_set_fires_a_when_job_once_per_change() {
    let project = Project::new().goalfile(RELEASE);
    project.goal(&["set", "version=1.0.0"]).expect(
        0,
        "",
        "
        goal: start when release
        goal: done  when release (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.lines("released.txt"), ["1.0.0"]);
    // The same value again: nothing changed since the job last ran.
    project.goal(&["set", "version=1.0.0"]).expect(0, "", "");
    assert_eq!(project.lines("released.txt"), ["1.0.0"]);
    project.goal(&["set", "version=1.1.0"]).expect(
        0,
        "",
        "
        goal: start when release
        goal: done  when release (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.lines("released.txt"), ["1.0.0", "1.1.0"]);
    project.goal(&["get", "version"]).expect(0, "1.1.0\n", "");
}

#[test]
fn whisper_and_test_fire_nothing() {
    let project = Project::new().goalfile(RELEASE);
    project
        .goal(&["set", "--whisper", "version=2.0.0"])
        .expect(0, "", "");
    assert!(project.lines("released.txt").is_empty());
    project
        .goal(&["set", "--test", "version=3.0.0"])
        .expect(0, "would fire: when release\n", "");
    assert!(project.lines("released.txt").is_empty());
    project.goal(&["get", "version"]).expect(0, "2.0.0\n", "");
    // The whispered change is still a change for the job, seen at the next evaluation.
    project.goal(&["tick"]).expect(
        0,
        "",
        "
        goal: start when release
        goal: done  when release (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.lines("released.txt"), ["2.0.0"]);
    project
        .goal(&["set", "--test", "version=2.0.0"])
        .expect(0, "no when job would fire\n", "");
}

#[test]
fn increased_and_decreased_compare_as_versions_with_the_last_run() {
    let project = Project::new().goalfile(
        r#"
var v default="1.0"

when "up" {
    condition { increased v }
    run "echo up {v} >> moves.txt"
}

when "down" {
    condition { decreased v }
    run "echo down {v} >> moves.txt"
}
"#,
    );
    project.goal(&["set", "v=1.9"]).expect(
        0,
        "",
        "
        goal: start when up
        goal: done  when up (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["set", "v=1.10"]).expect(
        0,
        "",
        "
        goal: start when up
        goal: done  when up (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    // Each job compares with its own last run: `down` never ran, so with the default, 1.0.
    project.goal(&["set", "v=1.2"]).expect(0, "", "");
    project.goal(&["set", "v=0.5"]).expect(
        0,
        "",
        "
        goal: start when down
        goal: done  when down (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(
        project.lines("moves.txt"),
        ["up 1.9", "up 1.10", "down 0.5"]
    );
}

#[test]
fn a_when_job_fires_when_its_condition_turns_true_not_while_it_stays_true() {
    let project = Project::new().goalfile(
        r#"
when "flagged" {
    condition { file-exists "flag" }
    run "echo fired >> fired.txt"
}
"#,
    );
    project.goal(&["tick"]).expect(0, "", "");
    assert!(project.lines("fired.txt").is_empty());
    project.write("flag", "");
    project.goal(&["tick"]).expect(
        0,
        "",
        "
        goal: start when flagged
        goal: done  when flagged (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["tick"]).expect(0, "", "");
    assert_eq!(project.lines("fired.txt"), ["fired"]);
    std::fs::remove_file(project.path().join("flag")).unwrap();
    project.goal(&["tick"]).expect(0, "", "");
    project.write("flag", "");
    project.goal(&["tick"]).expect(
        0,
        "",
        "
        goal: start when flagged
        goal: done  when flagged (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.lines("fired.txt"), ["fired", "fired"]);
}

#[test]
fn set_checks_every_name_and_value_before_setting_any() {
    let project = Project::new().goalfile(RELEASE);
    project
        .goal(&["set", "version=1.0.0", "versoin=2", "version=banana"])
        .expect(
            2,
            "",
            "
            goal::unknown-variable

              × there is no variable `versoin` in the Goalfile
              help: did you mean `version`?
            goal::assignment

              × `version` is given twice
            2 errors
            ",
        );
    project.goal(&["set", "version=banana"]).expect(
        2,
        "",
        r##"
            goal::pattern-mismatch

              × the value "banana" of the variable `version` does not match its pattern
               ╭─[/tmp/project/Goalfile:2:37]
             1 │
             2 │ var version default="0.0.0" pattern=#"\d+\.\d+\.\d+"# doc="the version to release"
               ·                                     ────────┬────────
               ·                                             ╰── the pattern it must match
             3 │
               ╰────
            "##,
    );
    project.goal(&["set", "version"]).expect(
        2,
        "",
        "
            goal::assignment

              × `version` is not NAME=VALUE
              help: write each variable as NAME=VALUE: goal set version=1.2
            ",
    );
    project.goal(&["get", "version"]).expect(0, "0.0.0\n", "");
    project.goal(&["get", "nothing"]).expect(
        2,
        "",
        "
            goal::unknown-variable

              × there is no variable `nothing` in the Goalfile
              help: `goal vars` lists the variables
            ",
    );
    assert!(project.lines("released.txt").is_empty());
}

#[test]
fn vars_lists_values_defaults_and_docs() {
    let project = Project::new().goalfile(
        r#"
var version default="0.0.0" doc="the version to release"
var channel default="stable"
"#,
    );
    project.goal(&["set", "channel=beta"]).expect(0, "", "");
    project.goal(&["vars"]).expect(
        0,
        r#"
        version = "0.0.0"  # default; the version to release
        channel = "beta"
        "#,
        "",
    );
}

#[test]
fn templates_read_variables_and_the_set_statement_changes_them() {
    let project = Project::new().goalfile(
        r#"
var counter default="1"

goal bumped {
    run "echo before {counter} >> seen.txt"
    set counter="2"
    run "echo after {counter} $counter >> seen.txt"
}

when "watch" {
    condition { changed counter }
    run "echo changed to {counter} >> seen.txt"
}
"#,
    );
    project.goal(&["bumped"]).expect(
        0,
        "",
        "
        goal: start bumped
        goal: done  bumped (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.lines("seen.txt"), ["before 1", "after 2 2"]);
    project.goal(&["get", "counter"]).expect(0, "2\n", "");
    // Without a daemon, the when-job sees the change at the next evaluation.
    project.goal(&["tick"]).expect(
        0,
        "",
        "
        goal: start when watch
        goal: done  when watch (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(
        project.lines("seen.txt"),
        ["before 1", "after 2 2", "changed to 2"]
    );
    // A dry run sets nothing.
    project.write(
        "Goalfile",
        &project
            .read("Goalfile")
            .replace(r#"set counter="2""#, r#"set counter="3""#),
    );
    project.goal(&["--dry-run", "bumped"]).expect(
        1,
        "would fire: bumped  (it has no target)\n",
        "goal: summary: 1 would fire, 0 may fire, 0 already reached (<duration>)\n",
    );
    project.goal(&["get", "counter"]).expect(0, "2\n", "");
}

#[test]
fn a_when_job_that_sets_a_variable_fires_the_next_one() {
    let project = Project::new().goalfile(
        r#"
var tag default=""
var version default=""

when "parse-tag" {
    condition { changed tag }
    set version="{tag|trim-prefix:v}"
}

when "release" {
    condition { changed version }
    run "echo release {version} >> released.txt"
}
"#,
    );
    project.goal(&["set", "tag=v1.2.3"]).expect(
        0,
        "",
        "
        goal: start when parse-tag
        goal: done  when parse-tag (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        goal: start when release
        goal: done  when release (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.lines("released.txt"), ["release 1.2.3"]);
}

#[test]
fn job_start_runs_a_job_here_without_a_daemon() {
    let project = Project::new().goalfile(RELEASE);
    project
        .goal(&["set", "--whisper", "version=4.0.0"])
        .expect(0, "", "");
    project.goal(&["job", "start", "release"]).expect(
        0,
        "",
        "
        goal: start when release
        goal: done  when release (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.lines("released.txt"), ["4.0.0"]);
    // That run counts as the job's last run: nothing changed since.
    project.goal(&["tick"]).expect(0, "", "");
    assert_eq!(project.lines("released.txt"), ["4.0.0"]);
    project.goal(&["job", "start", "relaese"]).expect(
        2,
        "",
        "
            goal::unknown-job

              × there is no job `relaese` in the Goalfile
              help: did you mean `release`?
            ",
    );
    project.goal(&["jobs", "--names"]).expect(
        0,
        "
            NAME     RUNS
            release  when its condition turns true
            ",
        "",
    );
}

#[test]
fn orders_for_a_daemon_say_when_none_runs() {
    let project = Project::new().goalfile(RELEASE);
    for order in [
        &["jobs"][..],
        &["job", "cancel", "3"],
        &["daemon", "status"],
        &["daemon", "stop"],
    ] {
        project.goal(order).expect(
            1,
            "",
            "
                goal::no-daemon

                  × no goal daemon runs for this project
                  help: start one with `goal daemon`
                ",
        );
    }
    project.goal(&["job", "tail", "7"]).expect(
        2,
        "",
        "
            goal::unknown-serial

              × no output of a job run 7 in .goal/jobs/7.log
              help: `goal jobs` lists the running jobs; the daemon keeps the last 200 runs' output
            ",
    );
    project
        .goal(&["jobs", "--ended"])
        .expect(0, "no job run of the daemon has ended yet\n", "");
}

#[test]
fn tick_can_skip_a_missed_firing() {
    let project = Project::new()
        .goalfile(r#"every "1 hour" name="hourly" { run "echo fired >> fired.txt" }"#);
    project.goal(&["tick"]).expect(
        0,
        "",
        "
        goal: start every hourly
        goal: done  every hourly (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project.set_last_firing("hourly", std::time::Duration::from_secs(3 * 3600));
    project.goal(&["tick", "--skip-missed"]).expect(0, "", "");
    assert_eq!(project.lines("fired.txt"), ["fired"]);
    project.goal(&["tick"]).expect(
        0,
        "",
        "
        goal: start every hourly
        goal: done  every hourly (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.lines("fired.txt"), ["fired", "fired"]);
}

#[test]
fn list_shows_the_variables_and_the_jobs() {
    let project = Project::new().goalfile(RELEASE);
    project.goal(&["--list"]).expect(
        0,
        r#"
            Goals:
            Variables (goal set NAME=VALUE):
                version="0.0.0"  # the version to release
            Jobs (goal daemon, goal tick):
                release  # when its condition turns true
            "#,
        "",
    );
}

#[test]
fn a_job_entry_spoilt_by_hand_is_named_with_the_way_out() {
    let project = Project::new().goalfile(r#"every "1 hour" name="hourly" { run "true" }"#);
    project
        .goal(&["memory", "set", "goal/every/hourly", "yesterday"])
        .expect(0, "", "");
    project
        .goal(&["tick"]).expect(1, "", r#"
            goal::job-state

              × the Memory's entry `goal/every/hourly` should be a number, but is "yesterday"
              help: it is goal's own; `goal memory delete goal/every/hourly` makes goal start it afresh
            "#);
    project
        .goal(&["memory", "delete", "goal/every/hourly"])
        .expect(0, "", "");
    project.goal(&["tick"]).expect(
        0,
        "",
        "
        goal: start every hourly
        goal: done  every hourly (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
}

/// A job run the daemon recorded: its output and how it ended.
fn recorded_run(project: &Project, serial: u64, output: Option<&[u8]>) {
    let jobs = project.path().join(".goal/jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    let log = jobs.join(format!("{serial}.log"));
    match output {
        Some(bytes) => std::fs::write(log, bytes).unwrap(),
        None => std::fs::create_dir(log).unwrap(),
    }
    let ended = "ok\tevery hourly\t2026-11-23T10:00:00Z\t1s\n";
    std::fs::write(jobs.join(format!("{serial}.end")), ended).unwrap();
}

#[test]
fn job_tail_gives_a_runs_output_byte_for_byte() {
    let project = Project::new().goalfile(r#"every "1 hour" name="hourly" { run "true" }"#);
    // Latin-1 and a stray byte: a job's commands may print anything.
    let output = b"caf\xe9 \xff\nnext line\n";
    recorded_run(&project, 3, Some(output));
    let run = project
        .command(&["job", "tail", "3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        run.stdout,
        [&output[..], b"goal: job 3 ended: ok\n"].concat(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn job_tail_says_when_a_runs_output_cannot_be_read() {
    let project = Project::new().goalfile(r#"every "1 hour" name="hourly" { run "true" }"#);
    recorded_run(&project, 4, None);
    project.goal(&["job", "tail", "4"]).expect(
        1,
        "",
        "
            goal::job-log

              × cannot read .goal/jobs/4.log: Is a directory (os error 21)
            ",
    );
}

/// Every entry of the Memory, as `goal memory list` prints them.
fn memory_entries(project: &Project) -> String {
    let listing = project.goal(&["memory", "list"]);
    listing.success();
    listing.stdout.clone()
}

#[test]
fn a_dry_run_tick_says_what_would_fire_and_writes_nothing() {
    let project = Project::new().goalfile(&format!(
        "{RELEASE}\nevery \"1 hour\" name=\"hourly\" {{ run \"echo hourly >> hourly.txt\" }}\n"
    ));
    project
        .goal(&["set", "--whisper", "version=1.0.0"])
        .expect(0, "", "");
    let before = memory_entries(&project);
    project.goal(&["-n", "tick"]).expect(
        1,
        "would fire: every hourly\nwould fire: when release\n",
        "",
    );
    assert_eq!(memory_entries(&project), before);
    assert!(project.lines("hourly.txt").is_empty());
    assert!(project.lines("released.txt").is_empty());
    // The firings a dry run saw are still there for the real tick.
    project.goal(&["tick"]).expect(
        0,
        "",
        "
        goal: start every hourly
        goal: done  every hourly (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        goal: start when release
        goal: done  when release (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.lines("hourly.txt"), ["hourly"]);
    assert_eq!(project.lines("released.txt"), ["1.0.0"]);
    project
        .goal(&["-n", "tick"])
        .expect(0, "no job would fire\n", "");
}

#[test]
fn a_dry_run_set_is_set_test() {
    let project = Project::new().goalfile(RELEASE);
    let before = memory_entries(&project);
    project
        .goal(&["-n", "set", "version=3.0.0"])
        .expect(0, "would fire: when release\n", "");
    project
        .goal(&["-n", "set", "--whisper", "version=3.0.0"])
        .expect(0, "would fire: when release\n", "");
    assert_eq!(memory_entries(&project), before);
    assert!(project.lines("released.txt").is_empty());
    project.goal(&["get", "version"]).expect(0, "0.0.0\n", "");
}

#[test]
fn commands_that_change_things_refuse_a_dry_run() {
    let project = Project::new().goalfile(&format!(
        "{RELEASE}\nevery \"1 hour\" name=\"hourly\" {{ run \"echo hourly >> hourly.txt\" }}\n"
    ));
    let refusal = |name: &str, help: &str| {
        format!(
            "goal::no-dry-run\n\n  × `{name}` changes things: it has no dry run (-n, --dry-run)\n  help: run it without -n; {help}\n"
        )
    };
    project.goal(&["-n", "daemon"]).expect(
        2,
        "",
        &refusal(
            "goal daemon",
            "`goal -n tick` says which jobs would fire now, without running them",
        ),
    );
    project.goal(&["-n", "daemon", "stop"]).expect(
        2,
        "",
        &refusal(
            "goal daemon stop|reload",
            "`goal daemon status` says what the daemon is doing",
        ),
    );
    project.goal(&["-n", "job", "start", "hourly"]).expect(
        2,
        "",
        &refusal(
            "goal job start",
            "`goal -n tick` says which jobs would fire now",
        ),
    );
    project.goal(&["-n", "job", "cancel", "1"]).expect(
        2,
        "",
        &refusal("goal job cancel", "`goal jobs` lists the running jobs"),
    );
    for order in [&["set", "key", "value"][..], &["delete", "key"]] {
        let command: Vec<&str> = ["-n", "memory"].iter().chain(order).copied().collect();
        project.goal(&command).expect(
            2,
            "",
            &refusal(
                "goal memory set|delete",
                "`goal memory get` and `goal memory list` only read",
            ),
        );
    }
    assert_eq!(memory_entries(&project), "");
    assert!(project.lines("hourly.txt").is_empty());
    // Commands that only read take -n and do what they always do.
    project
        .goal(&["-n", "get", "version"])
        .expect(0, "0.0.0\n", "");
    project.goal(&["-n", "memory", "list"]).expect(0, "", "");
}

#[test]
fn a_seconds_cron_job_fires_again_and_again_under_tick() {
    let project = Project::new()
        .goalfile(r#"every cron="*/2 * * * * *" name="often" { run "echo fired >> fired.txt" }"#);
    // Ticks as a timer would call them, until the job has fired twice; each tick is short.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while project.lines("fired.txt").len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the cron job fired {} times in 30s",
            project.lines("fired.txt").len()
        );
        project.goal(&["tick"]).success();
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
