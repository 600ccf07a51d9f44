//! When a job runs: every `n` seconds, on a cron expression in a time zone, or
//! once. The rules here decide the next run after a finished one, so that an
//! interval job keeps its cadence (no drift) and a long outage costs one run,
//! not a burst of the missed ones.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// The shortest interval, in seconds (one minute).
pub const MIN_INTERVAL_SECONDS: i64 = 60;
/// The longest interval, in seconds (365 days).
pub const MAX_INTERVAL_SECONDS: i64 = 31_536_000;

/// A 5-field cron expression (minute hour day-of-month month day-of-week),
/// evaluated in an IANA time zone.
#[derive(Clone)]
pub struct CronSchedule {
    expression: String,
    cron: Cron,
    timezone: Tz,
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CronSchedule({:?} in {})",
            self.expression, self.timezone
        )
    }
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.expression == other.expression && self.timezone == other.timezone
    }
}

impl Eq for CronSchedule {}

/// Why a schedule did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Not a 5-field cron expression.
    #[error("not a valid 5-field cron expression: {0}")]
    Cron(String),
    /// Not an IANA time zone name.
    #[error("not an IANA time zone name (e.g. Europe/Paris)")]
    Timezone,
    /// The expression never fires (e.g. 30 February).
    #[error("the cron expression never fires")]
    NeverFires,
}

impl crate::error::FieldErrorCode for ScheduleError {
    fn code(&self) -> &'static str {
        match self {
            Self::Cron(_) | Self::NeverFires => "INVALID_CRON",
            Self::Timezone => "INVALID_TIMEZONE",
        }
    }
}

/// An IANA time zone name (`UTC`, `Europe/Paris`).
pub fn parse_timezone(name: &str) -> Result<Tz, ScheduleError> {
    Tz::from_str(name).map_err(|_| ScheduleError::Timezone)
}

impl CronSchedule {
    /// Parses `expression` (exactly five fields) to be evaluated in `timezone`.
    pub fn parse(expression: &str, timezone: &str) -> Result<Self, ScheduleError> {
        let timezone = parse_timezone(timezone)?;
        let expression = expression.trim();
        // croner also reads 6- and 7-field patterns (seconds, years): the
        // contract is the classic five.
        if expression.split_whitespace().count() != 5 {
            return Err(ScheduleError::Cron("expected 5 fields".into()));
        }
        let cron = Cron::from_str(expression).map_err(|e| ScheduleError::Cron(e.to_string()))?;
        let schedule = Self {
            expression: expression.to_owned(),
            cron,
            timezone,
        };
        // An expression such as `0 0 30 2 *` parses but never fires.
        schedule
            .next_after(DateTime::<Utc>::UNIX_EPOCH + TimeDelta::days(365 * 56))
            .ok_or(ScheduleError::NeverFires)?;
        Ok(schedule)
    }

    /// The expression as given (trimmed).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The time zone's IANA name.
    pub fn timezone(&self) -> &'static str {
        self.timezone.name()
    }

    /// The first occurrence strictly after `at`.
    pub fn next_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&self.timezone);
        self.cron
            .find_next_occurrence(&local, false)
            .ok()
            .map(|next| next.with_timezone(&Utc))
    }
}

/// How a job repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Runs once, at its `nextRunAt`.
    Once,
    /// Every this many seconds, counted from the first scheduled time.
    Interval(i64),
    /// On a cron expression (boxed: a parsed expression is large).
    Cron(Box<CronSchedule>),
}

impl Schedule {
    /// Whether it runs more than once.
    pub fn is_recurring(&self) -> bool {
        !matches!(self, Self::Once)
    }

    /// The first run of a job made (or rescheduled) at `now` without an explicit
    /// `nextRunAt`: now for an interval or a one-shot job, the next occurrence
    /// for a cron job.
    pub fn first_run(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Once | Self::Interval(_) => Some(now),
            Self::Cron(cron) => cron.next_after(now),
        }
    }

    /// The scheduled time of the run after the one scheduled at `scheduled_at`,
    /// once a run finished at `now`: for an interval, the first
    /// `scheduled_at + k × interval` (k ≥ 1) after `now`, so the cadence does
    /// not drift and runs missed during an outage collapse into one; for cron,
    /// the next occurrence after `now`; `None` for a one-shot job.
    pub fn next_after(
        &self,
        scheduled_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match self {
            Self::Once => None,
            Self::Interval(seconds) => {
                let step = (*seconds).max(1);
                let elapsed = (now - scheduled_at).num_seconds();
                // k = the smallest k ≥ 1 with scheduled_at + k·step > now.
                let k = if elapsed < 0 { 1 } else { elapsed / step + 1 };
                Some(scheduled_at + TimeDelta::seconds(k.saturating_mul(step)))
            }
            Self::Cron(cron) => cron.next_after(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn an_interval_keeps_its_cadence_however_late_the_run_ends() {
        let every_minute = Schedule::Interval(60);
        let scheduled = at("2026-01-01T00:00:00Z");
        // Finished 5 s late: the next run is still on the minute.
        assert_eq!(
            every_minute.next_after(scheduled, at("2026-01-01T00:00:05Z")),
            Some(at("2026-01-01T00:01:00Z"))
        );
        // An hour of downtime: one run at the next slot, not sixty.
        assert_eq!(
            every_minute.next_after(scheduled, at("2026-01-01T01:00:30Z")),
            Some(at("2026-01-01T01:01:00Z"))
        );
        // Exactly on a slot: that slot has passed, the next one is due.
        assert_eq!(
            every_minute.next_after(scheduled, at("2026-01-01T00:02:00Z")),
            Some(at("2026-01-01T00:03:00Z"))
        );
    }

    #[test]
    fn cron_runs_in_its_time_zone() {
        let nine_in_paris = CronSchedule::parse("0 9 * * *", "Europe/Paris").unwrap();
        // 1 July: Paris is UTC+2.
        assert_eq!(
            nine_in_paris.next_after(at("2026-07-01T00:00:00Z")),
            Some(at("2026-07-01T07:00:00Z"))
        );
        // 1 January: UTC+1.
        assert_eq!(
            Schedule::Cron(Box::new(nine_in_paris))
                .next_after(at("2025-12-31T00:00:00Z"), at("2026-01-01T00:00:00Z")),
            Some(at("2026-01-01T08:00:00Z"))
        );
    }

    #[test]
    fn bad_expressions_and_zones_are_refused() {
        assert_eq!(
            CronSchedule::parse("0 9 * * *", "Mars/Olympus"),
            Err(ScheduleError::Timezone)
        );
        assert!(matches!(
            CronSchedule::parse("0 0 9 * * *", "UTC"),
            Err(ScheduleError::Cron(_))
        ));
        assert!(matches!(
            CronSchedule::parse("61 * * * *", "UTC"),
            Err(ScheduleError::Cron(_))
        ));
        assert_eq!(
            CronSchedule::parse("0 0 30 2 *", "UTC"),
            Err(ScheduleError::NeverFires)
        );
    }

    #[test]
    fn a_one_shot_job_has_no_next_run() {
        assert_eq!(Schedule::Once.next_after(Utc::now(), Utc::now()), None);
        assert!(!Schedule::Once.is_recurring());
    }
}
