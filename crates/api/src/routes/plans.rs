//! `/v1/admin/plans[/{planKey}]`: platform admins manage the plans whose caps
//! every cap check reads.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use app::plans as service;
use chrono::{DateTime, Utc};
use domain::PageRequest;
use domain::plans::{CreatePlanRequest, Plan, PlanChanges, PlanDraft, PlanSort, UpdatePlanRequest};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::admin_auth::AdminUser;
use crate::error::{Problem, Result};
use crate::extract::{JsonBody, ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, JsonBodyProblems, QueryProblems, SessionProblems};
use crate::paths::PlanKeyPath;
use crate::views::page_response;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(create, list, get_one, update, delete_one),
    components(schemas(PlanResponse, PlanPage, CreatePlanRequest, UpdatePlanRequest))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(get_one)
        .service(update)
        .service(delete_one);
}

/// A plan.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanResponse {
    /// `pln_...`
    #[schema(example = "pln_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// Unique; never changes.
    #[schema(example = "pro")]
    pub key: String,
    /// Display name.
    pub name: String,
    /// Members (owners included) plus pending invitations.
    pub max_members: u64,
    /// API keys neither revoked nor expired.
    pub max_api_keys: u64,
    /// Jobs that are not archived.
    pub max_jobs: u64,
    /// Runs in progress at once.
    pub max_concurrent_tasks: u64,
    /// Tokens per calendar month (UTC).
    pub monthly_token_quota: u64,
    /// Price per period, in the currency's smallest unit.
    pub price_cents: u64,
    /// ISO 4217, lowercase.
    #[schema(example = "usd")]
    pub currency: String,
    /// The billing provider's price that maps to this plan.
    pub provider_price_id: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Plan> for PlanResponse {
    fn from(p: Plan) -> Self {
        Self {
            id: p.id.to_string(),
            key: p.key.as_str().to_owned(),
            name: p.name,
            max_members: p.limits.max_members,
            max_api_keys: p.limits.max_api_keys,
            max_jobs: p.limits.max_jobs,
            max_concurrent_tasks: p.limits.max_concurrent_tasks,
            monthly_token_quota: p.limits.monthly_token_quota,
            price_cents: p.price_cents,
            currency: p.currency.as_str().to_owned(),
            provider_price_id: p.provider_price_id,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

page_response! {
    /// A page of plans.
    PlanPage: PlanResponse, from Plan
}

/// Creates a plan (platform admins). `priceCents` defaults to 0 and
/// `currency` to `usd`.
#[utoipa::path(
    post,
    path = "/v1/admin/plans",
    tag = "admin",
    request_body = CreatePlanRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = PlanResponse, headers(("Location" = String, description = "/v1/admin/plans/{planKey}"))),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "PLAN_KEY_TAKEN, PROVIDER_PRICE_TAKEN"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (REQUIRED, INVALID_FORMAT, OUT_OF_RANGE, TOO_LONG)"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/admin/plans")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    AdminUser { admin, ctx, db }: AdminUser,
    JsonBody(body): JsonBody<CreatePlanRequest>,
) -> Result<HttpResponse> {
    let draft = PlanDraft::try_from(body)?;
    let plan = service::create(&db, &ctx, admin, draft).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/v1/admin/plans/{}", plan.key)))
        .json(PlanResponse::from(plan)))
}

/// The plans (platform admins). `sortBy`: `createdAt` (default) or `key`;
/// `searchQuery` matches the key and the name.
#[utoipa::path(
    get,
    path = "/v1/admin/plans",
    tag = "admin",
    params(ListParams<PlanSort>),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PlanPage),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/admin/plans")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    AdminUser { admin, ctx, db }: AdminUser,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::<PlanSort>::parse(&raw)?;
    let page = service::list(&db, &ctx, admin, &request).await?;
    Ok(HttpResponse::Ok().json(PlanPage::from(page)))
}

/// One plan (platform admins).
#[utoipa::path(
    get,
    path = "/v1/admin/plans/{planKey}",
    tag = "admin",
    params(PlanKeyPath),
    security(("bearer" = [])),
    responses(
        PlanKeyPath,
        (status = 200, body = PlanResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        SessionProblems, DatabaseProblems,
    )
)]
#[get("/admin/plans/{planKey}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_one(
    AdminUser { admin, ctx, db }: AdminUser,
    PlanKeyPath(key): PlanKeyPath,
) -> Result<HttpResponse> {
    let plan = service::get(&db, &ctx, admin, &key).await?;
    Ok(HttpResponse::Ok().json(PlanResponse::from(plan)))
}

/// Changes a plan (platform admins): its caps apply to every organization on
/// it from the next check. The key cannot change.
#[utoipa::path(
    patch,
    path = "/v1/admin/plans/{planKey}",
    tag = "admin",
    params(PlanKeyPath),
    request_body = UpdatePlanRequest,
    security(("bearer" = [])),
    responses(
        PlanKeyPath,
        (status = 200, body = PlanResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "PROVIDER_PRICE_TAKEN"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[patch("/admin/plans/{planKey}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    AdminUser { admin, ctx, db }: AdminUser,
    PlanKeyPath(key): PlanKeyPath,
    JsonBody(body): JsonBody<UpdatePlanRequest>,
) -> Result<HttpResponse> {
    let changes = PlanChanges::try_from(body)?;
    let plan = service::update(&db, &ctx, admin, &key, changes).await?;
    Ok(HttpResponse::Ok().json(PlanResponse::from(plan)))
}

/// Deletes a plan for good (platform admins): not `free` (409
/// `PLAN_REQUIRED`), not while an organization is on it (409 `PLAN_IN_USE`).
#[utoipa::path(
    delete,
    path = "/v1/admin/plans/{planKey}",
    tag = "admin",
    params(PlanKeyPath),
    security(("bearer" = [])),
    responses(
        PlanKeyPath,
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "PLAN_REQUIRED, PLAN_IN_USE"),
        SessionProblems, DatabaseProblems,
    )
)]
#[delete("/admin/plans/{planKey}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_one(
    AdminUser { admin, ctx, db }: AdminUser,
    PlanKeyPath(key): PlanKeyPath,
) -> Result<HttpResponse> {
    service::delete(&db, &ctx, admin, &key).await?;
    Ok(HttpResponse::NoContent().finish())
}
