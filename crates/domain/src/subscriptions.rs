//! Subscriptions: an organization's standing with its plan. Every organization
//! has exactly one; its plan is the organization's plan (the caps every check
//! reads). A platform admin sets it, and so do the billing provider's events
//! (`crate::billing`). Its status moves only as [`transition`] allows.

use chrono::{DateTime, Utc};

use crate::error::{DomainError, Validation};
use crate::id::{OrganizationId, PlanId, SubscriptionId};
use crate::plans::{Plan, PlanKey};
use crate::text_enum;

/// 404 for an organization's subscription that cannot be found.
pub const SUBSCRIPTION_NOT_FOUND: DomainError =
    DomainError::not_found("subscription", "SUBSCRIPTION_NOT_FOUND");

/// 409 code for a status change [`transition`] refuses.
pub const INVALID_SUBSCRIPTION_TRANSITION: &str = "INVALID_SUBSCRIPTION_TRANSITION";

/// 422 code for a well-formed plan key that names no plan.
pub const UNKNOWN_PLAN: &str = "UNKNOWN_PLAN";

/// The 422 of a plan key, sent as `field`, that names no plan.
pub fn unknown_plan(field: &str, key: &PlanKey) -> DomainError {
    DomainError::invalid(field, UNKNOWN_PLAN, format!("there is no plan {key}"))
}

text_enum! {
    /// Where a subscription stands (Stripe's statuses, those that matter here).
    SubscriptionStatus {
        /// In a trial period.
        Trialing => "trialing",
        /// Paid up.
        Active => "active",
        /// A payment failed; the provider is retrying.
        PastDue => "past_due",
        /// Ended.
        Canceled => "canceled",
    }
}

/// `Ok` when a subscription may go from `from` to `to`, else 409
/// `INVALID_SUBSCRIPTION_TRANSITION`. Staying put is always fine. A trial
/// ends (`active`, `past_due`, `canceled`) and is never re-entered, except by
/// a new subscription after a cancellation; `active` and `past_due` go back
/// and forth as payments fail and succeed; anything may be canceled; a
/// canceled subscription comes back only as a new one (`trialing` or
/// `active`), never straight into `past_due`.
pub fn transition(from: SubscriptionStatus, to: SubscriptionStatus) -> Result<(), DomainError> {
    use SubscriptionStatus::*;
    let allowed = from == to
        || matches!(
            (from, to),
            (Trialing, Active | PastDue | Canceled)
                | (Active, PastDue | Canceled)
                | (PastDue, Active | Canceled)
                | (Canceled, Trialing | Active)
        );
    if allowed {
        Ok(())
    } else {
        Err(DomainError::state_conflict(
            INVALID_SUBSCRIPTION_TRANSITION,
            format!("a {from} subscription cannot become {to}"),
        ))
    }
}

/// An organization's subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Identity.
    pub id: SubscriptionId,
    /// Its organization (one subscription each).
    pub organization_id: OrganizationId,
    /// The plan.
    pub plan_id: PlanId,
    /// The plan's key.
    pub plan: PlanKey,
    /// Where it stands.
    pub status: SubscriptionStatus,
    /// The current billing period's start.
    pub current_period_start: Option<DateTime<Utc>>,
    /// The current billing period's end.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether it ends with the current period.
    pub cancel_at_period_end: bool,
    /// The billing provider (`stripe`), when one manages it.
    pub provider: Option<String>,
    /// The provider's customer (`cus_...`).
    pub provider_customer_id: Option<String>,
    /// The provider's subscription (`sub_...` at Stripe); unique.
    pub provider_subscription_id: Option<String>,
    /// The `created` time of the last provider event applied to it.
    pub last_event_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A validated platform admin's change of a subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionChange {
    /// The plan.
    pub plan: PlanKey,
    /// A new status (else unchanged).
    pub status: Option<SubscriptionStatus>,
    /// A new period end, or `Some(None)` to clear it (else unchanged).
    pub current_period_end: Option<Option<DateTime<Utc>>>,
    /// A new `cancelAtPeriodEnd` (else unchanged).
    pub cancel_at_period_end: Option<bool>,
}

