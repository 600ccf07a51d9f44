//! The outbox: messages written in the same transaction as the change that
//! causes them, delivered later by a worker.

use chrono::{DateTime, Utc};
use domain::{DomainError, Email, OutboxKind, OutboxMessageId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
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
}

impl EmailTemplate {
    /// The template's name in the payload.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EmailVerification => "email_verification",
            Self::PasswordReset => "password_reset",
            Self::Invitation => "invitation",
        }
    }
}

/// A message waiting in the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxMessage {
    /// Identity.
    pub id: OutboxMessageId,
    /// Email or webhook.
    pub kind: String,
    /// What to deliver.
    pub payload: Value,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// The outbox over a connection or transaction.
#[derive(Debug)]
pub struct OutboxRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
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

    async fn enqueue(
        &self,
        kind: OutboxKind,
        payload: Value,
    ) -> Result<OutboxMessageId, DomainError> {
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
            created_at: Set(now),
            updated_at: Set(now),
        };
        row.insert(self.conn).await.map_err(to_domain)?;
        Ok(id)
    }

    /// Messages not yet delivered, oldest first.
    pub async fn pending(&self, limit: u64) -> Result<Vec<OutboxMessage>, DomainError> {
        use sea_orm::QuerySelect;
        let rows = Entity::find()
            .filter(Column::ProcessedAt.is_null())
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id)
            .limit(limit)
            .all(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(rows
            .into_iter()
            .map(|m| OutboxMessage {
                id: OutboxMessageId::from(m.id),
                kind: m.kind,
                payload: m.payload,
                created_at: m.created_at,
            })
            .collect())
    }
}
