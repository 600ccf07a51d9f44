//! Routes, one module per resource. Each module registers its handlers under
//! `/v1` (`configure`) and describes them for OpenAPI (`Doc`).

pub mod admin;
pub mod api_keys;
pub mod audit_logs;
pub mod auth;
pub mod billing;
pub mod context_entries;
pub mod docs;
pub mod endpoints;
pub mod feature_flags;
pub mod github;
pub mod health;
pub mod invitations;
pub mod jobs;
pub mod me;
pub mod members;
pub mod messages;
pub mod metrics;
pub mod organizations;
pub mod plans;
pub mod sessions;
pub mod subscriptions;
pub mod tasks;
pub mod usage;
pub mod waitlist;
pub mod webhooks;

use actix_web::web;

use crate::middleware::methods;

/// The resources under `/v1`, each a module with `configure` (its routes) and
/// `Doc` (its part of the OpenAPI document): adding a resource is one line here.
macro_rules! resources {
    ($($module:ident),+ $(,)?) => {
        fn configure_v1(cfg: &mut web::ServiceConfig) {
            $(cfg.configure($module::configure);)+
        }

        /// Every resource's part of the OpenAPI document.
        pub fn docs() -> Vec<utoipa::openapi::OpenApi> {
            vec![$(<$module::Doc as utoipa::OpenApi>::openapi()),+]
        }
    };
}

resources![
    waitlist,
    auth,
    me,
    sessions,
    admin,
    organizations,
    members,
    invitations,
    api_keys,
    endpoints,
    audit_logs,
    jobs,
    tasks,
    messages,
    context_entries,
    feature_flags,
    usage,
    github,
    webhooks,
    plans,
    subscriptions,
    billing,
];

/// Registers every route, then in each scope the fallback that answers 405 and
/// `OPTIONS` from the routes registered before it (`middleware::methods`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::health)
        .service(health::ready)
        .service(metrics::scrape)
        .service(docs::openapi_json)
        .service(docs::docs_page)
        .service(
            web::scope("/v1")
                .configure(configure_v1)
                .configure(methods::fallback),
        )
        .configure(methods::fallback);
}
