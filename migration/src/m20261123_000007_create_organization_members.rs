use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OrganizationMembers {
    Table,
    OrganizationId,
    UserId,
    Role,
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
            .table(OrganizationMembers::Table)
            .col(id_column())
            .col(uuid(OrganizationMembers::OrganizationId))
            .col(uuid(OrganizationMembers::UserId))
            .col(text(OrganizationMembers::Role));
        timestamps_soft_delete(&mut table)
            .foreign_key(&mut fk_cascade(
                "fk_organization_members_organizations",
                OrganizationMembers::Table,
                OrganizationMembers::OrganizationId,
                Organizations::Table,
            ))
            .foreign_key(&mut fk_cascade(
                "fk_organization_members_users",
                OrganizationMembers::Table,
                OrganizationMembers::UserId,
                Users::Table,
            ))
            .check(check_one_of(
                "chk_organization_members_role",
                OrganizationMembers::Role,
                &["owner", "admin", "member"],
            ));

        create_table(
            manager,
            table,
            vec![
                unique_index_live(
                    "idx_organization_members_organization_id_user_id",
                    OrganizationMembers::Table,
                    [
                        OrganizationMembers::OrganizationId,
                        OrganizationMembers::UserId,
                    ],
                ),
                // Not partial: cascades and purges reach deleted rows too; the
                // second column serves member lists ordered by creation time.
                index(
                    "idx_organization_members_organization_id_created_at",
                    OrganizationMembers::Table,
                    [Alias::new("organization_id"), Alias::new("created_at")],
                ),
                index(
                    "idx_organization_members_user_id",
                    OrganizationMembers::Table,
                    [OrganizationMembers::UserId],
                ),
                deleted_at_index(
                    "idx_organization_members_deleted_at",
                    OrganizationMembers::Table,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, OrganizationMembers::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
