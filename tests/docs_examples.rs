//! The documentation's Goalfiles check as they claim, and the examples do what their READMEs say.
//!
//! Conventions (spec/README.md): every ```kdl block in spec/, docs/ and README.md is a complete
//! Goalfile that must check clean; every ```kdl-error block must fail to check with the code
//! named on its first line (`// error: goal::unknown-goal`).
//!
//! Tests that need `goal --check` or a real run are ignored until the parser, checker and
//! evaluator land; run them with `cargo test --test docs_examples -- --include-ignored`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{repo_root, Project};

struct Block {
    file: PathBuf,
    line: usize,
    lang: String,
    text: String,
}

/// The fenced blocks of a Markdown file, with the line their fence opens on.
fn blocks(path: &Path) -> Vec<Block> {
    let text = fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        if let Some(lang) = trimmed.strip_prefix("```") {
            let indent = lines[i].len() - trimmed.len();
            let start = i;
            let mut body = String::new();
            i += 1;
            while i < lines.len() && lines[i].trim() != "```" {
                let line = lines[i];
                body.push_str(line.get(indent.min(line.len())..).unwrap_or(""));
                body.push('\n');
                i += 1;
            }
            out.push(Block {
                file: path.to_path_buf(),
                line: start + 1,
                lang: lang.trim().to_string(),
                text: body,
            });
        }
        i += 1;
    }
    out
}

fn markdown_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = vec![root.join("README.md")];
    for dir in ["spec", "docs", "examples"] {
        let mut stack = vec![root.join(dir)];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "md") {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    files
}

fn all_blocks(lang: &str) -> Vec<Block> {
    markdown_files()
        .iter()
        .flat_map(|file| blocks(file))
        .filter(|block| block.lang == lang)
        .collect()
}

#[test]
fn the_documentation_has_goalfile_examples() {
    let good = all_blocks("kdl");
    let bad = all_blocks("kdl-error");
    assert!(good.len() >= 40, "only {} kdl blocks", good.len());
    assert!(bad.len() >= 30, "only {} kdl-error blocks", bad.len());
    for block in &bad {
        let first = block.text.lines().next().unwrap_or("");
        assert!(
            first.starts_with("// error: goal::"),
            "{}:{}: a kdl-error block must start with `// error: goal::CODE`",
            block.file.display(),
            block.line
        );
    }
}

#[test]
#[ignore = "needs `goal --check` (parser and checker)"]
fn every_kdl_block_checks_clean() {
    let mut failures = Vec::new();
    for block in all_blocks("kdl") {
        let project = Project::new().goalfile(&block.text);
        let run = project.goal(&["--check"]);
        if run.status != Some(0) {
            failures.push(format!(
                "{}:{}: exit {:?}\n{}",
                block.file.display(),
                block.line,
                run.status,
                run.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
#[ignore = "needs `goal --check` (parser and checker)"]
fn every_kdl_error_block_fails_with_its_code() {
    let mut failures = Vec::new();
    for block in all_blocks("kdl-error") {
        let code = block
            .text
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("// error: "))
            .unwrap_or("")
            .trim()
            .to_string();
        let project = Project::new().goalfile(&block.text);
        let run = project.goal(&["--check"]);
        if run.status != Some(2) || !run.stderr.contains(&code) {
            failures.push(format!(
                "{}:{}: expected {code} and exit 2, got exit {:?}\n{}",
                block.file.display(),
                block.line,
                run.status,
                run.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
#[ignore = "needs `goal --check` (parser and checker)"]
fn example_goalfiles_check_clean() {
    for example in ["c-project", "mass-rebuild", "commit-tests"] {
        let dir = repo_root().join("examples").join(example);
        let mut command = Project::new().command(&["--check"]);
        command.current_dir(&dir);
        let run = common::Run::from(command.output().unwrap());
        run.success();
    }
}

/// Copies `examples/NAME` into a fresh project, leaving out what a run creates.
fn example(name: &str) -> Project {
    let project = Project::new();
    let source = repo_root().join("examples").join(name);
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        for entry in fs::read_dir(source.join(&relative)).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if [".goal", "build", ".fakekoji", "repo", ".scratch"]
                .iter()
                .any(|skip| name == *skip)
            {
                continue;
            }
            let relative = relative.join(&name);
            if entry.path().is_dir() {
                fs::create_dir_all(project.path().join(&relative)).unwrap();
                stack.push(relative);
            } else {
                fs::copy(entry.path(), project.path().join(&relative)).unwrap();
            }
        }
    }
    project
}

fn mtime(project: &Project, relative: &str) -> std::time::SystemTime {
    fs::metadata(project.path().join(relative))
        .unwrap()
        .modified()
        .unwrap()
}

#[test]
#[ignore = "needs the evaluator"]
fn c_project_compiles_links_and_then_does_nothing() {
    let project = example("c-project");
    project.goal(&[]).success();
    for object in ["build/main.o", "build/greet.o", "build/count.o", "build/hello"] {
        assert!(project.exists(object), "{object} missing");
    }
    let output = std::process::Command::new(project.path().join("build/hello"))
        .arg("Ada")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Hello, Ada!\n1 name(s) greeted\n"
    );
    let before = mtime(&project, "build/hello");
    project.goal(&[]).success();
    assert_eq!(mtime(&project, "build/hello"), before, "second run relinked");
    project.goal(&["--dry-run"]).success();
}

#[test]
#[ignore = "needs the evaluator"]
fn mass_rebuild_builds_each_package_once_after_its_dependencies() {
    let project = example("mass-rebuild");
    project.goal(&[]).success();
    let log = project.read(".fakekoji/log");
    let order: Vec<&str> = log.lines().map(|l| l.trim_start_matches("build ")).collect();
    let mut sorted = order.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), order.len(), "a package was built twice: {order:?}");
    assert_eq!(order.len(), 6, "{order:?}");
    let deps = |pkg: &str| -> Vec<String> {
        let out = std::process::Command::new("sh")
            .args(["./fakekoji", "deps", pkg])
            .current_dir(project.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    };
    for (i, pkg) in order.iter().enumerate() {
        for dep in deps(pkg) {
            let j = order.iter().position(|p| *p == dep).unwrap();
            assert!(j < i, "{pkg} built before its dependency {dep}: {order:?}");
        }
    }
    // Everything is remembered: a second run asks for no build.
    project.goal(&[]).success();
    assert_eq!(project.read(".fakekoji/log"), log);
}

#[test]
#[ignore = "needs the evaluator and the Memory"]
fn commit_tests_tests_each_commit_once() {
    let project = example("commit-tests");
    project.goal(&[]).success().stdout_has("all tests passed");
    project.goal(&[]).success().stdout_lacks("all tests passed");
    project
        .goal(&["new-commit", "test-head"])
        .success()
        .stdout_has("all tests passed");
    let listed = project.goal(&["memory", "list", "tested-"]);
    listed.success();
    assert_eq!(listed.stdout.lines().count(), 2, "{}", listed.stdout);
}
