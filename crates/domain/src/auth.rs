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

/// How long a session may live at most, however often it is used, unless
/// configured otherwise (`auth.session_max_lifetime_days`).
pub const SESSION_MAX_LIFETIME: TimeDelta = TimeDelta::days(30);

/// 404 for a session that is not the caller's, is unknown, or has ended.
pub const SESSION_NOT_FOUND: DomainError = DomainError::not_found("session", "SESSION_NOT_FOUND");

impl crate::id::ResourceId for SessionId {
    const NOT_FOUND: DomainError = SESSION_NOT_FOUND;
    const PARAM: &'static str = "sessionId";
}

crate::sort_by! {
    /// `sortBy` of the list of one's sessions.
    SessionSort {
        /// Sign-in time (the default).
        CreatedAt => "createdAt",
    }
}

/// How long sessions live: [`SESSION_LIFETIME`] after sign-in or their last
/// refresh (sliding), and never longer than an absolute lifetime after sign-in,
/// however often they are used.
///
/// ```
/// use chrono::{TimeDelta, Utc};
/// use domain::auth::SessionPolicy;
/// let policy = SessionPolicy::new(TimeDelta::days(30));
/// let signed_in = Utc::now();
/// let used = signed_in + TimeDelta::days(28);
/// assert_eq!(policy.expires_at(signed_in, used), signed_in + TimeDelta::days(30));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    max_lifetime: TimeDelta,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self::new(SESSION_MAX_LIFETIME)
    }
}

impl SessionPolicy {
    /// Sessions end at the latest `max_lifetime` after sign-in.
    pub fn new(max_lifetime: TimeDelta) -> Self {
        Self { max_lifetime }
    }

    /// The absolute lifetime.
    pub fn max_lifetime(&self) -> TimeDelta {
        self.max_lifetime
    }

    /// When a session signed in at `created_at` and refreshed (or started) at
    /// `refreshed_at` ends: [`SESSION_LIFETIME`] later, capped by the absolute
    /// lifetime.
    pub fn expires_at(
        &self,
        created_at: DateTime<Utc>,
        refreshed_at: DateTime<Utc>,
    ) -> DateTime<Utc> {
        (refreshed_at + SESSION_LIFETIME).min(created_at + self.max_lifetime)
    }

    /// Whether `session` still authenticates at `now`: not revoked, not expired,
    /// and younger than the absolute lifetime (checked here too, so that
    /// lowering the setting ends sessions extended before).
    pub fn is_live(&self, session: &Session, now: DateTime<Utc>) -> bool {
        session.is_valid_at(now) && now < session.created_at + self.max_lifetime
    }

    /// The new expiry when a use at `now` should extend `session`: more than
    /// [`SESSION_REFRESH_AFTER`] since its last refresh, and the cap leaves room
    /// to move it forward.
    pub fn refreshed_expiry(&self, session: &Session, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let expires_at = self.expires_at(session.created_at, now);
        (session.needs_refresh_at(now) && expires_at > session.expires_at).then_some(expires_at)
    }
}

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

/// One email's sign-in failures are forgotten once this long has passed since
/// the latest of them, or since the pause they caused ended, whichever is later.
pub const SIGN_IN_FAILURE_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// The pause after an email's allowed failures are used up; each further
/// failure doubles it, up to [`SIGN_IN_MAX_PAUSE`].
pub const SIGN_IN_FIRST_PAUSE: TimeDelta = TimeDelta::minutes(1);

/// The longest pause between two sign-in attempts for one email.
pub const SIGN_IN_MAX_PAUSE: TimeDelta = TimeDelta::hours(1);

/// One email's recent sign-in failures, as stored (by normalized email, whether
/// or not an account has it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInFailures {
    /// Failures counted since the count was last forgotten or cleared.
    pub failures: u32,
    /// When the latest of them was counted.
    pub last_failure_at: DateTime<Utc>,
    /// Until when attempts are refused, if they are.
    pub locked_until: Option<DateTime<Utc>>,
}

impl SignInFailures {
    /// No failures (what an email without a record has).
    pub fn none(now: DateTime<Utc>) -> Self {
        Self {
            failures: 0,
            last_failure_at: now,
            locked_until: None,
        }
    }

