use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    OrganizationId,
    CreatedBy,
    Name,
    Role,
    Prefix,
    SecretHash,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
}

#[derive(DeriveIden)]
enum Users {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(ApiKeys::Table)
            .col(id_column())
            .col(uuid(ApiKeys::OrganizationId))
            .col(uuid(ApiKeys::CreatedBy))
            .col(text(ApiKeys::Name))
            .col(text(ApiKeys::Role))
            .col(text(ApiKeys::Prefix))
            .col(text(ApiKeys::SecretHash))
            .col(timestamptz_null(ApiKeys::LastUsedAt))
            .col(timestamptz_null(ApiKeys::ExpiresAt))
            .col(timestamptz_null(ApiKeys::RevokedAt));
        // Keys are revoked, never soft-deleted: a revoked key stays revoked even when
        // its organization is restored.
        timestamps(&mut table)
            .foreign_key(&mut fk_cascade(
                "fk_api_keys_organizations",
                ApiKeys::Table,
                ApiKeys::OrganizationId,
                Organizations::Table,
            ))
            .foreign_key(&mut fk_cascade(
                "fk_api_keys_users",
                ApiKeys::Table,
                ApiKeys::CreatedBy,
                Users::Table,
            ))
            .check(check_one_of(
                "chk_api_keys_role",
                ApiKeys::Role,
                &["admin", "member"],
            ));

        create_table(
            manager,
            table,
            vec![
                // Authentication is one read by the key's public part.
                unique_index("idx_api_keys_prefix", ApiKeys::Table, [ApiKeys::Prefix]),
                index(
                    "idx_api_keys_organization_id_created_at",
                    ApiKeys::Table,
                    [Alias::new("organization_id"), Alias::new("created_at")],
                ),
                index(
                    "idx_api_keys_created_by",
                    ApiKeys::Table,
                    [ApiKeys::CreatedBy],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, ApiKeys::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
