//! Resolving how the request's actor stands in an organization, and asking the
//! permission matrix (`domain::access`) about it.

use domain::access::{AccessRole, Operation, authorize};
use domain::tenancy::ORGANIZATION_NOT_FOUND;
use domain::{Actor, DomainError, Member, Organization, OrganizationId};
use sea_orm::ConnectionTrait;

use crate::context::Context;
use crate::repositories::OrganizationRepository;

/// The actor's standing in one live organization.
#[derive(Clone, Debug)]
pub struct OrganizationAccess {
    /// The organization.
    pub organization: Organization,
    /// The matrix's column for the actor.
    pub role: AccessRole,
    /// The actor's membership, when the actor is a user.
    pub member: Option<Member>,
}

/// How `ctx`'s actor stands in organization `id`. `NotFound`
/// (`ORGANIZATION_NOT_FOUND`) when it is deleted or missing, when a user is not a
/// member, and when a key belongs to another organization: existence is not leaked.
pub async fn resolve<C: ConnectionTrait>(
    conn: &C,
    ctx: &Context,
    id: OrganizationId,
) -> Result<OrganizationAccess, DomainError> {
    let orgs = OrganizationRepository::at(conn, ctx.now);
    match ctx.actor {
        Actor::User(user) => {
            let (organization, member) = orgs.membership(id, user).await?;
            Ok(OrganizationAccess {
                organization,
                role: AccessRole::of_member(member.role),
                member: Some(member),
            })
        }
        Actor::ApiKey(grant) if grant.organization_id == id => Ok(OrganizationAccess {
            organization: orgs.find(id).await?,
            role: AccessRole::of_key(grant.role),
            member: None,
        }),
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
