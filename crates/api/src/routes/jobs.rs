//! `/v1/organizations/{orgId}/jobs[/{jobId}]`: jobs (member reads, admin+
//! writes), and the worker's protocol: claim, heartbeat, complete.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use app::jobs as service;
use app::runs;
use chrono::{DateTime, Utc};
use domain::PageRequest;
use domain::jobs::{
    ClaimRequest, CompleteRequest, CreateJobRequest, HeartbeatRequest, Job, JobChanges, JobDraft,
    JobSort, JobStatus, Schedule, UpdateJobRequest,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::{Caller, PinnedCaller};
use crate::error::{Problem, Result};
use crate::extract::{JsonBody, LargeJsonBody, ListParams, ListQuery, enum_filter};
use crate::openapi::{DatabaseProblems, JsonBodyProblems, QueryProblems, SessionProblems};
use crate::paths::{JobPath, Org, OrgItem};
use crate::routes::tasks::TaskResponse;
use crate::state::AppState;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        create, list, get_one, update, delete_one, restore, run_now, claim, heartbeat, complete
    ),
    components(schemas(
        CreateJobRequest,
        UpdateJobRequest,
        ClaimRequest,
        HeartbeatRequest,
        CompleteRequest,
        JobResponse,
        JobPage,
        ClaimResponse,
        ClaimedRunResponse,
        LeaseResponse,
        CompletedResponse,
        HeartbeatResponse,
        RunEndpointResponse
    ))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // `claim` before `{jobId}`, so the literal segment is never read as an ID.
    cfg.service(claim)
        .service(create)
        .service(list)
        .service(get_one)
        .service(update)
        .service(delete_one)
        .service(restore)
        .service(run_now)
        .service(heartbeat)
        .service(complete);
}

/// A job as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobResponse {
    /// `job_...`
    #[schema(example = "job_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// 1 to 200 characters.
    pub name: String,
    /// What to do, in natural language.
    pub definition: String,
    /// `active`, `paused` or `archived`.
    pub status: String,
    /// The interval, for a job that repeats every so many seconds.
    pub interval_seconds: Option<i64>,
    /// The cron expression, for a job on one.
    pub cron: Option<String>,
    /// The IANA time zone its cron expression is read in.
    pub timezone: String,
    /// When it may next be claimed; `null`: not until rescheduled.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Attempts a run may take.
    pub max_attempts: i32,
    /// Attempts of the pending run so far.
    pub attempt: i32,
    /// `ept_...` of the endpoint its runs call.
    pub endpoint_id: Option<String>,
    /// Whether a worker holds a live lease on it.
    pub locked: bool,
    /// The worker holding the live lease.
    pub locked_by: Option<String>,
    /// When the live lease runs out.
    pub locked_until: Option<DateTime<Utc>>,
    /// When a run last started.
    pub last_run_at: Option<DateTime<Utc>>,
    /// The last failed run's error (cleared by a success).
    pub last_error: Option<String>,
    /// Tokens its runs used (the sum over its tasks).
    pub tokens_used: i64,
    /// `usr_...` or `key_...`.
    pub created_by: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl JobResponse {
    /// `job` as seen at `now` (whether its lease is live).
    pub fn at(job: Job, now: DateTime<Utc>) -> Self {
        let live = job.lease.as_ref().filter(|l| l.expires_at > now);
        let (interval_seconds, cron) = match &job.schedule {
            Schedule::Once => (None, None),
            Schedule::Interval(n) => (Some(*n), None),
            Schedule::Cron(c) => (None, Some(c.expression().to_owned())),
        };
        Self {
            id: job.id.to_string(),
            locked: live.is_some(),
            locked_by: live.map(|l| l.owner.clone()),
            locked_until: live.map(|l| l.expires_at),
            name: job.name,
            definition: job.definition,
            status: job.status.as_str().to_owned(),
            interval_seconds,
            cron,
            timezone: job.timezone,
            next_run_at: job.next_run_at,
            max_attempts: job.max_attempts,
            attempt: job.attempt,
            endpoint_id: job.endpoint_id.map(|e| e.to_string()),
            last_run_at: job.last_run_at,
            last_error: job.last_error,
            tokens_used: job.tokens_used,
            created_by: job.created_by,
            created_at: job.created_at,
            updated_at: job.updated_at,
        }
    }
}

