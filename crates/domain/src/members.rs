//! Memberships: a user's place in an organization, its role, and the role rules.
//!
//! Role rules are plain functions of the roles involved, so the use cases ask them
//! and the same answers hold wherever an organization is managed.

use chrono::{DateTime, Utc};

use crate::error::{DomainError, Validation};
use crate::id::{MemberId, OrganizationId, UserId};
use crate::text_enum;
use crate::users::User;

/// The machine code of a 403 for a member whose role is too low.
pub const INSUFFICIENT_ROLE: &str = "INSUFFICIENT_ROLE";

/// The machine code of a 409 for a change that would leave no owner.
pub const LAST_OWNER: &str = "LAST_OWNER";

/// A membership that is not a live one of this organization.
pub const MEMBER_NOT_FOUND: DomainError = DomainError::not_found("member", "MEMBER_NOT_FOUND");

impl crate::id::ResourceId for MemberId {
    const NOT_FOUND: DomainError = MEMBER_NOT_FOUND;
    const PARAM: &'static str = "memberId";
}

crate::sort_by! {
    /// `sortBy` of the member list.
    MemberSort {
        /// When the user joined (the default).
        CreatedAt => "createdAt",
        /// The user's email.
        Email => "email",
        /// The user's first name.
        FirstName => "firstName",
        /// The user's last name.
        LastName => "lastName",
        /// The role, alphabetically.
        Role => "role",
    }
}

text_enum! {
    /// A member's role in an organization, from most to least powerful.
    MemberRole {
        /// Full control, including deletion; an organization keeps at least one.
        Owner => "owner",
        /// Manages members, invitations, keys and settings.
        Admin => "admin",
        /// Uses the organization's resources.
        Member => "member",
    }
}

impl MemberRole {
    /// Whether this role may do what `required` may.
    pub fn at_least(self, required: MemberRole) -> bool {
        self.rank() >= required.rank()
    }

    fn rank(self) -> u8 {
        match self {
            Self::Owner => 2,
            Self::Admin => 1,
            Self::Member => 0,
        }
    }
}

/// A user's membership in an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Identity.
    pub id: MemberId,
    /// The organization.
    pub organization_id: OrganizationId,
    /// The user.
    pub user_id: UserId,
    /// What the user may do there.
    pub role: MemberRole,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Set when soft-deleted.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// What it takes to add a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMember {
    /// The organization.
    pub organization_id: OrganizationId,
    /// The user.
    pub user_id: UserId,
    /// What the user may do there.
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

/// A role change as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdateMemberBody))]
#[serde(rename_all = "camelCase")]
pub struct UpdateMemberRequest {
    /// `owner`, `admin` or `member`.
    #[validate(
        required(code = "REQUIRED", message = "role is required"),
        custom(function = "crate::validate::variant::<MemberRole>")
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = MemberRole, inline, required = true, example = "admin"))]
    pub role: Option<String>,
}

impl TryFrom<UpdateMemberRequest> for MemberRole {
    type Error = DomainError;

    fn try_from(body: UpdateMemberRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let role = v
            .required("role", body.role)
            .and_then(|r| v.check("role", r.parse::<MemberRole>()));
        v.finish(role)
    }
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
}
