//! `webhook_deliveries`: the delivery log, one row per attempt (and per
//! replay), with the body that was posted so a replay sends it again. Rows
//! older than `webhooks.log_retention_days` are purged by the server.

use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    WebhookId,
    OrganizationId,
    EventId,
    EventType,
    Attempt,
    Status,
    ResponseCode,
    LatencyMs,
    ResponseBody,
    ErrorClass,
    Error,
    Payload,
}

#[derive(DeriveIden)]
enum Webhooks {
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
            .table(WebhookDeliveries::Table)
            .col(id_column())
            .col(uuid(WebhookDeliveries::WebhookId))
            .col(uuid(WebhookDeliveries::OrganizationId))
            .col(uuid(WebhookDeliveries::EventId))
            .col(text(WebhookDeliveries::EventType))
            .col(
                ColumnDef::new(WebhookDeliveries::Attempt)
                    .integer()
                    .not_null(),
            )
            .col(text(WebhookDeliveries::Status))
            .col(
                ColumnDef::new(WebhookDeliveries::ResponseCode)
                    .integer()
                    .null(),
            )
            .col(
                ColumnDef::new(WebhookDeliveries::LatencyMs)
                    .big_integer()
                    .not_null(),
            )
            .col(text_null(WebhookDeliveries::ResponseBody))
            .col(text_null(WebhookDeliveries::ErrorClass))
            .col(text_null(WebhookDeliveries::Error))
            .col(
                ColumnDef::new(WebhookDeliveries::Payload)
                    .json_binary()
                    .not_null(),
            );
        timestamps(&mut table)
            .foreign_key(&mut fk_cascade(
                "fk_webhook_deliveries_webhooks",
                WebhookDeliveries::Table,
                WebhookDeliveries::WebhookId,
                Webhooks::Table,
            ))
            .foreign_key(&mut fk_cascade(
                "fk_webhook_deliveries_organizations",
                WebhookDeliveries::Table,
                WebhookDeliveries::OrganizationId,
                Organizations::Table,
            ))
            .check(check_one_of(
                "chk_webhook_deliveries_status",
                WebhookDeliveries::Status,
                &["succeeded", "failed"],
            ))
            .check(check_one_of(
                "chk_webhook_deliveries_error_class",
                WebhookDeliveries::ErrorClass,
                &[
                    "timeout",
                    "connect",
                    "tls",
                    "ssrf",
                    "http_status",
                    "redirect",
                ],
            ));

        create_table(
            manager,
            table,
            vec![
                // The log, newest first (and the webhook foreign key's index).
                index(
                    "idx_webhook_deliveries_webhook_id_created_at",
                    WebhookDeliveries::Table,
                    [Alias::new("webhook_id"), Alias::new("created_at")],
                ),
                // The log filtered by status.
                index(
                    "idx_webhook_deliveries_webhook_id_status_created_at",
                    WebhookDeliveries::Table,
                    [
                        Alias::new("webhook_id"),
                        Alias::new("status"),
                        Alias::new("created_at"),
                    ],
                ),
                index(
                    "idx_webhook_deliveries_organization_id",
                    WebhookDeliveries::Table,
                    [Alias::new("organization_id")],
                ),
                // An event's attempts so far: each logged attempt is numbered
                // after them (retries and replays alike).
                index(
                    "idx_webhook_deliveries_event_id",
                    WebhookDeliveries::Table,
                    [Alias::new("event_id")],
                ),
                // The retention purge.
                index(
                    "idx_webhook_deliveries_created_at",
                    WebhookDeliveries::Table,
                    [Alias::new("created_at")],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, WebhookDeliveries::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
