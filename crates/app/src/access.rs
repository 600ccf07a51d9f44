//! Resolving how the request's actor stands in an organization, and asking the
//! permission matrix (`domain::access`) about it.

use domain::access::{AccessRole, Operation, authorize};
use domain::organizations::ORGANIZATION_NOT_FOUND;
use domain::{Actor, DomainError, OrganizationAccess, OrganizationId};
use sea_orm::ConnectionTrait;

use crate::Context;
use infra::repositories::{LockedForClaim, OrganizationRepository};

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

/// An API key acting in its own organization: the matrix alone decides, with
/// no read, since this request's authentication has just read the key (not
/// revoked, not expired) with its organization (live). `None` for any other
/// actor, who needs [`require`].
fn key_in_own_organization(
    ctx: &Context,
    id: OrganizationId,
    operation: Operation,
) -> Option<Result<AccessRole, DomainError>> {
    match ctx.actor {
        Actor::ApiKey(grant) if grant.organization_id == id => {
            let role = AccessRole::of_key(grant.role);
            Some(authorize(role, operation, false).map(|()| role))
        }
        _ => None,
    }
}

/// [`require`] for an operation that needs only the verdict (a worker's
/// heartbeat or completion): a key in its own organization costs no read.
pub async fn permit<C: ConnectionTrait>(
    conn: &C,
    ctx: &Context,
    id: OrganizationId,
    operation: Operation,
) -> Result<(), DomainError> {
    match key_in_own_organization(ctx, id, operation) {
        Some(verdict) => verdict.map(drop),
        None => require(conn, ctx, id, operation).await.map(drop),
    }
}

/// [`require`] under the organization's lock for a claim, with what the claim
/// checks read in the locking statement
/// ([`OrganizationRepository::lock_for_claim`]: the organization, its plan's
/// caps, the month's tokens): a key in its own organization costs that one
/// read; a person, that and then their membership.
pub async fn require_locked<C: ConnectionTrait>(
    conn: &C,
    ctx: &Context,
    id: OrganizationId,
    operation: Operation,
) -> Result<(OrganizationAccess, LockedForClaim), DomainError> {
    let orgs = OrganizationRepository::at(conn, ctx.now);
    match (key_in_own_organization(ctx, id, operation), ctx.actor) {
        (Some(verdict), Actor::ApiKey(grant)) => {
            verdict?;
            let locked = orgs.lock_for_claim(id).await?;
            let access = OrganizationAccess::of_key(locked.organization.clone(), grant);
            Ok((access, locked))
        }
        _ => {
            let locked = orgs.lock_for_claim(id).await?;
            Ok((require(conn, ctx, id, operation).await?, locked))
        }
    }
}
