//! Jobs: what an organization wants done (a definition in natural language),
//! when (a [`Schedule`]), and how it went (attempts, the last error, the tokens
//! its runs used). Workers claim due jobs under a lease ([`leases`]) and report
//! each run as a task (`crate::tasks`).

pub mod leases;
pub mod schedule;

use chrono::{DateTime, Utc};

use crate::error::{DomainError, FieldError, Validation};
use crate::id::{EndpointId, JobId, OrganizationId, TaskId};
use crate::text_enum;
pub use leases::{
    Claim, ClaimRequest, CompleteRequest, Completion, Heartbeat, HeartbeatRequest, LeaseToken,
    RunResult, TaskOutcome,
};
pub use schedule::{CronSchedule, Schedule, ScheduleError};

/// 404 for a job that is not in the organization, or is deleted.
pub const JOB_NOT_FOUND: DomainError = DomainError::not_found("job", "JOB_NOT_FOUND");

impl crate::id::ResourceId for JobId {
    const NOT_FOUND: DomainError = JOB_NOT_FOUND;
    const PARAM: &'static str = "jobId";
}

/// Longest name, in characters.
pub const MAX_NAME_CHARS: u64 = 200;
/// Longest definition, in characters.
pub const MAX_DEFINITION_CHARS: u64 = 10_000;
/// Most attempts a run may take.
pub const MAX_ATTEMPTS: i64 = 25;
/// Attempts when none are given.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 3;
/// The time zone of a cron schedule when none is given.
pub const DEFAULT_TIMEZONE: &str = "UTC";

text_enum! {
    /// Whether a job is claimed when due.
    JobStatus {
        /// Claimed when due.
        Active => "active",
        /// Kept, not claimed (the default for a new job).
        Paused => "paused",
        /// Done with: not claimed, not counted against the plan's `max_jobs`.
        Archived => "archived",
    }
}

crate::sort_by! {
    /// `sortBy` of the job list.
    JobSort {
        /// Creation time (the default).
        CreatedAt => "createdAt",
        /// Last change.
        UpdatedAt => "updatedAt",
        /// Name, alphabetically.
        Name => "name",
        /// Next run.
        NextRunAt => "nextRunAt",
    }
}

/// The live lease of a job: who holds it and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The fencing token: only its holder may heartbeat or complete.
    pub token: LeaseToken,
    /// The worker's name, as it claimed.
    pub owner: String,
    /// When it runs out; after that anyone may claim the job again.
    pub expires_at: DateTime<Utc>,
    /// The task the lease's run is recorded in.
    pub task_id: TaskId,
}

/// A stored job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Identity.
    pub id: JobId,
    /// Its organization.
    pub organization_id: OrganizationId,
    /// Who created it: `usr_...` or `key_...`.
    pub created_by: String,
    /// 1 to 200 characters.
    pub name: String,
    /// What to do, in natural language (1 to 10,000 characters).
    pub definition: String,
    /// Active, paused or archived.
    pub status: JobStatus,
    /// When it repeats.
    pub schedule: Schedule,
    /// The time zone its cron schedule is read in (kept for any schedule).
    pub timezone: String,
    /// When it may next be claimed (a retry's backoff included); `None` when it
    /// will not run again unless rescheduled.
    pub next_run_at: Option<DateTime<Utc>>,
    /// The schedule's own time of the pending run (retries leave it alone).
    pub scheduled_at: Option<DateTime<Utc>>,
    /// Attempts a run may take, 1 to 25.
    pub max_attempts: i32,
    /// Attempts of the pending run so far (0 before the first).
    pub attempt: i32,
    /// The endpoint its runs call.
    pub endpoint_id: Option<EndpointId>,
    /// The lease, if one was handed out and not released (it may have run out).
    pub lease: Option<Lease>,
    /// When a run last started.
    pub last_run_at: Option<DateTime<Utc>>,
    /// The last failed run's error (cleared by a success).
    pub last_error: Option<String>,
    /// The sum of its tasks' tokens.
    pub tokens_used: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Soft-delete marker.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Job {
    /// Whether a worker holds a live lease at `now`.
    pub fn is_locked_at(&self, now: DateTime<Utc>) -> bool {
        self.lease.as_ref().is_some_and(|l| l.expires_at > now)
    }

    /// Whether it counts against the plan's `max_jobs` (not archived).
    pub fn counts_against_plan(&self) -> bool {
        self.status != JobStatus::Archived
    }
}

