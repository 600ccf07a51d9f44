//! Context entries: read (the current version or a past one), list, list an
//! entry's versions, write a new version, delete. Writes may be conditional
//! on the version ([`Preconditions`]), checked on the row the unit of work
//! holds locked, so two writers holding the same version cannot both win.

use domain::access::Operation;
use domain::context_entries::{
    CONTEXT_ENTRY_NOT_FOUND, ContextEntry, ContextEntryFilter, ContextEntrySort, ContextKey,
    ContextValue, ContextVersion, ContextVersionSort,
};
use domain::preconditions::Preconditions;
use domain::{
    AuditAction, AuditEntity, AuditEvent, Changes, DomainError, OrganizationId, Page, PageRequest,
};
use infra::Database;
use infra::repositories::{AuditLogRepository, ContextEntryRepository, ContextVersionRepository};

use crate::{Context, access};

/// How often a write reads the key again after a concurrent first write of
/// it won the insert (PostgreSQL): once is enough unless the key is also
/// being deleted meanwhile; past this, 503 (retry).
const ATTEMPTS: usize = 3;

/// A written entry, and whether the write created it (201) or gave an
/// existing one its next version (200).
#[derive(Debug)]
pub struct Written {
    /// The entry at its new version.
    pub entry: ContextEntry,
    /// Whether there was no live entry of the key before.
    pub created: bool,
}

/// The live entry of `key`, at its current version or at `version`.
/// `NotFound`: `CONTEXT_ENTRY_NOT_FOUND`, or `CONTEXT_VERSION_NOT_FOUND` for a
/// version the entry never had.
pub async fn read(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    key: &ContextKey,
    version: Option<u32>,
) -> Result<ContextEntry, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ReadContextEntry).await?;
    let entry = ContextEntryRepository::at(db.conn(), ctx.now)
        .find_by_key(organization, key)
        .await?;
    match version {
        Some(version) if version != entry.version => Ok(ContextVersionRepository::new(db.conn())
            .find(&entry, version)
            .await?
            .as_entry(&entry)),
        _ => Ok(entry),
    }
}

/// One page of the organization's live entries.
pub async fn list(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    filter: &ContextEntryFilter,
    request: &PageRequest<ContextEntrySort>,
) -> Result<Page<ContextEntry>, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ListContextEntries).await?;
    ContextEntryRepository::at(db.conn(), ctx.now)
        .list(organization, filter, request)
        .await
}

/// One page of the versions of the live entry of `key`. `NotFound`
/// (`CONTEXT_ENTRY_NOT_FOUND`) when there is none.
pub async fn versions(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    key: &ContextKey,
    request: &PageRequest<ContextVersionSort>,
) -> Result<Page<ContextVersion>, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ListContextVersions).await?;
    let entry = ContextEntryRepository::at(db.conn(), ctx.now)
        .find_by_key(organization, key)
        .await?;
    ContextVersionRepository::new(db.conn())
        .list(&entry, request)
        .await
}

/// Writes `value` under `key`: version 1 of a new entry (or one past a
/// deleted entry's last), else the entry's next version; the version is
/// recorded with its author and audited `context.set`, in one unit of work.
/// `PreconditionFailed` (nothing written) when `preconditions` do not hold
/// for the entry as the write finds it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    key: &ContextKey,
    value: &ContextValue,
    preconditions: &Preconditions,
) -> Result<Written, DomainError> {
    let uow = db.begin().await?;
    access::require(uow.conn(), ctx, organization, Operation::SetContextEntry).await?;
    let author = ctx.actor.public_id().ok_or(DomainError::UNAUTHENTICATED)?;
    let entries = ContextEntryRepository::at(uow.conn(), ctx.now);
    for _ in 0..ATTEMPTS {
        let current = entries.lock_by_key(organization, key).await?;
        preconditions.check(current.as_ref().map(|entry| entry.version))?;
        let written = match &current {
            Some(entry) => entries.write_next_version(entry, value).await?,
            None => {
                let first = entries.first_version(organization, key).await?;
                entries
                    .insert_if_absent(organization, key, value, first)
                    .await?
            }
        };
        // `None`: another writer created the entry first; read it again.
        let Some(entry) = written else { continue };
        ContextVersionRepository::new(uow.conn())
            .record(&entry, &author)
            .await?;
        let changes = match &current {
            Some(before) => Changes::new().unchanged("key", key.as_str()).field(
                "version",
                before.version,
                entry.version,
            ),
            None => Changes::new()
                .created("key", key.as_str())
                .created("version", entry.version),
        };
        AuditLogRepository::new(uow.conn())
            .record(
                ctx,
                AuditEvent::new(AuditAction::ContextSet, AuditEntity::ContextEntry, entry.id)
                    .in_organization(organization)
                    .with_changes(changes),
            )
            .await?;
        uow.commit().await?;
        return Ok(Written {
            created: current.is_none(),
            entry,
        });
    }
    tracing::warn!(key = %key, "context write kept losing to concurrent writers of its key");
    Err(DomainError::Unavailable)
}

/// Deletes the live entry of `key` (its versions stay with it, out of
/// reach), audited `context.deleted`. `NotFound` (`CONTEXT_ENTRY_NOT_FOUND`);
/// `PreconditionFailed` when `preconditions` do not hold for it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    key: &ContextKey,
    preconditions: &Preconditions,
) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    access::require(uow.conn(), ctx, organization, Operation::DeleteContextEntry).await?;
    let entries = ContextEntryRepository::at(uow.conn(), ctx.now);
    let entry = entries
        .lock_by_key(organization, key)
        .await?
        .ok_or(CONTEXT_ENTRY_NOT_FOUND)?;
    preconditions.check(Some(entry.version))?;
    if !entries.delete_at_version(&entry).await? {
        return Err(CONTEXT_ENTRY_NOT_FOUND);
    }
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(
                AuditAction::ContextDeleted,
                AuditEntity::ContextEntry,
                entry.id,
            )
            .in_organization(organization)
            .with_changes(
                Changes::new()
                    .field("key", key.as_str(), None::<&str>)
                    .field("version", entry.version, None::<u32>),
            ),
        )
        .await?;
    uow.commit().await
}
