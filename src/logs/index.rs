//! The index of an invocation's logs: a line when a recipe run starts, a line when it ends.
//!
//! ```text
//! start<TAB>3<TAB>2026-11-23T10:31:51.123Z<TAB>003-compiled_c_file=src_main.c.log<TAB>compiled c_file=src/main.c<TAB>linked<TAB>all
//! end<TAB>3<TAB>2026-11-23T10:31:52.456Z<TAB>exit 0
//! ```
//!
//! After the instance, a start line names the instances that required it, the nearest first
//! (`linked`, required by `all`): what `goal graph --last-run` draws its edges from. Logs
//! written before that have none, and read as runs nothing required.
//! An end line ends in `<TAB>silent` when the recipe printed nothing and so has no log file.
//! Runs are numbered from 1 in each invocation. The end is `exit N`, `signal N`, or
//! `interrupted` (`goal` itself was interrupted and stopped the recipe). The instance is written
//! as users see it, escaped like `goal memory list` (`\n`, `\t`, `\r`, `\\`) so that every
//! entry stays one line. Each line is appended with one write, so a reader never sees half of
//! one, except a line cut short by a full disk, which is ignored.

use std::fs::{self, File, TryLockError};
use std::io::{self, Read as _};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, SystemTime};

use crate::diagnostic::Problem;
use crate::memory::escape;

pub(super) const INDEX: &str = "index";

/// Reading the logs failed (an index or a log that is there but cannot be read).
pub(super) const LOG_IO: &str = "goal::log-io";

/// `required_by`: the instances that required this one, the nearest first.
pub(super) fn start_line(
    number: u32,
    at: SystemTime,
    file: &str,
    instance: &str,
    required_by: &[String],
) -> String {
    let mut line = format!(
        "start\t{number}\t{}\t{file}\t{}",
        humantime::format_rfc3339_millis(at),
        escape(instance)
    );
    for requirer in required_by {
        line.push('\t');
        line.push_str(&escape(requirer));
    }
    line.push('\n');
    line
}

/// `silent`: the recipe printed nothing, so it has no log file.
pub(super) fn end_line(number: u32, at: SystemTime, ending: Ending, silent: bool) -> String {
    format!(
        "end\t{number}\t{}\t{}{}\n",
        humantime::format_rfc3339_millis(at),
        ending.text(),
        if silent { "\tsilent" } else { "" }
    )
}

/// `20261123T103151.123Z`: an instant as part of a file name, sorting like the time it names.
pub(super) fn compact_time(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at)
        .to_string()
        .replace(['-', ':'], "")
}

/// How a recipe run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    Exited(i32),
    Signalled(i32),
    /// `goal` was interrupted while the recipe ran, and stopped it.
    Interrupted,
}

impl Ending {
    pub(super) fn of(status: ExitStatus) -> Ending {
        use std::os::unix::process::ExitStatusExt;
        match status.code() {
            Some(code) => Ending::Exited(code),
            // Without an exit code, a process waited for was killed by a signal.
            None => Ending::Signalled(status.signal().unwrap_or_default()),
        }
    }

    /// `exit 0`, `signal 9`, `interrupted`: as the index, and the fleet's record, say it.
    pub(super) fn text(self) -> String {
        match self {
            Ending::Exited(code) => format!("exit {code}"),
            Ending::Signalled(signal) => format!("signal {signal}"),
            Ending::Interrupted => "interrupted".to_string(),
        }
    }

    pub(super) fn parse(text: &str) -> Option<Ending> {
        if text == "interrupted" {
            return Some(Ending::Interrupted);
        }
        let (kind, number) = text.split_once(' ')?;
        let number = number.parse().ok()?;
        match kind {
            "exit" => Some(Ending::Exited(number)),
            "signal" => Some(Ending::Signalled(number)),
            _ => None,
        }
    }
}

/// A recipe run, as its invocation's index tells it.
#[derive(Debug, Clone)]
pub(super) struct RecordedRun {
    pub(super) number: u32,
    /// As users see it.
    pub(super) instance: String,
    /// The instances that required it, the nearest first; none in logs that predate them.
    pub(super) required_by: Vec<String>,
    pub(super) started: SystemTime,
    pub(super) log: PathBuf,
    pub(super) ended: Option<(SystemTime, Ending)>,
    /// It ended having printed nothing: it has no log file.
    pub(super) silent: bool,
    /// Whether the invocation that writes it is still running.
    pub(super) writing: bool,
}

