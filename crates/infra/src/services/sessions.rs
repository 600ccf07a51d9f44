//! Authenticating a bearer token.

use chrono::{DateTime, Utc};
use domain::auth::SESSION_LIFETIME;
use domain::{Authenticated, DomainError};

use crate::Database;
use crate::repositories::SessionRepository;
use crate::security::hash_token;

/// The user and session behind a bearer `token` at `now`. `Unauthenticated` when
/// the token is unknown, revoked or expired, or its user is deleted or inactive:
/// checked on every request, so losing access takes effect at once. A session
/// last refreshed more than a day ago is extended (one conditional write).
pub async fn authenticate(
    db: &Database,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Authenticated, DomainError> {
    let sessions = SessionRepository::at(db.conn(), now);
    let Some((mut session, user)) = sessions.find_with_user(&hash_token(token)).await? else {
        return Err(DomainError::UNAUTHENTICATED);
    };
    if !session.is_valid_at(now) || user.deleted_at.is_some() || !user.is_active {
        return Err(DomainError::UNAUTHENTICATED);
    }
    if session.needs_refresh_at(now) && sessions.refresh(session.id).await? {
        session.expires_at = now + SESSION_LIFETIME;
        session.last_refreshed_at = now;
    }
    Ok(Authenticated { user, session })
}
