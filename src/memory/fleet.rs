//! The fleet: the `goal` processes of several hosts sharing one PostgreSQL Memory (one
//! namespace). Two things are theirs together besides the keys:
//!
//! - **The jobs' lead.** One session-level advisory lock per namespace ([`Election`]): whoever
//!   holds it fires the `every` and `when` jobs. A daemon holds it for as long as it lives and
//!   records itself in `goal_leaders`; `goal tick` and `goal set` hold it while they run jobs.
//!   The server frees it when the holder's session ends, however the process ended.
//! - **The runs.** Every recipe run is a row of `goal_runs` ([`RunRecorder`]): host, instance,
//!   start, end, and where its log is on that host, for `goal status` on any host.
//!
//! Variables changed on any host are announced with `NOTIFY` ([`announce_change`]), which the
//! leading daemon listens for.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::Client;

use super::postgres::{explained, instance_key, PostgresStore};
use super::{lock, Database, Location};
use crate::diagnostic::Problem;

/// The environment variable naming this host in the fleet (default: the machine's host name),
/// so that hosts whose machines share a name, or directories on one machine standing in for
/// hosts, are told apart.
pub const HOST_ENV: &str = "GOAL_HOST";

/// The schema's second version: the runs and the leaders of every namespace.
pub(super) const MIGRATION: &str = r#"
    CREATE TABLE goal_runs (
        id bigserial PRIMARY KEY,
        namespace text COLLATE "C" NOT NULL,
        host text NOT NULL,
        instance text NOT NULL,
        started timestamptz NOT NULL,
        ended timestamptz,
        ending text,
        log text NOT NULL,
        backend integer NOT NULL
    );
    CREATE INDEX goal_runs_recent ON goal_runs (namespace, started);
    CREATE TABLE goal_leaders (
        namespace text COLLATE "C" PRIMARY KEY,
        host text NOT NULL,
        pid bigint NOT NULL,
        backend integer NOT NULL,
        since timestamptz NOT NULL
    )
"#;

/// The channel on which changes of variables are announced, the namespace as the payload.
const CHANNEL: &str = "goal_variables";

/// How many runs a namespace keeps: the oldest go as a process starts recording.
const RUNS_KEPT: i64 = 10_000;

/// This host's name in the fleet.
pub fn host() -> String {
    if let Some(host) = std::env::var(HOST_ENV).ok().filter(|host| !host.is_empty()) {
        return host;
    }
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is as long as we say; gethostname writes at most that much.
    let written = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    if written != 0 || end == 0 {
        return "localhost".to_owned();
    }
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

/// The daemon that leads a namespace's jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leader {
    pub host: String,
    pub pid: u32,
    pub since: SystemTime,
}

/// Where this process stands in the election of its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// It holds the jobs' lock, since then.
    Leads(SystemTime),
    /// Another process holds it: the daemon named, or (`None`) a `goal tick` or `goal set`
    /// running jobs.
    StandsBy(Option<Leader>),
}

/// A session competing for the lead of one namespace's jobs.
pub struct Election {
    database: Database,
    store: Arc<PostgresStore>,
    session: Option<Client>,
    key: i64,
    /// Since when it leads, while it does.
    leading: Option<SystemTime>,
    /// A daemon records itself as the leader when it takes the lead; a command does not.
    daemon: bool,
}

impl Election {
    /// Connects to the Memory; takes nothing yet. A `daemon` also listens for changes of the
    /// variables, and is named as the leader when it leads.
    pub fn open(database: &Database, daemon: bool) -> Result<Election, Problem> {
        Ok(Election {
            database: database.clone(),
            store: PostgresStore::open(database)?,
            session: None,
            key: instance_key(&database.namespace, "\0jobs"),
            leading: None,
            daemon,
        })
    }

    /// One round: keeps the lead if it had it and its session lives, else takes it when free.
    pub fn round(&mut self) -> Result<Standing, Problem> {
        let result = self.try_round();
        if result.is_err() {
            // The lock went with the session, if it was lost; a new one competes afresh.
            self.session = None;
            self.leading = None;
        }
        result
    }