    /// Whether the count has lapsed by `now` ([`SIGN_IN_FAILURE_WINDOW`]).
    fn is_forgotten_at(&self, now: DateTime<Utc>) -> bool {
        let last = self.locked_until.map_or(self.last_failure_at, |until| {
            until.max(self.last_failure_at)
        });
        now >= last + SIGN_IN_FAILURE_WINDOW
    }
}

/// The per-email sign-in limit: after `max_failures` failures for one email
/// within [`SIGN_IN_FAILURE_WINDOW`] of each other, attempts for that email are
/// refused (`RateLimited`) for [`SIGN_IN_FIRST_PAUSE`], then for twice as long
/// after each further failure, up to [`SIGN_IN_MAX_PAUSE`]. The same for an email
/// with or without an account, so the answer reveals neither.
///
/// An attempt is counted as a failure when it is admitted, before its password is
/// checked: so concurrent attempts cannot together get past the limit, and the
/// attempt that uses the last allowance sets the pause itself. A successful
/// sign-in clears the email's record.
///
/// ```
/// use chrono::{TimeDelta, Utc};
/// use domain::auth::{SignInFailures, SignInThrottle};
/// let throttle = SignInThrottle::new(2);
/// let now = Utc::now();
/// let first = throttle.admit(&SignInFailures::none(now), now).unwrap();
/// let second = throttle.admit(&first, now).unwrap();
/// assert_eq!(second.locked_until, Some(now + TimeDelta::minutes(1)));
/// assert!(throttle.admit(&second, now).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignInThrottle {
    max_failures: u32,
}

impl SignInThrottle {
    /// At most `max_failures` failures (at least 1) before the first pause.
    pub fn new(max_failures: u32) -> Self {
        Self {
            max_failures: max_failures.max(1),
        }
    }

    /// The record after admitting an attempt at `now` (counted as a failure until
    /// it succeeds), or `RateLimited` with the time left while `current` is paused.
    pub fn admit(
        &self,
        current: &SignInFailures,
        now: DateTime<Utc>,
    ) -> Result<SignInFailures, DomainError> {
        if let Some(until) = current.locked_until.filter(|until| now < *until) {
            return Err(DomainError::rate_limited(until - now));
        }
        let counted = if current.is_forgotten_at(now) {
            0
        } else {
            current.failures
        };
        let failures = counted.saturating_add(1);
        let locked_until = failures
            .checked_sub(self.max_failures)
            .map(|beyond| now + pause(beyond));
        Ok(SignInFailures {
            failures,
            last_failure_at: now,
            locked_until,
        })
    }
}

