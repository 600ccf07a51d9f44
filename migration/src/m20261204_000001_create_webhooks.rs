//! `webhooks`: an organization's subscriptions to its events, with the signing
//! secret encrypted at rest (`v1:<keyId>:<base64>`, as endpoint secrets), the
//! previous secret while a rotation's overlap lasts, and what the server needs
//! to disable a dead receiver (`failing_since`, `disabled_reason`). Deleted for
//! good (no restore in the contract): the delivery log goes with it.

use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    OrganizationId,
    Url,
    Events,
    Description,
    Enabled,
    SecretCiphertext,
    PreviousSecretCiphertext,
    PreviousSecretExpiresAt,
    FailingSince,
    DisabledReason,
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
            .table(Webhooks::Table)
            .col(id_column())
            .col(uuid(Webhooks::OrganizationId))
            .col(text(Webhooks::Url))
            // A JSON array of event filters (jsonb on PostgreSQL).
            .col(ColumnDef::new(Webhooks::Events).json_binary().not_null())
            .col(text_null(Webhooks::Description))
            .col(boolean_default(Webhooks::Enabled, true))
            .col(text(Webhooks::SecretCiphertext))
            .col(text_null(Webhooks::PreviousSecretCiphertext))
            .col(timestamptz_null(Webhooks::PreviousSecretExpiresAt))
            .col(timestamptz_null(Webhooks::FailingSince))
            .col(text_null(Webhooks::DisabledReason));
        timestamps(&mut table)
            .foreign_key(&mut fk_cascade(
                "fk_webhooks_organizations",
                Webhooks::Table,
                Webhooks::OrganizationId,
                Organizations::Table,
            ))
            .check(check_one_of(
                "chk_webhooks_disabled_reason",
                Webhooks::DisabledReason,
                &["gone", "failing"],
            ));

        create_table(
            manager,
            table,
            vec![
                // The list, and every audited action's look for matching
                // webhooks (and the foreign key's index).
                index(
                    "idx_webhooks_organization_id_created_at",
                    Webhooks::Table,
                    [Alias::new("organization_id"), Alias::new("created_at")],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, Webhooks::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
