//! Builds as C projects need them: forced runs (`-B`, `--force`), sources read from the
//! depfiles a compiler writes, lists as sources and targets, and the changed sources (`{newer}`).
//! The C tests run the real `cc` on real files.

use crate::common;

use std::fs;
use std::time::{Duration, SystemTime};

use common::Project;

/// Sets the modification time of each file given to `seconds` from now (negative: in the
/// past), one time for all, so that tests order files without sleeping.
fn age(project: &Project, files: &[&str], seconds: i64) {
    let now = SystemTime::now();
    let shift = Duration::from_secs(seconds.unsigned_abs());
    let time = if seconds < 0 {
        now - shift
    } else {
        now + shift
    };
    for file in files {
        fs::File::options()
            .write(true)
            .open(project.path().join(file))
            .unwrap()
            .set_modified(time)
            .unwrap();
    }
}

const FORCED: &str = r#"
goal dep {
    target { file-exists "dep.txt" }
    run "echo dep >> log && touch dep.txt"
}
goal made {
    require dep
    target { file-exists "made.txt" }
    run "echo made >> log && touch made.txt"
}
goal all { require made }
"#;

#[test]
fn always_fires_every_goal_once_and_force_only_the_named_ones() {
    let project = Project::new().goalfile(FORCED);
    project.goal(&["-q"]).expect(0, "", "");
    project.goal(&["-q"]).expect(0, "", "");
    assert_eq!(project.read("log"), "dep\nmade\n");

    project.goal(&["-B"]).expect(
        0,
        "",
        "
        goal: start dep
        goal: done  dep (0.00s)
        goal: start made
        goal: done  made (0.00s)
        goal: summary: 2 ran, 0 already reached (0.00s)
        ",
    );
    assert_eq!(project.read("log"), "dep\nmade\ndep\nmade\n");

    project.goal(&["--force", "made"]).expect(
        0,
        "",
        "
        goal: start made
        goal: done  made (0.00s)
        goal: summary: 1 ran, 1 already reached (0.00s)
        ",
    );
    assert_eq!(project.read("log"), "dep\nmade\ndep\nmade\nmade\n");

    // Named too, `dep` is forced where `made` requires it, and reached once.
    project
        .goal(&["-q", "--force", "made", "dep"])
        .expect(0, "", "");
    assert_eq!(
        project.read("log"),
        "dep\nmade\ndep\nmade\nmade\ndep\nmade\n"
    );
}

#[test]
fn a_forced_dry_run_would_fire_every_goal_and_says_why() {
    let project = Project::new().goalfile(FORCED);
    project.goal(&["-q"]).expect(0, "", "");
    project.goal(&["-n", "--always"]).expect(
        1,
        "
        would fire: dep  (every goal fires with -B (--always))
        would fire: made  (every goal fires with -B (--always))
        ",
        "goal: summary: 2 would fire, 0 may fire, 0 already reached (0.00s)\n",
    );
    project.goal(&["-n", "--force", "made"]).expect(
        1,
        "would fire: made  (it is named with --force)\n",
        "goal: summary: 1 would fire, 0 may fire, 1 already reached (0.00s)\n",
    );
}

