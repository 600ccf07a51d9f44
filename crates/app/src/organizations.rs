//! Organizations: create (the creator becomes owner), list, read, change, delete
//! with its cascade, and restore.

use domain::access::{AccessRole, Operation, authorize};
use domain::admin::PlatformAdmin;
use domain::organizations::OrganizationSort;
use domain::organizations::{
    ORGANIZATION_NOT_FOUND, OrganizationChanges, OrganizationDraft, OrganizationMembership, Plan,
    may_set_plan,
};
use domain::{
    Actor, AuditAction, AuditEntity, AuditEvent, Changes, DomainError, MemberRole, NewMember,
    NewOrganization, Organization, OrganizationId, Page, PageRequest, PersonName, Slug,
};

use crate::access;
use infra::Database;
use infra::repositories::invitations::InvitationRepository;
use infra::repositories::{
    ApiKeyRepository, AuditLogRepository, MemberRepository, OrganizationRepository,
};

use crate::Context;

/// A derived slug found free can be taken by a concurrent creation before we
/// insert; the unique index then refuses ours and we look again this many times.
const DERIVED_SLUG_ATTEMPTS: u32 = 3;

/// How many suffixed candidates one query checks.
const SLUG_BATCH: u32 = 20;

/// Creates an organization with the calling user as its owner, in one unit of work.
/// Without a slug, one is derived from the name, suffixed (`acme-2`, ...) when
/// taken. `Conflict` (`SLUG_TAKEN`) when an explicit slug is taken; `Forbidden`
/// (`PLAN_CHANGE_FORBIDDEN`) for a plan other than `free` unless `admin` (the
/// caller is a platform admin).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &Database,
    ctx: &Context,
    draft: OrganizationDraft,
    admin: Option<PlatformAdmin>,
) -> Result<OrganizationMembership, DomainError> {
    may_set_plan(Plan::default(), draft.plan, admin)?;
    let mut attempt = 1;
    loop {
        match try_create(db, ctx, draft.clone()).await {
            Err(DomainError::Conflict(c))
                if c.code == "SLUG_TAKEN"
                    && draft.slug.is_none()
                    && attempt < DERIVED_SLUG_ATTEMPTS =>
            {
                attempt += 1;
            }
            result => return result,
        }
    }
}

async fn try_create(
    db: &Database,
    ctx: &Context,
    draft: OrganizationDraft,
) -> Result<OrganizationMembership, DomainError> {
    let (actor, now) = (ctx.user()?, ctx.now);
    let uow = db.begin().await?;
    let orgs = OrganizationRepository::at(uow.conn(), now);
    let slug = match draft.slug {
        Some(slug) => slug,
        // Looked up before inserting: a failed INSERT would abort a PostgreSQL
        // transaction.
        None => free_slug(&orgs, &draft.name).await?,
    };
    let organization = orgs
        .insert(NewOrganization {
            name: draft.name,
            slug,
            plan: draft.plan,
        })
        .await?;
    let owner = MemberRepository::at(uow.conn(), now)
        .insert(NewMember {
            organization_id: organization.id,
            user_id: actor,
            role: MemberRole::Owner,
        })
        .await?;
    let audit = AuditLogRepository::new(uow.conn());
    audit
        .record(
            ctx,
            organization_event(AuditAction::OrganizationCreated, &organization).with_changes(
                Changes::new()
                    .created("name", &organization.name)
                    .created("slug", organization.slug.as_str())
                    .created("plan", organization.plan.as_str()),
            ),
        )
        .await?;
    audit
        .record(
            ctx,
            AuditEvent::new(AuditAction::MemberUpdated, AuditEntity::Member, owner.id)
                .in_organization(organization.id)
                .with_changes(Changes::new().created("role", MemberRole::Owner.as_str())),
        )
        .await?;
    uow.commit().await?;
    Ok(OrganizationMembership {
        organization,
        role: MemberRole::Owner,
    })
}

/// The slug derived from `name`, or the first of `-2`, `-3`, ... that no live
/// organization uses.
async fn free_slug<C: sea_orm::ConnectionTrait>(
    orgs: &OrganizationRepository<'_, C>,
    name: &PersonName,
) -> Result<Slug, DomainError> {
    let base = Slug::derive_from(name.as_str());
    let mut first = 1;
    loop {
        let candidates: Vec<Slug> = (first..first + SLUG_BATCH)
            .map(|n| {
                if n == 1 {
                    base.clone()
                } else {
                    base.with_suffix(n)
                }
            })
            .collect();
        let taken = orgs.taken_slugs(&candidates).await?;
        if let Some(free) = candidates
            .into_iter()
            .find(|c| !taken.iter().any(|t| t == c.as_str()))
        {
            return Ok(free);
        }
        first += SLUG_BATCH;
    }
}

/// An event about `organization`, inside it.
fn organization_event(action: AuditAction, organization: &Organization) -> AuditEvent {
    AuditEvent::new(action, AuditEntity::Organization, organization.id)
        .in_organization(organization.id)
}

