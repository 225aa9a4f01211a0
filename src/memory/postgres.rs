//! The shared Memory: a PostgreSQL database that several `goal` processes, on several hosts,
//! use at once. Keys live in one table, under the project's namespace; every write is a
//! committed transaction before it returns. Instance locks are session-level advisory locks, so
//! a process that dies (its connection closed by the kernel or timed out by the server) frees
//! its instances for the next process that needs them.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::types::{ToSql, Type};
use postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::tls::Settings;
use super::{lock, Store, IO};
use crate::diagnostic::Problem;

/// A Memory on a PostgreSQL server: its URL and the namespace of this project's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub url: String,
    pub namespace: String,
}

/// The URL schemes that name a PostgreSQL Memory rather than a directory.
const SCHEMES: [&str; 2] = ["postgres://", "postgresql://"];

/// The schema's changes, in order: the schema's version is how many of them were applied. Never
/// edit one: append the next.
const MIGRATIONS: [&str; 2] = [
    r#"CREATE TABLE goal_memory (
        namespace text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (namespace, key)
    )"#,
    super::fleet::MIGRATION,
];

/// The advisory lock that serialises creating and upgrading the schema, so that processes
/// starting at once do not race to create the same table.
const SCHEMA_LOCK: i64 = 0x676f_616c_5343_4d41;

/// How long a process waits between attempts on an instance another process holds: short
/// beside a recipe, and each attempt lets an interrupted run stop waiting.
const LOCK_POLL: Duration = Duration::from_millis(20);

/// Without a `connect_timeout` in the URL, an unreachable server would hang a run.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Database {
    /// Whether `--memory`/`GOAL_MEMORY` names a PostgreSQL server rather than a directory.
    pub fn is_url(setting: &str) -> bool {
        SCHEMES.iter().any(|scheme| setting.starts_with(scheme))
    }

    /// The URL as it may be shown: without its password.
    pub fn shown(&self) -> String {
        without_password(&self.url)
    }

    pub(super) fn problem(&self, action: &str, cause: &dyn Display) -> Problem {
        Problem::failure(
            IO,
            format!(
                "cannot {action} the Memory at `{}` (namespace `{}`): {cause}",
                self.shown(),
                self.namespace
            ),
        )
        .with_help("check that the PostgreSQL server is up and reachable, then run goal again")
    }
}

/// A lock on one instance across every process sharing the Memory, held until dropped.
pub struct InstanceLock {
    /// The session that holds the lock; back to the idle ones once unlocked.
    client: Option<Client>,
    key: i64,
    idle: Arc<Mutex<Vec<Client>>>,
}

impl Drop for InstanceLock {
    fn drop(&mut self) {
        if let Some(mut client) = self.client.take() {
            // A session that cannot unlock is dropped instead: closing it frees its locks.
            if client
                .execute_typed("SELECT pg_advisory_unlock($1)", &[(&self.key, Type::INT8)])
                .is_ok()
            {
                lock(&self.idle).push(client);
            }
        }
    }
}

pub(super) struct PostgresStore {
    database: Database,
    config: Config,
    /// The TLS the URL asks for; `None`: none.
    tls: Option<MakeRustlsConnect>,
    /// The session of reads and writes, opened again when the server dropped it.
    client: Mutex<Option<Client>>,
    /// Sessions that held an instance lock, kept for the next one.
    idle: Arc<Mutex<Vec<Client>>>,
    /// The namespace's entries for [`Store::get_ahead`].
    ahead: Mutex<Ahead>,
}

/// The entries read ahead, in one query on the first read that may use them.
enum Ahead {
    Unread,
    Read(HashMap<String, String>),
    /// This process took an instance's lock: other hosts may have written since the entries
    /// were read, and what it reads now decides whether a recipe runs again.
    Spent,
}

