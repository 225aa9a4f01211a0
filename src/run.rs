//! Run: shell commands, for recipes and for the commands predicates and `let output=` ask.
//!
//! Every command runs as `/bin/sh -ec SCRIPT`, so a multi-line recipe stops at its first failing
//! command, in the root Goalfile's directory (the process's working directory, set once at
//! start), with standard input from /dev/null: a recipe that waits for a keyboard would hang a
//! run nobody is watching, as ninja decided too. A recipe given a log writes to pipes that
//! [`RecipeLog::record`] reads, copying to `goal`'s own output and to the log.

use std::ffi::OsStr;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};

use crate::interrupt;
use crate::logs::RecipeLog;

/// Environment variables a command gets on top of `goal`'s own: globals, parameters, `let`
/// values in scope, and the Memory socket.
pub type Env<'a> = [(&'a str, &'a str)];

/// What to do with a command's standard output.
#[derive(Debug, Clone, Copy)]
pub enum Stdout<'a> {
    /// Stream to the user (recipes), and, with a log, keep standard output and standard error
    /// in it too.
    Show(Option<&'a RecipeLog>),
    /// Discard (`sh` predicates: their exit status is the answer).
    Discard,
    /// Capture (`output`, `let output=`, `for output=`).
    Capture,
}

/// How a finished command went.
pub struct Finished {
    pub status: ExitStatus,
    /// Standard output when captured, else empty.
    pub stdout: String,
}

/// `jobs`, for recipes: the job server a `make` in the command shares its job slots with.
pub fn shell(
    script: &str,
    env: &Env,
    stdout: Stdout,
    jobs: Option<&jobserver::Client>,
) -> io::Result<Finished> {
    tracing::debug!(script, ?stdout, "running");
    let mut command = Command::new("/bin/sh");
    command
        .arg("-ec")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(match stdout {
            Stdout::Show(None) => Stdio::inherit(),
            Stdout::Discard => Stdio::null(),
            // A log is written by `goal`, which reads the output to copy it to the terminal too.
            Stdout::Show(Some(_)) | Stdout::Capture => Stdio::piped(),
        })
        .stderr(match stdout {
            Stdout::Show(Some(_)) => Stdio::piped(),
            Stdout::Show(None) | Stdout::Discard | Stdout::Capture => Stdio::inherit(),
        })
        .envs(env.iter().map(|(k, v)| (OsStr::new(k), OsStr::new(v))))
        // A group of its own: an interruption stops the command and all it started.
        .process_group(0);
    if let Some(jobs) = jobs {
        jobs.configure_make(&mut command);
    }
    let mut child = command.spawn()?;
    let _running = interrupt::Running::new(child.id());
    let (status, captured) = match stdout {
        Stdout::Show(Some(log)) => (log.record(&mut child)?, Vec::new()),
        _ => {
            let output = child.wait_with_output()?;
            (output.status, output.stdout)
        }
    };
    Ok(Finished {
        status,
        stdout: String::from_utf8_lossy(&captured).into_owned(),
    })
}

/// "exited with status 2" / "was killed by signal 9", for messages.
pub fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended abnormally".to_string(),
    }
}
