//! The HTTP behaviour every route shares, as middleware around the router
//! (`startup.rs` wraps them, outermost last):
//!
//! - [`methods`]: `HEAD` on every `GET` route, `OPTIONS`, 405 with `Allow`;
//! - [`cors`]: CORS for the origins in `server.cors_allowed_origins`;
//! - [`headers`]: security headers on every response;
//! - [`inputs`]: a NUL in a query parameter is 422;
//! - [`panics`]: a panicking handler is a problem+json 500.

pub mod cors;
pub mod headers;
pub mod inputs;
pub mod methods;
pub mod panics;
