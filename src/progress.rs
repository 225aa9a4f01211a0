//! Progress on a terminal: how many goals are done, how many wait, and which recipes run now.
//!
//! One line at the bottom of the terminal, redrawn in place; every other line `goal` writes to
//! the terminal (status lines, recipes' output) goes through [`suspend`], which lifts the
//! progress line out of the way first. A recipe's output that leaves a line unfinished (a `\r`
//! progress counter, a prompt) goes through [`recipe_output`] instead, which keeps the progress
//! line off the terminal until that line ends, so that it is never drawn into it. Nothing of it
//! when standard error is not a terminal; its spinner coloured as [`crate::colour`] decides.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use console::Term;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

struct Progress {
    bar: ProgressBar,
    /// Instances met so far, and those settled (reached, ran or failed).
    met: AtomicUsize,
    done: AtomicUsize,
    /// The instances whose recipes run now.
    running: Mutex<Vec<String>>,
}

static PROGRESS: OnceLock<Progress> = OnceLock::new();

/// How many streams of recipe output have an unfinished line on the terminal now.
static OPEN_LINES: AtomicUsize = AtomicUsize::new(0);
/// How often the progress line is redrawn at most, as indicatif's own standard error target.
const REDRAWS_PER_SECOND: u8 = 20;

/// Shows progress from now on, if standard error is a terminal.
pub fn start() {
    if !std::io::stderr().is_terminal() {
        return;
    }
    let bar = ProgressBar::with_draw_target(
        None,
        ProgressDrawTarget::term_like_with_hz(
            Box::new(UnlessLineOpen(Term::buffered_stderr())),
            REDRAWS_PER_SECOND,
        ),
    );
    bar.set_style(
        ProgressStyle::with_template("{spinner:.cyan} [{elapsed}] {wide_msg}")
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
    match active() {
        Some(progress) => progress.bar.suspend(write),
        None => write(),
    }
}

/// Writes a chunk of a recipe's output with `write`; `line_open` says whether the chunks of its
/// stream before this one left a line unfinished on the terminal, and is kept up to date. Only
/// for a stream that goes to the terminal.
pub fn recipe_output(bytes: &[u8], line_open: &mut bool, write: impl FnOnce(&[u8])) {
    let Some(progress) = active() else {
        return write(bytes);
    };
    let Some(&last) = bytes.last() else { return };
    let opens = last != b'\n';
    match (*line_open, opens) {
        // Counted before the progress line is drawn again, which the count then prevents.
        (false, true) => progress.bar.suspend(|| {
            write(bytes);
            OPEN_LINES.fetch_add(1, Ordering::SeqCst);
        }),
        (false, false) => progress.bar.suspend(|| write(bytes)),
        // The progress line is off the terminal already: nothing to lift.
        (true, true) => write(bytes),
        (true, false) => {
            write(bytes);
            OPEN_LINES.fetch_sub(1, Ordering::SeqCst);
        }
    }
    *line_open = opens;
}

/// Ends a line a recipe left unfinished when its output ends, so that the progress line (and
/// the next status line) starts on a line of its own.
pub fn end_recipe_line(line_open: &mut bool, write: impl FnOnce(&[u8])) {
    if *line_open {
        recipe_output(b"\n", line_open, write);
    }
}

fn active() -> Option<&'static Progress> {
    PROGRESS
        .get()
        .filter(|progress| !progress.bar.is_finished())
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

/// The terminal, for the progress line: while a recipe's line is open, every drawing and
/// clearing is left out, as it would land in the middle of that line.
#[derive(Debug)]
struct UnlessLineOpen(Term);

impl UnlessLineOpen {
    fn unless_open(&self, draw: impl FnOnce(&Term) -> std::io::Result<()>) -> std::io::Result<()> {
        if OPEN_LINES.load(Ordering::SeqCst) > 0 {
            return Ok(());
        }
        draw(&self.0)
    }
}

impl TermLike for UnlessLineOpen {
    fn width(&self) -> u16 {
        self.0.size().1
    }

    fn height(&self) -> u16 {
        self.0.size().0
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.unless_open(|term| term.move_cursor_up(n))
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.unless_open(|term| term.move_cursor_down(n))
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.unless_open(|term| term.move_cursor_right(n))
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.unless_open(|term| term.move_cursor_left(n))
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.unless_open(|term| term.write_line(s))
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.unless_open(|term| term.write_str(s))
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.unless_open(Term::clear_line)
    }

    fn flush(&self) -> std::io::Result<()> {
        self.0.flush()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