/// A page of jobs.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobPage {
    /// This page's items.
    pub items: Vec<JobResponse>,
    /// Whether another page follows.
    pub has_next: bool,
    /// Pass as `cursor` to get the next page (keyset, same order).
    pub next_cursor: Option<String>,
}

/// The job list's filter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct JobFilterQuery {
    /// Only jobs with this status: `active`, `paused` or `archived`.
    #[param(pattern = "^(active|paused|archived)$")]
    pub status: Option<String>,
}

/// A run handed to a worker.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimedRunResponse {
    /// The job, under the worker's lease.
    pub job: JobResponse,
    /// The run's task, `running`.
    pub task: TaskResponse,
    /// The lease: only its token may heartbeat or complete the run.
    pub lease: LeaseResponse,
    /// The job's endpoint, with its secret: the only way a secret leaves the
    /// server. `null` when the job has none.
    pub endpoint: Option<RunEndpointResponse>,
}

/// The endpoint a run calls, as a claim hands it to the worker.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunEndpointResponse {
    /// `ept_...`
    pub id: String,
    /// Its name.
    pub name: String,
    /// Where to call.
    pub url: String,
    /// How to call (`POST` by default).
    pub method: String,
    /// Headers to send.
    pub headers: std::collections::BTreeMap<String, String>,
    /// The secret in plain text, to send as `Authorization: Bearer`; `null`
    /// when it has none or it could not be opened (then `secretError` says so).
    pub secret: Option<String>,
    /// Why the secret could not be opened (the server's keys; never the
    /// worker's fault), else absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_error: Option<String>,
}

impl From<app::endpoints::RevealedEndpoint> for RunEndpointResponse {
    fn from(revealed: app::endpoints::RevealedEndpoint) -> Self {
        let e = revealed.endpoint;
        let (secret, secret_error) = match revealed.secret {
            Ok(secret) => (secret.map(|s| s.expose().to_owned()), None),
            Err(_) => (
                None,
                Some(
                    "the endpoint's secret could not be decrypted with the server's keys"
                        .to_owned(),
                ),
            ),
        };
        Self {
            id: e.id.to_string(),
            name: e.name,
            url: e.url,
            method: e.method.as_str().to_owned(),
            headers: e.headers.into_inner(),
            secret,
            secret_error,
        }
    }
}

/// A lease.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeaseResponse {
    /// The fencing token (32 hex digits).
    pub token: String,
    /// When it runs out unless extended by a heartbeat.
    pub expires_at: DateTime<Utc>,
}

/// What a claim handed out (possibly nothing).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimResponse {
    /// The runs, oldest due first.
    pub items: Vec<ClaimedRunResponse>,
}

/// A recorded run.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompletedResponse {
    /// The job, with its next run.
    pub job: JobResponse,
    /// The closed task.
    pub task: TaskResponse,
}

/// Creates a job (admin+). Without `intervalSeconds` or `cron` it runs once,
/// at `nextRunAt` (default now). New jobs are `paused` unless `status` says
/// otherwise.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/jobs",
    tag = "jobs",
    params(Org),
    request_body = CreateJobRequest,
    security(("bearer" = [])),
    responses(
        Org,
        (status = 201, body = JobResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE, PLAN_LIMIT_REACHED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CRON, INVALID_TIMEZONE, CONFLICTING_SCHEDULE, ENDPOINT_NOT_FOUND, ...)"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/jobs")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    JsonBody(body): JsonBody<CreateJobRequest>,
) -> Result<HttpResponse> {
    let draft = JobDraft::try_from(body)?;
    let job = service::create(&db, &ctx, org, draft).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/v1/organizations/{org}/jobs/{}", job.id)))
        .json(JobResponse::at(job, ctx.now)))
}

