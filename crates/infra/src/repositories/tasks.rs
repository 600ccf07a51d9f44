//! Tasks: a job's runs, opened by claims (see `jobs`), closed here by their
//! worker's completion, and read back as a list per job.

use chrono::{DateTime, Utc};
use domain::jobs::TaskOutcome;
use domain::tasks::{TASK_NOT_FOUND, Task, TaskSort, TaskStatus};
use domain::{DomainError, JobId, OrganizationId, Page, PageRequest, TaskId};
use sea_orm::sea_query::{Expr, Value};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::corrupt;
use super::listing::{self, KeyKind, Listing, SortValue};
use crate::db_error::to_domain;
use crate::entities::tasks::{self, Column, Entity};

/// Tasks over a connection or transaction.
#[derive(Debug)]
pub struct TaskRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

fn to_domain_task(m: tasks::Model) -> Result<Task, DomainError> {
    Ok(Task {
        id: TaskId::from(m.id),
        job_id: JobId::from(m.job_id),
        organization_id: OrganizationId::from(m.organization_id),
        status: m.status.parse().map_err(corrupt("task status"))?,
        attempt: m.attempt,
        worker: m.worker,
        scheduled_at: m.scheduled_at,
        started_at: m.started_at,
        finished_at: m.finished_at,
        output: m.output,
        error: m.error,
        tokens_used: m.tokens_used,
        created_at: m.created_at,
    })
}

impl<'c, C: ConnectionTrait> TaskRepository<'c, C> {
    /// A repository over `conn` for which "now" is `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Task `id` of job `job` in `organization`; `TASK_NOT_FOUND` otherwise.
    pub async fn find_in(
        &self,
        organization: OrganizationId,
        job: JobId,
        id: TaskId,
    ) -> Result<Task, DomainError> {
        let row = Entity::find()
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::JobId.eq(job.as_uuid()))
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        row.map_or(Err(TASK_NOT_FOUND), to_domain_task)
    }

    /// Closes the running task `id` with `outcome`, and what the run reported.
    pub async fn finish(
        &self,
        id: TaskId,
        outcome: TaskOutcome,
        output: Option<serde_json::Value>,
        error: Option<String>,
        tokens: i64,
    ) -> Result<Task, DomainError> {
        let status = match outcome {
            TaskOutcome::Succeeded => TaskStatus::Succeeded,
            TaskOutcome::Failed => TaskStatus::Failed,
        };
        let rows = Entity::update_many()
            .col_expr(Column::Status, Expr::value(status.as_str()))
            .col_expr(Column::FinishedAt, Expr::value(self.now))
            .col_expr(Column::Output, Expr::value(output))
            .col_expr(Column::Error, Expr::value(error))
            .col_expr(Column::TokensUsed, Expr::value(tokens))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .exec_with_returning(self.conn)
            .await
            .map_err(to_domain)?;
        rows.into_iter()
            .next()
            .map_or(Err(TASK_NOT_FOUND), to_domain_task)
    }

    /// The tasks with these ids (the ones a claim opened).
    pub async fn find_many(&self, ids: &[TaskId]) -> Result<Vec<Task>, DomainError> {
        Entity::find()
            .filter(Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .all(self.conn)
            .await
            .map_err(to_domain)?
            .into_iter()
            .map(to_domain_task)
            .collect()
    }

    /// Closes running task `id` as failed with `error` (its lease ran out).
    pub async fn fail_running(&self, id: TaskId, error: &str) -> Result<(), DomainError> {
        Entity::update_many()
            .col_expr(Column::Status, Expr::value(TaskStatus::Failed.as_str()))
            .col_expr(Column::Error, Expr::value(error))
            .col_expr(Column::FinishedAt, Expr::value(self.now))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::Status.eq(TaskStatus::Running.as_str()))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(())
    }

    /// One page of job `job`'s tasks, with status `status` if given.
    pub async fn list(
        &self,
        organization: OrganizationId,
        job: JobId,
        status: Option<TaskStatus>,
        request: &PageRequest<TaskSort>,
    ) -> Result<Page<Task>, DomainError> {
        let mut query = Entity::find()
            .filter(Column::JobId.eq(job.as_uuid()))
            .filter(Column::OrganizationId.eq(organization.as_uuid()));
        if let Some(status) = status {
            query = query.filter(Column::Status.eq(status.as_str()));
        }
        listing::page::<TaskList, _, _, _>(query, request, |query| async move {
            query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_domain_task)
                .collect()
        })
        .await
    }
}

/// A job's tasks, by start.
pub struct TaskList;

impl Listing for TaskList {
    type Sort = TaskSort;
    type Row = Task;

    fn column(sort: TaskSort) -> (Expr, KeyKind) {
        match sort {
            TaskSort::CreatedAt => (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        TaskId::parse(raw).ok().map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![Expr::col((Entity, Column::Worker))]
    }

    fn position(row: &Task, sort: TaskSort) -> (SortValue, String) {
        let value = match sort {
            TaskSort::CreatedAt => SortValue::At(row.created_at),
        };
        (value, row.id.to_string())
    }
}
