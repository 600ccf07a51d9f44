//! `/v1/organizations/{orgId}/webhooks[/{webhookId}]`: outgoing webhooks
//! (admin+): create (the signing secret is answered once), list, read, change,
//! delete, rotate the secret; the delivery log, replay and a test event.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use app::webhooks as service;
use chrono::{DateTime, Utc};
use domain::PageRequest;
use domain::webhooks::{
    CreateWebhookRequest, DeliveryFilter, DeliverySort, DeliveryStatus, UpdateWebhookRequest,
    Webhook, WebhookDelivery, WebhookSort,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::{Problem, Result};
use crate::extract::{JsonBody, ListParams, ListQuery, enum_filter};
use crate::openapi::{DatabaseProblems, JsonBodyProblems, QueryProblems, SessionProblems};
use crate::paths::{DeliveryPath, Org, OrgItem, OrgSubItem, WebhookPath};
use crate::state::AppState;
use crate::views::page_response;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        create,
        list,
        get_one,
        update,
        delete_one,
        rotate_secret,
        list_deliveries,
        replay,
        send_test
    ),
    components(schemas(
        CreateWebhookRequest,
        UpdateWebhookRequest,
        WebhookResponse,
        WebhookWithSecretResponse,
        WebhookPage,
        DeliveryResponse,
        DeliveryPage,
        QueuedEventResponse
    ))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(get_one)
        .service(update)
        .service(delete_one)
        .service(rotate_secret)
        .service(list_deliveries)
        .service(replay)
        .service(send_test);
}

/// A webhook as the API shows it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookResponse {
    /// `whk_...`
    #[schema(example = "whk_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// Where events are posted.
    #[schema(example = "https://hooks.example.com/groundwork")]
    pub url: String,
    /// Event types and `entity.*` filters.
    #[schema(example = json!(["organization.updated", "member.*"]))]
    pub events: Vec<String>,
    /// A note.
    pub description: Option<String>,
    /// Whether events are sent to it.
    pub enabled: bool,
    /// Why the server disabled it: `gone` (410) or `failing`.
    #[schema(example = "failing")]
    pub disabled_reason: Option<String>,
    /// Since when every attempt failed.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still signs too.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Webhook> for WebhookResponse {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id.to_string(),
            url: w.url,
            events: w.events.as_strings(),
            description: w.description,
            enabled: w.enabled,
            disabled_reason: w.disabled_reason.map(|r| r.as_str().to_owned()),
            failing_since: w.failing_since,
            previous_secret_expires_at: w.previous_secret_expires_at,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// A webhook and its signing secret, answered by create and rotate only.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookWithSecretResponse {
    /// The webhook.
    #[serde(flatten)]
    pub webhook: WebhookResponse,
    /// `whsec_` + base64 of 32 bytes: the HMAC key is the decoded part. Shown
    /// this once.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

impl From<app::webhooks::WebhookWithSecret> for WebhookWithSecretResponse {
    fn from(created: app::webhooks::WebhookWithSecret) -> Self {
        Self {
            secret: created.secret.as_str().to_owned(),
            webhook: WebhookResponse::from(created.webhook),
        }
    }
}

page_response! {
    /// A page of webhooks.
    WebhookPage: WebhookResponse, from Webhook
}

/// One attempt of the delivery log.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryResponse {
    /// `dlv_...`
    pub id: String,
    /// The event (`webhook-id`), the same on every attempt.
    #[schema(example = "evt_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub event_id: String,
    /// The event's type.
    #[schema(example = "organization.updated")]
    pub event_type: String,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: i32,
    /// `succeeded` or `failed`.
    #[schema(inline)]
    pub status: DeliveryStatus,
    /// The receiver's status code.
    pub response_code: Option<i32>,
    /// Time to the answer (or the failure), in milliseconds.
    pub latency_ms: i64,
    /// The first 4 KiB of the answer's body.
    pub response_body: Option<String>,
    /// `timeout`, `connect`, `tls`, `ssrf`, `http_status` or `redirect`.
    #[schema(example = "http_status")]
    pub error_class: Option<String>,
    /// More about the failure.
    pub error: Option<String>,
    /// When the attempt was made.
    pub created_at: DateTime<Utc>,
}

