//! `/v1/organizations/{orgId}/jobs/{jobId}/tasks[/{taskId}]`: a job's runs,
//! read-only (any member).

use actix_web::{HttpResponse, get, web};
use app::tasks as service;
use chrono::{DateTime, Utc};
use domain::PageRequest;
use domain::tasks::{Task, TaskSort, TaskStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::{Problem, Result};
use crate::extract::{ListParams, ListQuery, enum_filter};
use crate::openapi::{DatabaseProblems, QueryProblems, SessionProblems};
use crate::paths::{JobPath, OrgItem, OrgSubItem, TaskPath};
use crate::views::page_response;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(list, get_one), components(schemas(TaskResponse, TaskPage)))]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list).service(get_one);
}

/// One run of a job.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskResponse {
    /// `tsk_...`
    #[schema(example = "tsk_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// `job_...`
    pub job_id: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    /// Which attempt of the scheduled run (1 = first).
    pub attempt: i32,
    /// The worker that claimed it.
    pub worker: String,
    /// The schedule's time of the run.
    pub scheduled_at: Option<DateTime<Utc>>,
    /// When it was claimed.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// What it produced (JSON, at most 256 KiB).
    #[schema(value_type = Option<Object>)]
    pub output: Option<serde_json::Value>,
    /// Why it failed (`lease expired` when its worker went silent).
    pub error: Option<String>,
    /// Tokens it used.
    pub tokens_used: i64,
}

impl From<Task> for TaskResponse {
    fn from(t: Task) -> Self {
        Self {
            id: t.id.to_string(),
            job_id: t.job_id.to_string(),
            status: t.status.as_str().to_owned(),
            attempt: t.attempt,
            worker: t.worker,
            scheduled_at: t.scheduled_at,
            started_at: t.started_at,
            finished_at: t.finished_at,
            output: t.output,
            error: t.error,
            tokens_used: t.tokens_used,
        }
    }
}

page_response! {
    /// A page of tasks.
    TaskPage: TaskResponse, from Task
}

/// The task list's filter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct TaskFilterQuery {
    /// Only tasks with this status: `running`, `succeeded` or `failed`.
    #[param(pattern = "^(running|succeeded|failed)$")]
    pub status: Option<String>,
}

/// A job's tasks, newest first by default; `status` filters; `searchQuery`
/// matches the worker's name.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/jobs/{jobId}/tasks",
    tag = "jobs",
    params(JobPath, ListParams<TaskSort>, TaskFilterQuery),
    security(("bearer" = [])),
    responses(
        JobPath,
        (status = 200, body = TaskPage),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (an unknown status, INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/jobs/{jobId}/tasks")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, job): JobPath,
    ListQuery(raw): ListQuery,
    filter: web::Query<TaskFilterQuery>,
) -> Result<HttpResponse> {
    let request = PageRequest::<TaskSort>::parse(&raw)?;
    let status = enum_filter::<TaskStatus>("status", filter.into_inner().status)?;
    let page = service::list(&db, &ctx, org, job, status, &request).await?;
    Ok(HttpResponse::Ok().json(TaskPage::from(page)))
}

/// One task of a job.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/jobs/{jobId}/tasks/{taskId}",
    tag = "jobs",
    params(TaskPath),
    security(("bearer" = [])),
    responses(TaskPath, (status = 200, body = TaskResponse), SessionProblems, DatabaseProblems)
)]
#[get("/organizations/{orgId}/jobs/{jobId}/tasks/{taskId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_one(
    Caller { ctx, db, .. }: Caller,
    OrgSubItem(org, job, id): TaskPath,
) -> Result<HttpResponse> {
    let task = service::get(&db, &ctx, org, job, id).await?;
    Ok(HttpResponse::Ok().json(TaskResponse::from(task)))
}
