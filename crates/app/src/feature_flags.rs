//! Feature flags: platform admins create, list, read, change and delete them
//! (each write audited, in no organization); any member of an organization
//! reads every flag's value for it.

use std::collections::BTreeMap;

use domain::access::Operation;
use domain::admin::PlatformAdmin;
use domain::feature_flags::{
    Evaluation, FEATURE_FLAG_NOT_FOUND, FeatureFlag, FeatureFlagChanges, FeatureFlagDraft,
    FeatureFlagSort, FlagKey,
};
use domain::{
    AuditAction, AuditEntity, AuditEvent, Changes, DomainError, OrganizationId, Page, PageRequest,
};
use infra::Database;
use infra::repositories::{AuditLogRepository, FeatureFlagRepository};

use crate::{Context, access};

/// Creates a flag, with a `feature_flag.created` audit row. `Conflict`
/// (`FLAG_KEY_TAKEN`) when another flag has the key.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    draft: FeatureFlagDraft,
) -> Result<FeatureFlag, DomainError> {
    let uow = db.begin().await?;
    let flag = FeatureFlagRepository::at(uow.conn(), ctx.now)
        .insert(&draft)
        .await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(
                AuditAction::FeatureFlagCreated,
                AuditEntity::FeatureFlag,
                flag.id,
            )
            .with_changes(
                Changes::new()
                    .created("key", flag.key.as_str())
                    .created("description", &flag.description)
                    .created("enabled", flag.enabled)
                    .created("rolloutPercent", flag.rollout_percent.get())
                    .created("allowOrganizations", &flag.allow_organizations)
                    .created("denyOrganizations", &flag.deny_organizations),
            ),
        )
        .await?;
    uow.commit().await?;
    Ok(flag)
}

/// One page of the flags.
pub async fn list(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    request: &PageRequest<FeatureFlagSort>,
) -> Result<Page<FeatureFlag>, DomainError> {
    FeatureFlagRepository::at(db.conn(), ctx.now)
        .list(request)
        .await
}

/// The flag with `key`. `NotFound` (`FEATURE_FLAG_NOT_FOUND`) when none.
pub async fn get(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    key: &FlagKey,
) -> Result<FeatureFlag, DomainError> {
    FeatureFlagRepository::at(db.conn(), ctx.now)
        .find(key)
        .await
}

/// Changes the flag with `key`, with a `feature_flag.updated` audit row when
/// anything changed. `NotFound` (`FEATURE_FLAG_NOT_FOUND`) when none.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    key: &FlagKey,
    changes: FeatureFlagChanges,
) -> Result<FeatureFlag, DomainError> {
    let uow = db.begin().await?;
    let flags = FeatureFlagRepository::at(uow.conn(), ctx.now);
    let before = flags.find_for_update(key).await?;
    let after = changes.apply(before.clone());
    if after == before {
        return Ok(before);
    }
    let flag = flags.save(&after).await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(
                AuditAction::FeatureFlagUpdated,
                AuditEntity::FeatureFlag,
                flag.id,
            )
            .with_changes(
                Changes::new()
                    .field("description", &before.description, &flag.description)
                    .field("enabled", before.enabled, flag.enabled)
                    .field(
                        "rolloutPercent",
                        before.rollout_percent.get(),
                        flag.rollout_percent.get(),
                    )
                    .field(
                        "allowOrganizations",
                        &before.allow_organizations,
                        &flag.allow_organizations,
                    )
                    .field(
                        "denyOrganizations",
                        &before.deny_organizations,
                        &flag.deny_organizations,
                    ),
            ),
        )
        .await?;
    uow.commit().await?;
    Ok(flag)
}

/// Deletes the flag with `key` for good, with a `feature_flag.deleted` audit
/// row. `NotFound` (`FEATURE_FLAG_NOT_FOUND`) when none.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(
    db: &Database,
    ctx: &Context,
    _admin: PlatformAdmin,
    key: &FlagKey,
) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    let flags = FeatureFlagRepository::at(uow.conn(), ctx.now);
    let flag = flags.find_for_update(key).await?;
    if !flags.delete(flag.id).await? {
        return Err(FEATURE_FLAG_NOT_FOUND);
    }
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(
                AuditAction::FeatureFlagDeleted,
                AuditEntity::FeatureFlag,
                flag.id,
            )
            .with_changes(Changes::new().field("key", flag.key.as_str(), None::<&str>)),
        )
        .await?;
    uow.commit().await
}

/// Every flag's value for `organization`, by key (any member or key of it).
pub async fn evaluate(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
) -> Result<BTreeMap<String, Evaluation>, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ReadFeatureFlags).await?;
    let flags = FeatureFlagRepository::at(db.conn(), ctx.now).all().await?;
    Ok(flags
        .into_iter()
        .map(|flag| {
            let value = flag.evaluate(organization);
            (flag.key.as_str().to_owned(), value)
        })
        .collect())
}
