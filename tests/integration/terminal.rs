//! Recipes' own output on the terminal: it reaches the terminal as the recipe wrote it, the
//! progress line never cuts into it, and what a recipe writes to standard output and standard
//! error keeps its order.

use crate::common;

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;

use common::Project;

/// A recipe that writes to both outputs in turn, quickly enough that two pipes read one after
/// the other would put all of one before the other.
const INTERLEAVED: &str = r#"
goal both {
    run "echo out 1; echo err 1 >&2; echo out 2; echo err 2 >&2; printf 'no line break'"
}
"#;

/// `goal ARGS` with its standard output and error one file, as a terminal is, and what it
/// wrote there.
fn run_into_one_file(project: &Project, args: &[&str]) -> (Option<i32>, String) {
    let path = project.path().join("combined output");
    let file = File::create(&path).unwrap();
    let status = project
        .command(args)
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .status()
        .unwrap();
    (status.code(), project.read("combined output"))
}

#[test]
fn stdout_and_stderr_of_a_recipe_keep_their_order_when_they_go_to_one_file() {
    let project = Project::new().goalfile(INTERLEAVED);
    let (status, output) = run_into_one_file(&project, &["both"]);
    assert_eq!(status, Some(0), "{output}");
    assert_eq!(
        common::normalize(&output),
        "goal: start both\n\
         out 1\nerr 1\nout 2\nerr 2\nno line break\
         goal: done  both (<duration>)\n\
         goal: summary: 1 ran, 0 already reached (<duration>)\n"
    );
    assert_eq!(
        the_only_log(&project),
        "out 1\nerr 1\nout 2\nerr 2\nno line break"
    );
}

fn the_only_log(project: &Project) -> String {
    let pattern = project.path().join(".goal/logs/*/*.log");
    let logs: Vec<_> = glob::glob(pattern.to_str().unwrap())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    std::fs::read_to_string(&logs[0]).unwrap()
}

#[test]
fn a_recipes_output_reaches_the_terminal_unbroken_by_the_progress_line() {
    let project = Project::new().goalfile(
        r#"
goal fetch {
    run "printf 'fetching 10%%'; sleep 0.5; printf '\\rfetching 100%%\\n'; echo out; echo err >&2; printf 'tail'"
}
"#,
    );
    let (status, terminal) = on_a_terminal(&project, &["fetch"]);
    assert_eq!(status, Some(0), "{terminal:?}");
    // The line the recipe left open is ended before the progress line is drawn again.
    assert_eq!(
        common::normalize(&scrollback(&terminal)),
        "goal: start fetch\n\
         fetching 10%\rfetching 100%\n\
         out\nerr\ntail\n\
         goal: done  fetch (<duration>)\n\
         goal: summary: 1 ran, 0 already reached (<duration>)\n",
        "{terminal:?}"
    );
}

#[test]
fn without_logs_a_recipes_output_still_reaches_the_terminal_unbroken() {
    let project = Project::new()
        .goalfile(
            r#"
goal fetch {
    run "printf 'fetching 10%%'; sleep 0.5; printf '\\rfetching 100%%\\n'"
}
"#,
        )
        .file(".goal/logs", "a file where the logs' directory should be");
    let (status, terminal) = on_a_terminal(&project, &["fetch"]);
    assert_eq!(status, Some(0), "{terminal:?}");
    let scrollback = common::normalize(&scrollback(&terminal));
    let warning = scrollback.lines().nth(1).unwrap_or_default();
    // The warning names the reason the system gives, which may differ from one system to another.
    assert!(
        warning.contains("not keeping logs of this run's recipes"),
        "{scrollback}"
    );
    assert_eq!(
        scrollback.replace(&format!("{warning}\n"), ""),
        "goal: start fetch\n\
         fetching 10%\rfetching 100%\n\
         goal: done  fetch (<duration>)\n\
         goal: summary: 1 ran, 0 already reached (<duration>)\n",
    );
}

/// What stays on a terminal that was written `bytes`: every drawing of the progress line is
/// taken away by the `\r` and clearing of the line that follow it (and with it, whatever else
/// was on that line), and the terminal's `\r\n` line breaks are `\n`.
fn scrollback(bytes: &str) -> String {
    const CLEAR_LINE: &str = "\r\x1b[2K";
    let mut kept = String::new();
    for (i, piece) in bytes.split(CLEAR_LINE).enumerate() {
        if i > 0 {
            kept.truncate(kept.rfind('\n').map_or(0, |at| at + 1));
        }
        kept.push_str(piece);
    }
    kept.replace("\r\n", "\n")
}

/// Runs `goal ARGS` with a new pseudo-terminal as its standard input, output and error: its exit
/// status and everything it wrote to the terminal.
fn on_a_terminal(project: &Project, args: &[&str]) -> (Option<i32>, String) {
    let (controller, terminal) = pseudo_terminal();
    let mut child = project
        .command(args)
        .stdin(Stdio::from(terminal.try_clone().unwrap()))
        .stdout(Stdio::from(terminal.try_clone().unwrap()))
        .stderr(Stdio::from(terminal))
        .spawn()
        .unwrap();
    // Reading ends with an error once the last process holding the terminal has closed it.
    let reader = std::thread::spawn(move || {
        let mut controller = File::from(controller);
        let mut bytes = Vec::new();
        let mut chunk = [0; 4096];
        while let Ok(read @ 1..) = controller.read(&mut chunk) {
            bytes.extend_from_slice(&chunk[..read]);
        }
        bytes
    });
    let status = child.wait().unwrap();
    let bytes = reader.join().unwrap();
    (status.code(), String::from_utf8_lossy(&bytes).into_owned())
}

/// A new pseudo-terminal: the controlling side and the terminal side.
fn pseudo_terminal() -> (OwnedFd, OwnedFd) {
    // SAFETY: plain calls on descriptors this function opens and owns from then on.
    unsafe {
        let controller = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(controller >= 0, "posix_openpt");
        let controller = OwnedFd::from_raw_fd(controller);
        use std::os::fd::AsRawFd;
        assert_eq!(libc::grantpt(controller.as_raw_fd()), 0);
        assert_eq!(libc::unlockpt(controller.as_raw_fd()), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(
            libc::ptsname_r(controller.as_raw_fd(), name.as_mut_ptr(), name.len()),
            0
        );
        let terminal = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(terminal >= 0, "opening the terminal");
        (controller, OwnedFd::from_raw_fd(terminal))
    }
}
