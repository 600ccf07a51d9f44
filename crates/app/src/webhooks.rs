//! Webhooks: create (the signing secret is answered once), list, read, change,
//! delete, rotate the secret; read the delivery log, replay an attempt, send a
//! test event; purge old log rows; and the `task.*` events.

use chrono::{DateTime, TimeDelta, Utc};
use domain::access::Operation;
use domain::jobs::{Job, Lease};
use domain::tasks::{Task, TaskStatus};
use domain::webhooks::{
    DeliveryFilter, DeliverySort, TASK_FAILED, TASK_SUCCEEDED, WEBHOOK_TEST, Webhook,
    WebhookChanges, WebhookDelivery, WebhookDraft, WebhookSort,
};
use domain::{
    AuditAction, AuditEntity, AuditEvent, Changes, DeliveryId, DomainError, EventId,
    OrganizationId, Page, PageRequest, WebhookId,
};
use infra::Database;
use infra::repositories::{
    AuditLogRepository, OutboxRepository, QueuedEvent, WebhookDeliveryRepository,
    WebhookRepository, emit_event,
};
use infra::resolver::UrlGuard;
use infra::security::secrets::Keyring;
use infra::security::webhooks::{
    SecretSlot, issue_webhook_secret, open_webhook_secret, seal_webhook_secret,
};
use sea_orm::ConnectionTrait;
use serde_json::json;
use zeroize::Zeroizing;

use crate::{Context, access};

/// How long the secret before a rotation still signs deliveries.
pub const ROTATION_OVERLAP: TimeDelta = TimeDelta::hours(24);

/// A webhook with its signing secret, which is never shown again.
#[derive(Debug)]
pub struct WebhookWithSecret {
    /// The stored webhook.
    pub webhook: Webhook,
    /// `whsec_...`.
    pub secret: Zeroizing<String>,
}

/// Creates a webhook (admin+), with a fresh secret sealed at rest. 422
/// `WEBHOOK_URL_FORBIDDEN` when the URL's host is, or resolves to, a refused
/// address.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &Database,
    keyring: &Keyring,
    guard: &UrlGuard,
    ctx: &Context,
    organization: OrganizationId,
    draft: WebhookDraft,
) -> Result<WebhookWithSecret, DomainError> {
    guard.check_url(draft.url.as_str()).await?;
    let id = WebhookId::new();
    let secret = issue_webhook_secret()?;
    let sealed = seal_webhook_secret(keyring, organization, id, SecretSlot::Current, &secret)?;
    let uow = db.begin().await?;
    access::require(uow.conn(), ctx, organization, Operation::CreateWebhook).await?;
    let webhook = WebhookRepository::at(uow.conn(), ctx.now)
        .insert(id, organization, &draft, sealed)
        .await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            event(AuditAction::WebhookCreated, &webhook).with_changes(
                Changes::new()
                    .created("url", &webhook.url)
                    .created("events", &webhook.events)
                    .created("description", &webhook.description)
                    .created("enabled", webhook.enabled)
                    .secret("secret", false, true),
            ),
        )
        .await?;
    uow.commit().await?;
    Ok(WebhookWithSecret { webhook, secret })
}

/// One page of the organization's webhooks (admin+).
pub async fn list(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    request: &PageRequest<WebhookSort>,
) -> Result<Page<Webhook>, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ListWebhooks).await?;
    WebhookRepository::at(db.conn(), ctx.now)
        .list(organization, request)
        .await
}

/// One webhook (admin+); `WEBHOOK_NOT_FOUND`.
pub async fn get(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: WebhookId,
) -> Result<Webhook, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ReadWebhook).await?;
    WebhookRepository::at(db.conn(), ctx.now)
        .find(organization, id)
        .await
}

