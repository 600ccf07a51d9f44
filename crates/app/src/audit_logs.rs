//! Reading the audit trail.

use domain::access::Operation;
use domain::audit::AuditLogSort;
use domain::audit::{AuditFilter, AuditLog};
use domain::{DomainError, OrganizationId, Page, PageRequest};

use crate::access;
use infra::Database;
use infra::repositories::AuditLogRepository;

use crate::Context;

/// One page of the organization's trail (admin or owner, or an admin key).
pub async fn list(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    filter: &AuditFilter,
    request: &PageRequest<AuditLogSort>,
) -> Result<Page<AuditLog>, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ReadAuditLogs).await?;
    AuditLogRepository::new(db.conn())
        .list(Some(organization), filter, request)
        .await
}
