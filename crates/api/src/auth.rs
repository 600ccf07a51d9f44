//! Who is calling: [`CurrentUser`] (a session), [`Caller`] (a session or an API
//! key, for organization routes), [`Anonymous`] (no credentials), each with the
//! request's [`Context`] for the use cases and the audit trail and the database
//! handle to serve it with; and [`Client`] for the caller's address and user agent.
//!
//! These extractors are the only way a handler reaches the database: the server
//! keeps its pool as a [`Pool`], which nothing outside this module can open. So
//! a read holding its pinned connection cannot also wait for a second one from
//! the shared pool (with every connection pinned by such reads, that wait would
//! never end): the types rule it out, not a comment.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::http::header::{AUTHORIZATION, USER_AGENT};
use actix_web::web::Data;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use app::Context;
use app::sessions::{self, Authentication, Principal};
use domain::auth::SessionPolicy;
use domain::{Actor, Authenticated, DomainError, OrganizationId};
use infra::Database;
use infra::repositories::ClientInfo;
use tracing_actix_web::RequestId;

use crate::error::ApiError;
use crate::state::AppState;

type Extracted<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

/// The server's database pool, sealed: only this module's extractors turn it
/// into a request's handle (see the module's documentation).
#[derive(Clone, Debug)]
pub struct Pool(Database);

impl Pool {
    /// Seals `db`.
    pub fn new(db: Database) -> Self {
        Self(db)
    }
}

/// The signed-in user. A handler that takes it answers 401 (`UNAUTHENTICATED`,
/// with `WWW-Authenticate: Bearer`) unless the request carries
/// `Authorization: Bearer <token>` for a live session of an active user, and 403
/// (`USER_REQUIRED`) for an API key: keys act inside their organization only.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    /// The user and session.
    pub auth: Authenticated,
    /// The request, acted by the user.
    pub ctx: Context,
    /// The database to serve the request with (see [`Caller::db`]).
    pub db: Database,
}

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, &mut Payload::None);
        Box::pin(async move {
            let Caller { principal, ctx, db } = caller.await?;
            match principal {
                Principal::User(auth) => Ok(Self {
                    auth: *auth,
                    ctx,
                    db,
                }),
                Principal::ApiKey(_) => Err(ctx.user().unwrap_err().into()),
            }
        })
    }
}

/// A session or an API key: how organization routes are called. 401 as for
/// [`CurrentUser`] unless one of them is valid.
#[derive(Clone, Debug)]
pub struct Caller {
    /// What the bearer value stands for.
    pub principal: Principal,
    /// The request, acted by it. For a read of one organization's resources (a
    /// `GET` or `HEAD` with `{orgId}` in its path) it carries the caller's
    /// standing there, read with the credentials (`app::Standing`).
    pub ctx: Context,
    /// The database to serve the request with, the credentials already checked on
    /// it: for a read (`GET`, `HEAD`), one connection pinned for the whole request
    /// (one pool round trip instead of one per statement); otherwise the pool,
    /// since a request with a body may still be receiving it and must not hold a
    /// connection meanwhile. Handlers use this one, never the shared pool: a
    /// request holding a pinned connection must not wait for a second.
    pub db: Database,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let reads_only = matches!(*req.method(), Method::GET | Method::HEAD);
        extract_caller(req, reads_only)
    }
}

/// A [`Caller`] whose request holds one pinned connection for its whole life,
/// whatever its method: its credentials, its unit of work and its commit on one
/// connection, checked out (and pinged back by sqlx) once instead of twice. For
/// the workers' hot routes (claim, heartbeat, complete). Put it **after** the
/// body's extractor in the handler's arguments, so that no connection is held
/// while a client is still sending the body.
#[derive(Clone, Debug)]
pub struct PinnedCaller(pub Caller);

impl FromRequest for PinnedCaller {
    type Error = ApiError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = extract_caller(req, true);
        Box::pin(async move { caller.await.map(PinnedCaller) })
    }
}

