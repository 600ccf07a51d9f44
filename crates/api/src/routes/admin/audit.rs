//! `GET /v1/admin/audit-logs`: the account-level audit trail (events that belong
//! to no organization).
//!
//! The wire types are meant to be the organization trail's
//! (`GET /v1/organizations/{orgId}/audit-logs`); until that route exists they
//! live here, and move there when it does.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use domain::audit::{AuditFilter, AuditLog};
use domain::{AuditAction, AuditEntity, DomainError, Page, PageRequest, Validation};
use infra::repositories::AUDIT_LOG_SORT_FIELDS;
use infra::services::admin as service;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::both;
use crate::admin_auth::AdminUser;
use crate::error::{Problem, Result};
use crate::extract::{ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, QueryProblems, SessionProblems};
use crate::state::AppState;

/// One row of the audit trail.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogResponse {
    /// `aud_...`
    #[schema(example = "aud_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// The organization (`org_...`); null for account-level events.
    pub organization_id: Option<String>,
    /// `user`, `api_key`, `anonymous` or `system`.
    pub actor_type: String,
    /// The actor's ID (`usr_...`, `key_...`), when it has one.
    pub actor_id: Option<String>,
    /// What happened, `entity.verb`.
    #[schema(example = "user.deactivated")]
    pub action: String,
    /// The kind of thing it happened to.
    #[schema(example = "user")]
    pub entity_type: String,
    /// Its ID, when it has one.
    pub entity_id: Option<String>,
    /// Changed fields, `{field: [old, new]}`.
    #[schema(value_type = Option<Object>, example = json!({"isActive": [true, false]}))]
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
            organization_id: log.organization_id.map(|id| id.to_string()),
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

/// A page of audit rows.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogPage {
    /// This page's rows.
    pub items: Vec<AuditLogResponse>,
    /// Whether another page follows.
    pub has_next: bool,
    /// Pass as `cursor` to get the next page (keyset, same order).
    pub next_cursor: Option<String>,
}

impl From<Page<AuditLog>> for AuditLogPage {
    fn from(page: Page<AuditLog>) -> Self {
        let page = page.map(AuditLogResponse::from);
        Self {
            items: page.items,
            has_next: page.has_next,
            next_cursor: page.next_cursor,
        }
    }
}

/// The audit trail's filters, as sent; all optional, combined with AND.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AuditLogFilterQuery {
    /// Only this action (`user.signed_in`, `user.deactivated`, ...).
    pub action: Option<String>,
    /// Only this kind of entity (`user`, `session`, ...).
    pub entity_type: Option<String>,
    /// Only this entity (its ID, `usr_...`).
    pub entity_id: Option<String>,
}

impl TryFrom<AuditLogFilterQuery> for AuditFilter {
    type Error = DomainError;

    /// An unknown action or entity type is 422 on its parameter.
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

/// The account-level audit trail, newest first (`sortDirection=asc` for oldest
/// first): sign-ups, sign-ins and failed sign-ins, profile changes, sign-outs,
/// account deletions, deactivations, promotions. Cursor or page numbers.
#[utoipa::path(
    get,
    path = "/v1/admin/audit-logs",
    tag = "admin",
    params(ListParams, AuditLogFilterQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AuditLogPage),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (an unknown action or entityType: INVALID_VALUE; INVALID_CURSOR, OUT_OF_RANGE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/admin/audit-logs")]
#[tracing::instrument(skip_all)]
pub async fn list(
    state: web::Data<AppState>,
    AdminUser { admin, .. }: AdminUser,
    ListQuery(raw): ListQuery,
    filter: web::Query<AuditLogFilterQuery>,
) -> Result<HttpResponse> {
    let (request, filter) = both(
        PageRequest::parse(&raw, AUDIT_LOG_SORT_FIELDS),
        AuditFilter::try_from(filter.into_inner()),
    )?;
    let page = service::list_audit_logs(&state.db, admin, &filter, &request).await?;
    Ok(HttpResponse::Ok().json(AuditLogPage::from(page)))
}