impl PostgresStore {
    /// Connects, and creates or upgrades the schema.
    pub(super) fn open(database: &Database) -> Result<Arc<PostgresStore>, Problem> {
        let unreadable = |why: String| {
            Problem::input(
                IO,
                format!(
                    "cannot read the Memory's URL `{}`: {why}",
                    without_password(&database.url)
                ),
            )
            .with_help("write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")
        };
        let settings = Settings::from_url(&database.url).map_err(unreadable)?;
        let mut config =
            Config::from_str(&settings.url).map_err(|error| unreadable(explained(&error)))?;
        let tls = settings.connector().map_err(|why| {
            Problem::input(
                IO,
                format!(
                    "cannot use TLS to the Memory at `{}`: {why}",
                    database.shown()
                ),
            )
            .with_help(
                "sslrootcert=FILE names a file of PEM root certificates; sslcert=FILE and \
                 sslkey=FILE the client's PEM certificate and its key",
            )
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let store = PostgresStore {
            database: database.clone(),
            config,
            tls,
            client: Mutex::new(None),
            idle: Arc::new(Mutex::new(Vec::new())),
            ahead: Mutex::new(Ahead::Unread),
        };
        let mut client = store.connect()?;
        store.upgrade_schema(&mut client)?;
        *lock(&store.client) = Some(client);
        Ok(Arc::new(store))
    }

    pub(super) fn connect(&self) -> Result<Client, Problem> {
        match &self.tls {
            Some(tls) => self.config.connect(tls.clone()),
            None => self.config.connect(NoTls),
        }
        .map_err(|error| {
            let problem = self.database.problem("reach", &explained(&error));
            // Class 28: the server is up and answered, and refused this client.
            match error.code() {
                Some(code) if code.code().starts_with("28") => problem.with_help(
                    "the server refused this client: check the user and password of the URL, \
                     and the certificate (sslcert=FILE, sslkey=FILE) where the server's \
                     pg_hba.conf asks for one",
                ),
                _ => problem,
            }
        })
    }

    fn upgrade_schema(&self, client: &mut Client) -> Result<(), Problem> {
        let failed = |error: postgres::Error| {
            self.database
                .problem("create the schema of", &explained(&error))
        };
        let mut transaction = client.transaction().map_err(failed)?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
            .map_err(failed)?;
        transaction
            .batch_execute("CREATE TABLE IF NOT EXISTS goal_schema (version integer NOT NULL)")
            .map_err(failed)?;
        let version: i32 = match transaction
            .query_opt("SELECT version FROM goal_schema", &[])
            .map_err(failed)?
        {
            Some(row) => row.get(0),
            None => {
                transaction
                    .execute("INSERT INTO goal_schema VALUES (0)", &[])
                    .map_err(failed)?;
                0
            }
        };
        let known = MIGRATIONS.len();
        let applied = usize::try_from(version).unwrap_or(usize::MAX);
        if applied > known {
            return Err(self.database.problem(
                "use",
                &format!(
                    "its schema is version {version}, newer than this goal knows ({known}); \
                     upgrade goal"
                ),
            ));
        }
        for migration in &MIGRATIONS[applied..] {
            transaction.batch_execute(migration).map_err(failed)?;
        }
        if applied < known {
            let known = i32::try_from(known).unwrap_or(i32::MAX);
            transaction
                .execute("UPDATE goal_schema SET version = $1", &[&known])
                .map_err(failed)?;
        }
        transaction.commit().map_err(failed)
    }

    /// Runs `work` on the session of reads and writes, opened again first if the server
    /// dropped it; a failure names the Memory and `action`.
    pub(super) fn with_client<T>(
        &self,
        action: &str,
        work: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, Problem> {
        let mut slot = lock(&self.client);
        let mut client = match slot.take() {
            Some(client) if !client.is_closed() => client,
            _ => self.connect()?,
        };
        let done =
            work(&mut client).map_err(|error| self.database.problem(action, &explained(&error)));
        // A session the server dropped is opened again on the next use.
        if !client.is_closed() {
            *slot = Some(client);
        }
        done
    }

    /// Takes the lock on `name`, polling while another session holds it; `keep_waiting` says
    /// whether to go on (a stopped run gives up with its problem).
    fn lock_instance(
        &self,
        name: &str,
        keep_waiting: &dyn Fn() -> Result<(), Problem>,
    ) -> Result<InstanceLock, Problem> {
        *lock(&self.ahead) = Ahead::Spent;
        let key = instance_key(&self.database.namespace, name);
        let idle = lock(&self.idle).pop();
        let mut client = match idle {
            Some(client) if !client.is_closed() => client,
            _ => self.connect()?,
        };
        loop {
            let row = client
                .query_typed_one("SELECT pg_try_advisory_lock($1)", &[(&key, Type::INT8)])
                .map_err(|error| {
                    self.database
                        .problem("lock an instance in", &explained(&error))
                })?;
            if row.get::<_, bool>(0) {
                return Ok(InstanceLock {
                    client: Some(client),
                    key,
                    idle: self.idle.clone(),
                });
            }
            tracing::debug!("waiting for another process's run of {name}");
            keep_waiting()?;
            std::thread::sleep(LOCK_POLL);
        }
    }
}

impl Store for PostgresStore {
    fn get(&self, key: &str) -> Result<Option<String>, Problem> {
        let namespace = &self.database.namespace;
        self.with_client("read", |client| {
            client
                .query_typed_opt(
                    "SELECT value FROM goal_memory WHERE namespace = $1 AND key = $2",
                    &[(namespace, Type::TEXT), (&key, Type::TEXT)],
                )
                .map(|row| row.map(|row| row.get(0)))
        })
    }

    fn get_ahead(&self, key: &str) -> Result<Option<String>, Problem> {
        let mut ahead = lock(&self.ahead);
        if let Ahead::Unread = *ahead {
            *ahead = Ahead::Read(self.list("")?.into_iter().collect());
        }
        match &*ahead {
            Ahead::Read(entries) => Ok(entries.get(key).cloned()),
            _ => {
                drop(ahead);
                self.get(key)
            }
        }
    }

    fn set(&self, key: &str, value: &str) -> Result<(), Problem> {
        self.set_all(&[(key.to_owned(), value.to_owned())])
    }

    fn set_all(&self, entries: &[(String, String)]) -> Result<(), Problem> {
        let namespace = &self.database.namespace;
        const UPSERT: &str = "INSERT INTO goal_memory (namespace, key, value) VALUES ($1, $2, $3) \
             ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value";
        // Typed statements take one round trip each, not a second to prepare them; a single
        // statement is a transaction of its own.
        self.with_client("write", |client| match entries {
            [entry] => client
                .execute_typed(UPSERT, &upsert(namespace, entry))
                .map(drop),
            _ => {
                let mut transaction = client.transaction()?;
                for entry in entries {
                    transaction.execute_typed(UPSERT, &upsert(namespace, entry))?;
                }
                transaction.commit()
            }
        })?;
        if let Ahead::Read(ahead) = &mut *lock(&self.ahead) {
            ahead.extend(entries.iter().cloned());
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<bool, Problem> {
        let namespace = &self.database.namespace;
        let deleted = self.with_client("write", |client| {
            client
                .execute_typed(
                    "DELETE FROM goal_memory WHERE namespace = $1 AND key = $2",
                    &[(namespace, Type::TEXT), (&key, Type::TEXT)],
                )
                .map(|deleted| deleted > 0)
        })?;
        if let Ahead::Read(ahead) = &mut *lock(&self.ahead) {
            ahead.remove(key);
        }
        Ok(deleted)
    }

    fn list(&self, prefix: &str) -> Result<Vec<(String, String)>, Problem> {
        let namespace = &self.database.namespace;
        self.with_client("read", |client| {
            // The "C" collation orders keys by their bytes, as sled does.
            let rows = client.query(
                "SELECT key, value FROM goal_memory \
                 WHERE namespace = $1 AND starts_with(key, $2) ORDER BY key",
                &[namespace, &prefix],
            )?;
            Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
        })
    }

    /// Every write is committed before it returns: nothing to flush.
    fn flush(&self) -> Result<(), Problem> {
        Ok(())
    }

    fn lock_instance(
        &self,
        name: &str,
        keep_waiting: &dyn Fn() -> Result<(), Problem>,
    ) -> Result<Option<InstanceLock>, Problem> {
        PostgresStore::lock_instance(self, name, keep_waiting).map(Some)
    }
}

/// The parameters of an upsert of `entry`, typed.
fn upsert<'a>(
    namespace: &'a String,
    (key, value): &'a (String, String),
) -> [(&'a (dyn ToSql + Sync), Type); 3] {
    [
        (namespace, Type::TEXT),
        (key, Type::TEXT),
        (value, Type::TEXT),
    ]
}

/// A PostgreSQL error with its causes: the error alone says only "error connecting to server"
/// or "db error".
pub(super) fn explained(error: &postgres::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text
}

/// The advisory lock's key of an instance: its namespace and text, hashed to the 64 bits
/// PostgreSQL's advisory locks take.
pub(super) fn instance_key(namespace: &str, name: &str) -> i64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(namespace.as_bytes());
    hasher.update(&[0]);
    hasher.update(name.as_bytes());
    let hash = hasher.finalize();
    let mut first = [0; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    i64::from_le_bytes(first)
}

/// `url` without the password of its user part or of a `password=` parameter.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info
                .split_once(':')
                .map_or(user_info, |(user, _)| user);
            format!("{user}@{host}")
        }
        None => authority.to_owned(),
    };
    let path = match path.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some(("password", _)) => "password=…".to_owned(),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => path.to_owned(),
    };
    format!("{scheme}://{authority}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(
            without_password("postgres://ci:s3cret@db.example:5433/goal?sslmode=prefer"),
            "postgres://ci@db.example:5433/goal?sslmode=prefer"
        );
        assert_eq!(
            without_password("postgresql://db/goal?user=ci&password=s3cret"),
            "postgresql://db/goal?user=ci&password=…"
        );
        assert_eq!(without_password("postgres://db"), "postgres://db");
    }

    #[test]
    fn instance_keys_depend_on_the_namespace() {
        assert_eq!(
            instance_key("a", "build x=1"),
            instance_key("a", "build x=1")
        );
        assert_ne!(
            instance_key("a", "build x=1"),
            instance_key("b", "build x=1")
        );
    }
}
