//! Memberships: list, change a role, remove (or leave). Every change runs under
//! the organization's row lock, so the "at least one owner" check and the write
//! after it cannot interleave with another change.

use domain::access::{Operation, authorize};
use domain::api_keys::key_roles_above;
use domain::auth::SessionPolicy;
use domain::members::MemberSort;
use domain::members::{
    MemberWithUser, can_change_role, can_remove, insufficient_role, keeps_an_owner,
};
use domain::{
    AuditAction, AuditEntity, AuditEvent, Changes, DomainError, MemberId, MemberRole,
    OrganizationId, Page, PageRequest,
};

use crate::{access, sessions};
use infra::Database;
use infra::repositories::{
    ApiKeyRepository, AuditLogRepository, MemberRepository, OrganizationRepository,
};

use crate::Context;

/// One page of the organization's members with their users. `NotFound`
/// (`ORGANIZATION_NOT_FOUND`) unless the caller is a live member or one of its keys.
pub async fn list(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    request: &PageRequest<MemberSort>,
) -> Result<Page<MemberWithUser>, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ListMembers).await?;
    MemberRepository::at(db.conn(), ctx.now)
        .list(organization, request)
        .await
}

/// [`list`] for a request whose bearer value is not checked yet: for a session,
/// its credentials, its standing and the page are one statement (one round
/// trip); for an API key, the key's read, then the page. Errors as for
/// `sessions::authenticate_bearer`, then as for [`list`].
pub async fn list_as(
    db: &Database,
    bearer: &str,
    ctx: Context,
    policy: &SessionPolicy,
    organization: OrganizationId,
    request: &PageRequest<MemberSort>,
) -> Result<Page<MemberWithUser>, DomainError> {
    let now = ctx.now;
    let (ctx, page) = sessions::read_with_credentials(
        db,
        bearer,
        ctx,
        organization,
        policy,
        |token_hash| async move {
            MemberRepository::at(db.conn(), now)
                .list_with_session(&token_hash, organization, request)
                .await
        },
    )
    .await?;
    match page {
        Some(page) => {
            // The standing is known: the matrix decides without a read.
            access::require(db.conn(), &ctx, organization, Operation::ListMembers).await?;
            Ok(page)
        }
        None => list(db, &ctx, organization, request).await,
    }
}

/// Gives member `id` the role `role`, revoking (and auditing) the keys they made
/// here whose role is now above theirs. `NotFound` for a non-member actor
/// (`ORGANIZATION_NOT_FOUND`) or an unknown member (`MEMBER_NOT_FOUND`);
/// `Forbidden` (`INSUFFICIENT_ROLE`) unless the role policy allows it; `Conflict`
/// (`LAST_OWNER`) when it would demote the last owner.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn change_role(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: MemberId,
    role: MemberRole,
) -> Result<MemberWithUser, DomainError> {
    let uow = db.begin().await?;
    let members = MemberRepository::at(uow.conn(), ctx.now);
    OrganizationRepository::at(uow.conn(), ctx.now)
        .lock(organization)
        .await?;
    let me = access::require(uow.conn(), ctx, organization, Operation::UpdateMember).await?;
    let target = members.find_in(organization, id).await?;
    if !can_change_role(me.role.member_role(), target.role, role) {
        return Err(insufficient_role(
            "only an owner may grant or take away the owner role",
        ));
    }
    if target.role != role {
        keeps_an_owner(
            members.count_owners(organization).await?,
            target.role,
            Some(role),
        )?;
        members.set_role(id, role).await?;
        // A key never acts above its creator: a demotion takes away their keys
        // of a role now above theirs.
        let revoked = ApiKeyRepository::at(uow.conn(), ctx.now)
            .revoke_made_by_in(organization, target.user_id, Some(&key_roles_above(role)))
            .await?;
        crate::api_keys::record_revoked(uow.conn(), ctx, &revoked).await?;
        AuditLogRepository::new(uow.conn())
            .record(
                ctx,
                AuditEvent::new(AuditAction::MemberUpdated, AuditEntity::Member, id)
                    .in_organization(organization)
                    .with_changes(Changes::new().field(
                        "role",
                        target.role.as_str(),
                        role.as_str(),
                    )),
            )
            .await?;
    }
    let changed = members.find_with_user(id).await?;
    uow.commit().await?;
    Ok(changed)
}

/// Removes member `id` and revokes (and audits) the keys they made here; a
/// member may always remove themself (leave). `NotFound`
/// as for [`change_role`]; `Forbidden` (`INSUFFICIENT_ROLE`) unless the policy
/// allows it; `Conflict` (`LAST_OWNER`) for the last owner.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn remove(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: MemberId,
) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    let members = MemberRepository::at(uow.conn(), ctx.now);
    OrganizationRepository::at(uow.conn(), ctx.now)
        .lock(organization)
        .await?;
    let me = access::resolve(uow.conn(), ctx, organization).await?;
    let target = members.find_in(organization, id).await?;
    let own = me.member.as_ref().is_some_and(|m| m.id == target.id);
    authorize(me.role, Operation::RemoveMember, own)?;
    if !can_remove(me.role.member_role(), target.role, own) {
        return Err(insufficient_role(
            "admins remove admins and members; only an owner removes an owner",
        ));
    }
    keeps_an_owner(members.count_owners(organization).await?, target.role, None)?;
    members.soft_delete(id).await?;
    // The keys they made here leave with them.
    let revoked = ApiKeyRepository::at(uow.conn(), ctx.now)
        .revoke_made_by_in(organization, target.user_id, None)
        .await?;
    crate::api_keys::record_revoked(uow.conn(), ctx, &revoked).await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::MemberRemoved, AuditEntity::Member, id)
                .in_organization(organization)
                .with_changes(Changes::new().field("role", target.role.as_str(), None::<&str>)),
        )
        .await?;
    uow.commit().await
}
