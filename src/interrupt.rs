//! Interruption: Ctrl-C, SIGTERM and SIGHUP stop a run cleanly.
//!
//! Every command runs in a process group of its own, so that stopping it stops everything it
//! started, and so that a terminal's Ctrl-C reaches `goal` alone, which decides. The first
//! signal asks the running command's group to stop (SIGTERM) and the run to end after it: the
//! Memory is flushed, nothing more starts, the exit status is 130. A second signal kills the
//! group (SIGKILL) and exits at once; every Memory write was already durable when it was made,
//! so nothing is lost either way.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, Once, PoisonError};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// The exit status of an interrupted run, as shells report a death by SIGINT.
pub const EXIT_STATUS: u8 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The process groups of the commands running now (several with `-j`).
static RUNNING_GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
/// The write end of the pipe to the thread that stops the running commands, once the first
/// command started; -1 before.
static STOPPER: AtomicI32 = AtomicI32::new(-1);

const STOPPING: &[u8] = b"goal: interrupted: stopping (interrupt again to stop at once)\n";
/// What the handler tells the stopper: the first signal (stop the commands) or a later one
/// (kill them, and end).
const FIRST: u8 = 1;
const AGAIN: u8 = 2;

/// Starts handling the signals, once however often it is called (a `goal tick` runs several
/// jobs). Without it (when installing fails, or for commands that run no recipe) the signals
/// keep their default action: ending `goal`.
///
/// Stopping running commands (signalling their process groups, which a signal handler cannot
/// look up under a lock) needs a thread; it is started with the first command
/// ([`Running::new`]), since a thread costs every run ~0.3 ms to start and to end, a tenth of
/// a no-op run of 1,000 goals. Until then the handler does it all: there is no command to stop.
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            // SAFETY: `register` needs an action that is async-signal-safe: `on_signal` only
            // uses atomics, write(2) and _exit(2).
            if let Err(error) = unsafe { signal_hook::low_level::register(signal, on_signal) } {
                tracing::warn!("cannot handle interruptions: {error}");
            }
        }
    });
}

/// The handler: the first signal asks the run to stop, a later one ends it at once; once a
/// command has started, the stopper thread signals the commands' groups and ends `goal`.
fn on_signal() {
    let first = !INTERRUPTED.swap(true, Ordering::SeqCst);
    if first {
        write(2, STOPPING);
    }
    let stopper = STOPPER.load(Ordering::SeqCst);
    if stopper >= 0 {
        write(stopper, &[if first { FIRST } else { AGAIN }]);
    } else if !first {
        // No command was ever started (the stopper is there before the first one): nothing
        // to kill.
        signal_hook::low_level::exit(EXIT_STATUS.into());
    }
}

/// write(2), the async-signal-safe way to output from a handler.
fn write(fd: i32, bytes: &[u8]) {
    // SAFETY: `bytes` is valid for `bytes.len()` bytes; a failed write is ignored, as
    // `eprintln!` would have been unable to do better.
    unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
}

/// Starts the thread that stops the running commands' groups, before the first command's
/// group is added (so a signal either sees no group or reaches the stopper).
fn start_stopper() {
    let (mut reader, writer) = match std::io::pipe() {
        Ok(pipe) => pipe,
        Err(error) => {
            tracing::warn!("cannot stop commands on an interruption: {error}");
            return;
        }
    };
    let spawned = std::thread::Builder::new().spawn(move || {
        let mut message = [0];
        while reader.read_exact(&mut message).is_ok() {
            if message[0] == FIRST {
                signal_running(Signal::SIGTERM);
            } else {
                signal_running(Signal::SIGKILL);
                std::process::exit(EXIT_STATUS.into());
            }
        }
    });
    match spawned {
        // The write end stays open for the rest of the process, for the handler.
        Ok(_) => STOPPER.store(
            std::os::fd::IntoRawFd::into_raw_fd(writer),
            Ordering::SeqCst,
        ),
        Err(error) => tracing::warn!("cannot stop commands on an interruption: {error}"),
    }
}

/// Waits for `duration`, or less when the run is asked to stop meanwhile.
pub fn sleep(duration: std::time::Duration) {
    let until = std::time::Instant::now() + duration;
    while !interrupted() {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(50)));
    }
}

/// Whether the run has been asked to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

fn signal_running(signal: Signal) {
    for &group in running_groups().iter() {
        // The group may have ended in the meantime: nothing to do then.
        let _ = killpg(Pid::from_raw(group), signal);
    }
}

fn running_groups() -> std::sync::MutexGuard<'static, Vec<i32>> {
    RUNNING_GROUPS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Marks a command's process group as running until dropped.
pub struct Running(i32);

impl Running {
    pub fn new(group: u32) -> Running {
        static STOPPER_STARTED: Once = Once::new();
        STOPPER_STARTED.call_once(start_stopper);
        let group = group as i32;
        running_groups().push(group);
        // A signal that came between the spawn and now found no group to stop.
        if interrupted() {
            let _ = killpg(Pid::from_raw(group), Signal::SIGTERM);
        }
        Running(group)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        running_groups().retain(|&group| group != self.0);
    }
}
