//! `endpoints`: the external services an organization's jobs call, with their
//! auth secret encrypted at rest (`secret_ciphertext`, `v1:<keyId>:<base64>`)
//! and the last characters shown as its hint. Deleted for good (no restore in
//! the contract); jobs that name one will lose the reference (`SET NULL`, in
//! their own migration). Names need not be unique: two endpoints may share one.

use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Endpoints {
    Table,
    OrganizationId,
    Name,
    Url,
    Method,
    Headers,
    SecretCiphertext,
    SecretHint,
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
            .table(Endpoints::Table)
            .col(id_column())
            .col(uuid(Endpoints::OrganizationId))
            .col(text(Endpoints::Name))
            .col(text(Endpoints::Url))
            .col(text(Endpoints::Method))
            // Stored like `audit_logs.changes` (jsonb on PostgreSQL).
            .col(ColumnDef::new(Endpoints::Headers).json_binary().not_null())
            .col(text_null(Endpoints::SecretCiphertext))
            .col(text_null(Endpoints::SecretHint));
        timestamps(&mut table)
            .foreign_key(&mut fk_cascade(
                "fk_endpoints_organizations",
                Endpoints::Table,
                Endpoints::OrganizationId,
                Organizations::Table,
            ))
            .check(check_one_of(
                "chk_endpoints_method",
                Endpoints::Method,
                &["GET", "POST", "PUT", "PATCH", "DELETE"],
            ));

        create_table(
            manager,
            table,
            vec![
                // The list, by its two orders (and the foreign key's index).
                index(
                    "idx_endpoints_organization_id_created_at",
                    Endpoints::Table,
                    [Alias::new("organization_id"), Alias::new("created_at")],
                ),
                index(
                    "idx_endpoints_organization_id_name",
                    Endpoints::Table,
                    [Alias::new("organization_id"), Alias::new("name")],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, Endpoints::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
