//! Operational metrics: the gauges a scrape reads from the database, the
//! periodic snapshot into `system_metrics` (with its retention), and the
//! snapshots' list for platform admins.

use chrono::{DateTime, TimeDelta, Utc};
use domain::admin::PlatformAdmin;
use domain::metrics::{
    MetricSample, SystemMetric, SystemMetricFilter, SystemMetricSort, WorkGauges,
};
use domain::{DomainError, Page, PageRequest};
use infra::Database;
use infra::repositories::SystemMetricRepository;

/// The work queues at `now`: due jobs and the lag of the oldest, the outbox
/// backlog by kind and state.
pub async fn work_gauges(db: &Database, now: DateTime<Utc>) -> Result<WorkGauges, DomainError> {
    SystemMetricRepository::at(db.conn(), now)
        .work_gauges()
        .await
}

/// What one snapshot did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotOutcome {
    /// Samples written.
    pub recorded: usize,
    /// Older rows deleted (past the retention).
    pub purged: u64,
}

/// Stores `samples` as taken at `now` and deletes the snapshots older than
/// `retention`, in one transaction: a failed snapshot leaves no half of itself.
pub async fn record_snapshot(
    db: &Database,
    now: DateTime<Utc>,
    samples: &[MetricSample],
    retention: TimeDelta,
) -> Result<SnapshotOutcome, DomainError> {
    let uow = db.begin().await?;
    let repo = SystemMetricRepository::at(uow.conn(), now);
    let recorded = repo.record(samples).await?;
    let purged = repo.purge_before(now - retention).await?;
    uow.commit().await?;
    Ok(SnapshotOutcome { recorded, purged })
}

/// One page of the snapshots matching `filter`.
pub async fn list(
    db: &Database,
    _admin: PlatformAdmin,
    now: DateTime<Utc>,
    filter: &SystemMetricFilter,
    request: &PageRequest<SystemMetricSort>,
) -> Result<Page<SystemMetric>, DomainError> {
    SystemMetricRepository::at(db.conn(), now)
        .list(filter, request)
        .await
}
