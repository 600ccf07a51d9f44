//! Authentication rules: how long sessions and tokens live, and when a session
//! is refreshed.

use chrono::{DateTime, TimeDelta, Utc};

use crate::enums::VerificationPurpose;
use crate::id::{SessionId, UserId};
use crate::users::User;

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
