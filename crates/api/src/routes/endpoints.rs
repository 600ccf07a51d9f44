//! `/v1/organizations/{orgId}/endpoints[/{endpointId}]`: create, list, read,
//! change and delete the services an organization's jobs call. A secret is
//! written, never read: responses say `hasSecret` and `secretHint` only.

use std::collections::BTreeMap;

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use app::endpoints as service;
use chrono::{DateTime, Utc};
use domain::PageRequest;
use domain::endpoints::{
    CreateEndpointRequest, Endpoint, EndpointSort, HttpMethod, UpdateEndpointRequest,
};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::{Problem, Result};
use crate::extract::{JsonBody, ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, JsonBodyProblems, QueryProblems, SessionProblems};
use crate::paths::{EndpointPath, Org, OrgItem};
use crate::state::AppState;
use crate::views::page_response;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(create, list, get_one, update, delete_one),
    components(schemas(
        CreateEndpointRequest,
        UpdateEndpointRequest,
        EndpointResponse,
        EndpointPage
    ))
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

/// An endpoint as the API shows it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointResponse {
    /// `ept_...`
    #[schema(example = "ept_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Where it is called.
    #[schema(example = "https://api.example.com/v1/run")]
    pub url: String,
    /// How it is called.
    #[schema(inline)]
    pub method: HttpMethod,
    /// What it is called with.
    pub headers: BTreeMap<String, String>,
    /// Whether it has an auth secret (which is never shown).
    pub has_secret: bool,
    /// The secret's last 4 characters (for a secret of at least 12), to tell
    /// secrets apart; `null` otherwise.
    #[schema(example = "9f3a")]
    pub secret_hint: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Endpoint> for EndpointResponse {
    fn from(e: Endpoint) -> Self {
        Self {
            id: e.id.to_string(),
            has_secret: e.has_secret(),
            name: e.name,
            url: e.url,
            method: e.method,
            headers: e.headers.into_inner(),
            secret_hint: e.secret_hint,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

page_response! {
    /// A page of endpoints.
    EndpointPage: EndpointResponse, from Endpoint
}

/// Creates an endpoint (admin+, or an admin key). `url` must be `https` in
/// production; the secret is stored encrypted and never shown again.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/endpoints",
    tag = "endpoints",
    params(Org),
    request_body = CreateEndpointRequest,
    security(("bearer" = [])),
    responses(
        Org,
        (status = 201, body = EndpointResponse, headers(("Location" = String, description = "/v1/organizations/{orgId}/endpoints/{endpointId}"))),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_URL, HTTPS_REQUIRED, FORBIDDEN_HEADER, INVALID_HEADER_NAME, INVALID_HEADER_VALUE, DUPLICATE_HEADER, TOO_MANY, TOO_LONG, ...)"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/endpoints")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    state: web::Data<AppState>,
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    JsonBody(body): JsonBody<CreateEndpointRequest>,
) -> Result<HttpResponse> {
    let draft = body.into_draft(state.url_policy)?;
    let endpoint = service::create(&db, &state.keyring, &ctx, org, draft).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            LOCATION,
            format!("/v1/organizations/{org}/endpoints/{}", endpoint.id),
        ))
        .json(EndpointResponse::from(endpoint)))
}

/// The organization's endpoints (members and keys may read them). `sortBy`:
/// `createdAt` (default) or `name`; `searchQuery` matches the name and the URL.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/endpoints",
    tag = "endpoints",
    params(Org, ListParams<EndpointSort>),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = EndpointPage),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/endpoints")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::<EndpointSort>::parse(&raw)?;
    let page = service::list(&db, &ctx, org, &request).await?;
    Ok(HttpResponse::Ok().json(EndpointPage::from(page)))
}

/// One of the organization's endpoints.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/endpoints/{endpointId}",
    tag = "endpoints",
    params(EndpointPath),
    security(("bearer" = [])),
    responses(
        EndpointPath,
        (status = 200, body = EndpointResponse),
        SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/endpoints/{endpointId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_one(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): EndpointPath,
) -> Result<HttpResponse> {
    let endpoint = service::get(&db, &ctx, org, id).await?;
    Ok(HttpResponse::Ok().json(EndpointResponse::from(endpoint)))
}

/// Changes an endpoint (admin+); answers with the whole endpoint. `headers`
/// replaces them all; `secret: null` removes the secret, an absent one leaves it.
#[utoipa::path(
    patch,
    path = "/v1/organizations/{orgId}/endpoints/{endpointId}",
    tag = "endpoints",
    params(EndpointPath),
    request_body = UpdateEndpointRequest,
    security(("bearer" = [])),
    responses(
        EndpointPath,
        (status = 200, body = EndpointResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[patch("/organizations/{orgId}/endpoints/{endpointId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    state: web::Data<AppState>,
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): EndpointPath,
    JsonBody(body): JsonBody<UpdateEndpointRequest>,
) -> Result<HttpResponse> {
    let changes = body.into_changes(state.url_policy)?;
    let endpoint = service::update(&db, &state.keyring, &ctx, org, id, changes).await?;
    Ok(HttpResponse::Ok().json(EndpointResponse::from(endpoint)))
}

/// Deletes an endpoint for good (admin+).
#[utoipa::path(
    delete,
    path = "/v1/organizations/{orgId}/endpoints/{endpointId}",
    tag = "endpoints",
    params(EndpointPath),
    security(("bearer" = [])),
    responses(
        EndpointPath,
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        SessionProblems, DatabaseProblems,
    )
)]
#[delete("/organizations/{orgId}/endpoints/{endpointId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_one(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): EndpointPath,
) -> Result<HttpResponse> {
    service::delete(&db, &ctx, org, id).await?;
    Ok(HttpResponse::NoContent().finish())
}