/// Changes a webhook (admin+). Turning it on clears what the server recorded
/// when it disabled it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    db: &Database,
    guard: &UrlGuard,
    ctx: &Context,
    organization: OrganizationId,
    id: WebhookId,
    changes: WebhookChanges,
) -> Result<Webhook, DomainError> {
    if let Some(url) = &changes.url {
        guard.check_url(url.as_str()).await?;
    }
    let uow = db.begin().await?;
    access::require(uow.conn(), ctx, organization, Operation::UpdateWebhook).await?;
    let webhooks = WebhookRepository::at(uow.conn(), ctx.now);
    let before = webhooks.find_for_update(organization, id).await?;
    let mut after = before.clone();
    if let Some(url) = changes.url {
        after.url = url.into_inner();
    }
    if let Some(events) = changes.events {
        after.events = events;
    }
    if let Some(description) = changes.description {
        after.description = description;
    }
    if let Some(enabled) = changes.enabled {
        after.enabled = enabled;
        if enabled && !before.enabled {
            after.failing_since = None;
            after.disabled_reason = None;
        }
    }
    if after == before {
        return Ok(before);
    }
    let saved = webhooks.save(&after).await?;
    let changed = Changes::new()
        .field("url", &before.url, &saved.url)
        .field("events", &before.events, &saved.events)
        .field("description", &before.description, &saved.description)
        .field("enabled", before.enabled, saved.enabled);
    if !changed.is_empty() {
        AuditLogRepository::new(uow.conn())
            .record(
                ctx,
                event(AuditAction::WebhookUpdated, &saved).with_changes(changed),
            )
            .await?;
    }
    uow.commit().await?;
    Ok(saved)
}

/// Deletes a webhook and its log (admin+); its queued events are dropped when
/// their turn comes.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: WebhookId,
) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    access::require(uow.conn(), ctx, organization, Operation::DeleteWebhook).await?;
    if !WebhookRepository::at(uow.conn(), ctx.now)
        .delete(organization, id)
        .await?
    {
        return Err(domain::webhooks::WEBHOOK_NOT_FOUND);
    }
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::WebhookDeleted, AuditEntity::Webhook, id)
                .in_organization(organization),
        )
        .await?;
    uow.commit().await
}

/// A new signing secret (admin+), answered once; the one it replaces keeps
/// signing (a second signature) for [`ROTATION_OVERLAP`], so receivers can
/// switch without losing a delivery. A second rotation within the overlap
/// drops the oldest secret.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn rotate_secret(
    db: &Database,
    keyring: &Keyring,
    ctx: &Context,
    organization: OrganizationId,
    id: WebhookId,
) -> Result<WebhookWithSecret, DomainError> {
    let secret = issue_webhook_secret()?;
    let uow = db.begin().await?;
    access::require(
        uow.conn(),
        ctx,
        organization,
        Operation::RotateWebhookSecret,
    )
    .await?;
    let webhooks = WebhookRepository::at(uow.conn(), ctx.now);
    let mut webhook = webhooks.find_for_update(organization, id).await?;
    let old = open_webhook_secret(
        keyring,
        &webhook,
        &webhook.sealed_secret,
        SecretSlot::Current,
    )?;
    webhook.previous_sealed_secret = Some(seal_webhook_secret(
        keyring,
        organization,
        id,
        SecretSlot::Previous,
        &old,
    )?);
    webhook.previous_secret_expires_at = Some(ctx.now + ROTATION_OVERLAP);
    webhook.sealed_secret =
        seal_webhook_secret(keyring, organization, id, SecretSlot::Current, &secret)?;
    let webhook = webhooks.save(&webhook).await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            event(AuditAction::WebhookSecretRotated, &webhook)
                .with_changes(Changes::new().secret("secret", true, true)),
        )
        .await?;
    uow.commit().await?;
    Ok(WebhookWithSecret { webhook, secret })
}

/// One page of a webhook's delivery log (admin+).
pub async fn list_deliveries(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: WebhookId,
    filter: &DeliveryFilter,
    request: &PageRequest<DeliverySort>,
) -> Result<Page<WebhookDelivery>, DomainError> {
    access::require(
        db.conn(),
        ctx,
        organization,
        Operation::ListWebhookDeliveries,
    )
    .await?;
    WebhookRepository::at(db.conn(), ctx.now)
        .find(organization, id)
        .await?;
    WebhookDeliveryRepository::new(db.conn())
        .list(id, filter, request)
        .await
}

