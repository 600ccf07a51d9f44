//! CORS for the origins in `server.cors_allowed_origins`, through actix-cors;
//! with none configured, no CORS header is ever sent.
//!
//! actix-cors answers a preflight before routing, so it could not tell which
//! methods a path serves (it would allow every method on every path, unknown
//! ones included). Its preflight handling is therefore off: a preflight is an
//! `OPTIONS` like any other, answered 204 with the path's real `Allow` by
//! [`super::methods`]; actix-cors adds `Access-Control-Allow-Origin` when the
//! origin is allowed, and [`preflight`] completes that answer with the methods
//! and headers the browser asked about.

use actix_cors::Cors;
use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ALLOW,
    HeaderValue,
};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{Condition, Next};

/// How long a browser may cache a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE_SECS: &str = "600";

/// Response headers a browser script may read besides the safelisted ones.
const EXPOSED: [&str; 5] = [
    "x-request-id",
    "retry-after",
    "location",
    "allow",
    "www-authenticate",
];

/// actix-cors for `origins` (already checked by the configuration), or no
/// middleware at all when there are none. A request from another origin is
/// answered as usual, without CORS headers: the browser then withholds the
/// answer from the page.
pub fn middleware(origins: &[String]) -> Condition<Cors> {
    let cors = origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .expose_headers(EXPOSED)
        .block_on_origin_mismatch(false)
        .disable_preflight();
    Condition::new(!origins.is_empty(), cors)
}

/// Completes the answer to a CORS preflight (`OPTIONS` with
/// `Access-Control-Request-Method`) that actix-cors let through for an allowed
/// origin: the path's methods (its `Allow`), the request headers asked for, and
/// how long to cache the answer. Wrapped outside [`middleware`].
pub async fn preflight(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let is_preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    let requested_headers = req.headers().get(ACCESS_CONTROL_REQUEST_HEADERS).cloned();
    let mut res = next.call(req).await?;
    let allowed_origin = res.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN);
    if is_preflight && allowed_origin && res.status() == StatusCode::NO_CONTENT {
        let headers = res.headers_mut();
        if let Some(allow) = headers.get(ALLOW).cloned() {
            headers.insert(ACCESS_CONTROL_ALLOW_METHODS, allow);
        }
        if let Some(requested) = requested_headers {
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, requested);
        }
        headers.insert(
            ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE_SECS),
        );
    }
    Ok(res)
}
