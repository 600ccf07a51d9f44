//! The database side of delivering webhook events (the HTTP side is the
//! server's): claim due events from the outbox, prepare each (its webhook, the
//! body, the signatures), and record how the attempt ended: a log row, the
//! outbox row delivered / retried on the schedule / given up, and a webhook
//! that answered 410 or failed every attempt for `webhooks.disable_after_days`
//! disabled, audited and its owners emailed — all in one transaction.
//!
//! The claim is the outbox's: a lease per event, taken `FOR UPDATE SKIP
//! LOCKED` (PostgreSQL) or under `BEGIN IMMEDIATE` (SQLite), so several
//! servers deliver from one database without sending an event twice while
//! nothing fails, and an event whose server died is claimed again once its
//! lease runs out (at least once).

use chrono::{DateTime, TimeDelta, Utc};
use domain::webhooks::{
    DeliveryErrorClass, DeliveryStatus, DisabledReason, Webhook, WebhookDelivery, next_retry,
};
use domain::{
    AuditAction, AuditEntity, AuditEvent, Changes, DeliveryId, DomainError, Email, EventId,
    OrganizationId, OutboxKind, OutboxMessageId, WebhookId,
};
use infra::Database;
use infra::repositories::{
    AuditLogRepository, EmailTemplate, OutboxMessage, OutboxRepository, WebhookDeliveryRepository,
    WebhookRepository,
};
use infra::security::jitter;
use infra::security::secrets::Keyring;
use infra::security::webhooks::{SecretSlot, open_webhook_secret, sign};
use serde_json::{Value, json};

use crate::Context;

/// The most response body kept in the log.
pub const MAX_LOGGED_BODY_BYTES: usize = 4 * 1024;

/// Claims up to `batch` due webhook events until `until` (one short
/// transaction, committed before anything is sent).
pub async fn claim(
    db: &Database,
    now: DateTime<Utc>,
    batch: u64,
    until: DateTime<Utc>,
) -> Result<Vec<OutboxMessage>, DomainError> {
    // An idle server reads; it takes no write lock.
    if !OutboxRepository::at(db.conn(), now)
        .has_due(OutboxKind::Webhook)
        .await?
    {
        return Ok(Vec::new());
    }
    let uow = db.begin().await?;
    let claimed = OutboxRepository::at(uow.conn(), now)
        .claim_due(OutboxKind::Webhook, batch, until)
        .await?;
    uow.commit().await?;
    Ok(claimed)
}

/// An event ready to post.
#[derive(Debug)]
pub struct ReadyDelivery {
    /// The outbox row and its claim (`attempts`).
    pub message_id: OutboxMessageId,
    /// The claim's own count of attempts (the outbox's guard).
    pub claim: i32,
    /// The webhook, as read when preparing.
    pub webhook_id: WebhookId,
    /// Its organization.
    pub organization_id: OrganizationId,
    /// Where to post.
    pub url: String,
    /// `webhook-id`.
    pub event_id: EventId,
    /// The event's type.
    pub event_type: String,
    /// `webhook-timestamp` (Unix seconds).
    pub timestamp: i64,
    /// `webhook-signature`.
    pub signature: String,
    /// The body: `{type, timestamp, data}`.
    pub body: Vec<u8>,
    /// The body as JSON, for the log.
    pub payload: Value,
    /// This attempt's number at the event.
    pub attempt: i32,
    /// A test or a replay: one attempt, not counted towards disabling.
    pub once: bool,
}

/// How an attempt ended, as the sender saw it.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The status code, when the receiver answered.
    pub status: Option<u16>,
    /// From sending to the end of the answer, in ms.
    pub latency_ms: i64,
    /// The first bytes of the answer's body ([`MAX_LOGGED_BODY_BYTES`]).
    pub body: Option<String>,
    /// Why it failed, when it failed before an answer (or the answer was a 3xx
    /// or an error status).
    pub error_class: Option<DeliveryErrorClass>,
    /// More about the failure.
    pub error: Option<String>,
    /// The receiver's `Retry-After`, read.
    pub retry_after: Option<TimeDelta>,
}

impl Outcome {
    /// The outcome of an answer with `status`: 2xx succeeds, 3xx is a
    /// `redirect` (never followed), anything else `http_status`.
    pub fn answered(status: u16, latency_ms: i64, body: Option<String>) -> Self {
        let error_class = match status {
            200..=299 => None,
            300..=399 => Some(DeliveryErrorClass::Redirect),
            _ => Some(DeliveryErrorClass::HttpStatus),
        };
        Self {
            status: Some(status),
            latency_ms,
            body,
            error: error_class.map(|_| format!("the receiver answered {status}")),
            error_class,
            retry_after: None,
        }
    }

