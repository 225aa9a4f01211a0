//! Run: shell commands, for recipes and for the commands predicates and `let output=` ask.
//!
//! Every command runs as `/bin/sh -ec SCRIPT`, so a multi-line recipe stops at its first failing
//! command (a plain command with no shell syntax at all is run directly, as make does: the same
//! result, one process fewer), in the root Goalfile's directory (the process's working directory, set once at
//! start), with standard input from /dev/null: a recipe that waits for a keyboard would hang a
//! run nobody is watching, as ninja decided too. A recipe given a log writes to pipes that
//! [`RecipeLog::record`] reads, copying to `goal`'s own output and to the log.

use std::ffi::OsStr;
use std::io;
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
    let mut direct = plain_command(script).map(|words| {
        let mut command = Command::new(&words[0]);
        command.args(&words[1..]);
        command
    });
    let child = match direct
        .as_mut()
        .map(|command| start(command, env, stdout, jobs))
    {
        Some(Ok(child)) => child,
        // Not found, not executable: the shell says so, with its usual status (127, 126).
        _ => start(
            Command::new("/bin/sh").arg("-ec").arg(script),
            env,
            stdout,
            jobs,
        )?,
    };
    finish(child, stdout)
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

fn start(
    command: &mut Command,
    env: &Env,
    stdout: Stdout,
    jobs: Option<&jobserver::Client>,
) -> io::Result<Child> {
    command
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
        jobs.configure_make(command);
    }
    command.spawn()
}

fn finish(mut child: Child, stdout: Stdout) -> io::Result<Finished> {
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

#[cfg(test)]
mod tests {
    use super::plain_command;

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
