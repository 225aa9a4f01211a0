//! Output for other tools: `--json` (validated against the tables of spec/json.md) and
//! `goal graph` (Graphviz DOT, fed to the real `dot`).

use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::common::{repo_root, Project};
use crate::daemon::{wait_until, Daemon};
use crate::examples::example;

/// The fields spec/json.md documents for `kind`: each path (`goals[].name`) and its type, from
/// the table after `<!-- json-schema: KIND -->`.
fn documented_fields(kind: &str) -> Vec<(String, String)> {
    let spec = std::fs::read_to_string(repo_root().join("spec/json.md")).unwrap();
    let marker = format!("<!-- json-schema: {kind} -->");
    let table = spec
        .split_once(&marker)
        .unwrap_or_else(|| panic!("spec/json.md documents no `{kind}`"))
        .1;
    let fields: Vec<(String, String)> = table
        .lines()
        .skip(3) // the blank end of the comment's line, the header and its rule
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            (cells[1].trim_matches('`').to_string(), cells[2].to_string())
        })
        .collect();
    assert!(!fields.is_empty(), "the table of `{kind}` is empty");
    fields
}

/// The values at `path` in `document`: each `[]` goes into every element of an array. Every
/// field on the way must be there.
fn values_at<'v>(document: &'v Value, path: &str) -> Vec<&'v Value> {
    let mut values = vec![document];
    for segment in path.split('.') {
        let (name, each) = match segment.strip_suffix("[]") {
            Some(name) => (name, true),
            None => (segment, false),
        };
        values = values
            .into_iter()
            .map(|value| {
                value
                    .get(name)
                    .unwrap_or_else(|| panic!("no `{path}` in {value:#}"))
            })
            .flat_map(|value| match (each, value) {
                (true, Value::Array(elements)) => elements.iter().collect(),
                (true, other) => panic!("`{path}` is not an array: {other}"),
                (false, value) => vec![value],
            })
            .collect();
    }
    values
}

fn has_type(value: &Value, documented: &str) -> bool {
    documented.split(" or ").any(|kind| match kind {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => panic!("spec/json.md names an unknown type `{kind}`"),
    })
}

/// Checks `document` against what spec/json.md says of its kind: the version, every field
/// with its type, and every span.
pub(crate) fn validate(document: &Value, kind: &str) {
    assert_eq!(document["version"], json!(2), "{document:#}");
    assert_eq!(document["kind"], json!(kind), "{document:#}");
    let spans = documented_fields("span");
    for (path, documented) in documented_fields(kind) {
        for value in values_at(document, &path) {
            assert!(
                has_type(value, &documented),
                "`{path}` should be {documented}: {value}"
            );
            if path.ends_with("span") {
                for (field, documented) in &spans {
                    assert!(
                        has_type(&value[field.as_str()], documented),
                        "`{path}.{field}` should be {documented}: {value}"
                    );
                }
            }
        }
    }
}

/// The JSON `goal ARGS` prints, with its exit status; its standard error must be `stderr`.
#[track_caller]
fn json_of(project: &Project, args: &[&str], status: i32, stderr: &str) -> Value {
    let run = project.goal(args);
    run.status(status).stderr_is(stderr);
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", run.stdout))
}

/// That nothing ran and nothing was written: no recipe's file, no run log, an empty Memory.
#[track_caller]
fn nothing_written(project: &Project, recipe_output: &str) {
    assert!(!project.exists(recipe_output), "a recipe ran");
    assert!(!project.exists(".goal/logs"), "a dry run wrote a log");
    project.goal(&["memory", "list"]).expect(0, "", "");
}

const GREETINGS: &str = r##"
goal greeted name doc="greeting-NAME.txt says hello" {
    param name pattern=#"[A-Za-z]+"# default="world" doc="who to greet"
    target { file-exists "greeting-{name}.txt" }
    run "echo hello {name} > greeting-{name}.txt"
    memory-set "greeted-{name}" "yes"
}

goal all doc="Greet the world and Ada" {
    require greeted
    require greeted name="Ada"
}
"##;

