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
pub fn end_path(state_dir: &Path, serial: u64) -> PathBuf {
    jobs_dir(state_dir).join(format!("{serial}.end"))
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
