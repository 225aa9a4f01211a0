//! Recording a recipe's output: each chunk is copied, as it comes, to `goal`'s own standard
//! output or error (whichever the recipe wrote to) and to the recipe's log.
//!
//! When `goal`'s standard output and error are one file (a terminal, `> file 2>&1`), the recipe
//! writes both into one pipe, so that what it wrote to each keeps its order on the terminal and
//! in the log. Else one loop in the calling thread polls both pipes, so neither can fill up and
//! block the recipe while the other is read, and no thread can be left behind; each keeps its
//! own order then.

use std::fs::File;
use std::io::{self, IsTerminal as _, PipeReader, Read as _, Write as _};
use std::os::fd::{AsFd as _, OwnedFd};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags};

use super::RecipeLog;

/// How long to keep copying, once the recipe's shell has exited, while output still comes: a
/// process it left in the background may hold its output open for as long as it lives.
const LINGER: Duration = Duration::from_millis(500);
/// How often to check whether the shell has exited while its output stays open and quiet.
const CHECK_EXIT: Duration = Duration::from_millis(100);
/// A line longer than this (a progress bar redrawn with `\r`) goes to the log in pieces.
const LONGEST_LINE: usize = 64 * 1024;

/// Copies the output of `child` until the recipe ends, to the terminal and to its `log` (then
/// records its end there). Returns its exit status. Its standard output and error are `merged`
/// into one pipe, or are pipes of their own.
pub(crate) fn record(
    log: Option<&RecipeLog>,
    child: &mut Child,
    merged: Option<PipeReader>,
) -> io::Result<ExitStatus> {
    let prefix = log.and_then(|log| log.prefix.as_deref());
    let (stdout, stderr) = match merged {
        Some(both) => (Some(OwnedFd::from(both)), None),
        None => (
            child.stdout.take().map(OwnedFd::from),
            child.stderr.take().map(OwnedFd::from),
        ),
    };
    let mut streams = [
        Stream::new(stdout, Terminal::Stdout, prefix),
        Stream::new(stderr, Terminal::Stderr, prefix),
    ];
    let mut writer = LogWriter { log, failed: false };
    let mut buffer = vec![0; 64 * 1024];
    let mut exited = None;
    let mut last_output = Instant::now();
    while streams.iter().any(|stream| stream.pipe.is_some()) {
        let timeout = match exited {
            None => CHECK_EXIT,
            Some(_) => match LINGER.checked_sub(last_output.elapsed()) {
                Some(left) if !left.is_zero() => left,
                _ => break,
            },
        };
        let ready = readable(&streams, timeout)?;
        for (stream, ready) in streams.iter_mut().zip(ready) {
            if ready && stream.copy(&mut buffer, &mut writer) {
                last_output = Instant::now();
            }
        }
        if exited.is_none() {
            exited = child.try_wait()?;
            if exited.is_some() {
                // What the shell wrote just before it exited may still be in the pipes.
                last_output = Instant::now();
            }
        }
    }
    for stream in &mut streams {
        stream.close(&mut writer);
    }
    let status = match exited {
        Some(status) => status,
        None => child.wait()?,
    };
    if let Some(log) = log {
        log.end(status);
    }
    Ok(status)
}

/// Which of the open streams can be read without blocking, waiting at most `timeout`.
fn readable(streams: &[Stream; 2], timeout: Duration) -> io::Result<[bool; 2]> {
    let open: Vec<usize> = (0..streams.len())
        .filter(|&i| streams[i].pipe.is_some())
        .collect();
    let mut fds: Vec<PollFd> = open
        .iter()
        .filter_map(|&i| streams[i].pipe.as_ref())
        .map(|pipe| PollFd::new(pipe.as_fd(), PollFlags::POLLIN))
        .collect();
    let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    let mut ready = [false; 2];
    match poll(&mut fds, millis) {
        Ok(_) => {}
        // A signal (Ctrl-C, handled on its own thread) woke us: just look again.
        Err(Errno::EINTR) => return Ok(ready),
        Err(errno) => return Err(errno.into()),
    }
    for (&i, fd) in open.iter().zip(&fds) {
        // Data, end of file and errors all make a read return at once.
        ready[i] = fd.any().unwrap_or(true);
    }
    Ok(ready)
}

#[derive(Clone, Copy)]
enum Terminal {
    Stdout,
    Stderr,
}

impl Terminal {
    fn is_terminal(self) -> bool {
        match self {
            Terminal::Stdout => io::stdout().is_terminal(),
            Terminal::Stderr => io::stderr().is_terminal(),
        }
    }

