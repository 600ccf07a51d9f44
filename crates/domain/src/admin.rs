//! Platform administration: who is a platform admin, what an admin may not do to
//! themself.
//!
//! A [`PlatformAdmin`] can only be had from [`PlatformAdmin::verify`], so a
//! function that takes one cannot be reached without the check having passed:
//! the check is written once, here, and the admin services demand its proof.

use crate::error::DomainError;
use crate::id::UserId;
use crate::users::User;

/// The machine code of a 403 for an authenticated caller who is not a platform admin.
pub const PLATFORM_ADMIN_REQUIRED: &str = "PLATFORM_ADMIN_REQUIRED";

/// The machine code of a 409 for an admin deactivating their own account.
pub const CANNOT_DEACTIVATE_SELF: &str = "CANNOT_DEACTIVATE_SELF";

/// 403 `PLATFORM_ADMIN_REQUIRED`.
pub fn platform_admin_required() -> DomainError {
    DomainError::forbidden(
        PLATFORM_ADMIN_REQUIRED,
        "this requires a platform administrator",
    )
}

/// Proof that the calling user is a platform admin (`users.is_admin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlatformAdmin {
    user: UserId,
}

impl PlatformAdmin {
    /// The proof for `user`, or 403 `PLATFORM_ADMIN_REQUIRED` unless they are a
    /// platform admin. `user` must be the freshly authenticated caller (an
    /// inactive or deleted user never authenticates).
    pub fn verify(user: &User) -> Result<Self, DomainError> {
        if user.is_admin {
            Ok(Self { user: user.id })
        } else {
            Err(platform_admin_required())
        }
    }

    /// The admin's user.
    pub fn user_id(self) -> UserId {
        self.user
    }

    /// Whether this admin may deactivate `target`: anyone but themself (409
    /// `CANNOT_DEACTIVATE_SELF`), so that the platform cannot lose its last admin
    /// by a slip and nobody locks themself out mid-request.
    pub fn may_deactivate(self, target: UserId) -> Result<(), DomainError> {
        if target == self.user {
            Err(DomainError::state_conflict(
                CANNOT_DEACTIVATE_SELF,
                "You cannot deactivate your own account.",
            ))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::users::UserType;
    use crate::values::Email;

    fn user(is_admin: bool) -> User {
        let now = Utc::now();
        User {
            id: UserId::new(),
            email: Email::parse("ada@example.com").unwrap(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            user_type: UserType::Organization,
            profession: None,
            avatar_url: None,
            is_active: true,
            is_admin,
            email_verified_at: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        }
    }

    #[test]
    fn only_a_platform_admin_gets_the_proof() {
        let admin = user(true);
        assert_eq!(PlatformAdmin::verify(&admin).unwrap().user_id(), admin.id);
        assert!(matches!(
            PlatformAdmin::verify(&user(false)),
            Err(DomainError::Forbidden {
                code: PLATFORM_ADMIN_REQUIRED,
                ..
            })
        ));
    }

    #[test]
    fn an_admin_deactivates_others_but_not_themself() {
        let admin = PlatformAdmin::verify(&user(true)).unwrap();
        assert!(admin.may_deactivate(UserId::new()).is_ok());
        assert!(matches!(
            admin.may_deactivate(admin.user_id()),
            Err(DomainError::Conflict(c)) if c.code == CANNOT_DEACTIVATE_SELF
        ));
    }
}
