//! The Memory: `goal memory …` with the real binary and a real sled database, and the library's
//! `Memory` and `RunLock` standing in for a running `goal` that owns the database.

use crate::common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::{Project, Run};
use goal::memory::{Location, Memory, RunLock, SOCKET_ENV};

fn location(project: &Project) -> Location {
    Location::beside(project.path(), None)
}

/// `goal memory …` in the project, reaching the Memory through `socket`.
#[track_caller]
fn through(project: &Project, socket: &Path, args: &[&str]) -> Run {
    Run::from(
        project
            .command(args)
            .env(SOCKET_ENV, socket)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("running goal"),
    )
}

#[test]
fn values_persist_across_runs() {
    let project = Project::new().goalfile("");
    project.goal(&["memory", "set", "a", "1"]).expect(0, "", "");
    project.goal(&["memory", "set", "b", "2"]).expect(0, "", "");
    project
        .goal(&["memory", "set", "a", "one"])
        .expect(0, "", "");
    assert!(project.exists(".goal/memory"));

    let get = project.goal(&["memory", "get", "a"]);
    get.success();
    assert_eq!(get.stdout, "one\n");
    assert_eq!(project.goal(&["memory", "list"]).stdout, "a\tone\nb\t2\n");

    project.goal(&["memory", "delete", "a"]).expect(0, "", "");
    let get = project.goal(&["memory", "get", "a"]);
    get.status(1);
    assert_eq!(get.stdout, "");
    project.goal(&["memory", "delete", "a"]).expect(1, "", "");
    assert_eq!(project.goal(&["memory", "list"]).stdout, "b\t2\n");
}

#[test]
fn list_takes_a_prefix_sorts_and_escapes() {
    let project = Project::new().goalfile("");
    for (key, value) in [
        ("tested-b", "2"),
        ("built-x", "x"),
        ("tested-a", "line 1\nline 2\ttab \\ backslash"),
    ] {
        project
            .goal(&["memory", "set", key, value])
            .expect(0, "", "");
    }
    let list = project.goal(&["memory", "list", "tested-"]);
    list.success();
    assert_eq!(
        list.stdout,
        "tested-a\tline 1\\nline 2\\ttab \\\\ backslash\ntested-b\t2\n"
    );
    // `get` prints the value as it is.
    assert_eq!(
        project.goal(&["memory", "get", "tested-a"]).stdout,
        "line 1\nline 2\ttab \\ backslash\n"
    );
    let none = project.goal(&["memory", "list", "nothing-"]);
    none.success();
    assert_eq!(none.stdout, "");
}

#[test]
fn a_value_may_start_with_a_dash() {
    let project = Project::new().goalfile("");
    project
        .goal(&["memory", "set", "k", "-v"])
        .expect(0, "", "");
    assert_eq!(project.goal(&["memory", "get", "k"]).stdout, "-v\n");
}

#[test]
fn an_empty_key_is_an_error() {
    let project = Project::new().goalfile("");
    for args in [
        &["memory", "get", ""][..],
        &["memory", "set", "", "v"],
        &["memory", "delete", ""],
    ] {
        project.goal(args).expect(
            2,
            "",
            "
                goal::memory-key

                  × a Memory key cannot be empty
                  help: keys are non-empty strings; check what produced this one
                ",
        );
    }
}

