//! Subscriptions: one per organization, read with its plan's key; written
//! together with `organizations.plan`, the copy of the key every cap check
//! joins on, so the two never disagree.

use chrono::{DateTime, Utc};
use domain::plans::PlanKey;
use domain::subscriptions::{
    SUBSCRIPTION_NOT_FOUND, Subscription, SubscriptionStatus, unknown_plan,
};
use domain::{DomainError, OrganizationId, PlanId, SubscriptionId};
use sea_orm::sea_query::{Expr, ExprTrait, LockType, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, JoinType, QueryFilter, QuerySelect,
    QueryTrait, RelationDef,
};

use super::corrupt;
use crate::db_error::to_domain;
use crate::entities::positional::one_pair;
use crate::entities::subscriptions::{self, Column, Entity};
use crate::entities::{organizations, plans};

/// Subscriptions over a connection or transaction.
#[derive(Debug)]
pub struct SubscriptionRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

/// `subscriptions.plan_id = plans.id`.
fn to_plan() -> RelationDef {
    Entity::belongs_to(plans::Entity)
        .from(Column::PlanId)
        .to(plans::Column::Id)
        .into()
}

fn to_domain_subscription(m: subscriptions::Model, key: &str) -> Result<Subscription, DomainError> {
    Ok(Subscription {
        id: SubscriptionId::from(m.id),
        organization_id: OrganizationId::from(m.organization_id),
        plan_id: PlanId::from(m.plan_id),
        plan: PlanKey::parse(key).map_err(corrupt("plan key"))?,
        status: m
            .status
            .parse::<SubscriptionStatus>()
            .map_err(corrupt("subscription status"))?,
        current_period_start: m.current_period_start,
        current_period_end: m.current_period_end,
        cancel_at_period_end: m.cancel_at_period_end,
        provider: m.provider,
        provider_customer_id: m.provider_customer_id,
        provider_subscription_id: m.provider_subscription_id,
        last_event_at: m.last_event_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

impl<'c, C: ConnectionTrait> SubscriptionRepository<'c, C> {
    /// A repository over `conn` for which "now" is `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Opens an `active` subscription of organization `organization` to the
    /// plan with key `plan`, in one statement. `Validation` (`UNKNOWN_PLAN`
    /// against `plan`) when no plan has the key.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn open(
        &self,
        organization: OrganizationId,
        plan: &PlanKey,
    ) -> Result<(), DomainError> {
        let select = Query::select()
            .expr(Expr::val(SubscriptionId::new().as_uuid()))
            .expr(Expr::val(organization.as_uuid()))
            .column(plans::Column::Id)
            .expr(Expr::val(SubscriptionStatus::Active.as_str()))
            .expr(Expr::val(self.now))
            .expr(Expr::val(self.now))
            .from(plans::Entity)
            .and_where(Expr::col(plans::Column::Key).eq(plan.as_str()))
            .to_owned();
        let insert = Query::insert()
            .into_table(Entity)
            .columns([
                Column::Id,
                Column::OrganizationId,
                Column::PlanId,
                Column::Status,
                Column::CreatedAt,
                Column::UpdatedAt,
            ])
            .select_from(select)
            .map_err(|e| DomainError::Internal(e.to_string()))?
            .to_owned();
        let result = self.conn.execute(&insert).await.map_err(to_domain)?;
        if result.rows_affected() == 0 {
            return Err(unknown_plan("plan", plan));
        }
        Ok(())
    }

    /// The subscription of organization `organization` (deleted or not).
    /// `NotFound` (`SUBSCRIPTION_NOT_FOUND`) when it has none.
    pub async fn find_for(
        &self,
        organization: OrganizationId,
    ) -> Result<Subscription, DomainError> {
        self.find_where(Column::OrganizationId.eq(organization.as_uuid()), false)
            .await
    }

    /// As [`Self::find_for`], and locks the subscription's row until the
    /// transaction ends (PostgreSQL; SQLite's `BEGIN IMMEDIATE` already
    /// serialises writers).
    pub async fn find_for_update(
        &self,
        organization: OrganizationId,
    ) -> Result<Subscription, DomainError> {
        self.find_where(Column::OrganizationId.eq(organization.as_uuid()), true)
            .await
    }

    /// The subscription the billing provider calls `provider_subscription_id`,
    /// locked as [`Self::find_for_update`]. `NotFound` when none.
    pub async fn find_by_provider_subscription_for_update(
        &self,
        provider_subscription_id: &str,
    ) -> Result<Subscription, DomainError> {
        self.find_where(
            Column::ProviderSubscriptionId.eq(provider_subscription_id),
            true,
        )
        .await
    }

    /// The subscription of the billing provider's customer `customer`, locked
    /// as [`Self::find_for_update`]. `NotFound` when none.
    pub async fn find_by_provider_customer_for_update(
        &self,
        customer: &str,
    ) -> Result<Subscription, DomainError> {
        self.find_where(Column::ProviderCustomerId.eq(customer), true)
            .await
    }

    async fn find_where(
        &self,
        condition: sea_orm::sea_query::SimpleExpr,
        lock: bool,
    ) -> Result<Subscription, DomainError> {
        let mut query = Entity::find()
            .join(JoinType::InnerJoin, to_plan())
            .filter(condition)
            .select_also(plans::Entity);
        if lock && self.conn.get_database_backend() == DbBackend::Postgres {
            QueryTrait::query(&mut query).lock_with_tables(LockType::Update, [Entity]);
        }
        match one_pair(self.conn, query).await.map_err(to_domain)? {
            Some((sub, Some(plan))) => to_domain_subscription(sub, &plan.key),
            _ => Err(SUBSCRIPTION_NOT_FOUND),
        }
    }

    /// Writes `sub` (as changed from the row it was read from) with
    /// `updated_at` at "now", and its plan's key into `organizations.plan` in
    /// the same transaction (call it in a unit of work). `NotFound` when the
    /// subscription is gone; `Conflict` when another subscription has its
    /// provider subscription ID.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn save(&self, sub: &Subscription) -> Result<Subscription, DomainError> {
        let result = Entity::update_many()
            .col_expr(Column::PlanId, Expr::value(sub.plan_id.as_uuid()))
            .col_expr(Column::Status, Expr::value(sub.status.as_str()))
            .col_expr(
                Column::CurrentPeriodStart,
                Expr::value(sub.current_period_start),
            )
            .col_expr(
                Column::CurrentPeriodEnd,
                Expr::value(sub.current_period_end),
            )
            .col_expr(
                Column::CancelAtPeriodEnd,
                Expr::value(sub.cancel_at_period_end),
            )
            .col_expr(Column::Provider, Expr::value(sub.provider.clone()))
            .col_expr(
                Column::ProviderCustomerId,
                Expr::value(sub.provider_customer_id.clone()),
            )
            .col_expr(
                Column::ProviderSubscriptionId,
                Expr::value(sub.provider_subscription_id.clone()),
            )
            .col_expr(Column::LastEventAt, Expr::value(sub.last_event_at))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(sub.id.as_uuid()))
            .exec_with_returning(self.conn)
            .await
            .map_err(to_domain)?;
        let row = result.into_iter().next().ok_or(SUBSCRIPTION_NOT_FOUND)?;
        organizations::Entity::update_many()
            .col_expr(organizations::Column::Plan, Expr::value(sub.plan.as_str()))
            .filter(organizations::Column::Id.eq(sub.organization_id.as_uuid()))
            .filter(organizations::Column::Plan.ne(sub.plan.as_str()))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        to_domain_subscription(row, sub.plan.as_str())
    }
}
