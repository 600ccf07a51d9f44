use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tasks {
    Table,
    JobId,
    OrganizationId,
    Status,
    Attempt,
    Worker,
    ScheduledAt,
    StartedAt,
    FinishedAt,
    Output,
    Error,
    TokensUsed,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Tasks::Table)
            .col(id_column())
            .col(uuid(Tasks::JobId))
            .col(uuid(Tasks::OrganizationId))
            .col(text(Tasks::Status))
            .col(ColumnDef::new(Tasks::Attempt).integer().not_null())
            .col(text(Tasks::Worker))
            .col(timestamptz_null(Tasks::ScheduledAt))
            .col(timestamptz(Tasks::StartedAt))
            .col(timestamptz_null(Tasks::FinishedAt))
            .col(ColumnDef::new(Tasks::Output).json_binary().null())
            .col(text_null(Tasks::Error))
            .col(
                ColumnDef::new(Tasks::TokensUsed)
                    .big_integer()
                    .not_null()
                    .default(0),
            );
        // A run's record is history: tasks go with their job (or organization)
        // only when that row itself is removed for good.
        timestamps(&mut table)
            .foreign_key(&mut fk_cascade(
                "fk_tasks_jobs",
                Tasks::Table,
                Tasks::JobId,
                Jobs::Table,
            ))
            .foreign_key(&mut fk_cascade(
                "fk_tasks_organizations",
                Tasks::Table,
                Tasks::OrganizationId,
                Organizations::Table,
            ))
            .check(check_one_of(
                "chk_tasks_status",
                Tasks::Status,
                &["running", "succeeded", "failed"],
            ));

        create_table(
            manager,
            table,
            vec![
                index(
                    "idx_tasks_job_id_created_at",
                    Tasks::Table,
                    [Alias::new("job_id"), Alias::new("created_at")],
                ),
                index(
                    "idx_tasks_job_id_status_created_at",
                    Tasks::Table,
                    [
                        Alias::new("job_id"),
                        Alias::new("status"),
                        Alias::new("created_at"),
                    ],
                ),
                index(
                    "idx_tasks_organization_id",
                    Tasks::Table,
                    [Tasks::OrganizationId],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, Tasks::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