#[test]
fn list_json_holds_goals_parameters_defaults_docs_spans_variables_and_jobs() {
    let project = Project::new().goalfile(
        r##"
let arch "x86_64"
var channel default="stable" doc="where releases go"
goal built pkg flavour doc="Build one package" {
    param pkg pattern=#"[a-z]+"# doc="the package"
    param flavour default="{arch}-release"
    run "echo {pkg} {flavour}"
}
transition packed cost="2" doc="Pack it" {
    when { lacks "xz"; }
    effects { add "xz"; }
    run "xz < {input} > {output}"
}
every "1 hour" name="hourly" { run "true" }
"##,
    );
    let document = json_of(&project, &["--list", "--json"], 0, "");
    validate(&document, "list");
    let span = |line, column, offset, length| json!({"file": "Goalfile", "line": line, "column": column, "offset": offset, "length": length});
    assert_eq!(
        document,
        json!({
            "version": 2,
            "kind": "list",
            "goals": [{
                "name": "built",
                "doc": "Build one package",
                "parameters": [
                    {
                        "name": "pkg",
                        "doc": "the package",
                        "pattern": "[a-z]+",
                        "default": null,
                        "computed_default": false,
                        "span": span(4, 12, 83, 3),
                    },
                    {
                        "name": "flavour",
                        "doc": null,
                        "pattern": null,
                        "default": null,
                        "computed_default": true,
                        "span": span(4, 16, 87, 7),
                    },
                ],
                "span": span(4, 1, 72, 175),
            }],
            "transitions": [{
                "name": "packed",
                "cost": "2",
                "doc": "Pack it",
                "span": span(9, 1, 248, 129),
            }],
            "variables": [{
                "name": "channel",
                "default": "stable",
                "computed_default": false,
                "doc": "where releases go",
                "span": span(3, 1, 19, 52),
            }],
            "jobs": [{"name": "hourly", "runs": "every 1h"}],
        })
    );
    // The text of --list is made from the same data.
    project.goal(&["--list"]).expect(
        0,
        r#"
        Goals:
            built pkg flavour  # Build one package
                pkg: the package; matches [a-z]+
        Transitions:
            packed (cost 2)  # Pack it
        Variables (goal set NAME=VALUE):
            channel="stable"  # where releases go
        Jobs (goal daemon, goal tick):
            hourly  # every 1h
        "#,
        "",
    );
}

#[test]
fn the_list_of_every_example_matches_the_schema() {
    for name in [
        "c-project",
        "commit-tests",
        "disk-image",
        "mass-rebuild",
        "version-release",
    ] {
        let project = example(name);
        let document = json_of(&project, &["--list", "--json"], 0, "");
        validate(&document, "list");
        assert!(
            !document["goals"].as_array().unwrap().is_empty(),
            "{name} has goals"
        );
    }
}

#[test]
fn dry_run_json_gives_each_instance_its_state_reason_and_requirements() {
    let project = Project::new()
        .goalfile(GREETINGS)
        .file("greeting-world.txt", "hello world\n");
    let document = json_of(
        &project,
        &["--dry-run", "--json"],
        1,
        "goal: summary: 1 would fire, 0 may fire, 1 already reached (0.00s)\n",
    );
    validate(&document, "dry-run");
    assert_eq!(
        document,
        json!({
            "version": 2,
            "kind": "dry-run",
            "instances": [
                {
                    "instance": "all",
                    "goal": "all",
                    "arguments": {},
                    "state": "may-fire",
                    "reason": "requires greeted name=Ada, which may fire first",
                    "requires": ["greeted name=world", "greeted name=Ada"],
                },
                {
                    "instance": "greeted name=world",
                    "goal": "greeted",
                    "arguments": {"name": "world"},
                    "state": "reached",
                    "reason": "its target holds",
                    "requires": [],
                },
                {
                    "instance": "greeted name=Ada",
                    "goal": "greeted",
                    "arguments": {"name": "Ada"},
                    "state": "would-fire",
                    "reason": "greeting-Ada.txt does not exist",
                    "requires": [],
                },
            ],
            "summary": {"would_fire": 1, "may_fire": 0, "reached": 1},
        })
    );
    nothing_written(&project, "greeting-Ada.txt");
}

#[test]
fn dry_run_json_of_a_goal_with_nothing_to_do_is_all_reached() {
    let project = Project::new()
        .goalfile(GREETINGS)
        .file("greeting-world.txt", "hello world\n");
    let document = json_of(
        &project,
        &["-n", "--json", "greeted"],
        0,
        "goal: reached greeted name=world\n\
         goal: summary: 0 would fire, 0 may fire, 1 already reached (0.00s)\n",
    );
    validate(&document, "dry-run");
    assert_eq!(
        document["instances"],
        json!([{
            "instance": "greeted name=world",
            "goal": "greeted",
            "arguments": {"name": "world"},
            "state": "reached",
            "reason": "its target holds",
            "requires": [],
        }])
    );
}

