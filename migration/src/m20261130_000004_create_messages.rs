use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Messages {
    Table,
    JobId,
    OrganizationId,
    TaskId,
    Role,
    Content,
    Metadata,
}

#[derive(DeriveIden)]
enum Jobs {
    Table,
}

#[derive(DeriveIden)]
enum Tasks {
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
            .table(Messages::Table)
            .col(id_column())
            .col(uuid(Messages::JobId))
            .col(uuid(Messages::OrganizationId))
            .col(ColumnDef::new(Messages::TaskId).uuid().null())
            .col(text(Messages::Role))
            .col(text(Messages::Content))
            .col(ColumnDef::new(Messages::Metadata).json_binary().null());
        timestamps(&mut table)
            .foreign_key(&mut fk_cascade(
                "fk_messages_jobs",
                Messages::Table,
                Messages::JobId,
                Jobs::Table,
            ))
            .foreign_key(&mut fk_cascade(
                "fk_messages_organizations",
                Messages::Table,
                Messages::OrganizationId,
                Organizations::Table,
            ))
            .foreign_key(&mut fk_cascade(
                "fk_messages_tasks",
                Messages::Table,
                Messages::TaskId,
                Tasks::Table,
            ))
            .check(check_one_of(
                "chk_messages_role",
                Messages::Role,
                &["system", "user", "assistant", "tool"],
            ));

        create_table(
            manager,
            table,
            vec![
                index(
                    "idx_messages_job_id_created_at",
                    Messages::Table,
                    [Alias::new("job_id"), Alias::new("created_at")],
                ),
                index(
                    "idx_messages_organization_id",
                    Messages::Table,
                    [Messages::OrganizationId],
                ),
                index("idx_messages_task_id", Messages::Table, [Messages::TaskId]),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, Messages::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
