use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Name,
    Slug,
    Plan,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Organizations::Table)
            .col(id_column())
            .col(text(Organizations::Name))
            .col(text(Organizations::Slug))
            .col(text(Organizations::Plan).default("free"));
        timestamps_soft_delete(&mut table).check(check_one_of(
            "chk_organizations_plan",
            Organizations::Plan,
            &["free", "pro", "enterprise"],
        ));

        create_table(
            manager,
            table,
            vec![
                unique_index_live(
                    "idx_organizations_slug",
                    Organizations::Table,
                    [Organizations::Slug],
                ),
                index(
                    "idx_organizations_created_at",
                    Organizations::Table,
                    [Common::CreatedAt],
                ),
                deleted_at_index("idx_organizations_deleted_at", Organizations::Table),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, Organizations::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
