//! `GET /v1/admin/audit-logs`: the account-level audit trail (events that belong
//! to no organization), in the organization trail's wire shape.

use actix_web::{HttpResponse, get, web};
use app::admin as service;
use domain::PageRequest;
use domain::audit::AuditFilter;
use domain::audit::AuditLogSort;

use super::both;
use crate::admin_auth::AdminUser;
use crate::error::{Problem, Result};
use crate::extract::{ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, QueryProblems, SessionProblems};
use crate::routes::audit_logs::{AuditLogFilterQuery, AuditLogPage};

/// The account-level audit trail, newest first (`sortDirection=asc` for oldest
/// first): sign-ups, sign-ins and failed sign-ins, profile changes, sign-outs,
/// account deletions, deactivations, promotions. Cursor or page numbers.
#[utoipa::path(
    get,
    path = "/v1/admin/audit-logs",
    tag = "admin",
    params(ListParams<AuditLogSort>, AuditLogFilterQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AuditLogPage),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (an unknown action or entityType: INVALID_VALUE; INVALID_CURSOR, OUT_OF_RANGE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/admin/audit-logs")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    AdminUser { admin, db, .. }: AdminUser,
    ListQuery(raw): ListQuery,
    filter: web::Query<AuditLogFilterQuery>,
) -> Result<HttpResponse> {
    let (request, filter) = both(
        PageRequest::<AuditLogSort>::parse(&raw),
        AuditFilter::try_from(filter.into_inner()),
    )?;
    let page = service::list_audit_logs(&db, admin, &filter, &request).await?;
    Ok(HttpResponse::Ok().json(AuditLogPage::from(page)))
}
