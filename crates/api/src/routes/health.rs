//! Liveness and readiness.

use actix_web::{HttpResponse, get};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Anonymous;
use crate::error::Result;
use crate::openapi::DatabaseProblems;

/// The state of a probe.
#[derive(Serialize, ToSchema)]
pub struct Status {
    /// `ok` or `ready`.
    pub status: &'static str,
}

/// Liveness: the process is up. Stays 200 while the database is down.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, body = Status)))]
#[get("/health")]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// Readiness: the database answers. 503 (`DATABASE_UNAVAILABLE`) otherwise,
/// within the pool's acquire timeout.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "health",
    responses(
        (status = 200, body = Status),
        DatabaseProblems,
    )
)]
#[get("/ready")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn ready(Anonymous { db, .. }: Anonymous) -> Result<HttpResponse> {
    db.ping().await?;
    Ok(HttpResponse::Ok().json(Status { status: "ready" }))
}
