//! The waitlist.

use chrono::{DateTime, Utc};
use domain::{
    Cursor, DomainError, Email, NewWaitlistEntry, Page, PagePosition, PageRequest, SortDirection,
    WaitlistEntry, WaitlistRole,
};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, NotSet, Order, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::corrupt;
use super::listing;
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

    /// One page of the waitlist, only `role`'s entries when given. Sorted by
    /// `createdAt` or `email`, then by the sequential id; `search` matches the
    /// email. `Validation` (`INVALID_CURSOR`) for a cursor of another order.
    ///
    /// The shared [`listing::paginate`] keys on UUIDs; these rows have a `bigint`
    /// id, so the keyset condition is written here, in the same cursor format.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list(
        &self,
        role: Option<WaitlistRole>,
        request: &PageRequest,
    ) -> Result<Page<WaitlistEntry>, DomainError> {
        let by_email = request.sort_by == "email";
        let column = if by_email {
            Column::Email
        } else {
            Column::CreatedAt
        };
        let order = match request.direction {
            SortDirection::Asc => Order::Asc,
            SortDirection::Desc => Order::Desc,
        };
        let mut query = Entity::find()
            .order_by(column, order.clone())
            .order_by(Column::Id, order)
            .limit(request.page_size.saturating_add(1));
        if let Some(role) = role {
            query = query.filter(Column::Role.eq(role.as_str()));
        }
        if let Some(search) = &request.search {
            query = query.filter(listing::search_any(&[Expr::col(Column::Email)], search));
        }
        query = match &request.position {
            PagePosition::Number(page) => {
                query.offset(page.saturating_sub(1).saturating_mul(request.page_size))
            }
            PagePosition::After(cursor) => query.filter(after(request, column, cursor)?),
        };
        let rows = query
            .all(self.conn)
            .await
            .map_err(to_domain)?
            .into_iter()
            .map(to_domain_entry)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(rows, request.page_size, |entry| {
            let value = if by_email {
                entry.email.as_str().to_owned()
            } else {
                listing::timestamp_key(entry.created_at)
            };
            listing::cursor_after(request, value, entry.id)
        }))
    }
}

/// Rows after `cursor` in `request`'s order: `(col, id)` beyond the cursor's.
fn after(request: &PageRequest, column: Column, cursor: &Cursor) -> Result<Condition, DomainError> {
    let invalid = |message: &str| DomainError::invalid("cursor", "INVALID_CURSOR", message);
    // A cursor made for this order starts with the key `cursor_after` writes for it.
    let prefix = listing::cursor_after(request, String::new(), "").key;
    let raw = cursor
        .key
        .strip_prefix(&prefix)
        .ok_or_else(|| invalid("the cursor belongs to another sortBy or sortDirection"))?;
    let value: Value = match column {
        Column::CreatedAt => DateTime::parse_from_rfc3339(raw)
            .map_err(|_| invalid("the cursor's position is not a timestamp"))?
            .with_timezone(&Utc)
            .into(),
        _ => raw.to_owned().into(),
    };
    let id: i64 = cursor
        .id
        .parse()
        .map_err(|_| invalid("the cursor's ID is not valid"))?;
    let (col, id_col) = (Expr::col(column), Expr::col(Column::Id));
    let (beyond, id_beyond) = match request.direction {
        SortDirection::Asc => (col.clone().gt(value.clone()), id_col.gt(id)),
        SortDirection::Desc => (col.clone().lt(value.clone()), id_col.lt(id)),
    };
    Ok(Condition::any()
        .add(beyond)
        .add(Condition::all().add(col.eq(value)).add(id_beyond)))
}

fn to_domain_entry(m: waitlist_entries::Model) -> Result<WaitlistEntry, DomainError> {
    Ok(WaitlistEntry {
        id: m.id,
        email: Email::parse(&m.email).map_err(corrupt("email"))?,
        role: m.role.parse::<WaitlistRole>().map_err(corrupt("role"))?,
        created_at: m.created_at,
    })
}
