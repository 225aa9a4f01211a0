//! Every example in the language reference is tested: a ```kdl block is a whole Goalfile that
//! must check clean, a ```kdl-error block must fail with the code its first line names
//! (`// error: goal::unknown-goal`), and a block whose first line is `// run: goal ARGS…` is
//! also run with those arguments and must succeed.

use crate::common;

use common::documents::all_blocks;
use common::Project;

#[test]
fn every_example_in_the_reference_checks_as_it_says() {
    let examples: Vec<_> = all_blocks()
        .into_iter()
        .filter(|block| block.fence.starts_with("kdl"))
        .collect();
    assert!(
        examples.len() >= 30,
        "only {} examples found",
        examples.len()
    );
    let mut failures = Vec::new();
    for example in &examples {
        let place = example.place();
        let project = Project::new().goalfile(&example.text);
        let first = example.text.lines().next().unwrap_or_default().trim();
        if example.fence == "kdl-error" {
            let Some(code) = first.strip_prefix("// error:").map(str::trim) else {
                failures.push(format!(
                    "{place}: a kdl-error block must start with `// error: CODE`"
                ));
                continue;
            };
            let out = project.goal(&["--check"]);
            if out.status != Some(2) || !out.stderr.contains(code) {
                failures.push(format!(
                    "{place}: expected {code}, got status {:?}:\n{}",
                    out.status, out.stderr
                ));
            }
            continue;
        }
        let out = project.goal(&["--check"]);
        if out.status != Some(0) {
            failures.push(format!("{place}: does not check clean:\n{}", out.stderr));
            continue;
        }
        if let Some(args) = first.strip_prefix("// run: goal") {
            let args = shell_words::split(args).unwrap();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = project.goal(&args);
            if out.status != Some(0) {
                failures.push(format!(
                    "{place}: `goal {}` failed:\n{}{}",
                    args.join(" "),
                    out.stdout,
                    out.stderr
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every error code the source can raise is documented in spec/errors.md. `goal::stopped` is
/// not: it only tells the other branches of a failed run to stop, and is never shown.
#[test]
fn every_error_code_is_in_the_reference() {
    let errors = std::fs::read_to_string(common::repo_root().join("spec/errors.md")).unwrap();
    let mut missing = Vec::new();
    let mut dirs = vec![common::repo_root().join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for code in text.split("\"goal::").skip(1).filter_map(|rest| {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                    .collect();
                rest[name.len()..].starts_with('"').then_some(name)
            }) {
                let code = format!("goal::{code}");
                if code != "goal::stopped" && !errors.contains(&format!("`{code}`")) {
                    missing.push(format!("{code} ({})", path.display()));
                }
            }
        }
    }
    assert!(missing.is_empty(), "undocumented error codes: {missing:?}");
}
