//! Usage records and their monthly counters.
//!
//! A record is inserted with `ON CONFLICT (organization_id, idempotency_key)
//! DO NOTHING`: the unique index decides which of several concurrent reports
//! with one key is stored, and the others read that one back. No statement
//! fails on a duplicate, so a PostgreSQL transaction is never aborted by one.
//! Each stored record adds its quantity to its (organization, metric, UTC
//! month) counter in the same transaction, with an upsert.

use chrono::{DateTime, NaiveDate, Utc};
use domain::usage::{
    GroupBy, Metric, NewUsageRecord, SummaryRequest, UsageBucket, UsageRecord, month_start,
};
use domain::{DomainError, OrganizationId, UsageRecordId};
use sea_orm::sea_query::{Expr, OnConflict, Query, Value};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    Set, Statement, TryInsertResult,
};

use super::corrupt;
use crate::db_error::to_domain;
use crate::entities::usage_counters as counters;
use crate::entities::usage_records::{self, Column, Entity};

/// What storing a record did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// Stored now.
    Created(UsageRecord),
    /// Its key was taken: the record stored under it first (possibly with
    /// another body; the caller compares).
    Duplicate(UsageRecord),
}

/// The counter row of `metric` in `organization` for the UTC month of `at`
/// (at most one: the counters' unique index).
fn month_counter(organization: OrganizationId, metric: &Metric, at: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(counters::Column::OrganizationId.eq(organization.as_uuid()))
        .add(counters::Column::Metric.eq(metric.as_str()))
        .add(counters::Column::PeriodStart.eq(month_start(at)))
}

/// [`UsageRepository::month_total`] as a scalar subquery (NULL when nothing
/// was recorded), for a statement that runs anyway: the claim's lock of its
/// organization.
pub(crate) fn month_total_expr(
    organization: OrganizationId,
    metric: &Metric,
    at: DateTime<Utc>,
) -> Expr {
    Expr::SubQuery(
        None,
        Box::new(
            Query::select()
                .column(counters::Column::Quantity)
                .from(counters::Entity)
                .cond_where(month_counter(organization, metric, at))
                .to_owned()
                .into(),
        ),
    )
}

/// Usage records over a connection or transaction.
#[derive(Debug)]
pub struct UsageRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

fn to_domain_record(m: usage_records::Model) -> Result<UsageRecord, DomainError> {
    Ok(UsageRecord {
        id: UsageRecordId::from(m.id),
        organization_id: OrganizationId::from(m.organization_id),
        metric: Metric::parse(&m.metric).map_err(corrupt("usage metric"))?,
        quantity: m.quantity,
        occurred_at: m.occurred_at,
        idempotency_key: m.idempotency_key,
        created_at: m.created_at,
    })
}

/// One bucket as the summary query returns it.
#[derive(Debug, FromQueryResult)]
struct BucketRow {
    bucket: String,
    sum: i64,
    count: i64,
    max: i64,
}

/// The summary: the bucket is the UTC date (`YYYY-MM-DD`) or month
/// (`YYYY-MM`) as text, the same on both engines. SQLite stores timestamps as
/// RFC 3339 text in UTC, so its prefix is the date.
fn summary_statement(
    backend: DbBackend,
    organization: OrganizationId,
    request: &SummaryRequest,
) -> Statement {
    let (bucket, p) = match (backend, request.group_by) {
        (DbBackend::Postgres, GroupBy::Day) => (
            "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
            ["$1", "$2", "$3", "$4"],
        ),
        (DbBackend::Postgres, GroupBy::Month) => (
            "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM')",
            ["$1", "$2", "$3", "$4"],
        ),
        (_, GroupBy::Day) => ("substr(occurred_at, 1, 10)", ["?", "?", "?", "?"]),
        (_, GroupBy::Month) => ("substr(occurred_at, 1, 7)", ["?", "?", "?", "?"]),
    };
    let sql = format!(
        "SELECT {bucket} AS bucket, CAST(SUM(quantity) AS BIGINT) AS sum, \
         CAST(COUNT(*) AS BIGINT) AS count, MAX(quantity) AS max \
         FROM usage_records \
         WHERE organization_id = {} AND metric = {} AND occurred_at >= {} AND occurred_at < {} \
         GROUP BY 1 ORDER BY 1",
        p[0], p[1], p[2], p[3]
    );
    Statement::from_sql_and_values(
        backend,
        sql,
        [
            Value::from(organization.as_uuid()),
            Value::from(request.metric.as_str().to_owned()),
            Value::from(request.from),
            Value::from(request.to),
        ],
    )
}

