//! List queries shared by every list endpoint: ordering, page offsets, keyset
//! cursors and literal, case-insensitive search — written once so both engines
//! behave the same.
//!
//! A cursor's key is `{sortBy}:{direction}:{value}` (the last row's sort value as
//! text) and its id the last row's public ID. It is only valid for the order it was
//! made for; a mismatch or an unreadable value is 422 `INVALID_CURSOR`.

use std::future::Future;

use chrono::{DateTime, SecondsFormat, Utc};
use domain::{Cursor, DomainError, Page, PagePosition, PageRequest, SortDirection, SortField};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, LikeExpr, SelectStatement, Value};
use sea_orm::{Order, QueryFilter, QueryOrder, QuerySelect};

/// How a sort column's values are compared and written into a cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// A `timestamptz`, written as RFC 3339 with every sub-second digit.
    Timestamp,
    /// Text, written as is.
    Text,
    /// An integer, written in decimal.
    Integer,
}

/// A row's value of the sort column, as its cursor keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SortValue {
    /// A timestamp column's value.
    At(DateTime<Utc>),
    /// A text column's value.
    Text(String),
    /// An integer column's value.
    Integer(i64),
}

/// A list, written once per list: the column each `sortBy` value orders by, the
/// columns a search looks in, and where a row leaves the cursor after it.
/// [`page`] does the rest for every list.
pub trait Listing {
    /// The list's `sortBy` (declared in `domain`).
    type Sort: SortField;
    /// What one row of the page is.
    type Row;
    /// The column `sort` orders by (qualified, since lists may join) and what
    /// kind of values it holds.
    fn column(sort: Self::Sort) -> (Expr, KeyKind);
    /// The primary key: the tie-breaker and the cursor's id.
    fn id_column() -> Expr;
    /// A cursor's public ID back to the stored key; `None` when it is not one.
    fn parse_id(raw: &str) -> Option<Value>;
    /// The columns `searchQuery` matches (any of them).
    fn search_columns() -> Vec<Expr>;
    /// The row's value of `sort`'s column and its public ID.
    fn position(row: &Self::Row, sort: Self::Sort) -> (SortValue, String);
}

/// One page of list `L`: `query` (already filtered to the rows the list may
/// show) searched, ordered by the requested sort then the ID, started at the
/// requested page or after the cursor, fetched with `page_size + 1` rows by
/// `fetch` (the extra row tells whether a next page exists), and cut into a
/// page whose `nextCursor` points after its last row. [`page_query`] then
/// `fetch` then [`cut`].
///
/// Errors: `Validation` (`cursor`, `INVALID_CURSOR`) when the cursor was made for
/// another order or its value or ID does not parse; whatever `fetch` returns.
pub async fn page<L, Q, F, Fut>(
    query: Q,
    request: &PageRequest<L::Sort>,
    fetch: F,
) -> Result<Page<L::Row>, DomainError>
where
    L: Listing,
    Q: QueryFilter + QueryOrder + QuerySelect,
    F: FnOnce(Q) -> Fut,
    Fut: Future<Output = Result<Vec<L::Row>, DomainError>>,
{
    page_keyed::<L, Q, F, Fut>(query, None, request, fetch).await
}

/// [`page`], with a narrower statement for an offset page's key subquery
/// (see [`page_query_keyed`]).
pub async fn page_keyed<L, Q, F, Fut>(
    query: Q,
    keys: Option<SelectStatement>,
    request: &PageRequest<L::Sort>,
    fetch: F,
) -> Result<Page<L::Row>, DomainError>
where
    L: Listing,
    Q: QueryFilter + QueryOrder + QuerySelect,
    F: FnOnce(Q) -> Fut,
    Fut: Future<Output = Result<Vec<L::Row>, DomainError>>,
{
    let query = page_query_keyed::<L, Q>(query, keys, request)?;
    Ok(cut::<L>(fetch(query).await?, request))
}

/// The order of list `L` for `request`: the sort column, the ID column (the
/// tie-breaker) and the direction both are ordered in.
pub fn order_keys<L: Listing>(request: &PageRequest<L::Sort>) -> (Expr, Expr, Order) {
    let order = match request.direction {
        SortDirection::Asc => Order::Asc,
        SortDirection::Desc => Order::Desc,
    };
    (L::column(request.sort_by).0, L::id_column(), order)
}