/// Queues one more attempt at a logged delivery's event (admin+): the same
/// `webhook-id` and body, signed with the current secret, sent once (no
/// retries), even to a disabled webhook; logged as a new row.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn replay(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: WebhookId,
    delivery: DeliveryId,
) -> Result<EventId, DomainError> {
    let uow = db.begin().await?;
    access::require(
        uow.conn(),
        ctx,
        organization,
        Operation::ReplayWebhookDelivery,
    )
    .await?;
    let webhook = WebhookRepository::at(uow.conn(), ctx.now)
        .find(organization, id)
        .await?;
    let deliveries = WebhookDeliveryRepository::new(uow.conn());
    let logged = deliveries.find(id, delivery).await?;
    let attempts = deliveries.attempts_at(id, logged.event_id).await?;
    let timestamp = logged.payload["timestamp"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or(logged.created_at, |t| t.with_timezone(&Utc));
    let queued = QueuedEvent {
        event_id: logged.event_id,
        event_type: logged.event_type.clone(),
        timestamp,
        data: logged.payload["data"].clone(),
        once: true,
        first_attempt: i32::try_from(attempts + 1).unwrap_or(i32::MAX),
    };
    OutboxRepository::at(uow.conn(), ctx.now)
        .enqueue_webhook(&webhook, &queued)
        .await?;
    uow.commit().await?;
    Ok(queued.event_id)
}

/// Queues a `webhook.test` event for the webhook alone (admin+), sent once,
/// even when it is disabled or does not subscribe to `webhook.test`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn send_test(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: WebhookId,
) -> Result<EventId, DomainError> {
    let uow = db.begin().await?;
    access::require(uow.conn(), ctx, organization, Operation::TestWebhook).await?;
    let webhook = WebhookRepository::at(uow.conn(), ctx.now)
        .find(organization, id)
        .await?;
    let queued = QueuedEvent {
        event_id: EventId::new(),
        event_type: WEBHOOK_TEST.to_owned(),
        timestamp: ctx.now,
        data: json!({
            "webhookId": webhook.id.to_string(),
            "organizationId": organization.to_string(),
            "message": "A test event from Groundwork.",
        }),
        once: true,
        first_attempt: 1,
    };
    OutboxRepository::at(uow.conn(), ctx.now)
        .enqueue_webhook(&webhook, &queued)
        .await?;
    uow.commit().await?;
    Ok(queued.event_id)
}

/// Deletes delivery log rows older than `retention` before `now`, at most
/// `batch`; how many.
pub async fn purge_deliveries(
    db: &Database,
    now: DateTime<Utc>,
    retention: TimeDelta,
    batch: u64,
) -> Result<u64, DomainError> {
    WebhookDeliveryRepository::new(db.conn())
        .purge_before(now - retention, batch)
        .await
}

/// The `task.succeeded` / `task.failed` event of a finished task, on `conn`
/// (the completion's transaction). The completion calls it only when its
/// organization has an enabled webhook (`LeasedJob::any_webhook`).
pub async fn task_finished<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    task: &Task,
) -> Result<(), DomainError> {
    let event_type = match task.status {
        TaskStatus::Succeeded => TASK_SUCCEEDED,
        TaskStatus::Failed => TASK_FAILED,
        TaskStatus::Running => return Ok(()),
    };
    let data = json!({
        "taskId": task.id.to_string(),
        "jobId": task.job_id.to_string(),
        "organizationId": task.organization_id.to_string(),
        "status": task.status.as_str(),
        "attempt": task.attempt,
        "startedAt": task.started_at,
        "finishedAt": task.finished_at,
        "error": task.error,
        "tokensUsed": task.tokens_used,
    });
    emit_event(conn, now, task.organization_id, event_type, data).await?;
    Ok(())
}

/// The `task.failed` event of a run closed because its lease ran out (its
/// worker went silent), on `conn` (the reaper's transaction).
pub async fn task_expired<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    job: &Job,
    lease: &Lease,
) -> Result<(), DomainError> {
    let data = json!({
        "taskId": lease.task_id.to_string(),
        "jobId": job.id.to_string(),
        "organizationId": job.organization_id.to_string(),
        "status": TaskStatus::Failed.as_str(),
        "finishedAt": now,
        "error": domain::jobs::leases::LEASE_EXPIRED,
        "worker": lease.owner,
    });
    emit_event(conn, now, job.organization_id, TASK_FAILED, data).await?;
    Ok(())
}

fn event(action: AuditAction, webhook: &Webhook) -> AuditEvent {
    AuditEvent::new(action, AuditEntity::Webhook, webhook.id)
        .in_organization(webhook.organization_id)
}
