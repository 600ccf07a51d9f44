//! The waitlist: who waits for access, and as what.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{DomainError, Validation};
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

/// A waitlist sign-up as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateWaitlistEntryBody))]
#[serde(rename_all = "camelCase")]
pub struct JoinWaitlistRequest {
    /// An email address; compared case-insensitively.
    #[validate(
        required(code = "REQUIRED", message = "email is required"),
        custom(function = "crate::validate::email")
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Email, max_length = 254, required = true, example = "ada@example.com"))]
    pub email: Option<String>,
    /// `employee` or `organization`.
    #[validate(
        required(code = "REQUIRED", message = "role is required"),
        custom(function = "crate::validate::variant::<WaitlistRole>")
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = WaitlistRole, inline, required = true, example = "employee"))]
    pub role: Option<String>,
}

impl TryFrom<JoinWaitlistRequest> for NewWaitlistEntry {
    type Error = DomainError;

    fn try_from(body: JoinWaitlistRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let email = v
            .required("email", body.email)
            .and_then(|e| v.check("email", Email::parse(&e)));
        let role = v
            .required("role", body.role)
            .and_then(|r| v.check("role", r.parse::<WaitlistRole>()));
        let (email, role) = v.finish(email.zip(role))?;
        Ok(Self { email, role })
    }
}
