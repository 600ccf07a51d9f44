//! Authenticating a bearer value: a session token or an API key.

use chrono::{DateTime, Utc};
use domain::auth::SESSION_LIFETIME;
use domain::{Actor, ApiKeyGrant, Authenticated, DomainError};

use crate::Database;
use crate::repositories::{ApiKeyRepository, SessionRepository};
use crate::security::{PresentedApiKey, hash_token, parse_api_key};

/// Who a bearer value stands for.
#[derive(Clone, Debug)]
pub enum Principal {
    /// A user's session (boxed: it is ten times the size of a key's grant).
    User(Box<Authenticated>),
    /// An API key, acting inside its organization only.
    ApiKey(ApiKeyGrant),
}

impl Principal {
    /// The actor the audit trail and the permission matrix see.
    pub fn actor(&self) -> Actor {
        match self {
            Self::User(auth) => Actor::User(auth.user.id),
            Self::ApiKey(grant) => Actor::ApiKey(*grant),
        }
    }
}

/// The session or API key behind `bearer` at `now`. `Unauthenticated` for
/// anything unknown, revoked or expired, for a key whose organization is deleted,
/// and for a session whose user is deleted or inactive: checked on every request
/// (no cache), so losing access takes effect at once.
pub async fn authenticate_bearer(
    db: &Database,
    bearer: &str,
    now: DateTime<Utc>,
) -> Result<Principal, DomainError> {
    match parse_api_key(bearer) {
        Some(key) => authenticate_key(db, key, now).await.map(Principal::ApiKey),
        None => authenticate(db, bearer, now)
            .await
            .map(|auth| Principal::User(Box::new(auth))),
    }
}

/// The user and session behind a session `token` at `now` (see
/// [`authenticate_bearer`]). A session last refreshed more than a day ago is
/// extended (one conditional write).
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

/// One indexed read by the key's public part, then a constant-time comparison
/// of its salted hash; its use is written at most once a minute.
async fn authenticate_key(
    db: &Database,
    presented: PresentedApiKey<'_>,
    now: DateTime<Utc>,
) -> Result<ApiKeyGrant, DomainError> {
    let keys = ApiKeyRepository::at(db.conn(), now);
    let Some((key, secret_hash, organization_live)) =
        keys.find_for_authentication(presented.lookup).await?
    else {
        return Err(DomainError::UNAUTHENTICATED);
    };
    if !presented.matches(&secret_hash) || !key.is_active_at(now) || !organization_live {
        return Err(DomainError::UNAUTHENTICATED);
    }
    if key.needs_touch_at(now) {
        keys.touch(key.id).await?;
    }
    Ok(ApiKeyGrant {
        id: key.id,
        organization_id: key.organization_id,
        role: key.role,
    })
}
