//! Invitations: invite by email and role (the token goes to the outbox, only its
//! hash is stored), list and revoke pending ones, and accept one.

use chrono::{DateTime, Utc};
use domain::tenancy::{
    INVITATION_EMAIL_MISMATCH, Invitation, InvitationDraft, MemberWithUser, can_invite_as,
    insufficient_role, require_role,
};
use domain::{
    DomainError, InvitationId, MemberRole, NewMember, OrganizationId, Page, PageRequest, User,
    UserId,
};
use serde_json::json;

use crate::Database;
use crate::repositories::invitations::InvitationRepository;
use crate::repositories::{
    EmailTemplate, MemberRepository, OrganizationRepository, OutboxRepository,
};
use crate::security::{hash_token, issue_token};

/// Invites `draft.email` as `draft.role` (admin or owner; only an owner invites
/// an owner) and queues the email carrying the token, in one unit of work.
/// `NotFound` (`ORGANIZATION_NOT_FOUND`) for a non-member; `Forbidden`
/// (`INSUFFICIENT_ROLE`); `Conflict` `ALREADY_MEMBER` when a live member has the
/// email, `INVITATION_PENDING` when a pending invitation for it exists.
#[tracing::instrument(skip_all)]
pub async fn create(
    db: &Database,
    now: DateTime<Utc>,
    actor: UserId,
    organization: OrganizationId,
    draft: InvitationDraft,
) -> Result<Invitation, DomainError> {
    let token = issue_token()?;
    let uow = db.begin().await?;
    let orgs = OrganizationRepository::at(uow.conn(), now);
    let invitations = InvitationRepository::at(uow.conn(), now);
    // No unique index can express "one pending invitation per email", so the
    // organization's lock serialises the check and the insert.
    orgs.lock(organization).await?;
    let (org, me) = orgs.membership(organization, actor).await?;
    require_role(me.role, MemberRole::Admin)?;
    if !can_invite_as(me.role, draft.role) {
        return Err(insufficient_role("only an owner may invite an owner"));
    }
    if MemberRepository::at(uow.conn(), now)
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
    uow.commit().await?;
    Ok(invitation)
}

/// One page of the organization's pending invitations (admin or owner).
pub async fn list(
    db: &Database,
    now: DateTime<Utc>,
    actor: UserId,
    organization: OrganizationId,
    request: &PageRequest,
) -> Result<Page<Invitation>, DomainError> {
    let (_, me) = OrganizationRepository::at(db.conn(), now)
        .membership(organization, actor)
        .await?;
    require_role(me.role, MemberRole::Admin)?;
    InvitationRepository::at(db.conn(), now)
        .list_pending(organization, request)
        .await
}

/// Revokes a pending invitation (admin or owner). `NotFound`
/// (`INVITATION_NOT_FOUND`) when it is not a pending one of this organization.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    db: &Database,
    now: DateTime<Utc>,
    actor: UserId,
    organization: OrganizationId,
    id: InvitationId,
) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    let (_, me) = OrganizationRepository::at(uow.conn(), now)
        .membership(organization, actor)
        .await?;
    require_role(me.role, MemberRole::Admin)?;
    InvitationRepository::at(uow.conn(), now)
        .revoke_pending(organization, id)
        .await?;
    uow.commit().await
}

/// Accepts the invitation behind `token` as `user`, who becomes a member with
/// its role. `InvalidToken` when the token is unknown, expired, revoked, used, or
/// its organization is deleted; `Forbidden` (`INVITATION_EMAIL_MISMATCH`) when
/// it is addressed to another email; `Conflict` (`ALREADY_MEMBER`).
#[tracing::instrument(skip_all)]
pub async fn accept(
    db: &Database,
    now: DateTime<Utc>,
    user: &User,
    token: &str,
) -> Result<MemberWithUser, DomainError> {
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
    uow.commit().await?;
    Ok(MemberWithUser {
        member,
        user: user.clone(),
    })
}
