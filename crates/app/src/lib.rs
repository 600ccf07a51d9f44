//! Groundwork's use cases, between the HTTP layer (`api`) and the adapters
//! (`infra`): `api -> app -> infra -> domain`.
//!
//! Each public function is one request's worth of work: it opens one unit of work
//! for anything it writes (so every step commits together or not at all), calls
//! repositories, applies the domain's rules and returns domain values. Time, actor,
//! address and request id come in as a [`Context`]; every mutation appends its
//! audit rows in the same unit of work. A rule of a workflow that is neither a
//! pure rule of `domain` nor SQL lives here.

pub mod access;
pub mod admin;
pub mod api_keys;
pub mod audit_logs;
pub mod auth;
pub mod billing;
pub mod context;
pub mod context_entries;
pub mod endpoints;
mod endpoints_ref;
pub mod feature_flags;
pub mod github;
pub mod invitations;
pub mod jobs;
pub mod me;
pub mod members;
pub mod messages;
pub mod metrics;
pub mod organizations;
pub mod plans;
pub mod runs;
pub mod sessions;
pub mod subscriptions;
pub mod tasks;
pub mod usage;
pub mod waitlist;
pub mod webhook_delivery;
pub mod webhooks;

pub use context::{Context, Standing};
