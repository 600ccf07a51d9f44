//! The GitHub App: the webhook receiver (each delivery recorded once, its
//! installation event applied when the installation is linked, else kept),
//! install links with a signed expiring state, the setup callback that links,
//! and the organization's reads and unlink.
//!
//! Applying is order-independent (`domain::github`), so kept events can be
//! applied at link time in any order, and a redelivery or a replay of every
//! delivery changes nothing.

use chrono::TimeDelta;
use domain::access::Operation;
use domain::error::Conflict;
use domain::github::{
    GITHUB_DELIVERY_SEEN, GITHUB_DISABLED, GITHUB_INSTALLATION_NOT_FOUND, GithubChange,
    GithubEvent, GithubInstallation, GithubInstallationSort, GithubRepository,
    GithubRepositorySort, Handling, InstallState, RepositoryRef, handling, installation_deleted,
    installation_id, linked_elsewhere, parse_event, repository_add_wins, repository_removal_wins,
    snapshot_wins,
};
use domain::{
    Actor, AuditAction, AuditEntity, AuditEvent, Changes, DomainError, OrganizationId, Page,
    PageRequest,
};
use infra::Database;
use infra::config::GithubSettings;
use infra::repositories::{
    AuditLogRepository, GithubDeliveryRepository, GithubInstallationRepository, NewDelivery,
};
use infra::security::github::{StateSigner, verify_webhook_signature};
use sea_orm::ConnectionTrait;
use serde_json::Value;

use crate::{Context, access};

/// The GitHub App as configured (`[github]`).
#[derive(Clone, Debug)]
pub struct GithubApp {
    enabled: bool,
    app_slug: String,
    webhook_secret: String,
    signer: StateSigner,
    state_ttl: TimeDelta,
    /// Where the setup callback sends the browser after linking, if anywhere.
    pub setup_redirect_url: Option<String>,
}

impl GithubApp {
    /// From the settings.
    pub fn new(settings: &GithubSettings) -> Self {
        Self {
            enabled: settings.enabled,
            app_slug: settings.app_slug.clone(),
            webhook_secret: settings.webhook_secret.clone(),
            signer: StateSigner::new(&settings.state_secret, &settings.webhook_secret),
            state_ttl: TimeDelta::from_std(settings.state_ttl()).unwrap_or(TimeDelta::minutes(10)),
            setup_redirect_url: settings.setup_redirect_url.clone(),
        }
    }

    /// 404 `GITHUB_DISABLED` unless the integration is on.
    pub fn ensure_enabled(&self) -> Result<(), DomainError> {
        if self.enabled {
            Ok(())
        } else {
            Err(DomainError::NotFound {
                resource: "GitHub integration",
                code: GITHUB_DISABLED,
            })
        }
    }

    /// 401 `INVALID_SIGNATURE` unless `header` is the webhook secret's
    /// signature of `body` (the raw bytes received).
    pub fn verify_signature(&self, body: &[u8], header: Option<&str>) -> Result<(), DomainError> {
        self.ensure_enabled()?;
        if verify_webhook_signature(&self.webhook_secret, body, header) {
            Ok(())
        } else {
            Err(domain::github::INVALID_SIGNATURE)
        }
    }
}

/// What the receiver did with a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// `ping`.
    Pong,
    /// Applied to a linked installation.
    Applied,
    /// Kept for an installation not linked yet (applied when it is).
    Kept,
    /// An event this server does not act on (recorded).
    Ignored,
    /// A delivery id seen before: nothing done.
    Redelivery,
}

/// Records delivery `delivery_id` (event `event`, already verified) once and
/// applies it if its installation is linked. `Validation` (`payload`) for an
/// installation event whose payload cannot be read (nothing recorded).
#[tracing::instrument(level = "debug", skip_all, fields(delivery = delivery_id, event))]
pub async fn receive(
    db: &Database,
    ctx: &Context,
    delivery_id: &str,
    event: &str,
    payload: &Value,
) -> Result<Received, DomainError> {
    let action = payload.get("action").and_then(Value::as_str);
    let how = handling(event, action);
    let parsed = match how {
        Handling::Apply => Some(
            parse_event(event, action.unwrap_or_default(), payload, ctx.now)
                .map_err(|e| DomainError::invalid("payload", "INVALID_PAYLOAD", e.to_string()))?,
        ),
        Handling::Ping | Handling::Ignore => None,
    };
    let uow = db.begin().await?;
    let recorded = GithubDeliveryRepository::at(uow.conn(), ctx.now)
        .record(NewDelivery {
            delivery_id,
            event,
            action,
            installation_id: installation_id(payload),
            payload,
        })
        .await;
    let record = match recorded {
        Ok(id) => id,
        // Dropping the unit of work rolls it back (PostgreSQL has aborted it).
        Err(DomainError::Conflict(Conflict { code, .. })) if code == GITHUB_DELIVERY_SEEN => {
            return Ok(Received::Redelivery);
        }
        Err(e) => return Err(e),
    };
    let outcome = match (how, parsed) {
        (Handling::Apply, Some(event)) => {
            let installation = GithubInstallationRepository::at(uow.conn(), ctx.now)
                .ensure_locked(event.installation.id)
                .await?;
            if installation.organization_id.is_some() {
                apply(uow.conn(), ctx, &event).await?;
                GithubDeliveryRepository::at(uow.conn(), ctx.now)
                    .mark_applied(record)
                    .await?;
                Received::Applied
            } else {
                Received::Kept
            }
        }
        (Handling::Ping, _) => Received::Pong,
        _ => Received::Ignored,
    };
    uow.commit().await?;
    Ok(outcome)
}

