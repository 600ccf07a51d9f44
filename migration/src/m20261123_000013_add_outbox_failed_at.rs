//! Emails that fail for good, and tokens cleared once delivered.
//!
//! `outbox_messages.failed_at`: set when delivery failed permanently (an SMTP
//! 5xx, or `outbox.max_attempts` attempts); the worker passes such a message by
//! until an operator retries it (`api outbox --retry ID`). The work-queue index
//! covers only what is still to be tried. Delivered emails lose their token
//! (`payload.data.token`), as the worker now clears it on delivery; `down`
//! cannot bring those tokens back, nor need it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutboxMessages {
    Table,
    NextAttemptAt,
    ProcessedAt,
    FailedAt,
}

const QUEUE_INDEX: &str = "idx_outbox_messages_next_attempt_at";

/// The work queue's index, over the messages still to be tried: undelivered,
/// and (with `failed`) not failed for good.
fn queue_index(failed: bool) -> IndexCreateStatement {
    let mut index = index(
        QUEUE_INDEX,
        OutboxMessages::Table,
        [OutboxMessages::NextAttemptAt],
    );
    index.and_where(Expr::col(OutboxMessages::ProcessedAt).is_null());
    if failed {
        index.and_where(Expr::col(OutboxMessages::FailedAt).is_null());
    }
    index
}

/// Clears the token of every delivered email, as delivery now does.
fn clear_delivered_tokens(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => {
            "UPDATE outbox_messages SET payload = payload #- '{data,token}' \
             WHERE processed_at IS NOT NULL AND payload -> 'data' ? 'token'"
        }
        _ => {
            "UPDATE outbox_messages SET payload = json_remove(payload, '$.data.token') \
             WHERE processed_at IS NOT NULL \
             AND json_type(payload, '$.data.token') IS NOT NULL"
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxMessages::Table)
                    .add_column(timestamptz_null(OutboxMessages::FailedAt))
                    .take(),
            )
            .await?;
        manager
            .drop_index(Index::drop().name(QUEUE_INDEX).to_owned())
            .await?;
        manager.create_index(queue_index(true)).await?;
        manager
            .get_connection()
            .execute_unprepared(clear_delivered_tokens(manager.get_database_backend()))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(QUEUE_INDEX).to_owned())
            .await?;
        manager.create_index(queue_index(false)).await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxMessages::Table)
                    .drop_column(OutboxMessages::FailedAt)
                    .take(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