fn bucket_start(bucket: &str) -> Result<DateTime<Utc>, DomainError> {
    let date = if bucket.len() == 7 {
        format!("{bucket}-01")
    } else {
        bucket.to_owned()
    };
    NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| DomainError::Internal(format!("unreadable usage bucket {bucket:?}")))
}

impl<'c, C: ConnectionTrait> UsageRepository<'c, C> {
    /// A repository over `conn` for which "now" is `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Stores `record` unless its key is taken in `organization`, and then
    /// adds it to its month's counter; call it inside a unit of work, so the
    /// record and the counter commit together. Returns the stored record, or
    /// the one that holds the key (on PostgreSQL after the transaction that
    /// wrote it has committed).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record(
        &self,
        organization: OrganizationId,
        record: &NewUsageRecord,
    ) -> Result<Recorded, DomainError> {
        let id = UsageRecordId::new();
        let row = usage_records::ActiveModel {
            id: Set(id.as_uuid()),
            organization_id: Set(organization.as_uuid()),
            metric: Set(record.metric.as_str().to_owned()),
            quantity: Set(record.quantity),
            occurred_at: Set(record.occurred_at),
            idempotency_key: Set(record.idempotency_key.clone()),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        };
        // Without `RETURNING`: SeaORM reads an empty `RETURNING` as an error,
        // not as the duplicate it is.
        let inserted = Entity::insert(row)
            .on_conflict(
                OnConflict::columns([Column::OrganizationId, Column::IdempotencyKey])
                    .do_nothing()
                    .to_owned(),
            )
            .try_insert()
            .exec_without_returning(self.conn)
            .await
            .map_err(to_domain)?;
        if matches!(inserted, TryInsertResult::Inserted(rows) if rows > 0) {
            self.add_to_counter(organization, record).await?;
            let stored = Entity::find_by_id(id.as_uuid())
                .one(self.conn)
                .await
                .map_err(to_domain)?
                .ok_or_else(|| {
                    DomainError::Internal("an inserted usage record is missing".into())
                })?;
            return to_domain_record(stored).map(Recorded::Created);
        }
        let first = Entity::find()
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::IdempotencyKey.eq(record.idempotency_key.as_str()))
            .one(self.conn)
            .await
            .map_err(to_domain)?
            .ok_or_else(|| {
                DomainError::Internal("a usage record's key conflicted with no row".into())
            })?;
        to_domain_record(first).map(Recorded::Duplicate)
    }

    /// `quantity += record.quantity` on the record's (organization, metric,
    /// month) counter, created at zero when absent. On PostgreSQL the row stays
    /// locked until the transaction ends, so concurrent reports add in turn.
    async fn add_to_counter(
        &self,
        organization: OrganizationId,
        record: &NewUsageRecord,
    ) -> Result<(), DomainError> {
        let row = counters::ActiveModel {
            id: Set(UsageRecordId::new().as_uuid()),
            organization_id: Set(organization.as_uuid()),
            metric: Set(record.metric.as_str().to_owned()),
            period_start: Set(month_start(record.occurred_at)),
            quantity: Set(record.quantity),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        };
        counters::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    counters::Column::OrganizationId,
                    counters::Column::Metric,
                    counters::Column::PeriodStart,
                ])
                .value(
                    counters::Column::Quantity,
                    Expr::cust(r#""usage_counters"."quantity" + "excluded"."quantity""#),
                )
                .value(
                    counters::Column::UpdatedAt,
                    Expr::cust(r#""excluded"."updated_at""#),
                )
                .to_owned(),
            )
            .exec_without_returning(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(())
    }

    /// The total of `metric` in `organization` over the UTC month of `at`: one
    /// row read by the counters' unique index; 0 when nothing was recorded.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn month_total(
        &self,
        organization: OrganizationId,
        metric: &Metric,
        at: DateTime<Utc>,
    ) -> Result<i64, DomainError> {
        let row = counters::Entity::find()
            .filter(month_counter(organization, metric, at))
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(row.map_or(0, |r| r.quantity))
    }

    /// The non-empty buckets of `request`, oldest first.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn summary(
        &self,
        organization: OrganizationId,
        request: &SummaryRequest,
    ) -> Result<Vec<UsageBucket>, DomainError> {
        let stmt = summary_statement(self.conn.get_database_backend(), organization, request);
        let rows = self.conn.query_all_raw(stmt).await.map_err(to_domain)?;
        rows.iter()
            .map(|row| {
                let b = BucketRow::from_query_result(row, "").map_err(to_domain)?;
                Ok(UsageBucket {
                    start: bucket_start(&b.bucket)?,
                    sum: b.sum,
                    count: b.count,
                    max: b.max,
                })
            })
            .collect()
    }
}
