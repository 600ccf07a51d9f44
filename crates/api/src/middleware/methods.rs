//! Methods every route shares: `HEAD` is answered on every `GET` route,
//! `OPTIONS` on every path with 204 and `Allow`, and a known path called with
//! a method it does not serve is 405 with `Allow` (problem+json), not 404.
//!
//! actix-web's route attributes (`#[get("/me")]`) register one resource per
//! handler with its method as a guard on the resource, so a path served for
//! `GET` alone does not match a `PUT` at all and would fall through to the 404
//! default service. While routing, though, actix records every method guard it
//! checks on a resource whose path matched the request, and its `Resource`
//! answers a request no route of it takes with 405 and an `Allow` header
//! listing exactly those methods (a bare 405 when none was checked). So
//! [`fallback`] registers, last in each scope, a resource without routes that
//! matches any path: it is reached exactly when no route took the request, and
//! what actix answers there tells whether the path is known and for which
//! methods, from the routes as registered. [`answer`] turns that into our 404,
//! 405 or `OPTIONS` answer.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{ALLOW, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{Error, HttpResponse, ResponseError, web};

use crate::error::ApiError;

/// Matches any path below the scope it is registered in. A constant, not a
/// literal: it is no route (`tests/integration/routes.rs` reads literals).
pub(crate) const ANY_PATH: &str = "/{tail:.*}";

/// Registers the fallback resource; call it after every route of a scope.
pub fn fallback(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(ANY_PATH).wrap(from_fn(answer)));
}

/// Serves `HEAD` as `GET`: the handler runs as for `GET`, and actix's HTTP/1
/// codec, which remembers that the request was a `HEAD`, sends the same status
/// and headers (`Content-Length` included) without the body.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// Turns actix's answer at the fallback resource into ours: no `Allow` (no
/// route has this path) → 404 `ROUTE_NOT_FOUND`; `OPTIONS` → 204 with `Allow`;
/// any other method → 405 `METHOD_NOT_ALLOWED` with `Allow`.
async fn answer(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let is_options = req.method() == Method::OPTIONS;
    let res = next.call(req).await?;
    let served = res.headers().get(ALLOW).map(served_methods);
    let (req, _) = res.into_parts();
    let response = match served {
        None => ApiError::RouteNotFound.error_response(),
        Some(methods) => {
            let allow = allow_header(&methods);
            if is_options {
                HttpResponse::NoContent()
                    .insert_header((ALLOW, allow))
                    .finish()
            } else {
                ApiError::MethodNotAllowed { allow }.error_response()
            }
        }
    };
    Ok(ServiceResponse::new(req, response))
}

/// The methods in an `Allow` header as actix writes it (`GET, PATCH`).
fn served_methods(allow: &HeaderValue) -> Vec<Method> {
    allow
        .to_str()
        .unwrap_or_default()
        .split(',')
        .filter_map(|m| m.trim().parse().ok())
        .collect()
}

/// `Allow` for a path served with `methods`: those, `HEAD` where `GET` is
/// served, and `OPTIONS`, in a stable order without repeats.
fn allow_header(methods: &[Method]) -> String {
    const ORDER: [Method; 7] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ];
    let serves = |m: &Method| {
        methods.contains(m)
            || (*m == Method::HEAD && methods.contains(&Method::GET))
            || *m == Method::OPTIONS
    };
    let mut allowed: Vec<&str> = ORDER
        .iter()
        .filter(|m| serves(m))
        .map(Method::as_str)
        .collect();
    for other in methods {
        if !ORDER.contains(other) && !allowed.contains(&other.as_str()) {
            allowed.push(other.as_str());
        }
    }
    allowed.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_adds_head_to_get_and_always_options() {
        assert_eq!(
            allow_header(&[Method::PATCH, Method::GET, Method::DELETE, Method::GET]),
            "GET, HEAD, PATCH, DELETE, OPTIONS"
        );
        assert_eq!(allow_header(&[Method::POST]), "POST, OPTIONS");
    }
}
