use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxMessages {
    Table,
    Kind,
    Payload,
    Attempts,
    LastError,
    NextAttemptAt,
    ProcessedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(OutboxMessages::Table)
            .col(id_column())
            .col(text(OutboxMessages::Kind))
            .col(
                ColumnDef::new(OutboxMessages::Payload)
                    .json_binary()
                    .not_null(),
            )
            .col(
                ColumnDef::new(OutboxMessages::Attempts)
                    .integer()
                    .not_null()
                    .default(0),
            )
            .col(text_null(OutboxMessages::LastError))
            .col(timestamptz_default_now(OutboxMessages::NextAttemptAt))
            .col(timestamptz_null(OutboxMessages::ProcessedAt));
        timestamps(&mut table).check(check_one_of(
            "chk_outbox_messages_kind",
            OutboxMessages::Kind,
            &["email", "webhook"],
        ));

        create_table(
            manager,
            table,
            vec![
                // The relay's work queue: only unprocessed messages are indexed.
                index(
                    "idx_outbox_messages_next_attempt_at",
                    OutboxMessages::Table,
                    [OutboxMessages::NextAttemptAt],
                )
                .and_where(Expr::col(OutboxMessages::ProcessedAt).is_null())
                .take(),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, OutboxMessages::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
