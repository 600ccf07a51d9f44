//! `subscriptions`: one per organization, pointing at its plan (the plan's
//! caps are read through it, never copied, so changing a plan rewrites no
//! subscription). Backfilled from `organizations.plan`: every organization,
//! live or deleted, gets an `active` subscription whose ID is the
//! organization's own (unique, time-ordered, the same on every backend).

use sea_orm_migration::prelude::*;

use crate::common::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    OrganizationId,
    PlanId,
    Status,
    CurrentPeriodStart,
    CurrentPeriodEnd,
    CancelAtPeriodEnd,
    Provider,
    ProviderCustomerId,
    ProviderSubscriptionId,
    LastEventAt,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
}

#[derive(DeriveIden)]
enum Plans {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Subscriptions::Table)
            .col(id_column())
            .col(uuid(Subscriptions::OrganizationId))
            .col(uuid(Subscriptions::PlanId))
            .col(text(Subscriptions::Status).default("active"))
            .col(timestamptz_null(Subscriptions::CurrentPeriodStart))
            .col(timestamptz_null(Subscriptions::CurrentPeriodEnd))
            .col(boolean_default(Subscriptions::CancelAtPeriodEnd, false))
            .col(text_null(Subscriptions::Provider))
            .col(text_null(Subscriptions::ProviderCustomerId))
            .col(text_null(Subscriptions::ProviderSubscriptionId))
            // The `created` time of the last provider event applied: an older
            // event arriving late is recorded but changes nothing.
            .col(timestamptz_null(Subscriptions::LastEventAt))
            .foreign_key(&mut fk_cascade(
                "fk_subscriptions_organizations",
                Subscriptions::Table,
                Subscriptions::OrganizationId,
                Organizations::Table,
            ))
            // A plan someone is on cannot go: the database says so, whatever
            // the race.
            .foreign_key(
                ForeignKey::create()
                    .name("fk_subscriptions_plans")
                    .from(Subscriptions::Table, Subscriptions::PlanId)
                    .to(Plans::Table, Common::Id)
                    .on_delete(ForeignKeyAction::Restrict)
                    .on_update(ForeignKeyAction::NoAction),
            );
        timestamps(&mut table).check(check_one_of(
            "chk_subscriptions_status",
            Subscriptions::Status,
            &["trialing", "active", "past_due", "canceled"],
        ));
        create_table(
            manager,
            table,
            vec![
                unique_index(
                    "idx_subscriptions_organization_id",
                    Subscriptions::Table,
                    [Subscriptions::OrganizationId],
                ),
                index(
                    "idx_subscriptions_plan_id",
                    Subscriptions::Table,
                    [Subscriptions::PlanId],
                ),
                unique_index(
                    "idx_subscriptions_provider_subscription_id",
                    Subscriptions::Table,
                    [Subscriptions::ProviderSubscriptionId],
                ),
                index(
                    "idx_subscriptions_provider_customer_id",
                    Subscriptions::Table,
                    [Subscriptions::ProviderCustomerId],
                ),
            ],
        )
        .await?;
        // The same SQL on both backends.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO subscriptions (id, organization_id, plan_id, status, created_at, updated_at) \
                 SELECT o.id, o.id, p.id, 'active', o.created_at, o.created_at \
                 FROM organizations o JOIN plans p ON p.key = o.plan",
            )
            .await
            .map(drop)
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_table(manager, Subscriptions::Table).await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}