    /// An attempt that got no answer.
    pub fn failed(class: DeliveryErrorClass, error: String, latency_ms: i64) -> Self {
        Self {
            latency_ms,
            error_class: Some(class),
            error: Some(error),
            ..Self::default()
        }
    }

    /// Whether the receiver accepted the event.
    pub fn succeeded(&self) -> bool {
        self.error_class.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The event of outbox row `message`, ready to post; `None` when it is not to
/// be sent (its webhook was deleted, or disabled, or the row is unreadable):
/// the row is then given up on, with the reason.
pub async fn prepare(
    db: &Database,
    keyring: &Keyring,
    now: DateTime<Utc>,
    message: &OutboxMessage,
) -> Result<Option<ReadyDelivery>, DomainError> {
    let outbox = OutboxRepository::at(db.conn(), now);
    let give_up = async |why: &str| {
        tracing::info!(message_id = %message.id, why, "webhook event not sent");
        outbox
            .mark_failed_for_good(message.id, message.attempts, why)
            .await
            .map(|_| None)
    };
    let p = &message.payload;
    let ids = (
        p["webhookId"]
            .as_str()
            .and_then(|s| WebhookId::parse(s).ok()),
        p["eventId"].as_str().and_then(|s| EventId::parse(s).ok()),
        p["type"].as_str(),
    );
    let (Some(webhook_id), Some(event_id), Some(event_type)) = ids else {
        return give_up("the outbox payload is not a webhook event").await;
    };
    let webhook = match WebhookRepository::at(db.conn(), now)
        .find_any(webhook_id)
        .await
    {
        Ok(w) => w,
        Err(DomainError::NotFound { .. }) => return give_up("the webhook was deleted").await,
        Err(e) => return Err(e),
    };
    let once = p["once"].as_bool().unwrap_or(false);
    if !webhook.enabled && !once {
        return give_up("the webhook is disabled").await;
    }
    let payload = json!({
        "type": event_type,
        "timestamp": p["timestamp"],
        "data": p["data"],
    });
    let body = serde_json::to_vec(&payload).map_err(|e| DomainError::Internal(e.to_string()))?;
    let timestamp = now.timestamp();
    let signature = signatures(
        keyring,
        &webhook,
        now,
        &event_id.to_string(),
        timestamp,
        &body,
    )?;
    let first = p["firstAttempt"]
        .as_i64()
        .and_then(|a| i32::try_from(a).ok())
        .unwrap_or(1);
    Ok(Some(ReadyDelivery {
        message_id: message.id,
        claim: message.attempts,
        webhook_id,
        organization_id: webhook.organization_id,
        url: webhook.url.clone(),
        event_id,
        event_type: event_type.to_owned(),
        timestamp,
        signature,
        body,
        payload,
        attempt: first.saturating_add(message.attempts - 1),
        once,
    }))
}

/// `v1,<current>` and, while a rotation's overlap lasts, ` v1,<previous>`.
fn signatures(
    keyring: &Keyring,
    webhook: &Webhook,
    now: DateTime<Utc>,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, DomainError> {
    let bad = || DomainError::Internal("a webhook secret is not whsec_ + base64".into());
    let current = open_webhook_secret(
        keyring,
        webhook,
        &webhook.sealed_secret,
        SecretSlot::Current,
    )?;
    let mut header = sign(&current, id, timestamp, body).ok_or_else(bad)?;
    if let (Some(previous), Some(until)) = (
        &webhook.previous_sealed_secret,
        webhook.previous_secret_expires_at,
    ) && until > now
    {
        let previous = open_webhook_secret(keyring, webhook, previous, SecretSlot::Previous)?;
        header.push(' ');
        header.push_str(&sign(&previous, id, timestamp, body).ok_or_else(bad)?);
    }
    Ok(header)
}

/// Records how `delivery` ended: see the module's documentation.
/// `disable_after` is `webhooks.disable_after_days`.
pub async fn finish(
    db: &Database,
    now: DateTime<Utc>,
    disable_after: TimeDelta,
    delivery: &ReadyDelivery,
    outcome: &Outcome,
) -> Result<(), DomainError> {
    let succeeded = outcome.succeeded();
    let uow = db.begin().await?;
    let outbox = OutboxRepository::at(uow.conn(), now);
    let webhooks = WebhookRepository::at(uow.conn(), now);
    // Deleted mid-delivery: nothing to log the attempt against. Read without
    // a lock: most attempts change nothing on the webhook, and a lock would
    // line up every delivery to it behind one another.
    let webhook = match webhooks.find_any(delivery.webhook_id).await {
        Ok(webhook) => Some(webhook),
        Err(DomainError::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    if webhook.is_some() {
        let log = WebhookDeliveryRepository::new(uow.conn());
        // After every attempt already logged for the event: a replay and a
        // retry of one event never share a number. A claim that died before
        // logging still counts (`delivery.attempt`).
        let logged = log
            .attempts_at(delivery.webhook_id, delivery.event_id)
            .await?;
        let attempt = delivery
            .attempt
            .max(i32::try_from(logged.saturating_add(1)).unwrap_or(i32::MAX));
        log.insert(&WebhookDelivery {
            id: DeliveryId::new(),
            webhook_id: delivery.webhook_id,
            organization_id: delivery.organization_id,
            event_id: delivery.event_id,
            event_type: delivery.event_type.clone(),
            attempt,
            status: if succeeded {
                DeliveryStatus::Succeeded
            } else {
                DeliveryStatus::Failed
            },
            response_code: outcome.status.map(i32::from),
            latency_ms: outcome.latency_ms,
            response_body: outcome.body.clone(),
            error_class: outcome.error_class,
            error: outcome.error.clone(),
            payload: delivery.payload.clone(),
            created_at: now,
        })
        .await?;
    }
    let mut disabled = false;
    // A success clears `failing_since`; a failure may set it or disable the
    // webhook: only then is the row locked and read again, to decide on its
    // latest state (two servers failing at once disable it once).
    let changes = |w: &Webhook| {
        if succeeded {
            w.failing_since.is_some()
        } else {
            w.enabled
        }
    };
    let locked = match webhook.filter(|w| !delivery.once && changes(w)) {
        Some(_) => match webhooks.find_any_for_update(delivery.webhook_id).await {
            Ok(webhook) => Some(webhook),
            Err(DomainError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    if let Some(mut webhook) = locked {
        let before = webhook.clone();
        if succeeded {
            webhook.failing_since = None;
        } else if webhook.enabled {
            let since = *webhook.failing_since.get_or_insert(now);
            let reason = if outcome.status == Some(410) {
                Some(DisabledReason::Gone)
            } else if now - since >= disable_after {
                Some(DisabledReason::Failing)
            } else {
                None
            };
            if let Some(reason) = reason {
                webhook.enabled = false;
                webhook.disabled_reason = Some(reason);
                disabled = true;
            }
        }
        if webhook != before {
            let saved = webhooks.save(&webhook).await?;
            if disabled {
                disable(&uow, now, &saved, disable_after).await?;
            }
        }
    }
    let error = outcome.error.clone().unwrap_or_default();
    if succeeded {
        outbox.mark_delivered(delivery.message_id).await?;
    } else {
        let gone = outcome.status == Some(410);
        let retry = if delivery.once || gone || disabled {
            None
        } else {
            next_retry(
                u32::try_from(delivery.claim).unwrap_or(u32::MAX),
                jitter(),
                outcome.retry_after,
            )
        };
        match retry {
            Some(wait) => {
                outbox
                    .mark_failed(delivery.message_id, delivery.claim, &error, now + wait)
                    .await?;
            }
            None => {
                outbox
                    .mark_failed_for_good(delivery.message_id, delivery.claim, &error)
                    .await?;
            }
        }
    }
    uow.commit().await
}

/// Audits the server disabling `webhook` and emails its organization's owners.
async fn disable(
    uow: &infra::UnitOfWork,
    now: DateTime<Utc>,
    webhook: &Webhook,
    disable_after: TimeDelta,
) -> Result<(), DomainError> {
    let reason = webhook.disabled_reason.map_or("failing", |r| r.as_str());
    tracing::warn!(webhook_id = %webhook.id, reason, "webhook disabled");
    AuditLogRepository::new(uow.conn())
        .record(
            &Context::system(now),
            AuditEvent::new(
                AuditAction::WebhookDisabled,
                AuditEntity::Webhook,
                webhook.id,
            )
            .in_organization(webhook.organization_id)
            .with_changes(
                Changes::new()
                    .field("enabled", true, false)
                    .created("disabledReason", reason),
            ),
        )
        .await?;
    let owners = WebhookRepository::at(uow.conn(), now)
        .owner_emails(webhook.organization_id)
        .await?;
    let outbox = OutboxRepository::at(uow.conn(), now);
    for owner in owners {
        let Ok(to) = Email::parse(&owner) else {
            continue;
        };
        outbox
            .enqueue_email(
                &to,
                EmailTemplate::WebhookDisabled,
                json!({
                    "webhookId": webhook.id.to_string(),
                    "url": webhook.url,
                    "reason": reason,
                    "days": disable_after.num_days(),
                }),
            )
            .await?;
    }
    Ok(())
}
