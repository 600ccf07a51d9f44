//! Jobs: soft-delete aware rows, their list, and the lease protocol — claim,
//! heartbeat, completion and the reaping of leases whose worker died.
//!
//! The claim is the anchor of the job platform (after River, graphile-worker
//! and Oban): on PostgreSQL one statement picks the due rows `FOR UPDATE SKIP
//! LOCKED`, hands each a fresh fencing token, closes the task a dead worker
//! abandoned and opens the new task; on SQLite the unit of work's `BEGIN
//! IMMEDIATE` makes the claimer the only writer, and the same steps run one
//! after another.

use chrono::{DateTime, Utc};
use domain::jobs::leases::{JOB_DELETED, LEASE_EXPIRED};
use domain::jobs::{
    CronSchedule, JOB_NOT_FOUND, Job, JobDraft, JobSort, JobStatus, Lease, LeaseToken, RunResult,
    Schedule,
};
use domain::{DomainError, EndpointId, JobId, OrganizationId, Page, PageRequest, TaskId};
use sea_orm::sea_query::{Expr, ExprTrait, Value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement, UpdateMany,
};
use uuid::Uuid;

use super::corrupt;
use super::listing::{self, KeyKind, Listing, SortValue};
use super::soft_delete::{SoftDeletable, SoftDeleteRepository, standard_columns};
use crate::db_error::to_domain;
use crate::entities::jobs::{self, Column, Entity};
use crate::entities::tasks;

/// Jobs, soft-delete aware.
pub type JobRepository<'c, C> = SoftDeleteRepository<'c, C, Entity>;

/// Where a job without a next run sorts in `sortBy=nextRunAt` (after all others).
const NEVER: &str = "9999-12-31T23:59:59Z";

