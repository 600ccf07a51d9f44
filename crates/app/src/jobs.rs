//! Jobs: create (within the plan's `max_jobs`), list, read, change, run now,
//! delete and restore. Running them is `runs`.

use domain::access::Operation;
use domain::jobs::{JOB_NOT_FOUND, Job, JobChanges, JobDraft, JobSort, JobStatus};
use domain::plans::{PlanLimits, ensure_room};
use domain::{
    Actor, AuditAction, AuditEntity, AuditEvent, Changes, DomainError, JobId, OrganizationId, Page,
    PageRequest,
};
use infra::Database;
use infra::repositories::{AuditLogRepository, JobRepository, OrganizationRepository};
use sea_orm::ConnectionTrait;

use crate::{Context, access};

/// Who made something, as a job records it: `usr_...`, `key_...` or `system`.
fn author(actor: &Actor) -> String {
    match actor {
        Actor::User(id) => id.to_string(),
        Actor::ApiKey(grant) => grant.id.to_string(),
        Actor::Anonymous | Actor::System => "system".to_owned(),
    }
}

/// 403 `PLAN_LIMIT_REACHED` unless one more job that counts fits the plan of
/// `organization` (the caller holds its lock).
async fn ensure_job_room<C: ConnectionTrait>(
    conn: &C,
    ctx: &Context,
    limits: &PlanLimits,
    access: &domain::OrganizationAccess,
) -> Result<(), DomainError> {
    let used = JobRepository::at(conn, ctx.now)
        .count_counted(access.organization.id)
        .await?;
    ensure_room(used, limits.max_jobs, "jobs", &access.organization.plan)
}

/// Creates a job (admin+). `PLAN_LIMIT_REACHED` when the plan's jobs are all
/// in use, checked under the organization's lock so concurrent creations
/// cannot overshoot; `ENDPOINT_NOT_FOUND` (422) for an endpoint that is not the
/// organization's.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    draft: JobDraft,
) -> Result<Job, DomainError> {
    let uow = db.begin().await?;
    let limits = OrganizationRepository::at(uow.conn(), ctx.now)
        .lock_with_limits(organization)
        .await?;
    let access = access::require(uow.conn(), ctx, organization, Operation::CreateJob).await?;
    if draft.status != JobStatus::Archived {
        ensure_job_room(uow.conn(), ctx, &limits, &access).await?;
    }
    crate::endpoints_ref::ensure_endpoint(uow.conn(), ctx.now, organization, draft.endpoint_id)
        .await?;
    let job = JobRepository::at(uow.conn(), ctx.now)
        .insert(
            organization,
            author(&ctx.actor),
            &draft,
            draft.first_run(ctx.now),
        )
        .await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::JobCreated, AuditEntity::Job, job.id)
                .in_organization(organization)
                .with_changes(
                    Changes::new()
                        .created("name", &job.name)
                        .created("status", job.status.as_str())
                        .created("nextRunAt", job.next_run_at),
                ),
        )
        .await?;
    uow.commit().await?;
    Ok(job)
}

/// One page of the organization's live jobs (any member).
pub async fn list(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    status: Option<JobStatus>,
    request: &PageRequest<JobSort>,
) -> Result<Page<Job>, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ListJobs).await?;
    JobRepository::at(db.conn(), ctx.now)
        .list(organization, status, request)
        .await
}

/// A live job of the organization (any member).
pub async fn get(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: JobId,
) -> Result<Job, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ReadJob).await?;
    JobRepository::at(db.conn(), ctx.now)
        .find_in(organization, id, false)
        .await
}

