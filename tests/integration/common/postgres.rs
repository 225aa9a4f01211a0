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

/// A running server: its directory (data and socket) and the postmaster's process.
struct Server {
    dir: PathBuf,
    child: Child,
}

/// How a server is reached beside its Unix socket.
#[derive(Clone, Copy)]
enum Listen {
    SocketOnly,
    /// On 127.0.0.1 at this port, with TLS or without; with TLS, asking for the client's
    /// certificate or not.
    Tcp {
        port: u16,
        tls: bool,
        client_certificates: bool,
    },
}

/// Every server started, stopped when the binary exits.
static SERVERS: Mutex<Vec<Server>> = Mutex::new(Vec::new());

/// The socket directory of the server the tests' databases are on.
static SERVER: LazyLock<PathBuf> = LazyLock::new(|| start(Listen::SocketOnly));

/// A server of its own on 127.0.0.1, for the tests of TLS: its port, and where the root of its
/// certificate (for `localhost` and 127.0.0.1) is when it has TLS.
pub struct TcpServer {
    pub port: u16,
    pub root: PathBuf,
    /// A client's certificate for the user `goal` and its key, signed by the root, when the
    /// server asks for one.
    pub client: (PathBuf, PathBuf),
}

impl TcpServer {
    /// The server with TLS (`ssl=on`), started by the first call.
    pub fn with_tls() -> &'static TcpServer {
        static TLS: LazyLock<TcpServer> = LazyLock::new(|| TcpServer::start(true, false));
        &TLS
    }

    /// The server without TLS, started by the first call.
    pub fn without_tls() -> &'static TcpServer {
        static PLAIN: LazyLock<TcpServer> = LazyLock::new(|| TcpServer::start(false, false));
        &PLAIN
    }

    /// The server with TLS that lets in only a client with a certificate for the user `goal`
    /// signed by its root (`cert` in `pg_hba.conf`): one is in [`TcpServer::client`].
    pub fn with_client_certificates() -> &'static TcpServer {
        static CERT: LazyLock<TcpServer> = LazyLock::new(|| TcpServer::start(true, true));
        &CERT
    }

    fn start(tls: bool, client_certificates: bool) -> TcpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let dir = start(Listen::Tcp {
            port,
            tls,
            client_certificates,
        });
        TcpServer {
            port,
            root: dir.join("data/root.crt"),
            client: (dir.join("data/client.crt"), dir.join("data/client.key")),
        }
    }

    /// The URL of its database `postgres` on `host` (`localhost` or `127.0.0.1`), with
    /// `parameters` (`sslmode=require`).
    pub fn url(&self, host: &str, parameters: &str) -> String {
        format!("postgres://goal@{host}:{}/postgres?{parameters}", self.port)
    }
}

/// Makes a root certificate and its key, `NAME.crt` and `NAME.key` in `dir`, with the `openssl`
/// command.
pub fn root_certificate(dir: &Path, name: &str) {
    openssl(
        Command::new("openssl")
            .args(["req", "-x509", "-subj", "/CN=goal test root"])
            .args(key_options(dir, name))
            .arg("-out")
            .arg(dir.join(format!("{name}.crt"))),
    );
}

/// Makes `server.crt` and `server.key` in `dir`, for `localhost` and 127.0.0.1, signed by the
/// root `root.crt` made there first.
fn server_certificate(dir: &Path) {
    root_certificate(dir, "root");
    signed_certificate(
        dir,
        "server",
        "localhost",
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    );
}

/// Makes `NAME.crt` for the common name `common_name`, with `extensions`, and its key
/// `NAME.key`, in `dir`, signed by the root `root.crt` there.
fn signed_certificate(dir: &Path, name: &str, common_name: &str, extensions: &str) {
    let request = dir.join(format!("{name}.csr"));
    openssl(
        Command::new("openssl")
            .args(["req", "-new", "-subj", &format!("/CN={common_name}")])
            .args(key_options(dir, name))
            .arg("-out")
            .arg(&request),
    );
    let extension_file = dir.join(format!("{name}.ext"));
    std::fs::write(&extension_file, extensions).expect("writing the certificate's extensions");
    openssl(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
            .arg("-in")
            .arg(&request)
            .arg("-CA")
            .arg(dir.join("root.crt"))
            .arg("-CAkey")
            .arg(dir.join("root.key"))
            .arg("-extfile")
            .arg(&extension_file)
            .arg("-out")
            .arg(dir.join(format!("{name}.crt"))),
    );
}

