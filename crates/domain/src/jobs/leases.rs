//! Leases: how a worker holds a job while it runs it. A claim hands out a
//! fresh [`LeaseToken`] per job; the token is a fencing token, so a worker whose
//! lease ran out (and whose job someone else may now hold) can neither extend
//! it nor record a result. What a finished run means for the job's next run is
//! decided here ([`RunResult::after`]).

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{Job, JobStatus, Schedule};
use crate::error::{DomainError, FieldError, Validation};
use crate::text_enum;

/// 409 for a heartbeat or completion whose token is not the job's live lease
/// (it ran out, someone else claimed the job, or the job was deleted).
pub const LEASE_LOST: &str = "LEASE_LOST";

/// The 409 of a lost lease: nothing was recorded.
pub fn lease_lost() -> DomainError {
    DomainError::state_conflict(
        LEASE_LOST,
        "this lease is not the job's live lease (it ran out or the job was claimed again); nothing was recorded",
    )
}

/// Shortest lease, in seconds.
pub const MIN_LEASE_SECONDS: i64 = 5;
/// Longest lease, in seconds (one hour).
pub const MAX_LEASE_SECONDS: i64 = 3_600;
/// The lease when none is asked for, in seconds.
pub const DEFAULT_LEASE_SECONDS: i64 = 60;
/// Most jobs one claim hands out.
pub const MAX_CLAIM: i64 = 100;
/// Largest task output, in bytes of JSON (256 KiB).
pub const MAX_OUTPUT_BYTES: usize = 256 * 1024;
/// Longest error text, in characters.
pub const MAX_ERROR_CHARS: u64 = 10_000;
/// Most tokens one run may report.
pub const MAX_TOKENS: i64 = 1_000_000_000_000;
/// The error recorded on a task whose worker's lease ran out.
pub const LEASE_EXPIRED: &str = "lease expired";
/// The error recorded on a task whose job was deleted while it ran.
pub const JOB_DELETED: &str = "job deleted";

/// A lease's fencing token: 128 random bits, shown as 32 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseToken(Uuid);

impl LeaseToken {
    /// Wraps stored random bits.
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The stored form.
    pub const fn as_uuid(self) -> Uuid {
        self.0
    }

    /// Reads a token as a client sends it; `None` when it cannot be one (such a
    /// token is no live lease: 409, not 422, so a client handles one case).
    pub fn parse(raw: &str) -> Option<Self> {
        Uuid::try_parse(raw.trim()).ok().map(Self)
    }
}

impl fmt::Display for LeaseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.simple())
    }
}

impl fmt::Debug for LeaseToken {
    // A token is a capability over the run: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LeaseToken(..)")
    }
}

text_enum! {
    /// How a run ended, as its worker reports it.
    TaskOutcome {
        /// It did what it should.
        Succeeded => "succeeded",
        /// It did not.
        Failed => "failed",
    }
}

/// A validated claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The worker's name (recorded on the tasks).
    pub worker: String,
    /// Most jobs to hand out, 1 to 100.
    pub limit: u32,
    /// How long each lease lasts.
    pub lease: TimeDelta,
}

/// A claim as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ClaimJobsBody))]
#[serde(rename_all = "camelCase")]
pub struct ClaimRequest {
    /// The worker's name, 1 to 200 characters (recorded on its tasks).
    #[validate(
        required(code = "REQUIRED", message = "worker is required"),
        length(
            min = 1,
            max = 200,
            code = "TOO_LONG",
            message = "worker is 1 to 200 characters"
        )
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(
            required = true,
            min_length = 1,
            max_length = 200,
            pattern = r"\S",
            example = "worker-1"
        )
    )]
    pub worker: Option<String>,
    /// Most jobs to hand out, 1 to 100 (default 1).
    #[validate(range(
        min = 1,
        max = 100,
        code = "OUT_OF_RANGE",
        message = "limit is 1 to 100"
    ))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub limit: Option<i64>,
    /// Each lease's length, 5 to 3,600 seconds (default 60).
    #[validate(range(
        min = 5,
        max = 3600,
        code = "OUT_OF_RANGE",
        message = "leaseSeconds is 5 to 3600"
    ))]
    #[cfg_attr(feature = "openapi", schema(minimum = 5, maximum = 3600))]
    pub lease_seconds: Option<i64>,
}

