//! The outbox: messages written in the same transaction as the change that
//! causes them, delivered later by a worker.

use chrono::{DateTime, Utc};
use domain::{DomainError, Email, OutboxKind, OutboxMessageId};
use sea_orm::sea_query::{Expr, LockBehavior, LockType, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};

use crate::db_error::to_domain;
use crate::entities::outbox_messages::{self, Column, Entity};

/// An email template the outbox knows how to ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailTemplate {
    /// "Confirm your address": carries an email-verification token.
    EmailVerification,
    /// "Reset your password": carries a password-reset token.
    PasswordReset,
    /// "You are invited to join ...": carries an invitation token.
    Invitation,
    /// "A webhook was disabled": to each owner of its organization.
    WebhookDisabled,
}

impl EmailTemplate {
    /// The template's name in the payload.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EmailVerification => "email_verification",
            Self::PasswordReset => "password_reset",
            Self::Invitation => "invitation",
            Self::WebhookDisabled => "webhook_disabled",
        }
    }
}

/// A message in the outbox, delivered or not.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxMessage {
    /// Identity.
    pub id: OutboxMessageId,
    /// Email or webhook.
    pub kind: String,
    /// What to deliver.
    pub payload: Value,
    /// Delivery attempts started so far (a claim counts as one).
    pub attempts: i32,
    /// Why the last failed attempt failed.
    pub last_error: Option<String>,
    /// When it is next due; while claimed, when the claim runs out.
    pub next_attempt_at: DateTime<Utc>,
    /// When it was delivered.
    pub processed_at: Option<DateTime<Utc>>,
    /// When it was given up on (an SMTP 5xx, or `outbox.max_attempts`
    /// attempts): it is tried again only when an operator retries it.
    pub failed_at: Option<DateTime<Utc>>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl OutboxMessage {
    /// `delivered`, `failed` (given up on, see `last_error`), `pending` (never
    /// tried) or `retrying` (tried, not delivered yet: being sent, or waiting
    /// after a failure that `last_error` describes).
    pub fn state(&self) -> &'static str {
        if self.processed_at.is_some() {
            "delivered"
        } else if self.failed_at.is_some() {
            "failed"
        } else if self.attempts == 0 {
            "pending"
        } else {
            "retrying"
        }
    }
}

impl From<outbox_messages::Model> for OutboxMessage {
    fn from(m: outbox_messages::Model) -> Self {
        Self {
            id: OutboxMessageId::from(m.id),
            kind: m.kind,
            payload: m.payload,
            attempts: m.attempts,
            last_error: m.last_error,
            next_attempt_at: m.next_attempt_at,
            processed_at: m.processed_at,
            failed_at: m.failed_at,
            created_at: m.created_at,
        }
    }
}

/// The payload without its token (`data.token`), computed by the database. The
/// one secret an email carries is its token (every template's is `data.token`).
fn without_token(backend: DbBackend) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => Expr::cust(r#""payload" #- '{data,token}'"#),
        _ => Expr::cust(r#"json_remove("payload", '$.data.token')"#),
    }
}

/// Longest `last_error` kept: enough for an SMTP reply, not a whole transcript.
const MAX_ERROR_CHARS: usize = 1_000;

/// The outbox over a connection or transaction.
#[derive(Debug)]
pub struct OutboxRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

/// The payload of a webhook message: `{"webhookId", "organizationId",
/// "eventId", "type", "timestamp", "data", "once", "firstAttempt"}`.
fn webhook_payload(
    webhook: &domain::webhooks::Webhook,
    event: &super::webhooks::QueuedEvent,
) -> Value {
    json!({
        "webhookId": webhook.id.to_string(),
        "organizationId": webhook.organization_id.to_string(),
        "eventId": event.event_id.to_string(),
        "type": event.event_type,
        "timestamp": event.timestamp,
        "data": event.data,
        "once": event.once,
        "firstAttempt": event.first_attempt,
    })
}

impl<'c, C: ConnectionTrait> OutboxRepository<'c, C> {
    /// A repository over `conn`; use a unit of work's transaction so the message
    /// commits with the change.
    /// Messages are stamped with `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Queues an email: `{"to", "template", "data"}`. `data` holds what the template
    /// needs (a token, an organization's name, ...).
    pub async fn enqueue_email(
        &self,
        to: &Email,
        template: EmailTemplate,
        data: Value,
    ) -> Result<OutboxMessageId, DomainError> {
        let payload = json!({ "to": to.as_str(), "template": template.as_str(), "data": data });
        self.enqueue(OutboxKind::Email, payload).await
    }

