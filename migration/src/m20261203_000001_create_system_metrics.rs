use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SystemMetrics {
    Table,
    Id,
    Name,
    Labels,
    Value,
    RecordedAt,
}

/// A database-generated key, as the waitlist's: a snapshot writes dozens of
/// rows a minute that nobody addresses one by one.
/// PostgreSQL `bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY`,
/// SQLite `integer PRIMARY KEY AUTOINCREMENT`.
fn identity_column(backend: DbBackend) -> ColumnDef {
    let mut column = ColumnDef::new(SystemMetrics::Id);
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
            .table(SystemMetrics::Table)
            .col(identity_column(manager.get_database_backend()))
            .col(text(SystemMetrics::Name))
            .col(
                ColumnDef::new(SystemMetrics::Labels)
                    .json_binary()
                    .not_null(),
            )
            .col(ColumnDef::new(SystemMetrics::Value).double().not_null())
            .col(timestamptz(SystemMetrics::RecordedAt));
        timestamps(&mut table);

        create_table(
            manager,
            table,
            vec![
                // `GET /v1/admin/metrics?name=&from=&to=`: one series over time.
                index(
                    "idx_system_metrics_name_recorded_at",
                    SystemMetrics::Table,
                    [SystemMetrics::Name, SystemMetrics::RecordedAt],
                ),
                // The unfiltered list's order, and the retention purge.
                index(
                    "idx_system_metrics_recorded_at",
                    SystemMetrics::Table,
                    [SystemMetrics::RecordedAt],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, SystemMetrics::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