impl TryFrom<ClaimRequest> for Claim {
    type Error = DomainError;

    fn try_from(body: ClaimRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let worker = super::trimmed(&mut v, "worker", body.worker);
        let limit = v.shape("limit", body.limit.unwrap_or(1));
        let lease = v.shape("leaseSeconds", body.lease_seconds);
        let ((worker, limit), lease) = v.finish(worker.zip(limit).zip(lease))?;
        Ok(Self {
            worker,
            limit: u32::try_from(limit).unwrap_or(1),
            lease: TimeDelta::seconds(lease.unwrap_or(DEFAULT_LEASE_SECONDS)),
        })
    }
}

/// A validated heartbeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// The token as sent (`None`: it cannot be a token, so no lease matches).
    pub token: Option<LeaseToken>,
    /// The new lease's length, from now.
    pub lease: TimeDelta,
}

/// A heartbeat as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = HeartbeatBody))]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatRequest {
    /// The lease token the claim gave.
    #[validate(required(code = "REQUIRED", message = "leaseToken is required"))]
    #[cfg_attr(
        feature = "openapi",
        schema(
            required = true,
            min_length = 1,
            example = "0f8c5e6a9b7d4c3e8a1f2b3c4d5e6f70"
        )
    )]
    pub lease_token: Option<String>,
    /// The lease's new length from now, 5 to 3,600 seconds (default 60).
    #[validate(range(
        min = 5,
        max = 3600,
        code = "OUT_OF_RANGE",
        message = "leaseSeconds is 5 to 3600"
    ))]
    #[cfg_attr(feature = "openapi", schema(minimum = 5, maximum = 3600))]
    pub lease_seconds: Option<i64>,
}

impl TryFrom<HeartbeatRequest> for Heartbeat {
    type Error = DomainError;

    fn try_from(body: HeartbeatRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let token = v.required("leaseToken", body.lease_token);
        let lease = v.shape("leaseSeconds", body.lease_seconds);
        let (token, lease) = v.finish(token.zip(lease))?;
        Ok(Self {
            token: LeaseToken::parse(&token),
            lease: TimeDelta::seconds(lease.unwrap_or(DEFAULT_LEASE_SECONDS)),
        })
    }
}

/// A validated completion.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// The token as sent (`None`: no lease matches).
    pub token: Option<LeaseToken>,
    /// How it ended.
    pub outcome: TaskOutcome,
    /// What it produced (at most 256 KiB of JSON).
    pub output: Option<serde_json::Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// Tokens the run used.
    pub tokens_used: i64,
}

/// A completion as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CompleteJobBody))]
#[serde(rename_all = "camelCase")]
pub struct CompleteRequest {
    /// The lease token the claim gave.
    #[validate(required(code = "REQUIRED", message = "leaseToken is required"))]
    #[cfg_attr(feature = "openapi", schema(required = true, min_length = 1))]
    pub lease_token: Option<String>,
    /// `succeeded` or `failed`.
    #[validate(
        required(code = "REQUIRED", message = "outcome is required"),
        custom(function = "crate::validate::variant::<TaskOutcome>")
    )]
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = String, pattern = "^(succeeded|failed)$"))]
    pub outcome: Option<String>,
    /// What the run produced: any JSON, at most 256 KiB.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub output: Option<serde_json::Value>,
    /// Why it failed, at most 10,000 characters.
    #[validate(length(
        max = 10000,
        code = "TOO_LONG",
        message = "error is at most 10,000 characters"
    ))]
    #[cfg_attr(feature = "openapi", schema(max_length = 10000))]
    pub error: Option<String>,
    /// Tokens the run used, 0 to 10^12.
    #[validate(range(
        min = 0,
        max = 1_000_000_000_000_i64,
        code = "OUT_OF_RANGE",
        message = "tokensUsed is 0 to 10^12"
    ))]
    #[cfg_attr(
        feature = "openapi",
        schema(minimum = 0, maximum = 1_000_000_000_000_i64)
    )]
    pub tokens_used: Option<i64>,
}

