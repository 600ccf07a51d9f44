//! Security headers on every response: `X-Content-Type-Options: nosniff`,
//! `Referrer-Policy: no-referrer`, a Content-Security-Policy (`/docs` sets its
//! own; everything else is JSON, which runs nothing and may not be framed),
//! `Cache-Control: no-store` on `/v1` (bearer tokens and personal data stay out
//! of caches), and `Strict-Transport-Security` when `server.hsts` is on.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderMap, HeaderValue, REFERRER_POLICY,
    STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::middleware::Next;
use actix_web::{Error, web};

/// Whether to send `Strict-Transport-Security` (`server.hsts`).
#[derive(Clone, Copy, Debug)]
pub struct Hsts(pub bool);

/// Two years, subdomains included: the value browsers' preload lists expect.
const HSTS: &str = "max-age=63072000; includeSubDomains";

/// The policy of every response that sets none (all but `/docs`).
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds the headers to every response, errors and 404s included (and to the
/// response an `Err` from inner layers becomes: a caught panic).
pub async fn security(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let path = req.path();
    let is_v1 = path == "/v1" || path.starts_with("/v1/");
    let hsts = req.app_data::<web::Data<Hsts>>().is_some_and(|h| h.0);
    let add = move |headers: &mut HeaderMap| add_headers(headers, is_v1, hsts);
    match next.call(req).await {
        Ok(mut res) => {
            add(res.headers_mut());
            Ok(res)
        }
        Err(mut err) => {
            err.add_response_mapper(move |mut res| {
                add(res.headers_mut());
                res
            });
            Err(err)
        }
    }
}

fn add_headers(headers: &mut HeaderMap, is_v1: bool, hsts: bool) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if !headers.contains_key(CONTENT_SECURITY_POLICY) {
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(API_CSP));
    }
    if is_v1 && !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if hsts {
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
}