    /// A closed or full terminal is no reason to stop the recipe or its log, so errors are
    /// ignored.
    fn write(self, bytes: &[u8]) {
        match self {
            Terminal::Stdout => {
                let mut stdout = io::stdout().lock();
                let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
            }
            Terminal::Stderr => {
                let _ = io::stderr().write_all(bytes);
            }
        }
    }
}

struct Stream<'p> {
    pipe: Option<File>,
    terminal: Terminal,
    /// With a prefix, the terminal gets whole lines (as the log does), each after the prefix.
    prefix: Option<&'p str>,
    /// Output after the last line break, kept from the log until its line is complete, so
    /// that a line of standard output and one of standard error never cut into each other
    /// there.
    partial: Vec<u8>,
    /// Whether `terminal` is one, where the progress line may be drawn.
    on_terminal: bool,
    /// Whether what was shown so far left a line unfinished.
    line_open: bool,
}

impl<'p> Stream<'p> {
    fn new(pipe: Option<OwnedFd>, terminal: Terminal, prefix: Option<&'p str>) -> Stream<'p> {
        Stream {
            pipe: pipe.map(File::from),
            terminal,
            prefix,
            partial: Vec::new(),
            on_terminal: terminal.is_terminal(),
            line_open: false,
        }
    }

    /// Shows output as the recipe wrote it.
    fn show(&mut self, bytes: &[u8]) {
        let terminal = self.terminal;
        if self.on_terminal {
            crate::progress::recipe_output(bytes, &mut self.line_open, |bytes| {
                terminal.write(bytes);
            });
        } else {
            terminal.write(bytes);
        }
    }

    /// Complete lines (or, at the end, the last piece of one): to the log, and to the terminal
    /// when it shows whole lines.
    fn emit(&mut self, lines: &[u8], log: &mut LogWriter) {
        log.write(lines);
        let Some(prefix) = self.prefix else { return };
        let mut shown = Vec::with_capacity(lines.len() + prefix.len());
        for line in lines.split_inclusive(|&byte| byte == b'\n') {
            shown.extend_from_slice(prefix.as_bytes());
            shown.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                shown.push(b'\n');
            }
        }
        self.show(&shown);
    }

    /// Copies one chunk; says whether there was one.
    fn copy(&mut self, buffer: &mut [u8], log: &mut LogWriter) -> bool {
        let Some(pipe) = &mut self.pipe else {
            return false;
        };
        let bytes = match pipe.read(buffer) {
            Ok(0) => {
                self.close(log);
                return false;
            }
            Ok(read) => &buffer[..read],
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return false,
            Err(error) => {
                tracing::warn!("cannot read a recipe's output: {error}");
                self.close(log);
                return false;
            }
        };
        if self.prefix.is_none() {
            self.show(bytes);
        }
        match bytes.iter().rposition(|&byte| byte == b'\n') {
            Some(last) => {
                let (lines, rest) = bytes.split_at(last + 1);
                if self.partial.is_empty() {
                    self.emit(lines, log);
                } else {
                    let mut complete = std::mem::take(&mut self.partial);
                    complete.extend_from_slice(lines);
                    self.emit(&complete, log);
                }
                self.partial.extend_from_slice(rest);
            }
            None => self.partial.extend_from_slice(bytes),
        }
        if self.partial.len() >= LONGEST_LINE {
            let long = std::mem::take(&mut self.partial);
            self.emit(&long, log);
        }
        true
    }

    /// Stops reading, keeping the last line even if it has no line break.
    fn close(&mut self, log: &mut LogWriter) {
        self.pipe = None;
        let last = std::mem::take(&mut self.partial);
        if !last.is_empty() {
            self.emit(&last, log);
        }
        let terminal = self.terminal;
        crate::progress::end_recipe_line(&mut self.line_open, |bytes| terminal.write(bytes));
    }
}

struct LogWriter<'a> {
    log: Option<&'a RecipeLog>,
    /// A log that could not be written is given up: the recipe goes on without it.
    failed: bool,
}

impl LogWriter<'_> {
    fn write(&mut self, bytes: &[u8]) {
        let Some(log) = self.log else { return };
        if self.failed || bytes.is_empty() {
            return;
        }
        if let Err(error) = log.file().and_then(|mut file| file.write_all(bytes)) {
            tracing::warn!("cannot write the log {}: {error}", log.path.display());
            self.failed = true;
        }
    }
}
