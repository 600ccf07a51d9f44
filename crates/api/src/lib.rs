//! Groundwork's HTTP API: routes, extractors, problem+json errors, the OpenAPI
//! document, and [`Application`], which the server binary and the tests run.

pub mod admin_auth;
pub mod auth;
pub mod commands;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod paths;
pub mod preconditions;
pub mod rate_limit;
pub mod reaper;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod views;
pub mod webhook_worker;
pub mod worker;

pub use error::{ApiError, Result};
pub use startup::{Application, StartupError};
pub use state::AppState;