#[test]
fn a_forced_goal_still_keeps_its_promise() {
    let project = Project::new().goalfile(
        r#"
goal all {
    target { file-exists "made.txt" }
    run "rm made.txt"
}
"#,
    );
    project.write("made.txt", "");
    project.goal(&["-q"]).expect(0, "", "");
    project.goal(&["-q", "-B"]).expect(
        1,
        "",
        "
        goal::broken-promise

          × `all` ran, but its target is still false: made.txt does not exist
           ╭─[Goalfile:3:5]
         2 │ goal all {
         3 │     target { file-exists \"made.txt\" }
           ·     ────────────────┬────────────────
           ·                     ╰── this target is still false
         4 │     run \"rm made.txt\"
           ╰────
        ",
    );
}

#[test]
fn always_and_force_cannot_be_given_together() {
    let project = Project::new().goalfile(FORCED);
    project.goal(&["-B", "--force", "made"]).expect(
        2,
        "",
        "
        error: the argument '--always' cannot be used with '--force'

        Usage: goal --always <GOAL [NAME=VALUE]...>...

        For more information, try '--help'.
        ",
    );
}

/// Sets back by a minute every file under `build/`, so that a file written now is newer than
/// all of them whatever the clock's granularity.
fn age_build(project: &Project) {
    let files: Vec<String> = fs::read_dir(project.path().join("build"))
        .unwrap()
        .map(|entry| format!("build/{}", entry.unwrap().file_name().to_str().unwrap()))
        .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    age(project, &files, -60);
}

/// Objects compiled with depfiles; one list of objects drives the loop that compiles them, the
/// archive's target and recipe, and the link.
const C_PROJECT: &str = r#"
let objects "build/greet.o build/shout.o build/plain.o"

goal compiled c_file {
    let object "build/{c_file|stem}.o"
    let depfile "build/{c_file|stem}.d"
    target { file-newer "{object}" than="{c_file}" depfile="{depfile}" }
    run "mkdir -p build && cc -Iinclude -MMD -MP -MF {depfile} -c {c_file} -o {object}"
}

goal archived {
    for object words="{objects}" {
        require compiled c_file="src/{object|stem}.c"
    }
    target { file-newer "build/libgreet.a" than-words="{objects}" }
    run "ar rc build/libgreet.a {newer|raw} && echo archived {newer}"
}

goal linked {
    require archived
    require compiled c_file="src/main.c"
    target {
        file-newer "build/app" { than "build/main.o" "build/libgreet.a"; }
    }
    run "cc build/main.o build/libgreet.a -o build/app"
}

goal all { require linked }
"#;

fn c_project() -> Project {
    let project = Project::new()
        .goalfile(C_PROJECT)
        .file("include/common.h", "#define WHO \"world\"\n")
        .file("include/loud.h", "#define LOUD \"!\"\n")
        .file(
            "src/greet.c",
            "#include \"common.h\"\nconst char *greet(void) { return \"hello \" WHO; }\n",
        )
        .file(
            "src/shout.c",
            "#include \"common.h\"\n#include \"loud.h\"\nconst char *shout(void) { return WHO LOUD; }\n",
        )
        .file("src/plain.c", "int plain(void) { return 1; }\n")
        .file(
            "src/main.c",
            "#include <stdio.h>\nconst char *greet(void);\nconst char *shout(void);\nint plain(void);\n\
             int main(void) { printf(\"%s %s %d\\n\", greet(), shout(), plain()); return 0; }\n",
        );
    // Written long before the build, as a real project's sources are.
    age(
        &project,
        &[
            "include/common.h",
            "include/loud.h",
            "src/greet.c",
            "src/shout.c",
            "src/plain.c",
            "src/main.c",
        ],
        -600,
    );
    project
}

#[test]
fn touching_a_header_rebuilds_exactly_the_objects_whose_depfiles_name_it() {
    let project = c_project();
    project.goal(&[]).expect(
        0,
        "archived build/greet.o build/shout.o build/plain.o\n",
        "
        goal: start compiled c_file=src/greet.c
        goal: done  compiled c_file=src/greet.c (0.00s)
        goal: start compiled c_file=src/shout.c
        goal: done  compiled c_file=src/shout.c (0.00s)
        goal: start compiled c_file=src/plain.c
        goal: done  compiled c_file=src/plain.c (0.00s)
        goal: start archived
        goal: done  archived (0.00s)
        goal: start compiled c_file=src/main.c
        goal: done  compiled c_file=src/main.c (0.00s)
        goal: start linked
        goal: done  linked (0.00s)
        goal: summary: 6 ran, 0 already reached (0.00s)
        ",
    );
    project
        .goal(&[])
        .expect(0, "", "goal: summary: 0 ran, 6 already reached (0.00s)\n");

    age_build(&project);
    project.write("include/loud.h", "#define LOUD \"!!\"\n");
    project.goal(&[]).expect(
        0,
        "archived build/shout.o\n",
        "
        goal: start compiled c_file=src/shout.c
        goal: done  compiled c_file=src/shout.c (0.00s)
        goal: start archived
        goal: done  archived (0.00s)
        goal: start linked
        goal: done  linked (0.00s)
        goal: summary: 3 ran, 3 already reached (0.00s)
        ",
    );

    age_build(&project);
    project.write("include/common.h", "#define WHO \"you\"\n");
    project
        .goal(&["-q"])
        .expect(0, "archived build/greet.o build/shout.o\n", "");
    let app = project.path().join("build/app");
    let output = std::process::Command::new(app).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "hello you you!! 1\n"
    );
}

#[test]
fn a_deleted_depfile_rebuilds_its_object() {
    let project = c_project();
    project.goal(&["-q"]).expect(
        0,
        "archived build/greet.o build/shout.o build/plain.o\n",
        "",
    );
    age_build(&project);
    fs::remove_file(project.path().join("build/plain.d")).unwrap();
    project
        .goal(&["--explain", "compiled", "c_file=src/plain.c"])
        .expect(
            0,
            "",
            "
        goal: explain compiled c_file=src/plain.c: fires: its depfile build/plain.d does not exist
        goal: start compiled c_file=src/plain.c
        goal: done  compiled c_file=src/plain.c (0.00s)
        goal: summary: 1 ran, 0 already reached (0.00s)
        ",
        );
    assert!(project.exists("build/plain.d"));
    project
        .goal(&["-q"])
        .expect(0, "archived build/plain.o\n", "");
}

#[test]
fn a_corrupt_depfile_is_an_error_naming_the_goal_and_the_file() {
    let project = c_project();
    project.goal(&["-q"]).expect(
        0,
        "archived build/greet.o build/shout.o build/plain.o\n",
        "",
    );
    project.write(
        "build/shout.d",
        "build/shout.o src/shout.c include/loud.h\n",
    );
    project.goal(&["-q"]).expect(
        1,
        "",
        "
        goal::depfile

          × `compiled c_file=src/shout.c` cannot use the depfile build/shout.d: line 1 has no `:` after
          │ its targets
           ╭─[Goalfile:7:14]
         6 │     let depfile \"build/{c_file|stem}.d\"
         7 │     target { file-newer \"{object}\" than=\"{c_file}\" depfile=\"{depfile}\" }
           ·              ─────────────────────────────┬────────────────────────────
           ·                                           ╰── this predicate reads it
         8 │     run \"mkdir -p build && cc -Iinclude -MMD -MP -MF {depfile} -c {c_file} -o {object}\"
           ╰────
          help: remove build/shout.d to rebuild its target: the compiler writes it again
        ",
    );
    fs::remove_file(project.path().join("build/shout.d")).unwrap();
    project
        .goal(&["-q"])
        .expect(0, "archived build/shout.o\n", "");
}

#[test]
fn paths_with_spaces_and_phony_header_entries() {
    let project = Project::new()
        .goalfile(
            r#"
goal compiled c_file {
    let object "my build/{c_file|stem}.o"
    let depfile "my build/{c_file|stem}.d"
    target { file-newer "{object}" than="{c_file}" depfile="{depfile}" }
    run "mkdir -p 'my build' && cc '-Imy include' -MMD -MP -MF {depfile} -c {c_file} -o {object}"
}
goal all { require compiled c_file="my src/a b.c" }
"#,
        )
        .file("my include/x y.h", "#define X 1\n")
        .file("my include/other.h", "#define OTHER 1\n")
        .file(
            "my src/a b.c",
            "#include \"x y.h\"\nint a(void) { return X; }\n",
        );
    // Written long before the build, as a real project's sources are.
    age(
        &project,
        &["my include/x y.h", "my include/other.h", "my src/a b.c"],
        -600,
    );
    project.goal(&["-q"]).expect(0, "", "");
    assert_eq!(
        project.read("my build/a b.d"),
        "my\\ build/a\\ b.o: my\\ src/a\\ b.c my\\ include/x\\ y.h\nmy\\ include/x\\ y.h:\n",
        "the depfile has escaped spaces and a phony entry"
    );
    project.goal(&["-q"]).expect(0, "", "");
    age(&project, &["my build/a b.o", "my build/a b.d"], -60);
    project.write("my include/other.h", "#define OTHER 2\n");
    project
        .goal(&[])
        .expect(0, "", "goal: summary: 0 ran, 1 already reached (0.00s)\n");
    project.write("my include/x y.h", "#define X 2\n");
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start compiled c_file='my src/a b.c'
        goal: done  compiled c_file='my src/a b.c' (0.00s)
        goal: summary: 1 ran, 0 already reached (0.00s)
        ",
    );
}

#[test]
fn always_runs_every_compile_once_with_every_source_as_changed() {
    let project = c_project();
    project.goal(&["-q"]).expect(
        0,
        "archived build/greet.o build/shout.o build/plain.o\n",
        "",
    );
    project.goal(&["-B"]).expect(
        0,
        "archived build/greet.o build/shout.o build/plain.o\n",
        "
        goal: start compiled c_file=src/greet.c
        goal: done  compiled c_file=src/greet.c (0.00s)
        goal: start compiled c_file=src/shout.c
        goal: done  compiled c_file=src/shout.c (0.00s)
        goal: start compiled c_file=src/plain.c
        goal: done  compiled c_file=src/plain.c (0.00s)
        goal: start archived
        goal: done  archived (0.00s)
        goal: start compiled c_file=src/main.c
        goal: done  compiled c_file=src/main.c (0.00s)
        goal: start linked
        goal: done  linked (0.00s)
        goal: summary: 6 ran, 0 already reached (0.00s)
        ",
    );
    project
        .goal(&["--force", "compiled", "c_file=src/plain.c"])
        .expect(
            0,
            "",
            "
            goal: start compiled c_file=src/plain.c
            goal: done  compiled c_file=src/plain.c (0.00s)
            goal: summary: 1 ran, 0 already reached (0.00s)
            ",
        );
}

/// A goal that "compiles" by touching its object, with a depfile written by hand.
const HAND_WRITTEN: &str = r#"
goal all {
    target { file-newer "a.o" than="a.c" depfile="a.d" }
    run "touch a.o && echo compiled"
}
"#;

#[test]
fn a_kept_depfile_is_reused_and_a_changed_one_read_again() {
    let project = Project::new()
        .goalfile(HAND_WRITTEN)
        .file("a.c", "")
        .file("one.h", "")
        .file("two.h", "")
        .file("a.d", "a.o: a.c one.h\n");
    age(&project, &["a.c", "one.h", "two.h", "a.d"], -600);
    project.write("a.o", "");
    // What a depfile said is kept only once its last change is a few seconds old (its ctime
    // cannot be set back).
    std::thread::sleep(Duration::from_millis(3100));
    // The debug traces name files by hashes of the temporary path: these runs look for a word.
    project
        .goal(&["-vv"]).expect(0, "", r#"
            DEBUG goal::cli: reading goalfile=Goalfile
            DEBUG goal::cache: cache miss cache=./.goal/cache/goalfile-008697d47cc036cd why="cannot read it: No such file or directory (os error 2)"
            goal: reached all
            goal: summary: 0 ran, 1 already reached (<duration>)
            "#);
    project.goal(&["-vv"]).expect(
        0,
        "",
        r#"
            DEBUG goal::cli: reading goalfile=Goalfile
            DEBUG goal::cache: cache hit cache=./.goal/cache/goalfile-008697d47cc036cd
            DEBUG goal::eval::depfiles: depfile reused depfile="a.d"
            goal: reached all
            goal: summary: 0 ran, 1 already reached (<duration>)
            "#,
    );
    assert!(project.exists(".goal/cache/depfiles"));

    // The same size, a header that is newer than the object: read again, and followed.
    project.write("a.d", "a.o: a.c two.h\n");
    age(&project, &["a.d"], -600);
    age(&project, &["a.o"], -60);
    age(&project, &["two.h"], -30);
    project.goal(&["-q"]).expect(0, "compiled\n", "");
    project.goal(&["-q"]).expect(0, "", "");
    project.write("one.h", "changed, but no longer a prerequisite");
    project.goal(&["-q"]).expect(0, "", "");
    project.write("two.h", "changed");
    project.goal(&["-q"]).expect(0, "compiled\n", "");
}

#[test]
fn a_header_named_by_a_depfile_and_gone_rebuilds_its_object() {
    let project = Project::new()
        .goalfile(
            r#"
goal all {
    target { file-newer "a.o" than="a.c" depfile="a.d" }
    run "echo 'a.o: a.c' > a.d && touch a.o && echo compiled"
}
"#,
        )
        .file("a.c", "")
        .file("a.d", "a.o: a.c gone.h\n\ngone.h:\n");
    age(&project, &["a.c", "a.d"], -600);
    project.write("a.o", "");
    project.goal(&["--explain"]).expect(
        0,
        "compiled\n",
        "
        goal: explain all: fires: its source gone.h does not exist
        goal: start all
        goal: done  all (0.00s)
        goal: summary: 1 ran, 0 already reached (0.00s)
        ",
    );
}

#[test]
fn a_list_where_one_path_is_expected_is_caught_by_check() {
    let project = Project::new().goalfile(
        r#"
let objects "build/a.o build/b.o"

goal archived {
    let names output="echo a b"
    for name words="{names}" { run "echo {name}" }
    target { file-newer "build/lib.a" than="{objects}" }
    run "ar rc build/lib.a {objects|raw}"
}

goal linked {
    let spaced "my build/app"
    target {
        file-newer "{spaced}" {
            than "{objects}/x"
        }
    }
    run "touch {spaced}"
}

goal named names {
    target { file-newer "{names}" than-words="{names}" }
}
"#,
    );
    project.goal(&["--check"]).expect(
        2,
        "",
        "
        goal::list-as-path

          × `objects` is a list of several paths, where a source is one path
           ╭─[Goalfile:7:45]
         6 │     for name words=\"{names}\" { run \"echo {name}\" }
         7 │     target { file-newer \"build/lib.a\" than=\"{objects}\" }
           ·                                             ────┬────
           ·                                                 ╰── a list
         8 │     run \"ar rc build/lib.a {objects|raw}\"
           ╰────
          help: write `than-words=\"{objects}\"` to give each word of the list as a source
        goal::list-as-path

          × `objects` is a list of several paths, where a source is one path
            ╭─[Goalfile:15:19]
         14 │         file-newer \"{spaced}\" {
         15 │             than \"{objects}/x\"
            ·                   ────┬────
            ·                       ╰── a list
         16 │         }
            ╰────
          help: write `than-words=\"{objects}\"` to give each word of the list as a source
        goal::list-as-path

          × `names` is a list of several paths, where a target is one path
            ╭─[Goalfile:22:26]
         21 │ goal named names {
         22 │     target { file-newer \"{names}\" than-words=\"{names}\" }
            ·                          ───┬───
            ·                             ╰── a list
         23 │ }
            ╰────
          help: write `words=\"{names}\"` to give each word of the list as a target
        3 errors
        ",
    );
}

#[test]
fn newer_holds_the_changed_sources_of_every_file_newer_in_the_target() {
    let project = Project::new()
        .goalfile(
            r#"
let pages "one.txt two.txt"

goal all {
    target {
        file-newer words="{pages}" than="template.txt"
        all { file-newer "pack.tar" than-words="{pages}" than="extra.txt" }
    }
    run "echo newer: {newer}"
    for page words="{pages}" { run "cp template.txt {page}" }
    run "touch pack.tar"
}
"#,
        )
        .file("template.txt", "")
        .file("extra.txt", "");
    age(&project, &["template.txt", "extra.txt"], -600);
    // Nothing exists yet: every source of both predicates (a page is both a target and a source).
    project
        .goal(&["-q"])
        .expect(0, "newer: template.txt extra.txt one.txt two.txt\n", "");
    project.goal(&["-q"]).expect(0, "", "");

    age(&project, &["one.txt", "two.txt", "pack.tar"], -60);
    project.write("extra.txt", "changed");
    project.goal(&["-q"]).expect(0, "newer: extra.txt\n", "");

    // A target of the first missing: all its sources count; a source of the second missing:
    // that source counts.
    fs::remove_file(project.path().join("two.txt")).unwrap();
    project
        .goal(&["-q"])
        .expect(0, "newer: template.txt two.txt\n", "");

    age(&project, &["extra.txt"], -600);
    age(&project, &["one.txt", "two.txt", "pack.tar"], -60);
    project.write("template.txt", "changed");
    project.goal(&["-q"]).expect(0, "newer: template.txt\n", "");
    project
        .goal(&["-q", "-B"])
        .expect(0, "newer: template.txt extra.txt one.txt two.txt\n", "");
}

#[test]
fn newer_is_defined_after_a_target_only_and_once() {
    let project = Project::new().goalfile(
        r#"
goal before {
    run "echo {newer}"
    target { file-newer "out" than="in" }
}

goal shadowed newer {
    target { file-newer "out" than="in" }
}

goal again {
    target { file-newer "out" than="in" }
    let newer "in"
}
"#,
    );
    project.goal(&["--check"]).expect(
        2,
        "",
        "
        goal::unknown-name

          × `newer` is not defined here
           ╭─[Goalfile:3:15]
         2 │ goal before {
         3 │     run \"echo {newer}\"
           ·               ───┬───
           ·                  ╰── undefined
         4 │     target { file-newer \"out\" than=\"in\" }
           ╰────
          help: `newer` holds the changed sources of a goal's `target`, in the statements after it
        goal::redefined

          × `newer` is defined again by the target after it
           ╭─[Goalfile:7:15]
         6 │
         7 │ goal shadowed newer {
           ·               ──┬──
           ·                 ╰── defined here
         8 │     target { file-newer \"out\" than=\"in\" }
           ╰────
          help: the target at Goalfile:8:5 gives its changed sources the name `newer`; choose another name
        goal::redefined

          × `newer` is already the changed sources here
            ╭─[Goalfile:13:9]
         12 │     target { file-newer \"out\" than=\"in\" }
         13 │     let newer \"in\"
            ·         ──┬──
            ·           ╰── defined again
         14 │ }
            ╰────
          help: the target at Goalfile:12:5 gives its changed sources this name; choose another name
        3 errors
        ",
    );
}

/// A dry run reuses the depfiles and listings the last run kept, and keeps none of its own: it
/// writes nothing, where the real run after it keeps both.
#[test]
fn a_dry_run_keeps_no_depfiles_or_listings() {
    let project = Project::new()
        .goalfile(
            r#"
goal compiled {
    target { file-newer "x.o" than="x.c" depfile="x.d" }
    run "touch x.o"
}
goal all {
    for c glob="src/*.c" { require compiled }
}
"#,
        )
        .file("x.c", "")
        .file("x.h", "")
        .file("x.d", "x.o: x.c x.h\n")
        .file("src/a.c", "")
        .file("x.o", "");
    // The object newer than its source but older than the header only the depfile names.
    age(&project, &["x.c", "x.d", "src/a.c"], -200);
    age(&project, &["x.o"], -120);
    age(&project, &["x.h"], -60);
    // What changed (its ctime too) less than a few seconds ago is read again, not kept.
    std::thread::sleep(Duration::from_millis(3100));
    project.goal(&["-n"]).expect(
        1,
        "would fire: compiled  (x.o is older than x.h)\n",
        "goal: summary: 1 would fire, 0 may fire, 0 already reached (0.00s)\n",
    );
    assert!(!project.exists(".goal/cache/depfiles"));
    assert!(!project.exists(".goal/cache/listings"));
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start compiled
        goal: done  compiled (0.00s)
        goal: summary: 1 ran, 0 already reached (0.00s)
        ",
    );
    assert!(project.exists(".goal/cache/depfiles"));
    assert!(project.exists(".goal/cache/listings"));
}

// A run keeps the modification times it read across the recipes it runs, forgetting only what a
// recipe can have changed (src/eval/mtimes.rs): its own outputs, and every file no goal names as
// its output. Each test below reads a file before a recipe changes it and again after.

#[test]
fn a_recipe_that_touches_an_input_of_a_later_goal_on_the_side_is_seen() {
    let project = Project::new()
        .goalfile(
            r#"
goal early {
    target { file-newer "early.out" than="shared.in" }
    run "cp shared.in early.out"
}
goal toucher {
    target { file-newer "toucher.out" than="toucher.in" }
    run "touch toucher.out shared.in"
}
goal late {
    target { file-newer "late.out" than="shared.in" }
    run "cp shared.in late.out"
}
goal all { require early; require toucher; require late }
"#,
        )
        .file("shared.in", "")
        .file("early.out", "")
        .file("late.out", "")
        .file("toucher.in", "")
        .file("toucher.out", "");
    age(&project, &["shared.in", "toucher.out"], -120);
    age(&project, &["early.out", "late.out", "toucher.in"], -60);
    // `early` reads shared.in and holds; `toucher` changes it; `late` must read it again.
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start toucher
        goal: done  toucher (0.00s)
        goal: start late
        goal: done  late (0.00s)
        goal: summary: 2 ran, 1 already reached (0.00s)
        ",
    );
}

/// The lists of files read, in order, that runs keep for the next to read ahead.
fn stat_lists(project: &Project) -> usize {
    std::fs::read_dir(project.path().join(".goal/cache"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|entry| entry.file_name().to_string_lossy().starts_with("stats-"))
                .count()
        })
        .unwrap_or(0)
}

/// The times a run reads ahead (src/eval/prefetch.rs), in the order the last run read them, count
/// only until a command runs: `late.in`, read ahead before `toucher` changed it, is read again.
/// A list is kept by a run that ran nothing and read enough files (`many` reads 64), not by a
/// dry run.
#[test]
fn a_time_read_ahead_is_not_trusted_after_a_command() {
    let mut project = Project::new().goalfile(
        r#"
goal many {
    target { file-newer "many.out" than-glob="many/*.in" }
    run "touch many.out"
}
goal toucher {
    target { file-newer "toucher.out" than="toucher.in" }
    run "touch toucher.out late.in"
}
goal late {
    target { file-newer "late.out" than="late.in" }
    run "touch late.out"
}
goal all { require many; require toucher; require late }
"#,
    );
    for n in 0..64 {
        project = project.file(&format!("many/{n}.in"), "");
    }
    let project = project
        .file("many.out", "")
        .file("toucher.in", "")
        .file("toucher.out", "")
        .file("late.in", "")
        .file("late.out", "");
    let inputs: Vec<String> = (0..64).map(|n| format!("many/{n}.in")).collect();
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    age(&project, &inputs, -120);
    age(&project, &["toucher.in", "late.in"], -120);
    age(&project, &["many.out", "toucher.out", "late.out"], -60);
    project.goal(&["-n"]).expect(
        0,
        "",
        "goal: summary: 0 would fire, 0 may fire, 3 already reached (0.00s)\n",
    );
    assert_eq!(stat_lists(&project), 0);
    project
        .goal(&[])
        .expect(0, "", "goal: summary: 0 ran, 3 already reached (0.00s)\n");
    assert_eq!(stat_lists(&project), 1);
    age(&project, &["toucher.in"], -30);
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start toucher
        goal: done  toucher (0.00s)
        goal: start late
        goal: done  late (0.00s)
        goal: summary: 2 ran, 1 already reached (0.00s)
        ",
    );
}

#[test]
fn a_generated_header_read_before_its_goal_ran_is_read_again() {
    let project = Project::new()
        .goalfile(
            r#"
goal header {
    target { file-newer "gen.h" than="gen.txt" }
    run "cp gen.txt gen.h"
}
goal lint {
    target { file-newer "lint.out" than="gen.h" }
    run "touch lint.out"
}
goal object {
    require header
    target { file-newer "a.o" { than "a.c" "gen.h"; } }
    run "echo compiled >> log && touch a.o"
}
goal all { require lint; require object }
"#,
        )
        .file("gen.txt", "#define X 2\n")
        .file("gen.h", "#define X 1\n")
        .file("a.c", "")
        .file("a.o", "")
        .file("lint.out", "");
    age(&project, &["a.c", "gen.h"], -120);
    age(&project, &["a.o", "lint.out", "gen.txt"], -60);
    // `lint` reads gen.h and holds; `header` rewrites it; the object must see it newer.
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start header
        goal: done  header (0.00s)
        goal: start object
        goal: done  object (0.00s)
        goal: summary: 2 ran, 1 already reached (0.00s)
        ",
    );
    assert_eq!(project.read("log"), "compiled\n");
}

#[test]
fn a_generated_header_named_by_depfiles_is_read_again_after_its_goal_ran() {
    let project = Project::new()
        .goalfile(
            r#"
goal header {
    target { file-newer "gen.h" than="gen.txt" }
    run "cp gen.txt gen.h"
}
goal object name {
    target { file-newer "{name}.o" than="{name}.c" depfile="{name}.d" }
    run "echo {name} >> log && touch {name}.o"
}
goal all { require object name="a"; require header; require object name="b" }
"#,
        )
        .file("gen.txt", "#define X 2\n")
        .file("gen.h", "#define X 1\n")
        .file("a.c", "")
        .file("b.c", "")
        .file("a.d", "a.o: a.c gen.h\n")
        .file("b.d", "b.o: b.c gen.h\n")
        .file("a.o", "")
        .file("b.o", "");
    age(&project, &["a.c", "b.c", "a.d", "b.d", "gen.h"], -120);
    age(&project, &["a.o", "b.o", "gen.txt"], -60);
    // The depfile of `a` names gen.h, read and kept; `header` rewrites it, its declared output;
    // the depfile of `b` names it too, and `b` must see it newer.
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start header
        goal: done  header (0.00s)
        goal: start object name=b
        goal: done  object name=b (0.00s)
        goal: summary: 2 ran, 1 already reached (0.00s)
        ",
    );
    assert_eq!(project.read("log"), "b\n");
}

#[test]
fn a_recipe_writing_into_a_globbed_directory_is_seen_by_a_later_glob() {
    let project = Project::new()
        .goalfile(
            r#"
goal before {
    target { file-newer "before.out" than-glob="gen/*.c" }
    run "touch before.out"
}
goal writer {
    target { file-newer "writer.out" than="writer.in" }
    run "touch writer.out gen/b.c"
}
goal after {
    target { file-newer "after.out" than-glob="gen/*.c" }
    run "ls gen > after.out"
}
goal all { require before; require writer; require after }
"#,
        )
        .file("gen/a.c", "")
        .file("before.out", "")
        .file("after.out", "")
        .file("writer.in", "")
        .file("writer.out", "");
    age(&project, &["gen/a.c", "writer.out"], -120);
    age(&project, &["before.out", "after.out", "writer.in"], -60);
    // `before` lists gen/ and holds; `writer` adds gen/b.c; `after` must list it and fire.
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start writer
        goal: done  writer (0.00s)
        goal: start after
        goal: done  after (0.00s)
        goal: summary: 2 ran, 1 already reached (0.00s)
        ",
    );
    assert_eq!(project.read("after.out"), "a.c\nb.c\n");
}

