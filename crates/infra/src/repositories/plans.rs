//! Plans: platform-wide, found by key, listed, changed, deleted for good; and
//! the caps of an organization's plan, read in the statement that locks it.

use chrono::{DateTime, Utc};
use domain::plans::{Currency, PLAN_NOT_FOUND, Plan, PlanDraft, PlanKey, PlanLimits, PlanSort};
use domain::{DomainError, Page, PageRequest, PlanId};
use sea_orm::sea_query::{Expr, Value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, Set,
};

use super::corrupt;
use super::listing::{self, KeyKind, Listing, SortValue};
use crate::db_error::to_domain;
use crate::entities::organizations;
use crate::entities::plans::{self, Column, Entity};

/// Plans over a connection or transaction.
#[derive(Debug)]
pub struct PlanRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

/// A stored count (BIGINT, never negative by the application's rules).
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A count to store: the requests' counts are `i64`, so they fit.
fn stored(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The caps of a stored plan.
pub(crate) fn limits_of(m: &plans::Model) -> PlanLimits {
    PlanLimits {
        max_members: count(m.max_members),
        max_api_keys: count(m.max_api_keys),
        max_jobs: count(m.max_jobs),
        max_concurrent_tasks: count(m.max_concurrent_tasks),
        monthly_token_quota: count(m.monthly_token_quota),
    }
}

pub(crate) fn to_domain_plan(m: plans::Model) -> Result<Plan, DomainError> {
    Ok(Plan {
        id: PlanId::from(m.id),
        key: PlanKey::parse(&m.key).map_err(corrupt("plan key"))?,
        limits: limits_of(&m),
        price_cents: count(m.price_cents),
        currency: Currency::parse(&m.currency).map_err(corrupt("plan currency"))?,
        name: m.name,
        provider_price_id: m.provider_price_id,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

impl<'c, C: ConnectionTrait> PlanRepository<'c, C> {
    /// A repository over `conn` for which "now" is `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Stores a new plan. `Conflict` (`PLAN_KEY_TAKEN`, `PROVIDER_PRICE_TAKEN`)
    /// when another plan has the key or the provider price.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert(&self, draft: &PlanDraft) -> Result<Plan, DomainError> {
        let l = draft.limits;
        let row = plans::ActiveModel {
            id: Set(PlanId::new().as_uuid()),
            key: Set(draft.key.as_str().to_owned()),
            name: Set(draft.name.clone()),
            max_members: Set(stored(l.max_members)),
            max_api_keys: Set(stored(l.max_api_keys)),
            max_jobs: Set(stored(l.max_jobs)),
            max_concurrent_tasks: Set(stored(l.max_concurrent_tasks)),
            monthly_token_quota: Set(stored(l.monthly_token_quota)),
            price_cents: Set(stored(draft.price_cents)),
            currency: Set(draft.currency.as_str().to_owned()),
            provider_price_id: Set(draft.provider_price_id.clone()),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        }
        .insert(self.conn)
        .await
        .map_err(to_domain)?;
        to_domain_plan(row)
    }

    /// The plan with `key`. `NotFound` (`PLAN_NOT_FOUND`) when none.
    pub async fn find(&self, key: &PlanKey) -> Result<Plan, DomainError> {
        self.find_in(Column::Key.eq(key.as_str()), false).await
    }

    /// The plan mapped to the billing provider's price `price`. `NotFound`
    /// (`PLAN_NOT_FOUND`) when none.
    pub async fn find_by_provider_price(&self, price: &str) -> Result<Plan, DomainError> {
        self.find_in(Column::ProviderPriceId.eq(price), false).await
    }

    /// As [`Self::find`], and locks the row until the transaction ends
    /// (PostgreSQL: `FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` already serialises
    /// writers), so a change is computed from the state it replaces.
    pub async fn find_for_update(&self, key: &PlanKey) -> Result<Plan, DomainError> {
        self.find_in(Column::Key.eq(key.as_str()), true).await
    }

    async fn find_in(
        &self,
        condition: sea_orm::sea_query::SimpleExpr,
        lock: bool,
    ) -> Result<Plan, DomainError> {
        let mut query = Entity::find().filter(condition);
        if lock && self.conn.get_database_backend() == DbBackend::Postgres {
            query = query.lock_exclusive();
        }
        let row = query.one(self.conn).await.map_err(to_domain)?;
        row.map_or(Err(PLAN_NOT_FOUND), to_domain_plan)
    }

    /// One page of the plans; see [`PlanList`].
    pub async fn list(&self, request: &PageRequest<PlanSort>) -> Result<Page<Plan>, DomainError> {
        listing::page::<PlanList, _, _, _>(Entity::find(), request, |query| async move {
            query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_domain_plan)
                .collect()
        })
        .await
    }

    /// Writes `plan` (as changed from the row it was read from) with
    /// `updated_at` at "now"; returns it as stored. `NotFound` when it is gone;
    /// `Conflict` (`PROVIDER_PRICE_TAKEN`) when another plan has its provider
    /// price.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn save(&self, plan: &Plan) -> Result<Plan, DomainError> {
        let l = plan.limits;
        let result = Entity::update_many()
            .col_expr(Column::Name, Expr::value(plan.name.clone()))
            .col_expr(Column::MaxMembers, Expr::value(stored(l.max_members)))
            .col_expr(Column::MaxApiKeys, Expr::value(stored(l.max_api_keys)))
            .col_expr(Column::MaxJobs, Expr::value(stored(l.max_jobs)))
            .col_expr(
                Column::MaxConcurrentTasks,
                Expr::value(stored(l.max_concurrent_tasks)),
            )
            .col_expr(
                Column::MonthlyTokenQuota,
                Expr::value(stored(l.monthly_token_quota)),
            )
            .col_expr(Column::PriceCents, Expr::value(stored(plan.price_cents)))
            .col_expr(Column::Currency, Expr::value(plan.currency.as_str()))
            .col_expr(
                Column::ProviderPriceId,
                Expr::value(plan.provider_price_id.clone()),
            )
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(plan.id.as_uuid()))
            .exec_with_returning(self.conn)
            .await
            .map_err(to_domain)?;
        result
            .into_iter()
            .next()
            .map_or(Err(PLAN_NOT_FOUND), to_domain_plan)
    }

    /// Whether any organization, live or deleted (a deleted one can be
    /// restored onto its plan), is on plan `key`.
    pub async fn in_use(&self, key: &PlanKey) -> Result<bool, DomainError> {
        let n = organizations::Entity::find()
            .filter(organizations::Column::Plan.eq(key.as_str()))
            .count(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(n > 0)
    }

    /// Deletes plan `id` for good; `false` when it is gone.
    pub async fn delete(&self, id: PlanId) -> Result<bool, DomainError> {
        let result = Entity::delete_many()
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected > 0)
    }
}

/// The plans: sorted by `createdAt` or `key`; `searchQuery`
/// matches the key and the name.
pub struct PlanList;

impl Listing for PlanList {
    type Sort = PlanSort;
    type Row = Plan;

    fn column(sort: PlanSort) -> (Expr, KeyKind) {
        match sort {
            PlanSort::CreatedAt => (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp),
            PlanSort::Key => (Expr::col((Entity, Column::Key)), KeyKind::Text),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        PlanId::parse(raw).ok().map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![
            Expr::col((Entity, Column::Key)),
            Expr::col((Entity, Column::Name)),
        ]
    }

    fn position(row: &Plan, sort: PlanSort) -> (SortValue, String) {
        let value = match sort {
            PlanSort::CreatedAt => SortValue::At(row.created_at),
            PlanSort::Key => SortValue::Text(row.key.as_str().to_owned()),
        };
        (value, row.id.to_string())
    }
}