/// Changes a job (admin+). Leaving `archived` counts against `max_jobs` again.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: JobId,
    changes: JobChanges,
) -> Result<Job, DomainError> {
    let uow = db.begin().await?;
    let limits = OrganizationRepository::at(uow.conn(), ctx.now)
        .lock_with_limits(organization)
        .await?;
    let access = access::require(uow.conn(), ctx, organization, Operation::UpdateJob).await?;
    let jobs = JobRepository::at(uow.conn(), ctx.now);
    let before = jobs.find_in(organization, id, true).await?;
    let after = changes.apply(&before, ctx.now)?;
    if !before.counts_against_plan() && after.counts_against_plan() {
        ensure_job_room(uow.conn(), ctx, &limits, &access).await?;
    }
    if after.endpoint_id != before.endpoint_id {
        crate::endpoints_ref::ensure_endpoint(uow.conn(), ctx.now, organization, after.endpoint_id)
            .await?;
    }
    let job = jobs.update(&after).await?;
    let diff = job_changes(&before, &job);
    if !diff.is_empty() {
        AuditLogRepository::new(uow.conn())
            .record(
                ctx,
                AuditEvent::new(AuditAction::JobUpdated, AuditEntity::Job, id)
                    .in_organization(organization)
                    .with_changes(diff),
            )
            .await?;
    }
    uow.commit().await?;
    Ok(job)
}

/// What changed between two versions of a job, as the audit trail keeps it.
fn job_changes(before: &Job, after: &Job) -> Changes {
    let schedule = |j: &Job| format!("{:?}", j.schedule);
    Changes::new()
        .field("name", &before.name, &after.name)
        .field(
            "definition",
            before.definition.len(),
            after.definition.len(),
        )
        .field("status", before.status.as_str(), after.status.as_str())
        .field("schedule", schedule(before), schedule(after))
        .field("nextRunAt", before.next_run_at, after.next_run_at)
        .field("maxAttempts", before.max_attempts, after.max_attempts)
        .field(
            "endpointId",
            before.endpoint_id.map(|e| e.to_string()),
            after.endpoint_id.map(|e| e.to_string()),
        )
}

/// Makes an active job due now (admin+); 409 `JOB_NOT_ACTIVE` for a paused or
/// archived one.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn run_now(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: JobId,
) -> Result<Job, DomainError> {
    let uow = db.begin().await?;
    access::require(uow.conn(), ctx, organization, Operation::RunJobNow).await?;
    let jobs = JobRepository::at(uow.conn(), ctx.now);
    let before = jobs.find_in(organization, id, true).await?;
    let Some(job) = jobs.run_now(organization, id).await? else {
        return Err(DomainError::state_conflict(
            "JOB_NOT_ACTIVE",
            format!(
                "only an active job can run now; this one is {}",
                before.status
            ),
        ));
    };
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::JobUpdated, AuditEntity::Job, id)
                .in_organization(organization)
                .with_changes(Changes::new().field(
                    "nextRunAt",
                    before.next_run_at,
                    job.next_run_at,
                )),
        )
        .await?;
    uow.commit().await?;
    Ok(job)
}

/// Soft-deletes a job (admin+); a run in progress ends (its task fails with
/// `job deleted`, its worker's completion is 409 `LEASE_LOST`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: JobId,
) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    access::require(uow.conn(), ctx, organization, Operation::DeleteJob).await?;
    JobRepository::at(uow.conn(), ctx.now)
        .delete_in(organization, id)
        .await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::JobDeleted, AuditEntity::Job, id)
                .in_organization(organization),
        )
        .await?;
    uow.commit().await
}

/// Brings a deleted job back (admin+), within the plan's `max_jobs`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn restore(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: JobId,
) -> Result<Job, DomainError> {
    let uow = db.begin().await?;
    let limits = OrganizationRepository::at(uow.conn(), ctx.now)
        .lock_with_limits(organization)
        .await?;
    let access = access::require(uow.conn(), ctx, organization, Operation::RestoreJob).await?;
    let jobs = JobRepository::at(uow.conn(), ctx.now);
    let deleted = jobs.find_deleted_in(organization, id).await?;
    if deleted.counts_against_plan() {
        ensure_job_room(uow.conn(), ctx, &limits, &access).await?;
    }
    let job = jobs.restore(id).await.map_err(|_| JOB_NOT_FOUND)?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::JobRestored, AuditEntity::Job, id)
                .in_organization(organization),
        )
        .await?;
    uow.commit().await?;
    Ok(job)
}
