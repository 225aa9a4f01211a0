//! The integration-test builder: a project in a temporary directory, run with the real binary.
//!
//! ```ignore
//! let project = Project::new().goalfile(r#"goal all { run "echo hi" }"#);
//! project.goal(&["all"]).expect(0, "hi\n", "goal: start all\ngoal: done  all (0.00s)\n…");
//! ```
//!
//! Tests compare what a user sees, whole: standard output, standard error and the exit status
//! (`expect`, `stdout_is`, `stderr_is`), after [`normalize`] has replaced what changes from
//! run to run. The substring checks (`stdout_has` …) are for output that cannot be known
//! whole, and a test that uses one says why.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Project {
    dir: tempfile::TempDir,
    /// `TMPDIR` of every `goal` run here, where it makes its sockets' directories: removed with
    /// the project, with those a test's killed `goal` leaves (the next run would remove them,
    /// and a test's killed run often has none).
    tmp: tempfile::TempDir,
    /// What names the Memory of every `goal` run here ([`Project::memory`]).
    memory: Vec<(&'static str, String)>,
}

impl Default for Project {
    fn default() -> Self {
        Project::new()
    }
}

impl Project {
    pub fn new() -> Project {
        Project {
            dir: tempfile::Builder::new()
                .prefix("goal-test")
                .tempdir()
                .expect("temporary directory"),
            tmp: tempfile::Builder::new()
                .prefix("goal-tmp")
                .tempdir()
                .expect("temporary directory"),
            memory: Vec::new(),
        }
    }

    /// Every `goal` run here uses the Memory on `backend`.
    pub fn memory(self, backend: &backend::Backend) -> Project {
        Project {
            memory: backend.environment(),
            ..self
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn goalfile(self, text: &str) -> Project {
        self.file("Goalfile", text)
    }

    /// Writes `text` to `relative` (creating directories); scripts ending in `.sh` are made
    /// executable.
    pub fn file(self, relative: &str, text: &str) -> Project {
        self.write(relative, text);
        self
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&path, text).unwrap();
        if relative.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    pub fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.dir.path().join(relative))
            .unwrap_or_else(|e| panic!("reading {relative}: {e}"))
    }

    /// The lines of `relative`; none when it does not exist (yet).
    pub fn lines(&self, relative: &str) -> Vec<String> {
        fs::read_to_string(self.dir.path().join(relative))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Makes the Memory say the periodic job `job` last fired `ago`.
    pub fn set_last_firing(&self, job: &str, ago: std::time::Duration) {
        let then = std::time::SystemTime::now() - ago;
        let millis = then
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            .to_string();
        self.goal(&["memory", "set", &format!("goal/every/{job}"), &millis])
            .success();
    }

    pub fn exists(&self, relative: &str) -> bool {
        self.dir.path().join(relative).exists()
    }

    /// A `goal` command in the project directory with a stable, colourless environment. Its
    /// standard streams go nowhere unless the test asks for them, so that a `goal` a test
    /// starts never writes into the test runner's own output.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_goal"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        stable_environment(&mut command);
        command.env("TMPDIR", self.tmp.path());
        command.envs(self.memory.iter().map(|(name, value)| (name, value)));
        command
    }

    #[track_caller]
    pub fn goal(&self, args: &[&str]) -> Run {
        let output = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .expect("running goal");
        Run::from(output)
    }
}

/// The environment every test runs `goal` in: no colour, diagnostics of one width, nothing
/// inherited that would change what `goal` does.
pub fn stable_environment(command: &mut Command) {
    command
        .env("NO_COLOR", "1")
        .env("GOAL_DIAGNOSTIC_WIDTH", "100")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env_remove("GOAL_MEMORY_SOCKET")
        .env_remove("GOAL_MEMORY")
        .env_remove("GOAL_MEMORY_NAMESPACE")
        .env_remove("GOAL_JOBS")
        .env_remove("RUST_LOG");
}

