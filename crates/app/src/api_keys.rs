//! API keys: create (the key is returned once), list, revoke.

use domain::access::Operation;
use domain::api_keys::ApiKeySort;
use domain::api_keys::{API_KEY_NOT_FOUND, ApiKey, ApiKeyDraft, may_grant};
use domain::plans::ensure_room;
use domain::{
    ApiKeyId, AuditAction, AuditEntity, AuditEvent, Changes, DomainError, OrganizationId, Page,
    PageRequest,
};

use crate::access;
use infra::Database;
use infra::repositories::{ApiKeyRepository, AuditLogRepository, OrganizationRepository};
use infra::security::issue_api_key;
use sea_orm::ConnectionTrait;

use crate::Context;

/// A new key and its secret, which is never available again.
#[derive(Debug)]
pub struct CreatedApiKey {
    /// The stored key.
    pub key: ApiKey,
    /// `gwk_...`: shown to the creator once.
    pub secret: String,
}

/// Creates a key for the organization (a person who is admin or owner; the key's
/// role at most theirs). `Forbidden`: `INSUFFICIENT_ROLE`, `USER_REQUIRED` for a
/// key, `PLAN_LIMIT_REACHED` when the plan's active keys are all in use (checked
/// under the organization's lock, so concurrent creations cannot overshoot).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    draft: ApiKeyDraft,
) -> Result<CreatedApiKey, DomainError> {
    let issued = issue_api_key()?;
    let uow = db.begin().await?;
    let keys = ApiKeyRepository::at(uow.conn(), ctx.now);
    let limits = OrganizationRepository::at(uow.conn(), ctx.now)
        .lock_with_limits(organization)
        .await?;
    let access = access::require(uow.conn(), ctx, organization, Operation::CreateApiKey).await?;
    let creator = ctx.user()?;
    may_grant(access.role.member_role(), draft.role)?;
    ensure_room(
        keys.count_active(organization).await?,
        limits.max_api_keys,
        "active API keys",
        access.organization.plan,
    )?;
    let key = keys
        .insert(
            organization,
            creator,
            &draft,
            issued.lookup,
            issued.secret_hash,
        )
        .await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::ApiKeyCreated, AuditEntity::ApiKey, key.id)
                .in_organization(organization)
                .with_changes(
                    Changes::new()
                        .created("name", &key.name)
                        .created("role", key.role.as_str())
                        .created("expiresAt", key.expires_at),
                ),
        )
        .await?;
    uow.commit().await?;
    Ok(CreatedApiKey {
        key,
        secret: issued.key,
    })
}

/// One page of the organization's keys that are not revoked (never their secrets).
pub async fn list(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    request: &PageRequest<ApiKeySort>,
) -> Result<Page<ApiKey>, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ListApiKeys).await?;
    ApiKeyRepository::at(db.conn(), ctx.now)
        .list(organization, request)
        .await
}

/// Revokes a key of the organization: it is refused (401) from the next request
/// on. `NotFound` (`API_KEY_NOT_FOUND`) when it is not one of this
/// organization's keys or is already revoked.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn revoke(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: ApiKeyId,
) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    access::require(uow.conn(), ctx, organization, Operation::RevokeApiKey).await?;
    // One conditional write: a key of another organization or one already
    // revoked matches nothing.
    if !ApiKeyRepository::at(uow.conn(), ctx.now)
        .revoke_in(organization, id)
        .await?
    {
        return Err(API_KEY_NOT_FOUND);
    }
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::ApiKeyRevoked, AuditEntity::ApiKey, id)
                .in_organization(organization),
        )
        .await?;
    uow.commit().await
}

/// Records `api_key.revoked`, in its organization, for each of `keys`: the keys
/// a change to their creator revoked in the same unit of work (offboarding:
/// they left or were removed, lost the role the keys had, or their account was
/// deactivated or deleted). A key never outlives the standing of the person
/// who answers for it.
pub(crate) async fn record_revoked<C: ConnectionTrait>(
    conn: &C,
    ctx: &Context,
    keys: &[ApiKey],
) -> Result<(), DomainError> {
    let audit = AuditLogRepository::new(conn);
    for key in keys {
        audit
            .record(
                ctx,
                AuditEvent::new(AuditAction::ApiKeyRevoked, AuditEntity::ApiKey, key.id)
                    .in_organization(key.organization_id),
            )
            .await?;
    }
    Ok(())
}
