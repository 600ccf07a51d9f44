//! `/v1/organizations/{orgId}/invitations[/{invitationId}]` (invite, list
//! pending, revoke) and `POST /v1/invitations/accept`.

use actix_web::{HttpResponse, delete, get, post, web};
use app::invitations as service;
use chrono::{DateTime, Utc};
use domain::PageRequest;
use domain::invitations::InvitationSort;
use domain::invitations::{AcceptInvitationRequest, CreateInvitationRequest};
use domain::invitations::{Invitation, InvitationDraft};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::members::MemberResponse;
use crate::auth::{Caller, CurrentUser};
use crate::error::{Problem, Result};
use crate::extract::{JsonBody, ListParams, ListQuery};
use crate::openapi::{
    DatabaseProblems, JsonBodyProblems, QueryProblems, RateLimitProblems, SessionProblems,
};
use crate::paths::{InvitationPath, Org, OrgItem};
use crate::rate_limit::{RateLimit, limits};
use crate::views::page_response;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(create, list, delete_one, accept),
    components(schemas(
        CreateInvitationRequest,
        AcceptInvitationRequest,
        InvitationResponse,
        InvitationPage
    ))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(delete_one)
        .service(accept);
}

/// An invitation as the API shows it (never with its token).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationResponse {
    /// `inv_...`
    #[schema(example = "inv_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// Who is invited.
    pub email: String,
    /// The role they will get.
    pub role: String,
    /// `usr_...` of the inviter.
    pub invited_by: String,
    /// After this instant it can no longer be accepted.
    pub expires_at: DateTime<Utc>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<Invitation> for InvitationResponse {
    fn from(i: Invitation) -> Self {
        Self {
            id: i.id.to_string(),
            email: i.email.into_inner(),
            role: i.role.as_str().to_owned(),
            invited_by: i.invited_by.to_string(),
            expires_at: i.expires_at,
            created_at: i.created_at,
        }
    }
}

page_response! {
    /// A page of pending invitations.
    InvitationPage: InvitationResponse, from Invitation
}

/// Invites someone by email (admin or owner; only an owner invites an owner).
/// The token goes to the invitee by email (the outbox), never into the response.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/invitations",
    tag = "invitations",
    params(Org),
    request_body = CreateInvitationRequest,
    security(("bearer" = [])),
    responses(
        Org,
        (status = 201, body = InvitationResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE, USER_REQUIRED (an API key cannot invite), PLAN_LIMIT_REACHED"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "ALREADY_MEMBER, INVITATION_PENDING"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/invitations")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    JsonBody(body): JsonBody<CreateInvitationRequest>,
) -> Result<HttpResponse> {
    let draft = InvitationDraft::try_from(body)?;
    let invitation = service::create(&db, &ctx, org, draft).await?;
    Ok(HttpResponse::Created().json(InvitationResponse::from(invitation)))
}

/// The organization's pending invitations (admin or owner). `sortBy`:
/// `createdAt` (default) or `email`; `searchQuery` matches the email.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/invitations",
    tag = "invitations",
    params(Org, ListParams<InvitationSort>),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = InvitationPage),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/invitations")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::<InvitationSort>::parse(&raw)?;
    let page = service::list(&db, &ctx, org, &request).await?;
    Ok(HttpResponse::Ok().json(InvitationPage::from(page)))
}

/// Revokes a pending invitation (admin or owner).
#[utoipa::path(
    delete,
    path = "/v1/organizations/{orgId}/invitations/{invitationId}",
    tag = "invitations",
    params(InvitationPath),
    security(("bearer" = [])),
    responses(
        InvitationPath,
        (status = 204, description = "Revoked"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "ORGANIZATION_NOT_FOUND, INVITATION_NOT_FOUND (also when no longer pending)"),
        SessionProblems, DatabaseProblems,
    )
)]
#[delete("/organizations/{orgId}/invitations/{invitationId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_one(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): InvitationPath,
) -> Result<HttpResponse> {
    service::revoke(&db, &ctx, org, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Accepts an invitation as the signed-in user, whose email must be the
/// invitation's; answers with the new membership.
#[utoipa::path(
    post,
    path = "/v1/invitations/accept",
    tag = "invitations",
    request_body = AcceptInvitationRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = MemberResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INVITATION_EMAIL_MISMATCH, USER_REQUIRED (an API key)"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "ALREADY_MEMBER"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "INVALID_TOKEN (unknown, expired, revoked, used, or its organization deleted), VALIDATION_FAILED"),
        JsonBodyProblems, RateLimitProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/invitations/accept")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn accept(
    _: RateLimit<limits::InvitationAccept>,
    CurrentUser { auth, ctx, db }: CurrentUser,
    JsonBody(body): JsonBody<AcceptInvitationRequest>,
) -> Result<HttpResponse> {
    let token = body.into_token()?;
    let member = service::accept(&db, &ctx, &auth.user, &token).await?;
    Ok(HttpResponse::Ok().json(MemberResponse::from(member)))
}
