//! `GET /openapi.json` and a browsable page at `GET /docs`.

use actix_web::{HttpResponse, get};

use crate::openapi;

/// The OpenAPI 3.1 document.
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(openapi::document())
}

/// A self-contained page (no CDN) that renders `/openapi.json`.
#[get("/docs")]
pub async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("docs.html"))
}
