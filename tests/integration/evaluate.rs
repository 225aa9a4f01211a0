//! The evaluator end to end: real Goalfiles, the real binary, real files and the real Memory.

use crate::common;

use common::Project;

#[test]
fn a_goal_whose_target_holds_is_skipped_the_second_time() {
    let project = Project::new().goalfile(
        r#"
goal all {
    target { file-exists "out.txt" }
    run "echo made >> log; echo x > out.txt"
}
"#,
    );
    project.goal(&[]).expect(
        0,
        "",
        "
            goal: start all
            goal: done  all (<duration>)
            goal: summary: 1 ran, 0 already reached (<duration>)
            ",
    );
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: reached all
        goal: summary: 0 ran, 1 already reached (<duration>)
        ",
    );
    assert_eq!(project.read("log"), "made\n");
}

#[test]
fn where_the_target_stands_decides_whether_requirements_run_first() {
    let goalfile = r#"
goal dep {
    run "echo dep >> log"
}
goal make-order {
    require dep
    target { file-exists "done" }
    run "echo make-order >> log"
}
goal goal-first {
    target { file-exists "done" }
    require dep
    run "echo goal-first >> log"
}
"#;
    let project = Project::new().goalfile(goalfile).file("done", "");
    project.goal(&["make-order"]).expect(
        0,
        "",
        "
        goal: start dep
        goal: done  dep (<duration>)
        goal: reached make-order
        goal: summary: 1 ran, 1 already reached (<duration>)
        ",
    );
    assert_eq!(
        project.read("log"),
        "dep\n",
        "requirements run before the target"
    );
    project.goal(&["goal-first"]).expect(
        0,
        "",
        "
        goal: reached goal-first
        goal: summary: 0 ran, 1 already reached (<duration>)
        ",
    );
    assert_eq!(
        project.read("log"),
        "dep\n",
        "a true target first skips everything"
    );
}

#[test]
fn an_instance_is_reached_once_per_invocation() {
    let project = Project::new().goalfile(
        r#"
goal shared x {
    run "echo shared-{x} >> log"
}
goal a { require shared x="1" }
goal b { require shared x="1"; require shared x="2" }
goal all { require a; require b; require shared x="1" }
"#,
    );
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start shared x=1
        goal: done  shared x=1 (<duration>)
        goal: start shared x=2
        goal: done  shared x=2 (<duration>)
        goal: summary: 2 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.read("log"), "shared-1\nshared-2\n");
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start shared x=1
        goal: done  shared x=1 (<duration>)
        goal: start shared x=2
        goal: done  shared x=2 (<duration>)
        goal: summary: 2 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(
        project.read("log"),
        "shared-1\nshared-2\nshared-1\nshared-2\n",
        "a goal without a target runs on every invocation"
    );
}

#[test]
fn a_cycle_found_at_run_time_names_the_chain() {
    let project = Project::new().goalfile(
        r#"
goal chain n {
    let next output="echo $(( ($n + 1) % 3 ))"
    require chain n="{next}"
}
"#,
    );
    project.goal(&["chain", "n=0"]).expect(
        1,
        "",
        r#"
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: chain n=2
            goal::requirement-cycle

              × requirement cycle: chain n=0 → chain n=1 → chain n=2 → chain n=0
               ╭─[Goalfile:4:5]
             3 │     let next output="echo $(( ($n + 1) % 3 ))"
             4 │     require chain n="{next}"
               ·     ────────────┬───────────
               ·                 ╰── this requirement closes the cycle
             5 │ }
               ╰────
            "#,
    );
}

