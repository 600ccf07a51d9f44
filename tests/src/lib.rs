//! The test harness: throwaway databases (PostgreSQL and SQLite), a fresh
//! migrated database per test, the running application over HTTP, and the
//! routes its source declares.

pub mod app;
pub mod db;
pub mod faults;
pub mod fixtures;
pub mod inventory;
pub mod logs;
pub mod postgres;
pub mod sqlite;

pub use db::{Backend, TestDb};
