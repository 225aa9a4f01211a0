//! Interruption: Ctrl-C, SIGTERM and SIGHUP stop a run cleanly.
//!
//! Every command runs in a process group of its own, so that stopping it stops everything it
//! started, and so that a terminal's Ctrl-C reaches `goal` alone, which decides. The first
//! signal asks the running command's group to stop (SIGTERM) and the run to end after it: the
//! Memory is flushed, nothing more starts, the exit status is 130. A second signal kills the
//! group (SIGKILL) and exits at once; every Memory write was already durable when it was made,
//! so nothing is lost either way.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The exit status of an interrupted run, as shells report a death by SIGINT.
pub const EXIT_STATUS: u8 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The process group of the command running now; 0 when none runs.
static RUNNING_GROUP: AtomicI32 = AtomicI32::new(0);

/// Starts handling the signals on a thread of its own. Without it (when installing fails, or
/// for commands that run no recipe) the signals keep their default action: ending `goal`.
pub fn install() {
    let mut signals = match Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(signals) => signals,
        Err(error) => {
            tracing::warn!("cannot handle interruptions: {error}");
            return;
        }
    };
    std::thread::spawn(move || {
        for _ in signals.forever() {
            let first = !INTERRUPTED.swap(true, Ordering::SeqCst);
            if first {
                eprintln!("goal: interrupted: stopping (interrupt again to stop at once)");
                signal_running(Signal::SIGTERM);
            } else {
                signal_running(Signal::SIGKILL);
                std::process::exit(EXIT_STATUS.into());
            }
        }
    });
}

/// Whether the run has been asked to stop.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

fn signal_running(signal: Signal) {
    let group = RUNNING_GROUP.load(Ordering::SeqCst);
    if group > 0 {
        // The group may have ended in the meantime: nothing to do then.
        let _ = killpg(Pid::from_raw(group), signal);
    }
}

/// Marks the process group `group` as the running command's until dropped.
pub struct Running;

impl Running {
    pub fn new(group: u32) -> Running {
        RUNNING_GROUP.store(group as i32, Ordering::SeqCst);
        // A signal that came between the spawn and now found no group to stop.
        if interrupted() {
            signal_running(Signal::SIGTERM);
        }
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING_GROUP.store(0, Ordering::SeqCst);
    }
}
