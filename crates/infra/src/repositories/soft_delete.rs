//! Soft delete, restore and purge, shared by every soft-deletable table.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use domain::DomainError;
use sea_orm::sea_query::{Expr, IntoCondition};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Select};
use uuid::Uuid;

use crate::db_error::to_domain;

/// A table with `deleted_at`, and how its rows become domain values.
pub trait SoftDeletable: EntityTrait {
    /// The typed ID of a row.
    type Id: Into<Uuid> + Copy + Send;
    /// The domain value of a row.
    type Domain;
    /// For `NotFound`: the resource name and code.
    const NOT_FOUND: DomainError;
    /// The primary key column.
    fn id_column() -> Self::Column;
    /// The `deleted_at` column.
    fn deleted_at_column() -> Self::Column;
    /// The `updated_at` column.
    fn updated_at_column() -> Self::Column;
    /// Converts a row.
    fn to_domain(model: Self::Model) -> Result<Self::Domain, DomainError>;
}

/// The three column accessors every soft-deletable entity names the same way.
macro_rules! standard_columns {
    () => {
        fn id_column() -> Column {
            Column::Id
        }
        fn deleted_at_column() -> Column {
            Column::DeletedAt
        }
        fn updated_at_column() -> Column {
            Column::UpdatedAt
        }
    };
}
pub(crate) use standard_columns;

/// Soft-delete-aware access to one table over a connection or transaction.
/// Every write it makes is stamped with one instant, `now` (so a cascade shares a
/// single `deleted_at`, which is how a restore finds what the cascade removed).
#[derive(Debug)]
pub struct SoftDeleteRepository<'c, C, E> {
    pub(crate) conn: &'c C,
    pub(crate) now: DateTime<Utc>,
    entity: PhantomData<E>,
}

impl<'c, C: ConnectionTrait, E: SoftDeletable> SoftDeleteRepository<'c, C, E>
where
    E::Model: Sync,
{
    /// A repository over `conn` (the pool or a unit of work's transaction) that
    /// stamps writes with the system clock's current time.
    pub fn new(conn: &'c C) -> Self {
        Self::at(conn, Utc::now())
    }

    /// A repository over `conn` that stamps every write with `now` (the caller's
    /// clock).
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self {
            conn,
            now,
            entity: PhantomData,
        }
    }

    /// Live rows: the default for every read.
    pub fn live() -> Select<E> {
        E::find().filter(E::deleted_at_column().is_null())
    }

    /// The live row with this ID. `NotFound` when missing or soft-deleted.
    pub async fn find(&self, id: E::Id) -> Result<E::Domain, DomainError> {
        let row = Self::live()
            .filter(E::id_column().eq(id.into()))
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        row.map_or(Err(E::NOT_FOUND), E::to_domain)
    }

    /// The row with this ID, deleted or not. `NotFound` only when missing.
    pub async fn find_with_deleted(&self, id: E::Id) -> Result<E::Domain, DomainError> {
        let row = E::find()
            .filter(E::id_column().eq(id.into()))
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        row.map_or(Err(E::NOT_FOUND), E::to_domain)
    }

    /// Soft-deleted rows, most recently deleted first.
    pub async fn only_deleted(&self) -> Result<Vec<E::Domain>, DomainError> {
        E::find()
            .filter(E::deleted_at_column().is_not_null())
            .order_by_desc(E::deleted_at_column())
            .all(self.conn)
            .await
            .map_err(to_domain)?
            .into_iter()
            .map(E::to_domain)
            .collect()
    }

    /// Marks the live row deleted. `NotFound` when missing or already deleted.
    pub async fn soft_delete(&self, id: E::Id) -> Result<(), DomainError> {
        match self.soft_delete_where(E::id_column().eq(id.into())).await? {
            0 => Err(E::NOT_FOUND),
            _ => Ok(()),
        }
    }

    /// Marks every live row matching `scope` deleted, all at this repository's
    /// `now` (one cascade shares one instant); returns how many.
    pub async fn soft_delete_where(&self, scope: impl IntoCondition) -> Result<u64, DomainError> {
        let result = E::update_many()
            .col_expr(E::deleted_at_column(), Expr::value(self.now))
            .col_expr(E::updated_at_column(), Expr::value(self.now))
            .filter(scope.into_condition())
            .filter(E::deleted_at_column().is_null())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected)
    }

    /// Brings a deleted row back. `NotFound` when missing or not deleted;
    /// `Conflict` (unique) when a live row has taken one of its unique values.
    pub async fn restore(&self, id: E::Id) -> Result<E::Domain, DomainError> {
        let restored = self
            .restore_where(
                E::id_column().eq(id.into()),
                E::deleted_at_column().is_not_null(),
            )
            .await?;
        if restored == 0 {
            return Err(E::NOT_FOUND);
        }
        self.find(id).await
    }

    /// Brings back the rows matching `scope` that were deleted at exactly
    /// `deleted_at`: the ones one cascade removed, not those deleted before or
    /// after. Returns how many; `Conflict` (unique) when a live row has taken one
    /// of their unique values.
    pub async fn restore_deleted_at(
        &self,
        scope: impl IntoCondition,
        deleted_at: DateTime<Utc>,
    ) -> Result<u64, DomainError> {
        self.restore_where(scope, E::deleted_at_column().eq(deleted_at))
            .await
    }

    async fn restore_where(
        &self,
        scope: impl IntoCondition,
        deleted: impl IntoCondition,
    ) -> Result<u64, DomainError> {
        let result = E::update_many()
            .col_expr(
                E::deleted_at_column(),
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(E::updated_at_column(), Expr::value(self.now))
            .filter(scope.into_condition())
            .filter(deleted.into_condition())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected)
    }

    /// Permanently removes rows soft-deleted before `cutoff`; returns how many.
    /// Live rows are never touched.
    pub async fn purge_deleted_before(&self, cutoff: DateTime<Utc>) -> Result<u64, DomainError> {
        let result = E::delete_many()
            .filter(E::deleted_at_column().is_not_null())
            .filter(E::deleted_at_column().lt(cutoff))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected)
    }
}
