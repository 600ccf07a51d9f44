//! Authenticating a bearer value (a session token or an API key), and the
//! signed-in user's own sessions: listing them, ending one or all the others.

use chrono::{DateTime, Utc};
use domain::admin::PlatformAdmin;
use domain::auth::{SESSION_NOT_FOUND, SessionPolicy, SessionSort};
use domain::{
    Actor, ApiKeyGrant, AuditAction, AuditEntity, AuditEvent, Authenticated, DomainError, Member,
    Organization, OrganizationAccess, OrganizationId, Page, PageRequest, Session, SessionId,
};

use infra::Database;
use infra::repositories::{
    ApiKeyRepository, AuditLogRepository, SessionRepository, SessionStanding,
};
use infra::security::{PresentedApiKey, hash_token, parse_api_key};

use crate::{Context, Standing};

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
/// revoked or expired (a session past `sessions`' absolute lifetime included),
/// for a key whose organization is deleted, and for a session whose user is
/// deleted or inactive: checked on every request (no cache), so losing access
/// takes effect at once.
pub async fn authenticate_bearer(
    db: &Database,
    bearer: &str,
    now: DateTime<Utc>,
    organization: Option<OrganizationId>,
    sessions: &SessionPolicy,
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
            let (auth, membership) =
                authenticate_session(db, bearer, now, organization, sessions).await?;
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
    sessions: &SessionPolicy,
) -> Result<Authenticated, DomainError> {
    Ok(authenticate_session(db, token, now, None, sessions)
        .await?
        .0)
}

/// [`authenticate`], and with `organization`, the user's live membership there.
async fn authenticate_session(
    db: &Database,
    token: &str,
    now: DateTime<Utc>,
    organization: Option<OrganizationId>,
    policy: &SessionPolicy,
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
    accept_session(db, found, now, policy).await
}

/// Judges what a session token found at `now`: `Unauthenticated` unless the
/// session is live and its user live and active. A session last refreshed more
/// than a day ago is extended (one conditional write).
async fn accept_session(
    db: &Database,
    found: Option<SessionStanding>,
    now: DateTime<Utc>,
    policy: &SessionPolicy,
) -> Result<(Authenticated, Option<(Organization, Member)>), DomainError> {
    let Some((mut session, user, membership)) = found else {
        return Err(DomainError::UNAUTHENTICATED);
    };
    if !policy.is_live(&session, now) || user.deleted_at.is_some() || !user.is_active {
        return Err(DomainError::UNAUTHENTICATED);
    }
    if let Some(expires_at) = policy.refreshed_expiry(&session, now)
        && SessionRepository::at(db.conn(), now)
            .refresh(session.id, expires_at)
            .await?
    {
        session.expires_at = expires_at;
        session.last_refreshed_at = now;
    }
    Ok((Authenticated { user, session }, membership))
}

/// A read of organization `organization`'s data with the credentials checked in
/// the statement that reads it: `read` gets the session token's hash and returns
/// what the token found with, when it found a member, the data. Returns the
/// request's context, acted by the bearer and carrying its standing there, and
/// the data when `read` got it; the caller then asks the permission matrix
/// (which reads nothing more) and reads the data itself when it is `None` (an
/// API key, whose secret is checked here first, or a session that is not a
/// member). Errors as for [`authenticate_bearer`].
pub async fn read_with_credentials<T, F, Fut>(
    db: &Database,
    bearer: &str,
    ctx: Context,
    organization: OrganizationId,
    policy: &SessionPolicy,
    read: F,
) -> Result<(Context, Option<T>), DomainError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<(Option<SessionStanding>, Option<T>), DomainError>>,
{
    if parse_api_key(bearer).is_some() {
        let auth = authenticate_bearer(db, bearer, ctx.now, Some(organization), policy).await?;
        return Ok((ctx.authenticated(auth), None));
    }
    let (found, data) = match read(hash_token(bearer)).await {
        Ok(read) => read,
        Err(err) => {
            // Refused before the credentials were judged (a cursor of another
            // order, say): bad credentials still answer first.
            authenticate_bearer(db, bearer, ctx.now, None, policy).await?;
            return Err(err);
        }
    };
    let (auth, membership) = accept_session(db, found, ctx.now, policy).await?;
    let standing = Standing {
        actor: Actor::User(auth.user.id),
        organization_id: organization,
        access: membership.map(|(org, member)| OrganizationAccess::of_member(org, member)),
    };
    let auth = Authentication {
        principal: Principal::User(Box::new(auth)),
        standing: Some(standing),
    };
    Ok((ctx.authenticated(auth), data))
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

/// One page of the signed-in user's live sessions (see
/// `SessionRepository::list_live`).
pub async fn list_own(
    db: &Database,
    ctx: &Context,
    policy: &SessionPolicy,
    request: &PageRequest<SessionSort>,
) -> Result<Page<Session>, DomainError> {
    SessionRepository::at(db.conn(), ctx.now)
        .list_live(ctx.user()?, policy, request)
        .await
}

/// Ends one of the signed-in user's live sessions (the current one included),
/// audited as `session.revoked`. `NotFound` (`SESSION_NOT_FOUND`) when it is
/// another user's, unknown, or has already ended.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn revoke_own(
    db: &Database,
    ctx: &Context,
    policy: &SessionPolicy,
    id: SessionId,
) -> Result<(), DomainError> {
    let user = ctx.user()?;
    let uow = db.begin().await?;
    // One conditional write: another user's session, or one that has ended,
    // matches nothing.
    if !SessionRepository::at(uow.conn(), ctx.now)
        .revoke_of_user(user, id, policy)
        .await?
    {
        return Err(SESSION_NOT_FOUND);
    }
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::SessionRevoked, AuditEntity::Session, id),
        )
        .await?;
    uow.commit().await
}

/// Ends every live session of the signed-in user but `current`, each audited as
/// `session.revoked`; returns how many.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn revoke_own_others(
    db: &Database,
    ctx: &Context,
    policy: &SessionPolicy,
    current: SessionId,
) -> Result<usize, DomainError> {
    let user = ctx.user()?;
    let uow = db.begin().await?;
    let revoked = SessionRepository::at(uow.conn(), ctx.now)
        .revoke_others_of_user(user, current, policy)
        .await?;
    let audit = AuditLogRepository::new(uow.conn());
    for id in &revoked {
        audit
            .record(
                ctx,
                AuditEvent::new(AuditAction::SessionRevoked, AuditEntity::Session, id),
            )
            .await?;
    }
    uow.commit().await?;
    Ok(revoked.len())
}