fn never() -> DateTime<Utc> {
    NEVER.parse().unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl SoftDeletable for Entity {
    type Id = JobId;
    type Domain = Job;
    const NOT_FOUND: DomainError = JOB_NOT_FOUND;

    standard_columns!();
    fn to_domain(m: jobs::Model) -> Result<Job, DomainError> {
        let schedule = match (m.interval_seconds, &m.cron) {
            (Some(n), _) => Schedule::Interval(n),
            (None, Some(expr)) => Schedule::Cron(Box::new(
                CronSchedule::parse(expr, &m.timezone).map_err(corrupt("job schedule"))?,
            )),
            (None, None) => Schedule::Once,
        };
        let lease = match (
            m.lease_token,
            m.lease_owner,
            m.lease_expires_at,
            m.current_task_id,
        ) {
            (Some(token), Some(owner), Some(expires_at), Some(task)) => Some(Lease {
                token: LeaseToken::from_uuid(token),
                owner,
                expires_at,
                task_id: TaskId::from(task),
            }),
            _ => None,
        };
        Ok(Job {
            id: JobId::from(m.id),
            organization_id: OrganizationId::from(m.organization_id),
            created_by: m.created_by,
            name: m.name,
            definition: m.definition,
            status: m.status.parse().map_err(corrupt("job status"))?,
            schedule,
            timezone: m.timezone,
            next_run_at: m.next_run_at,
            scheduled_at: m.scheduled_at,
            max_attempts: m.max_attempts,
            attempt: m.attempt,
            endpoint_id: m.endpoint_id.map(EndpointId::from),
            lease,
            last_run_at: m.last_run_at,
            last_error: m.last_error,
            tokens_used: m.tokens_used,
            created_at: m.created_at,
            updated_at: m.updated_at,
            deleted_at: m.deleted_at,
        })
    }
}

/// The stored columns of a schedule: interval seconds, cron expression.
fn schedule_columns(schedule: &Schedule) -> (Option<i64>, Option<String>) {
    match schedule {
        Schedule::Once => (None, None),
        Schedule::Interval(n) => (Some(*n), None),
        Schedule::Cron(c) => (None, Some(c.expression().to_owned())),
    }
}

/// A job a claim handed out, with the task its run is recorded in.
#[derive(Clone, Debug)]
pub struct ClaimedJob {
    /// The job under its new lease.
    pub job: Job,
    /// The opened task's id.
    pub task_id: TaskId,
}

/// A job under a live lease, locked for a completion, with what the
/// completion's event needs to know of its organization.
#[derive(Clone, Debug)]
pub struct LeasedJob {
    /// The job (`job.lease` is the lease presented).
    pub job: Job,
    /// Whether the organization had an enabled webhook when the job was
    /// locked; when not, its `task.*` event would reach no one.
    pub any_webhook: bool,
}

/// The column [`LeasedJob::any_webhook`] is read from.
const ANY_WEBHOOK: &str = "any_webhook";

impl<'c, C: ConnectionTrait> SoftDeleteRepository<'c, C, Entity> {
    /// Stores a new job of `organization` made by `created_by` (`usr_...` or
    /// `key_...`), first due at `first_run`.
    pub async fn insert(
        &self,
        organization: OrganizationId,
        created_by: String,
        draft: &JobDraft,
        first_run: Option<DateTime<Utc>>,
    ) -> Result<Job, DomainError> {
        let (interval, cron) = schedule_columns(&draft.schedule);
        let row = jobs::ActiveModel {
            id: Set(JobId::new().as_uuid()),
            organization_id: Set(organization.as_uuid()),
            created_by: Set(created_by),
            name: Set(draft.name.clone()),
            definition: Set(draft.definition.clone()),
            status: Set(draft.status.as_str().to_owned()),
            interval_seconds: Set(interval),
            cron: Set(cron),
            timezone: Set(draft.timezone.clone()),
            next_run_at: Set(first_run),
            scheduled_at: Set(first_run),
            max_attempts: Set(draft.max_attempts),
            attempt: Set(0),
            endpoint_id: Set(draft.endpoint_id.map(|e| e.as_uuid())),
            lease_token: Set(None),
            lease_owner: Set(None),
            lease_expires_at: Set(None),
            current_task_id: Set(None),
            last_run_at: Set(None),
            last_error: Set(None),
            tokens_used: Set(0),
            created_at: Set(self.now),
            updated_at: Set(self.now),
            deleted_at: Set(None),
        }
        .insert(self.conn)
        .await
        .map_err(to_domain)?;
        Entity::to_domain(row)
    }

    /// The live job `id` of `organization`; `JOB_NOT_FOUND` otherwise. With
    /// `lock`, the row is locked for the unit of work (PostgreSQL).
    pub async fn find_in(
        &self,
        organization: OrganizationId,
        id: JobId,
        lock: bool,
    ) -> Result<Job, DomainError> {
        let mut query = Self::live()
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::OrganizationId.eq(organization.as_uuid()));
        if lock && self.conn.get_database_backend() == DbBackend::Postgres {
            query = query.lock_exclusive();
        }
        let row = query.one(self.conn).await.map_err(to_domain)?;
        row.map_or(Err(JOB_NOT_FOUND), Entity::to_domain)
    }

    /// Writes what a change may touch: name, definition, status, schedule,
    /// next run, attempts, endpoint.
    pub async fn update(&self, job: &Job) -> Result<Job, DomainError> {
        let (interval, cron) = schedule_columns(&job.schedule);
        let rows = Entity::update_many()
            .col_expr(Column::Name, Expr::value(job.name.clone()))
            .col_expr(Column::Definition, Expr::value(job.definition.clone()))
            .col_expr(Column::Status, Expr::value(job.status.as_str()))
            .col_expr(Column::IntervalSeconds, Expr::value(interval))
            .col_expr(Column::Cron, Expr::value(cron))
            .col_expr(Column::Timezone, Expr::value(job.timezone.clone()))
            .col_expr(Column::NextRunAt, Expr::value(job.next_run_at))
            .col_expr(Column::ScheduledAt, Expr::value(job.scheduled_at))
            .col_expr(Column::MaxAttempts, Expr::value(job.max_attempts))
            .col_expr(Column::Attempt, Expr::value(job.attempt))
            .col_expr(
                Column::EndpointId,
                Expr::value(job.endpoint_id.map(|e| e.as_uuid())),
            )
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(job.id.as_uuid()))
            .filter(Column::DeletedAt.is_null())
            .exec_with_returning(self.conn)
            .await
            .map_err(to_domain)?;
        rows.into_iter()
            .next()
            .map_or(Err(JOB_NOT_FOUND), Entity::to_domain)
    }

    /// Makes an active job due now (its schedule's own time stays, so the
    /// cadence does not move). `false` when it is not an active live job.
    pub async fn run_now(
        &self,
        organization: OrganizationId,
        id: JobId,
    ) -> Result<Option<Job>, DomainError> {
        let rows = Entity::update_many()
            .col_expr(Column::NextRunAt, Expr::value(self.now))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::Status.eq(JobStatus::Active.as_str()))
            .filter(Column::DeletedAt.is_null())
            .exec_with_returning(self.conn)
            .await
            .map_err(to_domain)?;
        rows.into_iter().next().map(Entity::to_domain).transpose()
    }

    /// How many of `organization`'s live jobs count against `max_jobs` (not archived).
    pub async fn count_counted(&self, organization: OrganizationId) -> Result<u64, DomainError> {
        Self::live()
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::Status.ne(JobStatus::Archived.as_str()))
            .count(self.conn)
            .await
            .map_err(to_domain)
    }

    /// How many of `organization`'s jobs are under a live lease (runs in progress).
    pub async fn count_leased(&self, organization: OrganizationId) -> Result<u64, DomainError> {
        Self::live()
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::LeaseToken.is_not_null())
            .filter(Column::LeaseExpiresAt.gt(self.now))
            .count(self.conn)
            .await
            .map_err(to_domain)
    }

    /// Soft-deletes job `id` of `organization` and ends any run it holds: the
    /// lease is dropped (its holder's completion is then 409 `LEASE_LOST`) and
    /// the task closed as failed, `job deleted`.
    pub async fn delete_in(
        &self,
        organization: OrganizationId,
        id: JobId,
    ) -> Result<Job, DomainError> {
        let job = self.find_in(organization, id, true).await?;
        self.soft_delete(id).await?;
        if let Some(lease) = &job.lease {
            self.release(id).await?;
            fail_tasks(self.conn, &[lease.task_id.as_uuid()], JOB_DELETED, self.now).await?;
        }
        Ok(job)
    }

    /// Soft-deletes the live jobs of `organization` (its cascade); their runs
    /// end as in [`Self::delete_in`].
    pub async fn delete_all_in(&self, organization: OrganizationId) -> Result<u64, DomainError> {
        let leased: Vec<Uuid> = Self::live()
            .select_only()
            .column(Column::CurrentTaskId)
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::CurrentTaskId.is_not_null())
            .into_tuple::<Option<Uuid>>()
            .all(self.conn)
            .await
            .map_err(to_domain)?
            .into_iter()
            .flatten()
            .collect();
        let deleted = self
            .soft_delete_where(Column::OrganizationId.eq(organization.as_uuid()))
            .await?;
        if !leased.is_empty() {
            without_lease(Entity::update_many())
                .filter(Column::OrganizationId.eq(organization.as_uuid()))
                .filter(Column::CurrentTaskId.is_not_null())
                .exec(self.conn)
                .await
                .map_err(to_domain)?;
            fail_tasks(self.conn, &leased, JOB_DELETED, self.now).await?;
        }
        Ok(deleted)
    }

    /// Brings back the jobs of `organization` deleted at exactly `deleted_at`.
    pub async fn restore_all_in(
        &self,
        organization: OrganizationId,
        deleted_at: DateTime<Utc>,
    ) -> Result<u64, DomainError> {
        self.restore_deleted_at(
            Column::OrganizationId.eq(organization.as_uuid()),
            deleted_at,
        )
        .await
    }

    /// The deleted job `id` of `organization`; `JOB_NOT_FOUND` when it is live or missing.
    pub async fn find_deleted_in(
        &self,
        organization: OrganizationId,
        id: JobId,
    ) -> Result<Job, DomainError> {
        let row = Entity::find()
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::DeletedAt.is_not_null())
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        row.map_or(Err(JOB_NOT_FOUND), Entity::to_domain)
    }

    /// One page of `organization`'s live jobs, with status `status` if given.
    pub async fn list(
        &self,
        organization: OrganizationId,
        status: Option<JobStatus>,
        request: &PageRequest<JobSort>,
    ) -> Result<Page<Job>, DomainError> {
        let mut query = Self::live().filter(Column::OrganizationId.eq(organization.as_uuid()));
        if let Some(status) = status {
            query = query.filter(Column::Status.eq(status.as_str()));
        }
        listing::page::<JobList, _, _, _>(query, request, |query| async move {
            query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(Entity::to_domain)
                .collect()
        })
        .await
    }

    /// Hands out up to `limit` of `organization`'s due jobs (active, `nextRunAt
    /// <= now`, no live lease; oldest due first) to `worker` until `expires_at`,
    /// each under a fresh lease token, with a `running` task opened for each;
    /// the task a dead worker left behind is closed as failed (`lease
    /// expired`). A job whose lease ran out on its last attempt is the reaper's
    /// ([`Self::reap_expired`]), not a claim's.
    ///
    /// Run it in a unit of work: on PostgreSQL it is one statement whose rows
    /// are picked `FOR UPDATE SKIP LOCKED`, so concurrent claimers pass over
    /// each other's picks; on SQLite the unit of work's write lock lets one
    /// claimer in at a time.
    pub async fn claim(
        &self,
        organization: OrganizationId,
        worker: &str,
        limit: u32,
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<ClaimedJob>, DomainError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let fresh: Vec<(LeaseToken, TaskId)> = (0..limit)
            .map(|_| Ok((crate::security::lease_token()?, TaskId::new())))
            .collect::<Result<_, DomainError>>()?;
        let rows = match self.conn.get_database_backend() {
            DbBackend::Postgres => {
                self.claim_postgres(organization, worker, &fresh, expires_at)
                    .await?
            }
            _ => {
                self.claim_serialized(organization, worker, &fresh, expires_at)
                    .await?
            }
        };
        rows.into_iter()
            .map(|m| {
                let task_id = m
                    .current_task_id
                    .map(TaskId::from)
                    .ok_or_else(|| DomainError::Internal("claimed job without a task".into()))?;
                Ok(ClaimedJob {
                    job: Entity::to_domain(m)?,
                    task_id,
                })
            })
            .collect()
    }

    async fn claim_postgres(
        &self,
        organization: OrganizationId,
        worker: &str,
        fresh: &[(LeaseToken, TaskId)],
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<jobs::Model>, DomainError> {
        let list = |f: &dyn Fn(&(LeaseToken, TaskId)) -> Uuid| {
            fresh
                .iter()
                .map(|t| f(t).to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let tokens = list(&|(token, _)| token.as_uuid());
        let tasks = list(&|(_, task)| task.as_uuid());
        let stmt = Statement::from_sql_and_values(
            DbBackend::Postgres,
            CLAIM_POSTGRES,
            [
                Value::from(organization.as_uuid()),
                Value::from(self.now),
                Value::from(fresh.len() as i64),
                Value::from(tokens),
                Value::from(tasks),
                Value::from(worker.to_owned()),
                Value::from(expires_at),
            ],
        );
        let rows = self.conn.query_all_raw(stmt).await.map_err(to_domain)?;
        rows.iter()
            .map(|row| jobs::Model::from_query_result(row, "").map_err(to_domain))
            .collect()
    }

    async fn claim_serialized(
        &self,
        organization: OrganizationId,
        worker: &str,
        fresh: &[(LeaseToken, TaskId)],
        expires_at: DateTime<Utc>,
    ) -> Result<Vec<jobs::Model>, DomainError> {
        let due = Self::live()
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::Status.eq(JobStatus::Active.as_str()))
            .filter(Column::NextRunAt.lte(self.now))
            .filter(claimable_lease(self.now))
            .order_by_asc(Column::NextRunAt)
            .order_by_asc(Column::Id)
            .limit(fresh.len() as u64)
            .all(self.conn)
            .await
            .map_err(to_domain)?;
        let abandoned: Vec<Uuid> = due.iter().filter_map(|m| m.current_task_id).collect();
        fail_tasks(self.conn, &abandoned, LEASE_EXPIRED, self.now).await?;
        let mut claimed = Vec::with_capacity(due.len());
        for (job, (token, task)) in due.into_iter().zip(fresh) {
            let mut rows = Entity::update_many()
                .col_expr(Column::LeaseToken, Expr::value(token.as_uuid()))
                .col_expr(Column::LeaseOwner, Expr::value(worker.to_owned()))
                .col_expr(Column::LeaseExpiresAt, Expr::value(expires_at))
                .col_expr(Column::CurrentTaskId, Expr::value(task.as_uuid()))
                .col_expr(Column::Attempt, Expr::col(Column::Attempt).add(1))
                .col_expr(Column::LastRunAt, Expr::value(self.now))
                .col_expr(Column::UpdatedAt, Expr::value(self.now))
                .filter(Column::Id.eq(job.id))
                .exec_with_returning(self.conn)
                .await
                .map_err(to_domain)?;
            if let Some(row) = rows.pop() {
                claimed.push(row);
            }
        }
        if !claimed.is_empty() {
            tasks::Entity::insert_many(claimed.iter().map(|m| opened_task(m, worker, self.now)))
                .exec_without_returning(self.conn)
                .await
                .map_err(to_domain)?;
        }
        Ok(claimed)
    }

    /// Extends the live lease `token` of job `id` to `expires_at`; `None` when
    /// `token` is not its live lease (ran out, claimed again, job deleted).
    pub async fn heartbeat(
        &self,
        organization: OrganizationId,
        id: JobId,
        token: LeaseToken,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, DomainError> {
        let done = Entity::update_many()
            .col_expr(Column::LeaseExpiresAt, Expr::value(expires_at))
            .filter(live_lease(organization, id, token, self.now))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok((done.rows_affected == 1).then_some(expires_at))
    }

    /// The job `id` of `organization` if `token` is its live lease, locked for
    /// the unit of work (PostgreSQL; SQLite's write lock already holds), and
    /// whether the organization has an enabled webhook, read in the same
    /// statement: a completion without one skips the webhook read.
    pub async fn find_leased(
        &self,
        organization: OrganizationId,
        id: JobId,
        token: LeaseToken,
    ) -> Result<Option<LeasedJob>, DomainError> {
        let mut query = Entity::find()
            .filter(live_lease(organization, id, token, self.now))
            .expr_as(super::webhooks::any_enabled_in(organization), ANY_WEBHOOK);
        if self.conn.get_database_backend() == DbBackend::Postgres {
            // The job's row only: `FOR UPDATE` does not reach into the subquery.
            query = query.lock_exclusive();
        }
        let Some(row) = self
            .conn
            .query_one(&sea_orm::QueryTrait::into_query(query))
            .await
            .map_err(to_domain)?
        else {
            return Ok(None);
        };
        let job = jobs::Model::from_query_result(&row, "").map_err(to_domain)?;
        Ok(Some(LeasedJob {
            job: Entity::to_domain(job)?,
            any_webhook: row.try_get("", ANY_WEBHOOK).map_err(to_domain)?,
        }))
    }

    /// Ends the run `job` holds: its lease is dropped, `result` becomes its
    /// schedule, and `tokens` are added to its total.
    pub async fn finish_run(
        &self,
        job: &Job,
        result: &RunResult,
        tokens: i64,
    ) -> Result<Job, DomainError> {
        let rows = without_lease(Entity::update_many())
            .col_expr(Column::Status, Expr::value(result.status.as_str()))
            .col_expr(Column::NextRunAt, Expr::value(result.next_run_at))
            .col_expr(Column::ScheduledAt, Expr::value(result.scheduled_at))
            .col_expr(Column::Attempt, Expr::value(result.attempt))
            .col_expr(Column::LastError, Expr::value(result.last_error.clone()))
            .col_expr(
                Column::TokensUsed,
                Expr::col(Column::TokensUsed).add(tokens),
            )
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(job.id.as_uuid()))
            .exec_with_returning(self.conn)
            .await
            .map_err(to_domain)?;
        rows.into_iter()
            .next()
            .map_or(Err(JOB_NOT_FOUND), Entity::to_domain)
    }

    /// Up to `limit` live jobs whose lease ran out before now, oldest first,
    /// locked (`SKIP LOCKED` on PostgreSQL, so reapers on several servers share
    /// the work): the runs whose worker died or lost its way.
    pub async fn expired_leases(&self, limit: u64) -> Result<Vec<Job>, DomainError> {
        Self::live()
            .filter(Column::LeaseToken.is_not_null())
            .filter(Column::LeaseExpiresAt.lte(self.now))
            .order_by_asc(Column::LeaseExpiresAt)
            .limit(limit)
            .lock_with_behavior(
                sea_orm::sea_query::LockType::Update,
                sea_orm::sea_query::LockBehavior::SkipLocked,
            )
            .all(self.conn)
            .await
            .map_err(to_domain)?
            .into_iter()
            .map(Entity::to_domain)
            .collect()
    }

    /// Drops job `id`'s lease, whatever it is.
    async fn release(&self, id: JobId) -> Result<(), DomainError> {
        without_lease(Entity::update_many())
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(())
    }
}

/// `update` dropping the lease: token, owner, expiry and task, together.
fn without_lease(update: UpdateMany<Entity>) -> UpdateMany<Entity> {
    update
        .col_expr(Column::LeaseToken, Expr::value(Option::<Uuid>::None))
        .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(Column::CurrentTaskId, Expr::value(Option::<Uuid>::None))
}

/// Rows whose lease `token` is live at `now`.
fn live_lease(
    organization: OrganizationId,
    id: JobId,
    token: LeaseToken,
    now: DateTime<Utc>,
) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(Column::Id.eq(id.as_uuid()))
        .add(Column::OrganizationId.eq(organization.as_uuid()))
        .add(Column::DeletedAt.is_null())
        .add(Column::LeaseToken.eq(token.as_uuid()))
        .add(Column::LeaseExpiresAt.gt(now))
}

