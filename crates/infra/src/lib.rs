//! Groundwork's adapters: configuration, the database pool, SeaORM entities, the
//! repositories that turn rows into domain values and database errors into domain
//! errors, password and token security, and outbox delivery. No use case lives
//! here: those are in the `app` crate, which calls these.

pub mod config;
pub mod constraints;
pub mod database;
pub mod db_error;
pub mod delivery;
pub mod entities;
pub mod repositories;
pub mod resolver;
pub mod security;

pub use config::{ConfigError, Settings};
pub use database::{Database, PoolStats, UnitOfWork};
pub use sea_orm::{DatabaseConnection, DbErr};
pub use security::PasswordHasher;
