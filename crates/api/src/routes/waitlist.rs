//! `POST /v1/waitlist`.

use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use domain::waitlist::JoinWaitlistRequest;
use domain::{NewWaitlistEntry, WaitlistEntry};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::auth::Anonymous;
use crate::error::{Problem, Result};
use crate::extract::JsonBody;
use crate::openapi::{DatabaseProblems, JsonBodyProblems, RateLimitProblems};
use crate::rate_limit::{RateLimit, limits};

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(create),
    components(schemas(JoinWaitlistRequest, WaitlistEntryResponse))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create);
}

/// A waitlist entry as returned.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitlistEntryResponse {
    /// Sequential number.
    pub id: i64,
    /// The normalized email.
    pub email: String,
    /// `employee` or `organization`.
    pub role: String,
    /// When the entry was made.
    pub created_at: DateTime<Utc>,
}

impl From<WaitlistEntry> for WaitlistEntryResponse {
    fn from(entry: WaitlistEntry) -> Self {
        Self {
            id: entry.id,
            email: entry.email.into_inner(),
            role: entry.role.as_str().to_owned(),
            created_at: entry.created_at,
        }
    }
}

/// Joins the waitlist. The same email in any case is 409 (`EMAIL_TAKEN`).
#[utoipa::path(
    post,
    path = "/v1/waitlist",
    tag = "waitlist",
    request_body = JoinWaitlistRequest,
    responses(
        (status = 201, body = WaitlistEntryResponse),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "EMAIL_TAKEN"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, RateLimitProblems, DatabaseProblems,
    )
)]
#[post("/waitlist")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    _: RateLimit<limits::Waitlist>,
    Anonymous { ctx, db }: Anonymous,
    JsonBody(body): JsonBody<JoinWaitlistRequest>,
) -> Result<HttpResponse> {
    let new = NewWaitlistEntry::try_from(body)?;
    let entry = app::waitlist::join(&db, &ctx, new).await?;
    Ok(HttpResponse::Created().json(WaitlistEntryResponse::from(entry)))
}
