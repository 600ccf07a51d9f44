//! Routes, one module per resource.

pub mod docs;
pub mod health;
pub mod waitlist;

use actix_web::web;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::health)
        .service(health::ready)
        .service(docs::openapi_json)
        .service(docs::docs_page)
        .service(web::scope("/v1").service(waitlist::create));
}
