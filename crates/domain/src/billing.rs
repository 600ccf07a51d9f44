//! Billing events: what the billing provider (Stripe) tells about an
//! organization's subscription, delivered at least once and in any order.
//! Each event is recorded once (by its provider and ID); it changes the
//! subscription unless it is older than the last one applied to it.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::DomainError;
use crate::id::{BillingEventId, OrganizationId};
use crate::subscriptions::SubscriptionStatus;

/// The provider of the Stripe webhook.
pub const STRIPE: &str = "stripe";

/// 401 for a missing or bad `Stripe-Signature`, or a timestamp outside the
/// tolerance: nothing is written.
pub const INVALID_SIGNATURE: DomainError = DomainError::Unauthenticated {
    code: "INVALID_SIGNATURE",
    message: "The Stripe-Signature header is missing, wrong, or too old.",
};

/// The conflict code of an event recorded already: a redelivery (200, no effect).
pub const EVENT_ALREADY_RECEIVED: &str = "EVENT_ALREADY_RECEIVED";

crate::sort_by! {
    /// `sortBy` of the billing event lists.
    BillingEventSort {
        /// Receipt time (the default).
        CreatedAt => "createdAt",
    }
}

/// An event as the provider sent it (the fields this service reads).
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderEvent {
    /// The provider's ID (`evt_...`): a redelivery carries the same.
    pub id: String,
    /// `customer.subscription.updated`, `invoice.paid`, ...
    pub event_type: String,
    /// When the provider created it: orders events for one subscription.
    pub created: DateTime<Utc>,
    /// `data.object`.
    pub object: Value,
}

impl ProviderEvent {
    /// Reads a Stripe event (`{id, type, created, data: {object}}`); `None`
    /// when it lacks one of them.
    pub fn from_stripe(event: &Value) -> Option<Self> {
        Some(Self {
            id: event.get("id")?.as_str()?.to_owned(),
            event_type: event.get("type")?.as_str()?.to_owned(),
            created: DateTime::from_timestamp(event.get("created")?.as_i64()?, 0)?,
            object: event.get("data")?.get("object")?.clone(),
        })
    }
}

/// What an event says about a subscription.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SubscriptionFacts {
    /// `metadata.organization_id` (`org_...`), when it parses.
    pub organization: Option<OrganizationId>,
    /// The provider's subscription (`sub_...`).
    pub provider_subscription_id: Option<String>,
    /// The provider's customer (`cus_...`).
    pub customer: Option<String>,
    /// The price, which maps to a plan by `plans.provider_price_id`.
    pub price: Option<String>,
    /// The new status.
    pub status: Option<SubscriptionStatus>,
    /// The current period.
    pub period_start: Option<DateTime<Utc>>,
    /// The current period's end.
    pub period_end: Option<DateTime<Utc>>,
    /// Whether it ends with the period.
    pub cancel_at_period_end: Option<bool>,
    /// `customer.subscription.deleted`: the subscription ended (back to `free`).
    pub ended: bool,
}

/// Stripe's subscription statuses as this service keeps them: `unpaid`,
/// `incomplete` and `paused` are `past_due` (not paid up),
/// `incomplete_expired` is `canceled`.
pub fn stripe_status(raw: &str) -> Option<SubscriptionStatus> {
    use SubscriptionStatus::*;
    Some(match raw {
        "trialing" => Trialing,
        "active" => Active,
        "past_due" | "unpaid" | "incomplete" | "paused" => PastDue,
        "canceled" | "incomplete_expired" => Canceled,
        _ => return None,
    })
}

fn text(v: &Value, path: &[&str]) -> Option<String> {
    path.iter()
        .try_fold(v, |v, key| v.get(key))?
        .as_str()
        .map(str::to_owned)
}

fn time(v: &Value, path: &[&str]) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(path.iter().try_fold(v, |v, key| v.get(key))?.as_i64()?, 0)
}

