//! `GET /openapi.json` and a browsable page at `GET /docs`.

use std::sync::OnceLock;

use actix_web::{HttpResponse, get};

use crate::openapi;

/// The OpenAPI 3.1 document (built once).
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let body = DOCUMENT.get_or_init(|| openapi::document().to_string());
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.as_str())
}

/// A self-contained page (no CDN) that renders `/openapi.json`.
#[get("/docs")]
pub async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("docs.html"))
}
