//! `goal init`: a starting Goalfile from the template that fits the directory, never written
//! over an existing one, and each template passes the checks and runs.

use crate::common;

use common::Project;

const C_MAIN: &str = "void greet(void);\nint main(void) { greet(); return 0; }\n";
const C_GREET: &str = "#include <stdio.h>\nvoid greet(void) { puts(\"hi\"); }\n";

#[test]
fn chores_template_is_written_checked_and_run() {
    let project = Project::new();
    project.goal(&["init"]).expect(
        0,
        "
        wrote Goalfile from the chores template (found no C sources)
        next: `goal --list` lists its goals, `goal` reaches `all`, `goal fmt` keeps it tidy
        ",
        "",
    );
    project.goal(&["--check"]).expect(0, "", "");
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start greeted
        goal: done  greeted (<duration>)
        goal: start noted topic=first
        goal: done  noted topic=first (<duration>)
        goal: summary: 2 ran, 0 already reached (<duration>)
        ",
    );
    assert_eq!(project.read("notes/first.txt"), "first\n");
    // Already formatted as `goal fmt` would write it.
    project.goal(&["fmt", "--check"]).expect(0, "", "");
}

#[test]
fn c_template_builds_the_program_from_the_sources_in_src() {
    let project = Project::new()
        .file("src/hello.c", C_MAIN)
        .file("src/greet.c", C_GREET);
    project.goal(&["init"]).expect(
        0,
        "
        wrote Goalfile from the C-project template (found C sources in src/)
        next: `goal --list` lists its goals, `goal` builds the program, `goal fmt` keeps it tidy
        ",
        "",
    );
    assert!(project
        .read("Goalfile")
        .contains("let program \"build/hello\""));
    project.goal(&["--check"]).expect(0, "", "");
    project.goal(&["-q"]).expect(0, "", "");
    assert!(project.exists("build/hello"));
    assert!(project.exists("build/greet.d"));
    project.goal(&[]).expect(
        0,
        "",
        "goal: summary: 0 ran, 3 already reached (<duration>)\n",
    );
    project.goal(&["fmt", "--check"]).expect(0, "", "");
}

#[test]
fn c_sources_at_the_top_and_a_directory_named_with_dash_c() {
    let project = Project::new()
        .file("app/main.c", C_MAIN)
        .file("app/greet.c", C_GREET);
    project.goal(&["-C", "app", "init"]).expect(
        0,
        "
        wrote Goalfile from the C-project template (found C sources in this directory)
        next: `goal --list` lists its goals, `goal` builds the program, `goal fmt` keeps it tidy
        ",
        "",
    );
    project.goal(&["-C", "app", "-q"]).expect(0, "", "");
    assert!(project.exists("app/build/main"));
}

#[test]
fn a_makefile_that_compiles_c_chooses_the_c_template() {
    let project = Project::new().file("Makefile", "hello: hello.o\n\t$(CC) -o $@ $^\n");
    project.goal(&["init"]).expect(
        0,
        "
        wrote Goalfile from the C-project template (the Makefile compiles C; the template looks for the sources in src/)
        next: `goal --list` lists its goals, `goal` builds the program, `goal fmt` keeps it tidy
        ",
        "",
    );
    project.goal(&["--check"]).expect(0, "", "");
}

#[test]
fn an_existing_goalfile_is_never_replaced() {
    let project = Project::new().goalfile("goal mine { run \"true\" }\n");
    for args in [&["init"][..], &["-n", "init"]] {
        project.goal(args).expect(
            2,
            "",
            "
            goal::goalfile-exists

              × Goalfile already exists: `goal init` writes only a new Goalfile
              help: edit it, or move it away and run `goal init` again
            ",
        );
    }
    assert_eq!(project.read("Goalfile"), "goal mine { run \"true\" }\n");
}

#[test]
fn dry_run_says_what_it_would_write_and_writes_nothing() {
    let project = Project::new();
    let run = project.goal(&["-n", "init"]);
    run.success().stderr_is("");
    let (said, text) = run
        .stdout
        .split_once("\n\n")
        .expect("a summary, then the text");
    assert_eq!(
        said,
        "would write Goalfile from the chores template (found no C sources)\n\
         next: `goal --list` lists its goals, `goal` reaches `all`, `goal fmt` keeps it tidy"
    );
    assert!(!project.exists("Goalfile"));
    let written = Project::new();
    written.goal(&["init"]).success();
    assert_eq!(text, written.read("Goalfile"));
}

#[test]
fn dash_f_names_the_file_written() {
    let project = Project::new();
    project.goal(&["-f", "chores.goal", "init"]).expect(
        0,
        "
        wrote chores.goal from the chores template (found no C sources)
        next: `goal --list` lists its goals, `goal` reaches `all`, `goal fmt` keeps it tidy
        ",
        "",
    );
    assert!(project.exists("chores.goal"));
    assert!(!project.exists("Goalfile"));
    project
        .goal(&["-f", "chores.goal", "--check"])
        .expect(0, "", "");
}

#[test]
fn a_goalfile_that_cannot_be_written_is_said_so() {
    let project = Project::new();
    project.goal(&["-f", "missing/Goalfile", "init"]).expect(
        1,
        "",
        "
        goal::init-write

          × cannot write missing/Goalfile: No such file or directory (os error 2)
        ",
    );
}
