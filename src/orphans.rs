//! Recipes a killed `goal` left running.
//!
//! SIGKILL cannot be passed on: the recipe a killed run was in goes on by itself, in its own
//! process group, and a run started again would start the same recipe beside it, both writing
//! the same files. So the next run of the project stops them first. They are found by what
//! every command of a run has in its environment and nothing else has: the run's own Memory
//! socket (`GOAL_MEMORY_SOCKET`, a path in a fresh temporary directory), which the killed run
//! left in its run lock. A process group is stopped only when one of its processes carries it:
//! a pid reused since by something else does not.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

/// How long the recipes get to end after SIGTERM, as a terminal's Ctrl-C would give them,
/// before SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

/// Stops every process group that has a process whose environment holds `name=value`, with
/// SIGTERM, then SIGKILL for what is still there after [`GRACE`]. Returns the groups stopped.
pub fn stop(name: &str, value: &OsStr) -> Vec<i32> {
    let mut marker = format!("{name}=").into_bytes();
    marker.extend_from_slice(value.as_bytes());
    let groups = groups_with(&marker);
    if groups.is_empty() {
        return Vec::new();
    }
    for &group in &groups {
        tracing::warn!(
            "stopping process group {group}: a recipe that a killed goal run left running"
        );
        signal(group, libc::SIGTERM);
    }
    let deadline = Instant::now() + GRACE;
    while !running(&groups).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for group in running(&groups) {
        signal(group, libc::SIGKILL);
    }
    groups.into_iter().collect()
}

/// The process groups, other than ours, of the processes whose environment holds `marker`.
fn groups_with(marker: &[u8]) -> BTreeSet<i32> {
    // SAFETY: getpgrp cannot fail and touches nothing.
    let ours = unsafe { libc::getpgrp() };
    processes()
        .filter(|&pid| {
            fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|environ| environ.split(|&byte| byte == 0).any(|var| var == marker))
        })
        .filter_map(|pid| Some(state_and_group(pid)?.1))
        .filter(|&group| group > 1 && group != ours)
        .collect()
}

/// Those of `groups` that still have a process that is not a zombie (one that has ended, and
/// waits for init to collect it).
fn running(groups: &BTreeSet<i32>) -> BTreeSet<i32> {
    processes()
        .filter_map(state_and_group)
        .filter(|(state, group)| *state != 'Z' && groups.contains(group))
        .map(|(_, group)| group)
        .collect()
}

/// The pids of the processes now running, none when `/proc` cannot be read.
fn processes() -> impl Iterator<Item = u32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
}

fn state_and_group(pid: u32) -> Option<(char, i32)> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The state and process group in a `/proc/PID/stat` line: its third and fifth fields, after a
/// command name that may hold spaces and parentheses, so counted from the name's last `)`.
fn parse_stat(stat: &str) -> Option<(char, i32)> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace();
    let state = fields.next()?.chars().next()?;
    Some((state, fields.nth(1)?.parse().ok()?))
}

fn signal(group: i32, signal: libc::c_int) {
    // SAFETY: a negative pid signals the group; the group was checked to be the killed run's.
    unsafe { libc::kill(-group, signal) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_is_read_after_a_command_name_with_spaces_and_parentheses() {
        assert_eq!(
            parse_stat("4242 (a (b) c) Z 1 4240 4240 0 -1"),
            Some(('Z', 4240))
        );
        // SAFETY: getpgrp cannot fail.
        let ours = unsafe { libc::getpgrp() };
        let group = state_and_group(std::process::id()).map(|(_, group)| group);
        assert_eq!(group, Some(ours));
    }
}
