//! One test binary (one link) for every black-box test.

mod admin;
mod auth;
mod config;
mod health;
mod http_errors;
mod invitations;
mod layering;
mod me;
mod members;
mod migrations;
mod openapi;
mod organizations;
mod outbox;
mod pagination;
mod repositories;
mod schema;
mod sessions;
mod shutdown;
mod startup;
mod transactions;
mod waitlist;
