use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WaitlistEntries {
    Table,
    Id,
    Email,
    Role,
}

/// The one table with a database-generated key:
/// PostgreSQL `bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY`,
/// SQLite `integer PRIMARY KEY AUTOINCREMENT` (a 64-bit rowid alias).
fn identity_column(backend: DbBackend) -> ColumnDef {
    let mut column = ColumnDef::new(WaitlistEntries::Id);
    column.big_integer().not_null().primary_key();
    match backend {
        DbBackend::Postgres => column.extra("GENERATED ALWAYS AS IDENTITY"),
        _ => column.auto_increment(),
    };
    column
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(WaitlistEntries::Table)
            .col(identity_column(manager.get_database_backend()))
            .col(text(WaitlistEntries::Email))
            .col(text(WaitlistEntries::Role));
        timestamps(&mut table).check(check_one_of(
            "chk_waitlist_entries_role",
            WaitlistEntries::Role,
            &["employee", "organization"],
        ));

        create_table(
            manager,
            table,
            vec![
                unique_index(
                    "waitlist_email_idx",
                    WaitlistEntries::Table,
                    [WaitlistEntries::Email],
                ),
                index(
                    "waitlist_role_idx",
                    WaitlistEntries::Table,
                    [WaitlistEntries::Role],
                ),
                index(
                    "idx_waitlist_entries_created_at",
                    WaitlistEntries::Table,
                    [Common::CreatedAt],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, WaitlistEntries::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