/// What `event` says about a subscription, or `None` for an event type this
/// service does not act on (it is recorded all the same).
/// `customer.subscription.created|updated|deleted` carry the subscription;
/// `invoice.paid` makes it `active`, `invoice.payment_failed` `past_due`.
pub fn facts(event: &ProviderEvent) -> Option<SubscriptionFacts> {
    let o = &event.object;
    let item = o
        .get("items")
        .and_then(|i| i.get("data"))
        .and_then(|d| d.get(0));
    match event.event_type.as_str() {
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let ended = event.event_type == "customer.subscription.deleted";
            let period =
                |field: &str| time(o, &[field]).or_else(|| item.and_then(|i| time(i, &[field])));
            Some(SubscriptionFacts {
                organization: text(o, &["metadata", "organization_id"])
                    .and_then(|id| id.parse().ok()),
                provider_subscription_id: text(o, &["id"]),
                customer: text(o, &["customer"]),
                price: item.and_then(|i| text(i, &["price", "id"])),
                status: if ended {
                    Some(SubscriptionStatus::Canceled)
                } else {
                    text(o, &["status"]).as_deref().and_then(stripe_status)
                },
                period_start: period("current_period_start"),
                period_end: period("current_period_end"),
                cancel_at_period_end: o.get("cancel_at_period_end").and_then(Value::as_bool),
                ended,
            })
        }
        "invoice.paid" | "invoice.payment_failed" => Some(SubscriptionFacts {
            organization: text(o, &["subscription_details", "metadata", "organization_id"])
                .and_then(|id| id.parse().ok()),
            provider_subscription_id: text(o, &["subscription"])
                .or_else(|| text(o, &["parent", "subscription_details", "subscription"])),
            customer: text(o, &["customer"]),
            status: Some(if event.event_type == "invoice.paid" {
                SubscriptionStatus::Active
            } else {
                SubscriptionStatus::PastDue
            }),
            ..SubscriptionFacts::default()
        }),
        _ => None,
    }
}

/// `Ok` when an event created at `created` may change a subscription whose
/// last applied event was created at `last`; else why not. An event as old as
/// the last one applies (Stripe's `created` has whole seconds).
pub fn in_order(last: Option<DateTime<Utc>>, created: DateTime<Utc>) -> Result<(), &'static str> {
    match last {
        Some(last) if created < last => {
            Err("older than the last event applied to the subscription")
        }
        _ => Ok(()),
    }
}

/// A recorded provider event.
#[derive(Clone, Debug, PartialEq)]
pub struct BillingEvent {
    /// Identity.
    pub id: BillingEventId,
    /// `stripe`.
    pub provider: String,
    /// The provider's event ID.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The organization it was matched to, if any.
    pub organization_id: Option<OrganizationId>,
    /// Whether it changed the subscription.
    pub applied: bool,
    /// What it did, or why it did nothing.
    pub outcome: Option<String>,
    /// When the provider created it.
    pub event_created_at: DateTime<Utc>,
    /// The event as delivered.
    pub payload: Value,
    /// When it was received.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_older_event_does_not_apply() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert!(in_order(None, t).is_ok());
        assert!(in_order(Some(t), t).is_ok());
        assert!(in_order(Some(t), t + chrono::TimeDelta::seconds(1)).is_ok());
        assert!(in_order(Some(t), t - chrono::TimeDelta::seconds(1)).is_err());
    }

    #[test]
    fn a_subscription_event_says_plan_status_and_period() {
        let event = ProviderEvent::from_stripe(&json!({
            "id": "evt_1", "type": "customer.subscription.updated", "created": 1_700_000_000,
            "data": {"object": {
                "id": "sub_1", "customer": "cus_1", "status": "unpaid",
                "cancel_at_period_end": true,
                "metadata": {"organization_id": "org_01JD6Z3Q9V7X2M4N8P0R5T1W3Y"},
                "items": {"data": [{"price": {"id": "price_pro"},
                    "current_period_start": 1_700_000_000, "current_period_end": 1_702_592_000}]}
            }}
        }))
        .unwrap();
        let f = facts(&event).unwrap();
        assert_eq!(f.price.as_deref(), Some("price_pro"));
        assert_eq!(f.status, Some(SubscriptionStatus::PastDue));
        assert_eq!(f.provider_subscription_id.as_deref(), Some("sub_1"));
        assert!(f.organization.is_some());
        assert_eq!(f.period_end, DateTime::from_timestamp(1_702_592_000, 0));
        assert_eq!(f.cancel_at_period_end, Some(true));
        let other = ProviderEvent {
            event_type: "charge.refunded".into(),
            ..event
        };
        assert_eq!(facts(&other), None);
    }
}
