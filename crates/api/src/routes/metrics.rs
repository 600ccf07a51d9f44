//! `GET /metrics`: Prometheus' scrape (see [`crate::metrics`]).

use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, get, web};
use domain::DomainError;

use crate::auth::Anonymous;
use crate::error::Result;
use crate::metrics::{Access, Metrics};

/// What `/metrics` answers when metrics are off.
pub const METRICS_DISABLED: DomainError = DomainError::not_found("metrics", "METRICS_DISABLED");

/// The text format's content type (version 0.0.4).
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every metric in Prometheus text format: `http_requests_total` and
/// `http_request_duration_seconds` by method, route pattern and status, the
/// pool, due jobs and their lag, the outbox backlog. 404 unless
/// `metrics.enabled`; when `metrics.bearer_token` is set, 401 without
/// `Authorization: Bearer <that token>`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "health",
    security((), ("bearer" = [])),
    responses(
        (status = 200, body = String, content_type = "text/plain", description = "The Prometheus text format (version 0.0.4)"),
        (status = 401, body = crate::error::Problem, content_type = "application/problem+json", description = "UNAUTHENTICATED: metrics.bearer_token is set and the request does not carry it"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json", description = "METRICS_DISABLED: metrics.enabled is off"),
    )
)]
#[get("/metrics")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn scrape(
    req: HttpRequest,
    metrics: web::Data<Metrics>,
    Anonymous { ctx, db }: Anonymous,
) -> Result<HttpResponse> {
    let authorization = req.headers().get(AUTHORIZATION).map(|v| v.as_bytes());
    match metrics.access(authorization) {
        Access::Disabled => return Err(METRICS_DISABLED.into()),
        Access::Denied => return Err(DomainError::UNAUTHENTICATED.into()),
        Access::Granted => {}
    }
    let body = metrics.render(&db, ctx.now).await;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, TEXT_FORMAT))
        .insert_header((CACHE_CONTROL, "no-store"))
        .body(body))
}
