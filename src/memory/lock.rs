//! One run per project: `<state_dir>/run.lock`, locked by the running `goal`, says who it is
//! (its PID on the first line) and where it serves its Memory (the socket's path on the second).
//! One daemon per project: `<state_dir>/daemon.lock` says the same of the daemon, and where it
//! takes orders (its control socket, on the third line).
//!
//! The kernel releases the lock when its holder exits, however it exits, so a killed run never
//! blocks the next. The file's text may outlive its run: it counts only while that PID lives.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, TryLockError};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process;

use super::{DAEMON_RUNNING, RUN_LOCKED, RUN_LOCK_IO};
use crate::diagnostic::Problem;

const RUN_LOCK: &str = "run.lock";
const DAEMON_LOCK: &str = "daemon.lock";

/// The lock files that may name a process serving the Memory.
pub(super) const SERVING_LOCKS: [&str; 2] = [RUN_LOCK, DAEMON_LOCK];

/// Held for the whole run (or the daemon's life); dropping it lets the next one start.
pub struct RunLock {
    file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes `<state_dir>/run.lock` and writes our PID into it. When another live `goal` holds
    /// it: an error naming that PID, or, with `wait`, a note and a wait until it is free.
    pub fn acquire(state_dir: &Path, wait: bool) -> Result<RunLock, Problem> {
        RunLock::take(state_dir, RUN_LOCK, wait)
    }

    /// Takes `<state_dir>/daemon.lock`, which a second daemon of the project cannot.
    pub fn acquire_daemon(state_dir: &Path) -> Result<RunLock, Problem> {
        RunLock::take(state_dir, DAEMON_LOCK, false).map_err(|problem| {
            if problem.code != RUN_LOCKED {
                return problem;
            }
            let pid = holder(state_dir, DAEMON_LOCK)
                .map(|holder| format!(" (pid {})", holder.pid))
                .unwrap_or_default();
            Problem::failure(
                DAEMON_RUNNING,
                format!("a goal daemon{pid} already runs for this project"),
            )
            .with_help("`goal daemon status` tells about it; `goal daemon stop` stops it")
        })
    }

    fn take(state_dir: &Path, name: &str, wait: bool) -> Result<RunLock, Problem> {
        let path = state_dir.join(name);
        let cannot = |error: io::Error| lock_problem(&path, &error);
        fs::create_dir_all(state_dir).map_err(cannot)?;
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(cannot)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::Error(error)) => return Err(cannot(error)),
            Err(TryLockError::WouldBlock) => {
                let other = match holder(state_dir, name) {
                    Some(holder) => format!("another goal run (pid {})", holder.pid),
                    None => "another goal run".to_owned(),
                };
                if !wait {
                    return Err(Problem::failure(
                        RUN_LOCKED,
                        format!("{other} is using this project"),
                    )
                    .with_help("wait for it to finish, or use --wait to wait for it"));
                }
                eprintln!("note: waiting for {other} to finish");
                file.lock().map_err(cannot)?;
            }
        }
        stop_what_a_killed_holder_left(&file);
        let run_lock = RunLock { file, path };
        run_lock.record(&[])?;
        Ok(run_lock)
    }

    /// Records the Memory's socket path in the lock file so `goal memory …` run from another
    /// terminal during the run can reach the Memory; a daemon adds its control socket.
    pub fn advertise(&self, sockets: &[&Path]) -> Result<(), Problem> {
        self.record(sockets)
    }

    fn record(&self, sockets: &[&Path]) -> Result<(), Problem> {
        let mut text = format!("{}\n", process::id()).into_bytes();
        for socket in sockets {
            let socket = socket.as_os_str().as_bytes();
            if socket.contains(&b'\n') {
                return Err(lock_problem(
                    &self.path,
                    &"the socket's path contains a line break",
                ));
            }
            text.extend(socket);
            text.push(b'\n');
        }
        // Overwrite, then cut, so a reader never finds the file empty while a run holds it.
        self.file
            .write_all_at(&text, 0)
            .and_then(|()| self.file.set_len(text.len() as u64))
            .map_err(|error| lock_problem(&self.path, &error))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // An empty file says at once that no run is left; the lock goes with the descriptor.
        let _ = self.file.set_len(0);
    }
}

