//! Conversations over Unix sockets: the Memory server and the daemon's control socket.
//!
//! A conversation is frames, requests and answers taking turns; a client may send several
//! requests on one connection. A frame is a list of UTF-8 strings: a big-endian `u32` count, then
//! each string as a big-endian `u32` byte length and its bytes.

use std::fs::Permissions;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Larger strings are refused rather than allocated: a frame comes from another process.
const MAX_STRING: usize = 64 << 20;
/// A client that neither asks nor hangs up loses its connection, and its thread ends.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a server being dropped waits for the answers it is still working out or writing:
/// they take milliseconds, but one stuck (on a Memory write that cannot end) must not keep the
/// process from exiting.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What a server does with each request: its answer.
pub type Handler = dyn Fn(&[String]) -> Vec<String> + Send + Sync;

/// Serves requests until dropped; the socket lives in a private temporary directory (short
/// enough for `sun_path`'s 108 bytes, and unreadable by other users) removed on drop.
pub struct Server {
    path: PathBuf,
    stopping: Arc<AtomicBool>,
    accepter: Option<JoinHandle<()>>,
    /// A request answered is an answer sent: the daemon's `ok` to `stop` must reach its client
    /// although the daemon exits as soon as it has answered.
    answering: Arc<Answering>,
    _dir: TempDir,
}

/// How many answers are being worked out or written.
#[derive(Default)]
struct Answering {
    count: Mutex<usize>,
    none: Condvar,
}

impl Answering {
    fn start(self: &Arc<Self>) -> AnswerGuard {
        *self.count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        AnswerGuard(self.clone())
    }

    /// Waits until no answer is pending, or `timeout` has passed.
    fn wait_for_none(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut count = self.count.lock().unwrap_or_else(PoisonError::into_inner);
        while *count > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            count = self
                .none
                .wait_timeout(count, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

/// One answer pending, until dropped.
struct AnswerGuard(Arc<Answering>);

impl Drop for AnswerGuard {
    fn drop(&mut self) {
        let mut count = self.0.count.lock().unwrap_or_else(PoisonError::into_inner);
        *count -= 1;
        if *count == 0 {
            self.0.none.notify_all();
        }
    }
}

impl Server {
    /// Listens on `<private dir>/<name>`; each connection is answered on a thread of its own.
    pub fn start(name: &str, handler: Arc<Handler>) -> io::Result<Server> {
        let dir = tempfile::Builder::new()
            .prefix("goal-")
            .permissions(Permissions::from_mode(0o700))
            .tempdir()?;
        let path = dir.path().join(name);
        let listener = UnixListener::bind(&path).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!(
                    "{error} (a socket's path must be shorter than 108 bytes; `{}` is {}: \
                     point TMPDIR to a shorter directory)",
                    path.display(),
                    path.as_os_str().len()
                ),
            )
        })?;
        let stopping = Arc::new(AtomicBool::new(false));
        let answering = Arc::new(Answering::default());
        let accepter = thread::Builder::new()
            .name(format!("goal-{name}-server"))
            .spawn({
                let stopping = stopping.clone();
                let answering = answering.clone();
                move || accept(&listener, &handler, &stopping, &answering)
            })?;
        Ok(Server {
            path,
            stopping,
            accepter: Some(accepter),
            answering,
            _dir: dir,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // The accepting thread waits in `accept`: a connection wakes it to see it must stop.
        // Without one it would never return, so it is left behind rather than joined.
        if UnixStream::connect(&self.path).is_ok() {
            if let Some(accepter) = self.accepter.take() {
                let _ = accepter.join();
            }
        }
        self.answering.wait_for_none(DRAIN_TIMEOUT);
    }
}

fn accept(
    listener: &UnixListener,
    handler: &Arc<Handler>,
    stopping: &AtomicBool,
    answering: &Arc<Answering>,
) {
    for connection in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        match connection {
            // A client may keep its connection (a nested `goal` run does): one thread each, so
            // no client waits for another.
            Ok(connection) => {
                let handler = handler.clone();
                let answering = answering.clone();
                let spawned = thread::Builder::new()
                    .name("goal-connection".to_owned())
                    .spawn(move || converse(connection, &*handler, &answering));
                if let Err(error) = spawned {
                    tracing::warn!("socket server: cannot answer a client: {error}");
                }
            }
            Err(error) => {
                tracing::warn!("socket server: {error}");
                // Errors such as running out of file descriptors last a while: don't spin.
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn converse(mut stream: UnixStream, handler: &Handler, answering: &Arc<Answering>) {
    let timeouts = stream
        .set_read_timeout(Some(IDLE_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(IDLE_TIMEOUT)));
    if timeouts.is_err() {
        return;
    }
    while let Ok(Some(request)) = read_frame(&mut stream) {
        let _pending = answering.start();
        if write_frame(&mut stream, &handler(&request)).is_err() {
            return;
        }
    }
}

/// One request and its answer on a new connection, waiting at most `timeout` for each.
pub fn exchange(path: &Path, request: &[&str], timeout: Duration) -> io::Result<Vec<String>> {
    let mut stream = UnixStream::connect(path)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write_frame(&mut stream, request)?;
    read_frame(&mut stream)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the connection closed without an answer",
        )
    })
}

/// Whether a server listens at `path` (a socket left by a killed process refuses).
pub fn answers(path: &Path) -> bool {
    UnixStream::connect(path).is_ok()
}

fn write_frame(stream: &mut impl Write, strings: &[impl AsRef<str>]) -> io::Result<()> {
    let length = |n: usize| {
        u32::try_from(n)
            .ok()
            .filter(|_| n <= MAX_STRING)
            .map(u32::to_be_bytes)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{n} bytes is more than the socket carries ({MAX_STRING})"),
                )
            })
    };
    let mut frame = Vec::from(length(strings.len())?);
    for string in strings {
        let string = string.as_ref();
        frame.extend(length(string.len())?);
        frame.extend(string.as_bytes());
    }
    stream.write_all(&frame)?;
    stream.flush()
}

