//! The reference from a job to an endpoint: it must be one of the job's
//! organization's endpoints.

use chrono::{DateTime, Utc};
use domain::{DomainError, EndpointId, OrganizationId};
use infra::repositories::EndpointRepository;
use sea_orm::ConnectionTrait;

/// `Ok` when `endpoint` is `None` or one of `organization`'s endpoints; 422
/// `ENDPOINT_NOT_FOUND` (on `endpointId`) otherwise, another organization's
/// included.
pub(crate) async fn ensure_endpoint<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    organization: OrganizationId,
    endpoint: Option<EndpointId>,
) -> Result<(), DomainError> {
    let Some(id) = endpoint else {
        return Ok(());
    };
    let found = EndpointRepository::at(conn, now)
        .find_many(organization, &[id])
        .await?;
    if found.is_empty() {
        Err(DomainError::invalid(
            "endpointId",
            "ENDPOINT_NOT_FOUND",
            "no such endpoint in this organization",
        ))
    } else {
        Ok(())
    }
}
