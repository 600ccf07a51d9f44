//! `/v1/admin/...`: platform administration, for platform admins only (see
//! [`AdminUser`](crate::admin_auth::AdminUser)): users (list, deactivate,
//! reactivate), organizations' plans, the waitlist, the account-level audit
//! trail, and the metric snapshots.

use actix_web::web;
use domain::DomainError;
use domain::organizations::SetPlanRequest;
use utoipa::OpenApi;

mod audit;
mod metrics;
mod organizations;
mod users;
mod waitlist;

pub use metrics::{SystemMetricPage, SystemMetricResponse};
pub use organizations::AdminOrganizationResponse;
pub use users::{AdminUserPage, AdminUserResponse};
pub use waitlist::{WaitlistEntryPage, WaitlistFilterQuery};

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        users::list,
        users::deactivate,
        users::reactivate,
        organizations::set_plan,
        waitlist::list,
        audit::list,
        metrics::list
    ),
    components(schemas(
        AdminUserResponse,
        AdminUserPage,
        AdminOrganizationResponse,
        SetPlanRequest,
        WaitlistEntryPage,
        SystemMetricResponse,
        SystemMetricPage,
    )),
    tags((name = "admin", description = "Platform administration: platform admins only"))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(users::list)
        .service(users::deactivate)
        .service(users::reactivate)
        .service(organizations::set_plan)
        .service(waitlist::list)
        .service(audit::list)
        .service(metrics::list);
}

/// Both values, or every field error of both: a list's paging parameters and its
/// filters are reported together, in one 422.
fn both<A, B>(a: Result<A, DomainError>, b: Result<B, DomainError>) -> Result<(A, B), DomainError> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(DomainError::Validation(mut first)), Err(DomainError::Validation(second))) => {
            first.extend(second);
            Err(DomainError::Validation(first))
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    }
}