#[test]
fn a_broken_promise_fails_the_goal_and_names_it() {
    let project = Project::new().goalfile(
        r#"
goal made name {
    target { file-exists "{name}.out" }
    run "echo not making it"
}
goal all { require made name="thing" }
"#,
    );
    project.goal(&[]).expect(
        1,
        "not making it\n",
        r#"
            goal: start made name=thing
            goal: FAILED made name=thing (<duration>)
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: made name=thing
            goal::broken-promise

              × `made name=thing` ran, but its target is still false: thing.out does not exist
               ╭─[Goalfile:3:5]
             2 │ goal made name {
             3 │     target { file-exists "{name}.out" }
               ·     ─────────────────┬─────────────────
               ·                      ╰── this target is still false
             4 │     run "echo not making it"
               ╰────
              help: required by all
            "#,
    );
}

#[test]
fn a_failing_recipe_stops_the_run_with_its_status() {
    let project = Project::new().goalfile(
        r#"
goal broken pkg {
    run "echo before; exit 3; echo after"
}
goal all {
    require broken pkg="x y"
    run "echo never > never"
}
"#,
    );
    project.goal(&[]).expect(
        1,
        "before\n",
        r#"
            goal: start broken pkg='x y'
            goal: FAILED broken pkg='x y' (<duration>)
            goal: blocked all (requires broken pkg='x y', which failed)
            goal: summary: 0 ran, 0 already reached, 1 failed, 1 blocked (<duration>)
            goal: failed: broken pkg='x y'
            goal: blocked: all
            goal::recipe-failed

              × `broken pkg='x y'` failed: its recipe exited with status 3
               ╭─[Goalfile:3:5]
             2 │ goal broken pkg {
             3 │     run "echo before; exit 3; echo after"
               ·     ──────────────────┬──────────────────
               ·                       ╰── this recipe
             4 │ }
               ╰────
              help: required by all
                    its output is in .goal/logs/<run>/001-broken_pkg=_x_y.log
            "#,
    );
    assert!(!project.exists("never"));
}

#[test]
fn a_multi_line_recipe_stops_at_its_first_failing_command() {
    let project = Project::new().goalfile(
        "goal all {\n    run \"\"\"\n        echo one >> log\n        false\n        echo two >> log\n        \"\"\"\n}\n",
    );
    project.goal(&[]).expect(
        1,
        "",
        r#"
        goal: start all
        goal: FAILED all (<duration>)
        goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
        goal: failed: all
        goal::recipe-failed

          × `all` failed: its recipe exited with status 1
           ╭─[Goalfile:2:5]
         1 │     goal all {
         2 │ ╭─▶     run """
         3 │ │           echo one >> log
         4 │ │           false
         5 │ │           echo two >> log
         6 │ ├─▶         """
           · ╰──── this recipe
         7 │     }
           ╰────
        "#,
    );
    assert_eq!(project.read("log"), "one\n");
}

#[test]
fn hostile_parameter_values_stay_one_word() {
    let project = Project::new().goalfile(
        r#"
goal echo v {
    run "printf '%s' {v} > out; printf '%s' \"$v\" > env-out"
}
"#,
    );
    let values = [
        "it's",
        "a; touch pwned",
        "$(touch pwned)",
        "`touch pwned`",
        "two\nlines",
        "  spaced  out ",
        "{a,b}",
        "!x",
        "\"double\"",
        "back\\slash",
    ];
    for value in values {
        let arg = format!("v={value}");
        project.goal(&["echo", &arg]).success();
        assert_eq!(project.read("out"), value, "quoted in the recipe");
        assert_eq!(project.read("env-out"), value, "as an environment variable");
        assert!(!project.exists("pwned"), "{value:?} ran a command");
    }
}

#[test]
fn globals_and_lets_are_environment_variables_and_templates() {
    let project = Project::new().goalfile(
        r#"
let greeting "hello"
let shout output="echo LOUD"
goal all {
    let who "world"
    run "echo {greeting} $greeting {who} $who $shout {shout} > out"
}
"#,
    );
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start all
        goal: done  all (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.read("out"), "hello hello world world LOUD LOUD\n");
}

#[test]
fn filters_shape_paths() {
    let project = Project::new().goalfile(
        r#"
goal all {
    let f "src/deep/file.tar.gz"
    run "echo {f|base} {f|dir} {f|stem} {f|ext} {f|noext} {f|trim-suffix:.gz}.xz {f|replace:/:_} > out"
}
"#,
    );
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start all
        goal: done  all (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(
        project.read("out"),
        "file.tar.gz src/deep file.tar gz src/deep/file.tar src/deep/file.tar.xz src_deep_file.tar.gz\n"
    );
}

#[test]
fn for_loops_over_lists_globs_output_and_words() {
    let project = Project::new()
        .goalfile(
            r#"
let names "x y"
goal seen item { run "echo {item} >> log" }
goal all {
    for i "a" "b" { require seen item="list-{i}" }
    for f glob="src/*.c" { require seen item="glob-{f|stem}" }
    for line output="printf 'one\n\n two \n'" { require seen item="out-{line}" }
    for w words="{names}" { require seen item="word-{w}" }
}
"#,
        )
        .file("src/b.c", "")
        .file("src/a.c", "");
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start seen item=list-a
        goal: done  seen item=list-a (<duration>)
        goal: start seen item=list-b
        goal: done  seen item=list-b (<duration>)
        goal: start seen item=glob-a
        goal: done  seen item=glob-a (<duration>)
        goal: start seen item=glob-b
        goal: done  seen item=glob-b (<duration>)
        goal: start seen item=out-one
        goal: done  seen item=out-one (<duration>)
        goal: start seen item=out-two
        goal: done  seen item=out-two (<duration>)
        goal: start seen item=word-x
        goal: done  seen item=word-x (<duration>)
        goal: start seen item=word-y
        goal: done  seen item=word-y (<duration>)
        goal: summary: 8 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(
        project.read("log"),
        "list-a\nlist-b\nglob-a\nglob-b\nout-one\nout-two\nword-x\nword-y\n"
    );
}

#[test]
fn file_newer_follows_makes_rule() {
    let project = Project::new()
        .goalfile(
            r#"
goal all {
    target { file-newer "out" than="in" }
    run "echo built >> log; cp in out"
}
"#,
        )
        .file("in", "1");
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start all
        goal: done  all (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: reached all
        goal: summary: 0 ran, 1 already reached (<duration>)
        ",
    );
    assert_eq!(project.read("log"), "built\n");
    // A target older than its source fires again.
    let earlier = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    let file = std::fs::File::options()
        .write(true)
        .open(project.path().join("out"))
        .unwrap();
    file.set_modified(earlier).unwrap();
    project.goal(&["--dry-run"]).expect(
        1,
        "would fire: all  (out is older than in)\n",
        "goal: summary: 1 would fire, 0 may fire, 0 already reached (<duration>)\n",
    );
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start all
        goal: done  all (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.read("log"), "built\nbuilt\n");
}

#[test]
fn a_missing_source_makes_file_newer_false() {
    let project = Project::new()
        .goalfile(r#"goal all { target { file-newer "out" than="missing" }; run "touch out" }"#)
        .file("out", "");
    project.goal(&["--dry-run"]).expect(
        1,
        "would fire: all  (its source missing does not exist)\n",
        "goal: summary: 1 would fire, 0 may fire, 0 already reached (<duration>)\n",
    );
}

#[test]
fn sh_and_output_predicates() {
    let project = Project::new().goalfile(
        r#"
goal by-sh { target { sh "test -f flag" }; run "touch flag" }
goal by-output {
    target { output "cat state 2>/dev/null || true" matches="^(Building|Complete)$" }
    run "echo Complete > state"
}
goal by-equals {
    target { output "cat answer 2>/dev/null || true" equals="42" }
    run "echo 42 > answer"
}
goal all { require by-sh; require by-output; require by-equals }
"#,
    );
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start by-sh
        goal: done  by-sh (<duration>)
        goal: start by-output
        goal: done  by-output (<duration>)
        goal: start by-equals
        goal: done  by-equals (<duration>)
        goal: summary: 3 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&[]).expect(
        0,
        "",
        "goal: summary: 0 ran, 3 already reached (<duration>)\n",
    );
}

#[test]
fn all_any_not_are_lazy() {
    let project = Project::new()
        .goalfile(
            r#"
goal all {
    target {
        any { file-exists "yes"; sh "touch any-evaluated-too-far" }
        all { not { file-exists "no" }; file-exists "yes" }
        not { all { file-exists "no"; sh "touch all-evaluated-too-far" } }
    }
    run "exit 1"
}
"#,
        )
        .file("yes", "");
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: reached all
        goal: summary: 0 ran, 1 already reached (<duration>)
        ",
    );
    assert!(!project.exists("any-evaluated-too-far"));
    assert!(!project.exists("all-evaluated-too-far"));
}

#[test]
fn user_predicates_bind_parameters_by_name() {
    let project = Project::new().goalfile(
        r#"
predicate marked name doc="A marker file exists" {
    file-exists "{name}.mark"
}
goal mark name {
    target { marked name="{name}" }
    run "touch {name}.mark"
}
goal all { require mark name="a"; require mark name="b" }
"#,
    );
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start mark name=a
        goal: done  mark name=a (<duration>)
        goal: start mark name=b
        goal: done  mark name=b (<duration>)
        goal: summary: 2 ran, 0 already reached (<duration>)
        ",
    );
    assert!(project.exists("a.mark") && project.exists("b.mark"));
    project.goal(&[]).expect(
        0,
        "",
        "goal: summary: 0 ran, 2 already reached (<duration>)\n",
    );
}

