//! Billing events from the provider (Stripe): each recorded once, applied to
//! the organization's subscription in the same transaction unless it is older
//! than the last one applied; listed for the organization's owners and for
//! platform admins.

use domain::access::Operation;
use domain::admin::PlatformAdmin;
use domain::billing::{
    BillingEvent, BillingEventSort, EVENT_ALREADY_RECEIVED, ProviderEvent, STRIPE,
    SubscriptionFacts, facts, in_order,
};
use domain::plans::PlanKey;
use domain::subscriptions::{Subscription, SubscriptionStatus, transition};
use domain::{DomainError, OrganizationId, Page, PageRequest};
use infra::Database;
use infra::repositories::{BillingEventRepository, PlanRepository, SubscriptionRepository};
use sea_orm::ConnectionTrait;

use crate::{Context, access};

/// What receiving an event did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// Recorded before: nothing changed.
    Duplicate,
    /// Recorded now; `applied` when it changed the subscription.
    Recorded {
        /// Whether the subscription changed.
        applied: bool,
        /// What it did, or why not.
        outcome: String,
    },
}

/// Records a verified Stripe event and applies it, all in one transaction: a
/// redelivery (even concurrent) finds its row and changes nothing.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn receive_stripe(
    db: &Database,
    ctx: &Context,
    event: ProviderEvent,
    payload: serde_json::Value,
) -> Result<Received, DomainError> {
    let uow = db.begin().await?;
    let events = BillingEventRepository::at(uow.conn(), ctx.now);
    let id = match events.insert(STRIPE, &event, payload).await {
        Ok(id) => id,
        Err(DomainError::Conflict(c)) if c.code == EVENT_ALREADY_RECEIVED => {
            return Ok(Received::Duplicate);
        }
        Err(e) => return Err(e),
    };
    let (organization, applied, outcome) = match facts(&event) {
        None => (
            None,
            false,
            "ignored: not an event this service acts on".to_owned(),
        ),
        Some(f) => apply(uow.conn(), ctx, &event, f).await?,
    };
    events
        .record_outcome(id, organization, applied, &outcome)
        .await?;
    uow.commit().await?;
    Ok(Received::Recorded { applied, outcome })
}

/// The subscription the event is about: by `metadata.organization_id`, else
/// by the provider's subscription, else by its customer; locked.
async fn find_subscription<C: ConnectionTrait>(
    conn: &C,
    ctx: &Context,
    f: &SubscriptionFacts,
) -> Result<Option<Subscription>, DomainError> {
    let subs = SubscriptionRepository::at(conn, ctx.now);
    let found = if let Some(org) = f.organization {
        subs.find_for_update(org).await
    } else if let Some(sub) = &f.provider_subscription_id {
        subs.find_by_provider_subscription_for_update(sub).await
    } else if let Some(customer) = &f.customer {
        subs.find_by_provider_customer_for_update(customer).await
    } else {
        return Ok(None);
    };
    match found {
        Ok(sub) => Ok(Some(sub)),
        Err(DomainError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn apply<C: ConnectionTrait>(
    conn: &C,
    ctx: &Context,
    event: &ProviderEvent,
    f: SubscriptionFacts,
) -> Result<(Option<OrganizationId>, bool, String), DomainError> {
    let Some(before) = find_subscription(conn, ctx, &f).await? else {
        return Ok((
            None,
            false,
            "not applied: no subscription matches".to_owned(),
        ));
    };
    let org = Some(before.organization_id);
    if let Err(why) = in_order(before.last_event_at, event.created) {
        return Ok((org, false, format!("not applied: {why}")));
    }
    let mut after = before.clone();
    // The plan: `free` once the subscription ended, else the one mapped to
    // the price (an unknown price keeps the plan, and says so).
    let mut note = String::new();
    let plans = PlanRepository::at(conn, ctx.now);
    let plan = if f.ended {
        Some(plans.find(&PlanKey::free()).await?)
    } else if let Some(price) = &f.price {
        match plans.find_by_provider_price(price).await {
            Ok(plan) => Some(plan),
            Err(DomainError::NotFound { .. }) => {
                note = format!("; no plan has price {price}, plan kept");
                None
            }
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    if let Some(plan) = plan {
        after.plan_id = plan.id;
        after.plan = plan.key;
    }
    if let Some(status) = f.status {
        if let Err(e) = transition(before.status, status) {
            return Ok((org, false, format!("not applied: {e}")));
        }
        after.status = status;
    }
    if f.provider_subscription_id.is_some() && event.event_type.starts_with("customer.") {
        after.provider_subscription_id = f.provider_subscription_id;
    }
    if f.customer.is_some() {
        after.provider_customer_id = f.customer;
    }
    after.provider = Some(STRIPE.to_owned());
    after.current_period_start = f.period_start.or(after.current_period_start);
    after.current_period_end = f.period_end.or(after.current_period_end);
    if let Some(cancel) = f.cancel_at_period_end {
        after.cancel_at_period_end = cancel;
    }
    after.last_event_at = Some(event.created);
    SubscriptionRepository::at(conn, ctx.now)
        .save(&after)
        .await?;
    let status = after.status;
    let outcome = format!(
        "applied: plan {}, status {}{note}",
        after.plan,
        SubscriptionStatus::as_str(status)
    );
    Ok((org, true, outcome))
}

/// One page of the organization's billing events (its owners).
pub async fn list_for_organization(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    request: &PageRequest<BillingEventSort>,
) -> Result<Page<BillingEvent>, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ListBillingEvents).await?;
    BillingEventRepository::at(db.conn(), ctx.now)
        .list(Some(organization), request)
        .await
}

/// One page of every billing event (platform admins), matched or not.
pub async fn list_all(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    request: &PageRequest<BillingEventSort>,
) -> Result<Page<BillingEvent>, DomainError> {
    BillingEventRepository::at(db.conn(), ctx.now)
        .list(None, request)
        .await
}