/// `None` when the peer hung up between frames.
fn read_frame(stream: &mut impl Read) -> io::Result<Option<Vec<String>>> {
    let mut count = [0; 4];
    match stream.read_exact(&mut count) {
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        result => result?,
    }
    (0..u32::from_be_bytes(count))
        .map(|_| read_string(stream))
        .collect::<io::Result<_>>()
        .map(Some)
}

fn read_string(stream: &mut impl Read) -> io::Result<String> {
    let mut length = [0; 4];
    stream.read_exact(&mut length)?;
    let length = u32::from_be_bytes(length) as usize;
    if length > MAX_STRING {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a string of {length} bytes is more than the socket carries"),
        ));
    }
    let mut bytes = vec![0; length];
    stream.read_exact(&mut bytes)?;
    String::from_utf8(bytes).map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_dropped_server_sends_the_answers_it_was_working_out() {
        let (asked, request_arrived) = mpsc::channel();
        let answered = Arc::new(AtomicBool::new(false));
        let handler = {
            let answered = answered.clone();
            move |_: &[String]| {
                let _ = asked.send(());
                // Slower than the drop below, which must wait for it.
                thread::sleep(Duration::from_millis(200));
                answered.store(true, Ordering::SeqCst);
                vec!["ok".to_owned()]
            }
        };
        let server = Server::start("test", Arc::new(handler)).unwrap();
        let path = server.path().to_owned();
        let client = thread::spawn(move || exchange(&path, &["stop"], Duration::from_secs(10)));
        request_arrived.recv().unwrap();
        drop(server);
        assert!(answered.load(Ordering::SeqCst), "the drop did not wait");
        assert_eq!(client.join().unwrap().unwrap(), ["ok"]);
    }
}