#[test]
fn parameters_from_the_command_line_are_checked_before_anything_runs() {
    let project = Project::new().goalfile(
        r##"
goal build pkg version {
    param pkg pattern=#"[a-z][a-z0-9-]*"#
    param version default="1.0"
    run "echo {pkg}-{version} >> log"
}
"##,
    );
    project.goal(&["build", "pkg=foo"]).expect(
        0,
        "",
        "
        goal: start build pkg=foo version=1.0
        goal: done  build pkg=foo version=1.0 (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["build", "pkg=bar", "version=2"]).expect(
        0,
        "",
        "
        goal: start build pkg=bar version=2
        goal: done  build pkg=bar version=2 (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.read("log"), "foo-1.0\nbar-2\n");
    project.goal(&["biuld", "pkg=x"]).expect(
        2,
        "",
        "
            goal::unknown-goal

              × there is no goal `biuld` in the Goalfile
              help: did you mean `build`?
            ",
    );
    project.goal(&["build", "pkj=x"]).expect(
        2,
        "",
        "
            goal::unknown-param

              × `build` has no parameter `pkj`
              help: did you mean `pkg`?
            ",
    );
    project.goal(&["build"]).expect(
        2,
        "",
        "
            goal::missing-param

              × `build` needs a value for its parameter `pkg`
              help: pass it as pkg=VALUE
            ",
    );
    project.goal(&["build", "pkg=Bad;rm"]).expect(
        2,
        "",
        r##"
            goal::pattern-mismatch

              × the value "Bad;rm" of `build`'s parameter `pkg` does not match its pattern
               ╭─[Goalfile:3:23]
             2 │ goal build pkg version {
             3 │     param pkg pattern=#"[a-z][a-z0-9-]*"#
               ·                       ─────────┬─────────
               ·                                ╰── the pattern it must match
             4 │     param version default="1.0"
               ╰────
            "##,
    );
    project.goal(&["pkg=x"]).expect(
        2,
        "",
        "
            goal::argument-before-goal

              × `pkg=x` binds a parameter, but no goal is named before it
              help: name the goal first: goal GOAL name=value
            ",
    );
    // A bad request anywhere on the line stops everything before it runs.
    project
        .goal(&["build", "pkg=ok", "build", "pkg=NO"])
        .expect(
            2,
            "",
            r##"
            goal::pattern-mismatch

              × the value "NO" of `build`'s parameter `pkg` does not match its pattern
               ╭─[Goalfile:3:23]
             2 │ goal build pkg version {
             3 │     param pkg pattern=#"[a-z][a-z0-9-]*"#
               ·                       ─────────┬─────────
               ·                                ╰── the pattern it must match
             4 │     param version default="1.0"
               ╰────
            "##,
        );
    assert_eq!(project.read("log"), "foo-1.0\nbar-2\n");
}

#[test]
fn several_goals_in_one_call_run_in_order() {
    let project = Project::new().goalfile(
        r#"
goal say word { run "echo {word} >> log" }
"#,
    );
    project
        .goal(&["say", "word=one", "say", "word=two"])
        .expect(
            0,
            "",
            "
            goal: start say word=one
            goal: done  say word=one (<duration>)
            goal: start say word=two
            goal: done  say word=two (<duration>)
            goal: summary: 2 ran, 0 already reached (<duration>)
            ",
        );
    assert_eq!(project.read("log"), "one\ntwo\n");
}

#[test]
fn the_goalfile_is_found_above_and_commands_run_beside_it() {
    let project = Project::new()
        .goalfile(r#"goal all { run "pwd > where" }"#)
        .file("deep/er/.keep", "");
    let out = project
        .command(&[])
        .current_dir(project.path().join("deep/er"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success());
    let where_ = project.read("where");
    assert_eq!(
        std::fs::canonicalize(where_.trim()).unwrap(),
        std::fs::canonicalize(project.path()).unwrap()
    );
    project.goal(&["-C", "deep", "--dry-run"]).expect(
        1,
        "would fire: all  (it has no target)\n",
        "goal: summary: 1 would fire, 0 may fire, 0 already reached (<duration>)\n",
    );
    project.goal(&["-f", "nowhere/Goalfile"]).expect(
        2,
        "",
        "
            goal::no-goalfile

              × there is no Goalfile `nowhere/Goalfile`
            ",
    );
}

#[test]
fn no_goalfile_is_a_clear_error() {
    let project = Project::new();
    project.goal(&[]).expect(
        2,
        "",
        "
            goal::no-goalfile

              × no Goalfile in /tmp/project or any directory above it
              help: create one, or name one with -f FILE or a directory with -C DIR
            ",
    );
}

#[test]
fn without_an_all_goal_a_goal_must_be_named() {
    let project = Project::new().goalfile(r#"goal other { run "true" }"#);
    project.goal(&[]).expect(
        2,
        "",
        "
            goal::no-default-goal

              × no goal was named and the Goalfile has no goal `all`
              help: name a goal (`goal --list` shows them), or add `goal all { … }`
            ",
    );
}

#[test]
fn dry_run_reports_would_fire_and_may_fire_and_runs_nothing() {
    let project = Project::new().goalfile(
        r#"
goal leaf {
    target { file-exists "leaf" }
    run "touch leaf"
}
goal middle {
    require leaf
    target { file-exists "middle" }
    run "touch middle"
}
goal all {
    require middle
    memory-set "done" "yes"
}
"#,
    );
    project.goal(&["--dry-run"]).expect(
        1,
        "
        would fire: leaf  (leaf does not exist)
        may fire:   middle  (requires leaf, which may fire first)
        may fire:   all  (requires middle, which may fire first)
        ",
        "goal: summary: 1 would fire, 2 may fire, 0 already reached (<duration>)\n",
    );
    assert!(!project.exists("leaf"));
    project.goal(&["memory", "get", "done"]).expect(1, "", "");
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start leaf
        goal: done  leaf (<duration>)
        goal: start middle
        goal: done  middle (<duration>)
        goal: start all
        goal: done  all (<duration>)
        goal: summary: 3 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["--dry-run"]).expect(
        1,
        "would fire: all  (it has no target)\n",
        "goal: summary: 1 would fire, 0 may fire, 2 already reached (<duration>)\n",
    );
}

#[test]
fn explain_says_why() {
    let project = Project::new()
        .goalfile(
            r#"
goal a { target { file-exists "a" }; run "touch a" }
goal b { target { file-exists "b" }; run "touch b" }
goal all { require a; require b }
"#,
        )
        .file("a", "");
    project.goal(&["--explain"]).expect(
        0,
        "",
        "
            goal: explain a: already reached: the files exist
            goal: explain b: fires: b does not exist
            goal: start b
            goal: done  b (<duration>)
            goal: summary: 1 ran, 1 already reached (<duration>)
            ",
    );
}

#[test]
fn quiet_and_verbose() {
    let project = Project::new().goalfile(
        r#"
goal made { target { file-exists "made" }; run "touch made" }
goal all { require made; run "echo recipe-output" }
"#,
    );
    project.goal(&["-q"]).expect(0, "recipe-output\n", "");
    project.goal(&["-v"]).expect(
        0,
        "recipe-output\n",
        "
            goal: reached made
            goal: start all
            goal: run echo recipe-output
            goal: done  all (<duration>)
            goal: summary: 1 ran, 1 already reached (<duration>)
            ",
    );
}

#[test]
fn verbose_shows_every_command_before_it_runs() {
    let project = Project::new().goalfile(
        r#"
let version output="echo 1.2"
goal listed {
    target { sh "test -e listed" }
    let files output="echo a b"
    for f output="echo x" {
        run "echo {f} {files} {version}"
    }
    run "touch listed"
}
"#,
    );
    // The commands of `let output=`, `for output=` and `sh` are shown like recipes; the
    // target's command twice, as it is checked again after the body (the promise).
    project.goal(&["-v", "listed"]).expect(
        0,
        "x a b 1.2\n",
        "
        goal: run echo 1.2
        goal: run test -e listed
        goal: run echo a b
        goal: run echo x
        goal: start listed
        goal: run echo 'x' 'a b' '1.2'
        goal: run touch listed
        goal: run test -e listed
        goal: done  listed (0.00s)
        goal: summary: 1 ran, 0 already reached (0.01s)
        ",
    );
}

#[test]
fn memory_statements_and_predicates() {
    let project = Project::new().goalfile(
        r#"
goal tested commit {
    target { memory-exists "tested-{commit}" }
    run "echo testing {commit} >> log"
    memory-set "tested-{commit}" "ok"
}
goal pinned {
    target { memory-equals "version" "2" }
    memory-set "version" "2"
}
goal forget { memory-delete "tested-abc" }
"#,
    );
    project.goal(&["tested", "commit=abc", "pinned"]).expect(
        0,
        "",
        "
        goal: start tested commit=abc
        goal: done  tested commit=abc (<duration>)
        goal: start pinned
        goal: done  pinned (<duration>)
        goal: summary: 2 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["tested", "commit=abc", "pinned"]).expect(
        0,
        "",
        "
            goal: reached tested commit=abc
            goal: reached pinned
            goal: summary: 0 ran, 2 already reached (<duration>)
            ",
    );
    assert_eq!(project.read("log"), "testing abc\n");
    project
        .goal(&["memory", "get", "tested-abc"])
        .expect(0, "ok\n", "");
    project.goal(&["forget"]).expect(
        0,
        "",
        "
        goal: start forget
        goal: done  forget (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["tested", "commit=abc"]).expect(
        0,
        "",
        "
        goal: start tested commit=abc
        goal: done  tested commit=abc (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.read("log"), "testing abc\ntesting abc\n");
}

#[test]
fn memo_remembers_a_true_answer_and_can_expire() {
    let project = Project::new().goalfile(
        r#"
goal checked {
    target { memo "slow-check" { sh "echo asked >> asked; test -f ok" } }
    run "touch ok"
}
goal brief {
    target { memo "brief-check" for="2s" { sh "echo asked >> brief; true" } }
}
"#,
    );
    project.goal(&["checked"]).expect(
        0,
        "",
        "
        goal: start checked
        goal: done  checked (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    project.goal(&["checked"]).expect(
        0,
        "",
        "
        goal: reached checked
        goal: summary: 0 ran, 1 already reached (<duration>)
        ",
    );
    project.goal(&["checked"]).expect(
        0,
        "",
        "
        goal: reached checked
        goal: summary: 0 ran, 1 already reached (<duration>)
        ",
    );
    // Asked before the run, after it (the promise), then remembered.
    assert_eq!(project.read("asked"), "asked\nasked\n");
    project
        .goal(&["memory", "get", "slow-check"])
        .expect(0, "<date>\n", "");
    project.goal(&["brief"]).expect(
        0,
        "",
        "
        goal: reached brief
        goal: summary: 0 ran, 1 already reached (<duration>)
        ",
    );
    project.goal(&["brief"]).expect(
        0,
        "",
        "
        goal: reached brief
        goal: summary: 0 ran, 1 already reached (<duration>)
        ",
    );
    assert_eq!(project.read("brief"), "asked\n");
    std::thread::sleep(std::time::Duration::from_millis(2200));
    project.goal(&["brief"]).expect(
        0,
        "",
        "
        goal: reached brief
        goal: summary: 0 ran, 1 already reached (<duration>)
        ",
    );
    assert_eq!(project.read("brief"), "asked\nasked\n");
}

#[test]
fn a_recipe_reads_and_writes_the_memory_during_a_run() {
    let project = Project::new().goalfile(
        r#"
goal stored {
    target { memory-equals "answer" "42" }
    run "\"$GOAL\" memory set answer 42 && \"$GOAL\" memory get answer > seen"
}
"#,
    );
    let out = project
        .command(&["stored"])
        .env("GOAL", env!("CARGO_BIN_EXE_goal"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(project.read("seen"), "42\n");
    project
        .goal(&["memory", "get", "answer"])
        .expect(0, "42\n", "");
}

#[test]
fn a_second_run_in_the_same_project_stops_with_a_clear_message() {
    let project = Project::new().goalfile(
        r#"
goal slow { run "touch started; sleep 3" }
goal quick { run "touch quick" }
"#,
    );
    let mut first = project.command(&["slow"]).spawn().unwrap();
    while !project.exists("started") {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    project.goal(&["quick"]).expect(
        1,
        "",
        &format!(
            "
            goal::run-locked

              × another goal run (pid {}) is using this project
              help: wait for it to finish, or use --wait to wait for it
            ",
            first.id()
        ),
    );
    assert!(!project.exists("quick"));
    assert!(first.wait().unwrap().success());
    project.goal(&["quick"]).expect(
        0,
        "",
        "
        goal: start quick
        goal: done  quick (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
}

#[test]
fn a_command_whose_output_is_used_must_succeed() {
    let project = Project::new().goalfile(
        r#"
goal all {
    for dep output="echo one; exit 4" { run "echo {dep}" }
}
"#,
    );
    project.goal(&[]).expect(
        1,
        "",
        r#"
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: all
            goal::command-failed

              × the command of this `for` exited with status 4: echo one; exit 4
               ╭─[Goalfile:3:5]
             2 │ goal all {
             3 │     for dep output="echo one; exit 4" { run "echo {dep}" }
               ·     ───────────────────────────┬──────────────────────────
               ·                                ╰── this command failed
             4 │ }
               ╰────
            "#,
    );
}

#[test]
fn a_recipe_running_goal_for_another_project_uses_that_projects_memory() {
    let project = Project::new()
        .goalfile(
            r#"
goal all {
    run "\"$GOAL\" memory set here 1 && \"$GOAL\" -C other memory set there 2 && \"$GOAL\" -C other mark"
}
"#,
        )
        .file("other/Goalfile", r#"goal mark { run "touch marked" }"#);
    let out = project
        .command(&[])
        .env("GOAL", env!("CARGO_BIN_EXE_goal"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(project.exists("other/marked"));
    project
        .goal(&["memory", "get", "here"])
        .expect(0, "1\n", "");
    project.goal(&["memory", "get", "there"]).expect(1, "", "");
    project
        .goal(&["-C", "other", "memory", "get", "there"])
        .expect(0, "2\n", "");
    project
        .goal(&["-C", "other", "memory", "get", "here"])
        .expect(1, "", "");
}

#[test]
fn dry_run_sees_a_recipe_placed_before_a_target_that_holds() {
    let project = Project::new()
        .goalfile(
            r#"
goal stamped {
    run "echo checked >> log"
    target { file-exists "stamp" }
    run "touch stamp"
}
"#,
        )
        .file("stamp", "");
    project.goal(&["--dry-run", "stamped"]).expect(
        1,
        "would fire: stamped  (it runs a recipe before its target)\n",
        "goal: summary: 1 would fire, 0 may fire, 0 already reached (<duration>)\n",
    );
    project.goal(&["stamped"]).expect(
        0,
        "",
        "
        goal: start stamped
        goal: done  stamped (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
}

#[test]
fn grouping_goals_are_neither_shown_nor_counted() {
    let project = Project::new()
        .goalfile(
            r#"
goal made { target { file-exists "made" }; run "touch made" }
goal all { require made }
"#,
        )
        .file("made", "");
    project.goal(&["--explain"]).expect(
        0,
        "",
        "
        goal: explain made: already reached: the files exist
        goal: summary: 0 ran, 1 already reached (<duration>)
        ",
    );
    // A dry run of an up-to-date project says nothing on standard output.
    project.goal(&["--dry-run"]).expect(
        0,
        "",
        "goal: summary: 0 would fire, 0 may fire, 1 already reached (<duration>)\n",
    );
}

#[test]
fn a_bad_value_computed_at_run_time_names_who_required_it() {
    let project = Project::new().goalfile(
        r##"
goal build pkg {
    param pkg pattern=#"[a-z]+"#
    run "true"
}
goal all {
    let name output="echo Not-Valid"
    require build pkg="{name}"
}
"##,
    );
    project.goal(&[]).expect(
        1,
        "",
        r##"
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: all
            goal::pattern-mismatch

              × the value "Not-Valid" of `build`'s parameter `pkg` does not match its pattern
               ╭─[Goalfile:3:23]
             2 │ goal build pkg {
             3 │     param pkg pattern=#"[a-z]+"#
               ·                       ─────┬────
               ·                            ╰── the pattern it must match
             4 │     run "true"
               ╰────
              help: required by all
            "##,
    );
}

const KEEP_GOING: &str = r#"
goal part name {
    target { file-exists "{name}.done" }
    run "echo {name} >> log; case {name} in bad*) exit 1;; esac; touch {name}.done"
}
goal group-a {
    require part name="bad1"
    require part name="a-ok"
    run "echo group-a >> log"
}
goal group-b {
    require part name="b-ok"
    require part name="bad2"
}
goal all {
    require group-a
    require group-b
    require part name="last"
}
"#;

#[test]
fn without_keep_going_the_first_failure_stops_the_run() {
    let project = Project::new().goalfile(KEEP_GOING);
    project.goal(&[]).expect(
        1,
        "",
        r#"
            goal: start part name=bad1
            goal: FAILED part name=bad1 (<duration>)
            goal: blocked group-a (requires part name=bad1, which failed)
            goal: summary: 0 ran, 0 already reached, 1 failed, 1 blocked (<duration>)
            goal: failed: part name=bad1
            goal: blocked: group-a
            goal::recipe-failed

              × `part name=bad1` failed: its recipe exited with status 1
               ╭─[Goalfile:4:5]
             3 │     target { file-exists "{name}.done" }
             4 │     run "echo {name} >> log; case {name} in bad*) exit 1;; esac; touch {name}.done"
               ·     ───────────────────────────────────────┬───────────────────────────────────────
               ·                                            ╰── this recipe
             5 │ }
               ╰────
              help: required by group-a ← all
            "#,
    );
    assert_eq!(project.read("log"), "bad1\n");
}

#[test]
fn keep_going_finishes_independent_work_and_reports_every_failure() {
    let project = Project::new().goalfile(KEEP_GOING);
    // The failures are counted apart from group-a, blocked by one; the grouping goals group-b
    // and all are neither shown nor counted.
    project.goal(&["-k"]).expect(
        1,
        "",
        r#"
        goal: start part name=bad1
        goal: FAILED part name=bad1 (0.00s)
        goal: start part name=a-ok
        goal: done  part name=a-ok (0.00s)
        goal: blocked group-a (requires part name=bad1, which failed)
        goal: start part name=b-ok
        goal: done  part name=b-ok (0.01s)
        goal: start part name=bad2
        goal: FAILED part name=bad2 (0.00s)
        goal: start part name=last
        goal: done  part name=last (0.00s)
        goal: summary: 3 ran, 0 already reached, 2 failed, 1 blocked (0.01s)
        goal: failed: part name=bad1
        goal: failed: part name=bad2
        goal: blocked: group-a
        goal::recipe-failed

          × `part name=bad1` failed: its recipe exited with status 1
           ╭─[Goalfile:4:5]
         3 │     target { file-exists "{name}.done" }
         4 │     run "echo {name} >> log; case {name} in bad*) exit 1;; esac; touch {name}.done"
           ·     ───────────────────────────────────────┬───────────────────────────────────────
           ·                                            ╰── this recipe
         5 │ }
           ╰────
          help: required by group-a ← all
        goal::recipe-failed

          × `part name=bad2` failed: its recipe exited with status 1
           ╭─[Goalfile:4:5]
         3 │     target { file-exists "{name}.done" }
         4 │     run "echo {name} >> log; case {name} in bad*) exit 1;; esac; touch {name}.done"
           ·     ───────────────────────────────────────┬───────────────────────────────────────
           ·                                            ╰── this recipe
         5 │ }
           ╰────
          help: required by group-b ← all
        2 errors
        "#,
    );
    // Everything independent of the failures ran; group-a's own recipe did not.
    assert_eq!(project.read("log"), "bad1\na-ok\nb-ok\nbad2\nlast\n");
    // The next run redoes only what failed.
    project.goal(&["-k"]).expect(
        1,
        "",
        r#"
        goal: start part name=bad1
        goal: FAILED part name=bad1 (<duration>)
        goal: blocked group-a (requires part name=bad1, which failed)
        goal: start part name=bad2
        goal: FAILED part name=bad2 (<duration>)
        goal: summary: 0 ran, 3 already reached, 2 failed, 1 blocked (<duration>)
        goal: failed: part name=bad1
        goal: failed: part name=bad2
        goal: blocked: group-a
        goal::recipe-failed

          × `part name=bad1` failed: its recipe exited with status 1
           ╭─[Goalfile:4:5]
         3 │     target { file-exists "{name}.done" }
         4 │     run "echo {name} >> log; case {name} in bad*) exit 1;; esac; touch {name}.done"
           ·     ───────────────────────────────────────┬───────────────────────────────────────
           ·                                            ╰── this recipe
         5 │ }
           ╰────
          help: required by group-a ← all
        goal::recipe-failed

          × `part name=bad2` failed: its recipe exited with status 1
           ╭─[Goalfile:4:5]
         3 │     target { file-exists "{name}.done" }
         4 │     run "echo {name} >> log; case {name} in bad*) exit 1;; esac; touch {name}.done"
           ·     ───────────────────────────────────────┬───────────────────────────────────────
           ·                                            ╰── this recipe
         5 │ }
           ╰────
          help: required by group-b ← all
        2 errors
        "#,
    );
    assert_eq!(
        project.read("log"),
        "bad1\na-ok\nb-ok\nbad2\nlast\nbad1\nbad2\n"
    );
}

#[test]
fn list_shows_goals_with_parameters_defaults_patterns_and_docs() {
    let project = Project::new().goalfile(
        r##"
goal all doc="Everything" { require built pkg="x" }
goal built pkg arch doc="Build one package" {
    param pkg pattern=#"[a-z]+"# doc="the package"
    param arch default="x86_64"
    run "touch {pkg}"
}
"##,
    );
    let out = project.goal(&["--list"]);
    out.success();
    assert_eq!(
        out.stdout,
        "Goals:\n    all                      # Everything\n    built pkg arch=\"x86_64\"  # Build one package\n        pkg: the package; matches [a-z]+\n"
    );
    assert!(
        !project.exists(".goal/memory"),
        "--list does not open the Memory"
    );
}

#[test]
fn a_flaky_recipe_succeeds_on_its_third_attempt() {
    let project = Project::new().goalfile(
        r#"
goal flaky {
    target { file-exists "done" }
    run "echo try >> attempts; [ $(wc -l < attempts) -ge 3 ] && touch done || exit 9" retries="3" delay="10ms" backoff="2"
}
"#,
    );
    project.goal(&["flaky"]).expect(
        0,
        "",
        "
            goal: start flaky
            goal: retry flaky: its recipe exited with status 9; attempt 2 of 4 in <duration>
            goal: retry flaky: its recipe exited with status 9; attempt 3 of 4 in <duration>
            goal: done  flaky (<duration>)
            goal: summary: 1 ran, 0 already reached (<duration>)
            ",
    );
    assert_eq!(project.read("attempts"), "try\ntry\ntry\n");
}

#[test]
fn retries_run_out() {
    let project = Project::new().goalfile(
        r#"goal hopeless { run "echo try >> attempts; exit 4" retries="1" delay="1ms" }"#,
    );
    project.goal(&["hopeless"]).expect(
        1,
        "",
        r#"
            goal: start hopeless
            goal: retry hopeless: its recipe exited with status 4; attempt 2 of 2 in <duration>
            goal: FAILED hopeless (<duration>)
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: hopeless
            goal::recipe-failed

              × `hopeless` failed: its recipe exited with status 4
               ╭─[Goalfile:1:17]
             1 │ goal hopeless { run "echo try >> attempts; exit 4" retries="1" delay="<duration>" }
               ·                 ─────────────────────────────┬─────────────────────────────
               ·                                              ╰── this recipe
               ╰────
            "#,
    );
    assert_eq!(project.read("attempts"), "try\ntry\n");
}

const HOOKS: &str = r#"
let mailbox "hooks.log"
goal deliver pkg {
    target { file-exists "{pkg}.done" }
    run "case {pkg} in bad) echo giving up; exit 5;; esac; touch {pkg}.done"
    on-failure { run "echo \"goal-hook $GOAL_STATUS $GOAL_GOAL $GOAL_INSTANCE [$GOAL_ERROR] $pkg\" >> {mailbox}" }
    on-success { run "echo \"goal-hook $GOAL_STATUS\" {pkg} >> {mailbox}" }
}
goal all { require deliver pkg="good"; require deliver pkg="bad" }
on-failure { run "echo \"wide $GOAL_STATUS $GOAL_INSTANCE $pkg exit=$GOAL_EXIT\" >> {mailbox}; cp \"$GOAL_LOG\" failed.log" }
on-success { run "echo \"wide $GOAL_STATUS $GOAL_INSTANCE\" >> {mailbox}" }
"#;

#[test]
fn hooks_see_the_goal_its_parameters_and_its_status() {
    let project = Project::new().goalfile(HOOKS);
    project.goal(&["-k"]).expect(1, "giving up\n", r#"
        goal: start deliver pkg=good
        goal: done  deliver pkg=good (<duration>)
        goal: start deliver pkg=bad
        goal: FAILED deliver pkg=bad (<duration>)
        goal: summary: 1 ran, 0 already reached, 1 failed (<duration>)
        goal: failed: deliver pkg=bad
        goal::recipe-failed

          × `deliver pkg=bad` failed: its recipe exited with status 5
           ╭─[Goalfile:5:5]
         4 │     target { file-exists "{pkg}.done" }
         5 │     run "case {pkg} in bad) echo giving up; exit 5;; esac; touch {pkg}.done"
           ·     ────────────────────────────────────┬───────────────────────────────────
           ·                                         ╰── this recipe
         6 │     on-failure { run "echo \"goal-hook $GOAL_STATUS $GOAL_GOAL $GOAL_INSTANCE [$GOAL_ERROR] $pkg\" >> {mailbox}" }
           ╰────
          help: required by all
                its output is in .goal/logs/<run>/004-deliver_pkg=bad.log
        "#);
    assert_eq!(
        project.read("hooks.log"),
        "goal-hook ok good\n\
         wide ok deliver pkg=good\n\
         goal-hook failed deliver deliver pkg=bad [`deliver pkg=bad` failed: its recipe exited with status 5] bad\n\
         wide failed deliver pkg=bad bad exit=5\n"
    );
    // GOAL_LOG names the failed recipe's log.
    assert_eq!(project.read("failed.log"), "giving up\n");
    // A goal found reached runs no hook.
    std::fs::remove_file(project.path().join("hooks.log")).unwrap();
    project.goal(&["deliver", "pkg=good"]).expect(
        0,
        "",
        "
        goal: reached deliver pkg=good
        goal: summary: 0 ran, 1 already reached (<duration>)
        ",
    );
    assert!(!project.exists("hooks.log"));
}

#[test]
fn a_failing_hook_is_a_note_and_changes_nothing() {
    let project = Project::new().goalfile(
        r#"
goal fine {
    run "true"
    on-success { run "exit 3" }
}
"#,
    );
    project
        .goal(&["fine"]).expect(0, "", "
            goal: start fine
            goal: done  fine (<duration>)
            goal: note the on-success hook of fine failed: `fine` failed: its recipe exited with status 3
            goal: summary: 1 ran, 0 already reached (<duration>)
            ");
}

#[test]
fn only_the_goal_that_failed_runs_on_failure_not_the_goals_it_blocked() {
    // Without -k the failure comes up through every goal that required it; with -k each of
    // them settles as failed: neither may run their hooks.
    for args in [&["all"][..], &["-k", "all"]] {
        let project = Project::new().goalfile(
            r#"
goal a {
    run "exit 3"
    on-failure { run "echo a $GOAL_STATUS >> hooks.log" }
}
goal b {
    require a
    run "echo b ran >> hooks.log"
    on-failure { run "echo b $GOAL_STATUS >> hooks.log" }
}
goal all {
    require b
    on-failure { run "echo all $GOAL_STATUS >> hooks.log" }
}
on-failure { run "echo \"wide $GOAL_STATUS $GOAL_INSTANCE\" >> hooks.log" }
"#,
        );
        project.goal(args).expect(
            1,
            "",
            r#"
            goal: start a
            goal: FAILED a (<duration>)
            goal: blocked b (requires a, which failed)
            goal: summary: 0 ran, 0 already reached, 1 failed, 1 blocked (<duration>)
            goal: failed: a
            goal: blocked: b
            goal::recipe-failed

              × `a` failed: its recipe exited with status 3
               ╭─[Goalfile:3:5]
             2 │ goal a {
             3 │     run "exit 3"
               ·     ──────┬─────
               ·           ╰── this recipe
             4 │     on-failure { run "echo a $GOAL_STATUS >> hooks.log" }
               ╰────
              help: required by b ← all
            "#,
        );
        assert_eq!(
            project.read("hooks.log"),
            "a failed\nwide failed a\n",
            "{args:?}"
        );
    }
}

#[test]
fn a_plain_command_runs_without_a_shell_and_anything_else_with_one() {
    let project = Project::new()
        .goalfile(
            r#"
goal plain { run "./parent.sh plain" }
goal piped { run "./parent.sh piped | cat" }
goal spaced src dst { run "cp {src} {dst}" }
goal missing { run "no-such-command-here --flag" }
"#,
        )
        .file(
            "parent.sh",
            "#!/bin/sh\necho \"$1 $(cat /proc/$PPID/comm)\" >> parents\n",
        )
        .file("a file.txt", "content\n");
    project.goal(&["plain", "piped"]).expect(
        0,
        "",
        "
        goal: start plain
        goal: done  plain (<duration>)
        goal: start piped
        goal: done  piped (<duration>)
        goal: summary: 2 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.read("parents"), "plain goal\npiped sh\n");
    project
        .goal(&["spaced", "src=a file.txt", "dst=the copy.txt"])
        .expect(
            0,
            "",
            "
            goal: start spaced src='a file.txt' dst='the copy.txt'
            goal: done  spaced src='a file.txt' dst='the copy.txt' (<duration>)
            goal: summary: 1 ran, 0 already reached (<duration>)
            ",
        );
    assert_eq!(project.read("the copy.txt"), "content\n");
    project.goal(&["missing"]).expect(
        1,
        "",
        r#"
            goal: start missing
            /bin/sh: 1: no-such-command-here: not found
            goal: FAILED missing (<duration>)
            goal: summary: 0 ran, 0 already reached, 1 failed (<duration>)
            goal: failed: missing
            goal::recipe-failed

              × `missing` failed: its recipe exited with status 127
               ╭─[Goalfile:5:16]
             4 │ goal spaced src dst { run "cp {src} {dst}" }
             5 │ goal missing { run "no-such-command-here --flag" }
               ·                ─────────────────┬────────────────
               ·                                 ╰── this recipe
               ╰────
              help: its output is in .goal/logs/<run>/001-missing.log
            "#,
    );
}
