//! Platform administration: users, organizations' plans, the waitlist and the
//! account-level audit trail, for a [`PlatformAdmin`]; and the operator's
//! promotion of a user to platform admin (`api admin promote|demote`).
//!
//! Every function for an admin takes the [`PlatformAdmin`] proof, so none can be
//! reached without the check having passed.

use domain::PlanKey;
use domain::admin::PlatformAdmin;
use domain::audit::AuditLogSort;
use domain::audit::{AuditFilter, AuditLog};
use domain::users::UserSort;
use domain::waitlist::WaitlistSort;
use domain::{
    AuditAction, AuditEntity, AuditEvent, Changes, DomainError, Email, Organization,
    OrganizationId, Page, PageRequest, User, UserId, WaitlistEntry, WaitlistRole,
};

use infra::Database;
use infra::repositories::{
    ApiKeyRepository, AuditLogRepository, OrganizationRepository, SessionRepository,
    UserRepository, WaitlistRepository,
};

use crate::Context;

/// One page of the live users, inactive ones included.
pub async fn list_users(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    request: &PageRequest<UserSort>,
) -> Result<Page<User>, DomainError> {
    UserRepository::at(db.conn(), ctx.now).list(request).await
}

/// Deactivates user `id` and revokes all their sessions and the API keys they
/// made (each audited `api_key.revoked`), with a `user.deactivated` audit row,
/// in one unit of work; returns the user.
/// Deactivating an inactive user changes (and records) nothing. `NotFound`
/// (`USER_NOT_FOUND`) unless the user is live; `Conflict`
/// (`CANNOT_DEACTIVATE_SELF`) for the admin's own account.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn deactivate_user(
    db: &Database,
    ctx: &Context,
    admin: PlatformAdmin,
    id: UserId,
) -> Result<User, DomainError> {
    admin.may_deactivate(id)?;
    set_active(db, ctx, id, false).await
}

/// Reactivates user `id` with a `user.reactivated` audit row; returns the user.
/// Their sessions and keys stay revoked: they sign in again. Reactivating an active user
/// changes (and records) nothing. `NotFound` (`USER_NOT_FOUND`) unless live.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn reactivate_user(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    id: UserId,
) -> Result<User, DomainError> {
    set_active(db, ctx, id, true).await
}

async fn set_active(
    db: &Database,
    ctx: &Context,
    id: UserId,
    active: bool,
) -> Result<User, DomainError> {
    let uow = db.begin().await?;
    let users = UserRepository::at(uow.conn(), ctx.now);
    if !active {
        // The lock a key's creation takes: no key of theirs is being made
        // while their keys are revoked.
        OrganizationRepository::at(uow.conn(), ctx.now)
            .lock_all_of_member(id)
            .await?;
    }
    // The conditional write decides: of two concurrent identical requests, one
    // changes the row and records it, the other finds nothing to do.
    if users.set_active(id, active).await? {
        if !active {
            SessionRepository::at(uow.conn(), ctx.now)
                .revoke_all_for_user(id)
                .await?;
            // Offboarding: the keys they made stop with them (and stay revoked
            // if they are reactivated).
            let revoked = ApiKeyRepository::at(uow.conn(), ctx.now)
                .revoke_all_made_by(id)
                .await?;
            crate::api_keys::record_revoked(uow.conn(), ctx, &revoked).await?;
        }
        let action = if active {
            AuditAction::UserReactivated
        } else {
            AuditAction::UserDeactivated
        };
        AuditLogRepository::new(uow.conn())
            .record(
                ctx,
                AuditEvent::new(action, AuditEntity::User, id)
                    .with_changes(Changes::new().field("isActive", !active, active)),
            )
            .await?;
    }
    let user = users.find(id).await?;
    uow.commit().await?;
    Ok(user)
}

/// Sets the plan of the live organization `id`, with an `organization.updated`
/// audit row in the organization when it changes; returns the organization.
/// The same plan again changes (and records) nothing. `NotFound`
/// (`ORGANIZATION_NOT_FOUND`) unless the organization is live; 422
/// `UNKNOWN_PLAN` for a key no plan has. The plan moves with the
/// subscription (as `POST .../subscription` moves it, without touching its
/// status or period).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_organization_plan(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    id: OrganizationId,
    plan: PlanKey,
) -> Result<Organization, DomainError> {
    let uow = db.begin().await?;
    let orgs = OrganizationRepository::at(uow.conn(), ctx.now);
    // Locked, so that the recorded old plan is the one replaced.
    orgs.lock(id).await?;
    let before = orgs.find(id).await?;
    if before.plan == plan {
        return Ok(before);
    }
    crate::subscriptions::move_to_plan(uow.conn(), ctx, id, &plan).await?;
    let organization = orgs.find(id).await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(
                AuditAction::OrganizationUpdated,
                AuditEntity::Organization,
                id,
            )
            .in_organization(id)
            .with_changes(Changes::new().field(
                "plan",
                before.plan.as_str(),
                organization.plan.as_str(),
            )),
        )
        .await?;
    uow.commit().await?;
    Ok(organization)
}

/// One page of the waitlist, only `role`'s entries when given.
pub async fn list_waitlist(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    role: Option<WaitlistRole>,
    request: &PageRequest<WaitlistSort>,
) -> Result<Page<WaitlistEntry>, DomainError> {
    WaitlistRepository::at(db.conn(), ctx.now)
        .list(role, request)
        .await
}

/// One page of the account-level audit trail: the events that belong to no
/// organization (sign-ups, sign-ins, profile changes, deactivations, ...).
pub async fn list_audit_logs(
    db: &Database,
    _admin: PlatformAdmin,
    filter: &AuditFilter,
    request: &PageRequest<AuditLogSort>,
) -> Result<Page<AuditLog>, DomainError> {
    AuditLogRepository::new(db.conn())
        .list(None, filter, request)
        .await
}

/// Makes the live user with `email` a platform admin (`admin`) or takes it away,
/// with an audit row by `ctx`'s actor (`user.promoted`, or `user.updated` for a
/// demotion), in one unit of work. Returns whether anything changed: promoting
/// an admin again is a no-op. `NotFound` (`USER_NOT_FOUND`) for an unknown email.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_platform_admin(
    db: &Database,
    ctx: &Context,
    email: &Email,
    admin: bool,
) -> Result<bool, DomainError> {
    let uow = db.begin().await?;
    let users = UserRepository::at(uow.conn(), ctx.now);
    let user = users.find_by_email(email).await?;
    if !users.set_admin(user.id, admin).await? {
        return Ok(false);
    }
    let action = if admin {
        AuditAction::UserPromoted
    } else {
        AuditAction::UserDemoted
    };
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(action, AuditEntity::User, user.id)
                .with_changes(Changes::new().field("isAdmin", !admin, admin)),
        )
        .await?;
    uow.commit().await?;
    Ok(true)
}
