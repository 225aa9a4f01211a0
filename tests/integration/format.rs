//! `goal fmt`: one layout, every comment kept, idempotent, and the same goals after it; a file
//! that does not parse is refused and left as it was.

use crate::common;

use common::documents::all_blocks;
use common::Project;

/// `goal --list --json` without the spans, which move when the layout does.
fn goals(project: &Project) -> serde_json::Value {
    let run = project.goal(&["--list", "--json"]);
    run.success();
    let mut listing: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    strip_spans(&mut listing);
    listing
}

fn strip_spans(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|key, _| key != "span" && key != "spans");
            map.values_mut().for_each(strip_spans);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_spans),
        _ => {}
    }
}

/// Every Goalfile of examples/ and every ```kdl block of spec/ and docs/.
fn corpus() -> Vec<(String, String)> {
    let root = common::repo_root();
    let mut corpus = Vec::new();
    for entry in std::fs::read_dir(root.join("examples")).unwrap().flatten() {
        let path = entry.path().join("Goalfile");
        if let Ok(text) = std::fs::read_to_string(&path) {
            corpus.push((path.display().to_string(), text));
        }
    }
    for block in all_blocks() {
        if block.fence == "kdl" && !block.text.contains("include ") {
            corpus.push((block.place(), block.text.clone()));
        }
    }
    corpus
}

