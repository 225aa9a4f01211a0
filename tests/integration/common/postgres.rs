//! A throwaway PostgreSQL server for the tests of the shared Memory: started once per test
//! binary on first use, one fresh database per test, stopped when the binary exits.
//!
//! The server runs as `nobody` when the tests run as root (PostgreSQL refuses to run as root),
//! listens only on a Unix socket in its own temporary directory (no port to collide on), and
//! dies with the test binary: stopped by an exit hook when the tests end, and killed by the
//! kernel (the parent-death signal) if the binary itself is killed.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// The running server: its directory (data and socket) and the postmaster's process.
struct Server {
    dir: PathBuf,
    child: Child,
}

static SERVER: LazyLock<Mutex<Option<Server>>> = LazyLock::new(|| Mutex::new(Some(start())));

/// A database of its own on the shared test server; its URL for `--memory`/`GOAL_MEMORY`.
pub struct Database {
    pub url: String,
}

impl Database {
    /// A new, empty database on the test server (started by the first call).
    pub fn new() -> Database {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let socket_dir = {
            let server = SERVER.lock().unwrap_or_else(|e| e.into_inner());
            server.as_ref().expect("the server is running").dir.clone()
        };
        let name = format!("test{}", COUNT.fetch_add(1, Ordering::SeqCst));
        let mut admin = postgres::Client::connect(&url(&socket_dir, "postgres"), postgres::NoTls)
            .expect("connecting to the test server");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("creating a test database");
        Database {
            url: url(&socket_dir, &name),
        }
    }

    /// A client on this database, for a test to look at or change what `goal` stored.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls)
            .expect("connecting to the test database")
    }
}

fn url(socket_dir: &Path, database: &str) -> String {
    format!(
        "postgres://goal@localhost/{database}?host={}",
        socket_dir.display()
    )
}

/// Debian keeps `initdb` and `postgres` in a versioned directory off PATH: the newest there,
/// else whatever PATH has.
fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = glob::glob("/usr/lib/postgresql/*/bin")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|dir| dir.join("initdb").is_file())
        .collect();
    dirs.sort_by_key(|dir| {
        dir.parent()
            .and_then(|version| version.file_name())
            .and_then(|version| version.to_str())
            .and_then(|version| version.parse::<u32>().ok())
    });
    dirs.pop().or_else(|| {
        std::env::var_os("PATH")
            .and_then(|path| std::env::split_paths(&path).find(|dir| dir.join("initdb").is_file()))
    })
}

/// The server's `psql`, for a test's recipe.
pub fn psql() -> PathBuf {
    bin_dir().map_or_else(|| PathBuf::from("psql"), |dir| dir.join("psql"))
}

fn start() -> Server {
    let bin = bin_dir().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin or on PATH): \
             the shared-Memory tests need a real server; install the package `postgresql` \
             (apt-get install postgresql)"
        )
    });
    let dir = tempfile::Builder::new()
        .prefix("goal-pg")
        .tempdir()
        .expect("temporary directory")
        .keep();
    let user = unprivileged_user();
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the server's directory");
    }
    let data = dir.join("data");
    let initdb = as_user(Command::new(bin.join("initdb")), user)
        .args([
            "--auth=trust",
            "--username=goal",
            "--no-sync",
            "--encoding=UTF8",
        ])
        .arg("--pgdata")
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .expect("running initdb");
    assert!(
        initdb.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&initdb.stderr)
    );
    // Started from a thread that lives as long as the binary: the parent-death signal follows
    // the thread that spawned the child, not the process.
    let (sender, receiver) = mpsc::channel();
    let server_dir = dir.clone();
    std::thread::spawn(move || {
        let mut command = as_user(Command::new(bin.join("postgres")), user);
        command
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(&server_dir)
            .args(["-c", "listen_addresses="])
            .args(["-c", "fsync=off", "-c", "max_connections=300"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(server_dir.join("server.log"))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            );
        // Runs in the child after it took its user: a change of user would clear it.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT);
                Ok(())
            });
        }
        sender
            .send(command.spawn())
            .expect("the tests wait for the server");
        loop {
            std::thread::park();
        }
    });
    let child = receiver
        .recv()
        .expect("the server's thread")
        .expect("starting postgres");
    // SAFETY: registering a plain function; it runs once when the binary exits.
    unsafe {
        libc::atexit(stop);
    }
    wait_until_ready(&dir);
    Server { dir, child }
}

fn wait_until_ready(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if postgres::Client::connect(&url(dir, "postgres"), postgres::NoTls).is_ok() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the test PostgreSQL server did not start: {}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops the server when the test binary exits (a fast shutdown), and removes its directory.
extern "C" fn stop() {
    let Some(mut server) = SERVER.lock().ok().and_then(|mut server| server.take()) else {
        return;
    };
    unsafe {
        libc::kill(server.child.id() as libc::pid_t, libc::SIGINT);
    }
    let _ = server.child.wait();
    let _ = std::fs::remove_dir_all(&server.dir);
}

/// `nobody`'s ids when the tests run as root; `None` otherwise (the server runs as the tests do).
fn unprivileged_user() -> Option<(u32, u32)> {
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let entry = unsafe { libc::getpwnam(c"nobody".as_ptr()) };
    assert!(
        !entry.is_null(),
        "the tests run as root and there is no user `nobody` to run PostgreSQL as"
    );
    let entry = unsafe { &*entry };
    Some((entry.pw_uid, entry.pw_gid))
}

fn as_user(mut command: Command, user: Option<(u32, u32)>) -> Command {
    if let Some((uid, gid)) = user {
        command
            .uid(uid)
            .gid(gid)
            .env("HOME", "/tmp")
            .current_dir("/tmp");
    }
    command
}
