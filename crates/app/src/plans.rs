//! Plans: platform admins create, list, read, change and delete them (each
//! write audited, in no organization). A change to a plan's caps reaches every
//! organization on it at its next cap check; no subscription is rewritten.

use domain::admin::PlatformAdmin;
use domain::plans::{
    PLAN_NOT_FOUND, Plan, PlanChanges, PlanDraft, PlanKey, PlanSort, may_delete, plan_in_use,
};
use domain::{AuditAction, AuditEntity, AuditEvent, Changes, DomainError, Page, PageRequest};
use infra::Database;
use infra::repositories::{AuditLogRepository, PlanRepository};

use crate::Context;

/// Every field of `plan` an audit row shows, as `(field, value)`.
fn fields(plan: &Plan) -> [(&'static str, serde_json::Value); 10] {
    let l = plan.limits;
    [
        ("name", plan.name.clone().into()),
        ("maxMembers", l.max_members.into()),
        ("maxApiKeys", l.max_api_keys.into()),
        ("maxJobs", l.max_jobs.into()),
        ("maxConcurrentTasks", l.max_concurrent_tasks.into()),
        ("monthlyTokenQuota", l.monthly_token_quota.into()),
        ("priceCents", plan.price_cents.into()),
        ("currency", plan.currency.as_str().into()),
        ("providerPriceId", plan.provider_price_id.clone().into()),
        ("key", plan.key.as_str().into()),
    ]
}

/// Creates a plan, with a `plan.created` audit row. `Conflict`
/// (`PLAN_KEY_TAKEN`, `PROVIDER_PRICE_TAKEN`) when another plan has the key or
/// the provider price.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    draft: PlanDraft,
) -> Result<Plan, DomainError> {
    let uow = db.begin().await?;
    let plan = PlanRepository::at(uow.conn(), ctx.now)
        .insert(&draft)
        .await?;
    let changes = fields(&plan)
        .into_iter()
        .fold(Changes::new(), |c, (field, value)| c.created(field, value));
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::PlanCreated, AuditEntity::Plan, plan.id)
                .with_changes(changes),
        )
        .await?;
    uow.commit().await?;
    Ok(plan)
}

/// One page of the plans.
pub async fn list(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    request: &PageRequest<PlanSort>,
) -> Result<Page<Plan>, DomainError> {
    PlanRepository::at(db.conn(), ctx.now).list(request).await
}

/// The plan with `key`. `NotFound` (`PLAN_NOT_FOUND`) when none.
pub async fn get(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    key: &PlanKey,
) -> Result<Plan, DomainError> {
    PlanRepository::at(db.conn(), ctx.now).find(key).await
}

/// Changes the plan with `key`, with a `plan.updated` audit row when anything
/// changed. `NotFound` (`PLAN_NOT_FOUND`) when none; `Conflict`
/// (`PROVIDER_PRICE_TAKEN`) when another plan has the new provider price.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    key: &PlanKey,
    changes: PlanChanges,
) -> Result<Plan, DomainError> {
    let uow = db.begin().await?;
    let plans = PlanRepository::at(uow.conn(), ctx.now);
    let before = plans.find_for_update(key).await?;
    let after = changes.apply(before.clone());
    if after == before {
        return Ok(before);
    }
    let plan = plans.save(&after).await?;
    let changes = fields(&before)
        .into_iter()
        .zip(fields(&plan))
        .fold(Changes::new(), |c, ((field, old), (_, new))| {
            c.field(field, old, new)
        });
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::PlanUpdated, AuditEntity::Plan, plan.id)
                .with_changes(changes),
        )
        .await?;
    uow.commit().await?;
    Ok(plan)
}

/// Deletes the plan with `key` for good, with a `plan.deleted` audit row.
/// `NotFound` (`PLAN_NOT_FOUND`) when none; `Conflict` `PLAN_REQUIRED` for
/// `free`, `PLAN_IN_USE` while an organization is on it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    key: &PlanKey,
) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    let plans = PlanRepository::at(uow.conn(), ctx.now);
    let plan = plans.find_for_update(key).await?;
    may_delete(&plan.key)?;
    if plans.in_use(&plan.key).await? {
        return Err(plan_in_use(&plan.key));
    }
    if !plans.delete(plan.id).await? {
        return Err(PLAN_NOT_FOUND);
    }
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::PlanDeleted, AuditEntity::Plan, plan.id)
                .with_changes(Changes::new().field("key", plan.key.as_str(), None::<&str>)),
        )
        .await?;
    uow.commit().await
}
