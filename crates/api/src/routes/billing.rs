//! `POST /v1/integrations/stripe/webhook`: Stripe's signed events (no
//! bearer); `GET /v1/organizations/{orgId}/billing-events` (owner) and
//! `GET /v1/admin/billing-events` (platform admins): what they did.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use app::billing::{self as service, Received};
use chrono::{DateTime, Utc};
use domain::PageRequest;
use domain::billing::{BillingEvent, BillingEventSort, INVALID_SIGNATURE, ProviderEvent};
use infra::security::stripe::verify_stripe_signature;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::admin_auth::AdminUser;
use crate::auth::{Anonymous, Caller};
use crate::error::{Problem, Result};
use crate::extract::{ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, QueryProblems, SessionProblems};
use crate::paths::Org;
use crate::state::AppState;
use crate::views::page_response;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(stripe_webhook, list_for_organization, list_all),
    components(schemas(WebhookReceipt, BillingEventResponse, BillingEventPage))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(stripe_webhook)
        .service(list_for_organization)
        .service(list_all);
}

/// What the webhook did with an event.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceipt {
    /// Always true: the event is stored (now or before).
    pub received: bool,
    /// True for an event recorded before: nothing changed.
    pub duplicate: bool,
    /// Whether it changed a subscription.
    pub applied: bool,
    /// What it did, or why not (absent for a duplicate).
    pub outcome: Option<String>,
}

/// A recorded billing event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingEventResponse {
    /// `bev_...`
    #[schema(example = "bev_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// `stripe`.
    pub provider: String,
    /// The provider's event ID (`evt_...`).
    pub event_id: String,
    /// `customer.subscription.updated`, `invoice.paid`, ...
    #[schema(rename = "type")]
    #[serde(rename = "type")]
    pub event_type: String,
    /// The organization it was matched to.
    pub organization_id: Option<String>,
    /// Whether it changed the subscription.
    pub applied: bool,
    /// What it did, or why not.
    pub outcome: Option<String>,
    /// When the provider created it.
    pub event_created_at: DateTime<Utc>,
    /// The event as delivered.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// When it was received.
    pub created_at: DateTime<Utc>,
}

impl From<BillingEvent> for BillingEventResponse {
    fn from(e: BillingEvent) -> Self {
        Self {
            id: e.id.to_string(),
            provider: e.provider,
            event_id: e.event_id,
            event_type: e.event_type,
            organization_id: e.organization_id.map(|o| o.to_string()),
            applied: e.applied,
            outcome: e.outcome,
            event_created_at: e.event_created_at,
            payload: e.payload,
            created_at: e.created_at,
        }
    }
}

page_response! {
    /// A page of billing events.
    BillingEventPage: BillingEventResponse, from BillingEvent
}

/// Receives a Stripe event: verifies `Stripe-Signature` over the raw body
/// (HMAC-SHA256 of `"{t}.{body}"` with `billing.stripe_webhook_secret`, `t`
/// within `billing.signature_tolerance_secs` of the server's clock either
/// way), records the event once, and applies it to the organization's
/// subscription. A redelivery is 200 with `duplicate: true` and no effect.
#[utoipa::path(
    post,
    path = "/v1/integrations/stripe/webhook",
    tag = "integrations",
    request_body(content = Object, description = "A Stripe event, as Stripe sends it"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256>")),
    responses(
        (status = 200, body = WebhookReceipt),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "BAD_REQUEST: not a Stripe event"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "INVALID_SIGNATURE: missing, wrong, or outside the tolerance; nothing is written"),
        DatabaseProblems,
    )
)]
#[post("/integrations/stripe/webhook")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn stripe_webhook(
    state: web::Data<AppState>,
    Anonymous { ctx, db }: Anonymous,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse> {
    let header = req
        .headers()
        .get("stripe-signature")
        .and_then(|h| h.to_str().ok())
        .ok_or(INVALID_SIGNATURE)?;
    let billing = &state.billing;
    if !verify_stripe_signature(
        header,
        &body,
        &billing.stripe_webhook_secret,
        ctx.now,
        billing.signature_tolerance_secs,
    ) {
        return Err(INVALID_SIGNATURE.into());
    }
    let payload: serde_json::Value = serde_json::from_slice(&body).map_err(|_| not_an_event())?;
    let event = ProviderEvent::from_stripe(&payload).ok_or_else(not_an_event)?;
    let receipt = match service::receive_stripe(&db, &ctx, event, payload).await? {
        Received::Duplicate => WebhookReceipt {
            received: true,
            duplicate: true,
            applied: false,
            outcome: None,
        },
        Received::Recorded { applied, outcome } => WebhookReceipt {
            received: true,
            duplicate: false,
            applied,
            outcome: Some(outcome),
        },
    };
    Ok(HttpResponse::Ok().json(receipt))
}

fn not_an_event() -> crate::error::ApiError {
    crate::error::ApiError::BadRequest(
        "the body is not a Stripe event ({id, type, created, data: {object}})".to_owned(),
    )
}

/// The organization's billing events (owners). `sortBy`: `createdAt`;
/// `searchQuery` matches the type and the event ID.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/billing-events",
    tag = "billing",
    params(Org, ListParams<BillingEventSort>),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = BillingEventPage),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE, USER_REQUIRED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, INVALID_CHARACTER, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/billing-events")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_for_organization(
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::<BillingEventSort>::parse(&raw)?;
    let page = service::list_for_organization(&db, &ctx, org, &request).await?;
    Ok(HttpResponse::Ok().json(BillingEventPage::from(page)))
}

/// Every billing event (platform admins), matched to an organization or not.
#[utoipa::path(
    get,
    path = "/v1/admin/billing-events",
    tag = "admin",
    params(ListParams<BillingEventSort>),
    security(("bearer" = [])),
    responses(
        (status = 200, body = BillingEventPage),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, INVALID_CHARACTER, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/admin/billing-events")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_all(
    AdminUser { admin, ctx, db }: AdminUser,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::<BillingEventSort>::parse(&raw)?;
    let page = service::list_all(&db, &ctx, admin, &request).await?;
    Ok(HttpResponse::Ok().json(BillingEventPage::from(page)))
}
