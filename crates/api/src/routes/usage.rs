//! `POST /v1/organizations/{orgId}/usage`: the organization's metering clients
//! report usage, once per idempotency key; `GET .../usage/summary`: any member
//! reads the sums by UTC day or month.

use actix_web::{HttpResponse, get, post, web};
use app::usage::{self as service, Reported};
use chrono::{DateTime, Utc};
use domain::usage::{
    CreateUsageRecordRequest, SummaryRequest, UsageBucket, UsageDraft, UsageRecord,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::{Problem, Result};
use crate::extract::JsonBody;
use crate::openapi::{DatabaseProblems, JsonBodyProblems, QueryProblems, SessionProblems};
use crate::paths::Org;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(create, summary),
    components(schemas(
        CreateUsageRecordRequest,
        UsageRecordResponse,
        UsageBucketResponse,
        UsageSummaryResponse
    ))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create).service(summary);
}

/// A usage record.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageRecordResponse {
    /// `use_...`
    #[schema(example = "use_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// What was measured.
    #[schema(example = "tokens")]
    pub metric: String,
    /// How much.
    pub quantity: i64,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// The client's key.
    pub idempotency_key: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// `true` when the key had been used before: this is the first record,
    /// and nothing was stored.
    pub duplicate: bool,
}

impl UsageRecordResponse {
    fn of(r: UsageRecord, duplicate: bool) -> Self {
        Self {
            id: r.id.to_string(),
            metric: r.metric.as_str().to_owned(),
            quantity: r.quantity,
            timestamp: r.occurred_at,
            idempotency_key: r.idempotency_key,
            created_at: r.created_at,
            duplicate,
        }
    }
}

/// Reports usage (owner, admin, or any API key of the organization). The same
/// `idempotencyKey` again answers 200 with the first record and
/// `duplicate: true`, storing nothing, however many arrive at once.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/usage",
    tag = "usage",
    params(Org),
    request_body = CreateUsageRecordRequest,
    security(("bearer" = [])),
    responses(
        Org,
        (status = 201, body = UsageRecordResponse, description = "stored"),
        (status = 200, body = UsageRecordResponse, description = "the key was used before for this record: the first one, `duplicate: true`"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE (a member; keys of either role may report)"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "IDEMPOTENCY_KEY_REUSED: the key holds a record with another metric, quantity or timestamp"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (TIMESTAMP_TOO_OLD, TIMESTAMP_IN_FUTURE on timestamp, ...)"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/usage")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    JsonBody(body): JsonBody<CreateUsageRecordRequest>,
) -> Result<HttpResponse> {
    let draft = UsageDraft::try_from(body)?;
    Ok(match service::record(&db, &ctx, org, draft).await? {
        Reported::Created(r) => HttpResponse::Created().json(UsageRecordResponse::of(r, false)),
        Reported::Duplicate(r) => HttpResponse::Ok().json(UsageRecordResponse::of(r, true)),
    })
}

/// The summary's query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct UsageSummaryQuery {
    /// The metric (required), e.g. `tokens`.
    #[param(pattern = "^[a-z][a-z0-9_.]{0,63}$")]
    pub metric: Option<String>,
    /// Records at or after this instant (RFC 3339); default the start of the
    /// current UTC month.
    pub from: Option<String>,
    /// Records before this instant (RFC 3339); default the start of the next
    /// UTC month. At most 366 days after `from` by day, 3,660 by month.
    pub to: Option<String>,
    /// `day` (default) or `month`, in UTC.
    #[param(pattern = "^(day|month)$")]
    pub group_by: Option<String>,
}

/// One bucket: the records of one UTC day or month.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageBucketResponse {
    /// Midnight UTC of the day, or of the month's first day.
    pub start: DateTime<Utc>,
    /// The sum of the quantities.
    pub sum: i64,
    /// How many records.
    pub count: i64,
    /// The largest quantity.
    pub max: i64,
}

impl From<UsageBucket> for UsageBucketResponse {
    fn from(b: UsageBucket) -> Self {
        Self {
            start: b.start,
            sum: b.sum,
            count: b.count,
            max: b.max,
        }
    }
}

/// A metric's usage over `[from, to)`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageSummaryResponse {
    /// The metric.
    pub metric: String,
    /// Inclusive.
    pub from: DateTime<Utc>,
    /// Exclusive.
    pub to: DateTime<Utc>,
    /// `day` or `month`.
    pub group_by: String,
    /// The buckets holding records, oldest first (empty ones are left out).
    pub buckets: Vec<UsageBucketResponse>,
}

/// A metric's usage by UTC day or month (any member or key): sum, count and
/// largest quantity of the records with `from <= timestamp < to`.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/usage/summary",
    tag = "usage",
    params(Org, UsageSummaryQuery),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = UsageSummaryResponse),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (metric REQUIRED, from/to INVALID_FORMAT, to OUT_OF_RANGE, groupBy INVALID_VALUE)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/usage/summary")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn summary(
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    query: web::Query<UsageSummaryQuery>,
) -> Result<HttpResponse> {
    let q = query.into_inner();
    let request = SummaryRequest::parse(q.metric, q.from, q.to, q.group_by, ctx.now)?;
    let buckets = service::summary(&db, &ctx, org, &request).await?;
    Ok(HttpResponse::Ok().json(UsageSummaryResponse {
        metric: request.metric.as_str().to_owned(),
        from: request.from,
        to: request.to,
        group_by: request.group_by.as_str().to_owned(),
        buckets: buckets.into_iter().map(UsageBucketResponse::from).collect(),
    }))
}
