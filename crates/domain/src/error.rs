//! Domain errors: what went wrong, in terms a client can act on.

use std::fmt;

use crate::enums::UnknownVariant;
use crate::id::IdError;
use crate::values::{EmailError, NameError, PasswordError, SlugError};

/// One broken rule on one input field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The field as the client named it (`email`, `firstName`).
    pub field: String,
    /// A machine code (`INVALID_FORMAT`, `TOO_LONG`, `REQUIRED`, ...).
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
}

impl FieldError {
    /// A field error from its parts.
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// Errors that can be reported against a single field carry a machine code.
pub trait FieldErrorCode: fmt::Display {
    /// The machine code for this error.
    fn code(&self) -> &'static str;
}

impl FieldErrorCode for EmailError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "REQUIRED",
            Self::TooLong => "TOO_LONG",
            Self::Invalid(_) => "INVALID_EMAIL",
        }
    }
}

impl FieldErrorCode for NameError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "REQUIRED",
            Self::TooLong => "TOO_LONG",
            Self::ControlCharacter => "INVALID_FORMAT",
        }
    }
}

impl FieldErrorCode for PasswordError {
    fn code(&self) -> &'static str {
        match self {
            Self::TooShort => "TOO_SHORT",
            Self::TooLong => "TOO_LONG",
        }
    }
}

impl FieldErrorCode for SlugError {
    fn code(&self) -> &'static str {
        match self {
            Self::Length => "INVALID_LENGTH",
            Self::Format => "INVALID_FORMAT",
        }
    }
}

impl FieldErrorCode for UnknownVariant {
    fn code(&self) -> &'static str {
        "INVALID_VALUE"
    }
}

impl FieldErrorCode for IdError {
    fn code(&self) -> &'static str {
        "INVALID_ID"
    }
}

/// Collects field errors so a client hears about every broken rule at once.
///
/// ```
/// use domain::{Email, Validation, WaitlistRole};
/// let mut v = Validation::default();
/// let email = v.check("email", Email::parse("ada@example.com"));
/// let role = v.check("role", "employee".parse::<WaitlistRole>());
/// let (email, role) = v.finish(email.zip(role)).unwrap();
/// assert_eq!(email.as_str(), "ada@example.com");
/// assert_eq!(role, WaitlistRole::Employee);
/// ```
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<FieldError>,
    /// Shape errors found by `validator` (see [`Validation::of`]), by field, not
    /// reported yet.
    pub(crate) pending: std::collections::BTreeMap<String, Vec<FieldError>>,
}

impl Validation {
    /// Reports `field`'s pending shape errors; whether it had any.
    fn shape_broken(&mut self, field: &str) -> bool {
        match self.pending.remove(field) {
            Some(errors) => {
                self.errors.extend(errors);
                true
            }
            None => false,
        }
    }

    /// Records the error of `result` against `field`; the value when it is fine.
    /// A field whose shape is broken reports that instead (once).
    pub fn check<T, E: FieldErrorCode>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        if self.shape_broken(field) {
            return None;
        }
        result
            .map_err(|e| {
                self.errors
                    .push(FieldError::new(field, e.code(), e.to_string()))
            })
            .ok()
    }

    /// A required value: `REQUIRED` against `field` when absent. A field whose
    /// shape is broken reports that instead.
    pub fn required<T>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        if self.shape_broken(field) {
            return None;
        }
        if value.is_none() {
            self.errors.push(FieldError::new(
                field,
                "REQUIRED",
                format!("{field} is required"),
            ));
        }
        value
    }

    /// `value`, unless `field`'s shape is broken (reported then, once): for a
    /// field whose only rules are the request's shape rules.
    pub fn shape<T>(&mut self, field: &str, value: T) -> Option<T> {
        (!self.shape_broken(field)).then_some(value)
    }

    /// Records an error found by other means.
    pub fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// The checked values, or every recorded error (and the shape errors of
    /// fields that were never checked).
    pub fn finish<T>(mut self, values: Option<T>) -> Result<T, DomainError> {
        let unchecked = std::mem::take(&mut self.pending);
        self.errors.extend(unchecked.into_values().flatten());
        match values {
            Some(values) if self.errors.is_empty() => Ok(values),
            _ => Err(DomainError::Validation(self.errors)),
        }
    }
}

/// What kind of conflict a write ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// A unique value is already taken by a live row.
    Unique,
    /// A referenced row does not exist.
    MissingReference,
    /// The current state forbids the change (e.g. the last owner).
    State,
}

/// A write that conflicts with what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// What kind of conflict.
    pub kind: ConflictKind,
    /// The field (client spelling) whose value conflicts.
    pub field: &'static str,
    /// A machine code (`EMAIL_TAKEN`, `SLUG_TAKEN`, ...).
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
}