#[test]
fn without_a_goalfile_there_is_no_memory() {
    let project = Project::new();
    project
        .goal(&["memory", "get", "k"]).expect(2, "", "
            goal::no-goalfile

              × no Goalfile found here or above; the Memory lives beside it
              help: run this in the project, name it with -C DIR or -f FILE, or name the Memory's directory
                    with --memory DIR
            ");
    assert!(!project.exists(".goal"));
}

#[test]
fn the_memory_lives_beside_the_goalfile_found_from_here_c_or_f() {
    let project = Project::new()
        .goalfile("")
        .file("sub/deeper/notes", "")
        .file("other/Goalfile", "");
    project
        .goal(&["-C", "sub/deeper", "memory", "set", "k", "top"])
        .expect(0, "", "");
    assert!(!project.exists("sub/deeper/.goal"));
    assert_eq!(project.goal(&["memory", "get", "k"]).stdout, "top\n");

    project
        .goal(&["-f", "other/Goalfile", "memory", "set", "k", "other"])
        .expect(0, "", "");
    assert!(project.exists("other/.goal/memory"));
    assert_eq!(
        project.goal(&["-C", "other", "memory", "get", "k"]).stdout,
        "other\n"
    );
    assert_eq!(project.goal(&["memory", "get", "k"]).stdout, "top\n");

    project
        .goal(&["-f", "missing/Goalfile", "memory", "get", "k"])
        .expect(
            2,
            "",
            "
            goal::no-goalfile

              × there is no Goalfile `missing/Goalfile`
            ",
        );
}

#[test]
fn memory_option_and_environment_choose_another_place() {
    let project = Project::new().goalfile("");
    let elsewhere = tempfile::tempdir().unwrap();
    let elsewhere_memory = elsewhere.path().join("memory");
    let elsewhere_memory = elsewhere_memory.to_str().unwrap();

    project
        .goal(&["--memory", elsewhere_memory, "memory", "set", "k", "v"])
        .expect(0, "", "");
    assert!(!project.exists(".goal/memory"));
    project.goal(&["memory", "get", "k"]).expect(1, "", "");

    let from_env = Run::from(
        project
            .command(&["memory", "get", "k"])
            .env("GOAL_MEMORY", elsewhere_memory)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap(),
    );
    from_env.success();
    assert_eq!(from_env.stdout, "v\n");

    // No Goalfile is needed when the Memory is named.
    let no_project = Project::new();
    let get = no_project.goal(&["memory", "get", "k", "--memory", elsewhere_memory]);
    get.success();
    assert_eq!(get.stdout, "v\n");
}

#[test]
fn a_memory_that_cannot_be_opened_says_where_and_why() {
    let project = Project::new().goalfile("").file("not-a-directory", "");
    project
        .goal(&["--memory", "not-a-directory", "memory", "get", "k"])
        .expect(
            2,
            "",
            "
            goal::memory-io

              × cannot open the Memory at `/tmp/project/not-a-directory`: File exists (os error 17)
            ",
        );
}

#[test]
fn handles_on_one_project_share_its_database() {
    let project = Project::new().goalfile("");
    let writer = Memory::new(location(&project));
    let reader = Memory::read_only(location(&project));
    writer.set("k", "v").unwrap();
    // The evaluator may use its Memory from other threads.
    let read_elsewhere = thread::spawn({
        let reader = reader.clone();
        move || reader.get("k")
    });
    assert_eq!(
        read_elsewhere.join().unwrap().unwrap().as_deref(),
        Some("v")
    );
    assert!(reader.set("k", "w").is_err());
    drop(writer);
    assert_eq!(reader.list("").unwrap(), [("k".to_owned(), "v".to_owned())]);
}

#[test]
fn a_recipe_reaches_the_running_goal_through_its_socket() {
    let project = Project::new().goalfile("");
    let memory = Memory::new(location(&project));
    let socket = memory.serve().unwrap();
    assert_eq!(memory.serve().unwrap(), socket, "serve starts one server");
    assert!(socket.as_os_str().len() < 108);
    let socket_dir = fs::metadata(socket.parent().unwrap()).unwrap();
    assert_eq!(socket_dir.permissions().mode() & 0o777, 0o700, "private");

    // No Goalfile where the child runs: only the socket can serve it.
    let elsewhere = Project::new();
    through(&elsewhere, &socket, &["memory", "set", "k", "from child"]).success();
    assert_eq!(memory.get("k").unwrap().as_deref(), Some("from child"));

    memory.set("mine", "from parent").unwrap();
    let get = through(&elsewhere, &socket, &["memory", "get", "mine"]);
    get.success();
    assert_eq!(get.stdout, "from parent\n");
    through(&elsewhere, &socket, &["memory", "get", "unset"]).status(1);
    let list = through(&elsewhere, &socket, &["memory", "list"]);
    assert_eq!(list.stdout, "k\tfrom child\nmine\tfrom parent\n");
    through(&elsewhere, &socket, &["memory", "delete", "k"]).success();
    through(&elsewhere, &socket, &["memory", "delete", "k"]).status(1);
    assert_eq!(memory.get("k").unwrap(), None);

    drop(memory);
    assert!(!socket.exists(), "the socket goes with the Memory");
    // ...and so does the database's lock.
    assert_eq!(
        project.goal(&["memory", "get", "mine"]).stdout,
        "from parent\n"
    );
}

#[test]
fn a_socket_nobody_serves_is_an_error_not_a_fallback() {
    let project = Project::new().goalfile("");
    let gone = project.path().join("gone");
    // The message names the socket's temporary path, wrapped by its length: its words are looked for.
    through(&project, &gone, &["memory", "get", "k"])
        .status(2)
        .stderr_has("goal::memory-socket")
        .stderr_has("cannot reach the running goal's Memory");
    assert!(!project.exists(".goal/memory"));
}

#[test]
fn a_dry_run_memory_refuses_writes_also_through_its_socket() {
    let project = Project::new().goalfile("");
    // Kept open: a dropped handle's database may hold its lock a moment longer (sled's own
    // thread), and this test is about refusing writes, not about waiting for that.
    let writer = Memory::new(location(&project));
    writer.set("k", "v").unwrap();

    let memory = Memory::read_only(location(&project));
    assert_eq!(memory.get("k").unwrap().as_deref(), Some("v"));
    let refused = memory.set("k", "w").unwrap_err();
    assert_eq!(refused.code, "goal::memory-read-only");
    assert!(memory.delete("k").is_err());

    let socket = memory.serve().unwrap();
    // The message names the socket's temporary path, wrapped by its length: its words are looked for.
    through(&project, &socket, &["memory", "set", "k", "w"])
        .status(2)
        .stderr_has("goal::memory-read-only")
        .stderr_has("read-only during a dry run");
    assert_eq!(
        through(&project, &socket, &["memory", "get", "k"]).stdout,
        "v\n"
    );
}

#[test]
fn another_terminal_reaches_the_running_goal_through_the_run_lock() {
    let project = Project::new().goalfile("");
    let run_lock = RunLock::acquire(&location(&project).state_dir, false).unwrap();
    let memory = Memory::new(location(&project));
    memory.set("held", "yes").unwrap();
    run_lock.advertise(&[&memory.serve().unwrap()]).unwrap();

    // The message names this test process's pid, whose length varies, and is wrapped by it.
    let get = project.goal(&["memory", "get", "held"]);
    get.success();
    assert_eq!(get.stdout, "yes\n");
    project
        .goal(&["memory", "set", "new", "1"])
        .expect(0, "", "");
    assert_eq!(memory.get("new").unwrap().as_deref(), Some("1"));
}

#[test]
fn a_memory_held_without_a_socket_names_its_holder() {
    let project = Project::new().goalfile("");
    let _run_lock = RunLock::acquire(&location(&project).state_dir, false).unwrap();
    let memory = Memory::new(location(&project));
    memory.set("held", "yes").unwrap();

    project.goal(&["memory", "get", "held"]).expect(
        2,
        "",
        &format!(
            "
            goal::memory-locked

              × the Memory at `.goal/memory` is in use by another goal run (pid {})
              help: only one process at a time can open the Memory; wait for it to finish
            ",
            std::process::id()
        ),
    );
}

#[test]
fn one_run_per_project() {
    let project = Project::new();
    let state_dir = project.path().join(".goal");
    let first = RunLock::acquire(&state_dir, false).unwrap();
    let pid = std::process::id();
    assert_eq!(project.read(".goal/run.lock"), format!("{pid}\n"));
    first.advertise(&[Path::new("/tmp/goal-x/memory")]).unwrap();
    assert_eq!(
        project.read(".goal/run.lock"),
        format!("{pid}\n/tmp/goal-x/memory\n")
    );

    let refused = RunLock::acquire(&state_dir, false).err().unwrap();
    assert_eq!(
        (refused.code, refused.message, refused.help),
        (
            "goal::run-locked",
            format!("another goal run (pid {pid}) is using this project"),
            Some("wait for it to finish, or use --wait to wait for it".to_string())
        ),
    );

    let waiter = thread::spawn({
        let state_dir = state_dir.clone();
        move || RunLock::acquire(&state_dir, true).map(drop)
    });
    thread::sleep(Duration::from_millis(300));
    assert!(!waiter.is_finished(), "the second run must wait");
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !waiter.is_finished() {
        assert!(Instant::now() < deadline, "the second run never started");
        thread::sleep(Duration::from_millis(10));
    }
    waiter.join().unwrap().unwrap();
    assert_eq!(
        project.read(".goal/run.lock"),
        "",
        "a finished run leaves no name"
    );
}

#[test]
fn killed_writers_never_lose_an_acknowledged_value() {
    let project = Project::new().goalfile("");
    let mut acknowledged_in_all = 0;
    for (round, pause) in [150, 400, 250, 700].into_iter().enumerate() {
        let acknowledged = format!("acknowledged-{round}");
        let mut writer = Command::new("sh")
            .arg("-c")
            .arg(format!(
                r#"for i in $(seq 1 200); do "$GOAL" memory set k{round}-$i v$i && echo $i >> {acknowledged}; done"#
            ))
            .env("GOAL", env!("CARGO_BIN_EXE_goal"))
            .env_remove(SOCKET_ENV)
            .env_remove("GOAL_MEMORY")
            .current_dir(project.path())
            .process_group(0)
            .spawn()
            .unwrap();
        thread::sleep(Duration::from_millis(pause));
        // The whole group: the shell and the `goal` it is running, wherever that one is.
        // SAFETY: sends a signal to the group just started, nothing else.
        let pgid = -i32::try_from(writer.id()).unwrap();
        assert_eq!(unsafe { libc::kill(pgid, libc::SIGKILL) }, 0);
        writer.wait().unwrap();
        // The shell is gone; a `goal` it started may still be dying with the database's lock.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while group_has_live_process(-pgid) && std::time::Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }

        let memory = Memory::new(location(&project));
        let numbers = fs::read_to_string(project.path().join(&acknowledged)).unwrap_or_default();
        for i in numbers.lines() {
            assert_eq!(
                memory.get(&format!("k{round}-{i}")).unwrap(),
                Some(format!("v{i}")),
                "round {round}, acknowledged key {i}"
            );
            acknowledged_in_all += 1;
        }
    }
    assert!(acknowledged_in_all > 0, "no write finished before its kill");
}

/// Whether a process of group `pgid` still runs (a zombie holds no lock: it does not count).
fn group_has_live_process(pgid: i32) -> bool {
    let Ok(entries) = fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|entry| {
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // After the command name in parentheses: state, parent, process group.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string()
    })
}

