//! Context entries and their versions. A write to an entry is one conditional
//! statement on the row its caller holds locked (`... WHERE version = <read>`),
//! and a first write is an insert that yields to a concurrent one
//! (`ON CONFLICT DO NOTHING`), so neither a lost update nor a unique violation
//! can come out of two writers of one key.

use chrono::{DateTime, Utc};
use domain::context_entries::{
    CONTEXT_ENTRY_NOT_FOUND, CONTEXT_VERSION_NOT_FOUND, ContextEntry, ContextEntryFilter,
    ContextEntrySort, ContextKey, ContextValue, ContextVersion, ContextVersionSort,
};
use domain::{ContextEntryId, ContextVersionId, DomainError, OrganizationId, Page, PageRequest};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Value};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Select, Set,
    TryInsertResult,
};

use super::corrupt;
use super::listing::{self, KeyKind, Listing, SortValue};
use super::soft_delete::{SoftDeletable, SoftDeleteRepository, standard_columns};
use crate::db_error::to_domain;
use crate::entities::context_entries::{self, Column, Entity};
use crate::entities::context_entry_versions as versions;

/// Context entries, soft-delete aware.
pub type ContextEntryRepository<'c, C> = SoftDeleteRepository<'c, C, Entity>;

fn version_of(stored: i32) -> Result<u32, DomainError> {
    u32::try_from(stored).map_err(corrupt("context version"))
}

impl SoftDeletable for Entity {
    type Id = ContextEntryId;
    type Domain = ContextEntry;
    const NOT_FOUND: DomainError = CONTEXT_ENTRY_NOT_FOUND;