impl From<WebhookDelivery> for DeliveryResponse {
    fn from(d: WebhookDelivery) -> Self {
        Self {
            id: d.id.to_string(),
            event_id: d.event_id.to_string(),
            event_type: d.event_type,
            attempt: d.attempt,
            status: d.status,
            response_code: d.response_code,
            latency_ms: d.latency_ms,
            response_body: d.response_body,
            error_class: d.error_class.map(|c| c.as_str().to_owned()),
            error: d.error,
            created_at: d.created_at,
        }
    }
}

page_response! {
    /// A page of a delivery log.
    DeliveryPage: DeliveryResponse, from WebhookDelivery
}

/// An event queued for one attempt (a replay or a test).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuedEventResponse {
    /// The event (`webhook-id`); its attempt appears in the delivery log.
    pub event_id: String,
}

/// The delivery log's filter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct DeliveryFilterQuery {
    /// Only attempts that ended so: `succeeded` or `failed`.
    #[param(pattern = "^(succeeded|failed)$")]
    pub status: Option<String>,
}

/// Creates a webhook (admin+). Answers the signing secret, this once. 422
/// `WEBHOOK_URL_FORBIDDEN` for a host that is, or resolves to, a private,
/// loopback or link-local address.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/webhooks",
    tag = "webhooks",
    params(Org),
    request_body = CreateWebhookRequest,
    security(("bearer" = [])),
    responses(
        Org,
        (status = 201, body = WebhookWithSecretResponse, headers(("Location" = String, description = "/v1/organizations/{orgId}/webhooks/{webhookId}"))),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (WEBHOOK_URL_FORBIDDEN, INVALID_URL, HTTPS_REQUIRED, UNKNOWN_EVENT, DUPLICATE_EVENT, TOO_MANY, TOO_LONG, REQUIRED)"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/webhooks")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    state: web::Data<AppState>,
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    JsonBody(body): JsonBody<CreateWebhookRequest>,
) -> Result<HttpResponse> {
    let draft = body.into_draft(state.webhook_url_policy)?;
    let created = service::create(&db, &state.keyring, &state.url_guard, &ctx, org, draft).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            LOCATION,
            format!("/v1/organizations/{org}/webhooks/{}", created.webhook.id),
        ))
        .json(WebhookWithSecretResponse::from(created)))
}

/// The organization's webhooks (admin+); `searchQuery` matches the URL and
/// the description.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/webhooks",
    tag = "webhooks",
    params(Org, ListParams<WebhookSort>),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = WebhookPage),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/webhooks")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::<WebhookSort>::parse(&raw)?;
    let page = service::list(&db, &ctx, org, &request).await?;
    Ok(HttpResponse::Ok().json(WebhookPage::from(page)))
}

