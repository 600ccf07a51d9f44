//! Groundwork's reversible schema migrations (`docs/schema.md`), the same code on
//! PostgreSQL and SQLite, plus the command API behind the `migration` binary.
//!
//! ```no_run
//! # async fn demo(db: &migration::sea_orm_migration::sea_orm::DatabaseConnection)
//! # -> Result<(), migration::MigrationError> {
//! use migration::{Command, Migrator, MigratorTrait};
//!
//! // What the server does at start-up (auto-migrate):
//! migration::up_locked::<Migrator>(db).await?;
//! // What `migration status` does:
//! let outcome = migration::run::<Migrator>(db, Command::Status, "development").await?;
//! for m in &outcome.migrations {
//!     println!("{} {}", m.name, m.status);
//! }
//! // Plain sea-orm-migration calls work too (without the lock):
//! Migrator::down(db, None).await?;
//! # Ok(()) }
//! ```

pub use sea_orm_migration;
pub use sea_orm_migration::{MigrationStatus, MigrationTrait, MigratorTrait};

mod command;
mod common;
pub mod database_url;
pub mod environment;
mod lock;

pub use command::{
    Command, MigrationError, MigrationState, Outcome, guard, is_production, migration_states, run,
    run_forced, up_locked,
};
pub use lock::{MIGRATION_LOCK_KEY, with_migration_lock};

mod m20261123_000001_create_updated_at_function;
mod m20261123_000002_create_users;
mod m20261123_000003_create_accounts;
mod m20261123_000004_create_sessions;
mod m20261123_000005_create_verification_tokens;
mod m20261123_000006_create_organizations;
mod m20261123_000007_create_organization_members;
mod m20261123_000008_create_invitations;
mod m20261123_000009_create_waitlist_entries;
mod m20261123_000010_create_outbox_messages;
mod m20261123_000011_create_api_keys;
mod m20261123_000012_create_audit_logs;
mod m20261123_000013_add_outbox_failed_at;
mod m20261124_000001_create_sign_in_failures;
mod m20261130_000001_create_endpoints;
mod m20261130_000002_create_jobs;
mod m20261130_000003_create_tasks;
mod m20261130_000004_create_messages;
mod m20261130_000005_create_context_entries;
mod m20261130_000006_create_feature_flags;
mod m20261201_000001_create_plans;
mod m20261201_000002_create_subscriptions;
mod m20261201_000003_relax_organizations_plan;
mod m20261201_000004_create_billing_events;
mod m20261202_000001_create_usage_records;
mod m20261203_000001_create_system_metrics;
mod m20261203_000002_add_jobs_due_index;
mod m20261204_000001_create_webhooks;
mod m20261204_000002_create_webhook_deliveries;
mod m20261205_000001_create_github;

/// Every Groundwork migration, oldest first.
pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_updated_at_function::Migration),
            Box::new(m20261123_000002_create_users::Migration),
            Box::new(m20261123_000003_create_accounts::Migration),
            Box::new(m20261123_000004_create_sessions::Migration),
            Box::new(m20261123_000005_create_verification_tokens::Migration),
            Box::new(m20261123_000006_create_organizations::Migration),
            Box::new(m20261123_000007_create_organization_members::Migration),
            Box::new(m20261123_000008_create_invitations::Migration),
            Box::new(m20261123_000009_create_waitlist_entries::Migration),
            Box::new(m20261123_000010_create_outbox_messages::Migration),
            Box::new(m20261123_000011_create_api_keys::Migration),
            Box::new(m20261123_000012_create_audit_logs::Migration),
            Box::new(m20261123_000013_add_outbox_failed_at::Migration),
            Box::new(m20261124_000001_create_sign_in_failures::Migration),
            Box::new(m20261130_000001_create_endpoints::Migration),
            Box::new(m20261130_000002_create_jobs::Migration),
            Box::new(m20261130_000003_create_tasks::Migration),
            Box::new(m20261130_000004_create_messages::Migration),
            Box::new(m20261130_000005_create_context_entries::Migration),
            Box::new(m20261130_000006_create_feature_flags::Migration),
            Box::new(m20261201_000001_create_plans::Migration),
            Box::new(m20261201_000002_create_subscriptions::Migration),
            Box::new(m20261201_000003_relax_organizations_plan::Migration),
            Box::new(m20261201_000004_create_billing_events::Migration),
            Box::new(m20261202_000001_create_usage_records::Migration),
            Box::new(m20261203_000001_create_system_metrics::Migration),
            Box::new(m20261203_000002_add_jobs_due_index::Migration),
            Box::new(m20261204_000001_create_webhooks::Migration),
            Box::new(m20261204_000002_create_webhook_deliveries::Migration),
            Box::new(m20261205_000001_create_github::Migration),
        ]
    }
}