#[test]
fn a_recipe_rewriting_an_object_read_earlier_is_seen_by_the_link_and_its_promise() {
    let project = Project::new()
        .goalfile(
            r#"
goal object name {
    target { file-newer "{name}.o" than="{name}.c" }
    run "cp {name}.c {name}.o"
}
goal linked {
    for name "a" "b" "c" { require object name="{name}" }
    target { file-newer "app" { than "a.o" "b.o" "c.o"; } }
    run "cat a.o b.o c.o > app"
}
"#,
        )
        .file("a.c", "a\n")
        .file("b.c", "b\n")
        .file("c.c", "c\n")
        .file("a.o", "a\n")
        .file("b.o", "old b\n")
        .file("c.o", "c\n")
        .file("app", "a\nold b\nc\n");
    age(&project, &["a.c", "b.o", "c.c"], -120);
    age(&project, &["a.o", "c.o"], -90);
    age(&project, &["app", "b.c"], -60);
    // a.o and c.o are read once, b.o before and after its recipe: the link sees it newer.
    project.goal(&["linked"]).expect(
        0,
        "",
        "
        goal: start object name=b
        goal: done  object name=b (0.00s)
        goal: start linked
        goal: done  linked (0.00s)
        goal: summary: 2 ran, 2 already reached (0.00s)
        ",
    );
    assert_eq!(project.read("app"), "a\nb\nc\n");
}

