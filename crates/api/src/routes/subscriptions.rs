//! `GET /v1/organizations/{orgId}/subscription`: any member reads the
//! organization's subscription; `POST /v1/admin/organizations/{orgId}/subscription`:
//! a platform admin sets it.

use actix_web::{HttpResponse, get, post, web};
use app::subscriptions as service;
use chrono::{DateTime, Utc};
use domain::subscriptions::{SetSubscriptionRequest, Subscription, SubscriptionChange};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::admin_auth::AdminUser;
use crate::auth::Caller;
use crate::error::{Problem, Result};
use crate::extract::JsonBody;
use crate::openapi::{DatabaseProblems, JsonBodyProblems, SessionProblems};
use crate::paths::{Item, Org, OrganizationPath};

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(get_one, set),
    components(schemas(SubscriptionResponse, SetSubscriptionRequest))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_one).service(set);
}

/// An organization's subscription.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionResponse {
    /// `sub_...`
    #[schema(example = "sub_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// `org_...`
    pub organization_id: String,
    /// The plan's key: the organization's plan.
    #[schema(example = "pro")]
    pub plan: String,
    /// `trialing`, `active`, `past_due` or `canceled`.
    #[schema(example = "active")]
    pub status: String,
    /// The current billing period's start.
    pub current_period_start: Option<DateTime<Utc>>,
    /// The current billing period's end.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether it ends with the current period.
    pub cancel_at_period_end: bool,
    /// `stripe` when the billing provider manages it.
    pub provider: Option<String>,
    /// The provider's customer.
    pub provider_customer_id: Option<String>,
    /// The provider's subscription.
    pub provider_subscription_id: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Subscription> for SubscriptionResponse {
    fn from(s: Subscription) -> Self {
        Self {
            id: s.id.to_string(),
            organization_id: s.organization_id.to_string(),
            plan: s.plan.as_str().to_owned(),
            status: s.status.as_str().to_owned(),
            current_period_start: s.current_period_start,
            current_period_end: s.current_period_end,
            cancel_at_period_end: s.cancel_at_period_end,
            provider: s.provider,
            provider_customer_id: s.provider_customer_id,
            provider_subscription_id: s.provider_subscription_id,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// The organization's subscription (any member or key).
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/subscription",
    tag = "subscriptions",
    params(Org),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = SubscriptionResponse),
        SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/subscription")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_one(Caller { ctx, db, .. }: Caller, Org(org): Org) -> Result<HttpResponse> {
    let sub = service::get(&db, &ctx, org).await?;
    Ok(HttpResponse::Ok().json(SubscriptionResponse::from(sub)))
}

/// Sets the organization's subscription (platform admins): its plan, and
/// optionally its status, period end and `cancelAtPeriodEnd`; audited
/// `subscription.updated` in the organization. The same values again change
/// nothing.
#[utoipa::path(
    post,
    path = "/v1/admin/organizations/{orgId}/subscription",
    tag = "admin",
    params(OrganizationPath),
    request_body = SetSubscriptionRequest,
    security(("bearer" = [])),
    responses(
        OrganizationPath,
        (status = 200, body = SubscriptionResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "INVALID_SUBSCRIPTION_TRANSITION"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (REQUIRED, INVALID_FORMAT, INVALID_VALUE, UNKNOWN_PLAN)"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/admin/organizations/{orgId}/subscription")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set(
    AdminUser { admin, ctx, db }: AdminUser,
    Item(org): OrganizationPath,
    JsonBody(body): JsonBody<SetSubscriptionRequest>,
) -> Result<HttpResponse> {
    let change = SubscriptionChange::try_from(body)?;
    let sub = service::set(&db, &ctx, admin, org, change).await?;
    Ok(HttpResponse::Ok().json(SubscriptionResponse::from(sub)))
}