    fn try_round(&mut self) -> Result<Standing, Problem> {
        let failed = |error: ::postgres::Error| {
            self.database
                .problem("lead the jobs through", &explained(&error))
        };
        if self.leading.is_some() && self.session.as_ref().is_none_or(Client::is_closed) {
            // The lead went with the session: say so before competing again.
            return Err(self.database.problem(
                "lead the jobs through",
                &"the session holding the lead was closed",
            ));
        }
        let session = match &mut self.session {
            Some(session) if !session.is_closed() => session,
            slot => {
                self.leading = None;
                let mut session = self.store.connect()?;
                if self.daemon {
                    session
                        .batch_execute(&format!("LISTEN {CHANNEL}"))
                        .map_err(failed)?;
                }
                slot.insert(session)
            }
        };
        if let Some(since) = self.leading {
            // A session that still answers still holds its lock.
            session.batch_execute("SELECT 1").map_err(failed)?;
            return Ok(Standing::Leads(since));
        }
        let taken: bool = session
            .query_one("SELECT pg_try_advisory_lock($1)", &[&self.key])
            .map_err(failed)?
            .get(0);
        if !taken {
            return Ok(Standing::StandsBy(self.leader()?));
        }
        let since = SystemTime::now();
        if self.daemon {
            let pid = i64::from(std::process::id());
            session
                .execute(
                    "INSERT INTO goal_leaders (namespace, host, pid, backend, since) \
                     VALUES ($1, $2, $3, pg_backend_pid(), $4) \
                     ON CONFLICT (namespace) DO UPDATE SET host = EXCLUDED.host, \
                     pid = EXCLUDED.pid, backend = EXCLUDED.backend, since = EXCLUDED.since",
                    &[&self.database.namespace, &host(), &pid, &since],
                )
                .map_err(failed)?;
        }
        self.leading = Some(since);
        Ok(Standing::Leads(since))
    }

    /// The daemon leading the namespace now, if a daemon does: the one recorded, if its
    /// session still holds a lock.
    fn leader(&self) -> Result<Option<Leader>, Problem> {
        self.store.with_client("read", |client| {
            let row = client.query_opt(
                "SELECT host, pid, since FROM goal_leaders l WHERE namespace = $1 \
                 AND EXISTS (SELECT 1 FROM pg_locks k \
                             WHERE k.locktype = 'advisory' AND k.granted AND k.pid = l.backend)",
                &[&self.database.namespace],
            )?;
            Ok(row.map(|row| Leader {
                host: row.get(0),
                pid: u32::try_from(row.get::<_, i64>(1)).unwrap_or_default(),
                since: row.get(2),
            }))
        })
    }

    /// Waits up to `timeout` for an announced change of the namespace's variables; whether
    /// one came. Only a daemon listens.
    pub fn wait_for_change(&mut self, timeout: Duration) -> Result<bool, Problem> {
        let Some(session) = self.session.as_mut() else {
            std::thread::sleep(timeout);
            return Ok(false);
        };
        let namespace = &self.database.namespace;
        let mut notifications = session.notifications();
        // The first one waits; those that came with it are taken at once.
        let mut changed = false;
        let mut waited = notifications.timeout_iter(timeout).next();
        let failure = loop {
            match waited {
                Ok(Some(notification)) => changed |= notification.payload() == namespace,
                Ok(None) => break None,
                Err(error) => break Some(error),
            }
            waited = notifications.iter().next();
        };
        drop(notifications);
        match failure {
            None => Ok(changed),
            Some(error) => {
                // The next round reports the lost lead.
                self.session = None;
                Err(self
                    .database
                    .problem("lead the jobs through", &explained(&error)))
            }
        }
    }
}

/// Tells the leading daemon, wherever it runs, that the namespace's variables changed.
pub fn announce_change(database: &Database) -> Result<(), Problem> {
    let store = PostgresStore::open(database)?;
    store.with_client("write", |client| {
        client
            .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &database.namespace])
            .map(drop)
    })
}

/// A recipe run as the fleet recorded it.
pub struct FleetRun {
    pub host: String,
    pub instance: String,
    pub started: SystemTime,
    pub ended: Option<SystemTime>,
    /// How it ended, as the run logs' index says it (`exit 0`, `signal 9`, `interrupted`).
    pub ending: Option<String>,
    /// Its log, relative to its project's directory on its host.
    pub log: String,
    /// Without an end: whether the process running it is still connected.
    pub live: bool,
}

