//! The GitHub App's rows: installations and their repositories (written as
//! events apply, read by the organization's members) and the recorded webhook
//! deliveries. Which event wins is `domain::github`'s rule; this module only
//! reads and writes what it decides.

use chrono::{DateTime, Utc};
use domain::github::{
    GITHUB_INSTALLATION_NOT_FOUND, GithubAccount, GithubInstallation, GithubInstallationSort,
    GithubRepository, GithubRepositorySort, InstallationSnapshot, RepositoryRef,
};
use domain::{DomainError, GithubDeliveryId, OrganizationId, Page, PageRequest};
use sea_orm::sea_query::{Expr, OnConflict, Value};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, TryInsertResult,
};

use super::listing::{self, KeyKind, Listing, SortValue};
use crate::db_error::to_domain;
use crate::entities::{github_deliveries, github_installation_repositories, github_installations};

/// Installations and their repositories over a connection or transaction.
#[derive(Debug)]
pub struct GithubInstallationRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

fn to_installation(m: github_installations::Model) -> GithubInstallation {
    let account = match (m.account_login, m.account_id) {
        (Some(login), Some(id)) => Some(GithubAccount {
            login,
            id,
            kind: m.account_type.unwrap_or_default(),
        }),
        _ => None,
    };
    GithubInstallation {
        id: m.id,
        account,
        organization_id: m.organization_id.map(OrganizationId::from),
        repository_selection: m.repository_selection,
        permissions: m.permissions,
        events: m.events,
        suspended_at: m.suspended_at,
        deleted_at: m.deleted_at,
        state_at: m.state_at,
        linked_at: m.linked_at,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

fn to_repository(m: github_installation_repositories::Model) -> GithubRepository {
    GithubRepository {
        id: m.id,
        installation_id: m.installation_id,
        name: m.name,
        full_name: m.full_name,
        private: m.private,
        removed_at: m.removed_at,
        changed_at: m.changed_at,
        created_at: m.created_at,
    }
}

impl<'c, C: ConnectionTrait> GithubInstallationRepository<'c, C> {
    /// A repository over `conn` for which "now" is `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Installation `id`, created empty if it is not stored yet (an event or
    /// the setup callback may come first), and locked until the transaction
    /// ends (PostgreSQL `FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` serialises
    /// writers): every change to one installation and its repositories is
    /// made under this lock, so concurrent deliveries and links take turns.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ensure_locked(&self, id: i64) -> Result<GithubInstallation, DomainError> {
        let row = github_installations::ActiveModel {
            id: Set(id),
            account_login: Set(None),
            account_id: Set(None),
            account_type: Set(None),
            organization_id: Set(None),
            repository_selection: Set(None),
            permissions: Set(None),
            events: Set(None),
            suspended_at: Set(None),
            deleted_at: Set(None),
            state_at: Set(None),
            linked_at: Set(None),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        };
        // Without `RETURNING`: SeaORM reads an empty `RETURNING` as an error.
        let _: TryInsertResult<_> = github_installations::Entity::insert(row)
            .on_conflict(
                OnConflict::column(github_installations::Column::Id)
                    .do_nothing()
                    .to_owned(),
            )
            .try_insert()
            .exec_without_returning(self.conn)
            .await
            .map_err(to_domain)?;
        let mut query = github_installations::Entity::find_by_id(id);
        if self.conn.get_database_backend() == DbBackend::Postgres {
            query = query.lock_exclusive();
        }
        query
            .one(self.conn)
            .await
            .map_err(to_domain)?
            .map(to_installation)
            .ok_or_else(|| DomainError::Internal("an ensured installation is missing".into()))
    }

    /// Stores `snapshot` as installation `at`'s state (the caller decided it wins).
    pub async fn store_snapshot(
        &self,
        snapshot: &InstallationSnapshot,
        at: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        use github_installations::Column;
        let account = snapshot.account.as_ref();
        github_installations::Entity::update_many()
            .col_expr(
                Column::AccountLogin,
                Expr::value(account.map(|a| a.login.clone())),
            )
            .col_expr(Column::AccountId, Expr::value(account.map(|a| a.id)))
            .col_expr(
                Column::AccountType,
                Expr::value(account.map(|a| a.kind.clone())),
            )
            .col_expr(
                Column::RepositorySelection,
                Expr::value(snapshot.repository_selection.clone()),
            )
            .col_expr(
                Column::Permissions,
                Expr::value(snapshot.permissions.clone()),
            )
            .col_expr(Column::Events, Expr::value(snapshot.events.clone()))
            .col_expr(Column::SuspendedAt, Expr::value(snapshot.suspended_at))
            .col_expr(Column::StateAt, Expr::value(at))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(snapshot.id))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(())
    }

    /// Marks installation `id` uninstalled at `at`, unless it is already
    /// (terminal: the first mark stays).
    pub async fn mark_deleted(&self, id: i64, at: DateTime<Utc>) -> Result<(), DomainError> {
        use github_installations::Column;
        github_installations::Entity::update_many()
            .col_expr(Column::DeletedAt, Expr::value(at))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id))
            .filter(Column::DeletedAt.is_null())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(())
    }

    /// Links installation `id` to `organization` (now).
    pub async fn link(&self, id: i64, organization: OrganizationId) -> Result<(), DomainError> {
        use github_installations::Column;
        github_installations::Entity::update_many()
            .col_expr(Column::OrganizationId, Expr::value(organization.as_uuid()))
            .col_expr(Column::LinkedAt, Expr::value(self.now))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(())
    }

    /// Unlinks installation `id` from `organization`; `false` when it was not
    /// linked to it. The installation and its repositories stay (and keep
    /// following GitHub's events), to be linked again.
    pub async fn unlink(&self, organization: OrganizationId, id: i64) -> Result<bool, DomainError> {
        use github_installations::Column;
        let result = github_installations::Entity::update_many()
            .col_expr(
                Column::OrganizationId,
                Expr::value(Option::<sea_orm::prelude::Uuid>::None),
            )
            .col_expr(Column::LinkedAt, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id))
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::DeletedAt.is_null())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected > 0)
    }

    /// Installation `id` as linked to `organization` and not uninstalled.
    /// `NotFound` (`GITHUB_INSTALLATION_NOT_FOUND`) otherwise.
    pub async fn find_linked(
        &self,
        organization: OrganizationId,
        id: i64,
    ) -> Result<GithubInstallation, DomainError> {
        use github_installations::Column;
        github_installations::Entity::find()
            .filter(Column::Id.eq(id))
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::DeletedAt.is_null())
            .one(self.conn)
            .await
            .map_err(to_domain)?
            .map(to_installation)
            .ok_or(GITHUB_INSTALLATION_NOT_FOUND)
    }

    /// One page of the installations linked to `organization` and not
    /// uninstalled; see [`GithubInstallationList`].
    pub async fn list(
        &self,
        organization: OrganizationId,
        request: &PageRequest<GithubInstallationSort>,
    ) -> Result<Page<GithubInstallation>, DomainError> {
        use github_installations::Column;
        let query = github_installations::Entity::find()
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::DeletedAt.is_null());
        listing::page::<GithubInstallationList, _, _, _>(query, request, |query| async move {
            Ok(query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_installation)
                .collect())
        })
        .await
    }

    /// Repository `id` of installation `installation`, as stored.
    pub async fn repository(
        &self,
        installation: i64,
        id: i64,
    ) -> Result<Option<GithubRepository>, DomainError> {
        Ok(
            github_installation_repositories::Entity::find_by_id((installation, id))
                .one(self.conn)
                .await
                .map_err(to_domain)?
                .map(to_repository),
        )
    }

    /// Stores repository `repo` of `installation` (new or over the stored
    /// one), removed at `removed_at` or reachable, as changed at `changed_at`.
    pub async fn put_repository(
        &self,
        installation: i64,
        repo: &RepositoryRef,
        removed_at: Option<DateTime<Utc>>,
        changed_at: DateTime<Utc>,
        exists: bool,
    ) -> Result<(), DomainError> {
        use github_installation_repositories::Column;
        if exists {
            github_installation_repositories::Entity::update_many()
                .col_expr(Column::Name, Expr::value(repo.name.clone()))
                .col_expr(Column::FullName, Expr::value(repo.full_name.clone()))
                .col_expr(Column::Private, Expr::value(repo.private))
                .col_expr(Column::RemovedAt, Expr::value(removed_at))
                .col_expr(Column::ChangedAt, Expr::value(changed_at))
                .col_expr(Column::UpdatedAt, Expr::value(self.now))
                .filter(Column::InstallationId.eq(installation))
                .filter(Column::Id.eq(repo.id))
                .exec(self.conn)
                .await
                .map_err(to_domain)?;
        } else {
            github_installation_repositories::Entity::insert(
                github_installation_repositories::ActiveModel {
                    installation_id: Set(installation),
                    id: Set(repo.id),
                    name: Set(repo.name.clone()),
                    full_name: Set(repo.full_name.clone()),
                    private: Set(repo.private),
                    removed_at: Set(removed_at),
                    changed_at: Set(changed_at),
                    created_at: Set(self.now),
                    updated_at: Set(self.now),
                },
            )
            .exec_without_returning(self.conn)
            .await
            .map_err(to_domain)?;
        }
        Ok(())
    }

    /// One page of installation `installation`'s repositories, removed ones
    /// included (with `removed_at`); see [`GithubRepositoryList`].
    pub async fn list_repositories(
        &self,
        installation: i64,
        request: &PageRequest<GithubRepositorySort>,
    ) -> Result<Page<GithubRepository>, DomainError> {
        use github_installation_repositories::Column;
        let query = github_installation_repositories::Entity::find()
            .filter(Column::InstallationId.eq(installation));
        listing::page::<GithubRepositoryList, _, _, _>(query, request, |query| async move {
            Ok(query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_repository)
                .collect())
        })
        .await
    }
}

