//! With a shared Memory, daemons on several hosts elect one to fire the jobs
//! ([`crate::memory::fleet::Election`]). A thread of the daemon competes for the lead: it tells
//! the daemon's thread when its standing changes, and, while it leads, when another host
//! announces that variables changed.

use std::sync::mpsc::Sender;
use std::time::Duration;

use super::Event;
use crate::diagnostic::Problem;
use crate::memory::fleet::{Election, Standing};
use crate::memory::Database;

/// How often a daemon standing by tries to take the lead, and a leader checks that it still
/// has it: how long a fleet may go without a leader after the leader's session ended.
pub const RETRY: Duration = Duration::from_secs(1);

/// What the election thread tells the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum News {
    Standing(Standing),
    /// The server cannot be reached: the daemon no longer leads, and retries.
    Lost(String),
    /// Another host changed the variables.
    VariablesChanged,
}

/// Starts competing for the lead of `database`'s jobs, on a thread of its own.
pub fn start(database: &Database, events: Sender<Event>) -> Result<(), Problem> {
    let mut election = Election::open(database, true)?;
    std::thread::spawn(move || {
        let mut last: Option<News> = None;
        loop {
            let news = match election.round() {
                Ok(standing) => News::Standing(standing),
                Err(problem) => News::Lost(problem.message),
            };
            if last.as_ref() != Some(&news) {
                if events.send(Event::Election(news.clone())).is_err() {
                    return;
                }
                last = Some(news.clone());
            }
            if !matches!(news, News::Standing(Standing::Leads(_))) {
                std::thread::sleep(RETRY);
                continue;
            }
            match election.wait_for_change(RETRY) {
                Ok(false) => {}
                Ok(true) => {
                    if events
                        .send(Event::Election(News::VariablesChanged))
                        .is_err()
                    {
                        return;
                    }
                }
                // The next round says so.
                Err(_) => {}
            }
        }
    });
    Ok(())
}
