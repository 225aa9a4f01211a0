//! The daemon's control socket: the orders `goal` sends a running daemon, and their answers.
//!
//! | order                      | answer                                                  |
//! |----------------------------|---------------------------------------------------------|
//! | `status`                   | `ok LINE…`: what the daemon is doing, for people        |
//! | `jobs`                     | `ok SERIAL LABEL STARTED PID LOG …` for each running job |
//! | `names`                    | `ok NAME TRIGGER …` for each loaded job                 |
//! | `start NAME`               | `ok SERIAL`                                             |
//! | `cancel SERIAL`            | `ok`                                                    |
//! | `set WHISPER K1 V1 …`      | `ok SERIAL LABEL …` for each `when` job it started; standing by, `ok leader HOST` or `ok busy` |
//! | `poke`                     | `ok`: a run set variables; look at the `when` jobs      |
//! | `reload`                   | `ok`                                                    |
//! | `stop`                     | `ok`, then it stops its jobs and exits                  |
//! | any, when it fails         | `error CODE MESSAGE [HELP]`                             |

use std::path::Path;
use std::time::Duration;

use crate::diagnostic::Problem;
use crate::memory;

/// `set` evaluates the `when` conditions before it answers, and `stop` waits for nothing: a
/// minute is far more than either takes.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// The error codes a daemon answers with, so they keep their `&'static str` on this side.
const CODES: [&str; 8] = [
    "goal::unknown-job",
    "goal::unknown-serial",
    "goal::job-running",
    "goal::unknown-variable",
    "goal::pattern-mismatch",
    "goal::assignment",
    "goal::reload",
    "goal::daemon",
];

/// An order for the daemon, parsed from its words.
pub enum Order {
    Status,
    Jobs,
    Names,
    Start(String),
    Cancel(u64),
    Set {
        whisper: bool,
        pairs: Vec<(String, String)>,
    },
    Poke,
    Reload,
    Stop,
}

impl Order {
    pub fn parse(words: &[String]) -> Option<Order> {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        Some(match words.as_slice() {
            ["status"] => Order::Status,
            ["jobs"] => Order::Jobs,
            ["names"] => Order::Names,
            ["start", name] => Order::Start((*name).to_owned()),
            ["cancel", serial] => Order::Cancel(serial.parse().ok()?),
            ["set", whisper, pairs @ ..] if pairs.len() % 2 == 0 => Order::Set {
                whisper: *whisper == "1",
                pairs: pairs
                    .chunks(2)
                    .map(|pair| (pair[0].to_owned(), pair[1].to_owned()))
                    .collect(),
            },
            ["poke"] => Order::Poke,
            ["reload"] => Order::Reload,
            ["stop"] => Order::Stop,
            _ => return None,
        })
    }
}

/// The answer to an order that failed.
pub fn refusal(problem: &Problem) -> Vec<String> {
    ["error", problem.code, &problem.message]
        .into_iter()
        .map(str::to_owned)
        .chain(problem.help.clone())
        .collect()
}

/// Sends `order` to the daemon of the project whose state is in `state_dir`: its answer's
/// fields, or `None` when no daemon runs there.
pub fn ask(state_dir: &Path, order: &[&str]) -> Result<Option<Vec<String>>, Problem> {
    let Some(control) = memory::daemon(state_dir).and_then(|daemon| daemon.control) else {
        return Ok(None);
    };
    let answer = crate::socket::exchange(&control, order, ANSWER_TIMEOUT).map_err(|error| {
        Problem::failure(
            "goal::daemon",
            format!(
                "cannot reach the goal daemon at `{}`: {error}",
                control.display()
            ),
        )
    })?;
    match answer.split_first() {
        Some((status, fields)) if status == "ok" => Ok(Some(fields.to_vec())),
        Some((status, [code, message, help @ ..])) if status == "error" => {
            let code = CODES
                .into_iter()
                .find(|known| known == code)
                .unwrap_or("goal::daemon");
            Err(Problem::failure(code, message.clone()).with_optional_help(help.first().cloned()))
        }
        _ => Err(Problem::failure(
            "goal::daemon",
            format!("the goal daemon answered what this goal does not understand: {answer:?}"),
        )),
    }
}