/// Applies one installation event under the installation's lock: the
/// snapshot if it is newer than the stored one, then its change, each
/// repository by its own time. Idempotent and order-independent.
async fn apply<C: ConnectionTrait>(
    conn: &C,
    ctx: &Context,
    event: &GithubEvent,
) -> Result<(), DomainError> {
    let repo = GithubInstallationRepository::at(conn, ctx.now);
    let id = event.installation.id;
    let stored = repo.ensure_locked(id).await?;
    if snapshot_wins(
        stored.state_at,
        stored.suspended_at.is_some(),
        event.at,
        event.installation.suspended_at.is_some(),
    ) {
        repo.store_snapshot(&event.installation, event.at).await?;
    }
    match &event.change {
        GithubChange::Created(repos) | GithubChange::RepositoriesAdded(repos) => {
            for r in repos {
                add_repository(&repo, id, r, event).await?;
            }
        }
        GithubChange::RepositoriesRemoved(repos) => {
            for r in repos {
                remove_repository(&repo, id, r, event).await?;
            }
        }
        GithubChange::Deleted => repo.mark_deleted(id, event.at).await?,
        GithubChange::Snapshot => {}
    }
    Ok(())
}

async fn add_repository<C: ConnectionTrait>(
    repo: &GithubInstallationRepository<'_, C>,
    installation: i64,
    r: &RepositoryRef,
    event: &GithubEvent,
) -> Result<(), DomainError> {
    match repo.repository(installation, r.id).await? {
        None => {
            repo.put_repository(installation, r, None, event.at, false)
                .await
        }
        Some(stored) if repository_add_wins(stored.changed_at, event.at) => {
            repo.put_repository(installation, r, None, event.at, true)
                .await
        }
        Some(_) => Ok(()),
    }
}

async fn remove_repository<C: ConnectionTrait>(
    repo: &GithubInstallationRepository<'_, C>,
    installation: i64,
    r: &RepositoryRef,
    event: &GithubEvent,
) -> Result<(), DomainError> {
    match repo.repository(installation, r.id).await? {
        // Kept as removed, so an older `added` arriving later cannot bring it back.
        None => {
            repo.put_repository(installation, r, Some(event.at), event.at, false)
                .await
        }
        Some(stored)
            if repository_removal_wins(
                stored.changed_at,
                stored.removed_at.is_some(),
                event.at,
            ) =>
        {
            repo.put_repository(installation, r, Some(event.at), event.at, true)
                .await
        }
        Some(_) => Ok(()),
    }
}

/// GitHub's install page for the app with a signed state binding
/// `organization` and the signed-in admin or owner, valid for
/// `github.state_ttl_secs`. 403 `USER_REQUIRED` for an API key.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_install_link(
    db: &Database,
    ctx: &Context,
    github: &GithubApp,
    organization: OrganizationId,
) -> Result<String, DomainError> {
    github.ensure_enabled()?;
    access::require(
        db.conn(),
        ctx,
        organization,
        Operation::CreateGithubInstallLink,
    )
    .await?;
    let state = InstallState {
        organization,
        user: ctx.user()?,
        expires_at: ctx.now + github.state_ttl,
    };
    Ok(format!(
        "https://github.com/apps/{}/installations/new?state={}",
        github.app_slug,
        github.signer.sign(&state)
    ))
}

