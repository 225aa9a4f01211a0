//! Shell commands, for recipes and for the commands predicates and `let output=` ask.
//!
//! Every command runs as `/bin/sh -ec SCRIPT`, so a multi-line recipe stops at its first failing
//! command (a plain command with no shell syntax at all is run directly, as make does: the same
//! result, one process fewer), in the root Goalfile's directory (the process's working directory, set once at
//! start), with standard input from /dev/null: a recipe that waits for a keyboard would hang a
//! run nobody is watching, as ninja decided too. A recipe writes to pipes that
//! [`crate::logs::record`] reads, copying to `goal`'s own output and to its log: one pipe for
//! both its outputs when `goal`'s own go to one file, so that they keep their order.

use std::ffi::OsStr;
use std::io::{self, PipeReader};
use std::os::fd::{AsFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};

use crate::interrupt;
use crate::logs::RecipeLog;

/// Environment variables a command gets on top of `goal`'s own: globals, parameters, `let`
/// values in scope, and the Memory socket.
pub type Env<'a> = [(&'a str, &'a str)];

/// What to do with a command's standard output.
#[derive(Debug, Clone, Copy)]
pub enum Stdout<'a> {
    /// Stream to the user through `goal` (recipes), and, with a log, keep standard output and
    /// standard error in it too.
    Show(Option<&'a RecipeLog>),
    /// Discard (`sh` predicates: their exit status is the answer).
    Discard,
    /// Capture (`output`, `let output=`, `for output=`).
    Capture,
}

/// For the debug trace: where the output goes, without the log's internals.
impl std::fmt::Display for Stdout<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stdout::Show(Some(_)) => f.write_str("shown and logged"),
            Stdout::Show(None) => f.write_str("shown"),
            Stdout::Discard => f.write_str("discarded"),
            Stdout::Capture => f.write_str("captured"),
        }
    }
}

/// How a finished command went.
pub struct Finished {
    pub status: ExitStatus,
    /// Standard output when captured, else empty.
    pub stdout: String,
}

pub fn run(script: &str, env: &Env, stdout: Stdout) -> io::Result<Finished> {
    tracing::debug!(script, %stdout, "running");
    let mut direct = plain_command(script).map(|words| {
        let mut command = Command::new(&words[0]);
        command.args(&words[1..]);
        command
    });
    let started = match direct.as_mut().map(|command| start(command, env, stdout)) {
        Some(Ok(started)) => started,
        // Not found, not executable: the shell says so, with its usual status (127, 126).
        _ => start(Command::new("/bin/sh").arg("-ec").arg(script), env, stdout)?,
    };
    finish(started, stdout)
}

/// A command started: the process, and the pipe its standard output and error share, when
/// they do.
struct Started {
    child: Child,
    merged: Option<PipeReader>,
}

/// Shell words that are builtins, keywords or assignments (`sh` gives them meaning a program
/// of that name would not have), and the builtins that cost no process of their own.
const SHELL_WORDS: &[&str] = &[
    "!", ".", ":", "[", "alias", "bg", "break", "case", "cd", "command", "continue", "do", "done",
    "echo", "elif", "else", "esac", "eval", "exec", "exit", "export", "false", "fc", "fg", "fi",
    "for", "getopts", "hash", "if", "in", "jobs", "kill", "local", "printf", "pwd", "read",
    "readonly", "return", "set", "shift", "source", "test", "then", "times", "trap", "true",
    "type", "ulimit", "umask", "unalias", "unset", "until", "wait", "while",
];

/// The words of a script that is one plain command: no character the shell would expand or
/// act on (pipes, redirections, `$`, globs, `~`, braces, comments, several lines), only quotes,
/// which shell-words removes as the shell would; not a builtin, keyword or assignment.
fn plain_command(script: &str) -> Option<Vec<String>> {
    const SYNTAX: &[char] = &[
        '|', '&', ';', '<', '>', '(', ')', '$', '`', '\\', '*', '?', '[', ']', '#', '~', '{', '}',
        '!', '\n', '\r',
    ];
    if script.contains(SYNTAX) {
        return None;
    }
    let words = shell_words::split(script).ok()?;
    let first = words.first()?;
    if first.is_empty() || first.contains('=') || SHELL_WORDS.contains(&first.as_str()) {
        return None;
    }
    Some(words)
}

fn start(command: &mut Command, env: &Env, stdout: Stdout) -> io::Result<Started> {
    let mut merged = None;
    match stdout {
        Stdout::Discard => command.stdout(Stdio::null()).stderr(Stdio::inherit()),
        Stdout::Capture => command.stdout(Stdio::piped()).stderr(Stdio::inherit()),
        // `goal` reads the output to copy it to the terminal, where it keeps the progress line
        // out of the recipe's lines, and to the log.
        Stdout::Show(_) if outputs_shared() => {
            let (reader, writer) = io::pipe()?;
            merged = Some(reader);
            command.stdout(writer.try_clone()?).stderr(writer)
        }
        Stdout::Show(_) => command.stdout(Stdio::piped()).stderr(Stdio::piped()),
    };
    let child = command
        .stdin(Stdio::null())
        .envs(env.iter().map(|(k, v)| (OsStr::new(k), OsStr::new(v))))
        // A group of its own: an interruption stops the command and all it started.
        .process_group(0)
        .spawn();
    if merged.is_some() {
        // The command holds the pipe's writing ends: the recipe's output would never end while
        // they are open here.
        command.stdout(Stdio::null()).stderr(Stdio::null());
    }
    Ok(Started {
        child: child?,
        merged,
    })
}

