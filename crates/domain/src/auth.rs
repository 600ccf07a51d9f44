//! Authentication rules: how long sessions and tokens live, and when a session
//! is refreshed.

use chrono::{DateTime, TimeDelta, Utc};

use crate::enums::VerificationPurpose;
use crate::error::{DomainError, Validation};
use crate::id::{SessionId, UserId};
use crate::users::{Credentials, User};
use crate::values::{Email, Password};

/// A session lives this long after sign-in or its last refresh.
pub const SESSION_LIFETIME: TimeDelta = TimeDelta::days(7);

/// A session used more than this long after its last refresh is extended to
/// now + [`SESSION_LIFETIME`]. Refreshing at most this often keeps the write off
/// most requests.
pub const SESSION_REFRESH_AFTER: TimeDelta = TimeDelta::days(1);

/// An invitation can be accepted for this long.
pub const INVITATION_LIFETIME: TimeDelta = TimeDelta::days(7);

impl VerificationPurpose {
    /// How long a token for this purpose stays usable: 24 h to verify an email,
    /// 1 h to reset a password.
    pub const fn lifetime(self) -> TimeDelta {
        match self {
            Self::EmailVerification => TimeDelta::hours(24),
            Self::PasswordReset => TimeDelta::hours(1),
        }
    }
}

/// A signed-in session. The bearer token itself is never stored, only its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Identity.
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// After this instant the session no longer authenticates.
    pub expires_at: DateTime<Utc>,
    /// When the expiry was last moved forward (sign-in counts).
    pub last_refreshed_at: DateTime<Utc>,
    /// The client's address at sign-in.
    pub ip: Option<String>,
    /// The client's `User-Agent` at sign-in.
    pub user_agent: Option<String>,
    /// Set when signed out or revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Sign-in time.
    pub created_at: DateTime<Utc>,
}

impl Session {
    /// Whether the session still authenticates at `now`: not revoked, not expired.
    pub fn is_valid_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }

    /// Whether a use at `now` should extend the session (more than a day since the
    /// last refresh).
    pub fn needs_refresh_at(&self, now: DateTime<Utc>) -> bool {
        now - self.last_refreshed_at > SESSION_REFRESH_AFTER
    }
}

/// Who a request acts for, once its bearer token checked out: a live, active
/// user and the session the token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    /// The signed-in user.
    pub user: User,
    /// The session the request's token belongs to (already extended if due).
    pub session: Session,
}

/// Sign-in credentials as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SignInBody))]
#[serde(rename_all = "camelCase")]
pub struct SignInRequest {
    /// The account's email, in any case.
    #[validate(
        required(code = "REQUIRED", message = "email is required"),
        custom(function = "crate::validate::email")
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Email, max_length = 254, required = true, example = "ada@example.com"))]
    pub email: Option<String>,
    /// The password.
    #[validate(required(code = "REQUIRED", message = "password is required"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, required = true))]
    pub password: Option<String>,
}

impl TryFrom<SignInRequest> for Credentials {
    type Error = DomainError;

    fn try_from(body: SignInRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let email = v
            .required("email", body.email)
            .and_then(|e| v.check("email", Email::parse(&e)));
        // A password outside the policy is not a validation error here: it is a
        // wrong password (401), so sign-in says nothing about the policy.
        let password = v
            .required("password", body.password)
            .map(|p| Password::parse(&p).ok());
        let (email, password) = v.finish(email.zip(password))?;
        Ok(Self { email, password })
    }
}

/// An email-verification token as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = VerifyEmailBody))]
#[serde(rename_all = "camelCase")]
pub struct VerifyEmailRequest {
    /// The token from the verification email.
    #[validate(required(code = "REQUIRED", message = "token is required"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, pattern = "\\S", required = true))]
    pub token: Option<String>,
}

impl VerifyEmailRequest {
    /// The token, or 422 `REQUIRED`.
    pub fn into_token(self) -> Result<String, DomainError> {
        let mut v = Validation::of(&self);
        let token = v.required("token", self.token);
        v.finish(token)
    }
}

/// A password-reset request as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PasswordResetRequestBody))]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetRequest {
    /// The account's email.
    #[validate(
        required(code = "REQUIRED", message = "email is required"),
        custom(function = "crate::validate::email")
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Email, max_length = 254, required = true, example = "ada@example.com"))]
    pub email: Option<String>,
}

impl TryFrom<PasswordResetRequest> for Email {
    type Error = DomainError;

    fn try_from(body: PasswordResetRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let email = v
            .required("email", body.email)
            .and_then(|e| v.check("email", Email::parse(&e)));
        v.finish(email)
    }
}

/// A password-reset confirmation as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PasswordResetConfirmBody))]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetConfirmRequest {
    /// The token from the password-reset email.
    #[validate(required(code = "REQUIRED", message = "token is required"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, pattern = "\\S", required = true))]
    pub token: Option<String>,
    /// 8 to 128 characters, any characters.
    #[validate(
        required(code = "REQUIRED", message = "newPassword is required"),
        custom(function = "crate::validate::password")
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 8, max_length = 128, required = true))]
    pub new_password: Option<String>,
}

impl PasswordResetConfirmRequest {
    /// The token and the new password, or 422.
    pub fn into_parts(self) -> Result<(String, Password), DomainError> {
        let mut v = Validation::of(&self);
        let token = v.required("token", self.token);
        let password = v
            .required("newPassword", self.new_password)
            .and_then(|p| v.check("newPassword", Password::parse(&p)));
        v.finish(token.zip(password))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(now: DateTime<Utc>) -> Session {
        Session {
            id: SessionId::new(),
            user_id: UserId::new(),
            expires_at: now + SESSION_LIFETIME,
            last_refreshed_at: now,
            ip: None,
            user_agent: None,
            revoked_at: None,
            created_at: now,
        }
    }

    #[test]
    fn a_session_refreshes_only_after_a_day_and_expires_after_seven() {
        let start = Utc::now();
        let s = session(start);
        assert!(!s.needs_refresh_at(start + TimeDelta::hours(23)));
        assert!(s.needs_refresh_at(start + TimeDelta::hours(25)));
        assert!(s.is_valid_at(start + TimeDelta::days(6)));
        assert!(!s.is_valid_at(start + SESSION_LIFETIME));
    }

    #[test]
    fn a_revoked_session_is_not_valid() {
        let now = Utc::now();
        let s = Session {
            revoked_at: Some(now),
            ..session(now)
        };
        assert!(!s.is_valid_at(now));
    }

    #[test]
    fn token_lifetimes_follow_the_contract() {
        assert_eq!(
            VerificationPurpose::EmailVerification.lifetime(),
            TimeDelta::hours(24)
        );
        assert_eq!(
            VerificationPurpose::PasswordReset.lifetime(),
            TimeDelta::hours(1)
        );
    }
}
