//! The running `goal` serves its Memory on a Unix socket; `goal memory` in a recipe (or in
//! another terminal) is the client.
//!
//! The protocol is a conversation of frames, requests and answers taking turns; a client may
//! send several requests on one connection. A frame is a list of UTF-8 strings: a big-endian
//! `u32` count, then each string as a big-endian `u32` byte length and its bytes.
//!
//! | request                  | answer                                           |
//! |--------------------------|--------------------------------------------------|
//! | `get KEY`                | `ok` (unset) or `ok VALUE`                       |
//! | `set KEY VALUE`          | `ok`, sent once the value is on disk             |
//! | `set-all K1 V1 K2 V2 …`  | `ok`, once all are on disk (all or none)         |
//! | `delete KEY`             | `ok 1` (it was set) or `ok 0`                    |
//! | `list PREFIX`            | `ok KEY1 VALUE1 KEY2 VALUE2 …`, sorted by key    |
//! | any, when it fails       | `error KIND CODE MESSAGE [HELP]`, KIND `input` or `failure` |

use std::fs::Permissions;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tempfile::TempDir;

use super::{Backend, Store, CODES, SOCKET, SOCKET_ENV};
use crate::diagnostic::{Kind, Problem};

/// Larger strings are refused rather than allocated: a frame comes from another process.
const MAX_STRING: usize = 64 << 20;
/// A client that neither asks nor hangs up loses its connection, and its thread ends.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The server answers in milliseconds; this only stops a client waiting on a stopped server
/// forever.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves a Memory until dropped; the socket lives in a private temporary directory (short
/// enough for `sun_path`'s 108 bytes, and unreadable by other users) removed on drop.
pub(super) struct Server {
    path: PathBuf,
    stopping: Arc<AtomicBool>,
    accepter: Option<JoinHandle<()>>,
    _dir: TempDir,
}

impl Server {
    pub(super) fn start(backend: Arc<Backend>) -> Result<Server, Problem> {
        let cannot = |cause: io::Error| {
            Problem::failure(
                SOCKET,
                format!("cannot serve the Memory on a socket: {cause}"),
            )
        };
        let dir = tempfile::Builder::new()
            .prefix("goal-")
            .permissions(Permissions::from_mode(0o700))
            .tempdir()
            .map_err(cannot)?;
        let path = dir.path().join("memory");
        let listener = UnixListener::bind(&path).map_err(|error| {
            cannot(error).with_help(format!(
                "a socket's path must be shorter than 108 bytes; `{}` is {}: \
                 point TMPDIR to a shorter directory",
                path.display(),
                path.as_os_str().len()
            ))
        })?;
        let stopping = Arc::new(AtomicBool::new(false));
        let accepter = thread::Builder::new()
            .name("goal-memory-server".to_owned())
            .spawn({
                let stopping = stopping.clone();
                move || accept(&listener, &backend, &stopping)
            })
            .map_err(cannot)?;
        Ok(Server {
            path,
            stopping,
            accepter: Some(accepter),
            _dir: dir,
        })
    }

    pub(super) fn path(&self) -> &Path {
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
    }
}

