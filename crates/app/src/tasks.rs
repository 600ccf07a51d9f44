//! Tasks: a job's runs, read-only (any member).

use domain::access::Operation;
use domain::tasks::{Task, TaskSort, TaskStatus};
use domain::{DomainError, JobId, OrganizationId, Page, PageRequest, TaskId};
use infra::Database;
use infra::repositories::{JobRepository, TaskRepository};

use crate::{Context, access};

/// One page of a live job's tasks, newest first by default.
pub async fn list(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    job: JobId,
    status: Option<TaskStatus>,
    request: &PageRequest<TaskSort>,
) -> Result<Page<Task>, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ListTasks).await?;
    JobRepository::at(db.conn(), ctx.now)
        .find_in(organization, job, false)
        .await?;
    TaskRepository::at(db.conn(), ctx.now)
        .list(organization, job, status, request)
        .await
}

/// One task of a live job.
pub async fn get(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    job: JobId,
    id: TaskId,
) -> Result<Task, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ReadTask).await?;
    JobRepository::at(db.conn(), ctx.now)
        .find_in(organization, job, false)
        .await?;
    TaskRepository::at(db.conn(), ctx.now)
        .find_in(organization, job, id)
        .await
}
