//! Messages: the conversation of a job's runs (any member or key may add one).

use domain::access::Operation;
use domain::messages::{Message, MessageDraft, MessageSort};
use domain::{DomainError, JobId, OrganizationId, Page, PageRequest};
use infra::Database;
use infra::repositories::{JobRepository, MessageRepository, TaskRepository};

use crate::{Context, access};

/// Adds a message to a live job; a `taskId` must be one of the job's tasks
/// (422 `TASK_NOT_FOUND` on `taskId` otherwise).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    job: JobId,
    draft: MessageDraft,
) -> Result<Message, DomainError> {
    let uow = db.begin().await?;
    access::require(uow.conn(), ctx, organization, Operation::CreateMessage).await?;
    JobRepository::at(uow.conn(), ctx.now)
        .find_in(organization, job, false)
        .await?;
    if let Some(task) = draft.task_id {
        TaskRepository::at(uow.conn(), ctx.now)
            .find_in(organization, job, task)
            .await
            .map_err(|_| {
                DomainError::invalid("taskId", "TASK_NOT_FOUND", "no such task of this job")
            })?;
    }
    let message = MessageRepository::at(uow.conn(), ctx.now)
        .insert(organization, job, draft)
        .await?;
    uow.commit().await?;
    Ok(message)
}

/// One page of a live job's messages (oldest first unless asked otherwise).
pub async fn list(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    job: JobId,
    request: &PageRequest<MessageSort>,
) -> Result<Page<Message>, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ListMessages).await?;
    JobRepository::at(db.conn(), ctx.now)
        .find_in(organization, job, false)
        .await?;
    MessageRepository::at(db.conn(), ctx.now)
        .list(organization, job, request)
        .await
}
