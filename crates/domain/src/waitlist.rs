//! The waitlist: who waits for access, and as what.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::text_enum;
use crate::values::Email;

crate::sort_by! {
    /// `sortBy` of the waitlist.
    WaitlistSort {
        /// Sign-up time (the default).
        CreatedAt => "createdAt",
        /// Email.
        Email => "email",
    }
}

text_enum! {
    /// What a waitlist sign-up is interested as.
    WaitlistRole {
        /// An individual.
        Employee => "employee",
        /// An organization.
        Organization => "organization",
    }
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