/// A lock file that still has text once its lock is ours was left by a holder that never ended
/// its run (a holder that ends empties it): a killed `goal`, whose recipes may still run. They
/// carry the socket it names in their environment, which is how they are found. Then its
/// sockets go, which nothing else would remove.
fn stop_what_a_killed_holder_left(file: &File) {
    let mut text = Vec::new();
    if io::Read::read_to_end(&mut &*file, &mut text).is_err() {
        return;
    }
    let mut lines = text.split(|&byte| byte == b'\n');
    let held_by_us = lines
        .next()
        .and_then(|line| std::str::from_utf8(line).ok()?.parse::<u32>().ok())
        .is_some_and(|pid| pid == process::id());
    if held_by_us {
        return;
    }
    // A socket someone answers on is a live process's, not the killed holder's: a `goal` run
    // inside another's recipe, on the same Memory, names the outer run's socket.
    let dead = |socket: &&Path| UnixStream::connect(socket).is_err();
    let mut sockets = lines
        .filter(|line| !line.is_empty())
        .map(|line| Path::new(OsStr::from_bytes(line)));
    if let Some(memory) = sockets.next().filter(dead) {
        crate::orphans::stop(super::SOCKET_ENV, memory.as_os_str());
        remove_socket(memory);
    }
    sockets.filter(dead).for_each(remove_socket);
}

/// Removes a socket a killed holder served on, and the private directory made for it (see
/// [`crate::socket::Server::start`]) once empty. Only a socket in such a directory: the lock
/// file is not to make `goal` delete anything else.
fn remove_socket(socket: &Path) {
    let Some(dir) = socket.parent() else {
        return;
    };
    let made_for_it = dir
        .file_name()
        .is_some_and(|name| name.as_bytes().starts_with(b"goal-"));
    let is_socket = fs::symlink_metadata(socket).is_ok_and(|meta| meta.file_type().is_socket());
    if made_for_it && is_socket && fs::remove_file(socket).is_ok() {
        let _ = fs::remove_dir(dir);
    }
}

fn lock_problem(path: &Path, cause: &dyn std::fmt::Display) -> Problem {
    Problem::failure(
        RUN_LOCK_IO,
        format!("cannot use the run lock `{}`: {cause}", path.display()),
    )
}

/// The process named in a lock file.
pub struct Holder {
    pub pid: u32,
    /// Where it serves its Memory, once it does.
    pub socket: Option<PathBuf>,
    /// A daemon's control socket.
    pub control: Option<PathBuf>,
}

impl Holder {
    pub(super) fn is_us(&self) -> bool {
        self.pid == process::id()
    }
}

/// The live process named in `<state_dir>/<lock>`, if any.
pub(super) fn holder(state_dir: &Path, lock: &str) -> Option<Holder> {
    let text = fs::read(state_dir.join(lock)).ok()?;
    let mut lines = text.split(|&byte| byte == b'\n');
    let pid = std::str::from_utf8(lines.next()?).ok()?.parse().ok()?;
    let mut path = || {
        lines
            .next()
            .filter(|line| !line.is_empty())
            .map(|line| PathBuf::from(OsString::from_vec(line.to_vec())))
    };
    let socket = path();
    let control = path();
    alive(pid).then_some(Holder {
        pid,
        socket,
        control,
    })
}

/// The daemon running for the project whose state is in `state_dir`, if one runs.
pub fn daemon(state_dir: &Path) -> Option<Holder> {
    holder(state_dir, DAEMON_LOCK)
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // Signal 0 checks that the process exists; EPERM means it does, as another user's.
    // SAFETY: kill with signal 0 sends nothing.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}