/// One webhook (admin+).
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/webhooks/{webhookId}",
    tag = "webhooks",
    params(WebhookPath),
    security(("bearer" = [])),
    responses(
        WebhookPath,
        (status = 200, body = WebhookResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/webhooks/{webhookId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_one(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): WebhookPath,
) -> Result<HttpResponse> {
    let webhook = service::get(&db, &ctx, org, id).await?;
    Ok(HttpResponse::Ok().json(WebhookResponse::from(webhook)))
}

/// Changes a webhook (admin+); `enabled: true` on a disabled webhook clears
/// `failingSince` and `disabledReason`.
#[utoipa::path(
    patch,
    path = "/v1/organizations/{orgId}/webhooks/{webhookId}",
    tag = "webhooks",
    params(WebhookPath),
    request_body = UpdateWebhookRequest,
    security(("bearer" = [])),
    responses(
        WebhookPath,
        (status = 200, body = WebhookResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (WEBHOOK_URL_FORBIDDEN, UNKNOWN_EVENT, ...)"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[patch("/organizations/{orgId}/webhooks/{webhookId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    state: web::Data<AppState>,
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): WebhookPath,
    JsonBody(body): JsonBody<UpdateWebhookRequest>,
) -> Result<HttpResponse> {
    let changes = body.into_changes(state.webhook_url_policy)?;
    let webhook = service::update(&db, &state.url_guard, &ctx, org, id, changes).await?;
    Ok(HttpResponse::Ok().json(WebhookResponse::from(webhook)))
}

/// Deletes a webhook and its delivery log (admin+); its queued events are dropped.
#[utoipa::path(
    delete,
    path = "/v1/organizations/{orgId}/webhooks/{webhookId}",
    tag = "webhooks",
    params(WebhookPath),
    security(("bearer" = [])),
    responses(
        WebhookPath,
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        SessionProblems, DatabaseProblems,
    )
)]
#[delete("/organizations/{orgId}/webhooks/{webhookId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_one(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): WebhookPath,
) -> Result<HttpResponse> {
    service::delete(&db, &ctx, org, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new signing secret (admin+), answered this once; for 24 hours every
/// delivery carries a signature by each (`v1,<new> v1,<old>`).
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/webhooks/{webhookId}/rotate-secret",
    tag = "webhooks",
    params(WebhookPath),
    security(("bearer" = [])),
    responses(
        WebhookPath,
        (status = 200, body = WebhookWithSecretResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/webhooks/{webhookId}/rotate-secret")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): WebhookPath,
) -> Result<HttpResponse> {
    let rotated = service::rotate_secret(&db, &state.keyring, &ctx, org, id).await?;
    Ok(HttpResponse::Ok().json(WebhookWithSecretResponse::from(rotated)))
}

/// The webhook's delivery log (admin+), newest first by default; `status` filters.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/webhooks/{webhookId}/deliveries",
    tag = "webhooks",
    params(WebhookPath, ListParams<DeliverySort>, DeliveryFilterQuery),
    security(("bearer" = [])),
    responses(
        WebhookPath,
        (status = 200, body = DeliveryPage),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (an unknown status, INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/webhooks/{webhookId}/deliveries")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_deliveries(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): WebhookPath,
    ListQuery(raw): ListQuery,
    filter: web::Query<DeliveryFilterQuery>,
) -> Result<HttpResponse> {
    let request = PageRequest::<DeliverySort>::parse(&raw)?;
    let status = enum_filter::<DeliveryStatus>("status", filter.into_inner().status)?;
    let page =
        service::list_deliveries(&db, &ctx, org, id, &DeliveryFilter { status }, &request).await?;
    Ok(HttpResponse::Ok().json(DeliveryPage::from(page)))
}

/// Sends a logged delivery's event again, once, signed with the current
/// secret (admin+): 202; the attempt appears in the log as a new row.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}/replay",
    tag = "webhooks",
    params(DeliveryPath),
    security(("bearer" = [])),
    responses(
        DeliveryPath,
        (status = 202, body = QueuedEventResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}/replay")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn replay(
    Caller { ctx, db, .. }: Caller,
    OrgSubItem(org, id, delivery): DeliveryPath,
) -> Result<HttpResponse> {
    let event = service::replay(&db, &ctx, org, id, delivery).await?;
    Ok(HttpResponse::Accepted().json(QueuedEventResponse {
        event_id: event.to_string(),
    }))
}

/// Sends a `webhook.test` event to the webhook, once (admin+): 202.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/webhooks/{webhookId}/test",
    tag = "webhooks",
    params(WebhookPath),
    security(("bearer" = [])),
    responses(
        WebhookPath,
        (status = 202, body = QueuedEventResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/webhooks/{webhookId}/test")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn send_test(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, id): WebhookPath,
) -> Result<HttpResponse> {
    let event = service::send_test(&db, &ctx, org, id).await?;
    Ok(HttpResponse::Accepted().json(QueuedEventResponse {
        event_id: event.to_string(),
    }))
}
