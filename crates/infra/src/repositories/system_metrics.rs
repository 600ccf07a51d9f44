//! The metric snapshots (`system_metrics`), and the gauges a scrape reads
//! from the work queues (due jobs, the outbox's backlog).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::metrics::{
    BacklogState, MetricSample, OutboxBacklog, SystemMetric, SystemMetricFilter, SystemMetricSort,
    WorkGauges, due_lag_seconds,
};
use domain::{DomainError, Page, PageRequest};
use sea_orm::sea_query::{Expr, ExprTrait, Value};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, NotSet, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::listing::{self, KeyKind, Listing, SortValue};
use crate::db_error::to_domain;
use crate::entities::system_metrics::{self, Column, Entity};
use crate::entities::{jobs, outbox_messages};

/// Rows one insert statement carries at most (well inside both databases'
/// limits on bound parameters).
const INSERT_CHUNK: usize = 500;

/// Metric snapshots and work gauges over a connection or transaction.
#[derive(Debug)]
pub struct SystemMetricRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

impl<'c, C: ConnectionTrait> SystemMetricRepository<'c, C> {
    /// A repository over `conn`, reading and stamping with `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Stores `samples` as taken at `now`; how many rows were written.
    #[tracing::instrument(level = "debug", skip_all, fields(samples = samples.len()))]
    pub async fn record(&self, samples: &[MetricSample]) -> Result<usize, DomainError> {
        for chunk in samples.chunks(INSERT_CHUNK) {
            let rows = chunk.iter().map(|sample| system_metrics::ActiveModel {
                id: NotSet,
                name: Set(sample.name.clone()),
                labels: Set(serde_json::to_value(&sample.labels).unwrap_or_default()),
                value: Set(sample.value),
                recorded_at: Set(self.now),
                created_at: Set(self.now),
                updated_at: Set(self.now),
            });
            Entity::insert_many(rows)
                .exec_without_returning(self.conn)
                .await
                .map_err(to_domain)?;
        }
        Ok(samples.len())
    }

    /// Deletes the snapshots taken before `cutoff`; how many rows went.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<u64, DomainError> {
        let done = Entity::delete_many()
            .filter(Column::RecordedAt.lt(cutoff))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(done.rows_affected)
    }

    /// One page of snapshots matching `filter` (see [`SystemMetricList`]).
    /// `Validation` (`INVALID_CURSOR`) for a cursor of another order.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list(
        &self,
        filter: &SystemMetricFilter,
        request: &PageRequest<SystemMetricSort>,
    ) -> Result<Page<SystemMetric>, DomainError> {
        let mut query = Entity::find();
        if let Some(name) = &filter.name {
            query = query.filter(Column::Name.eq(name.as_ref()));
        }
        if let Some(from) = filter.from {
            query = query.filter(Column::RecordedAt.gte(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(Column::RecordedAt.lt(to));
        }
        listing::page::<SystemMetricList, _, _, _>(query, request, |query| async move {
            query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_domain_metric)
                .collect()
        })
        .await
    }

    /// The work queues at `now`: jobs a claim would hand out (the claim's own
    /// condition: active, due, no lease or an expired one with attempts left)
    /// and how long the oldest has waited, and the outbox rows still to
    /// deliver by kind and state. Each is one query over a partial index
    /// (`idx_jobs_next_run_at`, `idx_outbox_messages_next_attempt_at`).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn work_gauges(&self) -> Result<WorkGauges, DomainError> {
        let now = self.now;
        let due = Condition::all()
            .add(jobs::Column::Status.eq("active"))
            .add(jobs::Column::DeletedAt.is_null())
            .add(jobs::Column::NextRunAt.lte(now))
            .add(
                Condition::any()
                    .add(jobs::Column::LeaseToken.is_null())
                    .add(
                        Condition::all()
                            .add(jobs::Column::LeaseExpiresAt.lte(now))
                            .add(
                                Expr::col(jobs::Column::Attempt)
                                    .lt(Expr::col(jobs::Column::MaxAttempts)),
                            ),
                    ),
            );
        let jobs_due = jobs::Entity::find()
            .filter(due.clone())
            .count(self.conn)
            .await
            .map_err(to_domain)?;
        let oldest: Option<Option<DateTime<Utc>>> = jobs::Entity::find()
            .select_only()
            .column(jobs::Column::NextRunAt)
            .filter(due)
            .order_by_asc(jobs::Column::NextRunAt)
            .limit(1)
            .into_tuple()
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        let rows: Vec<(String, i64, i64)> = outbox_messages::Entity::find()
            .select_only()
            .column(outbox_messages::Column::Kind)
            .column_as(Expr::col(outbox_messages::Column::Id).count(), "total")
            .column_as(
                Expr::cust("SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END)"),
                "retrying",
            )
            .filter(outbox_messages::Column::ProcessedAt.is_null())
            .filter(outbox_messages::Column::FailedAt.is_null())
            .group_by(outbox_messages::Column::Kind)
            .into_tuple()
            .all(self.conn)
            .await
            .map_err(to_domain)?;
        let mut outbox_backlog = Vec::with_capacity(rows.len() * 2);
        for (kind, total, retrying) in rows {
            let retrying = u64::try_from(retrying).unwrap_or(0);
            let total = u64::try_from(total).unwrap_or(0);
            outbox_backlog.push(OutboxBacklog {
                kind: kind.clone(),
                state: BacklogState::Pending,
                count: total.saturating_sub(retrying),
            });
            outbox_backlog.push(OutboxBacklog {
                kind,
                state: BacklogState::Retrying,
                count: retrying,
            });
        }
        Ok(WorkGauges {
            jobs_due,
            oldest_due_lag_seconds: due_lag_seconds(oldest.flatten(), now),
            outbox_backlog,
        })
    }
}

fn to_domain_metric(m: system_metrics::Model) -> Result<SystemMetric, DomainError> {
    let labels: BTreeMap<String, String> =
        serde_json::from_value(m.labels).map_err(super::corrupt("labels"))?;
    Ok(SystemMetric {
        id: m.id,
        name: m.name,
        labels,
        value: m.value,
        recorded_at: m.recorded_at,
    })
}

/// The snapshots: sorted by `recordedAt` or `name`, then by the sequential id;
/// `searchQuery` matches the name.
pub struct SystemMetricList;

impl Listing for SystemMetricList {
    type Sort = SystemMetricSort;
    type Row = SystemMetric;

    fn column(sort: SystemMetricSort) -> (Expr, KeyKind) {
        match sort {
            SystemMetricSort::RecordedAt => {
                (Expr::col((Entity, Column::RecordedAt)), KeyKind::Timestamp)
            }
            SystemMetricSort::Name => (Expr::col((Entity, Column::Name)), KeyKind::Text),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        raw.parse::<i64>().ok().map(Value::from)
    }

    fn search_columns() -> Vec<Expr> {
        vec![Expr::col((Entity, Column::Name))]
    }

    fn position(row: &SystemMetric, sort: SystemMetricSort) -> (SortValue, String) {
        let value = match sort {
            SystemMetricSort::RecordedAt => SortValue::At(row.recorded_at),
            SystemMetricSort::Name => SortValue::Text(row.name.clone()),
        };
        (value, row.id.to_string())
    }
}
