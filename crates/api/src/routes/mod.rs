//! Routes, one module per resource. Each module registers its handlers under
//! `/v1` (`configure`) and describes them for OpenAPI (`Doc`).

pub mod admin;
pub mod api_keys;
pub mod audit_logs;
pub mod auth;
pub mod docs;
pub mod health;
pub mod invitations;
pub mod me;
pub mod members;
pub mod organizations;
pub mod waitlist;

use actix_web::web;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::health)
        .service(health::ready)
        .service(docs::openapi_json)
        .service(docs::docs_page)
        .service(
            web::scope("/v1")
                .service(waitlist::create)
                .configure(auth::configure)
                .configure(me::configure)
                .configure(admin::configure)
                .configure(organizations::configure)
                .configure(members::configure)
                .configure(invitations::configure)
                .configure(api_keys::configure)
                .configure(audit_logs::configure),
        );
}