/// Whether `goal`'s standard output and error are one file, as on a terminal.
fn outputs_shared() -> bool {
    static SHARED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SHARED.get_or_init(|| {
        let file = |fd| nix::sys::stat::fstat(fd).map(|stat| (stat.st_dev, stat.st_ino));
        match (file(io::stdout().as_fd()), file(io::stderr().as_fd())) {
            (Ok(out), Ok(err)) => out == err,
            _ => false,
        }
    })
}

fn finish(started: Started, stdout: Stdout) -> io::Result<Finished> {
    let Started { mut child, merged } = started;
    let _running = interrupt::Running::new(child.id());
    let (status, captured) = match stdout {
        Stdout::Show(log) => (crate::logs::record(log, &mut child, merged)?, Vec::new()),
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

/// The `-j` job slots, as a GNU make job server: at most `jobs` recipes run at once, and a
/// `make` run by a recipe takes its extra jobs from the same slots.
pub struct JobSlots {
    client: jobserver::Client,
    /// What tells a `make` in a recipe where the slots are; `None` with one job, as there is
    /// nothing to share.
    makeflags: Option<String>,
}

impl JobSlots {
    pub fn new(jobs: usize) -> io::Result<JobSlots> {
        let client = jobserver::Client::new(jobs.max(1))?;
        let makeflags = if jobs > 1 {
            Some(inherit(&client)?)
        } else {
            None
        };
        Ok(JobSlots { client, makeflags })
    }

    /// Waits for a free slot, held until the returned value is dropped.
    pub fn acquire(&self) -> io::Result<jobserver::Acquired> {
        self.client.acquire()
    }

    /// The environment that hands the slots to a `make` in a command, as `make` itself hands
    /// them to a sub-make; empty with one job.
    pub fn env(&self) -> impl Iterator<Item = (&str, &str)> {
        let names = ["MAKEFLAGS", "MFLAGS", "CARGO_MAKEFLAGS"];
        self.makeflags
            .iter()
            .flat_map(move |flags| names.map(|name| (name, flags.as_str())))
    }
}

/// Makes the job server's pipe inherited by every command from now on, and returns the
/// MAKEFLAGS that name it. The `jobserver` crate would instead clear close-on-exec in each child
/// with a `pre_exec` hook, and a hook forces std to fork the child rather than spawn it
/// (`posix_spawn`, a vfork), which cost 0.3–0.4 ms of system time a recipe (docs/performance.md).
/// The crate does not give its descriptors, but writes them into the environment of a command
/// it configures: `probe` is configured for that and never run.
fn inherit(client: &jobserver::Client) -> io::Result<String> {
    let mut probe = Command::new("make");
    client.configure_make(&mut probe);
    let flags = probe
        .get_envs()
        .find_map(|(name, value)| (name == "MAKEFLAGS").then_some(value))
        .flatten()
        .and_then(OsStr::to_str)
        .unwrap_or_default()
        .to_string();
    let fds = pipe_fds(&flags)
        .ok_or_else(|| io::Error::other(format!("no pipe in the job server's {flags:?}")))?;
    for fd in fds {
        // SAFETY: `fd` is one of the client's open descriptors, which it keeps open as long as
        // it lives; only the descriptor's flags change.
        let cleared = unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            flags >= 0 && libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) >= 0
        };
        if !cleared {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(flags)
}

/// The descriptors of `--jobserver-auth=R,W` in MAKEFLAGS.
fn pipe_fds(makeflags: &str) -> Option<[RawFd; 2]> {
    let auth = makeflags
        .split(' ')
        .find_map(|word| word.strip_prefix("--jobserver-auth="))?;
    let (read, write) = auth.split_once(',')?;
    Some([read.parse().ok()?, write.parse().ok()?])
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

#[cfg(test)]
mod tests {
    use super::{pipe_fds, plain_command};

    #[test]
    fn the_pipe_is_read_from_makeflags() {
        let flags = "-j --jobserver-fds=6,7 --jobserver-auth=6,7";
        assert_eq!(pipe_fds(flags), Some([6, 7]));
        assert_eq!(pipe_fds("-j --jobserver-auth=fifo:/tmp/slots"), None);
        assert_eq!(pipe_fds("-j"), None);
    }

    #[test]
    fn only_plain_commands_skip_the_shell() {
        let words = |script: &str| plain_command(script);
        assert_eq!(
            words("cp 'src/a b.c' obj/a.o"),
            Some(vec!["cp".into(), "src/a b.c".into(), "obj/a.o".into()])
        );
        assert_eq!(
            words("make -C 'dir' VAR=1"),
            Some(vec![
                "make".into(),
                "-C".into(),
                "dir".into(),
                "VAR=1".into()
            ])
        );
        for script in [
            "cp a b; rm c",
            "cp a b && rm c",
            "cat a > b",
            "echo $HOME",
            "ls *.c",
            "cd dir",
            "exit 3",
            "echo hi",
            "A=1 make",
            "cp a b\nrm c",
            "ls ~",
            "echo 'unclosed",
            "",
        ] {
            assert_eq!(words(script), None, "{script:?}");
        }
    }
}