    standard_columns!();
    fn to_domain(m: context_entries::Model) -> Result<ContextEntry, DomainError> {
        Ok(ContextEntry {
            id: ContextEntryId::from(m.id),
            organization_id: OrganizationId::from(m.organization_id),
            key: ContextKey::parse(&m.key).map_err(corrupt("context key"))?,
            value: m.value,
            version: version_of(m.version)?,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// The live entry of `key` in `organization` (one at most: the unique index).
fn live_key(organization: OrganizationId, key: &ContextKey) -> Select<Entity> {
    Entity::find()
        .filter(Column::DeletedAt.is_null())
        .filter(Column::OrganizationId.eq(organization.as_uuid()))
        .filter(Column::Key.eq(key.as_str()))
}

impl<C: ConnectionTrait> SoftDeleteRepository<'_, C, Entity> {
    /// The live entry of `key`. `NotFound` (`CONTEXT_ENTRY_NOT_FOUND`) when
    /// there is none.
    pub async fn find_by_key(
        &self,
        organization: OrganizationId,
        key: &ContextKey,
    ) -> Result<ContextEntry, DomainError> {
        let row = live_key(organization, key)
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        row.map_or(Err(CONTEXT_ENTRY_NOT_FOUND), Entity::to_domain)
    }

    /// The live entry of `key`, if any, locked until the unit of work ends
    /// (PostgreSQL: `FOR UPDATE`, and a writer that waited reads the row as
    /// its holder left it; SQLite: the unit of work holds the write lock
    /// already). What is read here is what the write then checks against.
    pub async fn lock_by_key(
        &self,
        organization: OrganizationId,
        key: &ContextKey,
    ) -> Result<Option<ContextEntry>, DomainError> {
        let mut query = live_key(organization, key);
        if self.conn.get_database_backend() == DbBackend::Postgres {
            query = query.lock_exclusive();
        }
        query
            .one(self.conn)
            .await
            .map_err(to_domain)?
            .map(Entity::to_domain)
            .transpose()
    }

    /// The first version of a new entry of `key`: 1, or one past the last of
    /// its deleted entries, so a version number never names two values of a key.
    pub async fn first_version(
        &self,
        organization: OrganizationId,
        key: &ContextKey,
    ) -> Result<u32, DomainError> {
        let last: Option<Option<i32>> = Entity::find()
            .select_only()
            .expr(Expr::col(Column::Version).max())
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::Key.eq(key.as_str()))
            .filter(Column::DeletedAt.is_not_null())
            .into_tuple()
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        match last.flatten() {
            None => Ok(1),
            Some(last) => Ok(version_of(last)?.saturating_add(1)),
        }
    }

    /// Creates the entry of `key` at `version` with `value`, unless a live one
    /// exists: then `None` (on PostgreSQL after the transaction that made it
    /// has committed), and nothing is written.
    pub async fn insert_if_absent(
        &self,
        organization: OrganizationId,
        key: &ContextKey,
        value: &ContextValue,
        version: u32,
    ) -> Result<Option<ContextEntry>, DomainError> {
        let now = self.now;
        let model = context_entries::Model {
            id: ContextEntryId::new().as_uuid(),
            organization_id: organization.as_uuid(),
            key: key.as_str().to_owned(),
            value: value.as_json().clone(),
            version: stored(version)?,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        // The conflict target names the partial unique index (its columns and
        // predicate), the only conflict that is expected.
        let on_conflict = OnConflict::columns([Column::OrganizationId, Column::Key])
            .target_and_where(Expr::col(Column::DeletedAt).is_null())
            .do_nothing()
            .to_owned();
        // Without `RETURNING`: SeaORM reads an empty `RETURNING` as an error,
        // not as the conflict it is. The row is read back after, as stored
        // (PostgreSQL keeps microseconds of `now`).
        let id = model.id;
        let inserted = Entity::insert(context_entries::ActiveModel::from(model))
            .on_conflict(on_conflict)
            .try_insert()
            .exec_without_returning(self.conn)
            .await
            .map_err(to_domain)?;
        match inserted {
            TryInsertResult::Inserted(rows) if rows > 0 => {
                let row = Entity::find_by_id(id)
                    .one(self.conn)
                    .await
                    .map_err(to_domain)?
                    .ok_or_else(|| DomainError::Internal("an inserted entry is missing".into()))?;
                Entity::to_domain(row).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Writes `value` as the next version of `entry`, if it is still live at
    /// `entry.version`; `None` otherwise (nothing written).
    pub async fn write_next_version(
        &self,
        entry: &ContextEntry,
        value: &ContextValue,
    ) -> Result<Option<ContextEntry>, DomainError> {
        let next = stored(entry.version.saturating_add(1))?;
        let rows = Entity::update_many()
            .col_expr(Column::Value, Expr::value(value.as_json().clone()))
            .col_expr(Column::Version, Expr::value(next))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(entry.id.as_uuid()))
            .filter(Column::Version.eq(stored(entry.version)?))
            .filter(Column::DeletedAt.is_null())
            .exec_with_returning(self.conn)
            .await
            .map_err(to_domain)?;
        rows.into_iter().next().map(Entity::to_domain).transpose()
    }

    /// Soft-deletes `entry` if it is still live at `entry.version`; whether it
    /// did.
    pub async fn delete_at_version(&self, entry: &ContextEntry) -> Result<bool, DomainError> {
        let deleted = self
            .soft_delete_where(
                Column::Id
                    .eq(entry.id.as_uuid())
                    .and(Column::Version.eq(stored(entry.version)?)),
            )
            .await?;
        Ok(deleted > 0)
    }

    /// One page of the organization's live entries (see [`ContextEntryList`]),
    /// those whose key starts with `filter.prefix` when it is given.
    pub async fn list(
        &self,
        organization: OrganizationId,
        filter: &ContextEntryFilter,
        request: &PageRequest<ContextEntrySort>,
    ) -> Result<Page<ContextEntry>, DomainError> {
        let mut query = Self::live().filter(Column::OrganizationId.eq(organization.as_uuid()));
        if let Some(prefix) = &filter.prefix {
            // A range, not `LIKE`: case-sensitive on both engines (SQLite's
            // `LIKE` is not), and served by the (organization_id, key) index.
            query = query
                .filter(Column::Key.gte(prefix.as_str()))
                .filter(Column::Key.lt(prefix.prefix_successor()));
        }
        listing::page::<ContextEntryList, _, _, _>(query, request, |query| async move {
            query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(Entity::to_domain)
                .collect()
        })
        .await
    }
}

/// A version as stored: a positive 32-bit integer.
fn stored(version: u32) -> Result<i32, DomainError> {
    i32::try_from(version)
        .map_err(|_| DomainError::Internal(format!("version {version} is past the column's range")))
}

/// An organization's live entries: sorted by `createdAt`, `key` or
/// `updatedAt`; `searchQuery` matches the key.
pub struct ContextEntryList;

impl Listing for ContextEntryList {
    type Sort = ContextEntrySort;
    type Row = ContextEntry;

    fn column(sort: ContextEntrySort) -> (Expr, KeyKind) {
        match sort {
            ContextEntrySort::CreatedAt => {
                (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp)
            }
            ContextEntrySort::Key => (Expr::col((Entity, Column::Key)), KeyKind::Text),
            ContextEntrySort::UpdatedAt => {
                (Expr::col((Entity, Column::UpdatedAt)), KeyKind::Timestamp)
            }
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        ContextEntryId::parse(raw)
            .ok()
            .map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![Expr::col((Entity, Column::Key))]
    }

    fn position(row: &ContextEntry, sort: ContextEntrySort) -> (SortValue, String) {
        let value = match sort {
            ContextEntrySort::CreatedAt => SortValue::At(row.created_at),
            ContextEntrySort::Key => SortValue::Text(row.key.as_str().to_owned()),
            ContextEntrySort::UpdatedAt => SortValue::At(row.updated_at),
        };
        (value, row.id.to_string())
    }
}

/// The versions of context entries: appended with each write, never changed.
#[derive(Debug)]
pub struct ContextVersionRepository<'c, C> {
    conn: &'c C,
}

fn to_domain_version(m: versions::Model) -> Result<ContextVersion, DomainError> {
    Ok(ContextVersion {
        entry_id: ContextEntryId::from(m.entry_id),
        version: version_of(m.version)?,
        value: m.value,
        created_by: m.created_by,
        created_at: m.created_at,
    })
}

impl<'c, C: ConnectionTrait> ContextVersionRepository<'c, C> {
    /// A repository over `conn`: a unit of work's, for writes.
    pub fn new(conn: &'c C) -> Self {
        Self { conn }
    }

    /// Records `entry`'s current version, written by `created_by` (`usr_...`,
    /// `key_...`) at `entry.updated_at`.
    pub async fn record(&self, entry: &ContextEntry, created_by: &str) -> Result<(), DomainError> {
        let at: DateTime<Utc> = entry.updated_at;
        versions::Entity::insert(versions::ActiveModel {
            id: Set(ContextVersionId::new().as_uuid()),
            entry_id: Set(entry.id.as_uuid()),
            organization_id: Set(entry.organization_id.as_uuid()),
            version: Set(stored(entry.version)?),
            value: Set(entry.value.clone()),
            created_by: Set(created_by.to_owned()),
            created_at: Set(at),
            updated_at: Set(at),
        })
        .exec_without_returning(self.conn)
        .await
        .map_err(to_domain)?;
        Ok(())
    }

    /// Version `version` of `entry`. `NotFound` (`CONTEXT_VERSION_NOT_FOUND`)
    /// when it never had one.
    pub async fn find(
        &self,
        entry: &ContextEntry,
        version: u32,
    ) -> Result<ContextVersion, DomainError> {
        let row = Self::of(entry)
            .filter(versions::Column::Version.eq(stored(version)?))
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        row.map_or(Err(CONTEXT_VERSION_NOT_FOUND), to_domain_version)
    }

    /// One page of `entry`'s versions (see [`ContextVersionList`]).
    pub async fn list(
        &self,
        entry: &ContextEntry,
        request: &PageRequest<ContextVersionSort>,
    ) -> Result<Page<ContextVersion>, DomainError> {
        listing::page::<ContextVersionList, _, _, _>(Self::of(entry), request, |query| async move {
            query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_domain_version)
                .collect()
        })
        .await
    }

    /// The versions of `entry`, in its organization only.
    fn of(entry: &ContextEntry) -> Select<versions::Entity> {
        versions::Entity::find()
            .filter(versions::Column::EntryId.eq(entry.id.as_uuid()))
            .filter(versions::Column::OrganizationId.eq(entry.organization_id.as_uuid()))
    }
}

/// An entry's versions, by number (unique within the entry, so the number is
/// also the cursor's tie-breaker); no search.
pub struct ContextVersionList;

impl Listing for ContextVersionList {
    type Sort = ContextVersionSort;
    type Row = ContextVersion;

    fn column(sort: ContextVersionSort) -> (Expr, KeyKind) {
        match sort {
            ContextVersionSort::Version => (
                Expr::col((versions::Entity, versions::Column::Version)),
                KeyKind::Integer,
            ),
        }
    }

    fn id_column() -> Expr {
        Expr::col((versions::Entity, versions::Column::Version))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        raw.parse::<i32>().ok().map(Value::from)
    }

    fn search_columns() -> Vec<Expr> {
        Vec::new()
    }

    fn position(row: &ContextVersion, sort: ContextVersionSort) -> (SortValue, String) {
        match sort {
            ContextVersionSort::Version => (
                SortValue::Integer(i64::from(row.version)),
                row.version.to_string(),
            ),
        }
    }
}