/// The select of one page of list `L`: `query` (already filtered to the rows
/// the list may show) searched, ordered by [`order_keys`], limited to
/// `page_size + 1` rows, and started after the cursor or at the page.
///
/// A page past the first picks its rows by key first: `id IN (SELECT id ...
/// ORDER BY sort, id LIMIT page_size + 1 OFFSET skipped)` over the same
/// filtered, searched rows, so the skipped rows are read only as far as the
/// order needs (on an index on the sort column, not at all from the table)
/// and only the page's rows are read in full and joined.
///
/// Errors: `Validation` (`cursor`, `INVALID_CURSOR`) when the cursor was made for
/// another order or its value or ID does not parse.
pub fn page_query<L, Q>(query: Q, request: &PageRequest<L::Sort>) -> Result<Q, DomainError>
where
    L: Listing,
    Q: QueryFilter + QueryOrder + QuerySelect,
{
    page_query_keyed::<L, Q>(query, None, request)
}

/// [`page_query`], where an offset page's key subquery selects from `keys`
/// instead of from `query` when given: a statement over fewer tables that
/// holds the same rows (the list's filters without a join that removes no
/// live row), searched in the same way. The caller gives it only when the
/// request's sort column (and its search columns, when it searches) are on
/// the tables `keys` reads.
pub fn page_query_keyed<L, Q>(
    query: Q,
    keys: Option<SelectStatement>,
    request: &PageRequest<L::Sort>,
) -> Result<Q, DomainError>
where
    L: Listing,
    Q: QueryFilter + QueryOrder + QuerySelect,
{
    let (column, kind) = L::column(request.sort_by);
    let (_, id, order) = order_keys::<L>(request);
    let mut query = query;
    let search = request
        .search
        .as_ref()
        .map(|search| search_any(&L::search_columns(), search));
    if let Some(search) = &search {
        query = query.filter(search.clone());
    }
    let limit = request.page_size.saturating_add(1);
    let query = match &request.position {
        PagePosition::Number(page) if *page > 1 => {
            let skipped = page.saturating_sub(1).saturating_mul(request.page_size);
            let mut keys = match keys {
                Some(mut keys) => {
                    if let Some(search) = search {
                        keys.cond_where(search);
                    }
                    keys
                }
                None => QuerySelect::query(&mut query).clone(),
            };
            keys.clear_selects()
                .expr(id.clone())
                .clear_order_by()
                .order_by_expr(column.clone(), order.clone())
                .order_by_expr(id.clone(), order.clone())
                .limit(limit)
                .offset(skipped);
            query.filter(id.clone().in_subquery(keys))
        }
        PagePosition::Number(_) => query.offset(0),
        PagePosition::After(cursor) => {
            let value = cursor_value(request, kind, cursor)?;
            let last = L::parse_id(&cursor.id)
                .ok_or_else(|| invalid_cursor("the cursor's ID is not valid"))?;
            query.filter(after(
                request.direction,
                column.clone(),
                value,
                id.clone(),
                last,
            ))
        }
    };
    Ok(query
        .order_by(column, order.clone())
        .order_by(id, order)
        .limit(limit))
}

/// The page of list `L` in `rows` as [`page_query`] fetched them (`page_size +
/// 1` at most): the first `page_size`, `hasNext` when there were more, and a
/// `nextCursor` after the last one kept.
pub fn cut<L: Listing>(rows: Vec<L::Row>, request: &PageRequest<L::Sort>) -> Page<L::Row> {
    Page::from_overfetch(rows, request.page_size, |row| {
        let (value, id) = L::position(row, request.sort_by);
        cursor_after(request, value, id)
    })
}

/// A timestamp as a cursor writes it: RFC 3339, UTC, full precision.
pub fn timestamp_key(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The start of the key of every cursor made for `request`'s order.
fn key_prefix<S: SortField>(request: &PageRequest<S>) -> String {
    format!(
        "{}:{}:",
        request.sort_by.as_str(),
        direction_name(request.direction)
    )
}

/// The cursor after a row whose sort value is `value` and whose public ID is
/// `id`, bound to `request`'s sort field and direction.
pub fn cursor_after<S: SortField>(
    request: &PageRequest<S>,
    value: SortValue,
    id: String,
) -> Cursor {
    let value = match value {
        SortValue::At(at) => timestamp_key(at),
        SortValue::Text(text) => text,
        SortValue::Integer(n) => n.to_string(),
    };
    Cursor::new(format!("{}{value}", key_prefix(request)), id)
}

fn direction_name(direction: SortDirection) -> &'static str {
    match direction {
        SortDirection::Asc => "asc",
        SortDirection::Desc => "desc",
    }
}

fn invalid_cursor(message: &str) -> DomainError {
    DomainError::invalid("cursor", "INVALID_CURSOR", message)
}

