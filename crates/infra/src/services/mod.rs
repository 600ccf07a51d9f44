//! Use cases. Each public function is one request's worth of work: it opens one
//! unit of work for anything it writes (so every step commits together or not at
//! all), calls repositories, applies the domain's rules and returns domain values.
//! Time comes in as `now` from the caller's clock.

pub mod auth;
pub mod invitations;
pub mod me;
pub mod members;
pub mod organizations;
pub mod sessions;