/// What a validated create request holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobDraft {
    /// Trimmed name.
    pub name: String,
    /// Trimmed definition.
    pub definition: String,
    /// Initial status (default `paused`).
    pub status: JobStatus,
    /// When it repeats.
    pub schedule: Schedule,
    /// Its time zone's name.
    pub timezone: String,
    /// The first run (default: now, or the cron's next occurrence).
    pub next_run_at: Option<DateTime<Utc>>,
    /// Attempts a run may take.
    pub max_attempts: i32,
    /// The endpoint its runs call.
    pub endpoint_id: Option<EndpointId>,
}

impl JobDraft {
    /// The first run: the given `nextRunAt`, else what the schedule says at `now`.
    pub fn first_run(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_run_at.or_else(|| self.schedule.first_run(now))
    }
}

/// A validated partial change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobChanges {
    /// New name.
    pub name: Option<String>,
    /// New definition.
    pub definition: Option<String>,
    /// New status.
    pub status: Option<JobStatus>,
    /// `Some(Some(n))` sets an interval, `Some(None)` removes it.
    pub interval_seconds: Option<Option<i64>>,
    /// `Some(Some(expr))` sets a cron expression, `Some(None)` removes it.
    pub cron: Option<Option<String>>,
    /// New time zone (for cron).
    pub timezone: Option<String>,
    /// An explicit next run.
    pub next_run_at: Option<DateTime<Utc>>,
    /// New attempt limit.
    pub max_attempts: Option<i32>,
    /// `Some(None)` detaches the endpoint.
    pub endpoint_id: Option<Option<EndpointId>>,
}

impl JobChanges {
    /// Whether the change touches the schedule.
    fn reschedules(&self) -> bool {
        self.interval_seconds.is_some()
            || self.cron.is_some()
            || self.timezone.is_some()
            || self.next_run_at.is_some()
    }

    /// `job` with the changes applied at `now`: 422 when the resulting schedule
    /// is not valid (an interval and a cron expression at once, a bad zone).
    /// A new schedule runs first at the given `nextRunAt`, else at what it says
    /// at `now`; a job made active again with no next run runs now.
    pub fn apply(&self, job: &Job, now: DateTime<Utc>) -> Result<Job, DomainError> {
        let mut next = job.clone();
        if let Some(name) = &self.name {
            next.name.clone_from(name);
        }
        if let Some(definition) = &self.definition {
            next.definition.clone_from(definition);
        }
        if let Some(max) = self.max_attempts {
            next.max_attempts = max;
        }
        if let Some(endpoint) = self.endpoint_id {
            next.endpoint_id = endpoint;
        }
        if self.reschedules() {
            let timezone = self
                .timezone
                .clone()
                .unwrap_or_else(|| job.timezone.clone());
            let (interval, cron) = match &job.schedule {
                Schedule::Once => (None, None),
                Schedule::Interval(n) => (Some(*n), None),
                Schedule::Cron(c) => (None, Some(c.expression().to_owned())),
            };
            let interval = self.interval_seconds.unwrap_or(interval);
            let cron = self.cron.clone().unwrap_or(cron);
            // Setting one kind replaces the other.
            let (interval, cron) = match (self.interval_seconds, &self.cron) {
                (Some(Some(_)), None) => (interval, None),
                (None, Some(Some(_))) => (None, cron),
                _ => (interval, cron),
            };
            next.schedule = schedule_of(interval, cron.as_deref(), &timezone)?;
            next.timezone = timezone;
            let first = self.next_run_at.or_else(|| next.schedule.first_run(now));
            next.next_run_at = first;
            next.scheduled_at = first;
            next.attempt = 0;
        }
        if let Some(status) = self.status {
            if status == JobStatus::Active && next.next_run_at.is_none() {
                next.next_run_at = Some(now);
                next.scheduled_at = Some(now);
            }
            next.status = status;
        }
        Ok(next)
    }
}

