//! A reference in a shell command stays one word: `--check` refuses one that stands where the
//! shell would undo its quoting (`goal::quoted-reference`), in every kind of shell command.

use crate::common::Project;

const INJECTION: &str = r#"goal greet name {
    run "echo 'hello {name}'"
}
"#;

const INJECTION_REFUSED: &str = r#"goal::quoted-reference

  × `{name}` stands inside single quotes in a shell command
   ╭─[Goalfile:2:22]
 1 │ goal greet name {
 2 │     run "echo 'hello {name}'"
   ·                      ───┬──
   ·                         ╰── its quoting is undone here
 3 │ }
   ╰────
  help: the value is quoted for the shell already, and these quotes undo that: remove them (`echo
        hello {name}`), or, to join it to other text, close them before it (`'hello '{name}`);
        `{name|raw}` is for a value that is shell code
"#;

#[test]
fn a_reference_inside_quotes_fails_the_check() {
    let project = Project::new().goalfile(INJECTION);
    project.goal(&["--check"]).expect(2, "", INJECTION_REFUSED);
}

/// The issue's injection: before the check, the value's quotes closed the user's string and
/// `touch` ran. Now nothing runs.
#[test]
fn the_injection_never_runs() {
    let project = Project::new().goalfile(INJECTION);
    project
        .goal(&["greet", "name=x; touch INJECTED"])
        .expect(2, "", INJECTION_REFUSED);
    assert!(!project.exists("INJECTED"));
}

/// The fix the help gives keeps the value one word, whatever it holds.
#[test]
fn the_fix_from_the_help_keeps_the_value_one_word() {
    let project = Project::new().goalfile(
        r#"goal greet name {
    run "echo 'hello '{name}"
}
"#,
    );
    project.goal(&["greet", "name=x; touch INJECTED"]).expect(
        0,
        "hello x; touch INJECTED\n",
        "goal: start greet name='x; touch INJECTED'\n\
         goal: done  greet name='x; touch INJECTED' (0.01s)\n\
         goal: summary: 1 ran, 0 already reached (0.01s)\n",
    );
    assert!(!project.exists("INJECTED"));
}

/// `raw` says the value is shell code: it is not reported, wherever it stands.
#[test]
fn a_raw_reference_inside_quotes_passes() {
    let project = Project::new().goalfile(
        r#"let flags "-n"
goal greet name {
    run "echo {flags|raw} 'hello {name|raw}'"
}
"#,
    );
    project.goal(&["--check"]).expect(0, "", "");
}

/// Every kind of shell command is checked: a global and a local `let output=`, a transition's
/// `run`, a predicate's `sh`, the `output` predicate, `for output=`, a plan's `start output=`,
/// a hook, and the bodies of `every` and `when` jobs; with every place quoting is undone.
#[test]
fn every_kind_of_shell_command_is_checked() {
    let project = Project::new().goalfile(ALL_KINDS);
    project.goal(&["--check"]).expect(2, "", ALL_KINDS_REFUSED);
}

const ALL_KINDS: &str = r#"let v "x"
let listing output="ls '{v}'"

transition copy cost="1" {
    effects { add "b"; }
    run "cp '{input}' {output}"
}

predicate ready name {
    sh "test -e \"{name}\""
}

goal all name {
    target { output "echo $'{name}'" equals="x" }
    let found output="find . -name \\{name}"
    for line output="cat <<EOF\n{name}\nEOF" {
        run "echo {line} # was {name}"
    }
    plan from="a" to="b" {
        start output="./probe '{name}'"
        want { has "b"; }
    }
    on-failure { run "echo 'failed {name}'" }
}

every "1h" {
    run "echo '{v}'"
}

when watch {
    condition { ready name="x" }
    run "echo \"{v}\""
}
"#;

const ALL_KINDS_REFUSED: &str = r#"goal::quoted-reference

  × `{v}` stands inside single quotes in a shell command
   ╭─[Goalfile:2:25]
 1 │ let v "x"
 2 │ let listing output="ls '{v}'"
   ·                         ─┬─
   ·                          ╰── its quoting is undone here
 3 │ 
   ╰────
  help: the value is quoted for the shell already, and these quotes undo that: remove them (`echo
        hello {v}`), or, to join it to other text, close them before it (`'hello '{v}`); `{v|raw}`
        is for a value that is shell code
