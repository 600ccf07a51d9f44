//! `/v1/organizations[/{orgId}[/restore]]`: create, list, read, change, delete
//! and restore organizations.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use app::organizations as service;
use domain::PageRequest;
use domain::admin::PlatformAdmin;
use domain::organizations::OrganizationSort;
use domain::organizations::{CreateOrganizationRequest, UpdateOrganizationRequest};
use domain::organizations::{OrganizationChanges, OrganizationDraft};
use utoipa::OpenApi;

use crate::auth::{Caller, CurrentUser};
use crate::error::{Problem, Result};
use crate::extract::{JsonBody, ListParams, ListQuery};
use crate::openapi::{
    DatabaseProblems, JsonBodyProblems, PersonOnlyProblems, QueryProblems, SessionProblems,
};
use crate::paths::Org;

mod wire;
pub use wire::{OrganizationPage, OrganizationResponse};

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(create, list, get_one, update, delete_one, restore),
    components(schemas(
        CreateOrganizationRequest,
        UpdateOrganizationRequest,
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

/// Creates an organization; the caller becomes its owner.
#[utoipa::path(
    post,
    path = "/v1/organizations",
    tag = "organizations",
    request_body = CreateOrganizationRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = OrganizationResponse, headers(("Location" = String, description = "/v1/organizations/{orgId}"))),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLAN_CHANGE_FORBIDDEN: a plan other than free, from someone who is not a platform admin"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "SLUG_TAKEN"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, SessionProblems, PersonOnlyProblems, DatabaseProblems,
    )
)]
#[post("/organizations")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    CurrentUser { auth, ctx, db }: CurrentUser,
    JsonBody(body): JsonBody<CreateOrganizationRequest>,
) -> Result<HttpResponse> {
    let draft = OrganizationDraft::try_from(body)?;
    let admin = PlatformAdmin::verify(&auth.user).ok();
    let created = service::create(&db, &ctx, draft, admin).await?;
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
    params(ListParams<OrganizationSort>),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrganizationPage),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, PersonOnlyProblems, DatabaseProblems,
    )
)]
#[get("/organizations")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    CurrentUser { ctx, db, .. }: CurrentUser,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::<OrganizationSort>::parse(&raw)?;
    let page = service::list(&db, &ctx, &request).await?;
    Ok(HttpResponse::Ok().json(OrganizationPage::from(page)))
}

/// One of the caller's organizations.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}",
    tag = "organizations",
    params(Org),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = OrganizationResponse),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "ORGANIZATION_NOT_FOUND: missing, deleted, or not the caller's"),
        SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_one(Caller { ctx, db, .. }: Caller, Org(id): Org) -> Result<HttpResponse> {
    let found = service::get(&db, &ctx, id).await?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(found)))
}

/// Changes an organization (admin or owner); answers with the whole organization.
/// Its plan is a platform admin's to change (`PATCH /v1/admin/organizations/{orgId}`).
#[utoipa::path(
    patch,
    path = "/v1/organizations/{orgId}",
    tag = "organizations",
    params(Org),
    request_body = UpdateOrganizationRequest,
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = OrganizationResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE; PLAN_CHANGE_FORBIDDEN: another plan, from someone who is not a platform admin"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "SLUG_TAKEN"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[patch("/organizations/{orgId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    Caller { principal, ctx, db }: Caller,
    Org(id): Org,
    JsonBody(body): JsonBody<UpdateOrganizationRequest>,
) -> Result<HttpResponse> {
    let changes = OrganizationChanges::try_from(body)?;
    let admin = principal.platform_admin();
    let updated = service::update(&db, &ctx, id, changes, admin).await?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(updated)))
}

/// Deletes an organization (owner only) with its members and pending
/// invitations; `POST .../restore` brings them back.
#[utoipa::path(
    delete,
    path = "/v1/organizations/{orgId}",
    tag = "organizations",
    params(Org),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        SessionProblems, DatabaseProblems,
    )
)]
#[delete("/organizations/{orgId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_one(Caller { ctx, db, .. }: Caller, Org(id): Org) -> Result<HttpResponse> {
    service::delete(&db, &ctx, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Restores a deleted organization, for a user who was its owner when it was
/// deleted, with the members and invitations its deletion removed.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/restore",
    tag = "organizations",
    params(Org),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = OrganizationResponse),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "ORGANIZATION_NOT_FOUND: not deleted, or the caller was not its owner"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "SLUG_TAKEN: a live organization took the slug"),
        SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/restore")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn restore(Caller { ctx, db, .. }: Caller, Org(id): Org) -> Result<HttpResponse> {
    let restored = service::restore(&db, &ctx, id).await?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(restored)))
}
