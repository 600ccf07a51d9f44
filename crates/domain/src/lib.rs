//! Groundwork's domain: the types every layer and every importing service shares.
//!
//! Values that cross a boundary are parsed here once into typed values ([`Email`],
//! [`Slug`], [`UserId`], ...) and passed inward; nothing in this crate touches a
//! database or the web.
#![warn(missing_docs)]

// One module per resource: its entity, draft and change types, sort order,
// `*_NOT_FOUND` and rules.
pub mod api_keys;
pub mod audit;
pub mod billing;
pub mod context_entries;
pub mod endpoints;
pub mod feature_flags;
pub mod github;
pub mod invitations;
pub mod jobs;
pub mod members;
pub mod messages;
pub mod metrics;
pub mod organizations;
pub mod subscriptions;
pub mod tasks;
pub mod usage;
pub mod users;
pub mod waitlist;
pub mod webhooks;

// Shared by every resource.
pub mod access;
pub mod admin;
pub mod auth;
pub mod clock;
pub mod enums;
pub mod error;
pub mod id;
pub mod pagination;
pub mod plans;
pub mod preconditions;
pub mod validate;
pub mod values;

pub use access::{AccessRole, Actor, ApiKeyGrant, Operation, OrganizationAccess};
pub use audit::{AuditAction, AuditEntity, AuditEvent, Changes};
pub use auth::{Authenticated, Session};
pub use clock::{Clock, ShiftedClock, SystemClock};
pub use enums::*;
pub use error::{Conflict, DomainError, FieldError, Validation};
pub use id::*;
pub use invitations::{Invitation, InvitationDraft};
pub use members::{Member, MemberRole, MemberWithUser, NewMember};
pub use organizations::{NewOrganization, Organization};
pub use pagination::{
    Cursor, Page, PagePosition, PageRequest, RawPageRequest, SortDirection, SortField,
};
pub use plans::PlanKey;
pub use users::{NewUser, User, UserType};
pub use values::{Email, Password, PersonName, Slug};
pub use waitlist::{NewWaitlistEntry, WaitlistEntry, WaitlistRole};