#[test]
fn layout_is_idempotent_and_keeps_the_goals_on_every_goalfile_we_have() {
    let corpus = corpus();
    assert!(corpus.len() >= 50, "only {} Goalfiles found", corpus.len());
    let mut failures = Vec::new();
    for (place, text) in corpus {
        let project = Project::new().goalfile(&text);
        let before = goals(&project);
        let run = project.goal(&["fmt"]);
        if run.status != Some(0) || !run.stdout.is_empty() || !run.stderr.is_empty() {
            failures.push(format!("{place}: goal fmt:\n{}{}", run.stdout, run.stderr));
            continue;
        }
        let once = project.read("Goalfile");
        project.goal(&["fmt"]).expect(0, "", "");
        if project.read("Goalfile") != once {
            failures.push(format!("{place}: a second goal fmt changed the file"));
        }
        project.goal(&["fmt", "--check"]).expect(0, "", "");
        if project.goal(&["--check"]).status != Some(0) {
            failures.push(format!("{place}: the laid-out file fails goal --check"));
        }
        if goals(&project) != before {
            failures.push(format!(
                "{place}: goal --list --json differs after goal fmt"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The examples are what users copy: they are kept in the layout `goal fmt` gives.
#[test]
fn the_examples_are_laid_out_as_goal_fmt_lays_them_out() {
    let root = common::repo_root();
    for entry in std::fs::read_dir(root.join("examples")).unwrap().flatten() {
        if entry.path().join("Goalfile").exists() {
            let project = Project::new();
            let dir = entry.path().display().to_string();
            project
                .goal(&["-C", &dir, "fmt", "--check"])
                .expect(0, "", "");
        }
    }
}

/// A comment in every place KDL allows one, laid out badly.
const COMMENTS: &str = r#"// 1 first line of the file

  /* 2 block comment
     over two lines */
let cc   "cc"     // 3 after a value
let flags /* 4 between values */ "-O2"
/- let old "5 a slashdashed node"
goal   built  c_file   /- "6 slashdashed argument" doc="x" /* 7 before the children */ {
      // 8 first in a block


  param c_file /- pattern="9 slashdashed property"
    target { file-exists "{c_file}.o" /* 10 inside a one-line block */ }
    /* 11 above a node */ run "cc -c {c_file}"   /* 12 after a node */
    // 13 last in a block
}
goal all /-{ run "14 slashdashed children" } {
    require built c_file="a.c"; // 15 after a semicolon
}
// 16 last line of the file
"#;

const COMMENTS_LAID_OUT: &str = r#"// 1 first line of the file

/* 2 block comment
     over two lines */
let cc "cc" // 3 after a value
let flags /* 4 between values */ "-O2"
/- let old "5 a slashdashed node"
goal built c_file /- "6 slashdashed argument" doc="x" /* 7 before the children */ {
    // 8 first in a block

    param c_file /- pattern="9 slashdashed property"
    target { file-exists "{c_file}.o" /* 10 inside a one-line block */ }
    /* 11 above a node */ run "cc -c {c_file}" /* 12 after a node */
    // 13 last in a block
}
goal all /-{ run "14 slashdashed children" } {
    require built c_file="a.c"
    // 15 after a semicolon
}
// 16 last line of the file
"#;

#[test]
fn every_comment_survives_in_its_place() {
    let project = Project::new().goalfile(COMMENTS);
    project.goal(&["--check"]).expect(0, "", "");
    project.goal(&["fmt"]).expect(0, "", "");
    assert_eq!(project.read("Goalfile"), COMMENTS_LAID_OUT);
    for number in 1..=16 {
        let lost = |text: &str| {
            !text.contains(&format!(" {number} ")) && !text.contains(&format!("\"{number} "))
        };
        assert!(!lost(COMMENTS), "comment {number} is not in the corpus");
        assert!(!lost(COMMENTS_LAID_OUT), "comment {number} lost");
    }
    project.goal(&["fmt", "--check"]).expect(0, "", "");
    project.goal(&["--check"]).expect(0, "", "");
}

#[test]
fn a_bare_line_continuation_is_joined_and_one_with_a_comment_kept() {
    let project = Project::new().goalfile(
        "goal a {\n    run \"x\" \\\n        \"y\"\n    run \"z\" \\  // why\n        \"w\"\n}\n\
         goal b { run/**/\"v\" }\ngoal c { run \"u\" } \\",
    );
    project.goal(&["fmt"]).expect(0, "", "");
    assert_eq!(
        project.read("Goalfile"),
        "goal a {\n    run \"x\" \"y\"\n    run \"z\" \\  // why\n        \"w\"\n}\n\
         goal b { run /**/ \"v\" }\ngoal c { run \"u\" }\n"
    );
    project.goal(&["fmt", "--check"]).expect(0, "", "");
}

#[test]
fn check_prints_a_diff_exits_1_and_writes_nothing() {
    let text = "goal all   {\n  run \"true\"\n}\n";
    let project = Project::new().goalfile(text);
    let diff = "
        --- Goalfile
        +++ Goalfile (formatted)
        @@ -1,3 +1,3 @@
        -goal all   {
        -  run \"true\"
        +goal all {
        +    run \"true\"
         }
        ";
    project.goal(&["fmt", "--check"]).expect(1, diff, "");
    project.goal(&["-n", "fmt"]).expect(1, diff, "");
    assert_eq!(project.read("Goalfile"), text);
    project.goal(&["fmt"]).expect(0, "", "");
    assert_eq!(
        project.read("Goalfile"),
        "goal all {\n    run \"true\"\n}\n"
    );
}

#[test]
fn a_goalfile_that_does_not_parse_is_refused_and_left_alone() {
    let text = "goal all {\n  run \"true\"\n";
    let project = Project::new().goalfile(text);
    let refused = "
        goal::kdl-syntax

          × No closing '}' for child block
           ╭─[Goalfile:1:10]
         1 │ goal all {
           ·          ┬
           ·          ╰── not closed
         2 │   run \"true\"
           ╰────
          help: close the block with `}`
        ";
    project.goal(&["fmt"]).expect(2, "", refused);
    project.goal(&["fmt", "--check"]).expect(2, "", refused);
    assert_eq!(project.read("Goalfile"), text);
}

#[test]
fn the_file_keeps_its_permissions_and_a_link_stays_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let project = Project::new().file("real.goal", "goal all {run \"true\"}\n");
    let real = project.path().join("real.goal");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("real.goal", project.path().join("Goalfile")).unwrap();
    project.goal(&["fmt"]).expect(0, "", "");
    assert_eq!(project.read("real.goal"), "goal all { run \"true\" }\n");
    assert!(std::fs::symlink_metadata(project.path().join("Goalfile"))
        .unwrap()
        .file_type()
        .is_symlink());
    let mode = std::fs::metadata(&real).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
}

/// A disk that takes no more bytes: here a file-size limit of zero, which root cannot pass over as
/// it passes over permissions. The Goalfile is left as it was, and no copy is left beside it.
#[test]
fn a_goalfile_that_cannot_be_written_is_left_as_it_was() {
    use std::os::unix::process::CommandExt;
    let text = "goal all {run \"true\"}\n";
    let project = Project::new().goalfile(text);
    let mut command = project.command(&["fmt"]);
    // SAFETY: the hook only calls signal and setrlimit, which are async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            // Ignored, SIGXFSZ no longer kills a write past the limit: the write fails (EFBIG).
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &none) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    common::Run::from(output).expect(
        1,
        "",
        "
        goal::fmt-write

          × cannot write Goalfile: File too large (os error 27); it is left as it was
        ",
    );
    assert_eq!(project.read("Goalfile"), text);
    let mut names: Vec<String> = std::fs::read_dir(project.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Goalfile"]);
}