#[test]
fn dry_run_json_of_mass_rebuild_matches_the_schema_and_runs_nothing() {
    let project = example("mass-rebuild");
    let document = json_of(
        &project,
        &["-n", "--json"],
        1,
        "goal: summary: 12 would fire, 0 may fire, 0 already reached (0.00s)\n",
    );
    validate(&document, "dry-run");
    let instances = document["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 13, "{document:#}");
    assert_eq!(
        instances[0],
        json!({
            "instance": "all",
            "goal": "all",
            "arguments": {},
            "state": "may-fire",
            "reason": "requires rebuilt pkg=ocaml-app, which may fire first",
            "requires": ["rebuilt pkg=ocaml-app", "rebuilt pkg=ocaml-cmdliner"],
        })
    );
    nothing_written(&project, ".fakekoji");
}

#[test]
fn status_json_lists_the_latest_runs_with_their_results() {
    let project = Project::new().goalfile(
        r#"
goal good { run "true" }
goal bad { run "exit 3" }
goal all { require good; require bad }
"#,
    );
    project.goal(&["-k"]).status(1);
    let mut document = json_of(&project, &["status", "--json"], 0, "");
    validate(&document, "status");
    // When they started and how long they took change from run to run.
    for run in document["runs"].as_array_mut().unwrap() {
        assert!(run["seconds"].as_f64().unwrap() >= 0.0, "{run}");
        run["started"] = json!("<date>");
        run["seconds"] = json!("<seconds>");
    }
    assert_eq!(
        document,
        json!({
            "version": 2,
            "kind": "status",
            "runs": [
                {"instance": "good", "required_by": ["all"], "started": "<date>", "seconds": "<seconds>", "state": "ok", "result": "ok", "host": null, "log": null},
                {"instance": "bad", "required_by": ["all"], "started": "<date>", "seconds": "<seconds>", "state": "failed", "result": "failed (status 3)", "host": null, "log": null},
            ],
        })
    );
}

#[test]
fn status_json_without_runs_is_an_empty_list() {
    let project = Project::new().goalfile("goal all { run \"true\" }\n");
    let document = json_of(&project, &["status", "--json"], 0, "");
    validate(&document, "status");
    assert_eq!(
        document,
        json!({"version": 2, "kind": "status", "runs": []})
    );
}

#[test]
fn jobs_json_lists_the_jobs_and_the_ended_runs() {
    let project = Project::new().goalfile(
        r#"
every "1 hour" name="hourly" { run "true" }
var release default="none"
when "release" {
    condition { changed release }
    run "true"
}
"#,
    );
    let names = json_of(&project, &["jobs", "--names", "--json"], 0, "");
    validate(&names, "job-names");
    assert_eq!(
        names,
        json!({
            "version": 2,
            "kind": "job-names",
            "jobs": [
                {"name": "hourly", "runs": "every 1h"},
                {"name": "release", "runs": "when its condition turns true"},
            ],
        })
    );
    let ended = json_of(&project, &["jobs", "--ended", "--json"], 0, "");
    validate(&ended, "ended-jobs");
    assert_eq!(
        ended,
        json!({"version": 2, "kind": "ended-jobs", "jobs": []})
    );
}

#[test]
fn json_with_a_command_that_has_no_json_answer_is_an_error() {
    let project = Project::new().goalfile(GREETINGS);
    project.goal(&["all", "--json"]).expect(
        2,
        "",
        "
        goal::json-unsupported

          × --json goes only with --list, --dry-run, `goal status` and `goal jobs`
          help: add --dry-run to see as JSON what a run would do
        ",
    );
    for args in [["vars", "--json"], ["graph", "--json"]] {
        project.goal(&args).expect(
            2,
            "",
            "
        goal::json-unsupported

          × --json goes only with --list, --dry-run, `goal status` and `goal jobs`
        ",
        );
    }
    nothing_written(&project, "greeting-world.txt");
}

/// `dot -Tsvg` of `dot_text`: the SVG it drew.
fn svg_of(dot_text: &str) -> String {
    use std::io::Write;
    let mut dot = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("Graphviz's `dot` (apt-get install graphviz)");
    dot.stdin
        .take()
        .unwrap()
        .write_all(dot_text.as_bytes())
        .unwrap();
    let output = dot.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.is_empty(),
        "dot refused it: {stderr}\n{dot_text}"
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn graph_draws_the_instances_a_dry_run_sees_with_their_states() {
    let project = Project::new()
        .goalfile(GREETINGS)
        .file("greeting-world.txt", "hello world\n");
    let run = project.goal(&["graph"]);
    run.expect(
        0,
        r##"
        digraph goal {
            node [shape=box, style="rounded,filled", fontname="Helvetica"];
            i0 [label="all\nmay fire", fillcolor="#fff3bf"];
            i1 [label="greeted name=world\nreached", fillcolor="#d5f5d5"];
            i2 [label="greeted name=Ada\nwould fire", fillcolor="#ffd8a8"];
            i0 -> i1;
            i0 -> i2;
        }
        "##,
        "goal: summary: 1 would fire, 0 may fire, 1 already reached (0.00s)\n",
    );
    let svg = svg_of(&run.stdout);
    assert!(svg.contains("<svg"), "{svg}");
    assert!(svg.contains("greeted name=Ada"), "{svg}");
    nothing_written(&project, "greeting-Ada.txt");
}

#[test]
fn graph_of_a_named_instance_escapes_what_dot_would_read() {
    let project = Project::new().goalfile(GREETINGS);
    let run = project.goal(&["graph", "greeted", "name=Ada"]);
    run.expect(
        0,
        r##"
        digraph goal {
            node [shape=box, style="rounded,filled", fontname="Helvetica"];
            i0 [label="greeted name=Ada\nwould fire", fillcolor="#ffd8a8"];
        }
        "##,
        "goal: summary: 1 would fire, 0 may fire, 0 already reached (0.00s)\n",
    );
    svg_of(&run.stdout);
    let quoting = Project::new().goalfile("goal said text { run \"echo {text}\" }\n");
    let run = quoting.goal(&["graph", "said", r#"text=a "b" \c"#]);
    run.expect(
        0,
        r##"
        digraph goal {
            node [shape=box, style="rounded,filled", fontname="Helvetica"];
            i0 [label="said text='a \"b\" \\c'\nwould fire", fillcolor="#ffd8a8"];
        }
        "##,
        "goal: summary: 1 would fire, 0 may fire, 0 already reached (0.00s)\n",
    );
    assert!(svg_of(&run.stdout).contains(r#"said text=&#39;a &quot;b&quot; \c&#39;"#));
}

#[test]
fn graph_of_mass_rebuild_is_drawn_by_dot() {
    let project = example("mass-rebuild");
    let run = project.goal(&["graph"]);
    run.status(0);
    let svg = svg_of(&run.stdout);
    assert_eq!(svg.matches("class=\"node\"").count(), 13, "{svg}");
    assert_eq!(svg.matches("class=\"edge\"").count(), 16, "{svg}");
    nothing_written(&project, ".fakekoji");
}

#[test]
fn graph_last_run_shows_what_ran_how_long_what_failed_and_what_required_it() {
    let project = Project::new().goalfile(
        r#"
goal good { run "echo fine" }
goal bad { run "exit 3" }
goal middle { require good }
goal all { require middle; require bad }
"#,
    );
    project.goal(&["-k"]).status(1);
    let run = project.goal(&["graph", "--last-run"]);
    run.expect(
        0,
        r##"
        digraph "last run" {
            node [shape=box, style="rounded,filled", fontname="Helvetica"];
            r1 [label="good\nok, 0.00s", fillcolor="#d5f5d5"];
            r2 [label="bad\nfailed (status 3), 0.00s", fillcolor="#ffc9c9"];
            n1 [label="middle\nno recipe run", fillcolor="#ffffff"];
            n2 [label="all\nno recipe run", fillcolor="#ffffff"];
            n1 -> r1;
            n2 -> n1;
            n2 -> r2;
        }
        "##,
        "",
    );
    let svg = svg_of(&run.stdout);
    assert_eq!(svg.matches("class=\"edge\"").count(), 3, "{svg}");
}

#[test]
fn graph_last_run_reads_logs_written_before_requirements_were_kept() {
    let project = Project::new().goalfile("goal all { run \"true\" }\n").file(
        ".goal/logs/20261123T103151.123Z-4242/index",
        "start\t1\t2026-11-23T10:31:51.123Z\t001-all.log\tall\n\
             end\t1\t2026-11-23T10:31:51.623Z\texit 0\tsilent\n",
    );
    project.goal(&["graph", "--last-run"]).expect(
        0,
        r##"
        digraph "last run" {
            node [shape=box, style="rounded,filled", fontname="Helvetica"];
            r1 [label="all\nok, 0.50s", fillcolor="#d5f5d5"];
        }
        "##,
        "",
    );
}

#[test]
fn graph_last_run_without_a_run_says_so() {
    let project = Project::new().goalfile("goal all { run \"true\" }\n");
    project.goal(&["graph", "--last-run"]).expect(
        1,
        "",
        "
        goal::no-log

          × no recipe run is recorded in .goal/logs
          help: a run of goal keeps the output of every recipe it runs
        ",
    );
}

const ONE_FAILS: &str = r#"
goal broken {
    let version output="exit 4"
    run "echo {version} > version.txt"
}
goal fine { run "touch fine.txt" }
goal all { require broken; require fine }
"#;

/// The diagnostic of ONE_FAILS's failure, after the summary.
const ONE_FAILS_STDERR: &str = "
    goal: summary: 1 would fire, 0 may fire, 0 already reached, 1 failed (0.00s)
    goal: failed: broken
    goal::command-failed

      × the command of this `let` exited with status 4: exit 4
       ╭─[Goalfile:3:5]
     2 │ goal broken {
     3 │     let version output=\"exit 4\"
       ·     ─────────────┬─────────────
       ·                  ╰── this command failed
     4 │     run \"echo {version} > version.txt\"
       ╰────
      help: required by all
    ";

#[test]
fn dry_run_json_with_keep_going_shows_what_failed_and_why() {
    let project = Project::new().goalfile(ONE_FAILS);
    let document = json_of(&project, &["-n", "-k", "--json"], 1, ONE_FAILS_STDERR);
    validate(&document, "dry-run");
    assert_eq!(
        document["instances"],
        json!([
            {
                "instance": "all",
                "goal": "all",
                "arguments": {},
                "state": "failed",
                "reason": "requires broken, which failed",
                "requires": ["broken", "fine"],
            },
            {
                "instance": "broken",
                "goal": "broken",
                "arguments": {},
                "state": "failed",
                "reason": "the command of this `let` exited with status 4: exit 4",
                "requires": [],
            },
            {
                "instance": "fine",
                "goal": "fine",
                "arguments": {},
                "state": "would-fire",
                "reason": "it has no target",
                "requires": [],
            },
        ])
    );
    nothing_written(&project, "fine.txt");
}

#[test]
fn a_dry_run_stopped_by_a_failure_prints_no_document_and_no_graph() {
    let project = Project::new().goalfile(ONE_FAILS);
    // It stopped at the failure, before it met `fine`.
    let stderr = ONE_FAILS_STDERR.replace(
        "1 would fire, 0 may fire, 0 already reached, 1 failed",
        "0 would fire, 0 may fire, 0 already reached, 1 failed",
    );
    project.goal(&["-n", "--json"]).expect(1, "", &stderr);
    project.goal(&["graph"]).expect(1, "", &stderr);
    nothing_written(&project, "fine.txt");
}

#[test]
fn graph_with_keep_going_draws_what_failed_in_red() {
    let project = Project::new().goalfile(ONE_FAILS);
    let run = project.goal(&["graph", "-k"]);
    run.expect(
        1,
        r##"
        digraph goal {
            node [shape=box, style="rounded,filled", fontname="Helvetica"];
            i0 [label="all\nfailed", fillcolor="#ffc9c9"];
            i1 [label="broken\nfailed", fillcolor="#ffc9c9"];
            i2 [label="fine\nwould fire", fillcolor="#ffd8a8"];
            i0 -> i1;
            i0 -> i2;
        }
        "##,
        ONE_FAILS_STDERR,
    );
    svg_of(&run.stdout);
    nothing_written(&project, "fine.txt");
}

#[test]
fn a_plan_in_a_dry_run_with_json_keeps_standard_output_for_the_document() {
    let project = Project::new().goalfile(
        r#"
transition decompress cost="2" {
    when { has "xz"; }
    effects { remove "xz"; }
    run "xzcat {input} > {output}"
}

goal image {
    plan from="disk.xz" to="disk" {
        start output="echo xz"
        want { lacks "xz"; }
    }
}
"#,
    );
    let document = json_of(
        &project,
        &["-n", "--json", "image"],
        1,
        "goal: plan  image: decompress (2), total cost 2\n\
         goal: summary: 1 would fire, 0 may fire, 0 already reached (0.00s)\n",
    );
    validate(&document, "dry-run");
    assert_eq!(
        document["instances"],
        json!([{
            "instance": "image",
            "goal": "image",
            "arguments": {},
            "state": "would-fire",
            "reason": "it has no target",
            "requires": [],
        }])
    );
    nothing_written(&project, "disk");
}

#[test]
fn jobs_json_lists_the_daemons_running_and_ended_runs() {
    let project = Project::new().goalfile(
        r#"
every cron="0 0 1 1 *" name="slow" {
    run "touch started; sleep 60 & echo $! > sleep.pid; wait"
}
"#,
    );
    let _daemon = Daemon::start(&project);
    project.goal(&["job", "start", "slow"]).success();
    wait_until("the recipe", || project.exists("sleep.pid"));
    let mut running = json_of(&project, &["jobs", "--json"], 0, "");
    validate(&running, "jobs");
    // When it started, its pid and its log's path change from run to run.
    let job = &mut running["jobs"][0];
    assert!(job["log"].as_str().unwrap().ends_with(".log"), "{job}");
    for field in ["started", "pid", "log"] {
        job[field] = json!("<varies>");
    }
    assert_eq!(
        running,
        json!({
            "version": 2,
            "kind": "jobs",
            "jobs": [{"serial": "1", "job": "every slow", "started": "<varies>", "pid": "<varies>", "log": "<varies>"}],
        })
    );
    project
        .goal(&["job", "cancel", "1"])
        .expect(0, "goal: job 1 is stopping\n", "");
    wait_until("the run to end", || {
        project
            .goal(&["jobs", "--ended"])
            .stdout
            .contains("cancelled")
    });
    let mut ended = json_of(&project, &["jobs", "--ended", "--json"], 0, "");
    validate(&ended, "ended-jobs");
    let job = &mut ended["jobs"][0];
    for field in ["started", "took"] {
        job[field] = json!("<varies>");
    }
    assert_eq!(
        ended,
        json!({
            "version": 2,
            "kind": "ended-jobs",
            "jobs": [{"serial": "1", "job": "every slow", "started": "<varies>", "took": "<varies>", "result": "cancelled"}],
        })
    );
}

#[test]
fn a_recipe_before_a_target_that_holds_gives_the_reason_it_would_fire() {
    let project = Project::new().goalfile(
        r#"
goal prepared {
    run "touch prepared"
    target { file-exists "Goalfile" }
}
"#,
    );
    let document = json_of(
        &project,
        &["-n", "--json", "prepared"],
        1,
        "goal: summary: 1 would fire, 0 may fire, 0 already reached (0.00s)\n",
    );
    assert_eq!(
        document["instances"],
        json!([{
            "instance": "prepared",
            "goal": "prepared",
            "arguments": {},
            "state": "would-fire",
            "reason": "it runs a recipe before its target",
            "requires": [],
        }])
    );
    nothing_written(&project, "prepared");
}

#[test]
fn the_picture_of_mass_rebuild_in_the_guide_shows_the_graph_goal_draws_today() {
    let project = example("mass-rebuild");
    let run = project.goal(&["graph"]);
    run.status(0);
    let picture = std::fs::read_to_string(repo_root().join("docs/mass-rebuild.svg")).unwrap();
    // Graphviz writes each line of a label as a text element, with `-` as `&#45;`.
    let labels: Vec<String> = run
        .stdout
        .lines()
        .filter_map(|line| line.split_once("label=\"")?.1.split_once('"'))
        .flat_map(|(label, _)| label.split("\\n").map(str::to_string).collect::<Vec<_>>())
        .collect();
    assert_eq!(labels.len(), 26, "{}", run.stdout);
    for label in labels {
        let drawn = format!(">{}</text>", label.replace('-', "&#45;"));
        assert!(
            picture.contains(&drawn),
            "docs/mass-rebuild.svg lacks `{label}`: draw it again with \
             `goal graph | dot -Tsvg > docs/mass-rebuild.svg` in a fresh copy of the example"
        );
    }
    assert_eq!(
        picture.matches("class=\"edge\"").count(),
        run.stdout.matches(" -> ").count()
    );
}
