//! The stored things, as the rest of the system sees them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::enums::{MemberRole, Plan, UserType, WaitlistRole};
use crate::id::{MemberId, OrganizationId, UserId};
use crate::values::{Email, PersonName, Slug};

/// A person who can sign in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Identity.
    pub id: UserId,
    /// Unique among live users.
    pub email: Email,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Employee or organization.
    pub user_type: UserType,
    /// Required for employees.
    pub profession: Option<String>,
    /// A picture of the user.
    pub avatar_url: Option<String>,
    /// Inactive users cannot sign in and their sessions stop working.
    pub is_active: bool,
    /// A platform administrator.
    pub is_admin: bool,
    /// When the user proved the email address is theirs.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Set when soft-deleted.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// What it takes to create a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    /// Unique among live users.
    pub email: Email,
    /// Given name.
    pub first_name: PersonName,
    /// Family name.
    pub last_name: PersonName,
    /// Employee or organization.
    pub user_type: UserType,
    /// Required for employees.
    pub profession: Option<PersonName>,
}

/// A tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// Identity.
    pub id: OrganizationId,
    /// Display name.
    pub name: String,
    /// Unique among live organizations.
    pub slug: Slug,
    /// Subscription plan.
    pub plan: Plan,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Set when soft-deleted.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// What it takes to create an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrganization {
    /// Display name.
    pub name: PersonName,
    /// Unique among live organizations.
    pub slug: Slug,
    /// Subscription plan.
    pub plan: Plan,
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

/// Someone waiting for access.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitlistEntry {
    /// A sequential number.
    pub id: i64,
    /// Unique across the waitlist, compared case-insensitively.
    pub email: Email,
    /// What they sign up as.
    pub role: WaitlistRole,
    /// When they signed up.
    pub created_at: DateTime<Utc>,
}

/// A waitlist sign-up, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewWaitlistEntry {
    /// The email, normalized.
    pub email: Email,
    /// What they sign up as.
    pub role: WaitlistRole,
}
