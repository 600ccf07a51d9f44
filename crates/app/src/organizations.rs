//! Organizations: create (the creator becomes owner), list, read, change, delete
//! with its cascade, and restore.

use domain::access::{AccessRole, Operation, authorize};
use domain::admin::PlatformAdmin;
use domain::organizations::OrganizationSort;
use domain::organizations::{
    ORGANIZATION_NOT_FOUND, OrganizationChanges, OrganizationDraft, OrganizationMembership,
    SLUG_TAKEN, may_set_plan,
};
use domain::users::last_owner_conflict;
use domain::{
    Actor, AuditAction, AuditEntity, AuditEvent, Changes, DomainError, MemberRole, NewMember,
    NewOrganization, Organization, OrganizationId, Page, PageRequest, PersonName, PlanKey, Slug,
};

use crate::access;
use infra::Database;
use infra::repositories::invitations::InvitationRepository;
use infra::repositories::{
    ApiKeyRepository, AuditLogRepository, JobRepository, MemberRepository, OrganizationRepository,
};

use crate::Context;

/// How many derived slugs one creation tries. A candidate looked up as free can
/// be taken by a concurrent creation before it is inserted; each such loss moves
/// on to the next free suffix, so `n` creations racing for one name need at
/// most `n` tries each. Past this bound the request gives up with 409
/// `SLUG_TAKEN` rather than loop.
const DERIVED_SLUG_ATTEMPTS: u32 = 50;

/// How many suffixed candidates one query checks.
const SLUG_BATCH: u32 = 20;

/// Creates an organization with the calling user as its owner, in one unit of work.
/// Without a slug, one is derived from the name, suffixed (`acme-2`, ...) when
/// taken, with its `active` subscription to the plan. `Conflict` (`SLUG_TAKEN`)
/// when an explicit slug is taken; `Forbidden` (`PLAN_CHANGE_FORBIDDEN`) for a
/// plan other than `free` unless `admin` (the caller is a platform admin);
/// `Validation` (`UNKNOWN_PLAN`) for a key no plan has.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &Database,
    ctx: &Context,
    draft: OrganizationDraft,
    admin: Option<PlatformAdmin>,
) -> Result<OrganizationMembership, DomainError> {
    may_set_plan(&PlanKey::free(), &draft.plan, admin)?;
    let (actor, now) = (ctx.user()?, ctx.now);
    let uow = db.begin().await?;
    let orgs = OrganizationRepository::at(uow.conn(), now);
    let organization = match draft.slug {
        // An explicit slug that is taken is the caller's 409.
        Some(slug) => {
            orgs.insert(NewOrganization {
                name: draft.name,
                slug,
                plan: draft.plan,
            })
            .await?
        }
        None => insert_with_derived_slug(&orgs, draft.name, draft.plan).await?,
    };
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

/// Inserts an organization named `name` under the slug derived from it, or the
/// first of `-2`, `-3`, ... that no live organization uses. The unique index
/// decides: a candidate taken between the look-up and the insert moves on to
/// the next free one, at most [`DERIVED_SLUG_ATTEMPTS`] times (then `Conflict`
/// `SLUG_TAKEN`).
async fn insert_with_derived_slug<C: sea_orm::ConnectionTrait>(
    orgs: &OrganizationRepository<'_, C>,
    name: PersonName,
    plan: PlanKey,
) -> Result<Organization, DomainError> {
    let base = Slug::derive_from(name.as_str());
    let mut from = 1;
    for _ in 0..DERIVED_SLUG_ATTEMPTS {
        let (n, slug) = free_slug(orgs, &base, from).await?;
        let new = NewOrganization {
            name: name.clone(),
            slug,
            plan: plan.clone(),
        };
        match orgs.insert_unless_slug_taken(new).await? {
            Some(organization) => return Ok(organization),
            None => from = n + 1,
        }
    }
    Err(DomainError::taken("slug", SLUG_TAKEN))
}

/// The first of `base` (number 1), `base-2`, `base-3`, ... from number `from`
/// that no live organization uses, with its number.
async fn free_slug<C: sea_orm::ConnectionTrait>(
    orgs: &OrganizationRepository<'_, C>,
    base: &Slug,
    from: u32,
) -> Result<(u32, Slug), DomainError> {
    let mut first = from;
    loop {
        let candidates: Vec<(u32, Slug)> = (first..first + SLUG_BATCH)
            .map(|n| {
                let slug = if n == 1 {
                    base.clone()
                } else {
                    base.with_suffix(n)
                };
                (n, slug)
            })
            .collect();
        let slugs: Vec<Slug> = candidates.iter().map(|(_, s)| s.clone()).collect();
        let taken = orgs.taken_slugs(&slugs).await?;
        if let Some(free) = candidates
            .into_iter()
            .find(|(_, c)| !taken.iter().any(|t| t == c.as_str()))
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
    let mut changes = changes;
    if let Some(plan) = changes.plan.take() {
        may_set_plan(&before.plan, &plan, admin)?;
        crate::subscriptions::move_to_plan(uow.conn(), ctx, id, &plan).await?;
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
/// with its live jobs (their runs in progress end), and revokes its API keys
/// (for good).
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
    JobRepository::at(uow.conn(), now).delete_all_in(id).await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            organization_event(AuditAction::OrganizationDeleted, &access.organization),
        )
        .await?;
    uow.commit().await
}

/// Restores a deleted organization for a user who was its owner when it was
/// deleted, with exactly the members and invitations its deletion removed, but
/// for the members whose accounts were deleted meanwhile (the restorer comes
/// back as owner, so it never lacks a live owner).
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
    // The restorer, live and an owner at deletion, is back as owner; checked,
    // so that no path commits an organization without a live owner.
    if members.count_owners(id).await? == 0 {
        return Err(last_owner_conflict());
    }
    InvitationRepository::at(uow.conn(), now)
        .restore_all_in(id, deleted_at)
        .await?;
    JobRepository::at(uow.conn(), now)
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
