//! The waitlist.

use chrono::{DateTime, Utc};
use domain::waitlist::WaitlistSort;
use domain::{
    DomainError, Email, NewWaitlistEntry, Page, PageRequest, WaitlistEntry, WaitlistRole,
};
use sea_orm::sea_query::{Expr, Value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, Set,
};

use super::corrupt;
use super::listing::{self, KeyKind, Listing, SortValue};
use crate::db_error::to_domain;
use crate::entities::waitlist_entries::{self, Column, Entity};

/// Waitlist entries over a connection or transaction.
#[derive(Debug)]
pub struct WaitlistRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

impl<'c, C: ConnectionTrait> WaitlistRepository<'c, C> {
    /// A repository over `conn`, stamping writes with the system clock.
    pub fn new(conn: &'c C) -> Self {
        Self::at(conn, Utc::now())
    }

    /// A repository over `conn`, stamping writes with `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Adds an entry. `Conflict` (`EMAIL_TAKEN`) when the email is on the list
    /// already: the unique index decides, so concurrent sign-ups cannot both win.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add(&self, new: NewWaitlistEntry) -> Result<WaitlistEntry, DomainError> {
        let now = self.now;
        let row = waitlist_entries::ActiveModel {
            id: NotSet,
            email: Set(new.email.into_inner()),
            role: Set(new.role.as_str().to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let m = row.insert(self.conn).await.map_err(to_domain)?;
        to_domain_entry(m)
    }

    /// One page of the waitlist, only `role`'s entries when given (see
    /// [`WaitlistList`]). `Validation` (`INVALID_CURSOR`) for a cursor of
    /// another order.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list(
        &self,
        role: Option<WaitlistRole>,
        request: &PageRequest<WaitlistSort>,
    ) -> Result<Page<WaitlistEntry>, DomainError> {
        let mut query = Entity::find();
        if let Some(role) = role {
            query = query.filter(Column::Role.eq(role.as_str()));
        }
        listing::page::<WaitlistList, _, _, _>(query, request, |query| async move {
            query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_domain_entry)
                .collect()
        })
        .await
    }
}

fn to_domain_entry(m: waitlist_entries::Model) -> Result<WaitlistEntry, DomainError> {
    Ok(WaitlistEntry {
        id: m.id,
        email: Email::parse(&m.email).map_err(corrupt("email"))?,
        role: m.role.parse::<WaitlistRole>().map_err(corrupt("role"))?,
        created_at: m.created_at,
    })
}

/// The waitlist: sorted by `createdAt` or `email`, then by the sequential id
/// (a `bigint`); `searchQuery` matches the email.
pub struct WaitlistList;

impl Listing for WaitlistList {
    type Sort = WaitlistSort;
    type Row = WaitlistEntry;

    fn column(sort: WaitlistSort) -> (Expr, KeyKind) {
        match sort {
            WaitlistSort::CreatedAt => (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp),
            WaitlistSort::Email => (Expr::col((Entity, Column::Email)), KeyKind::Text),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        raw.parse::<i64>().ok().map(Value::from)
    }

    fn search_columns() -> Vec<Expr> {
        vec![Expr::col((Entity, Column::Email))]
    }

    fn position(row: &WaitlistEntry, sort: WaitlistSort) -> (SortValue, String) {
        let value = match sort {
            WaitlistSort::CreatedAt => SortValue::At(row.created_at),
            WaitlistSort::Email => SortValue::Text(row.email.as_str().to_owned()),
        };
        (value, row.id.to_string())
    }
}