impl SubscriptionChange {
    /// `sub` with this change applied, on `plan` (the plan [`Self::plan`]
    /// names), or 409 when its status may not move so.
    pub fn apply(self, mut sub: Subscription, plan: &Plan) -> Result<Subscription, DomainError> {
        if let Some(status) = self.status {
            transition(sub.status, status)?;
            sub.status = status;
        }
        sub.plan_id = plan.id;
        sub.plan = plan.key.clone();
        if let Some(end) = self.current_period_end {
            sub.current_period_end = end;
        }
        if let Some(cancel) = self.cancel_at_period_end {
            sub.cancel_at_period_end = cancel;
        }
        Ok(sub)
    }
}

/// A platform admin's change of a subscription, as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SetSubscriptionBody))]
#[serde(rename_all = "camelCase")]
pub struct SetSubscriptionRequest {
    /// A plan's key (422 `UNKNOWN_PLAN` when no plan has it).
    #[validate(required(code = "REQUIRED", message = "plan is required"))]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, pattern = "^[a-z][a-z0-9-]{0,49}$", example = "pro")
    )]
    pub plan: Option<String>,
    /// `trialing`, `active`, `past_due` or `canceled` (409
    /// `INVALID_SUBSCRIPTION_TRANSITION` for a move the rules refuse).
    #[validate(custom(function = "crate::validate::variant::<SubscriptionStatus>"))]
    #[cfg_attr(feature = "openapi", schema(example = "active"))]
    pub status: Option<String>,
    /// RFC 3339; `null` clears it.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime, nullable = true))]
    pub current_period_end: Option<Option<String>>,
    /// Whether it ends with the current period.
    pub cancel_at_period_end: Option<bool>,
}

impl TryFrom<SetSubscriptionRequest> for SubscriptionChange {
    type Error = DomainError;

    fn try_from(body: SetSubscriptionRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let plan = v
            .required("plan", body.plan)
            .and_then(|p| v.check("plan", PlanKey::parse(&p)));
        let status = match body.status {
            None => Some(None),
            Some(s) => v.check("status", s.parse::<SubscriptionStatus>()).map(Some),
        };
        let end = match body.current_period_end {
            None => Some(None),
            Some(None) => Some(Some(None)),
            Some(Some(raw)) => v
                .check("currentPeriodEnd", crate::validate::parse_timestamp(&raw))
                .map(|at| Some(Some(at))),
        };
        let (plan, (status, end)) = v.finish(plan.zip(status.zip(end)))?;
        Ok(Self {
            plan,
            status,
            current_period_end: end,
            cancel_at_period_end: body.cancel_at_period_end,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::SubscriptionStatus::*;
    use super::*;

    #[test]
    fn statuses_move_only_as_the_rules_say() {
        let all = [Trialing, Active, PastDue, Canceled];
        let allowed = [
            (Trialing, Active),
            (Trialing, PastDue),
            (Trialing, Canceled),
            (Active, PastDue),
            (Active, Canceled),
            (PastDue, Active),
            (PastDue, Canceled),
            (Canceled, Trialing),
            (Canceled, Active),
        ];
        for from in all {
            for to in all {
                let ok = from == to || allowed.contains(&(from, to));
                match transition(from, to) {
                    Ok(()) => assert!(ok, "{from} -> {to} should be refused"),
                    Err(DomainError::Conflict(c)) => {
                        assert!(!ok, "{from} -> {to} should be allowed");
                        assert_eq!(c.code, INVALID_SUBSCRIPTION_TRANSITION);
                    }
                    Err(other) => panic!("{other:?}"),
                }
            }
        }
    }
}
