//! One test binary (one link) for every black-box test.

mod access;
mod admin;
mod api_keys;
mod audit;
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
mod outbox_delivery;
mod pagination;
mod plan_limits;
mod repositories;
mod schema;
mod sessions;
mod shutdown;
mod startup;
mod transactions;
mod waitlist;