goal::quoted-reference

  × `{name}` stands inside `$'…'` in a shell command
    ╭─[Goalfile:14:29]
 13 │ goal all name {
 14 │     target { output "echo $'{name}'" equals="x" }
    ·                             ───┬──
    ·                                ╰── its quoting is undone here
 15 │     let found output="find . -name \\{name}"
    ╰────
  help: the value is quoted for the shell already, and these quotes undo that: remove them (`echo
        hello {name}`), or, to join it to other text, close them before it (`'hello '{name}`);
        `{name|raw}` is for a value that is shell code
goal::quoted-reference

  × `{name}` stands after a backslash in a shell command
    ╭─[Goalfile:15:22]
 14 │     target { output "echo $'{name}'" equals="x" }
 15 │     let found output="find . -name \\{name}"
    ·                      ───────────┬───────────
    ·                                 ╰── its quoting is undone here
 16 │     for line output="cat <<EOF\n{name}\nEOF" {
    ╰────
  help: the value is quoted for the shell already, and the backslash undoes that: remove the
        backslash; `{name|raw}` is for a value that is shell code
goal::quoted-reference

  × `{name}` stands in a here-document of a shell command
    ╭─[Goalfile:16:21]
 15 │     let found output="find . -name \\{name}"
 16 │     for line output="cat <<EOF\n{name}\nEOF" {
    ·                     ────────────┬───────────
    ·                                 ╰── its quoting is undone here
 17 │         run "echo {line} # was {name}"
    ╰────
  help: the shell reads no quotes there, so the value is not one word: move the reference out, or
        write `$name` (every value is also an environment variable); `{name|raw}` is for a value
        that is shell code
goal::quoted-reference

  × `{name}` stands in a comment of a shell command
    ╭─[Goalfile:17:32]
 16 │     for line output="cat <<EOF\n{name}\nEOF" {
 17 │         run "echo {line} # was {name}"
    ·                                ───┬──
    ·                                   ╰── its quoting is undone here
 18 │     }
    ╰────
  help: the shell reads no quotes there, so the value is not one word: move the reference out, or
        write `$name` (every value is also an environment variable); `{name|raw}` is for a value
        that is shell code
goal::quoted-reference

  × `{name}` stands inside single quotes in a shell command
    ╭─[Goalfile:20:32]
 19 │     plan from="a" to="b" {
 20 │         start output="./probe '{name}'"
    ·                                ───┬──
    ·                                   ╰── its quoting is undone here
 21 │         want { has "b"; }
    ╰────
  help: the value is quoted for the shell already, and these quotes undo that: remove them (`echo
        hello {name}`), or, to join it to other text, close them before it (`'hello '{name}`);
        `{name|raw}` is for a value that is shell code
goal::quoted-reference

  × `{name}` stands inside single quotes in a shell command
    ╭─[Goalfile:23:36]
 22 │     }
 23 │     on-failure { run "echo 'failed {name}'" }
    ·                                    ───┬──
    ·                                       ╰── its quoting is undone here
 24 │ }
    ╰────
  help: the value is quoted for the shell already, and these quotes undo that: remove them (`echo
        hello {name}`), or, to join it to other text, close them before it (`'hello '{name}`);
        `{name|raw}` is for a value that is shell code
goal::quoted-reference

  × `{name}` stands inside double quotes in a shell command
    ╭─[Goalfile:10:8]
  9 │ predicate ready name {
 10 │     sh "test -e \"{name}\""
    ·        ──────────┬─────────
    ·                  ╰── its quoting is undone here
 11 │ }
    ╰────
  help: the value is quoted for the shell already, and these quotes undo that: remove them (`echo
        hello {name}`), or, to join it to other text, close them before it (`'hello '{name}`);
        `{name|raw}` is for a value that is shell code
goal::quoted-reference

  × `{v}` stands inside single quotes in a shell command
    ╭─[Goalfile:27:16]
 26 │ every "1h" {
 27 │     run "echo '{v}'"
    ·                ─┬─
    ·                 ╰── its quoting is undone here
 28 │ }
    ╰────
  help: the value is quoted for the shell already, and these quotes undo that: remove them (`echo
        hello {v}`), or, to join it to other text, close them before it (`'hello '{v}`); `{v|raw}`
        is for a value that is shell code
goal::quoted-reference

  × `{v}` stands inside double quotes in a shell command
    ╭─[Goalfile:32:9]
 31 │     condition { ready name="x" }
 32 │     run "echo \"{v}\""
    ·         ───────┬──────
    ·                ╰── its quoting is undone here
 33 │ }
    ╰────
  help: the value is quoted for the shell already, and these quotes undo that: remove them (`echo
        hello {v}`), or, to join it to other text, close them before it (`'hello '{v}`); `{v|raw}`
        is for a value that is shell code
goal::quoted-reference

  × `{input}` stands inside single quotes in a shell command
   ╭─[Goalfile:6:14]
 5 │     effects { add "b"; }
 6 │     run "cp '{input}' {output}"
   ·              ───┬───
   ·                 ╰── its quoting is undone here
 7 │ }
   ╰────
  help: the value is quoted for the shell already, and these quotes undo that: remove them (`echo
        hello {input}`), or, to join it to other text, close them before it (`'hello '{input}`);
        `{input|raw}` is for a value that is shell code
11 errors
"#;
