//! Invitations: invite by email and role (the token goes to the outbox, only its
//! hash is stored), list and revoke pending ones, and accept one.

use domain::access::Operation;
use domain::invitations::InvitationSort;
use domain::invitations::{INVITATION_EMAIL_MISMATCH, Invitation, InvitationDraft, can_invite_as};
use domain::members::{MemberWithUser, insufficient_role};
use domain::plans::ensure_room;
use domain::{
    AuditAction, AuditEntity, AuditEvent, Changes, DomainError, InvitationId, NewMember,
    OrganizationId, Page, PageRequest, User,
};
use serde_json::json;

use crate::access;
use infra::Database;
use infra::repositories::invitations::InvitationRepository;
use infra::repositories::{
    AuditLogRepository, EmailTemplate, MemberRepository, OrganizationRepository, OutboxRepository,
};
use infra::security::{hash_token, issue_token};

use crate::Context;

/// Invites `draft.email` as `draft.role` (admin or owner; only an owner invites
/// an owner) and queues the email carrying the token, in one unit of work.
/// `NotFound` (`ORGANIZATION_NOT_FOUND`) for a non-member; `Forbidden`
/// (`INSUFFICIENT_ROLE`, `USER_REQUIRED` for a key, `PLAN_LIMIT_REACHED` when
/// members plus pending invitations fill the plan); `Conflict` `ALREADY_MEMBER`
/// when a live member has the email, `INVITATION_PENDING` when a pending
/// invitation for it exists.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    draft: InvitationDraft,
) -> Result<Invitation, DomainError> {
    let now = ctx.now;
    let token = issue_token()?;
    let uow = db.begin().await?;
    let orgs = OrganizationRepository::at(uow.conn(), now);
    let invitations = InvitationRepository::at(uow.conn(), now);
    let members = MemberRepository::at(uow.conn(), now);
    // No unique index can express "one pending invitation per email" or a plan's
    // cap, so the organization's lock serialises the checks and the insert.
    let limits = orgs.lock_with_limits(organization).await?;
    let access =
        access::require(uow.conn(), ctx, organization, Operation::CreateInvitation).await?;
    let actor = ctx.user()?;
    let org = access.organization;
    if !can_invite_as(access.role.member_role(), draft.role) {
        return Err(insufficient_role("only an owner may invite an owner"));
    }
    if members
        .has_member_with_email(organization, &draft.email)
        .await?
    {
        return Err(DomainError::state_conflict(
            "ALREADY_MEMBER",
            "a member with this email already belongs to the organization",
        ));
    }
    if invitations.has_pending(organization, &draft.email).await? {
        return Err(DomainError::state_conflict(
            "INVITATION_PENDING",
            "an invitation for this email is already pending",
        ));
    }
    let seats =
        members.count_in(organization).await? + invitations.count_pending(organization).await?;
    ensure_room(
        seats,
        limits.max_members,
        "members (pending invitations included)",
        org.plan,
    )?;
    let invitation = invitations
        .insert(organization, actor, draft, token.hash)
        .await?;
    OutboxRepository::at(uow.conn(), now)
        .enqueue_email(
            &invitation.email,
            EmailTemplate::Invitation,
            json!({
                "token": token.token,
                "organizationId": org.id.to_string(),
                "organizationName": org.name,
                "role": invitation.role.as_str(),
            }),
        )
        .await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(
                AuditAction::InvitationCreated,
                AuditEntity::Invitation,
                invitation.id,
            )
            .in_organization(organization)
            .with_changes(
                Changes::new()
                    .created("email", invitation.email.as_str())
                    .created("role", invitation.role.as_str()),
            ),
        )
        .await?;
    uow.commit().await?;
    Ok(invitation)
}

/// One page of the organization's pending invitations (admin or owner).
pub async fn list(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    request: &PageRequest<InvitationSort>,
) -> Result<Page<Invitation>, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ListInvitations).await?;
    InvitationRepository::at(db.conn(), ctx.now)
        .list_pending(organization, request)
        .await
}

/// Revokes a pending invitation (admin or owner). `NotFound`
/// (`INVITATION_NOT_FOUND`) when it is not a pending one of this organization.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn revoke(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: InvitationId,
) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    access::require(uow.conn(), ctx, organization, Operation::RevokeInvitation).await?;
    InvitationRepository::at(uow.conn(), ctx.now)
        .revoke_pending(organization, id)
        .await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::InvitationRevoked, AuditEntity::Invitation, id)
                .in_organization(organization),
        )
        .await?;
    uow.commit().await
}

/// Accepts the invitation behind `token` as `user`, who becomes a member with
/// its role. `InvalidToken` when the token is unknown, expired, revoked, used, or
/// its organization is deleted; `Forbidden` (`INVITATION_EMAIL_MISMATCH`) when
/// it is addressed to another email; `Conflict` (`ALREADY_MEMBER`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn accept(
    db: &Database,
    ctx: &Context,
    user: &User,
    token: &str,
) -> Result<MemberWithUser, DomainError> {
    let now = ctx.now;
    let uow = db.begin().await?;
    let invitations = InvitationRepository::at(uow.conn(), now);
    let invitation = invitations
        .find_by_token_hash(&hash_token(token))
        .await?
        .filter(|i| i.is_pending_at(now))
        .ok_or(DomainError::InvalidToken)?;
    OrganizationRepository::at(uow.conn(), now)
        .lock(invitation.organization_id)
        .await
        .map_err(|e| match e {
            DomainError::NotFound { .. } => DomainError::InvalidToken,
            other => other,
        })?;
    if invitation.email != user.email {
        return Err(DomainError::forbidden(
            INVITATION_EMAIL_MISMATCH,
            "this invitation is addressed to another email address",
        ));
    }
    // Conditional on still being pending: a token is used once, even when two
    // requests race.
    if !invitations.mark_accepted(invitation.id).await? {
        return Err(DomainError::InvalidToken);
    }
    // The live (organization, user) unique index answers ALREADY_MEMBER.
    let member = MemberRepository::at(uow.conn(), now)
        .insert(NewMember {
            organization_id: invitation.organization_id,
            user_id: user.id,
            role: invitation.role,
        })
        .await?;
    let audit = AuditLogRepository::new(uow.conn());
    audit
        .record(
            ctx,
            AuditEvent::new(
                AuditAction::InvitationAccepted,
                AuditEntity::Invitation,
                invitation.id,
            )
            .in_organization(invitation.organization_id),
        )
        .await?;
    audit
        .record(
            ctx,
            AuditEvent::new(AuditAction::MemberUpdated, AuditEntity::Member, member.id)
                .in_organization(invitation.organization_id)
                .with_changes(Changes::new().created("role", member.role.as_str())),
        )
        .await?;
    uow.commit().await?;
    Ok(MemberWithUser {
        member,
        user: user.clone(),
    })
}