/// Authenticates the bearer value, on a pinned connection when `pin`.
fn extract_caller(req: &HttpRequest, pin: bool) -> Extracted<Caller> {
    let token = bearer_token(req).map(str::to_owned);
    let reads_only = matches!(*req.method(), Method::GET | Method::HEAD);
    // A read of an organization's resources learns the caller's standing there
    // with its credentials; a write reads it again in its unit of work.
    let organization = req
        .match_info()
        .get("orgId")
        .and_then(|raw| OrganizationId::parse(raw).ok())
        .filter(|_| reads_only);
    let state = req.app_data::<Data<AppState>>().cloned();
    let ctx = state.as_ref().map(|s| context(req, s, Actor::Anonymous));
    Box::pin(async move {
        let token = token.ok_or(DomainError::UNAUTHENTICATED)?;
        let (state, ctx) = state
            .zip(ctx)
            .ok_or_else(|| DomainError::Internal("no AppState".into()))?;
        let db = if pin {
            state.db.0.pinned().await?
        } else {
            state.db.0.clone()
        };
        let Authentication {
            principal,
            standing,
        } = sessions::authenticate_bearer(&db, &token, ctx.now, organization, &state.sessions)
            .await?;
        let ctx = Context {
            actor: principal.actor(),
            standing: standing.map(Arc::new),
            ..ctx
        };
        Ok(Caller { principal, ctx, db })
    })
}

/// A read whose credentials are checked in the statement that reads its data
/// (`app::members::list_as`): the bearer value, not yet checked, with the
/// request's context (acted by no one until checked), one pinned connection and
/// the session policy. 401 when the request has no bearer value; the rest is the
/// use case's. Only for `GET`/`HEAD` routes (the connection is taken at once).
#[derive(Clone, Debug)]
pub struct Bearer {
    /// The `Authorization: Bearer` value.
    pub token: String,
    /// The request, acted by no one yet.
    pub ctx: Context,
    /// One connection pinned for the request (see [`Caller::db`]).
    pub db: Database,
    /// How long sessions live.
    pub sessions: SessionPolicy,
}

impl FromRequest for Bearer {
    type Error = ApiError;
    type Future = Extracted<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req).map(str::to_owned);
        let state = req.app_data::<Data<AppState>>().cloned();
        let ctx = state.as_ref().map(|s| context(req, s, Actor::Anonymous));
        Box::pin(async move {
            let token = token.ok_or(DomainError::UNAUTHENTICATED)?;
            let (state, ctx) = state
                .zip(ctx)
                .ok_or_else(|| DomainError::Internal("no AppState".into()))?;
            Ok(Self {
                token,
                ctx,
                db: state.db.0.pinned().await?,
                sessions: state.sessions,
            })
        })
    }
}

impl Bearer {
    /// `err` for a request whose credentials are good, and 401 for one whose
    /// are not: a request refused before its read still says "not signed in"
    /// first, as one checked by [`Caller`] would.
    pub async fn refuse(&self, err: ApiError) -> ApiError {
        match sessions::authenticate_bearer(
            &self.db,
            &self.token,
            self.ctx.now,
            None,
            &self.sessions,
        )
        .await
        {
            Ok(_) => err,
            Err(unauthenticated) => unauthenticated.into(),
        }
    }
}

/// A request without credentials (sign-up, sign-in, token redemption): its
/// context, acted by no one, and the pool (no connection is held for it).
#[derive(Clone, Debug)]
pub struct Anonymous {
    /// The request, acted by no one.
    pub ctx: Context,
    /// The database to serve the request with.
    pub db: Database,
}

impl FromRequest for Anonymous {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.app_data::<Data<AppState>>()
                .map(|state| Self {
                    ctx: context(req, state, Actor::Anonymous),
                    db: state.db.0.clone(),
                })
                .ok_or_else(|| DomainError::Internal("no AppState".into()).into()),
        )
    }
}

/// The request's context: now by the application's clock, the peer address, the
/// request id.
fn context(req: &HttpRequest, state: &AppState, actor: Actor) -> Context {
    Context {
        now: state.now(),
        actor,
        ip: peer_ip(req),
        request_id: req.extensions().get::<RequestId>().map(ToString::to_string),
        standing: None,
    }
}

/// The peer address, not X-Forwarded-For: a client could forge that header.
fn peer_ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The caller's peer address and `User-Agent`, kept with a new session.
#[derive(Clone, Debug)]
pub struct Client(pub ClientInfo);

impl FromRequest for Client {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ip = peer_ip(req);
        let user_agent = req
            .headers()
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect());
        std::future::ready(Ok(Self(ClientInfo { ip, user_agent })))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn only_a_bearer_scheme_with_a_token_is_read() {
        let token = |header: &str| {
            let req = TestRequest::default()
                .insert_header((AUTHORIZATION, header))
                .to_http_request();
            bearer_token(&req).map(str::to_owned)
        };
        assert_eq!(token("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(token("bearer  abc ").as_deref(), Some("abc"));
        assert_eq!(token("Basic abc"), None);
        assert_eq!(token("Bearer "), None);
        assert_eq!(token("Bearer"), None);
    }
}