    /// Queues `event` for `webhook`: `{"webhookId", "organizationId",
    /// "eventId", "type", "timestamp", "data", "once", "firstAttempt"}`.
    pub async fn enqueue_webhook(
        &self,
        webhook: &domain::webhooks::Webhook,
        event: &super::webhooks::QueuedEvent,
    ) -> Result<OutboxMessageId, DomainError> {
        self.enqueue(OutboxKind::Webhook, webhook_payload(webhook, event))
            .await
    }

    /// Queues `event` for each of `webhooks`, as [`enqueue_webhook`](Self::enqueue_webhook)
    /// does for one, in one multi-row `INSERT` (a change's event is queued for
    /// every matching webhook inside the change's transaction).
    pub async fn enqueue_webhooks(
        &self,
        webhooks: &[&domain::webhooks::Webhook],
        event: &super::webhooks::QueuedEvent,
    ) -> Result<(), DomainError> {
        if webhooks.is_empty() {
            return Ok(());
        }
        let rows = webhooks.iter().map(|webhook| {
            self.row(OutboxKind::Webhook, webhook_payload(webhook, event))
                .1
        });
        Entity::insert_many(rows)
            .exec_without_returning(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(())
    }

    async fn enqueue(
        &self,
        kind: OutboxKind,
        payload: Value,
    ) -> Result<OutboxMessageId, DomainError> {
        let (id, row) = self.row(kind, payload);
        row.insert(self.conn).await.map_err(to_domain)?;
        Ok(id)
    }

    /// A new message of `kind` carrying `payload`, due now.
    fn row(
        &self,
        kind: OutboxKind,
        payload: Value,
    ) -> (OutboxMessageId, outbox_messages::ActiveModel) {
        let now = self.now;
        let id = OutboxMessageId::new();
        let row = outbox_messages::ActiveModel {
            id: Set(id.as_uuid()),
            kind: Set(kind.as_str().to_owned()),
            payload: Set(payload),
            attempts: Set(0),
            last_error: Set(None),
            next_attempt_at: Set(now),
            processed_at: Set(None),
            failed_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        (id, row)
    }

    /// Messages not yet delivered nor failed, oldest first.
    pub async fn pending(&self, limit: u64) -> Result<Vec<OutboxMessage>, DomainError> {
        let rows = Entity::find()
            .filter(Column::ProcessedAt.is_null())
            .filter(Column::FailedAt.is_null())
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .limit(limit)
            .all(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(rows.into_iter().map(OutboxMessage::from).collect())
    }

    /// Messages that failed for good, oldest first.
    pub async fn failed(&self, limit: u64) -> Result<Vec<OutboxMessage>, DomainError> {
        let rows = Entity::find()
            .filter(Column::FailedAt.is_not_null())
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .limit(limit)
            .all(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(rows.into_iter().map(OutboxMessage::from).collect())
    }

    /// The message `id`, if there is one.
    pub async fn find(&self, id: OutboxMessageId) -> Result<Option<OutboxMessage>, DomainError> {
        Ok(Entity::find_by_id(id.as_uuid())
            .one(self.conn)
            .await
            .map_err(to_domain)?
            .map(OutboxMessage::from))
    }

    /// The `limit` newest messages, delivered or not, oldest of them first (so
    /// the newest is last, as in a log).
    pub async fn recent(&self, limit: u64) -> Result<Vec<OutboxMessage>, DomainError> {
        let mut rows = Entity::find()
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id)
            .limit(limit)
            .all(self.conn)
            .await
            .map_err(to_domain)?;
        rows.reverse();
        Ok(rows.into_iter().map(OutboxMessage::from).collect())
    }

    /// Whether any email is due (undelivered, not failed, `next_attempt_at <= now`).
    pub async fn has_due_emails(&self) -> Result<bool, DomainError> {
        self.has_due(OutboxKind::Email).await
    }

    /// Whether any message of `kind` is due.
    pub async fn has_due(&self, kind: OutboxKind) -> Result<bool, DomainError> {
        let due = Entity::find()
            .select_only()
            .column(Column::Id)
            .filter(Column::ProcessedAt.is_null())
            .filter(Column::FailedAt.is_null())
            .filter(Column::Kind.eq(kind.as_str()))
            .filter(Column::NextAttemptAt.lte(self.now))
            .limit(1)
            .into_tuple::<uuid::Uuid>()
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(due.is_some())
    }

    /// Claims up to `limit` due emails (undelivered, not failed, `next_attempt_at <= now`),
    /// longest waiting first: each gets `attempts + 1` and `next_attempt_at =
    /// claimed_until`, so no other worker takes it until then, and anyone may
    /// take it again if this claimer dies before finishing. Returns them as
    /// claimed (`attempts` already counting this attempt).
    ///
    /// Run it in a unit of work and commit at once, before delivering: on
    /// PostgreSQL the rows are read `FOR UPDATE SKIP LOCKED`, so concurrent
    /// claimers pass over each other's rows instead of waiting; SQLite has no row
    /// locks, but the unit of work's `BEGIN IMMEDIATE` lets one claimer at a time in.
    /// Webhook messages are left alone: [`Self::claim_due`] claims those.
    pub async fn claim_due_emails(
        &self,
        limit: u64,
        claimed_until: DateTime<Utc>,
    ) -> Result<Vec<OutboxMessage>, DomainError> {
        self.claim_due(OutboxKind::Email, limit, claimed_until)
            .await
    }

    /// As [`Self::claim_due_emails`], for the messages of `kind`.
    pub async fn claim_due(
        &self,
        kind: OutboxKind,
        limit: u64,
        claimed_until: DateTime<Utc>,
    ) -> Result<Vec<OutboxMessage>, DomainError> {
        let rows = Entity::find()
            .filter(Column::ProcessedAt.is_null())
            .filter(Column::FailedAt.is_null())
            .filter(Column::Kind.eq(kind.as_str()))
            .filter(Column::NextAttemptAt.lte(self.now))
            .order_by_asc(Column::NextAttemptAt)
            .order_by_asc(Column::Id)
            .limit(limit)
            // SQLite's query builder leaves the lock clause out.
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .all(self.conn)
            .await
            .map_err(to_domain)?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<_> = rows.iter().map(|m| m.id).collect();
        Entity::update_many()
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
            .col_expr(Column::NextAttemptAt, Expr::value(claimed_until))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.is_in(ids))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(rows
            .into_iter()
            .map(|m| OutboxMessage {
                attempts: m.attempts + 1,
                next_attempt_at: claimed_until,
                ..OutboxMessage::from(m)
            })
            .collect())
    }

    /// Records a delivery and clears the message's token (`data.token`): once
    /// the email is out, the outbox need not keep a live credential in plain
    /// text. `false` when the message was already marked delivered (a second
    /// worker sent it after this one's claim ran out).
    pub async fn mark_delivered(&self, id: OutboxMessageId) -> Result<bool, DomainError> {
        let done = Entity::update_many()
            .col_expr(Column::ProcessedAt, Expr::value(self.now))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .col_expr(
                Column::Payload,
                without_token(self.conn.get_database_backend()),
            )
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::ProcessedAt.is_null())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(done.rows_affected == 1)
    }

    /// Gives up on a message after a failed attempt (a permanent refusal, or
    /// its last allowed attempt): it keeps its payload and `error`, and is no
    /// longer claimed until [`Self::retry_failed`]. The same guard as
    /// [`Self::mark_failed`]: only the latest claim may, and not once delivered.
    pub async fn mark_failed_for_good(
        &self,
        id: OutboxMessageId,
        attempts: i32,
        error: &str,
    ) -> Result<bool, DomainError> {
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        let done = Entity::update_many()
            .col_expr(Column::LastError, Expr::value(error))
            .col_expr(Column::FailedAt, Expr::value(self.now))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::Attempts.eq(attempts))
            .filter(Column::ProcessedAt.is_null())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(done.rows_affected == 1)
    }

