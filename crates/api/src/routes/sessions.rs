//! `/v1/me/sessions[/{sessionId}]`: the signed-in user's live sessions (never
//! their tokens or token hashes), ending one of them, or all but the current one.

use actix_web::{HttpResponse, delete, get, web};
use app::sessions as service;
use chrono::{DateTime, Utc};
use domain::auth::SessionSort;
use domain::{PageRequest, Session, SessionId};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::auth::CurrentUser;
use crate::error::{Problem, Result};
use crate::extract::{ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, PersonOnlyProblems, QueryProblems, SessionProblems};
use crate::paths::{Item, SessionPath};
use crate::state::AppState;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(list, revoke, revoke_others),
    components(schemas(ActiveSessionResponse, ActiveSessionPage)),
    tags((name = "sessions", description = "The signed-in user's sessions"))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list).service(revoke).service(revoke_others);
}

/// A live session as its user sees it: never its token nor the token's hash.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveSessionResponse {
    /// `ses_...`
    #[schema(example = "ses_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// Whether this is the session the request was made with.
    pub current: bool,
    /// Sign-in time.
    pub created_at: DateTime<Utc>,
    /// When it was last extended (sign-in counts); a use more than a day later
    /// extends it again.
    pub last_refreshed_at: DateTime<Utc>,
    /// When it ends unless used before; never more than
    /// `auth.session_max_lifetime_days` after sign-in.
    pub expires_at: DateTime<Utc>,
    /// The client's address at sign-in.
    pub ip: Option<String>,
    /// The client's `User-Agent` at sign-in.
    pub user_agent: Option<String>,
}

impl ActiveSessionResponse {
    fn of(session: Session, current: SessionId) -> Self {
        Self {
            id: session.id.to_string(),
            current: session.id == current,
            created_at: session.created_at,
            last_refreshed_at: session.last_refreshed_at,
            expires_at: session.expires_at,
            ip: session.ip,
            user_agent: session.user_agent,
        }
    }
}

/// A page of sessions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveSessionPage {
    /// This page's items.
    pub items: Vec<ActiveSessionResponse>,
    /// Whether another page follows.
    pub has_next: bool,
    /// Pass as `cursor` to get the next page (keyset, same order).
    pub next_cursor: Option<String>,
}

/// The signed-in user's live sessions (not signed out, revoked or expired), the
/// one of this request marked `current`. `sortBy`: `createdAt`; `searchQuery`
/// matches the user agent and the address.
#[utoipa::path(
    get,
    path = "/v1/me/sessions",
    tag = "sessions",
    params(ListParams<SessionSort>),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ActiveSessionPage),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, PersonOnlyProblems, DatabaseProblems,
    )
)]
#[get("/me/sessions")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    state: web::Data<AppState>,
    CurrentUser { auth, ctx, db }: CurrentUser,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::<SessionSort>::parse(&raw)?;
    let page = service::list_own(&db, &ctx, &state.sessions, &request).await?;
    let current = auth.session.id;
    let page = page.map(|session| ActiveSessionResponse::of(session, current));
    Ok(HttpResponse::Ok().json(ActiveSessionPage {
        items: page.items,
        has_next: page.has_next,
        next_cursor: page.next_cursor,
    }))
}

/// Ends one of the signed-in user's sessions (the current one too: then it is a
/// sign-out). Its token is refused from the next request on.
#[utoipa::path(
    delete,
    path = "/v1/me/sessions/{sessionId}",
    tag = "sessions",
    params(SessionPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Ended"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "SESSION_NOT_FOUND: another user's, unknown, malformed, or already ended"),
        SessionProblems, PersonOnlyProblems, DatabaseProblems,
    )
)]
#[delete("/me/sessions/{sessionId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn revoke(
    state: web::Data<AppState>,
    CurrentUser { ctx, db, .. }: CurrentUser,
    Item(id): SessionPath,
) -> Result<HttpResponse> {
    service::revoke_own(&db, &ctx, &state.sessions, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ends every session of the signed-in user but the current one ("sign out
/// everywhere else").
#[utoipa::path(
    delete,
    path = "/v1/me/sessions",
    tag = "sessions",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every other session ended"),
        SessionProblems, PersonOnlyProblems, DatabaseProblems,
    )
)]
#[delete("/me/sessions")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn revoke_others(
    state: web::Data<AppState>,
    CurrentUser { auth, ctx, db }: CurrentUser,
) -> Result<HttpResponse> {
    service::revoke_own_others(&db, &ctx, &state.sessions, auth.session.id).await?;
    Ok(HttpResponse::NoContent().finish())
}