/// sled 0.34 reads an unfinished snapshot (`snap.*.generating`, left empty by a process killed
/// while writing it) as the newest one and refuses to open: goal removes such leftovers when no
/// process holds the database, and every value is still there.
#[test]
fn an_unfinished_snapshot_of_a_killed_process_does_not_lose_the_memory() {
    let project = Project::new().goalfile("");
    project
        .goal(&["memory", "set", "kept", "yes"])
        .expect(0, "", "");
    project.write(".goal/memory/snap.00000000FFFFFFFF.generating", "");
    project
        .goal(&["memory", "get", "kept"]).expect(0, "yes\n", "goal: warning: removing the unfinished snapshot snap.00000000FFFFFFFF.generating of a killed goal\n");
    assert!(!project.exists(".goal/memory/snap.00000000FFFFFFFF.generating"));
}

/// A small tmpfs, unmounted when dropped; `None` where this process may not mount one.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        mounted.then_some(SmallDisk { dir })
    }

    fn grow(&self, size: &str) {
        let grown = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(self.dir.path())
            .status()
            .unwrap();
        assert!(grown.success());
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_fails_the_run_and_keeps_what_was_written() {
    let Some(disk) = SmallDisk::mount("3m") else {
        eprintln!("skipped: a full disk needs a small tmpfs, which only root may mount");
        return;
    };
    // Goals whose recipes write more through the socket than the disk holds.
    const GOALS: usize = 200;
    let goal = env!("CARGO_BIN_EXE_goal");
    let mut goalfile = String::new();
    for i in 0..GOALS {
        goalfile.push_str(&format!(
            "goal g{i} {{\n    target {{ memory-exists \"k{i}\" }}\n    \
             run \"{goal} memory set k{i} $(head -c 20000 /dev/zero | tr '\\\\0' x)\"\n}}\n"
        ));
    }
    goalfile.push_str("goal all {\n");
    for i in 0..GOALS {
        goalfile.push_str(&format!("    require g{i}\n"));
    }
    goalfile.push_str("}\n");
    let project = Project::new().goalfile(&goalfile);
    let mut child = project
        .command(&["-q"])
        .env("GOAL_MEMORY", disk.dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("a run on a full disk did not end");
        }
        thread::sleep(Duration::from_millis(50));
    }
    // Which goal meets the full disk, and whether its write or a read finds it, varies with
    // sled's own layout: only the code and the status are known.
    Run::from(child.wait_with_output().unwrap())
        .status(1)
        .stderr_has("goal::memory-io")
        .stderr_has(&format!("the Memory at `{}`", disk.dir.path().display()));
    disk.grow("20m");
    let listing = project
        .command(&["memory", "list"])
        .env("GOAL_MEMORY", disk.dir.path())
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    let mut kept: Vec<usize> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(|line| line.split('\t').next().unwrap()[1..].parse().unwrap())
        .collect();
    kept.sort_unstable();
    // The goals ran in order: what was written before the disk filled is all there.
    assert!(!kept.is_empty() && kept.len() < GOALS, "{kept:?}");
    assert_eq!(kept, (0..kept.len()).collect::<Vec<_>>());
}