/// The schedule from its parts: 422 (`schedule`) for both an interval and a
/// cron expression, or a bad expression or zone.
fn schedule_of(
    interval: Option<i64>,
    cron: Option<&str>,
    timezone: &str,
) -> Result<Schedule, DomainError> {
    match (interval, cron) {
        (Some(_), Some(_)) => Err(both_schedules()),
        (Some(n), None) => Ok(Schedule::Interval(n)),
        (None, Some(expr)) => CronSchedule::parse(expr, timezone)
            .map(|c| Schedule::Cron(Box::new(c)))
            .map_err(|e| {
                let field = if e == ScheduleError::Timezone {
                    "timezone"
                } else {
                    "cron"
                };
                DomainError::invalid(field, crate::error::FieldErrorCode::code(&e), e.to_string())
            }),
        (None, None) => schedule::parse_timezone(timezone)
            .map(|_| Schedule::Once)
            .map_err(|e| DomainError::invalid("timezone", "INVALID_TIMEZONE", e.to_string())),
    }
}

fn both_schedules() -> DomainError {
    DomainError::invalid(
        "cron",
        "CONFLICTING_SCHEDULE",
        "give intervalSeconds or cron, not both",
    )
}

/// Trimmed text that is not blank (the length rules are the request's).
fn trimmed(v: &mut Validation, field: &str, value: Option<String>) -> Option<String> {
    v.required(field, value).and_then(|text| {
        let text = text.trim();
        if text.is_empty() {
            v.push(FieldError::new(
                field,
                "REQUIRED",
                format!("{field} is required"),
            ));
            None
        } else {
            Some(text.to_owned())
        }
    })
}

/// A job as asked for.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateJobBody))]
#[serde(rename_all = "camelCase")]
pub struct CreateJobRequest {
    /// 1 to 200 characters.
    #[validate(
        required(code = "REQUIRED", message = "name is required"),
        length(
            min = 1,
            max = 200,
            code = "TOO_LONG",
            message = "name is 1 to 200 characters"
        )
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(
            required = true,
            min_length = 1,
            max_length = 200,
            pattern = r"\S",
            example = "Weekly digest"
        )
    )]
    pub name: Option<String>,
    /// What to do, in natural language: 1 to 10,000 characters.
    #[validate(
        required(code = "REQUIRED", message = "definition is required"),
        length(
            min = 1,
            max = 10000,
            code = "TOO_LONG",
            message = "definition is 1 to 10,000 characters"
        )
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(
            required = true,
            min_length = 1,
            max_length = 10000,
            pattern = r"\S",
            example = "Summarise last week's support tickets"
        )
    )]
    pub definition: Option<String>,
    /// `active`, `paused` (default) or `archived`.
    #[validate(custom(function = "crate::validate::variant::<JobStatus>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<JobStatusSchema>))]
    pub status: Option<String>,
    /// Runs every this many seconds (60 to 31,536,000); not with `cron`.
    #[validate(range(
        min = 60,
        max = 31_536_000,
        code = "OUT_OF_RANGE",
        message = "intervalSeconds is 60 to 31536000"
    ))]
    #[cfg_attr(feature = "openapi", schema(minimum = 60, maximum = 31_536_000))]
    pub interval_seconds: Option<i64>,
    /// A 5-field cron expression, read in `timezone`; not with `intervalSeconds`.
    #[cfg_attr(feature = "openapi", schema(example = "0 9 * * MON"))]
    pub cron: Option<String>,
    /// An IANA time zone name (default `UTC`).
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$",
            example = "Europe/Paris"
        )
    )]
    pub timezone: Option<String>,
    /// The first run (RFC 3339); default now, or the cron's next occurrence.
    /// Without `intervalSeconds` or `cron` the job runs once, then.
    #[validate(custom(function = "crate::validate::timestamp"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub next_run_at: Option<String>,
    /// Attempts a run may take, 1 to 25 (default 3).
    #[validate(range(
        min = 1,
        max = 25,
        code = "OUT_OF_RANGE",
        message = "maxAttempts is 1 to 25"
    ))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 25))]
    pub max_attempts: Option<i64>,
    /// `ept_...` of the organization's endpoint its runs call.
    #[validate(custom(function = "crate::validate::endpoint_id"))]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "ept_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")
    )]
    pub endpoint_id: Option<String>,
}

/// `status` of a job, for the OpenAPI document.
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(as = JobStatus)]
#[allow(dead_code)]
#[serde(rename_all = "lowercase")]
enum JobStatusSchema {
    Active,
    Paused,
    Archived,
}

impl TryFrom<CreateJobRequest> for JobDraft {
    type Error = DomainError;

