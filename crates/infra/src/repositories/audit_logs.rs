//! The audit trail: appended in the unit of work of the change it records,
//! read in newest-first cursor pages. Nothing here updates or deletes a row.

use chrono::{DateTime, Utc};
use domain::audit::AuditLogSort;
use domain::audit::{AuditFilter, AuditLog};
use domain::{
    Actor, ApiKeyId, AuditEvent, AuditLogId, DomainError, OrganizationId, Page, PageRequest, UserId,
};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::Value;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::listing::{self, KeyKind, Listing, SortValue};
use super::webhooks::emit_event;
use crate::db_error::to_domain;
use crate::entities::audit_logs::{self, Column, Entity};

/// Who did a recorded change, when and from where: the request's context, as the
/// audit trail needs it (implemented by the use cases' `Context`).
pub trait Attribution {
    /// The instant the change is stamped with.
    fn now(&self) -> DateTime<Utc>;
    /// Who acted.
    fn actor(&self) -> &Actor;
    /// The caller's address.
    fn ip(&self) -> Option<&str>;
    /// The request's id.
    fn request_id(&self) -> Option<&str>;
}

/// The audit trail over a connection or transaction.
#[derive(Debug)]
pub struct AuditLogRepository<'c, C> {
    conn: &'c C,
}

impl<'c, C: ConnectionTrait> AuditLogRepository<'c, C> {
    /// A repository over `conn`: a unit of work's transaction for writes, so the
    /// row commits (or not) with the change.
    pub fn new(conn: &'c C) -> Self {
        Self { conn }
    }

    /// Appends `event`, done by `by`'s actor at its instant; an event of an
    /// organization also becomes a webhook event (`type` = the action) for each
    /// of its enabled webhooks that subscribe to it, on the same connection.
    pub async fn record(
        &self,
        by: &impl Attribution,
        event: AuditEvent,
    ) -> Result<AuditLogId, DomainError> {
        let id = AuditLogId::new();
        let (actor_type, actor_id) = actor_columns(by.actor());
        let now = by.now();
        let changes = event.changes.into_json();
        if let Some(organization) = event.organization_id {
            let data = serde_json::json!({
                "auditLogId": id.to_string(),
                "organizationId": organization.to_string(),
                "entityType": event.entity.as_str(),
                "entityId": event.entity_id,
                "actor": {"type": actor_type, "id": actor_public_id(by.actor())},
                "changes": changes,
            });
            emit_event(self.conn, now, organization, event.action.as_str(), data).await?;
        }
        audit_logs::ActiveModel {
            id: Set(id.as_uuid()),
            organization_id: Set(event.organization_id.map(|o| o.as_uuid())),
            actor_type: Set(actor_type.to_owned()),
            actor_id: Set(actor_id),
            action: Set(event.action.as_str().to_owned()),
            entity_type: Set(event.entity.as_str().to_owned()),
            entity_id: Set(event.entity_id),
            changes: Set(changes),
            ip: Set(by.ip().map(str::to_owned)),
            request_id: Set(by.request_id().map(str::to_owned)),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(self.conn)
        .await
        .map_err(to_domain)?;
        Ok(id)
    }

    /// One newest-first (or oldest-first) page of the trail of `organization`
    /// (`None`: the account-level events, which belong to no organization).
    pub async fn list(
        &self,
        organization: Option<OrganizationId>,
        filter: &AuditFilter,
        request: &PageRequest<AuditLogSort>,
    ) -> Result<Page<AuditLog>, DomainError> {
        let mut query = Entity::find().filter(match organization {
            Some(id) => Column::OrganizationId.eq(id.as_uuid()),
            None => Column::OrganizationId.is_null(),
        });
        if let Some(action) = filter.action {
            query = query.filter(Column::Action.eq(action.as_str()));
        }
        if let Some(entity) = filter.entity {
            query = query.filter(Column::EntityType.eq(entity.as_str()));
        }
        if let Some(entity_id) = &filter.entity_id {
            query = query.filter(Column::EntityId.eq(entity_id.as_str()));
        }
        listing::page::<AuditLogList, _, _, _>(query, request, |query| async move {
            let rows = query.all(self.conn).await.map_err(to_domain)?;
            Ok(rows.into_iter().map(to_domain_log).collect())
        })
        .await
    }
}

fn actor_columns(actor: &Actor) -> (&'static str, Option<uuid::Uuid>) {
    let id = match actor {
        Actor::User(id) => Some(id.as_uuid()),
        Actor::ApiKey(grant) => Some(grant.id.as_uuid()),
        Actor::Anonymous | Actor::System => None,
    };
    (actor.kind(), id)
}

fn actor_public_id(actor: &Actor) -> Option<String> {
    match actor {
        Actor::User(id) => Some(id.to_string()),
        Actor::ApiKey(grant) => Some(grant.id.to_string()),
        Actor::Anonymous | Actor::System => None,
    }
}

fn to_domain_log(row: audit_logs::Model) -> AuditLog {
    let actor_id = row.actor_id.map(|id| match row.actor_type.as_str() {
        "api_key" => ApiKeyId::from(id).to_string(),
        _ => UserId::from(id).to_string(),
    });
    AuditLog {
        id: AuditLogId::from(row.id),
        organization_id: row.organization_id.map(OrganizationId::from),
        actor_type: row.actor_type,
        actor_id,
        action: row.action,
        entity_type: row.entity_type,
        entity_id: row.entity_id,
        changes: row.changes,
        ip: row.ip,
        request_id: row.request_id,
        created_at: row.created_at,
    }
}

/// An audit trail: newest (or oldest) first by creation time; no search (its
/// filters are the action, entity type and entity ID).
pub struct AuditLogList;

impl Listing for AuditLogList {
    type Sort = AuditLogSort;
    type Row = AuditLog;

    fn column(sort: AuditLogSort) -> (Expr, KeyKind) {
        match sort {
            AuditLogSort::CreatedAt => (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        AuditLogId::parse(raw).ok().map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        Vec::new()
    }

    fn position(row: &AuditLog, sort: AuditLogSort) -> (SortValue, String) {
        match sort {
            AuditLogSort::CreatedAt => (SortValue::At(row.created_at), row.id.to_string()),
        }
    }
}
