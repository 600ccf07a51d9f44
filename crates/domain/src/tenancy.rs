//! Tenancy rules: who may do what inside an organization, the shapes a request to
//! create or change an organization or invite someone takes once validated, and the
//! sortable fields of the tenancy lists.
//!
//! Role rules are plain functions of the roles involved, so the services ask them
//! and the same answers hold wherever an organization is managed.

use chrono::{DateTime, Utc};

use crate::entities::{Member, Organization, User};
use crate::enums::{MemberRole, Plan};
use crate::error::DomainError;
use crate::id::{InvitationId, OrganizationId, UserId};
use crate::values::{Email, PersonName, Slug};

/// The machine code of a 403 for a member whose role is too low.
pub const INSUFFICIENT_ROLE: &str = "INSUFFICIENT_ROLE";

/// The machine code of a 409 for a change that would leave no owner.
pub const LAST_OWNER: &str = "LAST_OWNER";

/// The machine code of a 403 for accepting an invitation addressed to someone else.
pub const INVITATION_EMAIL_MISMATCH: &str = "INVITATION_EMAIL_MISMATCH";

/// `sortBy` values of the organization list; the first is the default.
pub const ORGANIZATION_SORT_FIELDS: &[&str] = &["createdAt", "name"];

/// `sortBy` values of the member list; the first is the default.
pub const MEMBER_SORT_FIELDS: &[&str] = &["createdAt", "email", "firstName", "lastName", "role"];

/// `sortBy` values of the invitation list; the first is the default.
pub const INVITATION_SORT_FIELDS: &[&str] = &["createdAt", "email"];

/// An organization not found, deleted, or not the caller's: one answer for all
/// three, so existence is not leaked across tenants.
pub const ORGANIZATION_NOT_FOUND: DomainError =
    DomainError::not_found("organization", "ORGANIZATION_NOT_FOUND");

/// A membership that is not a live one of this organization.
pub const MEMBER_NOT_FOUND: DomainError = DomainError::not_found("member", "MEMBER_NOT_FOUND");

/// An invitation that is not a pending one of this organization.
pub const INVITATION_NOT_FOUND: DomainError =
    DomainError::not_found("invitation", "INVITATION_NOT_FOUND");

/// A 403 `INSUFFICIENT_ROLE` with `message`.
pub fn insufficient_role(message: impl Into<String>) -> DomainError {
    DomainError::forbidden(INSUFFICIENT_ROLE, message)
}

/// `Ok` when `actor` is at least `required`, else 403 `INSUFFICIENT_ROLE`.
pub fn require_role(actor: MemberRole, required: MemberRole) -> Result<(), DomainError> {
    if actor.at_least(required) {
        Ok(())
    } else {
        Err(insufficient_role(format!(
            "this requires the {required} role or higher"
        )))
    }
}

/// Whether `actor` may change a member's role from `current` to `new`: admins
/// manage admins and members; only an owner may grant `owner` or take it away.
pub fn can_change_role(actor: MemberRole, current: MemberRole, new: MemberRole) -> bool {
    let touches_owner = current == MemberRole::Owner || new == MemberRole::Owner;
    if touches_owner {
        actor == MemberRole::Owner
    } else {
        actor.at_least(MemberRole::Admin)
    }
}

/// Whether `actor` may remove a member whose role is `target`. Anyone may remove
/// themself (leave); otherwise admins remove admins and members, and only an owner
/// removes an owner.
pub fn can_remove(actor: MemberRole, target: MemberRole, is_self: bool) -> bool {
    is_self || can_change_role(actor, target, MemberRole::Member)
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

/// `Ok` unless the change leaves the organization without an owner: 409
/// `LAST_OWNER` when the member being changed is an owner, `owners` (the live
/// owners, counted under the organization's lock) is 1, and `new` is not `owner`
/// (`None` = the member is removed or leaves).
pub fn keeps_an_owner(
    owners: u64,
    current: MemberRole,
    new: Option<MemberRole>,
) -> Result<(), DomainError> {
    let loses_owner = current == MemberRole::Owner && new != Some(MemberRole::Owner);
    if loses_owner && owners <= 1 {
        Err(DomainError::state_conflict(
            LAST_OWNER,
            "an organization must keep at least one owner",
        ))
    } else {
        Ok(())
    }
}

/// A validated request to create an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationDraft {
    /// Display name, 1 to 100 characters.
    pub name: PersonName,
    /// The slug asked for; `None` derives one from the name (with a free suffix).
    pub slug: Option<Slug>,
    /// Subscription plan (`free` unless given).
    pub plan: Plan,
}

/// A validated partial change of an organization; `None` leaves a field alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationChanges {
    /// A new display name.
    pub name: Option<PersonName>,
    /// A new slug (409 `SLUG_TAKEN` when a live organization has it).
    pub slug: Option<Slug>,
    /// A new plan.
    pub plan: Option<Plan>,
}

/// An organization as one of its members sees it: with the member's role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationMembership {
    /// The organization.
    pub organization: Organization,
    /// The caller's role there.
    pub role: MemberRole,
}

/// A membership with its user, as member lists show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberWithUser {
    /// The membership.
    pub member: Member,
    /// Its user.
    pub user: User,
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

#[cfg(test)]
mod tests {
    use super::*;
    use MemberRole::{Admin, Member as Plain, Owner};

    #[test]
    fn admins_manage_admins_and_members_only() {
        assert!(can_change_role(Admin, Plain, Admin));
        assert!(can_change_role(Admin, Admin, Plain));
        assert!(!can_change_role(Admin, Plain, Owner));
        assert!(!can_change_role(Admin, Owner, Admin));
        assert!(!can_change_role(Plain, Plain, Admin));
    }

    #[test]
    fn only_owners_grant_or_take_away_owner() {
        assert!(can_change_role(Owner, Plain, Owner));
        assert!(can_change_role(Owner, Owner, Admin));
        assert!(can_change_role(Owner, Admin, Plain));
    }

    #[test]
    fn anyone_may_leave_but_only_owners_remove_owners() {
        assert!(can_remove(Plain, Plain, true));
        assert!(can_remove(Owner, Owner, true));
        assert!(!can_remove(Plain, Plain, false));
        assert!(can_remove(Admin, Admin, false));
        assert!(!can_remove(Admin, Owner, false));
        assert!(can_remove(Owner, Owner, false));
    }

    #[test]
    fn only_owners_invite_owners() {
        assert!(can_invite_as(Owner, Owner));
        assert!(!can_invite_as(Admin, Owner));
        assert!(can_invite_as(Admin, Admin));
        assert!(!can_invite_as(Plain, Plain));
    }

    #[test]
    fn the_last_owner_is_kept() {
        assert!(keeps_an_owner(1, Owner, Some(Admin)).is_err());
        assert!(keeps_an_owner(1, Owner, None).is_err());
        assert!(keeps_an_owner(1, Owner, Some(Owner)).is_ok());
        assert!(keeps_an_owner(2, Owner, None).is_ok());
        assert!(keeps_an_owner(1, Admin, None).is_ok());
    }

    #[test]
    fn a_role_below_the_requirement_is_forbidden() {
        assert!(require_role(Admin, Admin).is_ok());
        let Err(DomainError::Forbidden { code, .. }) = require_role(Plain, Admin) else {
            panic!("expected 403");
        };
        assert_eq!(code, INSUFFICIENT_ROLE);
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
