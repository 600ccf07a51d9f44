//! One test binary (one link) for every black-box test.

mod config;
mod health;
mod http_errors;
mod layering;
mod migrations;
mod repositories;
mod schema;
mod shutdown;
mod startup;
mod waitlist;