/// One page of the live organizations the calling user belongs to, with their role.
pub async fn list(
    db: &Database,
    ctx: &Context,
    request: &PageRequest<OrganizationSort>,
) -> Result<Page<OrganizationMembership>, DomainError> {
    OrganizationRepository::at(db.conn(), ctx.now)
        .list_for_member(ctx.user()?, request)
        .await
}

/// The organization, as the caller (a member, or one of its keys) sees it.
/// `NotFound` (`ORGANIZATION_NOT_FOUND`) for anyone else.
pub async fn get(
    db: &Database,
    ctx: &Context,
    id: OrganizationId,
) -> Result<OrganizationMembership, DomainError> {
    let access = access::require(db.conn(), ctx, id, Operation::ReadOrganization).await?;
    Ok(OrganizationMembership {
        organization: access.organization,
        role: access.role.member_role(),
    })
}

/// Changes the organization (admin or owner). `NotFound` for a non-member,
/// `Forbidden` (`INSUFFICIENT_ROLE`) for a plain member, or
/// (`PLAN_CHANGE_FORBIDDEN`) for another plan unless `admin` (the caller is a
/// platform admin); `Conflict` (`SLUG_TAKEN`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    db: &Database,
    ctx: &Context,
    id: OrganizationId,
    changes: OrganizationChanges,
    admin: Option<PlatformAdmin>,
) -> Result<OrganizationMembership, DomainError> {
    let uow = db.begin().await?;
    let access = access::require(uow.conn(), ctx, id, Operation::UpdateOrganization).await?;
    let before = access.organization;
    if let Some(plan) = changes.plan {
        may_set_plan(before.plan, plan, admin)?;
    }
    let organization = OrganizationRepository::at(uow.conn(), ctx.now)
        .update(id, changes)
        .await?;
    let changed = Changes::new()
        .field("name", &before.name, &organization.name)
        .field("slug", before.slug.as_str(), organization.slug.as_str())
        .field("plan", before.plan.as_str(), organization.plan.as_str());
    if !changed.is_empty() {
        AuditLogRepository::new(uow.conn())
            .record(
                ctx,
                organization_event(AuditAction::OrganizationUpdated, &organization)
                    .with_changes(changed),
            )
            .await?;
    }
    uow.commit().await?;
    Ok(OrganizationMembership {
        organization,
        role: access.role.member_role(),
    })
}

/// Soft-deletes the organization (owner only) with its live members and pending
/// invitations, all stamped with the same `now` so a restore finds exactly them,
/// and revokes its API keys (for good).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(db: &Database, ctx: &Context, id: OrganizationId) -> Result<(), DomainError> {
    let now = ctx.now;
    let uow = db.begin().await?;
    let orgs = OrganizationRepository::at(uow.conn(), now);
    orgs.lock(id).await?;
    let access = access::require(uow.conn(), ctx, id, Operation::DeleteOrganization).await?;
    orgs.soft_delete(id).await?;
    MemberRepository::at(uow.conn(), now)
        .soft_delete_all_in(id)
        .await?;
    InvitationRepository::at(uow.conn(), now)
        .soft_delete_pending_in(id)
        .await?;
    ApiKeyRepository::at(uow.conn(), now)
        .revoke_all_in(id)
        .await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            organization_event(AuditAction::OrganizationDeleted, &access.organization),
        )
        .await?;
    uow.commit().await
}

/// Restores a deleted organization for a user who was its owner when it was
/// deleted, with exactly the members and invitations its deletion removed.
/// `Forbidden` (`INSUFFICIENT_ROLE`) for another member of that time; `NotFound`
/// for anyone else or a live organization; `Conflict` (`SLUG_TAKEN`)
/// when a live organization took the slug (then nothing is restored).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn restore(
    db: &Database,
    ctx: &Context,
    id: OrganizationId,
) -> Result<OrganizationMembership, DomainError> {
    // A key never sees a deleted organization (deletion revoked its own keys).
    let Actor::User(actor) = ctx.actor else {
        return Err(ORGANIZATION_NOT_FOUND);
    };
    let now = ctx.now;
    let uow = db.begin().await?;
    let orgs = OrganizationRepository::at(uow.conn(), now);
    let members = MemberRepository::at(uow.conn(), now);
    let deleted_at = orgs
        .find_with_deleted(id)
        .await?
        .deleted_at
        .ok_or(ORGANIZATION_NOT_FOUND)?;
    // Who was not a member when it was deleted cannot tell it exists; a member
    // who was not an owner hears the matrix's 403.
    let role = members
        .role_at_deletion(id, actor, deleted_at)
        .await?
        .ok_or(ORGANIZATION_NOT_FOUND)?;
    authorize(
        AccessRole::of_member(role),
        Operation::RestoreOrganization,
        false,
    )?;
    let organization = orgs.restore_from_cascade(id, deleted_at).await?;
    members.restore_all_in(id, deleted_at).await?;
    InvitationRepository::at(uow.conn(), now)
        .restore_all_in(id, deleted_at)
        .await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            organization_event(AuditAction::OrganizationRestored, &organization),
        )
        .await?;
    uow.commit().await?;
    Ok(OrganizationMembership {
        organization,
        role: MemberRole::Owner,
    })
}
