//! Endpoints: create, list, read, change and delete them, their secret sealed
//! on the way in and never shown; open secrets for a job claim; and move every
//! secret to the primary key (`api secrets rewrap`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::access::Operation;
use domain::endpoints::{
    ENDPOINT_NOT_FOUND, Endpoint, EndpointChanges, EndpointDraft, EndpointSecret, EndpointSort,
};
use domain::{
    AuditAction, AuditEntity, AuditEvent, Changes, DomainError, EndpointId, OrganizationId, Page,
    PageRequest,
};
use infra::Database;
use infra::repositories::{AuditLogRepository, EndpointRepository};
use infra::security::secrets::{
    Keyring, SecretError, key_id_of, reseal_endpoint_secret, reveal, seal_endpoint_secret,
};
use sea_orm::ConnectionTrait;

use crate::{Context, access};

/// Creates an endpoint (admin or owner, or an admin key), its secret sealed
/// under the key ring's primary key for this endpoint and organization.
/// `Forbidden` (`INSUFFICIENT_ROLE`) for a member.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &Database,
    keyring: &Keyring,
    ctx: &Context,
    organization: OrganizationId,
    draft: EndpointDraft,
) -> Result<Endpoint, DomainError> {
    let id = EndpointId::new();
    let sealed = draft
        .secret
        .as_ref()
        .map(|secret| seal_endpoint_secret(keyring, organization, id, secret))
        .transpose()?;
    let hint = draft.secret.as_ref().and_then(EndpointSecret::hint);
    let uow = db.begin().await?;
    access::require(uow.conn(), ctx, organization, Operation::CreateEndpoint).await?;
    let endpoint = EndpointRepository::at(uow.conn(), ctx.now)
        .insert(id, organization, &draft, sealed, hint)
        .await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            endpoint_event(AuditAction::EndpointCreated, &endpoint).with_changes(
                Changes::new()
                    .created("name", &endpoint.name)
                    .created("url", &endpoint.url)
                    .created("method", endpoint.method.as_str())
                    .created("headers", &endpoint.headers)
                    .secret("secret", false, endpoint.has_secret()),
            ),
        )
        .await?;
    uow.commit().await?;
    Ok(endpoint)
}

/// One page of the organization's endpoints (never their secrets).
pub async fn list(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    request: &PageRequest<EndpointSort>,
) -> Result<Page<Endpoint>, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ListEndpoints).await?;
    EndpointRepository::at(db.conn(), ctx.now)
        .list(organization, request)
        .await
}

/// One of the organization's endpoints. `NotFound` (`ENDPOINT_NOT_FOUND`) when
/// it is not one of them.
pub async fn get(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: EndpointId,
) -> Result<Endpoint, DomainError> {
    access::require(db.conn(), ctx, organization, Operation::ReadEndpoint).await?;
    EndpointRepository::at(db.conn(), ctx.now)
        .find(organization, id)
        .await
}

/// Changes an endpoint (admin+): the fields `changes` names; a new secret is
/// sealed, `Some(None)` removes it. Audited with the fields that changed, the
/// secret only as `[redacted]`. `NotFound` (`ENDPOINT_NOT_FOUND`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    db: &Database,
    keyring: &Keyring,
    ctx: &Context,
    organization: OrganizationId,
    id: EndpointId,
    changes: EndpointChanges,
) -> Result<Endpoint, DomainError> {
    let uow = db.begin().await?;
    access::require(uow.conn(), ctx, organization, Operation::UpdateEndpoint).await?;
    let endpoints = EndpointRepository::at(uow.conn(), ctx.now);
    let before = endpoints.find_for_update(organization, id).await?;
    if changes == EndpointChanges::default() {
        return Ok(before);
    }
    let mut after = before.clone();
    if let Some(name) = changes.name {
        after.name = name.into_inner();
    }
    if let Some(url) = changes.url {
        after.url = url.into_inner();
    }
    if let Some(method) = changes.method {
        after.method = method;
    }
    if let Some(headers) = changes.headers {
        after.headers = headers;
    }
    let secret_written = changes.secret.is_some();
    match changes.secret {
        None => {}
        Some(None) => {
            after.sealed_secret = None;
            after.secret_hint = None;
        }
        Some(Some(secret)) => {
            after.sealed_secret = Some(seal_endpoint_secret(keyring, organization, id, &secret)?);
            after.secret_hint = secret.hint();
        }
    }
    let saved = endpoints.save(&after).await?;
    let mut changed = Changes::new()
        .field("name", &before.name, &saved.name)
        .field("url", &before.url, &saved.url)
        .field("method", before.method.as_str(), saved.method.as_str())
        .field("headers", &before.headers, &saved.headers);
    if secret_written {
        changed = changed.secret("secret", before.has_secret(), saved.has_secret());
    }
    if !changed.is_empty() {
        AuditLogRepository::new(uow.conn())
            .record(
                ctx,
                endpoint_event(AuditAction::EndpointUpdated, &saved).with_changes(changed),
            )
            .await?;
    }
    uow.commit().await?;
    Ok(saved)
}

