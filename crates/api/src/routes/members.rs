//! `/v1/organizations/{orgId}/members[/{memberId}]`: list members, change a
//! member's role, remove a member or leave.

use actix_web::{HttpResponse, delete, get, patch, web};
use app::members as service;
use chrono::{DateTime, Utc};
use domain::members::MemberSort;
use domain::members::MemberWithUser;
use domain::members::UpdateMemberRequest;
use domain::{MemberRole, PageRequest};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::auth::{Bearer, Caller};
use crate::error::{Problem, Result};
use crate::extract::{JsonBody, ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, JsonBodyProblems, QueryProblems, SessionProblems};
use crate::paths::{MemberPath, Org, OrgItem};
use crate::views::UserResponse;
use crate::views::page_response;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(list, update, delete_one),
    components(schemas(UpdateMemberRequest, MemberResponse, MemberPage))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list).service(update).service(delete_one);
}

/// A membership as the API shows it, with its user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberResponse {
    /// `mem_...`
    #[schema(example = "mem_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// `owner`, `admin` or `member`.
    pub role: String,
    /// When the user joined.
    pub created_at: DateTime<Utc>,
    /// The member's user.
    pub user: UserResponse,
}

impl From<MemberWithUser> for MemberResponse {
    fn from(m: MemberWithUser) -> Self {
        Self {
            id: m.member.id.to_string(),
            role: m.member.role.as_str().to_owned(),
            created_at: m.member.created_at,
            user: UserResponse::from(m.user),
        }
    }
}

page_response! {
    /// A page of members.
    MemberPage: MemberResponse, from MemberWithUser
}

/// The organization's members with their users. `sortBy`: `createdAt`
/// (default), `email`, `firstName`, `lastName` or `role` (alphabetical);
/// `searchQuery` matches first name, last name or email, literally.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/members",
    tag = "members",
    params(Org, ListParams<MemberSort>),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = MemberPage),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/members")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    bearer: Bearer,
    Org(org): Org,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = match PageRequest::<MemberSort>::parse(&raw) {
        Ok(request) => request,
        Err(err) => return Err(bearer.refuse(err.into()).await),
    };
    let Bearer {
        token,
        ctx,
        db,
        sessions,
    } = bearer;
    let page = service::list_as(&db, &token, ctx, &sessions, org, &request).await?;
    Ok(HttpResponse::Ok().json(MemberPage::from(page)))
}

/// Changes a member's role (admin or owner; only an owner grants or takes away
/// `owner`). The last owner cannot be demoted.
#[utoipa::path(
    patch,
    path = "/v1/organizations/{orgId}/members/{memberId}",
    tag = "members",
    params(MemberPath),
    request_body = UpdateMemberRequest,
    security(("bearer" = [])),
    responses(
        MemberPath,
        (status = 200, body = MemberResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "LAST_OWNER"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[patch("/organizations/{orgId}/members/{memberId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): MemberPath,
    JsonBody(body): JsonBody<UpdateMemberRequest>,
) -> Result<HttpResponse> {
    let role = MemberRole::try_from(body)?;
    let member = service::change_role(&db, &ctx, org, id, role).await?;
    Ok(HttpResponse::Ok().json(MemberResponse::from(member)))
}

/// Removes a member (admin or owner; only an owner removes an owner), or leaves
/// when it is the caller's own membership. The last owner cannot leave.
#[utoipa::path(
    delete,
    path = "/v1/organizations/{orgId}/members/{memberId}",
    tag = "members",
    params(MemberPath),
    security(("bearer" = [])),
    responses(
        MemberPath,
        (status = 204, description = "Removed"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "LAST_OWNER"),
        SessionProblems, DatabaseProblems,
    )
)]
#[delete("/organizations/{orgId}/members/{memberId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_one(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): MemberPath,
) -> Result<HttpResponse> {
    service::remove(&db, &ctx, org, id).await?;
    Ok(HttpResponse::NoContent().finish())
}
