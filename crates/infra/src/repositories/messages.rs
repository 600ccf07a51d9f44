//! Messages: the conversation of a job's runs.

use chrono::{DateTime, Utc};
use domain::messages::{Message, MessageDraft, MessageSort};
use domain::{DomainError, JobId, MessageId, OrganizationId, Page, PageRequest, TaskId};
use sea_orm::sea_query::{Expr, Value};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::corrupt;
use super::listing::{self, KeyKind, Listing, SortValue};
use crate::db_error::to_domain;
use crate::entities::messages::{self, Column, Entity};

/// Messages over a connection or transaction.
#[derive(Debug)]
pub struct MessageRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

fn to_domain_message(m: messages::Model) -> Result<Message, DomainError> {
    Ok(Message {
        id: MessageId::from(m.id),
        job_id: JobId::from(m.job_id),
        organization_id: OrganizationId::from(m.organization_id),
        task_id: m.task_id.map(TaskId::from),
        role: m.role.parse().map_err(corrupt("message role"))?,
        content: m.content,
        metadata: m.metadata,
        created_at: m.created_at,
    })
}

impl<'c, C: ConnectionTrait> MessageRepository<'c, C> {
    /// A repository over `conn` for which "now" is `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Stores a message of job `job`.
    pub async fn insert(
        &self,
        organization: OrganizationId,
        job: JobId,
        draft: MessageDraft,
    ) -> Result<Message, DomainError> {
        let row = messages::ActiveModel {
            id: Set(MessageId::new().as_uuid()),
            job_id: Set(job.as_uuid()),
            organization_id: Set(organization.as_uuid()),
            task_id: Set(draft.task_id.map(|t| t.as_uuid())),
            role: Set(draft.role.as_str().to_owned()),
            content: Set(draft.content),
            metadata: Set(draft.metadata),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        }
        .insert(self.conn)
        .await
        .map_err(to_domain)?;
        to_domain_message(row)
    }

    /// One page of job `job`'s messages.
    pub async fn list(
        &self,
        organization: OrganizationId,
        job: JobId,
        request: &PageRequest<MessageSort>,
    ) -> Result<Page<Message>, DomainError> {
        let query = Entity::find()
            .filter(Column::JobId.eq(job.as_uuid()))
            .filter(Column::OrganizationId.eq(organization.as_uuid()));
        listing::page::<MessageList, _, _, _>(query, request, |query| async move {
            query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_domain_message)
                .collect()
        })
        .await
    }
}

/// A job's messages, by time.
pub struct MessageList;

impl Listing for MessageList {
    type Sort = MessageSort;
    type Row = Message;

    fn column(sort: MessageSort) -> (Expr, KeyKind) {
        match sort {
            MessageSort::CreatedAt => (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        MessageId::parse(raw).ok().map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![Expr::col((Entity, Column::Content))]
    }

    fn position(row: &Message, sort: MessageSort) -> (SortValue, String) {
        let value = match sort {
            MessageSort::CreatedAt => SortValue::At(row.created_at),
        };
        (value, row.id.to_string())
    }
}
