//! `organizations.plan` holds any plan's key: platform admins create plans, so
//! `chk_organizations_plan` (`free`, `pro`, `enterprise`) goes. The column is
//! the key of the organization's subscription's plan, written in the same
//! transaction as the subscription (the one join every cap check makes).
//!
//! PostgreSQL drops the constraint. SQLite cannot drop a CHECK with ALTER
//! TABLE; its documented way for removing a CHECK (which does not change the
//! stored rows) is to edit the table's SQL in `sqlite_schema` under
//! `writable_schema` and bump `schema_version`, in one transaction
//! (<https://www.sqlite.org/lang_altertable.html#otheralter>). `down` puts the
//! constraint back, moving organizations on other plans to `free` first.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The constraint as the organizations migration wrote it.
const CHECK: &str =
    r#"CONSTRAINT "chk_organizations_plan" CHECK ("plan" IN ('free', 'pro', 'enterprise'))"#;

async fn table_sql(manager: &SchemaManager<'_>) -> Result<String, DbErr> {
    let row = manager
        .get_connection()
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'organizations'",
        ))
        .await?
        .ok_or_else(|| DbErr::Migration("no organizations table".into()))?;
    row.try_get_by_index::<String>(0)
}

/// Replaces the SQL of `organizations` in SQLite's schema (see the module's
/// documentation).
async fn rewrite_sqlite_table(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    let version = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA schema_version",
        ))
        .await?
        .ok_or_else(|| DbErr::Migration("no schema_version".into()))?
        .try_get_by_index::<i64>(0)?;
    conn.execute_unprepared("PRAGMA writable_schema = ON")
        .await?;
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'organizations'",
        [sql.into()],
    ))
    .await?;
    conn.execute_unprepared(&format!("PRAGMA schema_version = {}", version + 1))
        .await?;
    conn.execute_unprepared("PRAGMA writable_schema = OFF")
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                let sql = table_sql(manager).await?;
                let without = sql.replace(&format!(", {CHECK}"), "");
                if without == sql {
                    return Err(DbErr::Migration(format!(
                        "organizations has no {CHECK}: {sql}"
                    )));
                }
                rewrite_sqlite_table(manager, &without).await
            }
            _ => manager
                .get_connection()
                .execute_unprepared(
                    "ALTER TABLE organizations DROP CONSTRAINT chk_organizations_plan",
                )
                .await
                .map(drop),
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared(
            "UPDATE organizations SET plan = 'free' WHERE plan NOT IN ('free', 'pro', 'enterprise')",
        )
        .await?;
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                let sql = table_sql(manager).await?;
                let Some(body) = sql.trim_end().strip_suffix(')') else {
                    return Err(DbErr::Migration(format!("unexpected table SQL: {sql}")));
                };
                let with = format!("{}, {CHECK} )", body.trim_end());
                rewrite_sqlite_table(manager, &with).await
            }
            _ => conn
                .execute_unprepared(
                    "ALTER TABLE organizations ADD CONSTRAINT chk_organizations_plan \
                     CHECK (plan IN ('free', 'pro', 'enterprise'))",
                )
                .await
                .map(drop),
        }
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
