//! Running jobs: workers claim due jobs under leases, extend them while they
//! work, and complete them; the reaper closes the runs whose worker died.
//! Claims, heartbeats and completions are recorded as tasks, not in the audit
//! trail.

use domain::access::Operation;
use domain::jobs::leases::lease_lost;
use domain::jobs::{Claim, Completion, Heartbeat, Job, RunResult};
use domain::tasks::{Task, TaskStatus};
use domain::usage::ensure_under_quota;
use domain::{DomainError, JobId, OrganizationId};
use infra::Database;
use infra::repositories::{JobRepository, TaskRepository};
use infra::security::jitter;

use crate::endpoints::{RevealedEndpoint, reveal_many};
use crate::{Context, access};
use infra::security::secrets::Keyring;

/// A job handed to a worker: the job, the task its run is recorded in, and
/// the endpoint it calls with its secret opened.
#[derive(Debug)]
pub struct ClaimedRun {
    /// The job, under the worker's lease (`job.lease` is set).
    pub job: Job,
    /// The run's task, `running`.
    pub task: Task,
    /// The job's endpoint, its secret in plain text: the claim is the only way
    /// a secret leaves the server. `None` when the job has none.
    pub endpoint: Option<RevealedEndpoint>,
}

/// Hands out up to `claim.limit` of the organization's due jobs (any member or
/// key), oldest due first, never more than the room the plan's
/// `max_concurrent_tasks` leaves: that is checked under the organization's
/// lock, so concurrent claims cannot overshoot it. Once the organization's
/// `tokens` of the current UTC month reach the plan's `monthly_token_quota`,
/// 403 `QUOTA_EXCEEDED` and nothing is claimed.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn claim(
    db: &Database,
    keyring: &Keyring,
    ctx: &Context,
    organization: OrganizationId,
    claim: Claim,
) -> Result<Vec<ClaimedRun>, DomainError> {
    let uow = db.begin().await?;
    let (_, locked) =
        access::require_locked(uow.conn(), ctx, organization, Operation::ClaimJobs).await?;
    let limits = locked.limits;
    ensure_under_quota(locked.tokens_this_month, limits.monthly_token_quota)?;
    let jobs = JobRepository::at(uow.conn(), ctx.now);
    let cap = limits.max_concurrent_tasks;
    let running = jobs.count_leased(organization).await?;
    let room = cap.saturating_sub(running).min(u64::from(claim.limit));
    let claimed = jobs
        .claim(
            organization,
            &claim.worker,
            u32::try_from(room).unwrap_or(0),
            ctx.now + claim.lease,
        )
        .await?;
    let mut endpoint_ids: Vec<_> = claimed.iter().filter_map(|c| c.job.endpoint_id).collect();
    endpoint_ids.sort_by_key(|id| id.as_uuid());
    endpoint_ids.dedup();
    let endpoints = if endpoint_ids.is_empty() {
        Vec::new()
    } else {
        reveal_many(uow.conn(), keyring, ctx.now, organization, &endpoint_ids).await?
    };
    uow.commit().await?;
    Ok(claimed
        .into_iter()
        .map(|c| {
            let endpoint = c.job.endpoint_id.and_then(|id| {
                endpoints
                    .iter()
                    .find(|e| e.endpoint.id == id)
                    .map(|e| RevealedEndpoint {
                        endpoint: e.endpoint.clone(),
                        secret: e.secret.clone(),
                    })
            });
            let task = Task {
                id: c.task_id,
                job_id: c.job.id,
                organization_id: organization,
                status: TaskStatus::Running,
                attempt: c.job.attempt,
                worker: claim.worker.clone(),
                scheduled_at: c.job.scheduled_at,
                started_at: ctx.now,
                finished_at: None,
                output: None,
                error: None,
                tokens_used: 0,
                created_at: ctx.now,
            };
            ClaimedRun {
                job: c.job,
                task,
                endpoint,
            }
        })
        .collect())
}

