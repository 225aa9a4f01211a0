//! URL predicates as targets, end to end: a Goalfile, the real binary, and a real HTTP server
//! on 127.0.0.1.

use crate::common;

use std::time::{Duration, Instant};

use common::http_server::{Reply, TestServer};
use common::Project;

fn project(server: &TestServer) -> Project {
    Project::new().goalfile(&format!(
        r#"
let base "{base}"
goal released version {{
    target {{ url-exists "{{base}}/releases/{{version}}.tar.gz" timeout="2s" }}
    run "echo uploading {{version}} >> log"
}}
goal announced version {{
    target {{ url-contains "{{base}}/news" text="version {{version}}" }}
    run "echo announcing {{version}} >> log"
}}
goal slow {{
    target {{ url-exists "{{base}}/slow" timeout="300ms" }}
    run "echo slow fired >> log"
}}
"#,
        base = server.base
    ))
}

#[test]
fn url_targets_decide_what_fires() {
    let server = TestServer::start([
        ("/releases/1.0.tar.gz", Reply::ok("tarball")),
        (
            "/releases/2.0.tar.gz",
            Reply::redirect("/releases/1.0.tar.gz"),
        ),
        ("/releases/3.0.tar.gz", Reply::ok("tarball").refuse_head()),
        ("/news", Reply::ok("<p>version 1.0 is out</p>")),
        ("/slow", Reply::ok("late").delay(Duration::from_secs(3))),
    ]);
    let project = project(&server);
    project
        .goal(&[
            "released",
            "version=1.0",
            "released",
            "version=2.0",
            "released",
            "version=3.0",
        ])
        .expect(
            0,
            "",
            "
            goal: reached released version=1.0
            goal: reached released version=2.0
            goal: reached released version=3.0
            goal: summary: 0 ran, 3 already reached (<duration>)
            ",
        );
    project
        .goal(&[
            "--dry-run",
            "released",
            "version=4.0",
            "announced",
            "version=2.0",
        ])
        .expect(
            1,
            &format!(
                r#"
                would fire: released version=4.0  (HTTP 404 from {})
                would fire: announced version=2.0  (HTTP 200 from {} but the body does not contain "version 2.0")
                "#,
                server.url("/releases/4.0.tar.gz"),
                server.url("/news"),
            ),
            "goal: summary: 2 would fire, 0 may fire, 0 already reached (<duration>)\n",
        );
    project.goal(&["announced", "version=1.0"]).expect(
        0,
        "",
        "
        goal: reached announced version=1.0
        goal: summary: 0 ran, 1 already reached (<duration>)
        ",
    );
    assert!(!project.exists("log"), "nothing should have fired");
    assert!(server
        .requests()
        .iter()
        .any(|r| r == "GET /releases/3.0.tar.gz"));

    let started = Instant::now();
    let slow = server.url("/slow");
    project.goal(&["--dry-run", "slow"]).expect(
        1,
        &format!("would fire: slow  (timed out after 300ms waiting for {slow})\n"),
        &format!(
            "
            goal: note timed out after 300ms waiting for {slow}; counting the URL as missing
            goal: summary: 1 would fire, 0 may fire, 0 already reached (<duration>)
            "
        ),
    );
    assert!(started.elapsed() < Duration::from_millis(2500));
}

#[test]
fn an_unreachable_host_is_false_not_a_hang() {
    // A port nobody listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let project = Project::new().goalfile(&format!(
        r#"goal up {{ target {{ url-exists "http://127.0.0.1:{port}/" }}; run "true" }}"#
    ));
    let note = format!(
        "goal: note could not reach http://127.0.0.1:{port}/: connection refused; counting the URL as missing"
    );
    project.goal(&["--dry-run", "up"]).expect(
        1,
        &format!(
            "would fire: up  (could not reach http://127.0.0.1:{port}/: connection refused)\n"
        ),
        &format!(
            "{note}\ngoal: summary: 1 would fire, 0 may fire, 0 already reached (<duration>)\n"
        ),
    );
    // Linux's ephemeral ports all have five digits, so the message wraps at the same word.
    project.goal(&["up"]).expect(
        1,
        "",
        &format!(
            r#"
            {note}
            goal: start up
            {note}
            goal: FAILED up (<duration>)
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: up
            goal::broken-promise

              × `up` ran, but its target is still false: could not reach http://127.0.0.1:{port}/: connection
              │ refused
               ╭─[Goalfile:1:11]
             1 │ goal up {{ target {{ url-exists "http://127.0.0.1:{port}/" }}; run "true" }}
               ·           ───────────────────────┬───────────────────────
               ·                                  ╰── this target is still false
               ╰────
            "#
        ),
    );
}