/// What one run of `goal` did.
pub struct Run {
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            status: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "status: {:?}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.stdout, self.stderr
        )
    }

    #[track_caller]
    pub fn status(&self, code: i32) -> &Run {
        assert_eq!(self.status, Some(code), "{}", self.describe());
        self
    }

    #[track_caller]
    pub fn success(&self) -> &Run {
        self.status(0)
    }

    /// The whole run: exit status, standard output and standard error, each compared exactly
    /// after [`normalize`].
    #[track_caller]
    pub fn expect(&self, status: i32, stdout: &str, stderr: &str) -> &Run {
        let actual = (
            self.status,
            normalize(&self.stdout),
            normalize(&self.stderr),
        );
        let expected = (Some(status), expected(stdout), expected(stderr));
        assert!(
            actual == expected,
            "the run differs from what was expected\n--- expected status {:?}\n--- expected stdout\n{}--- expected stderr\n{}\n{}",
            expected.0,
            expected.1,
            expected.2,
            self.describe()
        );
        self
    }

    /// The whole standard output, compared exactly after [`normalize`].
    #[track_caller]
    pub fn stdout_is(&self, expected: &str) -> &Run {
        assert_eq!(
            normalize(&self.stdout),
            self::expected(expected),
            "stdout differs\n{}",
            self.describe()
        );
        self
    }

    /// The whole standard error, compared exactly after [`normalize`].
    #[track_caller]
    pub fn stderr_is(&self, expected: &str) -> &Run {
        assert_eq!(
            normalize(&self.stderr),
            self::expected(expected),
            "stderr differs\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Run {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Run {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, text: &str) -> &Run {
        assert!(
            !self.stderr.contains(text),
            "stderr has {text:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, text: &str) -> &Run {
        assert!(
            !self.stdout.contains(text),
            "stdout has {text:?}\n{}",
            self.describe()
        );
        self
    }
}

/// What a test expects, as it compares: [`unindent`]ed, then [`normalize`]d.
fn expected(text: &str) -> String {
    normalize(&unindent(text))
}

/// Lets a test write expected output of several lines as an indented block, as just's tests do:
/// a text that starts with a line break loses it, the common indentation of its lines, and its
/// last line when that holds only the indentation of the closing quote.
///
/// ```ignore
/// .expect(0, "", "
///     goal: start all
///     goal: done  all (0.00s)
///     ")
/// ```
pub fn unindent(text: &str) -> String {
    let Some(body) = text.strip_prefix('\n') else {
        return text.to_string();
    };
    let mut lines: Vec<&str> = body.split('\n').collect();
    if lines.last().is_some_and(|last| last.trim().is_empty()) {
        lines.pop();
    }
    let indent = lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for line in lines {
        out.push_str(line.get(indent..).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Output with what changes from run to run made the same, applied alike to what a test
/// expects and what `goal` printed, so an expected text may show realistic values:
/// - a duration (`0.03s`, `12ms`, `1.5s`, `2m 3s` as `goal status` writes them) becomes `<duration>`;
/// - a date and time (`2026-12-04 13:37:17`, `2026-11-23T10:31:51Z`) becomes `<date>`;
/// - a run's name in a log's path (`20261123T103151.123Z-4242`) becomes `<run>`;
/// - the path of a test's temporary directory (`/tmp/goal-testXXXXXX`) becomes `/tmp/project`;
/// - spaces at the end of a line are dropped (diagnostics draw some; documents cannot keep them).
pub fn normalize(text: &str) -> String {
    use std::sync::LazyLock;
    static DURATION: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\b(\d+h )?(\d+m )?\d+(\.\d+)?(ms|s|m|h)\b").unwrap());
    static DATE: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?").unwrap()
    });
    static RUN: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\b\d{8}T\d{6}\.\d{3}Z-\d+\b").unwrap());
    static TEMPORARY: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"(/private)?/tmp/\.?goal-test[A-Za-z0-9]+").unwrap());
    let text = TEMPORARY.replace_all(text, "/tmp/project");
    let text = RUN.replace_all(&text, "<run>");
    let text = DATE.replace_all(&text, "<date>");
    let text = DURATION.replace_all(&text, "<duration>");
    let mut lines: Vec<&str> = text.split('\n').map(str::trim_end).collect();
    if text.ends_with('\n') {
        lines.pop();
        lines.push("");
    }
    lines.join("\n")
}

/// Whether a process is still running (a zombie waiting for its parent counts as gone).
/// Stops a `goal` a test started as a user would (SIGTERM, so it ends its work cleanly), and
/// kills it if it has not ended within 10 seconds.
pub fn terminate(child: &mut std::process::Child) {
    if let Ok(None) = child.try_wait() {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while let Ok(None) = child.try_wait() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

pub fn alive(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or_default()
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// The repository's root, for tests over `examples/` and `spec/`.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
pub mod backend;
pub mod documents;
pub mod http_server;
pub mod postgres;