/// Every error the domain reports. Repositories document which variants they return.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Well-formed input that breaks rules; one entry per broken rule.
    #[error("validation failed: {0:?}")]
    Validation(Vec<FieldError>),
    /// The resource does not exist, is soft-deleted, or is not the caller's to see.
    #[error("{resource} not found")]
    NotFound {
        /// The resource's name for people (`organization`).
        resource: &'static str,
        /// A machine code (`ORGANIZATION_NOT_FOUND`).
        code: &'static str,
    },
    /// A unique value is taken, a reference is missing, or the state forbids it.
    #[error("conflict on {}: {}", .0.field, .0.message)]
    Conflict(Conflict),
    /// No credentials, or credentials that do not authenticate anyone.
    #[error("not authenticated ({code})")]
    Unauthenticated {
        /// A machine code (`UNAUTHENTICATED`, `INVALID_CREDENTIALS`).
        code: &'static str,
        /// A sentence for people.
        message: &'static str,
    },
    /// The caller is known but may not do this.
    #[error("forbidden ({code}): {message}")]
    Forbidden {
        /// A machine code (`INSUFFICIENT_ROLE`, `ACCOUNT_INACTIVE`, ...).
        code: &'static str,
        /// A sentence for people.
        message: String,
    },
    /// A conditional request (`If-Match`, `If-None-Match`) whose precondition
    /// does not hold for the resource's current version: nothing was written
    /// (see [`crate::preconditions`]).
    #[error("precondition failed: {message}")]
    PreconditionFailed {
        /// A sentence for people.
        message: String,
    },
    /// A single-use token that is unknown, expired, revoked or already used. One
    /// error for all four, so that a token's history is not revealed.
    #[error("the token is invalid or expired")]
    InvalidToken,
    /// Too many attempts (one email's failed sign-ins): refused without being
    /// tried until `retry_after_secs` seconds have passed.
    #[error("too many attempts; retry after {retry_after_secs} s")]
    RateLimited {
        /// Seconds until an attempt is accepted again (at least 1).
        retry_after_secs: u64,
    },
    /// The server has too much of this work queued (passwords waiting to be
    /// hashed) to take more now: retry after `retry_after_secs` seconds.
    #[error("busy; retry after {retry_after_secs} s")]
    Busy {
        /// Seconds to wait before retrying.
        retry_after_secs: u64,
    },
    /// The database cannot be reached right now; retrying later may succeed.
    #[error("the database is unavailable")]
    Unavailable,
    /// Anything else; the detail is for logs, never for clients.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    /// A not-found error for `resource` with the code `{RESOURCE}_NOT_FOUND`.
    pub const fn not_found(resource: &'static str, code: &'static str) -> Self {
        Self::NotFound { resource, code }
    }

    /// A conflict on a unique value.
    pub fn taken(field: &'static str, code: &'static str) -> Self {
        Self::Conflict(Conflict {
            kind: ConflictKind::Unique,
            field,
            code,
            message: format!("{field} is already taken"),
        })
    }

    /// A conflict with the current state (`LAST_OWNER`, `ALREADY_MEMBER`, ...),
    /// not tied to one field.
    pub fn state_conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict(Conflict {
            kind: ConflictKind::State,
            field: "",
            code,
            message: message.into(),
        })
    }

    /// The caller may not do this (`INSUFFICIENT_ROLE`, ...).
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }

    /// No usable credentials: a missing, unknown, expired or revoked bearer token.
    pub const UNAUTHENTICATED: Self = Self::Unauthenticated {
        code: "UNAUTHENTICATED",
        message: "A valid bearer token is required.",
    };

    /// A wrong email or password: one error for both, so accounts are not revealed.
    pub const INVALID_CREDENTIALS: Self = Self::Unauthenticated {
        code: "INVALID_CREDENTIALS",
        message: "The email or password is incorrect.",
    };

    /// [`DomainError::RateLimited`] until `wait` has passed, in whole seconds
    /// rounded up (at least 1, as `Retry-After` needs).
    pub fn rate_limited(wait: chrono::TimeDelta) -> Self {
        Self::RateLimited {
            retry_after_secs: whole_seconds_up(wait),
        }
    }

    /// A single-field validation error.
    pub fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }
}

/// `wait` in whole seconds, rounded up, at least 1.
fn whole_seconds_up(wait: chrono::TimeDelta) -> u64 {
    let millis = u64::try_from(wait.num_milliseconds()).unwrap_or(0);
    millis.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Email, WaitlistRole};

    #[test]
    fn a_wait_is_whole_seconds_rounded_up_and_never_zero() {
        let secs = |ms| match DomainError::rate_limited(chrono::TimeDelta::milliseconds(ms)) {
            DomainError::RateLimited { retry_after_secs } => retry_after_secs,
            other => panic!("{other:?}"),
        };
        assert_eq!(secs(60_000), 60);
        assert_eq!(secs(59_001), 60);
        assert_eq!(secs(1), 1);
        assert_eq!(secs(0), 1);
        assert_eq!(secs(-5), 1);
    }

    #[test]
    fn validation_reports_every_broken_rule() {
        let mut v = Validation::default();
        let email = v.check("email", Email::parse("nope"));
        let role = v.check("role", "admin".parse::<WaitlistRole>());
        let Err(DomainError::Validation(errors)) = v.finish(email.zip(role)) else {
            panic!("expected validation errors");
        };
        let fields: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            [("email", "INVALID_EMAIL"), ("role", "INVALID_VALUE")]
        );
    }
}
