//! Invitations to join an organization: the stored invitation, what it takes to
//! invite someone, and who may invite as what.

use chrono::{DateTime, Utc};

use crate::error::{DomainError, Validation};
use crate::id::{InvitationId, OrganizationId, UserId};
use crate::members::MemberRole;
use crate::values::Email;

/// The machine code of a 403 for accepting an invitation addressed to someone else.
pub const INVITATION_EMAIL_MISMATCH: &str = "INVITATION_EMAIL_MISMATCH";

/// An invitation that is not a pending one of this organization.
pub const INVITATION_NOT_FOUND: DomainError =
    DomainError::not_found("invitation", "INVITATION_NOT_FOUND");

impl crate::id::ResourceId for InvitationId {
    const NOT_FOUND: DomainError = INVITATION_NOT_FOUND;
    const PARAM: &'static str = "invitationId";
}

crate::sort_by! {
    /// `sortBy` of the invitation list.
    InvitationSort {
        /// Creation time (the default).
        CreatedAt => "createdAt",
        /// The invited email.
        Email => "email",
    }
}

/// An invitation to join an organization. The token itself is never stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    /// Identity.
    pub id: InvitationId,
    /// The organization to join.
    pub organization_id: OrganizationId,
    /// Who may accept it: the signed-in user's email must be this one.
    pub email: Email,
    /// The role the new member gets.
    pub role: MemberRole,
    /// The user who invited.
    pub invited_by: UserId,
    /// After this instant the invitation can no longer be accepted.
    pub expires_at: DateTime<Utc>,
    /// Set once accepted.
    pub accepted_at: Option<DateTime<Utc>>,
    /// Set when revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Set when soft-deleted (with its organization).
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Invitation {
    /// Whether it can still be accepted at `now`: not accepted, revoked, deleted
    /// or expired.
    pub fn is_pending_at(&self, now: DateTime<Utc>) -> bool {
        self.accepted_at.is_none()
            && self.revoked_at.is_none()
            && self.deleted_at.is_none()
            && now < self.expires_at
    }
}

/// A validated request to invite someone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationDraft {
    /// Who is invited.
    pub email: Email,
    /// The role they will get.
    pub role: MemberRole,
}

/// Whether `actor` may invite someone as `role`: admins invite admins and members,
/// only an owner invites an owner.
pub fn can_invite_as(actor: MemberRole, role: MemberRole) -> bool {
    if role == MemberRole::Owner {
        actor == MemberRole::Owner
    } else {
        actor.at_least(MemberRole::Admin)
    }
}

/// An invitation as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateInvitationBody))]
#[serde(rename_all = "camelCase")]
pub struct CreateInvitationRequest {
    /// Who is invited; only a user signed in with this email can accept.
    #[validate(
        required(code = "REQUIRED", message = "email is required"),
        custom(function = "crate::validate::email")
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Email, max_length = 254, required = true, example = "grace@example.com"))]
    pub email: Option<String>,
    /// `owner` (owners only), `admin` or `member`.
    #[validate(
        required(code = "REQUIRED", message = "role is required"),
        custom(function = "crate::validate::variant::<MemberRole>")
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = MemberRole, inline, required = true, example = "member"))]
    pub role: Option<String>,
}

impl TryFrom<CreateInvitationRequest> for InvitationDraft {
    type Error = DomainError;

    fn try_from(body: CreateInvitationRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let email = v
            .required("email", body.email)
            .and_then(|e| v.check("email", Email::parse(&e)));
        let role = v
            .required("role", body.role)
            .and_then(|r| v.check("role", r.parse::<MemberRole>()));
        let (email, role) = v.finish(email.zip(role))?;
        Ok(Self { email, role })
    }
}

/// An invitation token as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AcceptInvitationBody))]
#[serde(rename_all = "camelCase")]
pub struct AcceptInvitationRequest {
    /// The token from the invitation email.
    #[validate(
        required(code = "REQUIRED", message = "token is required"),
        custom(function = "crate::validate::not_blank", message = "token is required")
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, pattern = "\\S", required = true))]
    pub token: Option<String>,
}

impl AcceptInvitationRequest {
    /// The token, or 422 `REQUIRED`.
    pub fn into_token(self) -> Result<String, DomainError> {
        let mut v = Validation::of(&self);
        let token = v.required("token", self.token.filter(|t| !t.trim().is_empty()));
        v.finish(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MemberRole::{Admin, Member as Plain, Owner};

    #[test]
    fn only_owners_invite_owners() {
        assert!(can_invite_as(Owner, Owner));
        assert!(!can_invite_as(Admin, Owner));
        assert!(can_invite_as(Admin, Admin));
        assert!(!can_invite_as(Plain, Plain));
    }

    #[test]
    fn an_invitation_is_pending_until_used_revoked_or_expired() {
        let now = Utc::now();
        let invitation = Invitation {
            id: InvitationId::new(),
            organization_id: OrganizationId::new(),
            email: Email::parse("a@example.com").unwrap(),
            role: Plain,
            invited_by: UserId::new(),
            expires_at: now + crate::auth::INVITATION_LIFETIME,
            accepted_at: None,
            revoked_at: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        assert!(invitation.is_pending_at(now));
        assert!(!invitation.is_pending_at(invitation.expires_at));
        let revoked = Invitation {
            revoked_at: Some(now),
            ..invitation.clone()
        };
        assert!(!revoked.is_pending_at(now));
        let accepted = Invitation {
            accepted_at: Some(now),
            ..invitation
        };
        assert!(!accepted.is_pending_at(now));
    }
}