/// The latest `count` recipe runs of every host of the namespace, newest first.
pub fn recent_runs(database: &Database, count: usize) -> Result<Vec<FleetRun>, Problem> {
    let store = PostgresStore::open(database)?;
    let limit = i64::try_from(count).unwrap_or(i64::MAX);
    store.with_client("read", |client| {
        let rows = client.query(
            "SELECT host, instance, started, ended, ending, log, \
             ended IS NULL AND EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = r.backend) \
             FROM goal_runs r WHERE namespace = $1 ORDER BY started DESC, id DESC LIMIT $2",
            &[&database.namespace, &limit],
        )?;
        Ok(rows
            .iter()
            .map(|row| FleetRun {
                host: row.get(0),
                instance: row.get(1),
                started: row.get(2),
                ended: row.get(3),
                ending: row.get(4),
                log: row.get(5),
                live: row.get(6),
            })
            .collect())
    })
}

/// Records this process's recipe runs in the fleet's table, from the first on. Losing a
/// record must not stop work: after a failure it says so once and records nothing more.
pub struct RunRecorder {
    database: Database,
    host: String,
    session: Mutex<Session>,
}

impl std::fmt::Debug for RunRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RunRecorder({} on {})", self.host, self.database.shown())
    }
}

enum Session {
    Unopened,
    Open(Arc<PostgresStore>),
    Failed,
}

impl RunRecorder {
    /// A recorder for runs with this Memory, when it is shared.
    pub fn of(location: &Location) -> Option<RunRecorder> {
        Some(RunRecorder {
            database: location.database.clone()?,
            host: host(),
            session: Mutex::new(Session::Unopened),
        })
    }

    /// Records that a recipe run of `instance` started; its record's id.
    pub fn started(&self, instance: &str, at: SystemTime, log: &Path) -> Option<i64> {
        let log = log.to_string_lossy();
        self.record(|client| {
            client
                .query_one(
                    "INSERT INTO goal_runs (namespace, host, instance, started, log, backend) \
                     VALUES ($1, $2, $3, $4, $5, pg_backend_pid()) RETURNING id",
                    &[&self.database.namespace, &self.host, &instance, &at, &log],
                )
                .map(|row| row.get(0))
        })
    }

    /// Records how the run `id` ended.
    pub fn ended(&self, id: i64, at: SystemTime, ending: &str) {
        self.record(|client| {
            client.execute(
                "UPDATE goal_runs SET ended = $2, ending = $3 WHERE id = $1",
                &[&id, &at, &ending],
            )
        });
    }

    fn record<T>(
        &self,
        work: impl FnOnce(&mut Client) -> Result<T, ::postgres::Error>,
    ) -> Option<T> {
        let mut session = lock(&self.session);
        if let Session::Unopened = *session {
            *session = match self.open() {
                Ok(store) => Session::Open(store),
                Err(problem) => return self.give_up(&mut session, &problem),
            };
        }
        let Session::Open(store) = &*session else {
            return None;
        };
        match store.with_client("record a run in", work) {
            Ok(done) => Some(done),
            Err(problem) => self.give_up(&mut session, &problem),
        }
    }

    fn open(&self) -> Result<Arc<PostgresStore>, Problem> {
        let store = PostgresStore::open(&self.database)?;
        let namespace = &self.database.namespace;
        store.with_client("prune the runs of", |client| {
            client.execute(
                "DELETE FROM goal_runs WHERE namespace = $1 AND id < \
                 (SELECT min(id) FROM (SELECT id FROM goal_runs WHERE namespace = $1 \
                  ORDER BY id DESC LIMIT $2) AS kept)",
                &[namespace, &RUNS_KEPT],
            )
        })?;
        Ok(store)
    }

    fn give_up<T>(&self, session: &mut Session, problem: &Problem) -> Option<T> {
        tracing::warn!("not recording this run's recipes for the fleet: {problem}");
        *session = Session::Failed;
        None
    }
}