const DAMAGED_HELP: &str = "  help: restore `.goal/memory` from a backup; or move it away to start with an empty Memory, in\n        which every goal whose target is in the Memory runs again\n";

#[test]
fn a_memory_cut_to_nothing_is_refused_not_taken_for_an_empty_one() {
    let project = Project::new().goalfile(
        r#"goal deployed { target { memory-exists "deployed" }; run "echo deploying >> ran.txt"; memory-set "deployed" "yes" }"#,
    );
    project.goal(&["deployed"]).expect(
        0,
        "",
        "
        goal: start deployed
        goal: done  deployed (<duration>)
        goal: summary: 1 ran, 0 already reached (<duration>)
        ",
    );
    // A disk fault, or a bad copy: the files are there, with nothing in them.
    for file in ["db", "conf"] {
        fs::File::create(project.path().join(".goal/memory").join(file)).unwrap();
    }
    project.goal(&["memory", "get", "deployed"]).expect(
        2,
        "",
        &format!(
            "goal::memory-damaged\n\n  × the Memory at `.goal/memory` is damaged: its file `db` is empty\n{DAMAGED_HELP}"
        ),
    );
    project.goal(&["-q", "deployed"]).expect(
        1,
        "",
        &format!(
            r#"goal::memory-damaged

  × the Memory at `.goal/memory` is damaged: its file `db` is empty
   ╭─[Goalfile:1:26]
 1 │ goal deployed {{ target {{ memory-exists "deployed" }}; run "echo deploying >> ran.txt"; memory-set "deployed" "yes" }}
   ·                          ────────────┬────────────
   ·                                      ╰── reading the Memory here
   ╰────
{DAMAGED_HELP}"#
        ),
    );
    // The goal did not run again as though it had never been reached.
    assert_eq!(project.lines("ran.txt"), ["deploying"]);
}

#[test]
fn a_memory_holding_garbage_is_named_damaged_with_the_way_out() {
    let project = Project::new().goalfile("");
    project.goal(&["memory", "set", "k", "v"]).expect(0, "", "");
    project.write(
        ".goal/memory/conf",
        "this is no configuration of a database\n",
    );
    project.goal(&["memory", "get", "k"]).expect(
        2,
        "",
        &format!(
            "goal::memory-damaged\n\n  × the Memory at `.goal/memory` is damaged: what its files hold cannot be read\n{DAMAGED_HELP}"
        ),
    );
}
