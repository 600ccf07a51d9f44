//! Organizations, the tenants: the stored organization, what it takes to create or
//! change one, its plan, and how a member sees it.

use chrono::{DateTime, Utc};

use crate::error::DomainError;
use crate::id::OrganizationId;
use crate::members::MemberRole;
use crate::text_enum;
use crate::values::{PersonName, Slug};

/// An organization not found, deleted, or not the caller's: one answer for all
/// three, so existence is not leaked across tenants.
pub const ORGANIZATION_NOT_FOUND: DomainError =
    DomainError::not_found("organization", "ORGANIZATION_NOT_FOUND");

impl crate::id::ResourceId for OrganizationId {
    const NOT_FOUND: DomainError = ORGANIZATION_NOT_FOUND;
}

crate::sort_by! {
    /// `sortBy` of the organization list.
    OrganizationSort {
        /// Creation time (the default).
        CreatedAt => "createdAt",
        /// Name, alphabetically.
        Name => "name",
    }
}

text_enum! {
    /// An organization's subscription plan; `free` unless given.
    #[derive(Default)]
    Plan {
        /// The default plan.
        #[default]
        Free => "free",
        /// The paid plan.
        Pro => "pro",
        /// The contract plan.
        Enterprise => "enterprise",
    }
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