/// Deletes an endpoint for good (admin+). `NotFound` (`ENDPOINT_NOT_FOUND`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    id: EndpointId,
) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    access::require(uow.conn(), ctx, organization, Operation::DeleteEndpoint).await?;
    if !EndpointRepository::at(uow.conn(), ctx.now)
        .delete(organization, id)
        .await?
    {
        return Err(ENDPOINT_NOT_FOUND);
    }
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::EndpointDeleted, AuditEntity::Endpoint, id)
                .in_organization(organization),
        )
        .await?;
    uow.commit().await
}

fn endpoint_event(action: AuditAction, endpoint: &Endpoint) -> AuditEvent {
    AuditEvent::new(action, AuditEntity::Endpoint, endpoint.id)
        .in_organization(endpoint.organization_id)
}

/// An endpoint with its secret opened: what a job claim hands a worker.
#[derive(Debug)]
pub struct RevealedEndpoint {
    /// The endpoint (its secret still sealed in it).
    pub endpoint: Endpoint,
    /// Its secret in plain text (`Ok(None)`: it has none), or why it does not
    /// open (already logged): a key removed from the ring too early, or a value
    /// copied from another row or altered. Never a client's fault.
    pub secret: Result<Option<EndpointSecret>, SecretError>,
}

/// The endpoints of `organization` among `ids` (others are left out), each
/// with its secret opened, over `conn` (the claim's unit of work). A secret
/// that does not open is logged (endpoint and key, never a secret) and
/// reported in its [`RevealedEndpoint::secret`]; only a database error fails
/// the whole call.
pub async fn reveal_many<C: ConnectionTrait>(
    conn: &C,
    keyring: &Keyring,
    now: DateTime<Utc>,
    organization: OrganizationId,
    ids: &[EndpointId],
) -> Result<Vec<RevealedEndpoint>, DomainError> {
    let endpoints = EndpointRepository::at(conn, now)
        .find_many(organization, ids)
        .await?;
    Ok(endpoints
        .into_iter()
        .map(|endpoint| {
            let secret = reveal(keyring, &endpoint);
            if let Err(e) = &secret {
                tracing::error!(endpoint = %endpoint.id, organization = %organization, error = %e, "an endpoint secret does not decrypt");
            }
            RevealedEndpoint { endpoint, secret }
        })
        .collect())
}

/// What [`rewrap_secrets`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RewrapReport {
    /// The key every secret was moved to.
    pub primary: String,
    /// Secrets moved to it by this run.
    pub moved: u64,
    /// Secrets still under another key afterwards, by that key (those that do
    /// not decrypt, logged one by one; `malformed` for values in no known
    /// format). Empty when every secret is under the primary.
    pub remaining: BTreeMap<String, u64>,
}

/// Moves every endpoint secret sealed under another key than the ring's
/// primary to the primary, `batch_size` rows per transaction, each row written
/// only if it still holds the value that was read (a change meanwhile wins).
/// Resumable (an interrupted run is continued by the next) and idempotent (a
/// second run moves nothing). A secret that does not decrypt is logged and
/// left as it is, and counted in [`RewrapReport::remaining`].
#[tracing::instrument(level = "debug", skip_all)]
pub async fn rewrap_secrets(
    db: &Database,
    keyring: &Keyring,
    now: DateTime<Utc>,
    batch_size: u64,
) -> Result<RewrapReport, DomainError> {
    let primary = keyring.primary_id();
    let batch_size = batch_size.max(1);
    let mut report = RewrapReport {
        primary: primary.to_owned(),
        ..RewrapReport::default()
    };
    let mut after = None;
    loop {
        let batch = EndpointRepository::at(db.conn(), now)
            .sealed_under_other_keys(primary, after, batch_size)
            .await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        let uow = db.begin().await?;
        let endpoints = EndpointRepository::at(uow.conn(), now);
        for endpoint in &batch {
            let Some(old) = &endpoint.sealed_secret else {
                continue;
            };
            match reseal_endpoint_secret(keyring, endpoint) {
                Ok(Some(new)) => {
                    if endpoints
                        .replace_sealed_secret(endpoint.id, old, &new)
                        .await?
                    {
                        report.moved += 1;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(endpoint = %endpoint.id, error = %e, "cannot rewrap an endpoint secret; left as it is");
                }
            }
        }
        uow.commit().await?;
    }
    report.remaining = remaining_by_key(db, primary, now, batch_size).await?;
    Ok(report)
}

/// How many endpoint secrets are under each key other than `primary`.
async fn remaining_by_key(
    db: &Database,
    primary: &str,
    now: DateTime<Utc>,
    batch_size: u64,
) -> Result<BTreeMap<String, u64>, DomainError> {
    let mut remaining = BTreeMap::new();
    let mut after = None;
    loop {
        let batch = EndpointRepository::at(db.conn(), now)
            .sealed_under_other_keys(primary, after, batch_size)
            .await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        for endpoint in &batch {
            let key = endpoint
                .sealed_secret
                .as_ref()
                .and_then(|s| key_id_of(s.as_str()).ok())
                .unwrap_or("malformed");
            *remaining.entry(key.to_owned()).or_insert(0) += 1;
        }
    }
    Ok(remaining)
}
