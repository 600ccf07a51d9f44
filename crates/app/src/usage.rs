//! Usage records: reported by the organization's metering clients (admins,
//! owners, any key) and by finished tasks (`tokens`), summed by day or month.
//! (A claim checks the monthly token quota on the counter it reads with its
//! organization's lock: `OrganizationRepository::lock_for_claim`.) Records are
//! not audited: they are high-volume facts, each one its own record already.

use chrono::{DateTime, Utc};
use domain::access::Operation;
use domain::usage::{
    IDEMPOTENCY_KEY_REUSED, NewUsageRecord, SummaryRequest, UsageBucket, UsageDraft, UsageRecord,
};
use domain::{DomainError, OrganizationId, TaskId};
use infra::Database;
use infra::repositories::{Recorded, UsageRepository};
use sea_orm::ConnectionTrait;

use crate::{Context, access};

/// What reporting a record did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reported {
    /// Stored now (201).
    Created(UsageRecord),
    /// The key was used before for this same record: the first one, nothing
    /// stored (200 `duplicate: true`).
    Duplicate(UsageRecord),
}

/// Stores a usage record once per idempotency key: the same key again answers
/// the first record; with another metric, quantity or timestamp, 409
/// `IDEMPOTENCY_KEY_REUSED` (nothing stored). 422 for a timestamp outside the
/// window.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn record(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    draft: UsageDraft,
) -> Result<Reported, DomainError> {
    let record = draft.at(ctx.now)?;
    let uow = db.begin().await?;
    access::permit(uow.conn(), ctx, organization, Operation::RecordUsage).await?;
    let outcome = UsageRepository::at(uow.conn(), ctx.now)
        .record(organization, &record)
        .await?;
    match outcome {
        Recorded::Created(stored) => {
            uow.commit().await?;
            Ok(Reported::Created(stored))
        }
        Recorded::Duplicate(first) if record.same_as(&first) => Ok(Reported::Duplicate(first)),
        Recorded::Duplicate(_) => Err(DomainError::state_conflict(
            IDEMPOTENCY_KEY_REUSED,
            "this idempotencyKey was used for a record with another metric, quantity or timestamp",
        )),
    }
}

/// The non-empty day or month buckets of one metric over `[from, to)` (any
/// member or key).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn summary(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    request: &SummaryRequest,
) -> Result<Vec<UsageBucket>, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ReadUsageSummary).await?;
    UsageRepository::at(db.conn(), ctx.now)
        .summary(organization, request)
        .await
}

/// Records a finished task's tokens (none when 0) on `conn`, the completion's
/// transaction, under a key derived from the task: a repeated completion
/// cannot count them twice.
pub(crate) async fn record_task_tokens<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    organization: OrganizationId,
    task: TaskId,
    tokens: i64,
) -> Result<(), DomainError> {
    if tokens <= 0 {
        return Ok(());
    }
    UsageRepository::at(conn, now)
        .record(organization, &NewUsageRecord::for_task(task, tokens, now))
        .await
        .map(drop)
}
