//! `PATCH /v1/admin/organizations/{orgId}`: a platform admin sets an
//! organization's plan (organization admins cannot: 403 `PLAN_CHANGE_FORBIDDEN`).

use actix_web::{HttpResponse, patch};
use app::admin as service;
use chrono::{DateTime, Utc};
use domain::organizations::SetPlanRequest;
use domain::{Organization, PlanKey};
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin_auth::AdminUser;
use crate::error::{Problem, Result};
use crate::extract::JsonBody;
use crate::openapi::{DatabaseProblems, JsonBodyProblems, SessionProblems};
use crate::paths::{Item, OrganizationPath};

/// An organization as a platform admin sees it: no caller's role, since the
/// admin need not be a member.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminOrganizationResponse {
    /// `org_...`
    #[schema(example = "org_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Unique among live organizations.
    pub slug: String,
    /// `free`, `pro` or `enterprise`.
    pub plan: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Organization> for AdminOrganizationResponse {
    fn from(org: Organization) -> Self {
        Self {
            id: org.id.to_string(),
            name: org.name,
            slug: org.slug.into_inner(),
            plan: org.plan.as_str().to_owned(),
            created_at: org.created_at,
            updated_at: org.updated_at,
        }
    }
}

/// Sets an organization's plan, audited `organization.updated` in the
/// organization; the same plan again is a 200 that changes nothing.
#[utoipa::path(
    patch,
    path = "/v1/admin/organizations/{orgId}",
    tag = "admin",
    params(OrganizationPath),
    request_body = SetPlanRequest,
    security(("bearer" = [])),
    responses(
        OrganizationPath,
        (status = 200, body = AdminOrganizationResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[patch("/admin/organizations/{orgId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_plan(
    AdminUser { admin, ctx, db }: AdminUser,
    Item(id): OrganizationPath,
    JsonBody(body): JsonBody<SetPlanRequest>,
) -> Result<HttpResponse> {
    let plan = PlanKey::try_from(body)?;
    let organization = service::set_organization_plan(&db, &ctx, admin, id, plan).await?;
    Ok(HttpResponse::Ok().json(AdminOrganizationResponse::from(organization)))
}