/// What became of a recipe run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Ok,
    Failed(Ending),
    Running,
    Interrupted,
}

impl RecordedRun {
    pub(super) fn outcome(&self) -> Outcome {
        match self.ended {
            Some((_, Ending::Exited(0))) => Outcome::Ok,
            Some((_, Ending::Interrupted)) => Outcome::Interrupted,
            Some((_, ending)) => Outcome::Failed(ending),
            None if self.writing => Outcome::Running,
            // Its invocation was killed, or lost its disk, before the run ended.
            None => Outcome::Interrupted,
        }
    }

    /// How long it ran, or has run so far; unknown for a run whose end was never recorded.
    pub(super) fn duration(&self) -> Option<Duration> {
        let until = match self.ended {
            Some((ended, _)) => ended,
            None if self.writing => SystemTime::now(),
            None => return None,
        };
        Some(until.duration_since(self.started).unwrap_or_default())
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Failed(Ending::Exited(code)) => write!(f, "failed (status {code})"),
            Outcome::Failed(Ending::Signalled(signal)) => write!(f, "failed (signal {signal})"),
            Outcome::Running => f.write_str("running"),
            Outcome::Failed(Ending::Interrupted) | Outcome::Interrupted => {
                f.write_str("interrupted")
            }
        }
    }
}

/// Shows `visit` the recipe runs of each invocation under `logs_dir` (in the order they
/// started), newest invocation first, until it breaks.
pub(super) fn newest_first(
    logs_dir: &Path,
    mut visit: impl FnMut(Vec<RecordedRun>) -> ControlFlow<()>,
) -> Result<(), Problem> {
    for dir in invocations(logs_dir).map_err(|error| unreadable(logs_dir, &error))? {
        if visit(read(&dir)?).is_break() {
            break;
        }
    }
    Ok(())
}

/// The invocation directories under `logs_dir`, newest first; none when there is no such
/// directory yet.
pub(super) fn invocations(logs_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(logs_dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry?.file_name();
        if name.to_str().is_some_and(is_invocation) {
            names.push(name);
        }
    }
    names.sort_unstable_by(|a, b| b.cmp(a));
    Ok(names.into_iter().map(|name| logs_dir.join(name)).collect())
}

/// Whether `name` is an invocation's directory, `20261123T103151.123Z-4242`: anything else
/// under `logs/` is not ours to read or remove.
fn is_invocation(name: &str) -> bool {
    name.split_once('-').is_some_and(|(time, pid)| {
        time.len() == 20
            && time.starts_with(|c: char| c.is_ascii_digit())
            && time.ends_with('Z')
            && !pid.is_empty()
            && pid.bytes().all(|byte| byte.is_ascii_digit())
    })
}

/// The runs of the invocation in `dir`, in the order they started. An invocation killed before
/// it wrote its index has none.
pub(super) fn read(dir: &Path) -> Result<Vec<RecordedRun>, Problem> {
    let path = dir.join(INDEX);
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(unreadable(&path, &error)),
    };
    let writing = matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock));
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|error| unreadable(&path, &error))?;
    Ok(parse(&text, dir, writing))
}

/// Whether the invocation in `dir` is still running.
pub(super) fn writing(dir: &Path) -> bool {
    File::open(dir.join(INDEX))
        .is_ok_and(|file| matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock)))
}

fn parse(text: &str, dir: &Path, writing: bool) -> Vec<RecordedRun> {
    let mut runs: Vec<RecordedRun> = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields[..] {
            ["start", number, started, file, instance, ref required_by @ ..] => {
                let (Ok(number), Ok(started)) = (number.parse(), humantime::parse_rfc3339(started))
                else {
                    continue;
                };
                runs.push(RecordedRun {
                    number,
                    instance: unescape(instance),
                    required_by: required_by.iter().map(|text| unescape(text)).collect(),
                    started,
                    log: dir.join(file),
                    ended: None,
                    silent: false,
                    writing,
                });
            }
            ["end", number, ended, ending, ref rest @ ..] => {
                let (Ok(number), Ok(ended), Some(ending)) = (
                    number.parse::<u32>(),
                    humantime::parse_rfc3339(ended),
                    Ending::parse(ending),
                ) else {
                    continue;
                };
                if let Some(run) = runs.iter_mut().rev().find(|run| run.number == number) {
                    run.ended = Some((ended, ending));
                    run.silent = rest == ["silent"];
                }
            }
            _ => {}
        }
    }
    runs
}

