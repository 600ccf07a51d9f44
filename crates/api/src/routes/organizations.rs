//! `/v1/organizations[/{orgId}[/restore]]`: create, list, read, change, delete
//! and restore organizations.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use domain::tenancy::{
    ORGANIZATION_NOT_FOUND, ORGANIZATION_SORT_FIELDS, OrganizationChanges, OrganizationDraft,
    OrganizationMembership,
};
use domain::{DomainError, OrganizationId, Page, PageRequest, PersonName, Plan, Slug, Validation};
use infra::services::organizations as service;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::auth::CurrentUser;
use crate::error::{Problem, Result};
use crate::extract::{JsonBody, ListParams, ListQuery};
use crate::state::AppState;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(create, list, get_one, update, delete_one, restore),
    components(schemas(
        CreateOrganizationBody,
        UpdateOrganizationBody,
        OrganizationResponse,
        OrganizationPage
    ))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(get_one)
        .service(update)
        .service(delete_one)
        .service(restore);
}

/// An organization ID from a path: anything that is not one (a garbage string, a
/// `usr_` ID) is the organization's 404, like an organization of another tenant.
pub(crate) fn organization_id(raw: &str) -> Result<OrganizationId, DomainError> {
    OrganizationId::parse(raw).map_err(|_| ORGANIZATION_NOT_FOUND)
}

/// A new organization as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrganizationBody {
    /// Display name, 1 to 100 characters after trimming.
    #[schema(example = "Acme, Inc.")]
    pub name: Option<String>,
    /// `^[a-z0-9]+(-[a-z0-9]+)*$`, 3 to 63 characters; derived from the name when
    /// absent (`acme-inc`, then `acme-inc-2`, ... when taken).
    #[schema(example = "acme")]
    pub slug: Option<String>,
    /// `free` (default), `pro` or `enterprise`.
    #[schema(example = "free")]
    pub plan: Option<String>,
}

impl TryFrom<CreateOrganizationBody> for OrganizationDraft {
    type Error = DomainError;

    fn try_from(body: CreateOrganizationBody) -> Result<Self, DomainError> {
        let mut v = Validation::default();
        let name = v
            .required("name", body.name)
            .and_then(|n| v.check("name", PersonName::parse(&n)));
        // An absent optional field is `Some(None)`; a present one that breaks a
        // rule is `None`, so `finish` fails.
        let slug = match body.slug {
            None => Some(None),
            Some(s) => v.check("slug", Slug::parse(&s)).map(Some),
        };
        let plan = match body.plan {
            None => Some(None),
            Some(p) => v.check("plan", p.parse::<Plan>()).map(Some),
        };
        let (name, (slug, plan)) = v.finish(name.zip(slug.zip(plan)))?;
        Ok(Self {
            name,
            slug,
            plan: plan.unwrap_or_default(),
        })
    }
}

/// A change to an organization as sent; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateOrganizationBody {
    /// Display name, 1 to 100 characters after trimming.
    pub name: Option<String>,
    /// A new slug (409 `SLUG_TAKEN` when a live organization has it).
    pub slug: Option<String>,
    /// `free`, `pro` or `enterprise`.
    pub plan: Option<String>,
}

impl TryFrom<UpdateOrganizationBody> for OrganizationChanges {
    type Error = DomainError;

    fn try_from(body: UpdateOrganizationBody) -> Result<Self, DomainError> {
        let mut v = Validation::default();
        let name = body.name.map(|n| v.check("name", PersonName::parse(&n)));
        let slug = body.slug.map(|s| v.check("slug", Slug::parse(&s)));
        let plan = body.plan.map(|p| v.check("plan", p.parse::<Plan>()));
        let changes = Self {
            name: name.flatten(),
            slug: slug.flatten(),
            plan: plan.flatten(),
        };
        v.finish(Some(changes))
    }
}

/// An organization as one of its members sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationResponse {
    /// `org_...`
    #[schema(example = "org_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Unique among live organizations.
    pub slug: String,
    /// `free`, `pro` or `enterprise`.
    pub plan: String,
    /// The caller's role: `owner`, `admin` or `member`.
    pub role: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<OrganizationMembership> for OrganizationResponse {
    fn from(m: OrganizationMembership) -> Self {
        let org = m.organization;
        Self {
            id: org.id.to_string(),
            name: org.name,
            slug: org.slug.into_inner(),
            plan: org.plan.as_str().to_owned(),
            role: m.role.as_str().to_owned(),
            created_at: org.created_at,
            updated_at: org.updated_at,
        }
    }
}

/// A page of organizations.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationPage {
    /// This page's organizations.
    pub items: Vec<OrganizationResponse>,
    /// Whether another page follows.
    pub has_next: bool,
    /// Pass as `cursor` to get the next page (keyset, same order).
    pub next_cursor: Option<String>,
}

impl From<Page<OrganizationMembership>> for OrganizationPage {
    fn from(page: Page<OrganizationMembership>) -> Self {
        let page = page.map(OrganizationResponse::from);
        Self {
            items: page.items,
            has_next: page.has_next,
            next_cursor: page.next_cursor,
        }
    }
}

