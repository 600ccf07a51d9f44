//! `sign_in_failures`: recent failed sign-ins per normalized email, so that the
//! per-email limit holds across server replicas (`domain::auth::SignInThrottle`).
//! Keyed by the email, not the user: an email without an account is limited
//! alike, so the answers reveal nothing.

use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SignInFailures {
    Table,
    Email,
    Failures,
    LastFailureAt,
    LockedUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(SignInFailures::Table)
            .col(text(SignInFailures::Email).primary_key())
            .col(
                ColumnDef::new(SignInFailures::Failures)
                    .integer()
                    .not_null()
                    .default(0),
            )
            .col(timestamptz(SignInFailures::LastFailureAt))
            .col(timestamptz_null(SignInFailures::LockedUntil))
            .check(Check::named(
                "chk_sign_in_failures_failures",
                Expr::col(SignInFailures::Failures).gte(0),
            ));
        timestamps(&mut table);
        create_table(manager, table, vec![]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, SignInFailures::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