    fn try_from(body: CreateJobRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let name = trimmed(&mut v, "name", body.name);
        let definition = trimmed(&mut v, "definition", body.definition);
        let status = match body.status {
            None => Some(JobStatus::Paused),
            Some(s) => v.check("status", s.parse::<JobStatus>()),
        };
        let interval = v.shape("intervalSeconds", body.interval_seconds);
        let timezone = body.timezone.unwrap_or_else(|| DEFAULT_TIMEZONE.to_owned());
        let schedule = interval.and_then(|interval| {
            match schedule_of(interval, body.cron.as_deref(), &timezone) {
                Ok(s) => Some(s),
                Err(DomainError::Validation(errors)) => {
                    errors.into_iter().for_each(|e| v.push(e));
                    None
                }
                Err(_) => None,
            }
        });
        let next_run_at = match body.next_run_at {
            None => Some(None),
            Some(raw) => v
                .check("nextRunAt", crate::validate::parse_timestamp(&raw))
                .map(Some),
        };
        let max_attempts = v
            .shape("maxAttempts", body.max_attempts)
            .map(|m| m.map_or(DEFAULT_MAX_ATTEMPTS, |m| m as i32));
        let endpoint_id = match body.endpoint_id {
            None => Some(None),
            Some(raw) => v.check("endpointId", raw.parse::<EndpointId>()).map(Some),
        };
        let (((name, definition), (status, schedule)), ((next_run_at, max_attempts), endpoint_id)) =
            v.finish(
                name.zip(definition)
                    .zip(status.zip(schedule))
                    .zip(next_run_at.zip(max_attempts).zip(endpoint_id)),
            )?;
        Ok(Self {
            name,
            definition,
            status,
            schedule,
            timezone,
            next_run_at,
            max_attempts,
            endpoint_id,
        })
    }
}

/// A change to a job as sent. Absent fields stay as they are.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdateJobBody))]
#[serde(rename_all = "camelCase")]
pub struct UpdateJobRequest {
    /// 1 to 200 characters.
    #[validate(length(
        min = 1,
        max = 200,
        code = "TOO_LONG",
        message = "name is 1 to 200 characters"
    ))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"\S")
    )]
    pub name: Option<String>,
    /// 1 to 10,000 characters.
    #[validate(length(
        min = 1,
        max = 10000,
        code = "TOO_LONG",
        message = "definition is 1 to 10,000 characters"
    ))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 10000, pattern = r"\S")
    )]
    pub definition: Option<String>,
    /// `active`, `paused` or `archived`.
    #[validate(custom(function = "crate::validate::variant::<JobStatus>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<JobStatusSchema>))]
    pub status: Option<String>,
    /// 60 to 31,536,000; `null` removes the interval (the job runs once).
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(range(
        min = 60,
        max = 31_536_000,
        code = "OUT_OF_RANGE",
        message = "intervalSeconds is 60 to 31536000"
    ))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>, nullable = true, minimum = 60, maximum = 31_536_000))]
    pub interval_seconds: Option<Option<i64>>,
    /// A 5-field cron expression; `null` removes it.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, nullable = true))]
    pub cron: Option<Option<String>>,
    /// An IANA time zone name.
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$",
            example = "Europe/Paris"
        )
    )]
    pub timezone: Option<String>,
    /// The next run (RFC 3339).
    #[validate(custom(function = "crate::validate::timestamp"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub next_run_at: Option<String>,
    /// 1 to 25.
    #[validate(range(
        min = 1,
        max = 25,
        code = "OUT_OF_RANGE",
        message = "maxAttempts is 1 to 25"
    ))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 25))]
    pub max_attempts: Option<i64>,
    /// `ept_...`; `null` detaches the endpoint.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(custom(function = "crate::validate::endpoint_id"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, nullable = true, pattern = "^ept_[0-7][0-9A-HJKMNP-TV-Z]{25}$"))]
    pub endpoint_id: Option<Option<String>>,
}

impl TryFrom<UpdateJobRequest> for JobChanges {
    type Error = DomainError;