/// The setup callback: links installation `installation` to the state's
/// organization, if the state is this server's and fresh (401
/// `INVALID_STATE` / `STATE_EXPIRED`) and its person is still an admin or
/// owner there (404 / 403), then applies the events kept for it. 409
/// `GITHUB_INSTALLATION_LINKED_ELSEWHERE` when another organization has it,
/// `GITHUB_INSTALLATION_DELETED` when it was uninstalled. Linking again to the
/// same organization changes nothing.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn link(
    db: &Database,
    ctx: &Context,
    github: &GithubApp,
    installation: i64,
    state: &str,
) -> Result<GithubInstallation, DomainError> {
    github.ensure_enabled()?;
    let state = github.signer.verify(state)?;
    state.check_fresh(ctx.now)?;
    // The state is the proof of who asked: the link is theirs in the trail.
    let ctx = ctx.acting_as(Actor::User(state.user));
    let organization = state.organization;
    let uow = db.begin().await?;
    access::require(
        uow.conn(),
        &ctx,
        organization,
        Operation::CreateGithubInstallLink,
    )
    .await?;
    let installations = GithubInstallationRepository::at(uow.conn(), ctx.now);
    let stored = installations.ensure_locked(installation).await?;
    if stored.deleted_at.is_some() {
        return Err(installation_deleted());
    }
    match stored.organization_id {
        Some(other) if other != organization => return Err(linked_elsewhere()),
        Some(_) => {}
        None => {
            // The kept events first: an installation they uninstall is not
            // linked (409, and the unit of work rolls back: nothing written).
            let deliveries = GithubDeliveryRepository::at(uow.conn(), ctx.now);
            for kept in deliveries.kept_for(installation).await? {
                let action = kept.action.as_deref().unwrap_or_default();
                match parse_event(&kept.event, action, &kept.payload, kept.received_at) {
                    Ok(event) => apply(uow.conn(), &ctx, &event).await?,
                    // Checked when received; a stored one that no longer reads is left.
                    Err(e) => tracing::warn!(error = %e, "a kept GitHub delivery is unreadable"),
                }
                deliveries.mark_applied(kept.id).await?;
            }
            if installations
                .ensure_locked(installation)
                .await?
                .deleted_at
                .is_some()
            {
                return Err(installation_deleted());
            }
            installations.link(installation, organization).await?;
            let linked = installations.ensure_locked(installation).await?;
            AuditLogRepository::new(uow.conn())
                .record(
                    &ctx,
                    AuditEvent::new(
                        AuditAction::GithubInstallationLinked,
                        AuditEntity::GithubInstallation,
                        installation,
                    )
                    .in_organization(organization)
                    .with_changes(Changes::new().created(
                        "accountLogin",
                        linked.account.as_ref().map(|a| a.login.as_str()),
                    )),
                )
                .await?;
        }
    }
    let linked = installations
        .find_linked(organization, installation)
        .await?;
    uow.commit().await?;
    Ok(linked)
}

/// One page of the installations linked to the organization (any member).
pub async fn list(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    request: &PageRequest<GithubInstallationSort>,
) -> Result<Page<GithubInstallation>, DomainError> {
    access::require(
        db.conn(),
        ctx,
        organization,
        Operation::ListGithubInstallations,
    )
    .await?;
    GithubInstallationRepository::at(db.conn(), ctx.now)
        .list(organization, request)
        .await
}

/// One page of a linked installation's repositories, removed ones flagged
/// (any member). `NotFound` (`GITHUB_INSTALLATION_NOT_FOUND`) when it is not
/// linked to the organization.
pub async fn list_repositories(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    installation: i64,
    request: &PageRequest<GithubRepositorySort>,
) -> Result<Page<GithubRepository>, DomainError> {
    access::require(
        db.conn(),
        ctx,
        organization,
        Operation::ListGithubRepositories,
    )
    .await?;
    let installations = GithubInstallationRepository::at(db.conn(), ctx.now);
    installations
        .find_linked(organization, installation)
        .await?;
    installations.list_repositories(installation, request).await
}

/// Unlinks an installation from the organization (admin+); it stays stored
/// and can be linked again through a new install link.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn unlink(
    db: &Database,
    ctx: &Context,
    organization: OrganizationId,
    installation: i64,
) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    access::require(
        uow.conn(),
        ctx,
        organization,
        Operation::UnlinkGithubInstallation,
    )
    .await?;
    if !GithubInstallationRepository::at(uow.conn(), ctx.now)
        .unlink(organization, installation)
        .await?
    {
        return Err(GITHUB_INSTALLATION_NOT_FOUND);
    }
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(
                AuditAction::GithubInstallationUnlinked,
                AuditEntity::GithubInstallation,
                installation,
            )
            .in_organization(organization),
        )
        .await?;
    uow.commit().await
}
