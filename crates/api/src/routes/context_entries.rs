//! `/v1/organizations/{orgId}/context[/{key}[/versions]]`: the organization's
//! versioned configuration documents. `PUT` writes a new version (`ETag:
//! "<version>"`, conditional with `If-Match` / `If-None-Match`), `GET` reads
//! the current one or `?version=N`, `DELETE` removes the key.

use actix_web::http::header::{ETAG, LOCATION};
use actix_web::{HttpResponse, delete, get, put, web};
use app::context_entries::{self as service, Written};
use chrono::{DateTime, Utc};
use domain::PageRequest;
use domain::context_entries::{
    ContextEntry, ContextEntryFilter, ContextEntrySort, ContextValue, ContextVersion,
    ContextVersionSort, PutContextEntryRequest, parse_version,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::{Problem, Result};
use crate::extract::{JsonBody, ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, JsonBodyProblems, SessionProblems};
use crate::paths::{ContextKeyPath, NewContextKeyPath, Org};
use crate::preconditions::{ReadConditions, WriteConditions, etag};
use crate::views::page_response;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(put_entry, read, list, versions, delete_entry),
    components(schemas(
        PutContextEntryRequest,
        ContextEntryResponse,
        ContextEntryPage,
        ContextVersionResponse,
        ContextVersionPage
    ))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list)
        .service(versions)
        .service(read)
        .service(put_entry)
        .service(delete_entry);
}

/// A context entry at one version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContextEntryResponse {
    /// `ctx_...` (a key deleted and written again is a new entry).
    #[schema(example = "ctx_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// The key.
    #[schema(example = "billing.settings")]
    pub key: String,
    /// The value at this version: any JSON.
    pub value: serde_json::Value,
    /// The version, also the `ETag` (`"<version>"`).
    #[schema(example = 3, minimum = 1)]
    pub version: u32,
    /// When the entry was created.
    pub created_at: DateTime<Utc>,
    /// When this version was written.
    pub updated_at: DateTime<Utc>,
}

impl From<ContextEntry> for ContextEntryResponse {
    fn from(entry: ContextEntry) -> Self {
        Self {
            id: entry.id.to_string(),
            key: entry.key.to_string(),
            value: entry.value,
            version: entry.version,
            created_at: entry.created_at,
            updated_at: entry.updated_at,
        }
    }
}

page_response! {
    /// A page of context entries.
    ContextEntryPage: ContextEntryResponse, from ContextEntry
}

/// One version of a context entry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContextVersionResponse {
    /// The version number.
    #[schema(example = 2, minimum = 1)]
    pub version: u32,
    /// The value written at this version: any JSON.
    pub value: serde_json::Value,
    /// Who wrote it: `usr_...` or `key_...`.
    #[schema(example = "usr_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<ContextVersion> for ContextVersionResponse {
    fn from(version: ContextVersion) -> Self {
        Self {
            version: version.version,
            value: version.value,
            created_by: version.created_by,
            created_at: version.created_at,
        }
    }
}

page_response! {
    /// A page of an entry's versions.
    ContextVersionPage: ContextVersionResponse, from ContextVersion
}

/// The entry list's filter, besides the list parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ContextFilterQuery {
    /// Only keys that start with this (case-sensitive; empty: all).
    #[param(pattern = "^([A-Za-z0-9][A-Za-z0-9._:-]{0,127})?$")]
    pub prefix: Option<String>,
}

/// `?version=N` of a read.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionQuery {
    /// A past (or the current) version to read instead of the current one.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 2147483647)]
    pub version: Option<String>,
}

/// An entry in an answer: its JSON with `ETag: "<version>"`.
fn with_etag(mut response: actix_web::HttpResponseBuilder, entry: ContextEntry) -> HttpResponse {
    response
        .insert_header((ETAG, etag(entry.version)))
        .json(ContextEntryResponse::from(entry))
}

/// Writes a new version of the key: 201 (+ `Location`) when it creates the
/// entry (version 1, or one past a deleted entry's last), 200 for the next
/// version of an existing one; `ETag: "<version>"` either way. Admins,
/// owners and admin keys.
#[utoipa::path(
    put,
    path = "/v1/organizations/{orgId}/context/{key}",
    tag = "context",
    params(NewContextKeyPath, WriteConditions),
    request_body = PutContextEntryRequest,
    security(("bearer" = [])),
    responses(
        NewContextKeyPath,
        (status = 200, body = ContextEntryResponse, description = "The entry's next version",
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        (status = 201, body = ContextEntryResponse, description = "A new entry",
            headers(("ETag" = String, description = "`\"<version>\"`"), ("Location" = String, description = "The entry's path"))),
        JsonBodyProblems,
        (status = 400, body = Problem, content_type = "application/problem+json", description = "BAD_REQUEST: the body is not JSON, or If-Match / If-None-Match is malformed"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 412, body = Problem, content_type = "application/problem+json", description = "PRECONDITION_FAILED: If-Match does not name the current version (or the key has no entry), or If-None-Match names it (`*`: the entry exists); nothing was written"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED: a malformed key (INVALID_FORMAT, TOO_LONG), value missing (REQUIRED) or over 65,536 bytes as compact JSON (TOO_LARGE)"),
        SessionProblems, DatabaseProblems,
    )
)]
#[put("/organizations/{orgId}/context/{key}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn put_entry(
    Caller { ctx, db, .. }: Caller,
    NewContextKeyPath(org, key): NewContextKeyPath,
    WriteConditions(preconditions): WriteConditions,
    JsonBody(body): JsonBody<PutContextEntryRequest>,
) -> Result<HttpResponse> {
    let value = ContextValue::try_from(body)?;
    let Written { entry, created } =
        service::set(&db, &ctx, org, &key, &value, &preconditions).await?;
    Ok(if created {
        let mut response = HttpResponse::Created();
        response.insert_header((LOCATION, format!("/v1/organizations/{org}/context/{key}")));
        with_etag(response, entry)
    } else {
        with_etag(HttpResponse::Ok(), entry)
    })
}

