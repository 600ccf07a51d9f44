//! `GET /v1/admin/waitlist`.

use actix_web::{HttpResponse, get, web};
use app::admin as service;
use domain::waitlist::WaitlistSort;
use domain::{DomainError, PageRequest, Validation, WaitlistEntry, WaitlistRole};
use serde::Deserialize;
use utoipa::IntoParams;

use super::both;
use crate::admin_auth::AdminUser;
use crate::error::{Problem, Result};
use crate::extract::{ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, QueryProblems, SessionProblems};
use crate::routes::waitlist::WaitlistEntryResponse;
use crate::views::page_response;

/// The waitlist's filter, as sent.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct WaitlistFilterQuery {
    /// Only entries with this role: `employee` or `organization`.
    pub role: Option<String>,
}

impl WaitlistFilterQuery {
    /// The role to filter by; an unknown one is 422 on `role`.
    fn role(self) -> Result<Option<WaitlistRole>, DomainError> {
        let mut v = Validation::default();
        let role = self
            .role
            .map(|r| v.check("role", r.parse::<WaitlistRole>()));
        v.finish(Some(role.flatten()))
    }
}

page_response! {
    /// A page of waitlist entries.
    WaitlistEntryPage: WaitlistEntryResponse, from WaitlistEntry
}

/// The waitlist. `sortBy`: `createdAt` (default) or `email`; `searchQuery`
/// matches the email, literally; `role` keeps one role's entries.
#[utoipa::path(
    get,
    path = "/v1/admin/waitlist",
    tag = "admin",
    params(ListParams<WaitlistSort>, WaitlistFilterQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = WaitlistEntryPage),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (an unknown role: INVALID_VALUE; INVALID_CURSOR, OUT_OF_RANGE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/admin/waitlist")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    AdminUser { admin, ctx, db }: AdminUser,
    ListQuery(raw): ListQuery,
    filter: web::Query<WaitlistFilterQuery>,
) -> Result<HttpResponse> {
    let (request, role) = both(
        PageRequest::<WaitlistSort>::parse(&raw),
        filter.into_inner().role(),
    )?;
    let page = service::list_waitlist(&db, &ctx, admin, role, &request).await?;
    Ok(HttpResponse::Ok().json(WaitlistEntryPage::from(page)))
}