/// Creates an organization; the caller becomes its owner.
#[utoipa::path(
    post,
    path = "/v1/organizations",
    tag = "organizations",
    request_body = CreateOrganizationBody,
    security(("bearer" = [])),
    responses(
        (status = 201, body = OrganizationResponse, headers(("Location" = String, description = "/v1/organizations/{orgId}"))),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "BAD_REQUEST: not JSON"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "UNAUTHENTICATED"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "SLUG_TAKEN"),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "PAYLOAD_TOO_LARGE"),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "UNSUPPORTED_MEDIA_TYPE"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "DATABASE_UNAVAILABLE"),
    )
)]
#[post("/organizations")]
#[tracing::instrument(skip_all)]
pub async fn create(
    state: web::Data<AppState>,
    CurrentUser(auth): CurrentUser,
    JsonBody(body): JsonBody<CreateOrganizationBody>,
) -> Result<HttpResponse> {
    let draft = OrganizationDraft::try_from(body)?;
    let created = service::create(&state.db, state.now(), auth.user.id, draft).await?;
    let location = format!("/v1/organizations/{}", created.organization.id);
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, location))
        .json(OrganizationResponse::from(created)))
}

/// The caller's organizations. `sortBy`: `createdAt` (default) or `name`;
/// `searchQuery` matches the name.
#[utoipa::path(
    get,
    path = "/v1/organizations",
    tag = "organizations",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrganizationPage),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "BAD_REQUEST: unreadable query string"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "UNAUTHENTICATED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "DATABASE_UNAVAILABLE"),
    )
)]
#[get("/organizations")]
#[tracing::instrument(skip_all)]
pub async fn list(
    state: web::Data<AppState>,
    CurrentUser(auth): CurrentUser,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::parse(&raw, ORGANIZATION_SORT_FIELDS)?;
    let page = service::list(&state.db, state.now(), auth.user.id, &request).await?;
    Ok(HttpResponse::Ok().json(OrganizationPage::from(page)))
}

/// One of the caller's organizations.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}",
    tag = "organizations",
    params(("orgId" = String, Path, description = "`org_...`")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrganizationResponse),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "UNAUTHENTICATED"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "ORGANIZATION_NOT_FOUND: missing, deleted, or not the caller's"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "DATABASE_UNAVAILABLE"),
    )
)]
#[get("/organizations/{orgId}")]
#[tracing::instrument(skip_all)]
pub async fn get_one(
    state: web::Data<AppState>,
    CurrentUser(auth): CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = organization_id(&path)?;
    let found = service::get(&state.db, state.now(), auth.user.id, id).await?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(found)))
}

/// Changes an organization (admin or owner); answers with the whole organization.
#[utoipa::path(
    patch,
    path = "/v1/organizations/{orgId}",
    tag = "organizations",
    params(("orgId" = String, Path, description = "`org_...`")),
    request_body = UpdateOrganizationBody,
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrganizationResponse),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "BAD_REQUEST: not JSON"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "UNAUTHENTICATED"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "ORGANIZATION_NOT_FOUND"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "SLUG_TAKEN"),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "PAYLOAD_TOO_LARGE"),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "UNSUPPORTED_MEDIA_TYPE"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "DATABASE_UNAVAILABLE"),
    )
)]
#[patch("/organizations/{orgId}")]
#[tracing::instrument(skip_all)]
pub async fn update(
    state: web::Data<AppState>,
    CurrentUser(auth): CurrentUser,
    path: web::Path<String>,
    JsonBody(body): JsonBody<UpdateOrganizationBody>,
) -> Result<HttpResponse> {
    let id = organization_id(&path)?;
    let changes = OrganizationChanges::try_from(body)?;
    let updated = service::update(&state.db, state.now(), auth.user.id, id, changes).await?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(updated)))
}

/// Deletes an organization (owner only) with its members and pending
/// invitations; `POST .../restore` brings them back.
#[utoipa::path(
    delete,
    path = "/v1/organizations/{orgId}",
    tag = "organizations",
    params(("orgId" = String, Path, description = "`org_...`")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "UNAUTHENTICATED"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "ORGANIZATION_NOT_FOUND"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "DATABASE_UNAVAILABLE"),
    )
)]
#[delete("/organizations/{orgId}")]
#[tracing::instrument(skip_all)]
pub async fn delete_one(
    state: web::Data<AppState>,
    CurrentUser(auth): CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = organization_id(&path)?;
    service::delete(&state.db, state.now(), auth.user.id, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Restores a deleted organization, for a user who was its owner when it was
/// deleted, with the members and invitations its deletion removed.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/restore",
    tag = "organizations",
    params(("orgId" = String, Path, description = "`org_...`")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrganizationResponse),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "UNAUTHENTICATED"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "ORGANIZATION_NOT_FOUND: not deleted, or the caller was not its owner"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "SLUG_TAKEN: a live organization took the slug"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "DATABASE_UNAVAILABLE"),
    )
)]
#[post("/organizations/{orgId}/restore")]
#[tracing::instrument(skip_all)]
pub async fn restore(
    state: web::Data<AppState>,
    CurrentUser(auth): CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let id = organization_id(&path)?;
    let restored = service::restore(&state.db, state.now(), auth.user.id, id).await?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(restored)))
}
