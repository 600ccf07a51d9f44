//! Webhooks and their delivery log; and the one place events are written:
//! [`emit_event`], one outbox row per matching enabled webhook, in the
//! caller's transaction. Secrets stay sealed here.

use chrono::{DateTime, Utc};
use domain::endpoints::SealedSecret;
use domain::webhooks::{
    DELIVERY_NOT_FOUND, DeliveryErrorClass, DeliveryFilter, DeliverySort, WEBHOOK_NOT_FOUND,
    Webhook, WebhookDelivery, WebhookDraft, WebhookEvents, WebhookSort,
};
use domain::{DeliveryId, DomainError, EventId, OrganizationId, Page, PageRequest, WebhookId};
use sea_orm::sea_query::{Expr, Query, SimpleExpr, Value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::json;

use super::corrupt;
use super::listing::{self, KeyKind, Listing, SortValue};
use super::outbox::OutboxRepository;
use crate::db_error::to_domain;
use crate::entities::webhook_deliveries::{self, Column as DColumn, Entity as DEntity};
use crate::entities::webhooks::{self, Column, Entity};

fn to_domain_webhook(m: webhooks::Model) -> Result<Webhook, DomainError> {
    let events: Vec<String> =
        serde_json::from_value(m.events).map_err(corrupt("webhook events"))?;
    Ok(Webhook {
        id: WebhookId::from(m.id),
        organization_id: OrganizationId::from(m.organization_id),
        url: m.url,
        events: WebhookEvents::parse(events).map_err(corrupt("webhook events"))?,
        description: m.description,
        enabled: m.enabled,
        sealed_secret: SealedSecret::new(m.secret_ciphertext),
        previous_sealed_secret: m.previous_secret_ciphertext.map(SealedSecret::new),
        previous_secret_expires_at: m.previous_secret_expires_at,
        failing_since: m.failing_since,
        disabled_reason: m
            .disabled_reason
            .map(|r| r.parse())
            .transpose()
            .map_err(corrupt("webhook disabled_reason"))?,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Webhooks over a connection or transaction.
#[derive(Debug)]
pub struct WebhookRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

impl<'c, C: ConnectionTrait> WebhookRepository<'c, C> {
    /// A repository over `conn` for which "now" is `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Stores webhook `id` of `organization` with its secret already sealed.
    pub async fn insert(
        &self,
        id: WebhookId,
        organization: OrganizationId,
        draft: &WebhookDraft,
        sealed: SealedSecret,
    ) -> Result<Webhook, DomainError> {
        let row = webhooks::ActiveModel {
            id: Set(id.as_uuid()),
            organization_id: Set(organization.as_uuid()),
            url: Set(draft.url.as_str().to_owned()),
            events: Set(json!(draft.events.as_strings())),
            description: Set(draft.description.clone()),
            enabled: Set(draft.enabled),
            secret_ciphertext: Set(sealed.into_inner()),
            previous_secret_ciphertext: Set(None),
            previous_secret_expires_at: Set(None),
            failing_since: Set(None),
            disabled_reason: Set(None),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        }
        .insert(self.conn)
        .await
        .map_err(to_domain)?;
        to_domain_webhook(row)
    }

    /// Webhook `id` of `organization`; `WEBHOOK_NOT_FOUND` otherwise.
    pub async fn find(
        &self,
        organization: OrganizationId,
        id: WebhookId,
    ) -> Result<Webhook, DomainError> {
        self.find_in(Some(organization), id, false).await
    }

    /// As [`Self::find`], locking the row until the transaction ends (PostgreSQL).
    pub async fn find_for_update(
        &self,
        organization: OrganizationId,
        id: WebhookId,
    ) -> Result<Webhook, DomainError> {
        self.find_in(Some(organization), id, true).await
    }

    /// Webhook `id` whatever its organization (the delivery worker).
    pub async fn find_any(&self, id: WebhookId) -> Result<Webhook, DomainError> {
        self.find_in(None, id, false).await
    }

    /// Webhook `id` whatever its organization, locked (the delivery worker,
    /// which learns the organization from the event).
    pub async fn find_any_for_update(&self, id: WebhookId) -> Result<Webhook, DomainError> {
        self.find_in(None, id, true).await
    }

    async fn find_in(
        &self,
        organization: Option<OrganizationId>,
        id: WebhookId,
        lock: bool,
    ) -> Result<Webhook, DomainError> {
        let mut query = Entity::find().filter(Column::Id.eq(id.as_uuid()));
        if let Some(organization) = organization {
            query = query.filter(Column::OrganizationId.eq(organization.as_uuid()));
        }
        if lock && self.conn.get_database_backend() == DbBackend::Postgres {
            query = query.lock_exclusive();
        }
        let row = query.one(self.conn).await.map_err(to_domain)?;
        row.map_or(Err(WEBHOOK_NOT_FOUND), to_domain_webhook)
    }

    /// The enabled webhooks of `organization`.
    pub async fn enabled_in(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<Webhook>, DomainError> {
        Entity::find()
            .filter(enabled_of(organization))
            .order_by_asc(Column::Id)
            .all(self.conn)
            .await
            .map_err(to_domain)?
            .into_iter()
            .map(to_domain_webhook)
            .collect()
    }

    /// One page of the organization's webhooks.
    pub async fn list(
        &self,
        organization: OrganizationId,
        request: &PageRequest<WebhookSort>,
    ) -> Result<Page<Webhook>, DomainError> {
        let query = Entity::find().filter(Column::OrganizationId.eq(organization.as_uuid()));
        listing::page::<WebhookList, _, _, _>(query, request, |query| async move {
            query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_domain_webhook)
                .collect()
        })
        .await
    }

    /// Writes `webhook` whole, `updated_at` at "now"; `WEBHOOK_NOT_FOUND` when gone.
    pub async fn save(&self, webhook: &Webhook) -> Result<Webhook, DomainError> {
        let result = Entity::update_many()
            .col_expr(Column::Url, Expr::value(webhook.url.clone()))
            .col_expr(
                Column::Events,
                Expr::value(json!(webhook.events.as_strings())),
            )
            .col_expr(
                Column::Description,
                Expr::value(webhook.description.clone()),
            )
            .col_expr(Column::Enabled, Expr::value(webhook.enabled))
            .col_expr(
                Column::SecretCiphertext,
                Expr::value(webhook.sealed_secret.as_str().to_owned()),
            )
            .col_expr(
                Column::PreviousSecretCiphertext,
                Expr::value(
                    webhook
                        .previous_sealed_secret
                        .as_ref()
                        .map(|s| s.as_str().to_owned()),
                ),
            )
            .col_expr(
                Column::PreviousSecretExpiresAt,
                Expr::value(webhook.previous_secret_expires_at),
            )
            .col_expr(Column::FailingSince, Expr::value(webhook.failing_since))
            .col_expr(
                Column::DisabledReason,
                Expr::value(webhook.disabled_reason.map(|r| r.as_str().to_owned())),
            )
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::OrganizationId.eq(webhook.organization_id.as_uuid()))
            .filter(Column::Id.eq(webhook.id.as_uuid()))
            .exec_with_returning(self.conn)
            .await
            .map_err(to_domain)?;
        result
            .into_iter()
            .next()
            .map_or(Err(WEBHOOK_NOT_FOUND), to_domain_webhook)
    }

    /// The email addresses of the organization's live owners (who are told
    /// when the server disables one of its webhooks).
    pub async fn owner_emails(
        &self,
        organization: OrganizationId,
    ) -> Result<Vec<String>, DomainError> {
        use crate::entities::{organization_members as members, users};
        let user_ids: Vec<uuid::Uuid> = members::Entity::find()
            .select_only()
            .column(members::Column::UserId)
            .filter(members::Column::OrganizationId.eq(organization.as_uuid()))
            .filter(members::Column::Role.eq("owner"))
            .filter(members::Column::DeletedAt.is_null())
            .into_tuple()
            .all(self.conn)
            .await
            .map_err(to_domain)?;
        if user_ids.is_empty() {
            return Ok(Vec::new());
        }
        users::Entity::find()
            .select_only()
            .column(users::Column::Email)
            .filter(users::Column::Id.is_in(user_ids))
            .filter(users::Column::DeletedAt.is_null())
            .order_by_asc(users::Column::Email)
            .into_tuple()
            .all(self.conn)
            .await
            .map_err(to_domain)
    }

    /// Deletes webhook `id` of `organization` (and its log); `false` when it is not one.
    pub async fn delete(
        &self,
        organization: OrganizationId,
        id: WebhookId,
    ) -> Result<bool, DomainError> {
        let result = Entity::delete_many()
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected > 0)
    }
}

/// An organization's webhooks, newest (or oldest) first; `searchQuery`
/// matches the URL and the description.
pub struct WebhookList;

impl Listing for WebhookList {
    type Sort = WebhookSort;
    type Row = Webhook;

    fn column(sort: WebhookSort) -> (Expr, KeyKind) {
        match sort {
            WebhookSort::CreatedAt => (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        WebhookId::parse(raw).ok().map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![
            Expr::col((Entity, Column::Url)),
            Expr::col((Entity, Column::Description)),
        ]
    }

    fn position(row: &Webhook, sort: WebhookSort) -> (SortValue, String) {
        match sort {
            WebhookSort::CreatedAt => (SortValue::At(row.created_at), row.id.to_string()),
        }
    }
}

/// The webhooks [`emit_event`] considers: `organization`'s enabled ones.
fn enabled_of(organization: OrganizationId) -> Condition {
    Condition::all()
        .add(Column::OrganizationId.eq(organization.as_uuid()))
        .add(Column::Enabled.eq(true))
}

/// `EXISTS` an enabled webhook of `organization`: exactly the rows
/// [`WebhookRepository::enabled_in`] reads, for a statement that runs anyway
/// to learn whether [`emit_event`] can have anything to do (a completion's).
pub(crate) fn any_enabled_in(organization: OrganizationId) -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::cust("1"))
            .from(Entity)
            .cond_where(enabled_of(organization))
            .to_owned(),
    )
}

/// What [`emit_event`] and the explicit sends (test, replay) queue for one webhook.
#[derive(Clone, Debug)]
pub struct QueuedEvent {
    /// The event (`webhook-id`).
    pub event_id: EventId,
    /// Its type.
    pub event_type: String,
    /// When it happened (the body's `timestamp`).
    pub timestamp: DateTime<Utc>,
    /// The body's `data`.
    pub data: serde_json::Value,
    /// One attempt only, even to a disabled webhook, without counting towards
    /// disabling it: a test ping or a replay, which someone is watching.
    pub once: bool,
    /// The attempt number of the first attempt (a replay continues the count).
    pub first_attempt: i32,
}

/// Writes event `event_type` of `organization` for every enabled webhook of it
/// whose filters match: one outbox row each, on `conn` (the change's
/// transaction, so a rolled-back change sends nothing). The event's id when
/// some webhook takes it.
pub async fn emit_event<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    organization: OrganizationId,
    event_type: &str,
    data: serde_json::Value,
) -> Result<Option<EventId>, DomainError> {
    let webhooks = WebhookRepository::at(conn, now)
        .enabled_in(organization)
        .await?;
    // Collected, not a lazy iterator: a closure's borrow held across the
    // await below would make callers' futures not `Send` (the reaper's).
    let matching: Vec<&Webhook> = webhooks
        .iter()
        .filter(|w| w.events.matches(event_type))
        .collect();
    if matching.is_empty() {
        return Ok(None);
    }
    let event = QueuedEvent {
        event_id: EventId::new(),
        event_type: event_type.to_owned(),
        timestamp: now,
        data,
        once: false,
        first_attempt: 1,
    };
    OutboxRepository::at(conn, now)
        .enqueue_webhooks(&matching, &event)
        .await?;
    Ok(Some(event.event_id))
}