/// [`SIGN_IN_FIRST_PAUSE`] doubled `beyond` times, at most [`SIGN_IN_MAX_PAUSE`].
fn pause(beyond: u32) -> TimeDelta {
    let factor = 2_i32.checked_pow(beyond).unwrap_or(i32::MAX);
    SIGN_IN_FIRST_PAUSE
        .checked_mul(factor)
        .map_or(SIGN_IN_MAX_PAUSE, |p| p.min(SIGN_IN_MAX_PAUSE))
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
    fn a_session_refreshed_every_day_ends_at_the_absolute_lifetime() {
        let policy = SessionPolicy::new(TimeDelta::days(30));
        let start = Utc::now();
        let mut s = Session {
            expires_at: policy.expires_at(start, start),
            ..session(start)
        };
        for day in 2..=29 {
            let now = start + TimeDelta::days(day);
            assert!(policy.is_live(&s, now), "day {day}");
            if let Some(expires_at) = policy.refreshed_expiry(&s, now) {
                s.expires_at = expires_at;
                s.last_refreshed_at = now;
            }
        }
        assert_eq!(s.expires_at, start + TimeDelta::days(30));
        let late = start + TimeDelta::days(29) + TimeDelta::hours(12);
        assert_eq!(
            policy.refreshed_expiry(&s, late),
            None,
            "nothing left to extend"
        );
        assert!(!policy.is_live(&s, start + TimeDelta::days(30)));
    }

    #[test]
    fn a_lowered_absolute_lifetime_ends_sessions_extended_before() {
        let start = Utc::now();
        let s = Session {
            expires_at: start + TimeDelta::days(20),
            ..session(start)
        };
        let policy = SessionPolicy::new(TimeDelta::days(10));
        assert!(policy.is_live(&s, start + TimeDelta::days(9)));
        assert!(!policy.is_live(&s, start + TimeDelta::days(10)));
    }

    #[test]
    fn a_short_absolute_lifetime_caps_a_new_session() {
        let policy = SessionPolicy::new(TimeDelta::days(1));
        let now = Utc::now();
        assert_eq!(policy.expires_at(now, now), now + TimeDelta::days(1));
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

    fn admit_all(
        throttle: SignInThrottle,
        mut record: SignInFailures,
        times: &[DateTime<Utc>],
    ) -> Result<SignInFailures, DomainError> {
        for now in times {
            record = throttle.admit(&record, *now)?;
        }
        Ok(record)
    }

    fn retry_after(result: Result<SignInFailures, DomainError>) -> u64 {
        match result {
            Err(DomainError::RateLimited { retry_after_secs }) => retry_after_secs,
            other => panic!("expected RateLimited, got {other:?}"),
        }
    }

    #[test]
    fn the_tenth_failure_pauses_the_email_for_a_minute() {
        let throttle = SignInThrottle::new(10);
        let start = Utc::now();
        let nine: Vec<_> = (0..9).map(|i| start + TimeDelta::seconds(i)).collect();
        let after_nine = admit_all(throttle, SignInFailures::none(start), &nine).unwrap();
        assert_eq!(after_nine.failures, 9);
        assert_eq!(after_nine.locked_until, None);

        let at = start + TimeDelta::seconds(10);
        let tenth = throttle.admit(&after_nine, at).unwrap();
        assert_eq!(tenth.locked_until, Some(at + TimeDelta::minutes(1)));

        assert_eq!(retry_after(throttle.admit(&tenth, at)), 60);
        assert_eq!(
            retry_after(throttle.admit(&tenth, at + TimeDelta::milliseconds(59_500))),
            1
        );
        assert!(throttle.admit(&tenth, at + TimeDelta::minutes(1)).is_ok());
    }

    #[test]
    fn each_failure_after_the_limit_doubles_the_pause_up_to_an_hour() {
        let throttle = SignInThrottle::new(3);
        let mut now = Utc::now();
        let mut record = SignInFailures::none(now);
        let mut pauses = Vec::new();
        for _ in 0..12 {
            record = throttle.admit(&record, now).unwrap();
            if let Some(until) = record.locked_until {
                pauses.push((until - now).num_minutes());
                now = until;
            }
        }
        assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
    }

    #[test]
    fn failures_are_forgotten_fifteen_minutes_after_the_last_one_or_the_pause() {
        let throttle = SignInThrottle::new(3);
        let start = Utc::now();
        let two = admit_all(throttle, SignInFailures::none(start), &[start, start]).unwrap();

        let later = start + TimeDelta::minutes(14);
        assert_eq!(throttle.admit(&two, later).unwrap().failures, 3);
        let lapsed = start + TimeDelta::minutes(15);
        assert_eq!(throttle.admit(&two, lapsed).unwrap().failures, 1);

        // Paused by the third: the window runs from the pause's end.
        let paused = throttle.admit(&two, start).unwrap();
        let pause_end = start + TimeDelta::minutes(1);
        let again = throttle
            .admit(&paused, pause_end + TimeDelta::minutes(14))
            .unwrap();
        assert_eq!(again.failures, 4, "still counted");
        assert_eq!(
            again.locked_until.map(|u| u - again.last_failure_at),
            Some(TimeDelta::minutes(2))
        );
        let fresh = throttle
            .admit(&paused, pause_end + TimeDelta::minutes(15))
            .unwrap();
        assert_eq!((fresh.failures, fresh.locked_until), (1, None));
    }

    #[test]
    fn a_limit_of_zero_is_one() {
        let throttle = SignInThrottle::new(0);
        let now = Utc::now();
        let first = throttle.admit(&SignInFailures::none(now), now).unwrap();
        assert!(first.locked_until.is_some());
        assert!(throttle.admit(&first, now).is_err());
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
