//! `context_entries` and `context_entry_versions`: an organization's versioned
//! configuration documents (JSON values under keys), and every value each entry
//! has held. Every PUT writes a new version; a deleted key can be PUT again, and
//! its numbering goes on from the deleted entry's (so a stale `If-Match` never
//! matches the new entry).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ContextEntries {
    Table,
    OrganizationId,
    Key,
    Value,
    Version,
}

#[derive(DeriveIden)]
enum ContextEntryVersions {
    Table,
    EntryId,
    OrganizationId,
    Version,
    Value,
    CreatedBy,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut key = text(ContextEntries::Key);
        if manager.get_database_backend() == DbBackend::Postgres {
            // Byte order, as SQLite compares: keys are case-sensitive ASCII, and a
            // list sorted by key (and its cursor) reads the same on both engines.
            key.extra(r#"COLLATE "C""#);
        }
        let mut entries = Table::create();
        entries
            .table(ContextEntries::Table)
            .col(id_column())
            .col(uuid(ContextEntries::OrganizationId))
            .col(key)
            .col(
                ColumnDef::new(ContextEntries::Value)
                    .json_binary()
                    .not_null(),
            )
            .col(ColumnDef::new(ContextEntries::Version).integer().not_null())
            .check(Check::named(
                "chk_context_entries_version",
                Expr::col(ContextEntries::Version).gte(1),
            ));
        timestamps_soft_delete(&mut entries).foreign_key(&mut fk_cascade(
            "fk_context_entries_organizations",
            ContextEntries::Table,
            ContextEntries::OrganizationId,
            Organizations::Table,
        ));
        create_table(
            manager,
            entries,
            vec![
                // One live entry per key; also the order and range of `sortBy=key`
                // and `prefix`.
                unique_index_live(
                    "idx_context_entries_organization_id_key",
                    ContextEntries::Table,
                    [ContextEntries::OrganizationId, ContextEntries::Key],
                ),
                // Not partial: the cascade from organizations reaches deleted rows.
                index(
                    "idx_context_entries_organization_id_created_at",
                    ContextEntries::Table,
                    [Alias::new("organization_id"), Alias::new("created_at")],
                ),
                index(
                    "idx_context_entries_organization_id_updated_at",
                    ContextEntries::Table,
                    [Alias::new("organization_id"), Alias::new("updated_at")],
                ),
                // The deleted entries of a key: where a new entry's numbering goes on from.
                index(
                    "idx_context_entries_organization_id_key_version",
                    ContextEntries::Table,
                    [
                        ContextEntries::OrganizationId,
                        ContextEntries::Key,
                        ContextEntries::Version,
                    ],
                )
                .and_where(Expr::col(Alias::new("deleted_at")).is_not_null())
                .take(),
            ],
        )
        .await?;

        let mut versions = Table::create();
        versions
            .table(ContextEntryVersions::Table)
            .col(id_column())
            .col(uuid(ContextEntryVersions::EntryId))
            .col(uuid(ContextEntryVersions::OrganizationId))
            .col(
                ColumnDef::new(ContextEntryVersions::Version)
                    .integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(ContextEntryVersions::Value)
                    .json_binary()
                    .not_null(),
            )
            // `usr_...` or `key_...`: a key may write too, and the history outlives
            // both.
            .col(text(ContextEntryVersions::CreatedBy))
            .check(Check::named(
                "chk_context_entry_versions_version",
                Expr::col(ContextEntryVersions::Version).gte(1),
            ));
        timestamps(&mut versions).foreign_key(&mut fk_cascade(
            "fk_context_entry_versions_context_entries",
            ContextEntryVersions::Table,
            ContextEntryVersions::EntryId,
            ContextEntries::Table,
        ));
        create_table(
            manager,
            versions,
            vec![unique_index(
                "idx_context_entry_versions_entry_id_version",
                ContextEntryVersions::Table,
                [ContextEntryVersions::EntryId, ContextEntryVersions::Version],
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, ContextEntryVersions::Table).await?;
        drop_table(manager, ContextEntries::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