fn accept(listener: &UnixListener, backend: &Arc<Backend>, stopping: &AtomicBool) {
    for connection in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        match connection {
            // A client may keep its connection (a nested `goal` run does): one thread each, so
            // no client waits for another.
            Ok(connection) => {
                let backend = backend.clone();
                let spawned = thread::Builder::new()
                    .name("goal-memory-connection".to_owned())
                    .spawn(move || converse(connection, &backend));
                if let Err(error) = spawned {
                    tracing::warn!("Memory server: cannot answer a client: {error}");
                }
            }
            Err(error) => {
                tracing::warn!("Memory server: {error}");
                // Errors such as running out of file descriptors last a while: don't spin.
                thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn converse(mut stream: UnixStream, backend: &Backend) {
    let timeouts = stream
        .set_read_timeout(Some(IDLE_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(IDLE_TIMEOUT)));
    if timeouts.is_err() {
        return;
    }
    while let Ok(Some(request)) = read_frame(&mut stream) {
        if write_frame(&mut stream, &answer(backend, &request)).is_err() {
            return;
        }
    }
}

fn answer(backend: &Backend, request: &[String]) -> Vec<String> {
    let words: Vec<&str> = request.iter().map(String::as_str).collect();
    let answered = match words.as_slice() {
        ["get", key] => backend.get(key).map(|value| value.into_iter().collect()),
        ["set", key, value] => backend.set(key, value).map(|()| Vec::new()),
        ["set-all", pairs @ ..] if pairs.len() % 2 == 0 => {
            let entries: Vec<(String, String)> = pairs
                .chunks(2)
                .map(|pair| (pair[0].to_owned(), pair[1].to_owned()))
                .collect();
            backend.set_all(&entries).map(|()| Vec::new())
        }
        ["delete", key] => backend
            .delete(key)
            .map(|existed| vec![if existed { "1" } else { "0" }.to_owned()]),
        ["list", prefix] => backend.list(prefix).map(|entries| {
            entries
                .into_iter()
                .flat_map(|(key, value)| [key, value])
                .collect()
        }),
        _ => Err(Problem::failure(
            SOCKET,
            format!("the Memory server does not understand {request:?}"),
        )),
    };
    match answered {
        Ok(fields) => std::iter::once("ok".to_owned()).chain(fields).collect(),
        Err(problem) => {
            let kind = match problem.kind {
                Kind::Input => "input",
                // No Memory operation is interrupted; were one, it failed all the same.
                Kind::Failure | Kind::Interrupted => "failure",
            };
            ["error", kind, problem.code, &problem.message]
                .into_iter()
                .map(str::to_owned)
                .chain(problem.help)
                .collect()
        }
    }
}

/// A Memory reached through a running `goal`. Each request gets its own connection: connecting
/// costs microseconds, and no connection can go stale while the client sits idle.
pub(super) struct SocketStore {
    path: PathBuf,
    /// Where the path came from, for the user to understand a failure.
    origin: &'static str,
}

impl SocketStore {
    pub(super) fn from_env(path: PathBuf) -> SocketStore {
        SocketStore {
            path,
            origin: SOCKET_ENV,
        }
    }

    pub(super) fn from_run_lock(path: PathBuf) -> SocketStore {
        SocketStore {
            path,
            origin: "the run lock",
        }
    }

    /// Whether a server listens at `path` (a socket left by a killed run refuses).
    pub(super) fn answers(path: &Path) -> bool {
        UnixStream::connect(path).is_ok()
    }

    /// The answer's fields after `ok`, or the server's problem.
    fn call(&self, request: &[&str]) -> Result<Vec<String>, Problem> {
        let answer = self.exchange(request).map_err(|error| {
            Problem::failure(
                SOCKET,
                format!(
                    "cannot reach the running goal's Memory at `{}` (from {}): {error}",
                    self.path.display(),
                    self.origin
                ),
            )
            .with_help(format!(
                "the goal run that set {SOCKET_ENV} may have ended; \
                 without the variable, `goal memory` opens the Memory itself"
            ))
        })?;
        match answer.split_first() {
            Some((status, fields)) if status == "ok" => Ok(fields.to_vec()),
            Some((status, [kind, code, message, help @ ..])) if status == "error" => {
                let code = CODES
                    .into_iter()
                    .find(|known| known == code)
                    .unwrap_or(SOCKET);
                let problem = if kind == "input" {
                    Problem::input(code, message.clone())
                } else {
                    Problem::failure(code, message.clone())
                };
                Err(problem.with_optional_help(help.first().cloned()))
            }
            _ => Err(self.unexpected(&answer)),
        }
    }

    /// A request whose answer is a bare `ok`.
    fn call_for_ok(&self, request: &[&str]) -> Result<(), Problem> {
        let answer = self.call(request)?;
        if answer.is_empty() {
            Ok(())
        } else {
            Err(self.unexpected(&answer))
        }
    }

    fn exchange(&self, request: &[&str]) -> io::Result<Vec<String>> {
        let mut stream = UnixStream::connect(&self.path)?;
        stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        stream.set_write_timeout(Some(ANSWER_TIMEOUT))?;
        write_frame(&mut stream, request)?;
        read_frame(&mut stream)?.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection closed without an answer",
            )
        })
    }

    fn unexpected(&self, answer: &[String]) -> Problem {
        Problem::failure(
            SOCKET,
            format!(
                "the Memory server at `{}` gave an answer this goal does not understand: {answer:?}",
                self.path.display()
            ),
        )
    }
}

impl Store for SocketStore {
    fn get(&self, key: &str) -> Result<Option<String>, Problem> {
        let answer = self.call(&["get", key])?;
        match <[String; 1]>::try_from(answer) {
            Ok([value]) => Ok(Some(value)),
            Err(answer) if answer.is_empty() => Ok(None),
            Err(answer) => Err(self.unexpected(&answer)),
        }
    }

    fn set(&self, key: &str, value: &str) -> Result<(), Problem> {
        self.call_for_ok(&["set", key, value])
    }

    fn set_all(&self, entries: &[(String, String)]) -> Result<(), Problem> {
        let request: Vec<&str> = std::iter::once("set-all")
            .chain(
                entries
                    .iter()
                    .flat_map(|(key, value)| [key.as_str(), value.as_str()]),
            )
            .collect();
        self.call_for_ok(&request)
    }

    fn delete(&self, key: &str) -> Result<bool, Problem> {
        let answer = self.call(&["delete", key])?;
        match answer
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["1"] => Ok(true),
            ["0"] => Ok(false),
            _ => Err(self.unexpected(&answer)),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, Problem> {
        let answer = self.call(&["list", prefix])?;
        if answer.len() % 2 != 0 {
            return Err(self.unexpected(&answer));
        }
        let mut fields = answer.into_iter();
        Ok(std::iter::from_fn(|| Some((fields.next()?, fields.next()?))).collect())
    }

    /// The server flushes before it answers a write: nothing is left to flush here.
    fn flush(&self) -> Result<(), Problem> {
        Ok(())
    }
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