/// The organization's jobs. `sortBy`: `createdAt` (default), `updatedAt`,
/// `name`, `nextRunAt`; `searchQuery` matches the name and the definition;
/// `status` filters.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/jobs",
    tag = "jobs",
    params(Org, ListParams<JobSort>, JobFilterQuery),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = JobPage),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (an unknown status, INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/jobs")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    ListQuery(raw): ListQuery,
    filter: web::Query<JobFilterQuery>,
) -> Result<HttpResponse> {
    let request = PageRequest::<JobSort>::parse(&raw)?;
    let status = enum_filter::<JobStatus>("status", filter.into_inner().status)?;
    let page = service::list(&db, &ctx, org, status, &request).await?;
    Ok(HttpResponse::Ok().json(JobPage {
        items: page
            .items
            .into_iter()
            .map(|j| JobResponse::at(j, ctx.now))
            .collect(),
        has_next: page.has_next,
        next_cursor: page.next_cursor,
    }))
}

/// One job.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/jobs/{jobId}",
    tag = "jobs",
    params(JobPath),
    security(("bearer" = [])),
    responses(JobPath, (status = 200, body = JobResponse), SessionProblems, DatabaseProblems)
)]
#[get("/organizations/{orgId}/jobs/{jobId:job_[^/]*}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_one(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): JobPath,
) -> Result<HttpResponse> {
    let job = service::get(&db, &ctx, org, id).await?;
    Ok(HttpResponse::Ok().json(JobResponse::at(job, ctx.now)))
}

/// Changes a job (admin+): absent fields stay. A new schedule runs first at
/// `nextRunAt`, else now (interval) or at its next occurrence (cron).
#[utoipa::path(
    patch,
    path = "/v1/organizations/{orgId}/jobs/{jobId}",
    tag = "jobs",
    params(JobPath),
    request_body = UpdateJobRequest,
    security(("bearer" = [])),
    responses(
        JobPath,
        (status = 200, body = JobResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE, PLAN_LIMIT_REACHED (leaving archived)"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[patch("/organizations/{orgId}/jobs/{jobId:job_[^/]*}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): JobPath,
    JsonBody(body): JsonBody<UpdateJobRequest>,
) -> Result<HttpResponse> {
    let changes = JobChanges::try_from(body)?;
    let job = service::update(&db, &ctx, org, id, changes).await?;
    Ok(HttpResponse::Ok().json(JobResponse::at(job, ctx.now)))
}

