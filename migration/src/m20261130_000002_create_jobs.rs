use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Jobs {
    Table,
    OrganizationId,
    CreatedBy,
    Name,
    Definition,
    Status,
    IntervalSeconds,
    Cron,
    Timezone,
    NextRunAt,
    ScheduledAt,
    MaxAttempts,
    Attempt,
    EndpointId,
    LeaseToken,
    LeaseOwner,
    LeaseExpiresAt,
    CurrentTaskId,
    LastRunAt,
    LastError,
    TokensUsed,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
}

#[derive(DeriveIden)]
enum Endpoints {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Jobs::Table)
            .col(id_column())
            .col(uuid(Jobs::OrganizationId))
            // `usr_...` or `key_...`: a job may outlive its creator's account or key.
            .col(text(Jobs::CreatedBy))
            .col(text(Jobs::Name))
            .col(text(Jobs::Definition))
            .col(text(Jobs::Status))
            .col(ColumnDef::new(Jobs::IntervalSeconds).big_integer().null())
            .col(text_null(Jobs::Cron))
            .col(text(Jobs::Timezone))
            // When the job may next be claimed (a retry's backoff included).
            .col(timestamptz_null(Jobs::NextRunAt))
            // The schedule's own time of the pending run: retries leave it alone,
            // so the next interval counts from it and does not drift.
            .col(timestamptz_null(Jobs::ScheduledAt))
            .col(ColumnDef::new(Jobs::MaxAttempts).integer().not_null())
            .col(
                ColumnDef::new(Jobs::Attempt)
                    .integer()
                    .not_null()
                    .default(0),
            )
            .col(ColumnDef::new(Jobs::EndpointId).uuid().null())
            // The fencing token of the live lease: only its holder may heartbeat
            // or complete.
            .col(ColumnDef::new(Jobs::LeaseToken).uuid().null())
            .col(text_null(Jobs::LeaseOwner))
            .col(timestamptz_null(Jobs::LeaseExpiresAt))
            .col(ColumnDef::new(Jobs::CurrentTaskId).uuid().null())
            .col(timestamptz_null(Jobs::LastRunAt))
            .col(text_null(Jobs::LastError))
            .col(
                ColumnDef::new(Jobs::TokensUsed)
                    .big_integer()
                    .not_null()
                    .default(0),
            );
        timestamps_soft_delete(&mut table)
            .foreign_key(&mut fk_cascade(
                "fk_jobs_organizations",
                Jobs::Table,
                Jobs::OrganizationId,
                Organizations::Table,
            ))
            // A deleted endpoint leaves its jobs without one (their runs then
            // fail saying so) rather than taking them along.
            .foreign_key(
                ForeignKey::create()
                    .name("fk_jobs_endpoints")
                    .from(Jobs::Table, Jobs::EndpointId)
                    .to(Endpoints::Table, Endpoints::Id)
                    .on_delete(ForeignKeyAction::SetNull)
                    .on_update(ForeignKeyAction::NoAction),
            )
            .check(check_one_of(
                "chk_jobs_status",
                Jobs::Status,
                &["active", "paused", "archived"],
            ))
            // A job repeats on an interval or on a cron expression, not both.
            .check(Check::named(
                "chk_jobs_interval_seconds",
                Expr::col(Jobs::IntervalSeconds)
                    .is_null()
                    .or(Expr::col(Jobs::Cron).is_null()),
            ));

        create_table(
            manager,
            table,
            vec![
                index(
                    "idx_jobs_organization_id_created_at",
                    Jobs::Table,
                    [Alias::new("organization_id"), Alias::new("created_at")],
                ),
                index(
                    "idx_jobs_organization_id_updated_at",
                    Jobs::Table,
                    [Alias::new("organization_id"), Alias::new("updated_at")],
                ),
                index(
                    "idx_jobs_organization_id_name",
                    Jobs::Table,
                    [Jobs::OrganizationId, Jobs::Name],
                ),
                // The list's `nextRunAt` order, and the claim's "oldest due first".
                index(
                    "idx_jobs_organization_id_next_run_at",
                    Jobs::Table,
                    [Jobs::OrganizationId, Jobs::NextRunAt],
                ),
                // Runs in progress per organization (the concurrency cap) and
                // the reaper's scan: only leased rows are indexed.
                index(
                    "idx_jobs_organization_id_lease_expires_at",
                    Jobs::Table,
                    [Jobs::OrganizationId, Jobs::LeaseExpiresAt],
                )
                .and_where(Expr::col(Jobs::LeaseToken).is_not_null())
                .take(),
                index(
                    "idx_jobs_lease_expires_at",
                    Jobs::Table,
                    [Jobs::LeaseExpiresAt],
                )
                .and_where(Expr::col(Jobs::LeaseToken).is_not_null())
                .take(),
                index("idx_jobs_endpoint_id", Jobs::Table, [Jobs::EndpointId]),
                deleted_at_index("idx_jobs_deleted_at", Jobs::Table),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, Jobs::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
