//! Many hosts, one campaign: daemons on a shared Memory elect one to fire the jobs, `goal set`
//! on any host fires each `when` job once, and `goal status` lists every host's runs. Project
//! directories stand in for hosts (`GOAL_HOST` names each), against the real PostgreSQL server
//! of `common::postgres`. Every wait is bounded by a deadline.

use crate::common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::postgres::Database;
use common::Project;

/// A `goal` command of `project`, as the host `host`, on the shared Memory `database`.
fn as_host(project: &Project, host: &str, database: &Database, args: &[&str]) -> Command {
    let mut command = project.command(args);
    command
        .env("GOAL_MEMORY", &database.url)
        .env("GOAL_MEMORY_NAMESPACE", "fleet")
        .env("GOAL_HOST", host);
    command
}

fn run(project: &Project, host: &str, database: &Database, args: &[&str]) -> common::Run {
    common::Run::from(
        as_host(project, host, database, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("running goal"),
    )
}

/// A daemon of one host, its log in `daemon.log`; stopped (or killed) when dropped.
struct Daemon<'p> {
    child: Child,
    project: &'p Project,
}

impl<'p> Daemon<'p> {
    fn start(project: &'p Project, host: &str, database: &Database) -> Daemon<'p> {
        let child = as_host(project, host, database, &["daemon", "--log", "daemon.log"])
            .spawn()
            .expect("starting the daemon");
        Daemon { child, project }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.project.path().join("daemon.log")).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon<'_> {
    fn drop(&mut self) {
        common::terminate(&mut self.child);
    }
}

/// Waits until `done`, at most `limit`; how long it took.
#[track_caller]
fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
    start.elapsed()
}

const PATIENCE: Duration = Duration::from_secs(30);

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Two daemons: the first leads, the second stands by.
fn leader_and_standby<'p>(
    host_a: &'p Project,
    host_b: &'p Project,
    database: &Database,
) -> (Daemon<'p>, Daemon<'p>) {
    let leader = Daemon::start(host_a, "host-a", database);
    wait_until("the first daemon to lead", PATIENCE, || {
        leader
            .log()
            .contains("leads the jobs of namespace `fleet` as host host-a")
    });
    let standby = Daemon::start(host_b, "host-b", database);
    wait_until("the second daemon to stand by", PATIENCE, || {
        standby
            .log()
            .contains("stands by: the daemon on host host-a (pid ")
    });
    (leader, standby)
}

#[test]
fn one_daemon_fires_each_every_job_and_another_takes_over_when_it_is_killed() {
    let database = Database::new();
    let shared = tempfile::tempdir().unwrap();
    let hourly = shared.path().join("hourly");
    let often = shared.path().join("often");
    let goalfile = format!(
        r#"
        every "1 hour" name="hourly" {{ run "echo $GOAL_HOST >> {hourly}" }}
        every "2s" name="often" {{ run "echo $GOAL_HOST $(date +%s.%N) >> {often}" }}
        "#,
        hourly = hourly.display(),
        often = often.display(),
    );
    let host_a = Project::new().goalfile(&goalfile);
    let host_b = Project::new().goalfile(&goalfile);
    let (mut leader, standby) = leader_and_standby(&host_a, &host_b, &database);
    wait_until("two firings of `often`", PATIENCE, || {
        lines(&often).len() >= 2
    });
    // The daemon standing by says who leads.
    let (pid_a, pid_b) = (leader.child.id(), standby.child.id());
    run(&host_b, "host-b", &database, &["daemon", "status"]).expect(
        0,
        &format!(
            "
            goal daemon: pid {pid_b}, running for <duration> (since <date>)
            Goalfile: /tmp/project/Goalfile
            jobs: 2 jobs (2 every, 0 when); running now: 0
            stands by: the daemon on host host-a (pid {pid_a}) leads the jobs of namespace `fleet` (since <date>)
            next: every hourly at <date>
            next: every often at <date>
            "
        ),
        "",
    );
    run(&host_a, "host-a", &database, &["daemon", "status"])
        .success()
        .stdout_has("leads the jobs of namespace `fleet` as host host-a (since ");
    leader.kill();
    let took = wait_until("the second daemon to take over", PATIENCE, || {
        standby
            .log()
            .contains("leads the jobs of namespace `fleet` as host host-b")
    });
    assert!(took < Duration::from_secs(5), "the takeover took {took:?}");
    wait_until("`often` to fire on the new leader", PATIENCE, || {
        lines(&often).iter().any(|line| line.starts_with("host-b "))
    });
    // The hourly job fired once, by the first leader: the new one finds its firing in the
    // shared Memory.
    assert_eq!(lines(&hourly), ["host-a"]);
    // Each firing of `often` ran once: a firing run twice would show two lines milliseconds
    // apart, while firings are two seconds apart, give or take a busy machine's delays.
    let times: Vec<f64> = lines(&often)
        .iter()
        .map(|line| line.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] > 0.5,
            "two firings {:.3}s apart: {:?}",
            pair[1] - pair[0],
            lines(&often)
        );
    }
    let hosts: Vec<String> = lines(&often)
        .iter()
        .map(|line| line.split(' ').next().unwrap().to_owned())
        .collect();
    let first_b = hosts.iter().position(|host| host == "host-b").unwrap();
    assert!(
        hosts[..first_b].iter().all(|host| host == "host-a")
            && hosts[first_b..].iter().all(|host| host == "host-b"),
        "the leader fired, then its successor: {hosts:?}"
    );
}