/// Deletes a job (admin+, soft): a run in progress ends, its worker's
/// completion is 409 `LEASE_LOST`.
#[utoipa::path(
    delete,
    path = "/v1/organizations/{orgId}/jobs/{jobId}",
    tag = "jobs",
    params(JobPath),
    security(("bearer" = [])),
    responses(
        JobPath,
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        SessionProblems, DatabaseProblems,
    )
)]
#[delete("/organizations/{orgId}/jobs/{jobId:job_[^/]*}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_one(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): JobPath,
) -> Result<HttpResponse> {
    service::delete(&db, &ctx, org, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Brings a deleted job back (admin+), within the plan's `max_jobs`.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/jobs/{jobId}/restore",
    tag = "jobs",
    params(JobPath),
    security(("bearer" = [])),
    responses(
        JobPath,
        (status = 200, body = JobResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE, PLAN_LIMIT_REACHED"),
        SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/jobs/{jobId}/restore")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn restore(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): JobPath,
) -> Result<HttpResponse> {
    let job = service::restore(&db, &ctx, org, id).await?;
    Ok(HttpResponse::Ok().json(JobResponse::at(job, ctx.now)))
}

/// Makes an active job due now (admin+); its schedule's cadence stays.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/jobs/{jobId}/run-now",
    tag = "jobs",
    params(JobPath),
    security(("bearer" = [])),
    responses(
        JobPath,
        (status = 200, body = JobResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "JOB_NOT_ACTIVE"),
        SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/jobs/{jobId}/run-now")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn run_now(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): JobPath,
) -> Result<HttpResponse> {
    let job = service::run_now(&db, &ctx, org, id).await?;
    Ok(HttpResponse::Ok().json(JobResponse::at(job, ctx.now)))
}

/// Claims due jobs (any member or key): `active`, `nextRunAt <= now`, no live
/// lease, oldest due first, each to exactly one caller, at most the room the
/// plan's `max_concurrent_tasks` leaves. Each comes with a `running` task and
/// a fresh lease token.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/jobs/claim",
    tag = "jobs",
    params(Org),
    request_body = ClaimRequest,
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = ClaimResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "QUOTA_EXCEEDED: the month's tokens reached the plan's monthly_token_quota; nothing claimed"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/jobs/claim")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn claim(
    state: web::Data<AppState>,
    Org(org): Org,
    JsonBody(body): JsonBody<ClaimRequest>,
    PinnedCaller(Caller { ctx, db, .. }): PinnedCaller,
) -> Result<HttpResponse> {
    let order = domain::jobs::Claim::try_from(body)?;
    let runs = runs::claim(&db, &state.keyring, &ctx, org, order).await?;
    let items = runs
        .into_iter()
        .filter_map(|run| {
            let lease = run.job.lease.clone()?;
            Some(ClaimedRunResponse {
                lease: LeaseResponse {
                    token: lease.token.to_string(),
                    expires_at: lease.expires_at,
                },
                task: TaskResponse::from(run.task),
                job: JobResponse::at(run.job, ctx.now),
                endpoint: run.endpoint.map(RunEndpointResponse::from),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(ClaimResponse { items }))
}

/// The new expiry of a lease.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatResponse {
    /// When the lease now runs out.
    pub expires_at: DateTime<Utc>,
}

/// Extends a lease (its holder) to `leaseSeconds` from now.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/jobs/{jobId}/heartbeat",
    tag = "jobs",
    params(JobPath),
    request_body = HeartbeatRequest,
    security(("bearer" = [])),
    responses(
        JobPath,
        (status = 200, body = HeartbeatResponse),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "LEASE_LOST: the token is not the job's live lease"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/jobs/{jobId}/heartbeat")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn heartbeat(
    OrgItem(org, id): JobPath,
    JsonBody(body): JsonBody<HeartbeatRequest>,
    PinnedCaller(Caller { ctx, db, .. }): PinnedCaller,
) -> Result<HttpResponse> {
    let beat = domain::jobs::Heartbeat::try_from(body)?;
    let expires_at = runs::heartbeat(&db, &ctx, org, id, beat).await?;
    Ok(HttpResponse::Ok().json(HeartbeatResponse { expires_at }))
}

/// Records a run (its lease's holder) and schedules the job's next one (a
/// body of up to 1 MiB, or `server.json_body_limit_bytes` when larger).
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/jobs/{jobId}/complete",
    tag = "jobs",
    params(JobPath),
    request_body = CompleteRequest,
    security(("bearer" = [])),
    responses(
        JobPath,
        (status = 200, body = CompletedResponse),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "LEASE_LOST: the token is not the job's live lease; nothing was recorded"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/jobs/{jobId}/complete")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn complete(
    OrgItem(org, id): JobPath,
    LargeJsonBody(body): LargeJsonBody<CompleteRequest, 1024>,
    PinnedCaller(Caller { ctx, db, .. }): PinnedCaller,
) -> Result<HttpResponse> {
    let completion = domain::jobs::Completion::try_from(body)?;
    let (job, task) = runs::complete(&db, &ctx, org, id, completion).await?;
    Ok(HttpResponse::Ok().json(CompletedResponse {
        job: JobResponse::at(job, ctx.now),
        task: TaskResponse::from(task),
    }))
}
