//! `goal daemon` runs the jobs: periodic ones on their schedule, when-jobs on their condition,
//! and takes orders (`goal jobs`, `goal job start|cancel|tail`, `goal daemon status|stop|reload`)
//! on its socket. Every test runs the real binary with the real Memory, with intervals of a
//! second or two, and waits for what it expects with generous deadlines instead of sleeping
//! for fixed times.

use crate::common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{alive, Project};

/// A daemon running in a project; stopped (or killed) when dropped, so no test leaves one.
pub(crate) struct Daemon {
    child: Child,
}

impl Daemon {
    pub(crate) fn start(project: &Project) -> Daemon {
        let started = |project: &Project| log(project).matches(" started (pid").count();
        let before = started(project);
        let child = project
            .command(&["daemon", "--log", "daemon.log"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the daemon");
        let daemon = Daemon { child };
        wait_until("the daemon to start", || started(project) > before);
        daemon
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        common::terminate(&mut self.child);
    }
}

fn log(project: &Project) -> String {
    std::fs::read_to_string(project.path().join("daemon.log")).unwrap_or_default()
}

pub(crate) fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

const POLLING: &str = r#"
goal tested commit {
    target { memory-exists "tested-{commit}" }
    run "echo {commit} >> tested.txt; echo job=$GOAL_JOB serial=$GOAL_JOB_SERIAL >> env.txt"
    memory-set "tested-{commit}" "yes"
}

every "1s" name="poll" {
    let commit output="cat head"
    require tested commit="{commit}"
}
"#;

#[test]
fn a_periodic_job_fires_again_and_its_memoized_goal_runs_once_per_value() {
    let project = Project::new().goalfile(POLLING).file("head", "aaa\n");
    let daemon = Daemon::start(&project);
    wait_until("the first commit to be tested", || {
        project.lines("tested.txt") == ["aaa"]
    });
    // More firings with the same commit test nothing.
    wait_until("three firings", || {
        log(&project).matches("ended: ok").count() >= 3
    });
    project.write("head", "bbb\n");
    wait_until("the new commit to be tested", || {
        project.lines("tested.txt").len() == 2
    });
    assert_eq!(project.lines("tested.txt"), ["aaa", "bbb"]);
    let env = project.lines("env.txt");
    assert!(env[0].starts_with("job=poll serial="), "{env:?}");
    drop(daemon);
    assert!(log(&project).contains("stopped"), "{}", log(&project));
}

#[test]
fn a_restarted_daemon_neither_fires_twice_nor_forgets() {
    let project = Project::new().goalfile(
        r#"
every "1 hour" name="hourly" {
    run "echo fired >> hourly.txt"
}
every "1 hour" name="skipping" missed="skip" {
    run "echo fired >> skipping.txt"
}
"#,
    );
    let daemon = Daemon::start(&project);
    // Never fired before: both are due at once.
    wait_until("the first firings", || {
        project.lines("hourly.txt").len() == 1 && project.lines("skipping.txt").len() == 1
    });
    wait_until("their end", || {
        log(&project).matches("ended: ok").count() == 2
    });
    daemon.kill();

    // Killed and restarted within the hour: nothing fires.
    let daemon = Daemon::start(&project);
    std::thread::sleep(Duration::from_millis(1500));
    project
        // The next firing's time is the wall clock's: only the line's start is known.
        .goal(&["daemon", "status"])
        .success()
        .stdout_has("next: every hourly at");
    drop(daemon);
    assert_eq!(project.lines("hourly.txt").len(), 1);
    assert_eq!(project.lines("skipping.txt").len(), 1);

    // Down for three hours: the missed firing runs once, unless the job skips missed ones.
    for job in ["hourly", "skipping"] {
        project.set_last_firing(job, Duration::from_secs(3 * 3600));
    }
    let daemon = Daemon::start(&project);
    wait_until("the missed firing", || {
        project.lines("hourly.txt").len() == 2
    });
    std::thread::sleep(Duration::from_millis(500));
    drop(daemon);
    assert_eq!(project.lines("hourly.txt").len(), 2);
    assert_eq!(project.lines("skipping.txt").len(), 1);
}

#[test]
fn a_second_daemon_for_the_project_refuses_to_start() {
    let project = Project::new().goalfile(r#"every "1 hour" { run "true" }"#);
    let daemon = Daemon::start(&project);
    project.goal(&["daemon"]).expect(
        1,
        "",
        &format!(
            "
            goal::daemon-running

              × a goal daemon (pid {}) already runs for this project
              help: `goal daemon status` tells about it; `goal daemon stop` stops it
            ",
            daemon.child.id()
        ),
    );
    // And `goal tick` would run the jobs twice.
    project.goal(&["tick"]).expect(
        2,
        "",
        &format!(
            "
            goal::daemon-running

              × the goal daemon (pid {}) runs this project's jobs: `goal tick` would run them twice
              help: `goal daemon stop` stops it
            ",
            daemon.child.id()
        ),
    );
}

#[test]
fn a_daemon_whose_log_cannot_be_opened_says_so_and_holds_nothing() {
    let project = Project::new().goalfile(r#"every "1 hour" { run "echo fired >> fired" }"#);
    project
        .goal(&["daemon", "--log", "no-such-dir/daemon.log"])
        .expect(
            2,
            "",
            "
            goal::daemon

              × cannot open the log file /tmp/project/no-such-dir/daemon.log: No such file or
              │ directory (os error 2)
            ",
        );
    // It let go of the daemon lock: the jobs run without it.
    project.goal(&["tick"]).success();
    assert_eq!(project.lines("fired"), ["fired"]);
}

#[test]
fn a_job_still_running_is_not_started_twice() {
    let project = Project::new().goalfile(
        r#"
every "1s" name="slow" {
    run "echo run >> runs.txt; sleep 3"
}
"#,
    );
    let _daemon = Daemon::start(&project);
    wait_until("a skipped firing", || {
        log(&project).contains("still running (max-running 1)")
    });
    assert_eq!(project.lines("runs.txt").len(), 1);
}

#[test]
fn jobs_are_started_listed_followed_and_cancelled_without_orphans() {
    let project = Project::new().goalfile(
        r#"
every cron="0 0 1 1 *" name="slow" {
    run "echo started; sleep 60 & echo $! > sleep.pid; wait"
}
"#,
    );
    let _daemon = Daemon::start(&project);
    // The answer names the job run's serial, which depends on the runs before it.
    let started = project.goal(&["job", "start", "slow"]);
    started.success().stdout_has("the daemon started job");
    let serial: String = started
        .stdout
        .split("job ")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    wait_until("the recipe", || project.exists("sleep.pid"));
    let sleep_pid = std::fs::read_to_string(project.path().join("sleep.pid")).unwrap();
    let jobs = project.goal(&["jobs"]);
    jobs.success();
    assert!(
        jobs.stdout
            .lines()
            .any(|line| line.starts_with(&serial) && line.contains("every slow")),
        "{}",
        jobs.stdout
    );
    project.goal(&["jobs", "--names"]).expect(
        0,
        "
            NAME  RUNS
            slow  cron 0 0 1 1 *
            ",
        "",
    );
    // A second start is refused while the first runs.
    project.goal(&["job", "start", "slow"]).expect(
        1,
        "",
        "
            goal::job-running

              × every slow: not started, since its run 1 is still running (max-running 1)
            ",
    );

    let tail = project
        .command(&["job", "tail", &serial])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    project
        .goal(&["job", "cancel", &serial])
        .expect(0, "goal: job 1 is stopping\n", "");
    let tail = tail.wait_with_output().unwrap();
    let followed = String::from_utf8_lossy(&tail.stdout);
    assert!(followed.contains("started"), "{followed}");
    assert!(followed.contains("ended: cancelled"), "{followed}");
    wait_until("the recipe's sleep to stop", || !alive(&sleep_pid));
    project.goal(&["jobs"]).expect(0, "no job is running\n", "");
    let ended = project.goal(&["jobs", "--ended"]);
    ended.success();
    assert!(
        ended
            .stdout
            .lines()
            .any(|line| line.starts_with(&serial) && line.ends_with("cancelled")),
        "{}",
        ended.stdout
    );
    project.goal(&["job", "cancel", &serial]).expect(
        1,
        "",
        "
            goal::unknown-serial

              × no job run 1 is running
              help: `goal jobs` lists the running ones
            ",
    );
}

#[test]
fn the_daemon_reloads_a_good_goalfile_and_keeps_its_jobs_on_a_bad_one() {
    let project = Project::new().goalfile(r#"every "1 hour" name="first" { run "true" }"#);
    let _daemon = Daemon::start(&project);
    project.write(
        "Goalfile",
        r#"every "1 hour" name="first" { run "true" }
every "1 hour" name="second" { run "echo second > second.txt" }"#,
    );
    project
        .goal(&["daemon", "reload"])
        .expect(0, "goal: the daemon reloaded the Goalfile\n", "");
    wait_until("the new job", || project.exists("second.txt"));
    project.write("Goalfile", r#"every "1 hour" name="first" { rnu "true" }"#);
    project.goal(&["daemon", "reload"]).expect(
        1,
        "",
        r#"
            goal::reload

              × the Goalfile has problems; the daemon keeps the jobs it had:
              │ goal::unknown-node
              │
              │   × unknown statement `rnu`
              │    ╭─[/tmp/project/Goalfile:1:31]
              │  1 │ every "1 hour" name="first" { rnu "true" }
              │    ·                               ─┬─
              │    ·                                ╰── not a statement
              │    ╰────
              │   help: did you mean `run`?
              │
            "#,
    );
    project.goal(&["jobs", "--names"]).expect(
        0,
        "
            NAME    RUNS
            first   every <duration>
            second  every <duration>
            ",
        "",
    );
    project
        .goal(&["daemon", "stop"])
        .expect(0, "goal: the daemon stopped\n", "");
    project.goal(&["daemon", "status"]).expect(
        1,
        "",
        "
            goal::no-daemon

              × no goal daemon runs for this project
              help: start one with `goal daemon`
            ",
    );
}

#[test]
fn goal_runs_beside_the_daemon_share_its_memory() {
    let project = Project::new().goalfile(
        r#"
every "1 hour" name="marker" { memory-set "from-daemon" "yes" }
goal mine {
    target { memory-exists "from-me" }
    memory-set "from-me" "yes"
}
"#,
    );
    let _daemon = Daemon::start(&project);
    wait_until("the job", || log(&project).contains("ended: ok"));
    project.goal(&["mine"]).expect(
        0,
        "",
        "
        goal: start mine
        goal: done  mine (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project
        .goal(&["memory", "get", "from-daemon"])
        .expect(0, "yes\n", "");
    project
        .goal(&["memory", "get", "from-me"])
        .expect(0, "yes\n", "");
}

const RELEASE: &str = r##"
var version default="0.0.0" pattern=#"\d+\.\d+\.\d+"#

when "release" {
    condition { changed version }
    run "echo {version} $GOAL_JOB >> released.txt"
}

goal bumped {
    set version="3.0.0"
}
"##;

#[test]
fn goal_set_with_a_daemon_fires_a_when_job_once_per_change() {
    let project = Project::new().goalfile(RELEASE);
    let _daemon = Daemon::start(&project);
    project.goal(&["set", "version=1.0.0"]).expect(
        0,
        "goal: the daemon started job 1 (when release); `goal job tail 1` follows it\n",
        "",
    );
    wait_until("the release", || log(&project).contains("ended: ok"));
    assert_eq!(project.lines("released.txt"), ["1.0.0 release"]);
    // The same value again, a whisper and a test fire nothing.
    project.goal(&["set", "version=1.0.0"]).expect(0, "", "");
    project
        .goal(&["set", "--test", "version=2.0.0"])
        .expect(0, "would fire: when release\n", "");
    project
        .goal(&["set", "--whisper", "version=2.0.0"])
        .expect(0, "", "");
    project.goal(&["get", "version"]).expect(0, "2.0.0\n", "");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(project.lines("released.txt"), ["1.0.0 release"]);
    // A run's `set` statement tells the daemon, which looks at once.
    project.goal(&["bumped"]).expect(
        0,
        "",
        "
        goal: start bumped
        goal: done  bumped (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    wait_until("the second release", || {
        project.lines("released.txt").len() == 2
    });
    assert_eq!(
        project.lines("released.txt"),
        ["1.0.0 release", "3.0.0 release"]
    );
}

#[test]
fn a_when_job_cut_short_by_a_killed_daemon_fires_again_at_restart() {
    let project = Project::new().goalfile(
        r#"
when "flagged" {
    condition { file-exists "flag" }
    run "echo start >> starts.txt; sleep 60 & echo $! > sleep.pid; wait"
}
"#,
    );
    project.write("flag", "");
    let daemon = Daemon::start(&project);
    wait_until("the job's recipe", || project.exists("sleep.pid"));
    let sleep_pid = std::fs::read_to_string(project.path().join("sleep.pid")).unwrap();
    daemon.kill();
    // The job's goal stops with the daemon, and stops its recipe.
    wait_until("the recipe to stop", || !alive(&sleep_pid));
    std::fs::remove_file(project.path().join("sleep.pid")).unwrap();
    let _daemon = Daemon::start(&project);
    wait_until("the job to start again", || {
        project.lines("starts.txt").len() == 2
    });
}

#[test]
fn a_seconds_cron_job_fires_again_and_again_under_the_daemon() {
    let project = Project::new()
        .goalfile(r#"every cron="*/2 * * * * *" name="often" { run "echo fired >> fired.txt" }"#);
    let daemon = Daemon::start(&project);
    wait_until("the cron job to fire twice", || {
        project.lines("fired.txt").len() >= 2
    });
    drop(daemon);
}

#[test]
fn daemon_stop_gets_its_answer_although_the_daemon_exits_at_once() {
    // The daemon exits as soon as it has answered `stop`: the answer must be sent before. With
    // no job running, the exit follows the answer at once, which is when it was lost.
    let project = Project::new().goalfile(r#"every "1 hour" name="hourly" { run "true" }"#);
    for _ in 0..5 {
        let mut daemon = Daemon::start(&project);
        project
            .goal(&["daemon", "stop"])
            .expect(0, "goal: the daemon stopped\n", "");
        let _ = daemon.child.wait();
    }
}
