//! `usage_records` and `usage_counters`: what organizations consumed, one row
//! per report (idempotent by the client's key), and a running total per
//! (organization, metric, UTC month), kept in the same transaction as each
//! insert, so the monthly quota is one indexed row read, not a scan.

use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UsageRecords {
    Table,
    OrganizationId,
    Metric,
    Quantity,
    OccurredAt,
    IdempotencyKey,
}

#[derive(DeriveIden)]
enum UsageCounters {
    Table,
    OrganizationId,
    Metric,
    PeriodStart,
    Quantity,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut records = Table::create();
        records
            .table(UsageRecords::Table)
            .col(id_column())
            .col(uuid(UsageRecords::OrganizationId))
            .col(text(UsageRecords::Metric))
            .col(
                ColumnDef::new(UsageRecords::Quantity)
                    .big_integer()
                    .not_null(),
            )
            .col(timestamptz(UsageRecords::OccurredAt))
            .col(text(UsageRecords::IdempotencyKey))
            // A record adds something: zero would only be noise in `count`.
            .check(Check::named(
                "chk_usage_records_quantity",
                Expr::col(UsageRecords::Quantity).gt(0),
            ));
        timestamps(&mut records).foreign_key(&mut fk_cascade(
            "fk_usage_records_organizations",
            UsageRecords::Table,
            UsageRecords::OrganizationId,
            Organizations::Table,
        ));
        create_table(
            manager,
            records,
            vec![
                // One record per key: what `ON CONFLICT DO NOTHING` relies on.
                // Not partial: records are never deleted but with their
                // organization.
                unique_index(
                    "idx_usage_records_organization_id_idempotency_key",
                    UsageRecords::Table,
                    [UsageRecords::OrganizationId, UsageRecords::IdempotencyKey],
                ),
                // The summary's range.
                index(
                    "idx_usage_records_organization_id_metric_occurred_at",
                    UsageRecords::Table,
                    [
                        UsageRecords::OrganizationId,
                        UsageRecords::Metric,
                        UsageRecords::OccurredAt,
                    ],
                ),
            ],
        )
        .await?;

        let mut counters = Table::create();
        counters
            .table(UsageCounters::Table)
            .col(id_column())
            .col(uuid(UsageCounters::OrganizationId))
            .col(text(UsageCounters::Metric))
            .col(timestamptz(UsageCounters::PeriodStart))
            .col(
                ColumnDef::new(UsageCounters::Quantity)
                    .big_integer()
                    .not_null()
                    .default(0),
            )
            .check(Check::named(
                "chk_usage_counters_quantity",
                Expr::col(UsageCounters::Quantity).gte(0),
            ));
        timestamps(&mut counters).foreign_key(&mut fk_cascade(
            "fk_usage_counters_organizations",
            UsageCounters::Table,
            UsageCounters::OrganizationId,
            Organizations::Table,
        ));
        create_table(
            manager,
            counters,
            vec![
                // The upsert's conflict target and the quota's one-row read.
                unique_index(
                    "idx_usage_counters_organization_id_metric_period_start",
                    UsageCounters::Table,
                    [
                        UsageCounters::OrganizationId,
                        UsageCounters::Metric,
                        UsageCounters::PeriodStart,
                    ],
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, UsageCounters::Table).await?;
        drop_table(manager, UsageRecords::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
