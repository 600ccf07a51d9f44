//! `/v1/admin/feature-flags[/{key}]`: platform admins manage the flags;
//! `GET /v1/organizations/{orgId}/feature-flags`: any member reads their values.

use std::collections::BTreeMap;

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use app::feature_flags as service;
use chrono::{DateTime, Utc};
use domain::PageRequest;
use domain::feature_flags::{
    CreateFeatureFlagRequest, Evaluation, FeatureFlag, FeatureFlagChanges, FeatureFlagDraft,
    FeatureFlagSort, FlagReason, UpdateFeatureFlagRequest,
};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::admin_auth::AdminUser;
use crate::auth::Caller;
use crate::error::{Problem, Result};
use crate::extract::{JsonBody, ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, JsonBodyProblems, QueryProblems, SessionProblems};
use crate::paths::{FlagKeyPath, Org};
use crate::views::page_response;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(create, list, get_one, update, delete_one, evaluate),
    components(schemas(
        FeatureFlagResponse,
        FeatureFlagPage,
        FlagValueResponse,
        FlagValuesResponse,
        CreateFeatureFlagRequest,
        UpdateFeatureFlagRequest,
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
        .service(evaluate);
}

/// A feature flag.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeatureFlagResponse {
    /// `flg_...`
    #[schema(example = "flg_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// Unique; never changes.
    #[schema(example = "new-dashboard")]
    pub key: String,
    /// What it is for.
    pub description: Option<String>,
    /// Off for everyone when false.
    pub enabled: bool,
    /// 0 to 100: the share of the organizations outside the lists that get it.
    pub rollout_percent: u8,
    /// `org_...` IDs that get it (unless denied).
    pub allow_organizations: Vec<String>,
    /// `org_...` IDs that never get it.
    pub deny_organizations: Vec<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<FeatureFlag> for FeatureFlagResponse {
    fn from(f: FeatureFlag) -> Self {
        Self {
            id: f.id.to_string(),
            key: f.key.as_str().to_owned(),
            description: f.description,
            enabled: f.enabled,
            rollout_percent: f.rollout_percent.get(),
            allow_organizations: f
                .allow_organizations
                .iter()
                .map(ToString::to_string)
                .collect(),
            deny_organizations: f
                .deny_organizations
                .iter()
                .map(ToString::to_string)
                .collect(),
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

page_response! {
    /// A page of feature flags.
    FeatureFlagPage: FeatureFlagResponse, from FeatureFlag
}

/// One flag's value for the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagValueResponse {
    /// Whether the organization has the feature.
    pub enabled: bool,
    /// `DISABLED` (the flag is off, or the organization is denied),
    /// `TARGETING_MATCH` (allow list), `SPLIT` (in the rollout) or `DEFAULT`
    /// (outside it).
    #[schema(value_type = String, example = "SPLIT")]
    pub reason: FlagReason,
}

impl From<Evaluation> for FlagValueResponse {
    fn from(e: Evaluation) -> Self {
        Self {
            enabled: e.enabled,
            reason: e.reason,
        }
    }
}

/// Every flag's value for the organization, by key.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagValuesResponse {
    /// Key to value.
    pub flags: BTreeMap<String, FlagValueResponse>,
}

/// Creates a flag (platform admins). `enabled` defaults to false and
/// `rolloutPercent` to 0.
#[utoipa::path(
    post,
    path = "/v1/admin/feature-flags",
    tag = "admin",
    request_body = CreateFeatureFlagRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = FeatureFlagResponse, headers(("Location" = String, description = "/v1/admin/feature-flags/{key}"))),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "FLAG_KEY_TAKEN"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (REQUIRED, INVALID_FORMAT, TOO_LONG, OUT_OF_RANGE, INVALID_ID, TOO_MANY)"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/admin/feature-flags")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    AdminUser { admin, ctx, db }: AdminUser,
    JsonBody(body): JsonBody<CreateFeatureFlagRequest>,
) -> Result<HttpResponse> {
    let draft = FeatureFlagDraft::try_from(body)?;
    let flag = service::create(&db, &ctx, admin, draft).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/v1/admin/feature-flags/{}", flag.key)))
        .json(FeatureFlagResponse::from(flag)))
}

/// The flags (platform admins). `sortBy`: `createdAt` (default) or `key`;
/// `searchQuery` matches the key and the description.
#[utoipa::path(
    get,
    path = "/v1/admin/feature-flags",
    tag = "admin",
    params(ListParams<FeatureFlagSort>),
    security(("bearer" = [])),
    responses(
        (status = 200, body = FeatureFlagPage),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/admin/feature-flags")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    AdminUser { admin, ctx, db }: AdminUser,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::<FeatureFlagSort>::parse(&raw)?;
    let page = service::list(&db, &ctx, admin, &request).await?;
    Ok(HttpResponse::Ok().json(FeatureFlagPage::from(page)))
}

/// One flag (platform admins).
#[utoipa::path(
    get,
    path = "/v1/admin/feature-flags/{key}",
    tag = "admin",
    params(FlagKeyPath),
    security(("bearer" = [])),
    responses(
        FlagKeyPath,
        (status = 200, body = FeatureFlagResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        SessionProblems, DatabaseProblems,
    )
)]
#[get("/admin/feature-flags/{key}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_one(
    AdminUser { admin, ctx, db }: AdminUser,
    FlagKeyPath(key): FlagKeyPath,
) -> Result<HttpResponse> {
    let flag = service::get(&db, &ctx, admin, &key).await?;
    Ok(HttpResponse::Ok().json(FeatureFlagResponse::from(flag)))
}

/// Changes a flag (platform admins); the lists are replaced whole. The key
/// cannot change.
#[utoipa::path(
    patch,
    path = "/v1/admin/feature-flags/{key}",
    tag = "admin",
    params(FlagKeyPath),
    request_body = UpdateFeatureFlagRequest,
    security(("bearer" = [])),
    responses(
        FlagKeyPath,
        (status = 200, body = FeatureFlagResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[patch("/admin/feature-flags/{key}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    AdminUser { admin, ctx, db }: AdminUser,
    FlagKeyPath(key): FlagKeyPath,
    JsonBody(body): JsonBody<UpdateFeatureFlagRequest>,
) -> Result<HttpResponse> {
    let changes = FeatureFlagChanges::try_from(body)?;
    let flag = service::update(&db, &ctx, admin, &key, changes).await?;
    Ok(HttpResponse::Ok().json(FeatureFlagResponse::from(flag)))
}

/// Deletes a flag for good (platform admins).
#[utoipa::path(
    delete,
    path = "/v1/admin/feature-flags/{key}",
    tag = "admin",
    params(FlagKeyPath),
    security(("bearer" = [])),
    responses(
        FlagKeyPath,
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        SessionProblems, DatabaseProblems,
    )
)]
#[delete("/admin/feature-flags/{key}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_one(
    AdminUser { admin, ctx, db }: AdminUser,
    FlagKeyPath(key): FlagKeyPath,
) -> Result<HttpResponse> {
    service::delete(&db, &ctx, admin, &key).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every flag's value for the organization (any member or key), with why.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/feature-flags",
    tag = "feature-flags",
    params(Org),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = FlagValuesResponse),
        SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/feature-flags")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn evaluate(Caller { ctx, db, .. }: Caller, Org(org): Org) -> Result<HttpResponse> {
    let values = service::evaluate(&db, &ctx, org).await?;
    Ok(HttpResponse::Ok().json(FlagValuesResponse {
        flags: values
            .into_iter()
            .map(|(key, value)| (key, FlagValueResponse::from(value)))
            .collect(),
    }))
}