impl TryFrom<CompleteRequest> for Completion {
    type Error = DomainError;

    fn try_from(body: CompleteRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let token = v.required("leaseToken", body.lease_token);
        let outcome = v
            .required("outcome", body.outcome)
            .and_then(|o| v.check("outcome", o.parse::<TaskOutcome>()));
        let output = match body.output {
            Some(value)
                if serde_json::to_vec(&value).map_or(true, |b| b.len() > MAX_OUTPUT_BYTES) =>
            {
                v.push(FieldError::new(
                    "output",
                    "TOO_LARGE",
                    "output is at most 256 KiB of JSON",
                ));
                None
            }
            output => Some(output),
        };
        let error = v.shape("error", body.error);
        let tokens = v.shape("tokensUsed", body.tokens_used.unwrap_or(0));
        let (((token, outcome), output), (error, tokens_used)) =
            v.finish(token.zip(outcome).zip(output).zip(error.zip(tokens)))?;
        Ok(Self {
            token: LeaseToken::parse(&token),
            outcome,
            output,
            error,
            tokens_used,
        })
    }
}

/// A job's state after a run: what its row becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// Its status (a one-shot job is archived by success, paused when it ran
    /// out of attempts).
    pub status: JobStatus,
    /// When it may next be claimed.
    pub next_run_at: Option<DateTime<Utc>>,
    /// The schedule's time of the next run.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Attempts of the pending run so far.
    pub attempt: i32,
    /// The error kept on the job.
    pub last_error: Option<String>,
}

/// The wait before retry number `attempt` (1 = after the first failure):
/// `attempt^4` seconds, spread by `jitter` (clamped to ±10%) so failed jobs
/// do not come back in lockstep.
pub fn retry_delay(attempt: i32, jitter: f64) -> TimeDelta {
    let base = f64::from(attempt.max(1)).powi(4);
    let spread = 1.0 + jitter.clamp(-0.1, 0.1);
    TimeDelta::milliseconds((base * spread * 1000.0).round() as i64)
}

impl RunResult {
    /// What `job` becomes when the run it holds ends with `outcome` at `now`:
    /// - success: the next scheduled time (`Schedule::next_after`: no drift,
    ///   missed runs collapse into one); a one-shot job is archived;
    /// - failure with attempts left: a retry after [`retry_delay`], the
    ///   schedule's own time kept;
    /// - failure on the last attempt: `error` is kept, a recurring job waits
    ///   for its next scheduled time, a one-shot job is paused.
    pub fn after(
        job: &Job,
        outcome: TaskOutcome,
        error: Option<&str>,
        now: DateTime<Utc>,
        jitter: f64,
    ) -> Self {
        let scheduled = job.scheduled_at.or(job.next_run_at).unwrap_or(now);
        let next_scheduled = |status: JobStatus| match job.schedule.next_after(scheduled, now) {
            Some(next) => Self {
                status,
                next_run_at: Some(next),
                scheduled_at: Some(next),
                attempt: 0,
                last_error: None,
            },
            None => Self {
                status,
                next_run_at: None,
                scheduled_at: None,
                attempt: 0,
                last_error: None,
            },
        };
        match outcome {
            TaskOutcome::Succeeded => {
                if job.schedule == Schedule::Once {
                    next_scheduled(JobStatus::Archived)
                } else {
                    next_scheduled(job.status)
                }
            }
            TaskOutcome::Failed => {
                let error = Some(error.unwrap_or("failed").to_owned());
                if job.attempt < job.max_attempts {
                    Self {
                        status: job.status,
                        next_run_at: Some(now + retry_delay(job.attempt, jitter)),
                        scheduled_at: job.scheduled_at,
                        attempt: job.attempt,
                        last_error: error,
                    }
                } else if job.schedule.is_recurring() {
                    Self {
                        last_error: error,
                        ..next_scheduled(job.status)
                    }
                } else {
                    let status = if job.status == JobStatus::Archived {
                        JobStatus::Archived
                    } else {
                        JobStatus::Paused
                    };
                    Self {
                        last_error: error,
                        ..next_scheduled(status)
                    }
                }
            }
        }
    }
}

