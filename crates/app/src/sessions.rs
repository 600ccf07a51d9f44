//! Authenticating a bearer value: a session token or an API key.

use chrono::{DateTime, Utc};
use domain::admin::PlatformAdmin;
use domain::auth::SESSION_LIFETIME;
use domain::{
    Actor, ApiKeyGrant, Authenticated, DomainError, Member, Organization, OrganizationAccess,
    OrganizationId,
};

use infra::Database;
use infra::repositories::{ApiKeyRepository, SessionRepository};
use infra::security::{PresentedApiKey, hash_token, parse_api_key};

use crate::Standing;

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

    /// The proof that this is a platform admin's session, if it is (a key never is).
    pub fn platform_admin(&self) -> Option<PlatformAdmin> {
        match self {
            Self::User(auth) => PlatformAdmin::verify(&auth.user).ok(),
            Self::ApiKey(_) => None,
        }
    }
}

/// What a bearer value stands for and, when asked about an organization, how it
/// stands there.
#[derive(Clone, Debug)]
pub struct Authentication {
    /// The session's user, or the key.
    pub principal: Principal,
    /// Its standing in the organization asked about, read with the credentials;
    /// `None` when none was asked about (or a key was, of another organization: it
    /// has no standing there, which needs no reading).
    pub standing: Option<Standing>,
}

/// The session or API key behind `bearer` at `now`, and its standing in
/// `organization` when one is given (in the same statement: a read request's
/// access check costs no round trip). `Unauthenticated` for anything unknown,
/// revoked or expired, for a key whose organization is deleted, and for a session
/// whose user is deleted or inactive: checked on every request (no cache), so
/// losing access takes effect at once.
pub async fn authenticate_bearer(
    db: &Database,
    bearer: &str,
    now: DateTime<Utc>,
    organization: Option<OrganizationId>,
) -> Result<Authentication, DomainError> {
    match parse_api_key(bearer) {
        Some(key) => {
            let (grant, own) = authenticate_key(db, key, now).await?;
            let standing = organization
                .filter(|id| *id == grant.organization_id)
                .map(|id| Standing {
                    actor: Actor::ApiKey(grant),
                    organization_id: id,
                    access: Some(OrganizationAccess::of_key(own, grant)),
                });
            Ok(Authentication {
                principal: Principal::ApiKey(grant),
                standing,
            })
        }
        None => {
            let (auth, membership) = authenticate_session(db, bearer, now, organization).await?;
            let standing = organization.map(|id| Standing {
                actor: Actor::User(auth.user.id),
                organization_id: id,
                access: membership.map(|(org, member)| OrganizationAccess::of_member(org, member)),
            });
            Ok(Authentication {
                principal: Principal::User(Box::new(auth)),
                standing,
            })
        }
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
    Ok(authenticate_session(db, token, now, None).await?.0)
}

/// [`authenticate`], and with `organization`, the user's live membership there.
async fn authenticate_session(
    db: &Database,
    token: &str,
    now: DateTime<Utc>,
    organization: Option<OrganizationId>,
) -> Result<(Authenticated, Option<(Organization, Member)>), DomainError> {
    let sessions = SessionRepository::at(db.conn(), now);
    let token_hash = hash_token(token);
    let found = match organization {
        Some(id) => {
            sessions
                .find_with_user_and_membership(&token_hash, id)
                .await?
        }
        None => sessions
            .find_with_user(&token_hash)
            .await?
            .map(|(session, user)| (session, user, None)),
    };
    let Some((mut session, user, membership)) = found else {
        return Err(DomainError::UNAUTHENTICATED);
    };
    if !session.is_valid_at(now) || user.deleted_at.is_some() || !user.is_active {
        return Err(DomainError::UNAUTHENTICATED);
    }
    if session.needs_refresh_at(now) && sessions.refresh(session.id).await? {
        session.expires_at = now + SESSION_LIFETIME;
        session.last_refreshed_at = now;
    }
    Ok((Authenticated { user, session }, membership))
}

/// One indexed read by the key's public part (with its organization), then a
/// constant-time comparison of its salted hash; its use is written at most once a
/// minute. Returns the grant and the key's live organization.
async fn authenticate_key(
    db: &Database,
    presented: PresentedApiKey<'_>,
    now: DateTime<Utc>,
) -> Result<(ApiKeyGrant, Organization), DomainError> {
    let keys = ApiKeyRepository::at(db.conn(), now);
    let Some((key, secret_hash, organization)) =
        keys.find_for_authentication(presented.lookup).await?
    else {
        return Err(DomainError::UNAUTHENTICATED);
    };
    let organization = match organization {
        Some(org) if presented.matches(&secret_hash) && key.is_active_at(now) => org,
        _ => return Err(DomainError::UNAUTHENTICATED),
    };
    if key.needs_touch_at(now) {
        keys.touch(key.id).await?;
    }
    let grant = ApiKeyGrant {
        id: key.id,
        organization_id: key.organization_id,
        role: key.role,
    };
    Ok((grant, organization))
}
