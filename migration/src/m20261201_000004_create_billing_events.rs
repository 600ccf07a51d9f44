//! `billing_events`: every event the billing provider (Stripe) delivered,
//! once: unique (provider, event_id), so a redelivery changes nothing. Each
//! row says whether it was applied to a subscription, and why not.

use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BillingEvents {
    Table,
    Provider,
    EventId,
    EventType,
    OrganizationId,
    Applied,
    Outcome,
    EventCreatedAt,
    Payload,
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
            .table(BillingEvents::Table)
            .col(id_column())
            .col(text(BillingEvents::Provider))
            .col(text(BillingEvents::EventId))
            .col(text(BillingEvents::EventType))
            // Null until the event is matched to an organization (or never).
            .col(ColumnDef::new(BillingEvents::OrganizationId).uuid().null())
            .col(boolean_default(BillingEvents::Applied, false))
            .col(text_null(BillingEvents::Outcome))
            .col(timestamptz(BillingEvents::EventCreatedAt))
            .col(
                ColumnDef::new(BillingEvents::Payload)
                    .json_binary()
                    .not_null(),
            )
            .foreign_key(&mut fk_cascade(
                "fk_billing_events_organizations",
                BillingEvents::Table,
                BillingEvents::OrganizationId,
                Organizations::Table,
            ));
        timestamps(&mut table);
        create_table(
            manager,
            table,
            vec![
                unique_index(
                    "idx_billing_events_provider_event_id",
                    BillingEvents::Table,
                    [BillingEvents::Provider, BillingEvents::EventId],
                ),
                index(
                    "idx_billing_events_organization_id_created_at",
                    BillingEvents::Table,
                    [
                        BillingEvents::OrganizationId.into_iden(),
                        Common::CreatedAt.into_iden(),
                    ],
                ),
                index(
                    "idx_billing_events_created_at",
                    BillingEvents::Table,
                    [Common::CreatedAt],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, BillingEvents::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