/// A `when` job that appends the host that ran it, and the version, to `released`.
fn release(released: &Path) -> String {
    format!(
        r#"
        var version default="0"
        when "release" {{
            condition {{ changed version }}
            run "echo $GOAL_HOST {{version}} >> {released}"
        }}
        "#,
        released = released.display()
    )
}

/// Waits until the `release` job's run has ended and recorded the version it ran with: a change
/// before that would make its condition true again at its end, and rightly fire it once more.
fn ran_with(project: &Project, database: &Database, version: &str) {
    let key = "goal/when/release/var/version";
    wait_until("the job's run to end", PATIENCE, || {
        run(project, "host-b", database, &["memory", "get", key]).stdout == format!("{version}\n")
    });
}

#[test]
fn goal_set_on_any_host_fires_each_when_job_once() {
    let database = Database::new();
    let shared = tempfile::tempdir().unwrap();
    let released = shared.path().join("released");
    let host_a = Project::new().goalfile(&release(&released));
    let host_b = Project::new().goalfile(&release(&released));
    let host_c = Project::new().goalfile(&release(&released));
    let (_leader, _standby) = leader_and_standby(&host_a, &host_b, &database);
    // A third host without a daemon: the leader fires the job.
    run(&host_c, "host-c", &database, &["set", "version=1"]).expect(
        0,
        "goal: the daemon on host host-a leads the jobs of namespace `fleet`: it fires the when jobs\n",
        "",
    );
    wait_until("the job to run", PATIENCE, || lines(&released).len() == 1);
    ran_with(&host_b, &database, "1");
    // The host standing by: its daemon sets, and the leader fires.
    run(&host_b, "host-b", &database, &["set", "version=2"]).expect(
        0,
        "goal: the daemon on host host-a leads the jobs of namespace `fleet`: it fires the when jobs\n",
        "",
    );
    ran_with(&host_b, &database, "2");
    assert_eq!(lines(&released).len(), 2);
    // Whispered: set, and nobody told.
    run(
        &host_b,
        "host-b",
        &database,
        &["set", "--whisper", "version=3"],
    )
    .expect(0, "", "");
    // Time enough for a second firing, were there one: each daemon looks within a second.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(lines(&released), ["host-a 1", "host-a 2"]);
}

#[test]
fn goal_tick_leaves_the_jobs_to_the_leading_daemon() {
    let database = Database::new();
    let shared = tempfile::tempdir().unwrap();
    let released = shared.path().join("released");
    let host_a = Project::new().goalfile(&release(&released));
    let host_b = Project::new().goalfile(&release(&released));
    let leader = Daemon::start(&host_a, "host-a", &database);
    wait_until("the daemon to lead", PATIENCE, || {
        leader.log().contains("leads the jobs")
    });
    let pid = leader.child.id();
    run(&host_b, "host-b", &database, &["tick"]).expect(
        2,
        "",
        &format!(
            "
            goal::daemon-running

              × the goal daemon on host host-a (pid {pid}) leads the campaign's jobs
              help: `goal tick` would run them twice; `goal status` shows the runs the daemon fired
            "
        ),
    );
}

const BUILD: &str = r#"
goal built n {
    target { memory-exists "built-{n}" }
    run "echo building {n}"
    memory-set "built-{n}" "yes"
}
"#;

