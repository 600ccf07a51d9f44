//! Bearer authentication: the [`CurrentUser`] extractor, and [`Client`] for the
//! caller's address and user agent.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::{AUTHORIZATION, USER_AGENT};
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use domain::{Authenticated, DomainError};
use infra::repositories::ClientInfo;
use infra::services::sessions;

use crate::error::ApiError;
use crate::state::AppState;

/// The signed-in caller. A handler that takes it answers 401 (`UNAUTHENTICATED`,
/// with `WWW-Authenticate: Bearer`) unless the request carries
/// `Authorization: Bearer <token>` for a live session of an active user.
#[derive(Clone, Debug)]
pub struct CurrentUser(pub Authenticated);

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req).map(str::to_owned);
        let state = req.app_data::<Data<AppState>>().cloned();
        Box::pin(async move {
            let token = token.ok_or(DomainError::UNAUTHENTICATED)?;
            let state = state.ok_or_else(|| DomainError::Internal("no AppState".into()))?;
            let now = state.now();
            Ok(Self(sessions::authenticate(&state.db, &token, now).await?))
        })
    }
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
        // The peer address, not X-Forwarded-For: a client could forge that header.
        let ip = req.peer_addr().map(|a| a.ip().to_string());
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
