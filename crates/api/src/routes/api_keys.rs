//! `/v1/organizations/{orgId}/api-keys[/{keyId}]`: create (the key is shown
//! once), list (never secrets), revoke.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, delete, get, post, web};
use app::api_keys::{self as service, CreatedApiKey};
use chrono::{DateTime, Utc};
use domain::PageRequest;
use domain::api_keys::ApiKey;
use domain::api_keys::ApiKeySort;
use domain::api_keys::CreateApiKeyRequest;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::{Problem, Result};
use crate::extract::{JsonBody, ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, JsonBodyProblems, QueryProblems, SessionProblems};
use crate::paths::{ApiKeyPath, Org, OrgItem};
use crate::views::page_response;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(create, list, revoke),
    components(schemas(CreateApiKeyRequest, ApiKeyResponse, CreatedApiKeyResponse, ApiKeyPage))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create).service(list).service(revoke);
}

/// A key as the API lists it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyResponse {
    /// `key_...`
    #[schema(example = "key_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// What it is for.
    pub name: String,
    /// `admin` or `member`.
    pub role: String,
    /// The key's public start, `gwk_<prefix>_`: enough to recognise it.
    #[schema(example = "gwk_3f9a1c0d7e2b4a68_")]
    pub prefix: String,
    /// `usr_...` of its creator.
    pub created_by: String,
    /// Last use, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working; `null`: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<ApiKey> for ApiKeyResponse {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id.to_string(),
            name: k.name,
            role: k.role.as_str().to_owned(),
            prefix: format!("{}{}_", infra::security::API_KEY_PREFIX, k.prefix),
            created_by: k.created_by.to_string(),
            last_used_at: k.last_used_at,
            expires_at: k.expires_at,
            created_at: k.created_at,
        }
    }
}

/// A new key, with its secret: shown this once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKeyResponse {
    /// The key.
    #[serde(flatten)]
    pub api_key: ApiKeyResponse,
    /// The whole key for `Authorization: Bearer`; it cannot be shown again.
    #[schema(example = "gwk_3f9a1c0d7e2b4a68_Wm9vZ2xlLWlzLW5vdC1hLXJlYWwta2V5LWF0LWFsbA")]
    pub key: String,
}

impl From<CreatedApiKey> for CreatedApiKeyResponse {
    fn from(created: CreatedApiKey) -> Self {
        Self {
            api_key: ApiKeyResponse::from(created.key),
            key: created.secret,
        }
    }
}

page_response! {
    /// A page of keys.
    ApiKeyPage: ApiKeyResponse, from ApiKey
}

/// Creates a key (a signed-in admin or owner; the key's role at most theirs).
/// The answer carries the whole key, once.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/api-keys",
    tag = "api-keys",
    params(Org),
    request_body = CreateApiKeyRequest,
    security(("bearer" = [])),
    responses(
        Org,
        (status = 201, body = CreatedApiKeyResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE, USER_REQUIRED (an API key cannot create keys), PLAN_LIMIT_REACHED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/api-keys")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    JsonBody(body): JsonBody<CreateApiKeyRequest>,
) -> Result<HttpResponse> {
    let draft = body.into_draft(ctx.now)?;
    let created = service::create(&db, &ctx, org, draft).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, format!("/v1/organizations/{org}/api-keys")))
        .json(CreatedApiKeyResponse::from(created)))
}

/// The organization's keys that are not revoked (expired ones included), never
/// with their secrets. `sortBy`: `createdAt` (default) or `name`; `searchQuery`
/// matches the name.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/api-keys",
    tag = "api-keys",
    params(Org, ListParams<ApiKeySort>),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = ApiKeyPage),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/api-keys")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::<ApiKeySort>::parse(&raw)?;
    let page = service::list(&db, &ctx, org, &request).await?;
    Ok(HttpResponse::Ok().json(ApiKeyPage::from(page)))
}

/// Revokes a key: the next request that carries it is 401.
#[utoipa::path(
    delete,
    path = "/v1/organizations/{orgId}/api-keys/{keyId}",
    tag = "api-keys",
    params(ApiKeyPath),
    security(("bearer" = [])),
    responses(
        ApiKeyPath,
        (status = 204, description = "Revoked"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "ORGANIZATION_NOT_FOUND, API_KEY_NOT_FOUND (also when already revoked)"),
        SessionProblems, DatabaseProblems,
    )
)]
#[delete("/organizations/{orgId}/api-keys/{keyId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn revoke(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): ApiKeyPath,
) -> Result<HttpResponse> {
    service::revoke(&db, &ctx, org, id).await?;
    Ok(HttpResponse::NoContent().finish())
}
