//! `GET /v1/admin/metrics`: the snapshots of `/metrics` kept in `system_metrics`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use domain::PageRequest;
use domain::metrics::{SystemMetric, SystemMetricFilter, SystemMetricSort};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::both;
use crate::admin_auth::AdminUser;
use crate::error::{Problem, Result};
use crate::extract::{ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, QueryProblems, SessionProblems};
use crate::views::page_response;

/// The snapshots' filter, as sent.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct MetricFilterQuery {
    /// Only this metric, e.g. `http_requests_total`.
    pub name: Option<String>,
    /// Snapshots taken at or after this instant (RFC 3339).
    pub from: Option<String>,
    /// Snapshots taken before this instant (RFC 3339).
    pub to: Option<String>,
}

/// One series' value in one snapshot.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemMetricResponse {
    /// Sequential number.
    pub id: i64,
    /// The metric, e.g. `http_requests_total`.
    pub name: String,
    /// The series' labels, e.g. `{"method": "GET", "route": "/health", "status": "200"}`.
    pub labels: BTreeMap<String, String>,
    /// Its value when the snapshot was taken (a counter's total since start).
    pub value: f64,
    /// When the snapshot was taken.
    pub recorded_at: DateTime<Utc>,
}

impl From<SystemMetric> for SystemMetricResponse {
    fn from(metric: SystemMetric) -> Self {
        Self {
            id: metric.id,
            name: metric.name,
            labels: metric.labels,
            value: metric.value,
            recorded_at: metric.recorded_at,
        }
    }
}

page_response! {
    /// A page of metric snapshots.
    SystemMetricPage: SystemMetricResponse, from SystemMetric
}

/// The metric snapshots, newest first. `sortBy`: `recordedAt` (default) or
/// `name`; `searchQuery` matches the name; `name`, `from` (inclusive) and `to`
/// (exclusive) narrow it. Snapshots are taken every
/// `metrics.snapshot_interval_secs` while metrics are on.
#[utoipa::path(
    get,
    path = "/v1/admin/metrics",
    tag = "admin",
    params(ListParams<SystemMetricSort>, MetricFilterQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SystemMetricPage),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (a malformed name, from or to: INVALID_FORMAT; to before from: OUT_OF_RANGE; INVALID_CURSOR, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/admin/metrics")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    AdminUser { admin, ctx, db }: AdminUser,
    ListQuery(raw): ListQuery,
    filter: web::Query<MetricFilterQuery>,
) -> Result<HttpResponse> {
    let filter = filter.into_inner();
    let (request, filter) = both(
        PageRequest::<SystemMetricSort>::parse(&raw),
        SystemMetricFilter::parse(
            filter.name.as_deref(),
            filter.from.as_deref(),
            filter.to.as_deref(),
        ),
    )?;
    let page = app::metrics::list(&db, admin, ctx.now, &filter, &request).await?;
    Ok(HttpResponse::Ok().json(SystemMetricPage::from(page)))
}
