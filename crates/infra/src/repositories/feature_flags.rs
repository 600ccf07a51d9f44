//! Feature flags: platform-wide, found by key, listed, changed whole, deleted
//! for good. The allow and deny lists are stored as JSON arrays of `org_...`.

use chrono::{DateTime, Utc};
use domain::feature_flags::{
    FEATURE_FLAG_NOT_FOUND, FeatureFlag, FeatureFlagDraft, FeatureFlagSort, FlagKey, RolloutPercent,
};
use domain::{DomainError, FeatureFlagId, OrganizationId, Page, PageRequest};
use sea_orm::sea_query::{Expr, Value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::corrupt;
use super::listing::{self, KeyKind, Listing, SortValue};
use crate::db_error::to_domain;
use crate::entities::feature_flags::{self, Column, Entity};

/// Feature flags over a connection or transaction.
#[derive(Debug)]
pub struct FeatureFlagRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

fn ids_json(ids: &[OrganizationId]) -> serde_json::Value {
    serde_json::to_value(ids).unwrap_or_default()
}

fn to_domain_flag(m: feature_flags::Model) -> Result<FeatureFlag, DomainError> {
    Ok(FeatureFlag {
        id: FeatureFlagId::from(m.id),
        key: FlagKey::parse(&m.key).map_err(corrupt("feature flag key"))?,
        description: m.description,
        enabled: m.enabled,
        rollout_percent: RolloutPercent::new(m.rollout_percent.into())
            .map_err(corrupt("feature flag rollout"))?,
        allow_organizations: serde_json::from_value(m.allow_organizations)
            .map_err(corrupt("feature flag allow list"))?,
        deny_organizations: serde_json::from_value(m.deny_organizations)
            .map_err(corrupt("feature flag deny list"))?,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

impl<'c, C: ConnectionTrait> FeatureFlagRepository<'c, C> {
    /// A repository over `conn` for which "now" is `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Stores a new flag. `Conflict` (`FLAG_KEY_TAKEN`) when the key is taken.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert(&self, draft: &FeatureFlagDraft) -> Result<FeatureFlag, DomainError> {
        let row = feature_flags::ActiveModel {
            id: Set(FeatureFlagId::new().as_uuid()),
            key: Set(draft.key.as_str().to_owned()),
            description: Set(draft.description.clone()),
            enabled: Set(draft.enabled),
            rollout_percent: Set(draft.rollout_percent.get().into()),
            allow_organizations: Set(ids_json(&draft.allow_organizations)),
            deny_organizations: Set(ids_json(&draft.deny_organizations)),
            created_at: Set(self.now),
            updated_at: Set(self.now),
        }
        .insert(self.conn)
        .await
        .map_err(to_domain)?;
        to_domain_flag(row)
    }

    /// The flag with `key`. `NotFound` (`FEATURE_FLAG_NOT_FOUND`) when none.
    pub async fn find(&self, key: &FlagKey) -> Result<FeatureFlag, DomainError> {
        self.find_in(key, false).await
    }

    /// As [`Self::find`], and locks the row until the transaction ends
    /// (PostgreSQL: `FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` already serialises
    /// writers), so a change is computed from the state it replaces.
    pub async fn find_for_update(&self, key: &FlagKey) -> Result<FeatureFlag, DomainError> {
        self.find_in(key, true).await
    }

    async fn find_in(&self, key: &FlagKey, lock: bool) -> Result<FeatureFlag, DomainError> {
        let mut query = Entity::find().filter(Column::Key.eq(key.as_str()));
        if lock && self.conn.get_database_backend() == DbBackend::Postgres {
            query = query.lock_exclusive();
        }
        let row = query.one(self.conn).await.map_err(to_domain)?;
        row.map_or(Err(FEATURE_FLAG_NOT_FOUND), to_domain_flag)
    }

    /// Every flag, by key: what an organization's evaluation reads.
    pub async fn all(&self) -> Result<Vec<FeatureFlag>, DomainError> {
        Entity::find()
            .order_by_asc(Column::Key)
            .all(self.conn)
            .await
            .map_err(to_domain)?
            .into_iter()
            .map(to_domain_flag)
            .collect()
    }

    /// One page of the flags; see [`FeatureFlagList`].
    pub async fn list(
        &self,
        request: &PageRequest<FeatureFlagSort>,
    ) -> Result<Page<FeatureFlag>, DomainError> {
        listing::page::<FeatureFlagList, _, _, _>(Entity::find(), request, |query| async move {
            query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_domain_flag)
                .collect()
        })
        .await
    }

    /// Writes `flag` (as changed from the row it was read from) with
    /// `updated_at` at "now"; returns it as stored. `NotFound` when it is gone.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn save(&self, flag: &FeatureFlag) -> Result<FeatureFlag, DomainError> {
        let result = Entity::update_many()
            .col_expr(Column::Description, Expr::value(flag.description.clone()))
            .col_expr(Column::Enabled, Expr::value(flag.enabled))
            .col_expr(
                Column::RolloutPercent,
                Expr::value(i32::from(flag.rollout_percent.get())),
            )
            .col_expr(
                Column::AllowOrganizations,
                Expr::value(ids_json(&flag.allow_organizations)),
            )
            .col_expr(
                Column::DenyOrganizations,
                Expr::value(ids_json(&flag.deny_organizations)),
            )
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(flag.id.as_uuid()))
            .exec_with_returning(self.conn)
            .await
            .map_err(to_domain)?;
        result
            .into_iter()
            .next()
            .map_or(Err(FEATURE_FLAG_NOT_FOUND), to_domain_flag)
    }

    /// Deletes flag `id` for good; `false` when it is gone.
    pub async fn delete(&self, id: FeatureFlagId) -> Result<bool, DomainError> {
        let result = Entity::delete_many()
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected > 0)
    }
}

/// The flags: sorted by `createdAt` or `key`; `searchQuery` matches the key
/// and the description.
pub struct FeatureFlagList;

impl Listing for FeatureFlagList {
    type Sort = FeatureFlagSort;
    type Row = FeatureFlag;

    fn column(sort: FeatureFlagSort) -> (Expr, KeyKind) {
        match sort {
            FeatureFlagSort::CreatedAt => {
                (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp)
            }
            FeatureFlagSort::Key => (Expr::col((Entity, Column::Key)), KeyKind::Text),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        FeatureFlagId::parse(raw).ok().map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![
            Expr::col((Entity, Column::Key)),
            Expr::col((Entity, Column::Description)),
        ]
    }

    fn position(row: &FeatureFlag, sort: FeatureFlagSort) -> (SortValue, String) {
        let value = match sort {
            FeatureFlagSort::CreatedAt => SortValue::At(row.created_at),
            FeatureFlagSort::Key => SortValue::Text(row.key.as_str().to_owned()),
        };
        (value, row.id.to_string())
    }
}
