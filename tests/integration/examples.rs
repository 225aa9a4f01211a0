//! The examples in examples/ run end to end, each in a fresh copy: the C project really
//! compiles and then does nothing, the mass rebuild builds in dependency order (and, killed
//! halfway, continues), and each commit is tested once.

use crate::common;

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use common::{repo_root, Project};

#[test]
fn example_goalfiles_check_clean() {
    for example in [
        "c-project",
        "mass-rebuild",
        "commit-tests",
        "version-release",
    ] {
        let dir = repo_root().join("examples").join(example);
        let mut command = Project::new().command(&["--check"]);
        command
            .current_dir(&dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let run = common::Run::from(command.output().unwrap());
        run.success();
    }
}

/// Copies `examples/NAME` into a fresh project, leaving out what a run creates.
pub(crate) fn example(name: &str) -> Project {
    let project = Project::new();
    let source = repo_root().join("examples").join(name);
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        for entry in fs::read_dir(source.join(&relative)).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if [
                ".goal",
                "build",
                ".fakekoji",
                "repo",
                ".scratch",
                "dist",
                "downloads",
            ]
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
fn c_project_compiles_links_and_then_does_nothing() {
    let project = example("c-project");
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start compiled c_file=src/main.c
        goal: done  compiled c_file=src/main.c (<duration>)
        goal: start compiled c_file=src/greet.c
        goal: done  compiled c_file=src/greet.c (<duration>)
        goal: start compiled c_file=src/count.c
        goal: done  compiled c_file=src/count.c (<duration>)
        goal: start archived
        goal: done  archived (<duration>)
        goal: start linked
        goal: done  linked (<duration>)
        goal: summary: 5 ran, 0 already reached (<duration>)
        ",
    );
    for object in [
        "build/main.o",
        "build/greet.o",
        "build/count.o",
        "build/hello",
    ] {
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
    project.goal(&[]).expect(
        0,
        "",
        "goal: summary: 0 ran, 5 already reached (<duration>)\n",
    );
    assert_eq!(
        mtime(&project, "build/hello"),
        before,
        "second run relinked"
    );
    project.goal(&["--dry-run"]).expect(
        0,
        "",
        "goal: summary: 0 would fire, 0 may fire, 5 already reached (<duration>)\n",
    );
}

#[test]
fn c_project_recompiles_only_the_objects_that_include_a_touched_header() {
    let project = example("c-project");
    project.goal(&["-q"]).expect(0, "", "");
    // The compiles and the link before it take far longer than the clock's granularity, so the
    // header is newer than every object.
    let header = project.path().join("src/count.h");
    fs::File::options()
        .append(true)
        .open(header)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    project.goal(&[]).expect(
        0,
        "",
        "
        goal: start compiled c_file=src/main.c
        goal: done  compiled c_file=src/main.c (0.00s)
        goal: start compiled c_file=src/count.c
        goal: done  compiled c_file=src/count.c (0.00s)
        goal: start archived
        goal: done  archived (0.00s)
        goal: start linked
        goal: done  linked (0.00s)
        goal: summary: 4 ran, 1 already reached (0.00s)
        ",
    );
}

#[test]
fn mass_rebuild_builds_each_package_once_after_its_dependencies() {
    let project = example("mass-rebuild");
    project.goal(&[]).expect(
        0,
        "
        fakekoji: started build of ocaml-base
        fakekoji: ocaml-base is built
        fakekoji: started build of ocaml-dune
        fakekoji: ocaml-dune is built
        fakekoji: started build of ocaml-fmt
        fakekoji: ocaml-fmt is built
        fakekoji: started build of ocaml-logs
        fakekoji: ocaml-logs is built
        fakekoji: started build of ocaml-cmdliner
        fakekoji: ocaml-cmdliner is built
        fakekoji: started build of ocaml-app
        fakekoji: ocaml-app is built
        ",
        "
        goal: start rebuild-started pkg=ocaml-base
        goal: done  rebuild-started pkg=ocaml-base (<duration>)
        goal: start rebuilt pkg=ocaml-base
        goal: done  rebuilt pkg=ocaml-base (<duration>)
        goal: start rebuild-started pkg=ocaml-dune
        goal: done  rebuild-started pkg=ocaml-dune (<duration>)
        goal: start rebuilt pkg=ocaml-dune
        goal: done  rebuilt pkg=ocaml-dune (<duration>)
        goal: start rebuild-started pkg=ocaml-fmt
        goal: done  rebuild-started pkg=ocaml-fmt (<duration>)
        goal: start rebuilt pkg=ocaml-fmt
        goal: done  rebuilt pkg=ocaml-fmt (<duration>)
        goal: start rebuild-started pkg=ocaml-logs
        goal: done  rebuild-started pkg=ocaml-logs (<duration>)
        goal: start rebuilt pkg=ocaml-logs
        goal: done  rebuilt pkg=ocaml-logs (<duration>)
        goal: start rebuild-started pkg=ocaml-cmdliner
        goal: done  rebuild-started pkg=ocaml-cmdliner (<duration>)
        goal: start rebuilt pkg=ocaml-cmdliner
        goal: done  rebuilt pkg=ocaml-cmdliner (<duration>)
        goal: start rebuild-started pkg=ocaml-app
        goal: done  rebuild-started pkg=ocaml-app (<duration>)
        goal: start rebuilt pkg=ocaml-app
        goal: done  rebuilt pkg=ocaml-app (<duration>)
        goal: summary: 12 ran, 0 already reached (<duration>)
        ",
    );
    let log = project.read(".fakekoji/log");
    let order: Vec<&str> = log
        .lines()
        .map(|l| l.trim_start_matches("build "))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        order.len(),
        "a package was built twice: {order:?}"
    );
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
    project.goal(&[]).expect(
        0,
        "",
        "goal: summary: 0 ran, 2 already reached (<duration>)\n",
    );
    assert_eq!(project.read(".fakekoji/log"), log);
}

#[test]
fn commit_tests_tests_each_commit_once() {
    let project = example("commit-tests");
    // The tests' output names commits by their hashes, which differ with every repository made.
    project.goal(&[]).success().stdout_has("all tests passed");
    project.goal(&[]).expect(
        0,
        "",
        "goal: summary: 0 ran, 2 already reached (<duration>)\n",
    );
    project
        .goal(&["new-commit", "test-head"])
        .success()
        .stdout_has("all tests passed");
    let listed = project.goal(&["memory", "list", "tested-"]);
    listed.success();
    assert_eq!(listed.stdout.lines().count(), 2, "{}", listed.stdout);
}

#[test]
fn commit_tests_periodic_job_tests_the_head_when_it_is_due() {
    let project = example("commit-tests");
    // Never fired: due at once.
    project
        .goal(&["tick"])
        .success()
        .stdout_has("all tests passed");
    project.goal(&["new-commit"]).expect(
        0,
        "",
        "
        goal: start new-commit
        goal: done  new-commit (<duration>)
        goal: summary: 1 ran, 1 already reached (<duration>)
        ",
    );
    // Not due again for 30 minutes.
    project.goal(&["tick"]).expect(0, "", "");
    project.goal(&["jobs", "--names"]).expect(
        0,
        "
            NAME              RUNS
            test-new-commits  every <duration>
            ",
        "",
    );
}

#[test]
fn version_release_releases_each_new_version_once() {
    let project = example("version-release");
    project.goal(&["set", "version=1.0.0"]).expect(
        0,
        "published hello-1.0.0.tar.gz\n",
        "
            goal: start tarball version=1.0.0
            goal: done  tarball version=1.0.0 (<duration>)
            goal: start published version=1.0.0
            goal: done  published version=1.0.0 (<duration>)
            goal: summary: 2 ran, 0 already reached (<duration>)
            ",
    );
    project.goal(&["set", "version=1.0.0"]).expect(0, "", "");
    project
        .goal(&["set", "--test", "version=1.1.0"])
        .expect(0, "would fire: when release\n", "");
    // The watcher reads VERSION and sets the variable; the release follows in the same tick.
    project.write("VERSION", "1.2.0\n");
    project.goal(&["tick"]).expect(
        0,
        "published hello-1.2.0.tar.gz\n",
        "
            goal: start every watch-version-file
            goal: done  every watch-version-file (<duration>)
            goal: summary: 1 ran, 0 already reached (<duration>)
            goal: start tarball version=1.2.0
            goal: done  tarball version=1.2.0 (<duration>)
            goal: start published version=1.2.0
            goal: done  published version=1.2.0 (<duration>)
            goal: summary: 2 ran, 0 already reached (<duration>)
            ",
    );
    let sums = project.lines("downloads/SHA256SUMS");
    assert_eq!(sums.len(), 2, "{sums:?}");
    assert!(sums[1].ends_with("  hello-1.2.0.tar.gz"), "{sums:?}");
    // Going down releases nothing.
    project.goal(&["set", "version=1.1.5"]).expect(0, "", "");
}

#[test]
fn mass_rebuild_killed_halfway_continues_without_rebuilding() {
    let project = example("mass-rebuild");
    let mut child = project
        .command(&["-q"])
        .env("FAKEKOJI_DELAY", "1")
        .spawn()
        .unwrap();
    // Wait for a few builds, then kill in the middle of the run.
    let log = project.path().join(".fakekoji/log");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while fs::read_to_string(&log).map_or(0, |l| l.lines().count()) < 2 {
        assert!(std::time::Instant::now() < deadline, "no build started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = project.read(".fakekoji/log");
    assert!(
        before.lines().count() < 6,
        "the run finished before the kill: {before}"
    );
    // The kill most likely came while a recipe or a predicate's command ran: the next run stops
    // it before anything else, with a warning naming its process group, whose number this test
    // cannot know (tests/integration/restart.rs shows the whole of that).
    let mut again = project.goal(&[]);
    let warning = "goal: warning: stopping process group ";
    assert!(
        again.stderr.matches(warning).count() <= 1,
        "{}",
        again.stderr
    );
    again.stderr = again
        .stderr
        .lines()
        .filter(|line| !line.starts_with(warning))
        .map(|line| format!("{line}\n"))
        .collect();
    again.expect(
        0,
        "
        fakekoji: started build of ocaml-fmt
        fakekoji: ocaml-fmt is built
        fakekoji: started build of ocaml-logs
        fakekoji: ocaml-logs is built
        fakekoji: started build of ocaml-cmdliner
        fakekoji: ocaml-cmdliner is built
        fakekoji: started build of ocaml-app
        fakekoji: ocaml-app is built
        ",
        "
        goal: start rebuild-started pkg=ocaml-fmt
        goal: done  rebuild-started pkg=ocaml-fmt (<duration>)
        goal: start rebuilt pkg=ocaml-fmt
        goal: done  rebuilt pkg=ocaml-fmt (<duration>)
        goal: start rebuild-started pkg=ocaml-logs
        goal: done  rebuild-started pkg=ocaml-logs (<duration>)
        goal: start rebuilt pkg=ocaml-logs
        goal: done  rebuilt pkg=ocaml-logs (<duration>)
        goal: start rebuild-started pkg=ocaml-cmdliner
        goal: done  rebuild-started pkg=ocaml-cmdliner (<duration>)
        goal: start rebuilt pkg=ocaml-cmdliner
        goal: done  rebuilt pkg=ocaml-cmdliner (<duration>)
        goal: start rebuild-started pkg=ocaml-app
        goal: done  rebuild-started pkg=ocaml-app (<duration>)
        goal: start rebuilt pkg=ocaml-app
        goal: done  rebuilt pkg=ocaml-app (<duration>)
        goal: summary: 8 ran, 1 already reached (<duration>)
        ",
    );
    let after = project.read(".fakekoji/log");
    let mut builds: Vec<&str> = after.lines().collect();
    assert_eq!(builds.len(), 6, "{after}");
    builds.sort();
    builds.dedup();
    assert_eq!(builds.len(), 6, "a package was built twice: {after}");
}
