//! The shared Memory on PostgreSQL: against a real server the tests start themselves
//! (`common::postgres`), one database per test; `goal` processes in separate project
//! directories stand in for hosts.

use crate::common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::postgres::{Database, TcpServer};
use common::Project;

/// A `goal` command of `project` on the shared Memory `database`, under `namespace`.
fn on(project: &Project, database: &Database, namespace: &str, args: &[&str]) -> common::Run {
    common::Run::from(
        project
            .command(args)
            .env("GOAL_MEMORY", &database.url)
            .env("GOAL_MEMORY_NAMESPACE", namespace)
            .env("GOAL", env!("CARGO_BIN_EXE_goal"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("running goal"),
    )
}

/// The same, started and left running.
fn start(project: &Project, database: &Database, namespace: &str, args: &[&str]) -> Child {
    project
        .command(args)
        .env("GOAL_MEMORY", &database.url)
        .env("GOAL_MEMORY_NAMESPACE", namespace)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting goal")
}

#[test]
fn the_test_server_gives_each_test_a_database_of_its_own() {
    let first = Database::new();
    let second = Database::new();
    assert_ne!(first.url, second.url);
    first
        .client()
        .batch_execute("CREATE TABLE only_here (x integer)")
        .unwrap();
    let tables = second
        .client()
        .query("SELECT 1 FROM pg_tables WHERE tablename = 'only_here'", &[])
        .unwrap();
    assert!(tables.is_empty());
}

// What the Memory means, on both backends: the tests of `memory`, `evaluate` and `jobs` named
// in their `on_both_backends!`.

#[test]
fn a_sled_memory_moves_to_postgres_with_export_and_import() {
    let database = Database::new();
    let project = Project::new().goalfile("var channel default=\"stable\"");
    project
        .goal(&["memory", "set", "built-zlib", "1.3"])
        .expect(0, "", "");
    project.goal(&["set", "channel=beta"]).expect(0, "", "");
    let export = project.goal(&["memory", "export"]);
    export.success();
    project.write("memory.export", &export.stdout);
    on(
        &project,
        &database,
        "moved",
        &["memory", "import", "memory.export"],
    )
    .expect(0, "imported 2 entries\n", "");
    on(&project, &database, "moved", &["memory", "list"]).expect(
        0,
        "built-zlib\t1.3\ngoal/var/channel\tbeta\n",
        "",
    );
    on(&project, &database, "moved", &["get", "channel"]).expect(0, "beta\n", "");
}

#[test]
fn an_import_the_server_refuses_midway_writes_nothing() {
    let database = Database::new();
    let project = Project::new().goalfile("").file(
        "export",
        "{\"format\":\"goal-memory\",\"version\":1}\n\
         {\"key\":\"a\",\"value\":\"1\"}\n\
         {\"key\":\"b\",\"value\":\"nul \\u0000 byte\"}\n",
    );
    // PostgreSQL's text holds no NUL: the second entry fails inside the transaction. The
    // message ends in the server's own words, which depend on its version: looked for in part.
    on(
        &project,
        &database,
        "refused",
        &["memory", "import", "export"],
    )
    .status(2)
    .stderr_has("goal::memory-io")
    .stderr_has("(namespace `refused`)");
    on(&project, &database, "refused", &["memory", "list"]).expect(0, "", "");
}

#[test]
fn the_jobs_state_is_shared() {
    let database = Database::new();
    let goalfile = r#"every "1 hour" name="hourly" { run "echo $GOAL_JOB $GOAL_JOB_SERIAL" }"#;
    let host_a = Project::new().goalfile(goalfile);
    let host_b = Project::new().goalfile(goalfile);
    on(&host_a, &database, "jobs", &["-q", "tick"]).expect(0, "hourly 1\n", "");
    // Fired an hour ago by the other host: not due here.
    on(&host_b, &database, "jobs", &["-q", "tick"]).expect(0, "", "");
}

#[test]
fn a_dry_run_waits_for_no_lock_and_writes_nothing() {
    let database = Database::new();
    let shared = tempfile::tempdir().unwrap();
    let log = shared.path().join("log");
    let release = shared.path().join("release");
    // The first host holds the instance, in its recipe, until released.
    let pause = format!(
        "while [ ! -e {release} ]; do sleep 0.05; done",
        release = release.display()
    );
    let goalfile = campaign(1, &log, &pause);
    let running = Project::new().goalfile(&goalfile);
    let dry = Project::new().goalfile(&goalfile);
    let holder = start(&running, &database, "dry", &["-q", "all"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !log.exists() {
        assert!(
            Instant::now() < deadline,
            "the first host never started its recipe"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut dry_run = start(&dry, &database, "dry", &["-n", "all"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while dry_run.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            std::fs::write(&release, "").unwrap();
            panic!("the dry run waited for the instance's lock");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    common::Run::from(dry_run.wait_with_output().unwrap()).expect(
        1,
        "would fire: package n=0  (the memory key \"built-0\" is not set)\n",
        "goal: summary: 1 would fire, 0 may fire, 0 already reached (0.07s)\n",
    );
    std::fs::write(&release, "").unwrap();
    common::Run::from(holder.wait_with_output().unwrap()).expect(0, "", "");
    on(&dry, &database, "dry", &["memory", "list"]).expect(0, "built-0\tok\n", "");
}

#[test]
fn namespaces_keep_projects_apart_and_hosts_together() {
    let database = Database::new();
    let host_a = Project::new().goalfile("");
    let host_b = Project::new().goalfile("");
    on(&host_a, &database, "rebuild", &["memory", "set", "k", "a"]).expect(0, "", "");
    on(&host_b, &database, "rebuild", &["memory", "get", "k"]).expect(0, "a\n", "");
    on(&host_b, &database, "other", &["memory", "get", "k"]).expect(1, "", "");
    // Without a namespace, the project directory's name is the namespace: these differ.
    let mut get = host_b.command(&["memory", "get", "k"]);
    let run = common::Run::from(
        get.env("GOAL_MEMORY", &database.url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap(),
    );
    run.expect(1, "", "");
}

#[test]
fn runs_variables_and_recipes_share_the_memory_across_hosts() {
    let database = Database::new();
    let goalfile = r#"
        var release default="0.1"
        goal tested commit {
            target { memory-exists "tested-{commit}" }
            run "\"$GOAL\" memory set from-recipe-{commit} yes"
            memory-set "tested-{commit}" "ok"
        }
    "#;
    let host_a = Project::new().goalfile(goalfile);
    let host_b = Project::new().goalfile(goalfile);
    on(&host_a, &database, "campaign", &["tested", "commit=c1"]).expect(
        0,
        "",
        "goal: start tested commit=c1\ngoal: done  tested commit=c1 (0.01s)\n\
         goal: summary: 1 ran, 0 already reached (0.05s)\n",
    );
    on(&host_b, &database, "campaign", &["tested", "commit=c1"]).expect(
        0,
        "",
        "goal: reached tested commit=c1\ngoal: summary: 0 ran, 1 already reached (0.00s)\n",
    );
    on(&host_b, &database, "campaign", &["memory", "list"]).expect(
        0,
        "from-recipe-c1\tyes\ntested-c1\tok\n",
        "",
    );
    on(&host_b, &database, "campaign", &["set", "release=2.0"]).expect(0, "", "");
    on(&host_a, &database, "campaign", &["get", "release"]).expect(0, "2.0\n", "");
}

/// `goal ARGS…` in the namespace `project`, whatever the temporary directory's name.
fn run_with_namespace(project: &Project, args: &[&str]) -> common::Run {
    common::Run::from(
        project
            .command(args)
            .env("GOAL_MEMORY_NAMESPACE", "project")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("running goal"),
    )
}

#[test]
fn an_unreachable_server_is_a_clear_error_without_the_password() {
    let project = Project::new().goalfile("");
    run_with_namespace(
        &project,
        &[
            "--memory",
            "postgres://ci:s3cret@127.0.0.1:1/goal",
            "memory",
            "get",
            "k",
        ],
    )
    .expect(
        2,
        "",
        "goal::memory-io

  × cannot reach the Memory at `postgres://ci@127.0.0.1:1/goal` (namespace `project`): error
  │ connecting to server: Connection refused (os error 111)
  help: check that the PostgreSQL server is up and reachable, then run goal again
",
    );
}

/// `goal memory …` on the Memory at `url`, in namespace `project`.
fn memory_at(project: &Project, url: &str, args: &[&str]) -> common::Run {
    let mut all = vec!["--memory", url, "memory"];
    all.extend(args);
    run_with_namespace(project, &all)
}

#[test]
fn sslmode_require_encrypts_without_checking_the_certificate() {
    let server = TcpServer::with_tls();
    // The recipe asks the server, while goal's session is open, whether every other session is
    // encrypted (the TLS tests' sessions are all that reach this server).
    let project = Project::new()
        .goalfile(
            r#"
            goal encrypted {
                target { memory-exists "asked" }
                run "sh ask.sh"
                memory-set "asked" "yes"
            }
            "#,
        )
        .file(
            "ask.sh",
            r#""$PSQL" -XAtq "$PLAIN" -c "SELECT count(*) FILTER (WHERE ssl) > 0 AND count(*) FILTER (WHERE NOT ssl) = 0 FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
"#,
        );
    let url = server.url("127.0.0.1", "sslmode=require");
    let run = common::Run::from(
        project
            .command(&["-q", "--memory", &url, "encrypted"])
            .env("GOAL_MEMORY_NAMESPACE", "encrypted")
            .env("PSQL", common::postgres::psql())
            .env("PLAIN", server.url("127.0.0.1", "sslmode=disable"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("running goal"),
    );
    run.expect(0, "t\n", "");
    memory_at(&project, &url, &["set", "k", "over tls"]).expect(0, "", "");
    memory_at(&project, &url, &["get", "k"]).expect(0, "over tls\n", "");
}

#[test]
fn verify_full_checks_the_chain_and_the_host() {
    let server = TcpServer::with_tls();
    let project = Project::new().goalfile("");
    let root = server.root.display().to_string();
    let full = |host: &str| server.url(host, &format!("sslmode=verify-full&sslrootcert={root}"));
    memory_at(&project, &full("localhost"), &["set", "k", "verified"]).expect(0, "", "");
    memory_at(&project, &full("127.0.0.1"), &["get", "k"]).expect(0, "verified\n", "");
    let ca = server.url(
        "localhost",
        &format!("sslmode=verify-ca&sslrootcert={root}"),
    );
    memory_at(&project, &ca, &["get", "k"]).expect(0, "verified\n", "");
}

#[test]
fn verify_full_with_the_wrong_root_is_refused_naming_the_url() {
    let server = TcpServer::with_tls();
    let project = Project::new().goalfile("");
    common::postgres::root_certificate(project.path(), "other");
    let url = format!(
        "postgres://goal:s3cret@localhost:{}/postgres?sslmode=verify-full&sslrootcert=other.crt",
        server.port
    );
    memory_at(&project, &url, &["get", "k"]).expect(
        2,
        "",
        &format!(
            "goal::memory-io

  × cannot reach the Memory at `postgres://goal@localhost:{}/postgres?sslmode=verify-
  │ full&sslrootcert=other.crt` (namespace `project`): error performing TLS handshake: invalid
  │ peer certificate: BadSignature
  help: check that the PostgreSQL server is up and reachable, then run goal again
",
            server.port
        ),
    );
}

#[test]
fn sslmode_require_on_a_server_without_tls_is_a_clear_error() {
    let server = TcpServer::without_tls();
    let project = Project::new().goalfile("");
    memory_at(
        &project,
        &server.url("127.0.0.1", "sslmode=require"),
        &["get", "k"],
    )
    .expect(
        2,
        "",
        &format!(
            "goal::memory-io

  × cannot reach the Memory at `postgres://goal@127.0.0.1:{}/postgres?sslmode=require`
  │ (namespace `project`): error performing TLS handshake: server does not support TLS
  help: check that the PostgreSQL server is up and reachable, then run goal again
",
            server.port
        ),
    );
}

#[test]
fn a_bad_sslmode_or_root_file_is_a_clear_error() {
    let project = Project::new().goalfile("");
    memory_at(&project, "postgres://db/x?sslmode=sometimes", &["get", "k"]).expect(
        2,
        "",
        "goal::memory-io

  × cannot read the Memory's URL `postgres://db/x?sslmode=sometimes`: sslmode=sometimes is none of
  │ disable, allow, prefer, require, verify-ca, verify-full
  help: write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE
",
    );
    memory_at(
        &project,
        "postgres://db/x?sslmode=verify-full&sslrootcert=none.pem",
        &["get", "k"],
    )
    .expect(
        2,
        "",
        "goal::memory-io

  × cannot use TLS to the Memory at `postgres://db/x?sslmode=verify-full&sslrootcert=none.pem`:
  │ cannot read sslrootcert `none.pem`: I/O error: No such file or directory (os error 2)
  help: sslrootcert=FILE names a file of PEM root certificates; sslcert=FILE and sslkey=FILE the
        client's PEM certificate and its key
",
    );
}

/// A server that lets in only clients with a certificate (`cert` in `pg_hba.conf`): goal gives
/// the one its URL names with `sslcert` and `sslkey`, and without one is refused.
#[test]
fn a_client_certificate_lets_goal_in_where_the_server_asks_for_one() {
    let server = TcpServer::with_client_certificates();
    let project = Project::new().goalfile("");
    let (certificate, key) = &server.client;
    let root = server.root.display();
    let url = server.url(
        "localhost",
        &format!(
            "sslmode=verify-full&sslrootcert={root}&sslcert={}&sslkey={}",
            certificate.display(),
            key.display()
        ),
    );
    memory_at(&project, &url, &["set", "k", "with a certificate"]).expect(0, "", "");
    memory_at(&project, &url, &["get", "k"]).expect(0, "with a certificate\n", "");
    let without = server.url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={root}"),
    );
    memory_at(&project, &without, &["get", "k"]).expect(
        2,
        "",
        &format!(
            "goal::memory-io

  × cannot reach the Memory at `postgres://goal@localhost:{}/postgres?sslmode=verify-
  │ full&sslrootcert={root}` (namespace `project`): db error: FATAL:
  │ connection requires a valid client certificate
  help: the server refused this client: check the user and password of the URL, and the
        certificate (sslcert=FILE, sslkey=FILE) where the server's pg_hba.conf asks for one
",
            server.port
        ),
    );
}

#[test]
fn a_client_certificate_without_its_key_or_unreadable_is_a_clear_error() {
    let project = Project::new()
        .goalfile("")
        .file("me.crt", "not a certificate\n");
    memory_at(
        &project,
        "postgres://db/x?sslmode=require&sslcert=me.crt",
        &["get", "k"],
    )
    .expect(
        2,
        "",
        "goal::memory-io

  × cannot read the Memory's URL `postgres://db/x?sslmode=require&sslcert=me.crt`: sslcert and
  │ sslkey go together: the certificate, and the key it is signed with
  help: write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE
",
    );
    memory_at(
        &project,
        "postgres://db/x?sslmode=require&sslcert=me.crt&sslkey=me.key",
        &["get", "k"],
    )
    .expect(
        2,
        "",
        "goal::memory-io

  × cannot use TLS to the Memory at `postgres://db/x?
  │ sslmode=require&sslcert=me.crt&sslkey=me.key`: sslcert `me.crt` holds no PEM certificate
  help: sslrootcert=FILE names a file of PEM root certificates; sslcert=FILE and sslkey=FILE the
        client's PEM certificate and its key
",
    );
    // A real certificate, and a key that is not one.
    let server = TcpServer::with_client_certificates();
    std::fs::copy(&server.client.0, project.path().join("client.crt")).unwrap();
    memory_at(
        &project,
        "postgres://db/x?sslmode=require&sslcert=client.crt&sslkey=me.crt",
        &["get", "k"],
    )
    .expect(
        2,
        "",
        "goal::memory-io

  × cannot use TLS to the Memory at `postgres://db/x?
  │ sslmode=require&sslcert=client.crt&sslkey=me.crt`: sslkey `me.crt` holds no PEM private key
  help: sslrootcert=FILE names a file of PEM root certificates; sslcert=FILE and sslkey=FILE the
        client's PEM certificate and its key
",
    );
}

/// A campaign of `count` instances whose targets are Memory keys; each recipe appends its
/// instance to `log` (outside the projects: shared by every host) and sleeps `pause`.
fn campaign(count: usize, log: &std::path::Path, pause: &str) -> String {
    let items: Vec<String> = (0..count).map(|n| format!("\"{n}\"")).collect();
    format!(
        r#"
        goal all {{
            for n {items} {{
                require package n="{{n}}"
            }}
        }}
        goal package n {{
            target {{ memory-exists "built-{{n}}" }}
            run "echo {{n}} >> {log}; {pause}"
            memory-set "built-{{n}}" "ok"
        }}
        "#,
        items = items.join(" "),
        log = log.display(),
    )
}

#[test]
fn four_hosts_run_every_instance_once() {
    let database = Database::new();
    let shared = tempfile::tempdir().unwrap();
    let log = shared.path().join("log");
    let goalfile = campaign(200, &log, "true");
    let hosts: Vec<Project> = (0..4).map(|_| Project::new().goalfile(&goalfile)).collect();
    let children: Vec<Child> = hosts
        .iter()
        .map(|host| start(host, &database, "mass", &["-q", "-j2", "all"]))
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let run = common::Run::from(output);
        run.expect(0, "", "");
    }
    let mut built: Vec<usize> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|line| line.parse().unwrap())
        .collect();
    built.sort_unstable();
    assert_eq!(
        built,
        (0..200).collect::<Vec<_>>(),
        "each recipe ran exactly once"
    );
}

#[test]
fn a_killed_host_s_instance_is_taken_over() {
    let database = Database::new();
    let shared = tempfile::tempdir().unwrap();
    let log = shared.path().join("log");
    // The first host to run it stays in its recipe until killed (and its orphaned recipe until
    // released, or until the test's directory is gone); the next one finds the marker and
    // finishes.
    let marker = shared.path().join("started");
    let release = shared.path().join("release");
    let pause = format!(
        "if [ ! -e {marker} ]; then touch {marker}; \
         while [ ! -e {release} ] && [ -e {marker} ]; do sleep 0.05; done; fi",
        marker = marker.display(),
        release = release.display()
    );
    let goalfile = campaign(1, &log, &pause);
    let first = Project::new().goalfile(&goalfile);
    let second = Project::new().goalfile(&goalfile);
    let mut killed = start(&first, &database, "takeover", &["-q", "all"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !marker.exists() {
        assert!(
            Instant::now() < deadline,
            "the first host never started its recipe"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let waiting = start(&second, &database, "takeover", &["-q", "all"]);
    // The second host waits for the instance the first one holds.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "0\n");
    killed.kill().unwrap();
    killed.wait().unwrap();
    std::fs::write(&release, "").unwrap();
    common::Run::from(waiting.wait_with_output().unwrap()).expect(0, "", "");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "0\n0\n");
    on(&second, &database, "takeover", &["memory", "list"]).expect(0, "built-0\tok\n", "");
}

#[test]
fn a_server_gone_mid_run_stops_it_and_a_rerun_completes() {
    let database = Database::new();
    let shared = tempfile::tempdir().unwrap();
    let marker = shared.path().join("cut");
    // The recipe cuts every other session of the database once, as a server restart would.
    let goalfile = format!(
        r#"
        goal step {{
            target {{ memory-exists "done" }}
            run "if [ ! -e {marker} ]; then touch {marker}; \"$PSQL\" \"$DB\" -qAt -c 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()' >/dev/null; fi"
            memory-set "done" "yes"
        }}
        "#,
        marker = marker.display()
    );
    let project = Project::new().goalfile(&goalfile);
    let run = || {
        let output = project
            .command(&["-q", "step"])
            .env("GOAL_MEMORY", &database.url)
            .env("GOAL_MEMORY_NAMESPACE", "project")
            .env("DB", &database.url)
            .env("PSQL", common::postgres::psql())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        common::Run::from(output)
    };
    // Only a part is known: the server's own words depend on when the cut reaches the session,
    // and the socket's temporary path is in the URL.
    run()
        .status(1)
        .stdout_is("")
        // The message names the server's temporary socket directory and database, wrapped by their length.
        .stderr_has("goal::memory-io")
        .stderr_has("cannot write the Memory at `postgres://goal@localhost/")
        .stderr_has(
            "help: check that the PostgreSQL server is up and reachable, then run goal again",
        );
    run().expect(0, "", "");
    on(&project, &database, "project", &["memory", "list"]).expect(0, "done\tyes\n", "");
}