/// The sort value a cursor names, read as `kind`. `INVALID_CURSOR` when the
/// cursor was made for another order or its value does not parse.
fn cursor_value<S: SortField>(
    request: &PageRequest<S>,
    kind: KeyKind,
    cursor: &Cursor,
) -> Result<Value, DomainError> {
    let raw = cursor
        .key
        .strip_prefix(&key_prefix(request))
        .ok_or_else(|| invalid_cursor("the cursor belongs to another sortBy or sortDirection"))?;
    Ok(match kind {
        KeyKind::Timestamp => DateTime::parse_from_rfc3339(raw)
            .map_err(|_| invalid_cursor("the cursor's position is not a timestamp"))?
            .with_timezone(&Utc)
            .into(),
        KeyKind::Text => raw.to_owned().into(),
        KeyKind::Integer => raw
            .parse::<i64>()
            .map_err(|_| invalid_cursor("the cursor's position is not an integer"))?
            .into(),
    })
}

/// `col >= v AND ((col > v) OR (col = v AND id > last))`, with `<` and `<=`
/// for a descending order. The leading `col >= v` says the same as the rest but
/// is a plain range an index on the sort column can start from: without it the
/// engine reads (and filters out) every row before the cursor, so a page
/// 40,000 rows deep cost as much as `OFFSET 40000`.
fn after(
    direction: SortDirection,
    column: Expr,
    value: Value,
    id_column: Expr,
    last: Value,
) -> Condition {
    let (from, beyond, id_beyond) = match direction {
        SortDirection::Asc => (
            column.clone().gte(value.clone()),
            column.clone().gt(value.clone()),
            id_column.gt(Expr::val(last)),
        ),
        SortDirection::Desc => (
            column.clone().lte(value.clone()),
            column.clone().lt(value.clone()),
            id_column.lt(Expr::val(last)),
        ),
    };
    Condition::all().add(from).add(
        Condition::any()
            .add(beyond)
            .add(Condition::all().add(column.eq(value)).add(id_beyond)),
    )
}

/// The `LIKE` pattern that finds `search` as a literal substring: `\`, `%` and
/// `_` are escaped with `\`, and it is lower-cased to match `LOWER(column)`.
pub fn contains_pattern(search: &str) -> String {
    let mut pattern = String::with_capacity(search.len() + 2);
    pattern.push('%');
    for c in search.to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Rows where any of `columns` contains `search`, case-insensitively and
/// literally: `LOWER(col) LIKE :pattern ESCAPE '\'` (the pattern is a bound
/// parameter; the same spelling works on PostgreSQL and SQLite).
pub fn search_any(columns: &[Expr], search: &str) -> Condition {
    let pattern = contains_pattern(search);
    columns.iter().fold(Condition::any(), |any, column| {
        any.add(Expr::expr(Func::lower(column.clone())).like(LikeExpr::new(&pattern).escape('\\')))
    })
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{Alias, PostgresQueryBuilder, Query, SqliteQueryBuilder};

    use super::*;

    #[test]
    fn search_patterns_are_literal_and_lower_case() {
        assert_eq!(contains_pattern("Ab"), "%ab%");
        assert_eq!(contains_pattern(r"50%_\x"), r"%50\%\_\\x%");
        assert_eq!(contains_pattern("o'brien"), "%o'brien%");
    }

    #[test]
    fn the_escape_character_is_one_backslash_on_both_engines() {
        let query = Query::select()
            .expr(Expr::val(1))
            .from(Alias::new("t"))
            .cond_where(search_any(&[Expr::col(Alias::new("c"))], "x"))
            .to_owned();
        let (pg, _) = query.build(PostgresQueryBuilder);
        assert!(pg.ends_with(r#"LOWER("c") LIKE $2 ESCAPE E'\\'"#), "{pg}");
        let (sqlite, _) = query.build(SqliteQueryBuilder);
        assert!(
            sqlite.ends_with(r#"LOWER("c") LIKE ? ESCAPE '\'"#),
            "{sqlite}"
        );
    }

    #[test]
    fn a_cursor_starts_an_index_range_at_its_key() {
        for (direction, range, beyond) in [
            (
                SortDirection::Desc,
                r#""created_at" <= 'k'"#,
                r#""created_at" < 'k'"#,
            ),
            (
                SortDirection::Asc,
                r#""created_at" >= 'k'"#,
                r#""created_at" > 'k'"#,
            ),
        ] {
            let condition = after(
                direction,
                Expr::col(Alias::new("created_at")),
                "k".into(),
                Expr::col(Alias::new("id")),
                1.into(),
            );
            let sql = Query::select()
                .expr(Expr::val(1))
                .from(Alias::new("t"))
                .cond_where(condition)
                .to_owned()
                .to_string(PostgresQueryBuilder);
            let (_, filter) = sql.split_once("WHERE ").unwrap();
            assert!(filter.starts_with(range), "{filter}");
            assert!(filter.contains(beyond), "{filter}");
        }
    }

    #[test]
    fn timestamps_keep_every_digit() {
        let at = DateTime::parse_from_rfc3339("2024-01-02T03:04:05.123456789Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(timestamp_key(at), "2024-01-02T03:04:05.123456789Z");
    }
}