// `goal compdb`: compile_commands.json for editors, as `ninja -t compdb` writes it.

#[test]
fn compdb_prints_the_compile_commands_of_the_example_and_writes_nothing() {
    let project = crate::examples::example("c-project");
    let compile = |name: &str| {
        format!(
            r#"  {{
    "directory": "/tmp/project",
    "command": "cc -std=c99 -O2 -Wall -Wextra -MMD -MP -MF 'build/{name}.d' -c 'src/{name}.c' -o 'build/{name}.o'",
    "file": "src/{name}.c",
    "output": "build/{name}.o"
  }}"#
        )
    };
    // Before any build (no depfile yet) and after one (every object up to date): the same
    // commands, in the order a run meets them.
    let expected = format!(
        "[\n{},\n{},\n{}\n]\n",
        compile("main"),
        compile("greet"),
        compile("count")
    );
    project
        .goal(&["compdb", "compiled"])
        .expect(0, &expected, "");
    assert!(!project.exists("build"));
    assert!(!project.exists(".goal/cache/depfiles"));
    project.goal(&["-q"]).expect(0, "", "");
    project
        .goal(&["compdb", "compiled"])
        .expect(0, &expected, "");
    // The link is no compile of one source: named, it is listed with its first source.
    project.goal(&["compdb", "linked"]).expect(
        0,
        r#"
        [
          {
            "directory": "/tmp/project",
            "command": "cc -o 'build/hello' 'build'/main.o 'build'/libgreet.a",
            "file": "build/main.o",
            "output": "build/hello"
          }
        ]
        "#,
        "",
    );
}

#[test]
fn compdb_names_only_goals_of_the_goalfile() {
    let project = crate::examples::example("c-project");
    project
        .goal(&["compdb", "compiled", "linkd", "nope"])
        .expect(
            2,
            "",
            "
        goal::unknown-goal

          × there is no goal `linkd` in the Goalfile
          help: did you mean `linked`?
        goal::unknown-goal

          × there is no goal `nope` in the Goalfile
          help: `goal --list` shows the goals
        2 errors
        ",
        );
}

#[test]
fn compdb_needs_a_goal_all_to_start_from() {
    let project = Project::new().goalfile(
        r#"
goal compiled {
    target { file-newer "a.o" than="a.c" }
    run "cc -c a.c -o a.o"
}
"#,
    );
    project.goal(&["compdb", "compiled"]).expect(
        2,
        "",
        "
        goal::no-default-goal

          × `goal compdb` lists what a dry run of `all` meets, and the Goalfile has no goal `all`
          help: add `goal all { … }` requiring what the project builds
        ",
    );
}