    fn try_from(body: UpdateJobRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let name = match body.name {
            None => Some(None),
            some => trimmed(&mut v, "name", some).map(Some),
        };
        let definition = match body.definition {
            None => Some(None),
            some => trimmed(&mut v, "definition", some).map(Some),
        };
        let status = match body.status {
            None => Some(None),
            Some(s) => v.check("status", s.parse::<JobStatus>()).map(Some),
        };
        let interval = v.shape("intervalSeconds", body.interval_seconds);
        let cron = v.shape("cron", body.cron);
        if let (Some(Some(Some(_))), Some(Some(Some(_)))) = (&interval, &cron) {
            v.push(FieldError::new(
                "cron",
                "CONFLICTING_SCHEDULE",
                "give intervalSeconds or cron, not both",
            ));
        }
        let timezone = match body.timezone {
            None => Some(None),
            Some(tz) => v.check("timezone", schedule::parse_timezone(&tz).map(|_| Some(tz))),
        };
        let next_run_at = match body.next_run_at {
            None => Some(None),
            Some(raw) => v
                .check("nextRunAt", crate::validate::parse_timestamp(&raw))
                .map(Some),
        };
        let max_attempts = v
            .shape("maxAttempts", body.max_attempts)
            .map(|m| m.map(|m| m as i32));
        let endpoint_id = match body.endpoint_id {
            None => Some(None),
            Some(None) => Some(Some(None)),
            Some(Some(raw)) => v
                .check("endpointId", raw.parse::<EndpointId>())
                .map(|id| Some(Some(id))),
        };
        let parts = name
            .zip(definition)
            .zip(status)
            .zip(interval)
            .zip(cron)
            .zip(timezone)
            .zip(next_run_at)
            .zip(max_attempts)
            .zip(endpoint_id);
        let (
            (
                ((((((name, definition), status), interval_seconds), cron), timezone), next_run_at),
                max_attempts,
            ),
            endpoint_id,
        ) = v.finish(parts)?;
        Ok(Self {
            name,
            definition,
            status,
            interval_seconds,
            cron,
            timezone,
            next_run_at,
            max_attempts,
            endpoint_id,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An active job due at `at`, on its `attempt`th attempt of `max`: the
    /// fixture of this module's and `leases`' tests.
    pub(crate) fn job_at(schedule: Schedule, at: DateTime<Utc>, attempt: i32, max: i32) -> Job {
        Job {
            id: JobId::new(),
            organization_id: OrganizationId::new(),
            created_by: "usr_x".into(),
            name: "n".into(),
            definition: "d".into(),
            status: JobStatus::Active,
            schedule,
            timezone: "UTC".into(),
            next_run_at: Some(at),
            scheduled_at: Some(at),
            max_attempts: max,
            attempt,
            endpoint_id: None,
            lease: None,
            last_run_at: None,
            last_error: None,
            tokens_used: 0,
            created_at: at,
            updated_at: at,
            deleted_at: None,
        }
    }

    fn job(schedule: Schedule) -> Job {
        job_at(schedule, Utc::now(), 0, 3)
    }

    #[test]
    fn a_job_needs_a_name_and_a_definition_and_one_kind_of_schedule() {
        let err = JobDraft::try_from(CreateJobRequest {
            name: Some("  ".into()),
            interval_seconds: Some(60),
            cron: Some("* * * * *".into()),
            ..CreateJobRequest::default()
        })
        .unwrap_err();
        let DomainError::Validation(errors) = err else {
            panic!()
        };
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            [
                ("name", "REQUIRED"),
                ("definition", "REQUIRED"),
                ("cron", "CONFLICTING_SCHEDULE")
            ]
        );
    }

    #[test]
    fn a_new_job_is_paused_with_three_attempts() {
        let draft = JobDraft::try_from(CreateJobRequest {
            name: Some(" Digest ".into()),
            definition: Some("Summarise".into()),
            ..CreateJobRequest::default()
        })
        .unwrap();
        assert_eq!(draft.name, "Digest");
        assert_eq!(draft.status, JobStatus::Paused);
        assert_eq!(draft.max_attempts, 3);
        assert_eq!(draft.schedule, Schedule::Once);
    }

    #[test]
    fn setting_a_cron_replaces_the_interval_and_reschedules() {
        let j = job(Schedule::Interval(60));
        let now = Utc::now();
        let changed = JobChanges {
            cron: Some(Some("0 9 * * *".into())),
            ..JobChanges::default()
        }
        .apply(&j, now)
        .unwrap();
        assert!(matches!(changed.schedule, Schedule::Cron(_)));
        assert!(changed.next_run_at.unwrap() > now);
    }

    #[test]
    fn an_archived_one_shot_job_made_active_runs_now() {
        let mut j = job(Schedule::Once);
        j.status = JobStatus::Archived;
        j.next_run_at = None;
        let now = Utc::now();
        let changed = JobChanges {
            status: Some(JobStatus::Active),
            ..JobChanges::default()
        }
        .apply(&j, now)
        .unwrap();
        assert_eq!(changed.next_run_at, Some(now));
    }
}
