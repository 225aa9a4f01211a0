//! The running `goal` serves its Memory on a Unix socket; `goal memory` in a recipe (or in
//! another terminal) is the client.
//!
//! The requests and answers, in the frames of [`crate::socket`]:
//!
//! | request                  | answer                                           |
//! |--------------------------|--------------------------------------------------|
//! | `get KEY`                | `ok` (unset) or `ok VALUE`                       |
//! | `set KEY VALUE`          | `ok`, sent once the value is on disk             |
//! | `set-all K1 V1 K2 V2 …`  | `ok`, once all are on disk (all or none)         |
//! | `delete KEY`             | `ok 1` (it was set) or `ok 0`                    |
//! | `list PREFIX`            | `ok KEY1 VALUE1 KEY2 VALUE2 …`, sorted by key    |
//! | any, when it fails       | `error KIND CODE MESSAGE [HELP]`, KIND `input` or `failure` |

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{Backend, Store, CODES, SOCKET, SOCKET_ENV};
use crate::diagnostic::{Kind, Problem};
use crate::socket::{exchange, Server};

/// The server answers in milliseconds; this only stops a client waiting on a stopped server
/// forever.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Serves `backend` until the server is dropped.
pub(super) fn serve(backend: Arc<Backend>) -> Result<Server, Problem> {
    Server::start(
        "memory",
        Arc::new(move |request: &[String]| answer(&backend, request)),
    )
    .map_err(|cause| {
        Problem::failure(
            SOCKET,
            format!("cannot serve the Memory on a socket: {cause}"),
        )
    })
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

    /// The answer's fields after `ok`, or the server's problem.
    fn call(&self, request: &[&str]) -> Result<Vec<String>, Problem> {
        let answer = exchange(&self.path, request, ANSWER_TIMEOUT).map_err(|error| {
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
