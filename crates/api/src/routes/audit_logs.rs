//! `GET /v1/organizations/{orgId}/audit-logs`: the organization's trail, newest
//! first, in cursor pages, filtered by action, entity type and entity id.

use actix_web::{HttpResponse, get, web};
use app::audit_logs as service;
use chrono::{DateTime, Utc};
use domain::audit::AuditLogSort;
use domain::audit::{AuditFilter, AuditLog};
use domain::{AuditAction, AuditEntity, DomainError, PageRequest, Validation};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::{Problem, Result};
use crate::extract::{ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, QueryProblems, SessionProblems};
use crate::paths::Org;
use crate::views::page_response;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(list), components(schemas(AuditLogResponse, AuditLogPage)))]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list);
}

/// The audit-log filters, besides the list parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AuditLogFilterQuery {
    /// Only this action, e.g. `organization.updated`.
    pub action: Option<String>,
    /// Only this kind of entity: `user`, `session`, `organization`, `member`,
    /// `invitation`, `api_key`.
    pub entity_type: Option<String>,
    /// Only this entity (its public ID, e.g. `mem_...`).
    pub entity_id: Option<String>,
}

impl TryFrom<AuditLogFilterQuery> for AuditFilter {
    type Error = DomainError;

    fn try_from(query: AuditLogFilterQuery) -> Result<Self, DomainError> {
        let mut v = Validation::default();
        let action = query
            .action
            .map(|a| v.check("action", a.parse::<AuditAction>()));
        let entity = query
            .entity_type
            .map(|e| v.check("entityType", e.parse::<AuditEntity>()));
        v.finish(Some(Self {
            action: action.flatten(),
            entity: entity.flatten(),
            entity_id: query.entity_id,
        }))
    }
}

/// One row of the trail.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogResponse {
    /// `aud_...`
    #[schema(example = "aud_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// `org_...`, or `null` for account-level events.
    pub organization_id: Option<String>,
    /// `user`, `api_key`, `anonymous` or `system`.
    pub actor_type: String,
    /// `usr_...` or `key_...`, when there is an actor.
    pub actor_id: Option<String>,
    /// `entity.verb`, e.g. `organization.updated`.
    #[schema(example = "organization.updated")]
    pub action: String,
    /// The kind of entity.
    pub entity_type: String,
    /// Its public ID.
    pub entity_id: Option<String>,
    /// Changed fields, `{"field": [old, new]}`; never secrets.
    #[schema(value_type = Option<Object>)]
    pub changes: Option<serde_json::Value>,
    /// The caller's address.
    pub ip: Option<String>,
    /// The request's `x-request-id`.
    pub request_id: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<AuditLog> for AuditLogResponse {
    fn from(log: AuditLog) -> Self {
        Self {
            id: log.id.to_string(),
            organization_id: log.organization_id.map(|o| o.to_string()),
            actor_type: log.actor_type,
            actor_id: log.actor_id,
            action: log.action,
            entity_type: log.entity_type,
            entity_id: log.entity_id,
            changes: log.changes,
            ip: log.ip,
            request_id: log.request_id,
            created_at: log.created_at,
        }
    }
}

page_response! {
    /// A page of the trail.
    AuditLogPage: AuditLogResponse, from AuditLog
}

/// The organization's audit trail (admin or owner, or an admin key), newest
/// first by default. `sortBy`: `createdAt`.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/audit-logs",
    tag = "audit-logs",
    params(Org, ListParams<AuditLogSort>, AuditLogFilterQuery),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = AuditLogPage),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (an unknown action or entityType, INVALID_CURSOR, OUT_OF_RANGE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/audit-logs")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    ListQuery(raw): ListQuery,
    filter: web::Query<AuditLogFilterQuery>,
) -> Result<HttpResponse> {
    let request = PageRequest::<AuditLogSort>::parse(&raw)?;
    let filter = AuditFilter::try_from(filter.into_inner())?;
    let page = service::list(&db, &ctx, org, &filter, &request).await?;
    Ok(HttpResponse::Ok().json(AuditLogPage::from(page)))
}
