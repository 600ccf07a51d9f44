//! Resolving how the request's actor stands in an organization, and asking the
//! permission matrix (`domain::access`) about it.

use domain::access::{Operation, authorize};
use domain::organizations::ORGANIZATION_NOT_FOUND;
use domain::{Actor, DomainError, OrganizationAccess, OrganizationId};
use sea_orm::ConnectionTrait;

use crate::Context;
use infra::repositories::OrganizationRepository;

/// How `ctx`'s actor stands in organization `id`. `NotFound`
/// (`ORGANIZATION_NOT_FOUND`) when it is deleted or missing, when a user is not a
/// member, and when a key belongs to another organization: existence is not leaked.
/// A read request's context may already know (its [`Standing`](crate::Standing)):
/// then nothing is read.
pub async fn resolve<C: ConnectionTrait>(
    conn: &C,
    ctx: &Context,
    id: OrganizationId,
) -> Result<OrganizationAccess, DomainError> {
    if let Some(known) = ctx.standing_in(id) {
        return known.cloned().ok_or(ORGANIZATION_NOT_FOUND);
    }
    let orgs = OrganizationRepository::at(conn, ctx.now);
    match ctx.actor {
        Actor::User(user) => {
            let (organization, member) = orgs.membership(id, user).await?;
            Ok(OrganizationAccess::of_member(organization, member))
        }
        Actor::ApiKey(grant) if grant.organization_id == id => {
            Ok(OrganizationAccess::of_key(orgs.find(id).await?, grant))
        }
        Actor::ApiKey(_) => Err(ORGANIZATION_NOT_FOUND),
        Actor::Anonymous | Actor::System => Err(DomainError::UNAUTHENTICATED),
    }
}

/// [`resolve`], then 403 unless the matrix allows `operation`.
pub async fn require<C: ConnectionTrait>(
    conn: &C,
    ctx: &Context,
    id: OrganizationId,
    operation: Operation,
) -> Result<OrganizationAccess, DomainError> {
    let access = resolve(conn, ctx, id).await?;
    authorize(access.role, operation, false)?;
    Ok(access)
}