fn to_domain_delivery(m: webhook_deliveries::Model) -> Result<WebhookDelivery, DomainError> {
    Ok(WebhookDelivery {
        id: DeliveryId::from(m.id),
        webhook_id: WebhookId::from(m.webhook_id),
        organization_id: OrganizationId::from(m.organization_id),
        event_id: EventId::from(m.event_id),
        event_type: m.event_type,
        attempt: m.attempt,
        status: m.status.parse().map_err(corrupt("delivery status"))?,
        response_code: m.response_code,
        latency_ms: m.latency_ms,
        response_body: m.response_body,
        error_class: m
            .error_class
            .map(|c| c.parse::<DeliveryErrorClass>())
            .transpose()
            .map_err(corrupt("delivery error class"))?,
        error: m.error,
        payload: m.payload,
        created_at: m.created_at,
    })
}

/// The delivery log over a connection or transaction.
#[derive(Debug)]
pub struct WebhookDeliveryRepository<'c, C> {
    conn: &'c C,
}

impl<'c, C: ConnectionTrait> WebhookDeliveryRepository<'c, C> {
    /// A repository over `conn`.
    pub fn new(conn: &'c C) -> Self {
        Self { conn }
    }

    /// Appends an attempt (its `id` and `created_at` as given).
    pub async fn insert(&self, delivery: &WebhookDelivery) -> Result<(), DomainError> {
        webhook_deliveries::ActiveModel {
            id: Set(delivery.id.as_uuid()),
            webhook_id: Set(delivery.webhook_id.as_uuid()),
            organization_id: Set(delivery.organization_id.as_uuid()),
            event_id: Set(delivery.event_id.as_uuid()),
            event_type: Set(delivery.event_type.clone()),
            attempt: Set(delivery.attempt),
            status: Set(delivery.status.as_str().to_owned()),
            response_code: Set(delivery.response_code),
            latency_ms: Set(delivery.latency_ms),
            response_body: Set(delivery.response_body.clone()),
            error_class: Set(delivery.error_class.map(|c| c.as_str().to_owned())),
            error: Set(delivery.error.clone()),
            payload: Set(delivery.payload.clone()),
            created_at: Set(delivery.created_at),
            updated_at: Set(delivery.created_at),
        }
        .insert(self.conn)
        .await
        .map_err(to_domain)?;
        Ok(())
    }