    /// Makes a failed message due now with a fresh count of attempts (its
    /// `last_error` stays until the next attempt). `false` when `id` names no
    /// failed message.
    pub async fn retry_failed(&self, id: OutboxMessageId) -> Result<bool, DomainError> {
        let done = Entity::update_many()
            .col_expr(Column::FailedAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(Column::Attempts, Expr::value(0))
            .col_expr(Column::NextAttemptAt, Expr::value(self.now))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::FailedAt.is_not_null())
            .filter(Column::ProcessedAt.is_null())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(done.rows_affected == 1)
    }

    /// Records a failed attempt and when to retry. Only the latest claim may do
    /// so (`attempts` is the claim's own count): a worker whose claim ran out
    /// and was taken over must not move the new claimer's lease. `false` when
    /// the failure was not recorded for that reason or the message was delivered.
    pub async fn mark_failed(
        &self,
        id: OutboxMessageId,
        attempts: i32,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        let error: String = error.chars().take(MAX_ERROR_CHARS).collect();
        let done = Entity::update_many()
            .col_expr(Column::LastError, Expr::value(error))
            .col_expr(Column::NextAttemptAt, Expr::value(retry_at))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::Attempts.eq(attempts))
            .filter(Column::ProcessedAt.is_null())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(done.rows_affected == 1)
    }
}
