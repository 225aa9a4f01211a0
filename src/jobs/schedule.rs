//! When an `every` job is due: its next deadline after its last firing, and what becomes of a
//! deadline that passed while no daemon ran.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Local};

use crate::goalfile::{Every, Missed, Schedule};

/// A deadline passed by more than this was missed (no daemon ran then), rather than met late:
/// a system timer calling `goal tick` every minute meets every deadline within it.
pub const GRACE: Duration = Duration::from_secs(60);

/// What to do about an `every` job now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Fire it now.
    Now,
    /// Wait until then.
    At(SystemTime),
}

/// Whether the job is due at `now`, given its last firing. An interval job that never fired
/// is due at once; a cron job that never fired waits for its next matching time, so the
/// callers that fire jobs give it the time it was first looked at instead
/// ([`crate::jobs::counted_from`]). A missed deadline
/// fires once (however many were missed) unless the job, or `skip_missed`, says to skip it.
pub fn due(every: &Every, last: Option<SystemTime>, now: SystemTime, skip_missed: bool) -> Due {
    let deadline = match last {
        Some(last) => next_after(&every.schedule, last),
        None => match every.schedule {
            Schedule::Interval { .. } => Some(now),
            Schedule::Cron { .. } => next_after(&every.schedule, now),
        },
    };
    let Some(deadline) = deadline else {
        // A cron expression that never matches again (a date long past).
        return Due::At(now + Duration::from_secs(365 * 24 * 3600));
    };
    if deadline > now {
        return Due::At(deadline);
    }
    let missed = now.duration_since(deadline).unwrap_or_default() > GRACE;
    if missed && (skip_missed || every.missed == Missed::Skip) {
        return Due::At(first_after(&every.schedule, deadline, now));
    }
    Due::Now
}

/// The first deadline after `time`.
fn next_after(schedule: &Schedule, time: SystemTime) -> Option<SystemTime> {
    match schedule {
        Schedule::Interval { every, .. } => Some(time + *every),
        Schedule::Cron { expression } => {
            let cron = croner::Cron::new(expression)
                .with_seconds_optional()
                .parse()
                .ok()?;
            let time: DateTime<Local> = time.into();
            cron.find_next_occurrence(&time, false)
                .ok()
                .map(SystemTime::from)
        }
    }
}

/// The first deadline after `now`, going on from `deadline`, which passed.
fn first_after(schedule: &Schedule, deadline: SystemTime, now: SystemTime) -> SystemTime {
    match schedule {
        Schedule::Interval { every, .. } => {
            let behind = now.duration_since(deadline).unwrap_or_default();
            let periods = behind.as_nanos() / every.as_nanos().max(1) + 1;
            deadline + every.saturating_mul(u32::try_from(periods).unwrap_or(u32::MAX))
        }
        Schedule::Cron { .. } => next_after(schedule, now).unwrap_or(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goalfile::{JobLimits, Span};

    fn every(schedule: Schedule, missed: Missed) -> Every {
        Every {
            name: None,
            schedule,
            limits: JobLimits::default(),
            missed,
            body: Vec::new(),
            span: Span::default(),
        }
    }

    fn minutes(n: u64) -> Duration {
        Duration::from_secs(60 * n)
    }

    #[test]
    fn an_interval_counts_from_the_last_firing() {
        let job = every(
            Schedule::Interval {
                text: "30m".into(),
                every: minutes(30),
            },
            Missed::Run,
        );
        let now = SystemTime::now();
        assert_eq!(due(&job, None, now, false), Due::Now);
        assert_eq!(
            due(&job, Some(now - minutes(10)), now, false),
            Due::At(now + minutes(20))
        );
        assert_eq!(due(&job, Some(now - minutes(30)), now, false), Due::Now);
        // Missed three times while down: once now.
        assert_eq!(due(&job, Some(now - minutes(100)), now, false), Due::Now);
    }

    #[test]
    fn a_missed_deadline_can_be_skipped() {
        let job = every(
            Schedule::Interval {
                text: "30m".into(),
                every: minutes(30),
            },
            Missed::Skip,
        );
        let now = SystemTime::now();
        // Late within the grace: still run.
        assert_eq!(
            due(
                &job,
                Some(now - minutes(30) - Duration::from_secs(5)),
                now,
                false
            ),
            Due::Now
        );
        // 100 minutes since the last: deadlines at 30, 60 and 90 passed; the next is at 120.
        assert_eq!(
            due(&job, Some(now - minutes(100)), now, false),
            Due::At(now + minutes(20))
        );
        let run_missed = every(
            Schedule::Interval {
                text: "30m".into(),
                every: minutes(30),
            },
            Missed::Run,
        );
        assert_eq!(
            due(&run_missed, Some(now - minutes(100)), now, true),
            Due::At(now + minutes(20))
        );
    }

    #[test]
    fn a_cron_job_first_fires_at_its_next_matching_time() {
        let job = every(
            Schedule::Cron {
                expression: "0 3 * * *".into(),
            },
            Missed::Run,
        );
        let now = SystemTime::now();
        match due(&job, None, now, false) {
            Due::At(at) => assert!(at > now && at <= now + Duration::from_secs(24 * 3600)),
            Due::Now => panic!("a cron job that never fired waits for its time"),
        }
        assert_eq!(
            due(
                &job,
                Some(now - Duration::from_secs(3 * 24 * 3600)),
                now,
                false
            ),
            Due::Now
        );
    }
}