#[test]
fn goal_status_lists_the_runs_of_every_host() {
    let database = Database::new();
    let host_a = Project::new().goalfile(BUILD);
    let host_b = Project::new().goalfile(BUILD);
    run(&host_a, "host-a", &database, &["-q", "built", "n=1"]).expect(0, "building 1\n", "");
    run(&host_b, "host-b", &database, &["-q", "built", "n=2"]).expect(0, "building 2\n", "");
    // Already built by host-a: host-b runs nothing.
    run(&host_b, "host-b", &database, &["-q", "built", "n=1"]).expect(0, "", "");
    let fleet = "
        <date>  <duration>  ok  host-a  built n=1
        <date>  <duration>  ok  host-b  built n=2
        ";
    run(&host_a, "host-a", &database, &["status"]).expect(0, fleet, "");
    run(&host_b, "host-b", &database, &["status"]).expect(0, fleet, "");
    run(&host_b, "host-b", &database, &["status", "--local"]).expect(
        0,
        "<date>  <duration>  ok  built n=2\n",
        "",
    );
    run(&host_b, "host-b", &database, &["status", "-c", "1"]).expect(
        0,
        "<date>  <duration>  ok  host-b  built n=2\n",
        "",
    );
    let json = run(&host_a, "host-a", &database, &["status", "--json"]);
    json.success();
    let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    crate::ecosystem_output::validate(&document, "status");
    let runs = document["runs"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str, bool)> = runs
        .iter()
        .map(|run| {
            (
                run["host"].as_str().unwrap(),
                run["instance"].as_str().unwrap(),
                run["state"].as_str().unwrap(),
                // The campaign's record keeps no requirements.
                run["required_by"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("host-a", "built n=1", "ok", true),
            ("host-b", "built n=2", "ok", true)
        ]
    );
    // The log is on the host that ran it, where its path leads.
    let log = runs[0]["log"].as_str().unwrap();
    assert!(host_a.path().join(log).is_file(), "{log}");
    assert_eq!(
        std::fs::read_to_string(host_a.path().join(log)).unwrap(),
        "building 1\n"
    );
}

#[test]
fn goal_status_says_when_the_campaign_ran_nothing() {
    let database = Database::new();
    let host = Project::new().goalfile(BUILD);
    run(&host, "host-a", &database, &["status"]).expect(
        0,
        "",
        "goal: no recipe run of namespace `fleet` is recorded in the shared Memory\n",
    );
}

#[test]
fn a_host_killed_mid_recipe_shows_as_interrupted() {
    let database = Database::new();
    // The recipe outlives its killed `goal` until released (or half a minute, should the test
    // fail first).
    let goalfile = r#"goal stuck {
        run "touch started; for i in $(seq 600); do [ -e release ] && break; sleep 0.05; done"
    }"#;
    let host = Project::new().goalfile(goalfile);
    let mut child = as_host(&host, "host-a", &database, &["-q", "stuck"])
        .spawn()
        .unwrap();
    wait_until("the recipe to start", PATIENCE, || host.exists("started"));
    run(&host, "host-b", &database, &["status"]).expect(
        0,
        "<date>  <duration>  running  host-a  stuck\n",
        "",
    );
    child.kill().unwrap();
    child.wait().unwrap();
    // The server notices the closed session at once; the status read after that knows.
    wait_until("the run to show as interrupted", PATIENCE, || {
        common::normalize(&run(&host, "host-b", &database, &["status"]).stdout)
            == "<date>  -  interrupted  host-a  stuck\n"
    });
    host.write("release", "");
}

#[test]
fn a_memory_of_schema_version_1_is_upgraded_and_keeps_its_keys() {
    let database = Database::new();
    let mut client = database.client();
    // What the first version of goal's schema was.
    client
        .batch_execute(
            r#"CREATE TABLE goal_schema (version integer NOT NULL);
               INSERT INTO goal_schema VALUES (1);
               CREATE TABLE goal_memory (
                   namespace text COLLATE "C" NOT NULL,
                   key text COLLATE "C" NOT NULL,
                   value text NOT NULL,
                   PRIMARY KEY (namespace, key)
               );
               INSERT INTO goal_memory VALUES ('fleet', 'kept', 'yes');"#,
        )
        .unwrap();
    let host = Project::new().goalfile(BUILD);
    run(&host, "host-a", &database, &["memory", "get", "kept"]).expect(0, "yes\n", "");
    let version: i32 = client
        .query_one("SELECT version FROM goal_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, 2);
    run(&host, "host-a", &database, &["-q", "built", "n=1"]).expect(0, "building 1\n", "");
    run(&host, "host-a", &database, &["status"]).expect(
        0,
        "<date>  <duration>  ok  host-a  built n=1\n",
        "",
    );
}

#[test]
fn without_a_daemon_one_goal_set_runs_the_when_jobs_and_the_others_leave_them_to_it() {
    let database = Database::new();
    let shared = tempfile::tempdir().unwrap();
    let released = shared.path().join("released");
    let release = shared.path().join("release");
    // The job holds the campaign's jobs lock, in its recipe, until released (or half a minute,
    // should the test fail first).
    let goalfile = format!(
        r#"
        var version default="0"
        when "release" {{
            condition {{ changed version }}
            run "echo $GOAL_HOST {{version}} >> {released}; for i in $(seq 600); do [ -e {release} ] && break; sleep 0.05; done"
        }}
        "#,
        released = released.display(),
        release = release.display(),
    );
    let host_a = Project::new().goalfile(&goalfile);
    let host_b = Project::new().goalfile(&goalfile);
    let first = as_host(&host_a, "host-a", &database, &["-q", "set", "version=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the first job to start", PATIENCE, || {
        lines(&released).len() == 1
    });
    run(&host_b, "host-b", &database, &["tick"]).expect(
        1,
        "",
        "
        goal::jobs-busy

          × another goal runs the jobs of namespace `fleet` now
          help: wait for it to finish, then run `goal tick` again
        ",
    );
    run(&host_b, "host-b", &database, &["set", "version=2"]).expect(
        0,
        "goal: another goal runs the jobs of namespace `fleet` now: the daemon leading them, or \
         the next `goal set` or `goal tick`, fires the when jobs\n",
        "",
    );
    std::fs::write(&release, "").unwrap();
    common::Run::from(first.wait_with_output().unwrap()).expect(0, "", "");
    // A command runs a job once: the change made during its run waits for the next one.
    assert_eq!(lines(&released), ["host-a 1"]);
    run(&host_b, "host-b", &database, &["-q", "tick"]).expect(0, "", "");
    assert_eq!(lines(&released), ["host-a 1", "host-b 2"]);
}

#[test]
fn goal_status_with_the_server_down_points_to_the_local_runs() {
    let host = Project::new().goalfile(BUILD);
    let status = |args: &[&str]| {
        common::Run::from(
            host.command(args)
                .env("GOAL_MEMORY", "postgres://ci@127.0.0.1:1/goal")
                .env("GOAL_MEMORY_NAMESPACE", "fleet")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .output()
                .unwrap(),
        )
    };
    status(&["status"]).expect(
        1,
        "",
        "
        goal::memory-io

          × cannot reach the Memory at `postgres://ci@127.0.0.1:1/goal` (namespace `fleet`): error
          │ connecting to server: Connection refused (os error 111)
          help: check that the PostgreSQL server is up and reachable, then run goal again
                `goal status --local` lists this project's own runs, from its logs
        ",
    );
    status(&["status", "--local"]).expect(0, "", "goal: no recipe run is recorded in .goal/logs\n");
}

#[test]
fn a_leader_that_loses_its_session_stops_leading_and_a_daemon_leads_again() {
    let database = Database::new();
    let host_a = Project::new().goalfile(BUILD);
    let host_b = Project::new().goalfile(BUILD);
    let (leader, standby) = leader_and_standby(&host_a, &host_b, &database);
    // What a network cut does to the leader's session, as the server sees it.
    database
        .client()
        .batch_execute(
            "SELECT pg_terminate_backend(backend) FROM goal_leaders WHERE namespace = 'fleet'",
        )
        .unwrap();
    // The message names the server's temporary socket directory.
    wait_until("the leader to notice", PATIENCE, || {
        leader
            .log()
            .contains("stands by: cannot lead the jobs through the Memory at `postgres://")
    });
    wait_until("a daemon to lead again", PATIENCE, || {
        let led_again = |log: String, host: &str| {
            log.split("stands by: cannot lead")
                .nth(1)
                .is_some_and(|after| after.contains(&format!("as host {host}")))
        };
        led_again(leader.log(), "host-a")
            || standby
                .log()
                .contains("leads the jobs of namespace `fleet` as host host-b")
    });
}

/// Job runs started on several hosts at once each get a serial of their own: the hosts share
/// the counter, and take it one at a time.
#[test]
fn job_runs_started_on_many_hosts_at_once_have_serials_of_their_own() {
    let database = Database::new();
    let serials = tempfile::NamedTempFile::new().unwrap();
    let goalfile = format!(
        "every \"1 day\" name=\"tick\" {{\n    run \"echo $GOAL_JOB_SERIAL >> {}\"\n}}\n",
        serials.path().display()
    );
    let hosts: Vec<Project> = (0..3).map(|_| Project::new().goalfile(&goalfile)).collect();
    std::thread::scope(|scope| {
        for (number, host) in hosts.iter().enumerate() {
            let database = &database;
            scope.spawn(move || {
                for _ in 0..6 {
                    let name = format!("host-{number}");
                    run(host, &name, database, &["-q", "job", "start", "tick"]).expect(0, "", "");
                }
            });
        }
    });
    let mut seen = lines(serials.path());
    seen.sort_by_key(|serial| serial.parse::<u64>().unwrap());
    let expected: Vec<String> = (1..=18).map(|serial| serial.to_string()).collect();
    assert_eq!(seen, expected);
}
