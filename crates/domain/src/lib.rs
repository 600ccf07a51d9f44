//! Groundwork's domain: the types every layer and every importing service shares.
//!
//! Values that cross a boundary are parsed here once into typed values ([`Email`],
//! [`Slug`], [`UserId`], ...) and passed inward; nothing in this crate touches a
//! database or the web.
#![warn(missing_docs)]

pub mod access;
pub mod admin;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod clock;
pub mod entities;
pub mod enums;
pub mod error;
pub mod id;
pub mod identity;
pub mod pagination;
pub mod plans;
pub mod tenancy;
pub mod values;

pub use access::{AccessRole, Actor, ApiKeyGrant, Operation, OrganizationAccess};
pub use audit::{AuditAction, AuditEntity, AuditEvent, Changes};
pub use auth::{Authenticated, Session};
pub use clock::{Clock, ShiftedClock, SystemClock};
pub use entities::*;
pub use enums::*;
pub use error::{Conflict, DomainError, FieldError, Validation};
pub use id::*;
pub use pagination::{Cursor, Page, PagePosition, PageRequest, RawPageRequest, SortDirection};
pub use values::{Email, Password, PersonName, Slug};