    /// Attempt `id` of `webhook`; `DELIVERY_NOT_FOUND` otherwise.
    pub async fn find(
        &self,
        webhook: WebhookId,
        id: DeliveryId,
    ) -> Result<WebhookDelivery, DomainError> {
        let row = DEntity::find()
            .filter(DColumn::WebhookId.eq(webhook.as_uuid()))
            .filter(DColumn::Id.eq(id.as_uuid()))
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        row.map_or(Err(DELIVERY_NOT_FOUND), to_domain_delivery)
    }

    /// How many attempts at `event` the log holds for `webhook`.
    pub async fn attempts_at(
        &self,
        webhook: WebhookId,
        event: EventId,
    ) -> Result<u64, DomainError> {
        DEntity::find()
            .filter(DColumn::WebhookId.eq(webhook.as_uuid()))
            .filter(DColumn::EventId.eq(event.as_uuid()))
            .count(self.conn)
            .await
            .map_err(to_domain)
    }

    /// One page of `webhook`'s log.
    pub async fn list(
        &self,
        webhook: WebhookId,
        filter: &DeliveryFilter,
        request: &PageRequest<DeliverySort>,
    ) -> Result<Page<WebhookDelivery>, DomainError> {
        let mut query = DEntity::find().filter(DColumn::WebhookId.eq(webhook.as_uuid()));
        if let Some(status) = filter.status {
            query = query.filter(DColumn::Status.eq(status.as_str()));
        }
        listing::page::<DeliveryList, _, _, _>(query, request, |query| async move {
            query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_domain_delivery)
                .collect()
        })
        .await
    }

    /// Deletes up to `limit` rows created before `cutoff`; how many it deleted.
    pub async fn purge_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u64,
    ) -> Result<u64, DomainError> {
        let ids: Vec<uuid::Uuid> = DEntity::find()
            .select_only()
            .column(DColumn::Id)
            .filter(DColumn::CreatedAt.lt(cutoff))
            .order_by_asc(DColumn::CreatedAt)
            .limit(limit)
            .into_tuple()
            .all(self.conn)
            .await
            .map_err(to_domain)?;
        if ids.is_empty() {
            return Ok(0);
        }
        let done = DEntity::delete_many()
            .filter(DColumn::Id.is_in(ids))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(done.rows_affected)
    }
}

/// A webhook's log: newest (or oldest) first; no search.
pub struct DeliveryList;

impl Listing for DeliveryList {
    type Sort = DeliverySort;
    type Row = WebhookDelivery;

    fn column(sort: DeliverySort) -> (Expr, KeyKind) {
        match sort {
            DeliverySort::CreatedAt => {
                (Expr::col((DEntity, DColumn::CreatedAt)), KeyKind::Timestamp)
            }
        }
    }

    fn id_column() -> Expr {
        Expr::col((DEntity, DColumn::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        DeliveryId::parse(raw).ok().map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        Vec::new()
    }

    fn position(row: &WebhookDelivery, sort: DeliverySort) -> (SortValue, String) {
        match sort {
            DeliverySort::CreatedAt => (SortValue::At(row.created_at), row.id.to_string()),
        }
    }
}
