//! The HTTP behaviour every route shares, as middleware around the router
//! (`startup.rs` wraps them, outermost last):
//!
//! - [`methods`]: `HEAD` on every `GET` route, `OPTIONS`, 405 with `Allow`;
//! - [`cors`]: CORS for the origins in `server.cors_allowed_origins`;
//! - [`headers`]: security headers on every response.

pub mod cors;
pub mod headers;
pub mod methods;