impl RunResult {
    /// What `job` becomes when its lease ran out at `now` without a word from
    /// its worker: a failed attempt (`lease expired`). With attempts left it is
    /// claimable again at once (its next run stays in the past); on the last
    /// attempt it is what [`RunResult::after`] says of a failure.
    pub fn after_abandoned(job: &Job, now: DateTime<Utc>, jitter: f64) -> Self {
        if job.attempt < job.max_attempts {
            Self {
                status: job.status,
                next_run_at: job.next_run_at,
                scheduled_at: job.scheduled_at,
                attempt: job.attempt,
                last_error: Some(LEASE_EXPIRED.to_owned()),
            }
        } else {
            Self::after(job, TaskOutcome::Failed, Some(LEASE_EXPIRED), now, jitter)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(schedule: Schedule, attempt: i32, max: i32) -> Job {
        super::super::tests::job_at(schedule, at("2026-01-01T00:00:00Z"), attempt, max)
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn retries_back_off_by_the_fourth_power_within_ten_percent() {
        assert_eq!(retry_delay(1, 0.0), TimeDelta::seconds(1));
        assert_eq!(retry_delay(2, 0.0), TimeDelta::seconds(16));
        assert_eq!(retry_delay(3, 0.0), TimeDelta::seconds(81));
        assert_eq!(retry_delay(3, 0.5), TimeDelta::milliseconds(89_100));
        assert_eq!(retry_delay(3, -0.5), TimeDelta::milliseconds(72_900));
    }

    #[test]
    fn a_failure_with_attempts_left_is_retried_and_keeps_the_schedule() {
        let j = job(Schedule::Interval(3600), 2, 3);
        let now = at("2026-01-01T00:00:10Z");
        let r = RunResult::after(&j, TaskOutcome::Failed, Some("boom"), now, 0.0);
        assert_eq!(r.next_run_at, Some(now + TimeDelta::seconds(16)));
        assert_eq!(r.scheduled_at, j.scheduled_at);
        assert_eq!(r.attempt, 2);
        assert_eq!(r.last_error.as_deref(), Some("boom"));
    }

    #[test]
    fn the_last_failed_attempt_waits_for_the_next_slot_or_pauses_a_one_shot_job() {
        let now = at("2026-01-01T00:00:10Z");
        let r = RunResult::after(
            &job(Schedule::Interval(3600), 3, 3),
            TaskOutcome::Failed,
            None,
            now,
            0.0,
        );
        assert_eq!(r.next_run_at, Some(at("2026-01-01T01:00:00Z")));
        assert_eq!(r.attempt, 0);
        assert_eq!(r.last_error.as_deref(), Some("failed"));
        assert_eq!(r.status, JobStatus::Active);
        let r = RunResult::after(
            &job(Schedule::Once, 3, 3),
            TaskOutcome::Failed,
            Some("x"),
            now,
            0.0,
        );
        assert_eq!(r.status, JobStatus::Paused);
        assert_eq!(r.next_run_at, None);
    }

    #[test]
    fn success_archives_a_one_shot_job_and_moves_a_recurring_one_on() {
        let now = at("2026-01-01T00:00:10Z");
        let r = RunResult::after(
            &job(Schedule::Once, 1, 3),
            TaskOutcome::Succeeded,
            None,
            now,
            0.0,
        );
        assert_eq!(r.status, JobStatus::Archived);
        let r = RunResult::after(
            &job(Schedule::Interval(60), 1, 3),
            TaskOutcome::Succeeded,
            None,
            now,
            0.0,
        );
        assert_eq!(r.next_run_at, Some(at("2026-01-01T00:01:00Z")));
        assert_eq!((r.attempt, r.last_error), (0, None));
    }

    #[test]
    fn a_token_never_shows_in_debug_output() {
        let token = LeaseToken::from_uuid(Uuid::from_u128(0xabcdef));
        assert_eq!(format!("{token:?}"), "LeaseToken(..)");
        assert_eq!(LeaseToken::parse(&token.to_string()), Some(token));
        assert_eq!(LeaseToken::parse("nope"), None);
    }
}
