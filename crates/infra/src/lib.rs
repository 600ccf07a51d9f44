//! Groundwork's infrastructure: configuration, the database pool, SeaORM entities
//! and the repositories that turn rows into domain values and database errors
//! into domain errors.

pub mod config;
pub mod constraints;
pub mod context;
pub mod database;
pub mod db_error;
pub mod delivery;
pub mod entities;
pub mod repositories;
pub mod security;
pub mod services;

pub use config::{ConfigError, Settings};
pub use context::{Context, Standing};
pub use database::{Database, UnitOfWork};
pub use sea_orm::{DatabaseConnection, DbErr};
pub use security::PasswordHasher;