/// A recorded delivery whose event waits for its installation to be linked.
#[derive(Clone, Debug, PartialEq)]
pub struct KeptDelivery {
    /// The record.
    pub id: GithubDeliveryId,
    /// `X-GitHub-Event`.
    pub event: String,
    /// The payload's `action`.
    pub action: Option<String>,
    /// The payload as received.
    pub payload: serde_json::Value,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
}

/// What a delivery is recorded with.
#[derive(Clone, Copy, Debug)]
pub struct NewDelivery<'a> {
    /// `X-GitHub-Delivery`.
    pub delivery_id: &'a str,
    /// `X-GitHub-Event`.
    pub event: &'a str,
    /// The payload's `action`.
    pub action: Option<&'a str>,
    /// The payload's `installation.id`.
    pub installation_id: Option<i64>,
    /// The payload.
    pub payload: &'a serde_json::Value,
}

/// Recorded GitHub webhook deliveries over a connection or transaction.
#[derive(Debug)]
pub struct GithubDeliveryRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

impl<'c, C: ConnectionTrait> GithubDeliveryRepository<'c, C> {
    /// A repository over `conn` for which "now" is `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Records a delivery, received now. `Conflict` (`GITHUB_DELIVERY_SEEN`,
    /// from the unique index through the constraint registry) when its
    /// delivery id was recorded before: concurrent redeliveries cannot both
    /// pass. On PostgreSQL the failed insert aborts the transaction: the
    /// caller rolls it back.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record(&self, new: NewDelivery<'_>) -> Result<GithubDeliveryId, DomainError> {
        let id = GithubDeliveryId::new();
        github_deliveries::Entity::insert(github_deliveries::ActiveModel {
            id: Set(id.as_uuid()),
            delivery_id: Set(new.delivery_id.to_owned()),
            event: Set(new.event.to_owned()),
            action: Set(new.action.map(str::to_owned)),
            installation_id: Set(new.installation_id),
            payload: Set(new.payload.clone()),
            received_at: Set(self.now),
            applied_at: Set(None),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        })
        .exec_without_returning(self.conn)
        .await
        .map_err(to_domain)?;
        Ok(id)
    }

    /// Marks delivery `id` applied now.
    pub async fn mark_applied(&self, id: GithubDeliveryId) -> Result<(), DomainError> {
        use github_deliveries::Column;
        github_deliveries::Entity::update_many()
            .col_expr(Column::AppliedAt, Expr::value(self.now))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(())
    }

    /// The installation events kept for `installation` and not applied yet,
    /// in arrival order.
    pub async fn kept_for(&self, installation: i64) -> Result<Vec<KeptDelivery>, DomainError> {
        use github_deliveries::Column;
        Ok(github_deliveries::Entity::find()
            .filter(Column::InstallationId.eq(installation))
            .filter(Column::AppliedAt.is_null())
            .filter(Column::Event.is_in(["installation", "installation_repositories"]))
            .order_by_asc(Column::ReceivedAt)
            .order_by_asc(Column::Id)
            .all(self.conn)
            .await
            .map_err(to_domain)?
            .into_iter()
            .map(|m| KeptDelivery {
                id: GithubDeliveryId::from(m.id),
                event: m.event,
                action: m.action,
                payload: m.payload,
                received_at: m.received_at,
            })
            .collect())
    }
}