/// A new P-256 key in `dir/NAME.key`, unencrypted, for a certificate valid two days.
fn key_options(dir: &Path, name: &str) -> Vec<std::ffi::OsString> {
    let key = dir.join(format!("{name}.key"));
    [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-keyout",
    ]
    .iter()
    .map(Into::into)
    .chain([key.into_os_string()])
    .collect()
}

fn openssl(command: &mut Command) {
    let made = command
        .stdin(Stdio::null())
        .output()
        .expect("running openssl (Debian's package `openssl`)");
    assert!(
        made.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&made.stderr)
    );
}

/// A database of its own on the shared test server; its URL for `--memory`/`GOAL_MEMORY`.
pub struct Database {
    pub url: String,
}

impl Database {
    /// A new, empty database on the test server (started by the first call).
    pub fn new() -> Database {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let socket_dir = SERVER.clone();
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

/// Starts a server; its directory, where its socket is.
fn start(listen: Listen) -> PathBuf {
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
    let mut settings = vec!["listen_addresses=".to_owned()];
    if let Listen::Tcp {
        port,
        tls,
        client_certificates,
    } = listen
    {
        settings = vec![
            "listen_addresses=127.0.0.1".to_owned(),
            format!("port={port}"),
        ];
        if tls {
            server_certificate(&data);
            // PostgreSQL refuses a key others can read.
            std::fs::set_permissions(
                data.join("server.key"),
                std::os::unix::fs::PermissionsExt::from_mode(0o600),
            )
            .expect("chmod the server's key");
            if let Some((uid, gid)) = user {
                for file in ["server.crt", "server.key"] {
                    std::os::unix::fs::chown(data.join(file), Some(uid), Some(gid))
                        .expect("chown the server's certificate");
                }
            }
            settings.push("ssl=on".to_owned());
            if client_certificates {
                signed_certificate(&data, "client", "goal", "basicConstraints=CA:FALSE\n");
                settings.push("ssl_ca_file=root.crt".to_owned());
                // The socket stays open to all, for the tests' own set-up.
                std::fs::write(
                    data.join("pg_hba.conf"),
                    "local all all trust\nhostssl all all 127.0.0.1/32 cert\n",
                )
                .expect("writing pg_hba.conf");
            }
        }
    }
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
            .args(settings.iter().flat_map(|setting| ["-c", setting]))
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
    let mut servers = SERVERS.lock().unwrap_or_else(|e| e.into_inner());
    if servers.is_empty() {
        // SAFETY: registering a plain function; it runs once when the binary exits.
        unsafe {
            libc::atexit(stop);
        }
    }
    servers.push(Server {
        dir: dir.clone(),
        child,
    });
    drop(servers);
    // Through the socket, which every server has and lets in without a certificate.
    let mut ready = url(&dir, "postgres");
    if let Listen::Tcp { port, .. } = listen {
        ready.push_str(&format!("&port={port}"));
    }
    wait_until_ready(&dir, &ready);
    dir
}

fn wait_until_ready(dir: &Path, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if postgres::Client::connect(url, postgres::NoTls).is_ok() {
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

/// Stops the servers when the test binary exits (a fast shutdown), and removes their
/// directories.
extern "C" fn stop() {
    let Ok(mut servers) = SERVERS.lock() else {
        return;
    };
    for mut server in servers.drain(..) {
        unsafe {
            libc::kill(server.child.id() as libc::pid_t, libc::SIGINT);
        }
        let _ = server.child.wait();
        let _ = std::fs::remove_dir_all(&server.dir);
    }
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