/// The inverse of [`escape`].
fn unescape(text: &str) -> String {
    let mut unescaped = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            unescaped.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => unescaped.push('\n'),
            Some('t') => unescaped.push('\t'),
            Some('r') => unescaped.push('\r'),
            Some(other) => unescaped.push(other),
            None => unescaped.push('\\'),
        }
    }
    unescaped
}

pub(super) fn unreadable(path: &Path, error: &io::Error) -> Problem {
    Problem::failure(
        LOG_IO,
        format!("cannot read the run logs: {}: {error}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_as_they_were_written() {
        let started = humantime::parse_rfc3339("2026-11-23T10:31:51.123Z").unwrap();
        let ended = started + Duration::from_millis(1500);
        let chain = ["c w='\t'".to_string(), "all".to_string()];
        let mut text = start_line(1, started, "001-a.log", "a v='x\ty\nz'", &chain);
        assert_eq!(text.lines().count(), 1);
        text += &start_line(2, started, "002-b.log", "b", &[]);
        text += &end_line(2, ended, Ending::Signalled(9), false);
        text += &end_line(1, ended, Ending::Exited(0), true);
        text += &start_line(3, started, "003-c.log", "c", &[]);
        let runs = parse(&text, Path::new("d"), false);
        assert_eq!(runs.len(), 3);
        assert_eq!(runs[0].instance, "a v='x\ty\nz'");
        assert_eq!(runs[0].required_by, chain);
        assert!(runs[1].required_by.is_empty());
        assert_eq!(runs[0].log, Path::new("d/001-a.log"));
        assert_eq!(runs[0].outcome(), Outcome::Ok);
        assert_eq!(runs[0].duration(), Some(Duration::from_millis(1500)));
        assert!(runs[0].silent && !runs[1].silent);
        assert_eq!(runs[1].outcome().to_string(), "failed (signal 9)");
        assert_eq!(runs[2].outcome(), Outcome::Interrupted);
        assert_eq!(runs[2].duration(), None);
        assert_eq!(
            parse(&text, Path::new("d"), true)[2].outcome(),
            Outcome::Running
        );
    }

    #[test]
    fn instances_read_back_as_they_were_written() {
        for instance in ["a", "a v=''\\''x'", "b w='1\\n2\n3\t4\r5\\'"] {
            assert_eq!(unescape(&escape(instance)), instance);
        }
    }

    #[test]
    fn broken_lines_are_ignored() {
        let text = "start\t1\t2026-11-23T10:31:51.123Z\t001-a.log\ta\n\
                    start\tx\t2026-11-23T10:31:51.123Z\t002-b.log\tb\n\
                    end\t1\tyesterday\texit 0\n\
                    end\t1\t2026-11-23T10:31:52Z\texit\n\
                    garbage\n\
                    start\t3\t2026-11-";
        let runs = parse(text, Path::new("d"), false);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].ended, None);
    }

    #[test]
    fn logs_written_before_requirements_were_kept_read_as_before() {
        let text = "start\t1\t2026-11-23T10:31:51.123Z\t001-a.log\ta x=1\n\
                    end\t1\t2026-11-23T10:31:52.123Z\texit 0\n";
        let runs = parse(text, Path::new("d"), false);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].instance, "a x=1");
        assert!(runs[0].required_by.is_empty());
        assert_eq!(runs[0].outcome(), Outcome::Ok);
    }

    #[test]
    fn endings_read_back() {
        for ending in [
            Ending::Exited(0),
            Ending::Exited(2),
            Ending::Signalled(15),
            Ending::Interrupted,
        ] {
            let line = end_line(1, SystemTime::UNIX_EPOCH, ending, false);
            let text = line.trim_end().rsplit('\t').next().unwrap();
            assert_eq!(Ending::parse(text), Some(ending));
        }
    }

    #[test]
    fn invocation_names_sort_by_time() {
        let earlier = humantime::parse_rfc3339("2026-11-23T10:31:51.123Z").unwrap();
        let later = earlier + Duration::from_secs(3600 * 24 * 40);
        assert_eq!(compact_time(earlier), "20261123T103151.123Z");
        assert!(compact_time(earlier) < compact_time(later));
        assert!(is_invocation("20261123T103151.123Z-4242"));
        assert!(!is_invocation("notes"));
        assert!(!is_invocation("20261123T103151.123Z-"));
        assert!(!is_invocation("2026-4242"));
    }
}
