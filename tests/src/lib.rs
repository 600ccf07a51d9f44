//! The test harness: throwaway databases (PostgreSQL and SQLite), a fresh
//! migrated database per test, and the running application over HTTP.

pub mod app;
pub mod db;
pub mod faults;
pub mod fixtures;
pub mod postgres;
pub mod sqlite;

pub use db::{Backend, TestDb};