/// The 409 of a token that is not the live lease of job `id`, or its 404 when
/// there is no such live job.
async fn lost_or_missing(
    jobs: &JobRepository<'_, infra::database::Connection>,
    organization: OrganizationId,
    id: JobId,
) -> DomainError {
    match jobs.find_in(organization, id, false).await {
        Ok(_) => lease_lost(),
        Err(e) => e,
    }
}

/// Extends the lease (its holder): 200 with the new expiry; 409 `LEASE_LOST`
/// when the token is not the job's live lease.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn heartbeat(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: JobId,
    heartbeat: Heartbeat,
) -> Result<chrono::DateTime<chrono::Utc>, DomainError> {
    access::permit(db.conn(), ctx, organization, Operation::HeartbeatJob).await?;
    let jobs = JobRepository::at(db.conn(), ctx.now);
    let extended = match heartbeat.token {
        Some(token) => {
            jobs.heartbeat(organization, id, token, ctx.now + heartbeat.lease)
                .await?
        }
        None => None,
    };
    match extended {
        Some(expires_at) => Ok(expires_at),
        None => Err(lost_or_missing(&jobs, organization, id).await),
    }
}

/// Records the run the lease holds and schedules the job's next run (see
/// `RunResult::after`); 409 `LEASE_LOST`, with nothing recorded, when the
/// token is not the job's live lease.
///
/// The run's `tokensUsed` is recorded as usage `tokens`, and its `task.*` event
/// queued, in the same transaction; the event's webhook read only when the
/// statement that locks the job saw an enabled webhook in the organization.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn complete(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: JobId,
    completion: Completion,
) -> Result<(Job, Task), DomainError> {
    let uow = db.begin().await?;
    access::permit(uow.conn(), ctx, organization, Operation::CompleteJob).await?;
    let jobs = JobRepository::at(uow.conn(), ctx.now);
    let leased = match completion.token {
        Some(token) => jobs.find_leased(organization, id, token).await?,
        None => None,
    };
    let Some((job, lease, any_webhook)) = leased.and_then(|l| {
        let lease = l.job.lease.clone()?;
        Some((l.job, lease, l.any_webhook))
    }) else {
        return Err(lost_or_missing(&jobs, organization, id).await);
    };
    let result = RunResult::after(
        &job,
        completion.outcome,
        completion.error.as_deref(),
        ctx.now,
        jitter(),
    );
    let job = jobs
        .finish_run(&job, &result, completion.tokens_used)
        .await?;
    let task = TaskRepository::at(uow.conn(), ctx.now)
        .finish(
            lease.task_id,
            completion.outcome,
            completion.output,
            completion.error,
            completion.tokens_used,
        )
        .await?;
    crate::usage::record_task_tokens(uow.conn(), ctx.now, organization, task.id, task.tokens_used)
        .await?;
    if any_webhook {
        crate::webhooks::task_finished(uow.conn(), ctx.now, &task).await?;
    }
    uow.commit().await?;
    Ok((job, task))
}

/// Closes up to `batch` runs whose lease ran out before `ctx.now` (their
/// worker died or hung): each task ends `failed` (`lease expired`) and its job
/// is claimable again, or, on its last attempt, rescheduled as a failed run
/// is. Several servers may reap at once: each takes different rows. Returns
/// how many it closed.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn reap_expired(db: &Database, ctx: &Context, batch: u64) -> Result<usize, DomainError> {
    let uow = db.begin().await?;
    let jobs = JobRepository::at(uow.conn(), ctx.now);
    let tasks = TaskRepository::at(uow.conn(), ctx.now);
    let expired = jobs.expired_leases(batch).await?;
    for job in &expired {
        let result = RunResult::after_abandoned(job, ctx.now, jitter());
        if let Some(lease) = &job.lease {
            tasks
                .fail_running(lease.task_id, domain::jobs::leases::LEASE_EXPIRED)
                .await?;
            crate::webhooks::task_expired(uow.conn(), ctx.now, job, lease).await?;
        }
        jobs.finish_run(job, &result, 0).await?;
    }
    uow.commit().await?;
    Ok(expired.len())
}
