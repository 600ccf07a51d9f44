use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invitations {
    Table,
    OrganizationId,
    Email,
    Role,
    TokenHash,
    InvitedBy,
    ExpiresAt,
    AcceptedAt,
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
            .table(Invitations::Table)
            .col(id_column())
            .col(uuid(Invitations::OrganizationId))
            .col(text(Invitations::Email))
            .col(text(Invitations::Role))
            .col(text(Invitations::TokenHash))
            .col(uuid(Invitations::InvitedBy))
            .col(timestamptz(Invitations::ExpiresAt))
            .col(timestamptz_null(Invitations::AcceptedAt))
            .col(timestamptz_null(Invitations::RevokedAt));
        timestamps_soft_delete(&mut table)
            .foreign_key(&mut fk_cascade(
                "fk_invitations_organizations",
                Invitations::Table,
                Invitations::OrganizationId,
                Organizations::Table,
            ))
            .foreign_key(&mut fk_cascade(
                "fk_invitations_users",
                Invitations::Table,
                Invitations::InvitedBy,
                Users::Table,
            ))
            .check(check_one_of(
                "chk_invitations_role",
                Invitations::Role,
                &["owner", "admin", "member"],
            ));

        create_table(
            manager,
            table,
            vec![
                unique_index(
                    "idx_invitations_token_hash",
                    Invitations::Table,
                    [Invitations::TokenHash],
                ),
                index(
                    "idx_invitations_organization_id",
                    Invitations::Table,
                    [Invitations::OrganizationId],
                ),
                index(
                    "idx_invitations_invited_by",
                    Invitations::Table,
                    [Invitations::InvitedBy],
                ),
                index(
                    "idx_invitations_email",
                    Invitations::Table,
                    [Invitations::Email],
                ),
                deleted_at_index("idx_invitations_deleted_at", Invitations::Table),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, Invitations::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
