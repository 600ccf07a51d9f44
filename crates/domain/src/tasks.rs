//! Tasks: the record of one run of a job, opened by the claim that started it
//! and closed by its worker's completion (or by its lease running out).

use chrono::{DateTime, Utc};

use crate::error::DomainError;
use crate::id::{JobId, OrganizationId, TaskId};
use crate::text_enum;

/// 404 for a task that is not one of the job's.
pub const TASK_NOT_FOUND: DomainError = DomainError::not_found("task", "TASK_NOT_FOUND");

impl crate::id::ResourceId for TaskId {
    const NOT_FOUND: DomainError = TASK_NOT_FOUND;
    const PARAM: &'static str = "taskId";
}

text_enum! {
    /// Where a run stands.
    TaskStatus {
        /// A worker holds it.
        Running => "running",
        /// Its worker reported success.
        Succeeded => "succeeded",
        /// Its worker reported failure, or its lease ran out.
        Failed => "failed",
    }
}

crate::sort_by! {
    /// `sortBy` of the task list.
    TaskSort {
        /// When the run started (the default).
        CreatedAt => "createdAt",
    }
}

/// One run of a job.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    /// Identity.
    pub id: TaskId,
    /// The job it ran.
    pub job_id: JobId,
    /// The job's organization.
    pub organization_id: OrganizationId,
    /// Running, succeeded or failed.
    pub status: TaskStatus,
    /// Which attempt of the scheduled run it was (1 = first).
    pub attempt: i32,
    /// The worker that claimed it.
    pub worker: String,
    /// The schedule's time of the run.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// When the claim opened it.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// What it produced.
    pub output: Option<serde_json::Value>,
    /// Why it failed.
    pub error: Option<String>,
    /// Tokens it used.
    pub tokens_used: i64,
    /// Creation time (= `started_at`).
    pub created_at: DateTime<Utc>,
}