/// An organization's linked installations: sorted by `createdAt`, then by
/// GitHub's id; `searchQuery` matches the account's login.
pub struct GithubInstallationList;

impl Listing for GithubInstallationList {
    type Sort = GithubInstallationSort;
    type Row = GithubInstallation;

    fn column(sort: GithubInstallationSort) -> (Expr, KeyKind) {
        use github_installations::{Column, Entity};
        match sort {
            GithubInstallationSort::CreatedAt => {
                (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp)
            }
        }
    }

    fn id_column() -> Expr {
        Expr::col((
            github_installations::Entity,
            github_installations::Column::Id,
        ))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        raw.parse::<i64>().ok().map(Value::from)
    }

    fn search_columns() -> Vec<Expr> {
        vec![Expr::col((
            github_installations::Entity,
            github_installations::Column::AccountLogin,
        ))]
    }

    fn position(row: &GithubInstallation, sort: GithubInstallationSort) -> (SortValue, String) {
        let value = match sort {
            GithubInstallationSort::CreatedAt => SortValue::At(row.created_at),
        };
        (value, row.id.to_string())
    }
}

/// An installation's repositories: sorted by `createdAt` or `fullName`, then
/// by GitHub's id; `searchQuery` matches the full name.
pub struct GithubRepositoryList;

impl Listing for GithubRepositoryList {
    type Sort = GithubRepositorySort;
    type Row = GithubRepository;

    fn column(sort: GithubRepositorySort) -> (Expr, KeyKind) {
        use github_installation_repositories::{Column, Entity};
        match sort {
            GithubRepositorySort::CreatedAt => {
                (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp)
            }
            GithubRepositorySort::FullName => {
                (Expr::col((Entity, Column::FullName)), KeyKind::Text)
            }
        }
    }

    fn id_column() -> Expr {
        Expr::col((
            github_installation_repositories::Entity,
            github_installation_repositories::Column::Id,
        ))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        raw.parse::<i64>().ok().map(Value::from)
    }

    fn search_columns() -> Vec<Expr> {
        vec![Expr::col((
            github_installation_repositories::Entity,
            github_installation_repositories::Column::FullName,
        ))]
    }

    fn position(row: &GithubRepository, sort: GithubRepositorySort) -> (SortValue, String) {
        let value = match sort {
            GithubRepositorySort::CreatedAt => SortValue::At(row.created_at),
            GithubRepositorySort::FullName => SortValue::Text(row.full_name.clone()),
        };
        (value, row.id.to_string())
    }
}