/// The entry of the key at its current version, or at `?version=N`, with
/// `ETag: "<version>"`; 304 when `If-None-Match` names that version. Every
/// member and key.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/context/{key}",
    tag = "context",
    params(ContextKeyPath, VersionQuery, ReadConditions),
    security(("bearer" = [])),
    responses(
        ContextKeyPath,
        (status = 200, body = ContextEntryResponse,
            headers(("ETag" = String, description = "`\"<version>\"` of the version read"))),
        (status = 304, description = "Not Modified: If-None-Match names the version read (no body)",
            headers(("ETag" = String, description = "`\"<version>\"`"))),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "BAD_REQUEST: the query string cannot be read, or If-None-Match is malformed"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "ORGANIZATION_NOT_FOUND, CONTEXT_ENTRY_NOT_FOUND (also for a malformed key), CONTEXT_VERSION_NOT_FOUND (a version the entry never had)"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED: version is not an integer from 1 to 2147483647 (OUT_OF_RANGE)"),
        SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/context/{key}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn read(
    Caller { ctx, db, .. }: Caller,
    ContextKeyPath(org, key): ContextKeyPath,
    query: web::Query<VersionQuery>,
    ReadConditions(preconditions): ReadConditions,
) -> Result<HttpResponse> {
    let version = parse_version(query.version.as_deref())?;
    let entry = service::read(&db, &ctx, org, &key, version).await?;
    if preconditions.not_modified(entry.version) {
        return Ok(HttpResponse::NotModified()
            .insert_header((ETAG, etag(entry.version)))
            .finish());
    }
    Ok(with_etag(HttpResponse::Ok(), entry))
}

/// The organization's context entries with their current values. `sortBy`:
/// `createdAt` (default), `key` (byte order: upper case first), `updatedAt`;
/// `prefix` keeps the keys that start with it; `searchQuery` matches the key
/// (case-insensitively). Every member and key.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/context",
    tag = "context",
    params(Org, ListParams<ContextEntrySort>, ContextFilterQuery),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = ContextEntryPage),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "BAD_REQUEST: the query string cannot be read (e.g. a repeated parameter)"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (a prefix no key can start with, INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/context")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    ListQuery(raw): ListQuery,
    filter: web::Query<ContextFilterQuery>,
) -> Result<HttpResponse> {
    let request = PageRequest::<ContextEntrySort>::parse(&raw)?;
    let filter = ContextEntryFilter::parse(filter.prefix.as_deref())?;
    let page = service::list(&db, &ctx, org, &filter, &request).await?;
    Ok(HttpResponse::Ok().json(ContextEntryPage::from(page)))
}

/// The versions of the key's entry, newest first (`sortBy`: `version`),
/// each with its value and author. Every member and key.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/context/{key}/versions",
    tag = "context",
    params(ContextKeyPath, ListParams<ContextVersionSort>),
    security(("bearer" = [])),
    responses(
        ContextKeyPath,
        (status = 200, body = ContextVersionPage),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "BAD_REQUEST: the query string cannot be read (e.g. a repeated parameter)"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/context/{key}/versions")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn versions(
    Caller { ctx, db, .. }: Caller,
    ContextKeyPath(org, key): ContextKeyPath,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::<ContextVersionSort>::parse(&raw)?;
    let page = service::versions(&db, &ctx, org, &key, &request).await?;
    Ok(HttpResponse::Ok().json(ContextVersionPage::from(page)))
}

/// Deletes the key's entry → 204; it is then 404 everywhere and absent from
/// lists, and the key can be written again (its numbering goes on). `If-Match`
/// makes it conditional. Admins, owners and admin keys.
#[utoipa::path(
    delete,
    path = "/v1/organizations/{orgId}/context/{key}",
    tag = "context",
    params(ContextKeyPath, WriteConditions),
    security(("bearer" = [])),
    responses(
        ContextKeyPath,
        (status = 204, description = "Deleted"),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "BAD_REQUEST: If-Match / If-None-Match is malformed"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 412, body = Problem, content_type = "application/problem+json", description = "PRECONDITION_FAILED: If-Match does not name the current version, or If-None-Match names it; nothing was deleted"),
        SessionProblems, DatabaseProblems,
    )
)]
#[delete("/organizations/{orgId}/context/{key}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_entry(
    Caller { ctx, db, .. }: Caller,
    ContextKeyPath(org, key): ContextKeyPath,
    WriteConditions(preconditions): WriteConditions,
) -> Result<HttpResponse> {
    service::delete(&db, &ctx, org, &key, &preconditions).await?;
    Ok(HttpResponse::NoContent().finish())
}