/// No lease, or one that ran out with attempts left.
fn claimable_lease(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(Column::LeaseToken.is_null())
        .add(
            sea_orm::Condition::all()
                .add(Column::LeaseExpiresAt.lte(now))
                .add(Expr::col(Column::Attempt).lt(Expr::col(Column::MaxAttempts))),
        )
}

/// The task a claim opens for `job` (already updated by the claim).
fn opened_task(job: &jobs::Model, worker: &str, now: DateTime<Utc>) -> tasks::ActiveModel {
    tasks::ActiveModel {
        id: Set(job.current_task_id.unwrap_or_default()),
        job_id: Set(job.id),
        organization_id: Set(job.organization_id),
        status: Set("running".into()),
        attempt: Set(job.attempt),
        worker: Set(worker.to_owned()),
        scheduled_at: Set(job.scheduled_at),
        started_at: Set(now),
        finished_at: Set(None),
        output: Set(None),
        error: Set(None),
        tokens_used: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Closes the running tasks among `ids` as failed with `error`.
async fn fail_tasks<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    if ids.is_empty() {
        return Ok(());
    }
    tasks::Entity::update_many()
        .col_expr(tasks::Column::Status, Expr::value("failed"))
        .col_expr(tasks::Column::Error, Expr::value(error))
        .col_expr(tasks::Column::FinishedAt, Expr::value(now))
        .col_expr(tasks::Column::UpdatedAt, Expr::value(now))
        .filter(tasks::Column::Id.is_in(ids.iter().copied()))
        .filter(tasks::Column::Status.eq("running"))
        .exec(conn)
        .await
        .map_err(to_domain)?;
    Ok(())
}

/// The claim on PostgreSQL, in one statement. `$1` organization, `$2` now,
/// `$3` limit, `$4`/`$5` comma-separated fresh lease tokens and task ids (one
/// per slot, in order), `$6` worker, `$7` lease expiry.
const CLAIM_POSTGRES: &str = r#"
WITH picked AS (
    SELECT id, next_run_at, current_task_id AS abandoned
    FROM jobs
    WHERE organization_id = $1 AND deleted_at IS NULL AND status = 'active'
      AND next_run_at <= $2
      AND (lease_token IS NULL OR (lease_expires_at <= $2 AND attempt < max_attempts))
    ORDER BY next_run_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
), numbered AS (
    SELECT id, abandoned, row_number() OVER (ORDER BY next_run_at, id) AS slot FROM picked
), fresh AS (
    SELECT token, task_id, slot
    FROM unnest(string_to_array($4, ',')::uuid[], string_to_array($5, ',')::uuid[])
         WITH ORDINALITY AS f(token, task_id, slot)
), claimed AS (
    UPDATE jobs j
    SET lease_token = f.token, lease_owner = $6, lease_expires_at = $7,
        current_task_id = f.task_id, attempt = j.attempt + 1, last_run_at = $2, updated_at = $2
    FROM numbered n JOIN fresh f ON f.slot = n.slot
    WHERE j.id = n.id
    RETURNING j.*
), abandoned AS (
    UPDATE tasks SET status = 'failed', error = 'lease expired', finished_at = $2, updated_at = $2
    WHERE id IN (SELECT abandoned FROM numbered WHERE abandoned IS NOT NULL) AND status = 'running'
), opened AS (
    INSERT INTO tasks (id, job_id, organization_id, status, attempt, worker, scheduled_at,
                       started_at, tokens_used, created_at, updated_at)
    SELECT current_task_id, id, organization_id, 'running', attempt, $6, scheduled_at, $2, 0, $2, $2
    FROM claimed
)
SELECT * FROM claimed ORDER BY next_run_at, id
"#;

/// An organization's jobs: sorted by `createdAt`, `updatedAt`, `name` or
/// `nextRunAt` (jobs without a next run last); `searchQuery` matches the name
/// and the definition.
pub struct JobList;

impl Listing for JobList {
    type Sort = JobSort;
    type Row = Job;

    fn column(sort: JobSort) -> (Expr, KeyKind) {
        match sort {
            JobSort::CreatedAt => (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp),
            JobSort::UpdatedAt => (Expr::col((Entity, Column::UpdatedAt)), KeyKind::Timestamp),
            JobSort::Name => (Expr::col((Entity, Column::Name)), KeyKind::Text),
            JobSort::NextRunAt => (
                Expr::col((Entity, Column::NextRunAt)).if_null(Expr::value(never())),
                KeyKind::Timestamp,
            ),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        JobId::parse(raw).ok().map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![
            Expr::col((Entity, Column::Name)),
            Expr::col((Entity, Column::Definition)),
        ]
    }

    fn position(row: &Job, sort: JobSort) -> (SortValue, String) {
        let value = match sort {
            JobSort::CreatedAt => SortValue::At(row.created_at),
            JobSort::UpdatedAt => SortValue::At(row.updated_at),
            JobSort::Name => SortValue::Text(row.name.clone()),
            JobSort::NextRunAt => SortValue::At(row.next_run_at.unwrap_or_else(never)),
        };
        (value, row.id.to_string())
    }
}
