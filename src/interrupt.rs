//! Interruption: Ctrl-C, SIGTERM and SIGHUP stop a run cleanly.
//!
//! Every command runs in a process group of its own, so that stopping it stops everything it
//! started, and so that a terminal's Ctrl-C reaches `goal` alone, which decides. The first
//! signal asks the running command's group to stop (SIGTERM) and the run to end after it: the
//! Memory is flushed, nothing more starts, the exit status is 130. A second signal kills the
//! group (SIGKILL) and exits at once; every Memory write was already durable when it was made,
//! so nothing is lost either way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The exit status of an interrupted run, as shells report a death by SIGINT.
pub const EXIT_STATUS: u8 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The process groups of the commands running now (several with `-j`).
static RUNNING_GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Starts handling the signals on a thread of its own, once however often it is called (a
/// `goal tick` runs several jobs). Without it (when installing fails, or for commands that run
/// no recipe) the signals keep their default action: ending `goal`.
pub fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(install_once);
}

fn install_once() {
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
