//! `feature_flags`: platform-wide switches, evaluated per organization
//! (`domain::feature_flags`). Not organization-scoped: the allow and deny lists
//! hold organization IDs as JSON (like `audit_logs.changes`), with no foreign
//! key, so deleting an organization leaves the lists as they are (a stale ID
//! matches nothing). Deleted for good.

use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FeatureFlags {
    Table,
    Key,
    Description,
    Enabled,
    RolloutPercent,
    AllowOrganizations,
    DenyOrganizations,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(FeatureFlags::Table)
            .col(id_column())
            .col(text(FeatureFlags::Key))
            .col(text_null(FeatureFlags::Description))
            .col(boolean_default(FeatureFlags::Enabled, false))
            .col(
                ColumnDef::new(FeatureFlags::RolloutPercent)
                    .integer()
                    .not_null()
                    .default(0),
            )
            .col(
                ColumnDef::new(FeatureFlags::AllowOrganizations)
                    .json_binary()
                    .not_null(),
            )
            .col(
                ColumnDef::new(FeatureFlags::DenyOrganizations)
                    .json_binary()
                    .not_null(),
            );
        timestamps(&mut table).check(Check::named(
            "chk_feature_flags_rollout_percent",
            Expr::col(FeatureFlags::RolloutPercent)
                .gte(0)
                .and(Expr::col(FeatureFlags::RolloutPercent).lte(100)),
        ));

        create_table(
            manager,
            table,
            vec![
                // The key names a flag in URLs (and orders the list).
                unique_index(
                    "idx_feature_flags_key",
                    FeatureFlags::Table,
                    [FeatureFlags::Key],
                ),
                index(
                    "idx_feature_flags_created_at",
                    FeatureFlags::Table,
                    [Alias::new("created_at")],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, FeatureFlags::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
