//! Progress on a terminal: how many goals are done, how many wait, and which recipes run now.
//!
//! One line at the bottom of the terminal, redrawn in place; every other line `goal` writes to
//! the terminal (status lines, recipes' output) goes through [`suspend`], which lifts the
//! progress line out of the way first. Nothing of it when standard error is not a terminal.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

struct Progress {
    bar: ProgressBar,
    /// Instances met so far, and those settled (reached, ran or failed).
    met: AtomicUsize,
    done: AtomicUsize,
    /// The instances whose recipes run now.
    running: Mutex<Vec<String>>,
}

static PROGRESS: OnceLock<Progress> = OnceLock::new();

/// Shows progress from now on, if standard error is a terminal.
pub fn start() {
    if !std::io::stderr().is_terminal() {
        return;
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message("starting");
    bar.enable_steady_tick(Duration::from_millis(120));
    let _ = PROGRESS.set(Progress {
        bar,
        met: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        running: Mutex::new(Vec::new()),
    });
}

/// Removes the progress line, for the summary and the errors after it.
pub fn finish() {
    if let Some(progress) = PROGRESS.get() {
        progress.bar.finish_and_clear();
    }
}

/// Runs `write` (which writes to the terminal) with the progress line out of the way.
pub fn suspend<R>(write: impl FnOnce() -> R) -> R {
    match PROGRESS.get() {
        Some(progress) if !progress.bar.is_finished() => progress.bar.suspend(write),
        _ => write(),
    }
}

/// A new instance is being reached.
pub fn met() {
    if let Some(progress) = PROGRESS.get() {
        progress.met.fetch_add(1, Ordering::Relaxed);
    }
}

/// An instance is settled.
pub fn done() {
    if let Some(progress) = PROGRESS.get() {
        progress.done.fetch_add(1, Ordering::Relaxed);
        progress.show();
    }
}

/// Marks a recipe of `instance` as running until dropped.
pub struct Running(Option<String>);

impl Running {
    pub fn new(instance: &str) -> Running {
        let Some(progress) = PROGRESS.get() else {
            return Running(None);
        };
        lock(&progress.running).push(instance.to_string());
        progress.show();
        Running(Some(instance.to_string()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let (Some(progress), Some(instance)) = (PROGRESS.get(), &self.0) else {
            return;
        };
        let mut running = lock(&progress.running);
        if let Some(position) = running.iter().position(|name| name == instance) {
            running.remove(position);
        }
        drop(running);
        progress.show();
    }
}

impl Progress {
    fn show(&self) {
        let running = lock(&self.running);
        let done = self.done.load(Ordering::Relaxed);
        let waiting = self
            .met
            .load(Ordering::Relaxed)
            .saturating_sub(done + running.len());
        let mut message = format!(
            "{done} done · {} running · {waiting} waiting",
            running.len()
        );
        if !running.is_empty() {
            message.push_str(": ");
            message.push_str(&running.join(", "));
        }
        self.bar.set_message(message);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
