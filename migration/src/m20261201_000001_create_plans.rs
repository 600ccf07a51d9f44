//! `plans`: each plan's caps and price, in the database rather than in
//! `config/` so platform admins can add and change plans (#18). Seeded with
//! `free`, `pro` and `enterprise` at the caps `config/default.toml` gave them
//! until now; the seeded rows have fixed IDs so every database agrees on them.
//! Deleted for good (only a plan no organization is on).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::prelude::Uuid;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Plans {
    Table,
    Id,
    Key,
    Name,
    MaxMembers,
    MaxApiKeys,
    MaxJobs,
    MaxConcurrentTasks,
    MonthlyTokenQuota,
    PriceCents,
    Currency,
    ProviderPriceId,
}

/// A seeded plan: id, key, name, members, keys, jobs, concurrent tasks,
/// monthly tokens, price in cents.
type Seed = (
    u128,
    &'static str,
    &'static str,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
);

/// The seeded plans: the defaults of `[plans.*]` before #18.
const SEEDED: [Seed; 3] = [
    (
        0x0193_7a40_0000_7000_8000_0000_0000_0001,
        "free",
        "Free",
        5,
        2,
        10,
        2,
        1_000_000,
        0,
    ),
    (
        0x0193_7a40_0000_7000_8000_0000_0000_0002,
        "pro",
        "Pro",
        100,
        25,
        1_000,
        50,
        100_000_000,
        4_900,
    ),
    (
        0x0193_7a40_0000_7000_8000_0000_0000_0003,
        "enterprise",
        "Enterprise",
        10_000,
        1_000,
        100_000,
        1_000,
        10_000_000_000,
        99_900,
    ),
];

fn bigint<C: IntoIden>(name: C) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Plans::Table)
            .col(id_column())
            .col(text(Plans::Key))
            .col(text(Plans::Name))
            .col(bigint(Plans::MaxMembers))
            .col(bigint(Plans::MaxApiKeys))
            .col(bigint(Plans::MaxJobs))
            .col(bigint(Plans::MaxConcurrentTasks))
            .col(bigint(Plans::MonthlyTokenQuota))
            .col(bigint(Plans::PriceCents).default(0))
            .col(text(Plans::Currency).default("usd"))
            .col(text_null(Plans::ProviderPriceId));
        timestamps(&mut table)
            // The owner is a member: a cap of 0 would forbid every organization.
            .check(Check::named(
                "chk_plans_max_members",
                Expr::col(Plans::MaxMembers).gte(1),
            ))
            .check(Check::named(
                "chk_plans_price_cents",
                Expr::col(Plans::PriceCents).gte(0),
            ));
        create_table(
            manager,
            table,
            vec![
                // The key names a plan in URLs and in subscriptions' requests.
                unique_index("idx_plans_key", Plans::Table, [Plans::Key]),
                // A billing provider's price maps to one plan (NULLs repeat).
                unique_index(
                    "idx_plans_provider_price_id",
                    Plans::Table,
                    [Plans::ProviderPriceId],
                ),
                index("idx_plans_created_at", Plans::Table, [Common::CreatedAt]),
            ],
        )
        .await?;
        let mut insert = Query::insert();
        insert.into_table(Plans::Table).columns([
            Plans::Id,
            Plans::Key,
            Plans::Name,
            Plans::MaxMembers,
            Plans::MaxApiKeys,
            Plans::MaxJobs,
            Plans::MaxConcurrentTasks,
            Plans::MonthlyTokenQuota,
            Plans::PriceCents,
        ]);
        for (id, key, name, members, keys, jobs, tasks, tokens, price) in SEEDED {
            insert.values_panic([
                Uuid::from_u128(id).into(),
                key.into(),
                name.into(),
                members.into(),
                keys.into(),
                jobs.into(),
                tasks.into(),
                tokens.into(),
                price.into(),
            ]);
        }
        manager.exec_stmt(insert).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, Plans::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
