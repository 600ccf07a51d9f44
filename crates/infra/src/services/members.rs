//! Memberships: list, change a role, remove (or leave). Every change runs under
//! the organization's row lock, so the "at least one owner" check and the write
//! after it cannot interleave with another change.

use chrono::{DateTime, Utc};
use domain::tenancy::{
    MemberWithUser, can_change_role, can_remove, insufficient_role, keeps_an_owner, require_role,
};
use domain::{DomainError, MemberId, MemberRole, OrganizationId, Page, PageRequest, UserId};

use crate::Database;
use crate::repositories::{MemberRepository, OrganizationRepository};

/// One page of the organization's members with their users. `NotFound`
/// (`ORGANIZATION_NOT_FOUND`) unless `actor` is a live member.
pub async fn list(
    db: &Database,
    now: DateTime<Utc>,
    actor: UserId,
    organization: OrganizationId,
    request: &PageRequest,
) -> Result<Page<MemberWithUser>, DomainError> {
    OrganizationRepository::at(db.conn(), now)
        .membership(organization, actor)
        .await?;
    MemberRepository::at(db.conn(), now)
        .list(organization, request)
        .await
}

/// Gives member `id` the role `role`. `NotFound` for a non-member actor
/// (`ORGANIZATION_NOT_FOUND`) or an unknown member (`MEMBER_NOT_FOUND`);
/// `Forbidden` (`INSUFFICIENT_ROLE`) unless the role policy allows it; `Conflict`
/// (`LAST_OWNER`) when it would demote the last owner.
#[tracing::instrument(skip_all)]
pub async fn change_role(
    db: &Database,
    now: DateTime<Utc>,
    actor: UserId,
    organization: OrganizationId,
    id: MemberId,
    role: MemberRole,
) -> Result<MemberWithUser, DomainError> {
    let uow = db.begin().await?;
    let orgs = OrganizationRepository::at(uow.conn(), now);
    let members = MemberRepository::at(uow.conn(), now);
    orgs.lock(organization).await?;
    let (_, me) = orgs.membership(organization, actor).await?;
    require_role(me.role, MemberRole::Admin)?;
    let target = members.find_in(organization, id).await?;
    if !can_change_role(me.role, target.role, role) {
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
    }
    let changed = members.find_with_user(id).await?;
    uow.commit().await?;
    Ok(changed)
}

/// Removes member `id`; a member may always remove themself (leave). `NotFound`
/// as for [`change_role`]; `Forbidden` (`INSUFFICIENT_ROLE`) unless the policy
/// allows it; `Conflict` (`LAST_OWNER`) for the last owner.
#[tracing::instrument(skip_all)]
pub async fn remove(
    db: &Database,
    now: DateTime<Utc>,
    actor: UserId,
    organization: OrganizationId,
    id: MemberId,
) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    let orgs = OrganizationRepository::at(uow.conn(), now);
    let members = MemberRepository::at(uow.conn(), now);
    orgs.lock(organization).await?;
    let (_, me) = orgs.membership(organization, actor).await?;
    let target = members.find_in(organization, id).await?;
    if !can_remove(me.role, target.role, target.id == me.id) {
        return Err(insufficient_role(
            "admins remove admins and members; only an owner removes an owner",
        ));
    }
    keeps_an_owner(members.count_owners(organization).await?, target.role, None)?;
    members.soft_delete(id).await?;
    uow.commit().await
}
