//! The daemon's jobs run as child processes: `goal job start NAME --serial N`, in a process
//! group of their own, with the daemon's Memory socket in their environment and their output in
//! `.goal/jobs/SERIAL.log`. A child is a whole `goal` run, so cancelling one is interrupting it:
//! it stops its recipes' process groups itself, as on Ctrl-C.

use std::fs::{self, File};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Where the job runs' output is kept.
pub fn jobs_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("jobs")
}

/// The output of the job run `serial`.
pub fn log_path(state_dir: &Path, serial: u64) -> PathBuf {
    jobs_dir(state_dir).join(format!("{serial}.log"))
}

/// Written when the job run `serial` ended, with how: `goal job tail` stops there.
fn end_path(state_dir: &Path, serial: u64) -> PathBuf {
    jobs_dir(state_dir).join(format!("{serial}.end"))
}

/// How a job run ended, kept beside its output for `goal job tail` and `goal jobs --ended`:
/// one line, `RESULT<TAB>LABEL<TAB>STARTED<TAB>TOOK`.
pub struct Ended {
    pub serial: u64,
    /// `ok`, `failed (exit status 1)`, `cancelled`.
    pub result: String,
    pub label: String,
    pub started: String,
    pub took: String,
}

impl Ended {
    pub fn write(&self, state_dir: &Path) -> io::Result<()> {
        let line = [&self.result, &self.label, &self.started, &self.took]
            .map(|field| field.replace(['\t', '\n'], " "));
        fs::write(end_path(state_dir, self.serial), line.join("\t") + "\n")
    }

    /// How the run `serial` ended; `None` while it runs (or when its record is gone).
    pub fn read(state_dir: &Path, serial: u64) -> Option<Ended> {
        let text = fs::read_to_string(end_path(state_dir, serial)).ok()?;
        let mut fields = text.trim_end().split('\t').map(str::to_owned);
        Some(Ended {
            serial,
            result: fields.next()?,
            label: fields.next().unwrap_or_default(),
            started: fields.next().unwrap_or_default(),
            took: fields.next().unwrap_or_default(),
        })
    }

    /// The last `count` runs that ended, newest first.
    pub fn recent(state_dir: &Path, count: usize) -> Vec<Ended> {
        let mut serials: Vec<u64> = fs::read_dir(jobs_dir(state_dir))
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let name = entry.ok()?.file_name();
                name.to_str()?.strip_suffix(".end")?.parse().ok()
            })
            .collect();
        serials.sort_unstable_by(|a, b| b.cmp(a));
        serials
            .into_iter()
            .filter_map(|serial| Ended::read(state_dir, serial))
            .take(count)
            .collect()
    }
}

/// How many job runs' output is kept: the oldest go as new ones start.
const KEPT: u64 = 200;

/// What a job's child process is started with.
pub struct Launch<'a> {
    pub goalfile: &'a Path,
    pub state_dir: &'a Path,
    pub job: &'a str,
    pub serial: u64,
    /// The daemon's Memory socket and directory, and the job's own variables.
    pub environment: Vec<(&'static str, String)>,
    /// `-j N`, `-k`: as the daemon was started.
    pub arguments: Vec<String>,
}

/// Starts the child process of a job run.
pub fn start(launch: Launch) -> io::Result<Child> {
    let dir = jobs_dir(launch.state_dir);
    fs::create_dir_all(&dir)?;
    prune(launch.state_dir, launch.serial);
    let log = File::create(log_path(launch.state_dir, launch.serial))?;
    let exe = std::env::current_exe()?;
    let mut command = Command::new(exe);
    command
        .arg("-f")
        .arg(launch.goalfile)
        .args(&launch.arguments)
        .args(["job", "start", launch.job, "--serial"])
        .arg(launch.serial.to_string())
        .envs(launch.environment)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // A terminal's Ctrl-C reaches the daemon alone, which stops its jobs in order.
        .process_group(0);
    // A daemon killed outright (SIGKILL, a crash) cannot stop its jobs: the kernel does, so no
    // job goes on without the Memory it was served. Their runs were not recorded as ended, so
    // the next daemon fires them again.
    // SAFETY: prctl is async-signal-safe and touches only the child's own state.
    #[cfg(target_os = "linux")]
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Removes the output of runs older than the last [`KEPT`].
fn prune(state_dir: &Path, newest: u64) {
    let Some(oldest_kept) = newest.checked_sub(KEPT) else {
        return;
    };
    for serial in oldest_kept.saturating_sub(KEPT)..=oldest_kept {
        let _ = fs::remove_file(log_path(state_dir, serial));
        let _ = fs::remove_file(end_path(state_dir, serial));
    }
}
