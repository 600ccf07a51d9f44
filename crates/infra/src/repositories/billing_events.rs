//! Billing events: recorded once each (the unique (provider, event_id) index
//! decides), then marked with what they did; listed per organization or all.

use chrono::{DateTime, Utc};
use domain::billing::{BillingEvent, BillingEventSort, ProviderEvent};
use domain::{BillingEventId, DomainError, OrganizationId, Page, PageRequest};
use sea_orm::sea_query::{Expr, Value};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::listing::{self, KeyKind, Listing, SortValue};
use crate::db_error::to_domain;
use crate::entities::billing_events::{self, Column, Entity};

/// Billing events over a connection or transaction.
#[derive(Debug)]
pub struct BillingEventRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

fn to_domain_event(m: billing_events::Model) -> BillingEvent {
    BillingEvent {
        id: BillingEventId::from(m.id),
        provider: m.provider,
        event_id: m.event_id,
        event_type: m.event_type,
        organization_id: m.organization_id.map(OrganizationId::from),
        applied: m.applied,
        outcome: m.outcome,
        event_created_at: m.event_created_at,
        payload: m.payload,
        created_at: m.created_at,
    }
}

impl<'c, C: ConnectionTrait> BillingEventRepository<'c, C> {
    /// A repository over `conn` for which "now" is `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Records `event` of `provider`, not applied yet. `Conflict`
    /// (`EVENT_ALREADY_RECEIVED`) when it was recorded before: on PostgreSQL
    /// the transaction is then aborted, so call it first and roll back.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert(
        &self,
        provider: &str,
        event: &ProviderEvent,
        payload: serde_json::Value,
    ) -> Result<BillingEventId, DomainError> {
        let id = BillingEventId::new();
        billing_events::ActiveModel {
            id: Set(id.as_uuid()),
            provider: Set(provider.to_owned()),
            event_id: Set(event.id.clone()),
            event_type: Set(event.event_type.clone()),
            organization_id: Set(None),
            applied: Set(false),
            outcome: Set(None),
            event_created_at: Set(event.created),
            payload: Set(payload),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        }
        .insert(self.conn)
        .await
        .map_err(to_domain)?;
        Ok(id)
    }

    /// Marks event `id` with its organization and what it did.
    pub async fn record_outcome(
        &self,
        id: BillingEventId,
        organization: Option<OrganizationId>,
        applied: bool,
        outcome: &str,
    ) -> Result<(), DomainError> {
        Entity::update_many()
            .col_expr(
                Column::OrganizationId,
                Expr::value(organization.map(|o| o.as_uuid())),
            )
            .col_expr(Column::Applied, Expr::value(applied))
            .col_expr(Column::Outcome, Expr::value(outcome))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(())
    }

    /// One page of the events, only `organization`'s when given.
    pub async fn list(
        &self,
        organization: Option<OrganizationId>,
        request: &PageRequest<BillingEventSort>,
    ) -> Result<Page<BillingEvent>, DomainError> {
        let mut query = Entity::find();
        if let Some(org) = organization {
            query = query.filter(Column::OrganizationId.eq(org.as_uuid()));
        }
        listing::page::<BillingEventList, _, _, _>(query, request, |query| async move {
            Ok(query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_domain_event)
                .collect())
        })
        .await
    }
}

/// Billing events: by receipt time; `searchQuery` matches the type and the
/// provider's event ID.
pub struct BillingEventList;

impl Listing for BillingEventList {
    type Sort = BillingEventSort;
    type Row = BillingEvent;

    fn column(sort: BillingEventSort) -> (Expr, KeyKind) {
        match sort {
            BillingEventSort::CreatedAt => {
                (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp)
            }
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        BillingEventId::parse(raw)
            .ok()
            .map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![
            Expr::col((Entity, Column::EventType)),
            Expr::col((Entity, Column::EventId)),
        ]
    }

    fn position(row: &BillingEvent, sort: BillingEventSort) -> (SortValue, String) {
        let value = match sort {
            BillingEventSort::CreatedAt => SortValue::At(row.created_at),
        };
        (value, row.id.to_string())
    }
}
