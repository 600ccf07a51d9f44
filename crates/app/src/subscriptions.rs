//! Subscriptions: any member reads the organization's; a platform admin sets
//! its plan, status, period end and `cancelAtPeriodEnd` (audited
//! `subscription.updated`). Every change of an organization's plan goes
//! through [`move_to_plan`] or [`set`], which write the subscription and the
//! organization's plan key in one transaction.

use domain::access::Operation;
use domain::admin::PlatformAdmin;
use domain::plans::{PLAN_NOT_FOUND, Plan, PlanKey};
use domain::subscriptions::{Subscription, SubscriptionChange, unknown_plan};
use domain::{AuditAction, AuditEntity, AuditEvent, Changes, DomainError, OrganizationId};
use infra::Database;
use infra::repositories::{
    AuditLogRepository, OrganizationRepository, PlanRepository, SubscriptionRepository,
};
use sea_orm::ConnectionTrait;

use crate::{Context, access};

/// The plan with `key`, or 422 `UNKNOWN_PLAN` (against `plan`) when none.
pub(crate) async fn known_plan<C: ConnectionTrait>(
    conn: &C,
    ctx: &Context,
    key: &PlanKey,
) -> Result<Plan, DomainError> {
    match PlanRepository::at(conn, ctx.now).find(key).await {
        Err(DomainError::NotFound { code, .. }) if Some(code) == not_found_code() => {
            Err(unknown_plan("plan", key))
        }
        other => other,
    }
}

fn not_found_code() -> Option<&'static str> {
    match PLAN_NOT_FOUND {
        DomainError::NotFound { code, .. } => Some(code),
        _ => None,
    }
}

/// Moves organization `organization`'s subscription to plan `key` (the
/// caller holds the organization's lock, in a unit of work); the same plan
/// again changes nothing. 422 `UNKNOWN_PLAN` when no plan has the key.
pub(crate) async fn move_to_plan<C: ConnectionTrait>(
    conn: &C,
    ctx: &Context,
    organization: OrganizationId,
    key: &PlanKey,
) -> Result<Subscription, DomainError> {
    let plan = known_plan(conn, ctx, key).await?;
    let subs = SubscriptionRepository::at(conn, ctx.now);
    let mut sub = subs.find_for_update(organization).await?;
    if sub.plan_id == plan.id {
        return Ok(sub);
    }
    sub.plan_id = plan.id;
    sub.plan = plan.key;
    subs.save(&sub).await
}

/// The organization's subscription (any member or key).
pub async fn get(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
) -> Result<Subscription, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ReadSubscription).await?;
    SubscriptionRepository::at(db.conn(), ctx.now)
        .find_for(organization)
        .await
}

/// Sets the live organization's subscription (a platform admin), with a
/// `subscription.updated` audit row in the organization when anything
/// changed. `NotFound` (`ORGANIZATION_NOT_FOUND`) unless the organization is
/// live; 422 `UNKNOWN_PLAN`; 409 `INVALID_SUBSCRIPTION_TRANSITION`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    organization: OrganizationId,
    change: SubscriptionChange,
) -> Result<Subscription, DomainError> {
    let uow = db.begin().await?;
    OrganizationRepository::at(uow.conn(), ctx.now)
        .lock(organization)
        .await?;
    let plan = known_plan(uow.conn(), ctx, &change.plan).await?;
    let subs = SubscriptionRepository::at(uow.conn(), ctx.now);
    let before = subs.find_for_update(organization).await?;
    let after = change.apply(before.clone(), &plan)?;
    if after == before {
        return Ok(before);
    }
    let saved = subs.save(&after).await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(
                AuditAction::SubscriptionUpdated,
                AuditEntity::Subscription,
                saved.id,
            )
            .in_organization(organization)
            .with_changes(changes(&before, &saved)),
        )
        .await?;
    uow.commit().await?;
    Ok(saved)
}

/// What changed between two states of a subscription, for the audit trail.
pub(crate) fn changes(before: &Subscription, after: &Subscription) -> Changes {
    Changes::new()
        .field("plan", before.plan.as_str(), after.plan.as_str())
        .field("status", before.status.as_str(), after.status.as_str())
        .field(
            "currentPeriodStart",
            before.current_period_start,
            after.current_period_start,
        )
        .field(
            "currentPeriodEnd",
            before.current_period_end,
            after.current_period_end,
        )
        .field(
            "cancelAtPeriodEnd",
            before.cancel_at_period_end,
            after.cancel_at_period_end,
        )
}
