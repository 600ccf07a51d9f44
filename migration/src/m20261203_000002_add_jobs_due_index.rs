//! The jobs that can come due, across organizations, by `next_run_at`: what
//! `/metrics` counts (`jobs_due`, and the lag of the oldest) at every scrape
//! without scanning the table. The claim has its per-organization index.

use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Jobs {
    Table,
    NextRunAt,
    Status,
    DeletedAt,
}

const DUE_INDEX: &str = "idx_jobs_next_run_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut due = index(DUE_INDEX, Jobs::Table, [Jobs::NextRunAt]);
        due.and_where(Expr::col(Jobs::Status).eq("active"))
            .and_where(Expr::col(Jobs::DeletedAt).is_null());
        manager.create_index(due).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(DUE_INDEX).table(Jobs::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
