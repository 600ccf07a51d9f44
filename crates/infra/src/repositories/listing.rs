//! List queries shared by every list endpoint: ordering, page offsets, keyset
//! cursors and literal, case-insensitive search — written once so both engines
//! behave the same.
//!
//! A cursor's key is `{sortBy}:{direction}:{value}` (the last row's sort value as
//! text) and its id the last row's public ID. It is only valid for the order it was
//! made for; a mismatch or an unreadable value is 422 `INVALID_CURSOR`.

use chrono::{DateTime, SecondsFormat, Utc};
use domain::{Cursor, DomainError, PagePosition, PageRequest, SortDirection};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, LikeExpr, Value};
use sea_orm::{Order, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

/// How a sort column's values are compared and written into a cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// A `timestamptz`, written as RFC 3339 with every sub-second digit.
    Timestamp,
    /// Text, written as is.
    Text,
}

/// The column a list is sorted by, and the ID column that breaks ties.
#[derive(Clone, Debug)]
pub struct SortKey {
    /// The sort column (qualified, since lists may join).
    pub column: Expr,
    /// What kind of values it holds.
    pub kind: KeyKind,
    /// The row's primary key: the tie-breaker and the cursor's id.
    pub id: Expr,
}

/// A timestamp as a cursor writes it: RFC 3339, UTC, full precision.
pub fn timestamp_key(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The cursor after a row whose sort value is `value` (see [`timestamp_key`]) and
/// whose public ID is `id`, bound to `request`'s sort field and direction.
pub fn cursor_after(request: &PageRequest, value: String, id: impl std::fmt::Display) -> Cursor {
    Cursor::new(
        format!(
            "{}:{}:{value}",
            request.sort_by,
            direction_name(request.direction)
        ),
        id.to_string(),
    )
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

/// Orders `query` by `key` then its ID (both in the requested direction), starts
/// it at the requested page or after the cursor, and fetches `page_size + 1` rows
/// (the extra row tells whether a next page exists). `parse_id` reads the
/// cursor's public ID back to the stored `uuid`.
///
/// Errors: `Validation` (`cursor`, `INVALID_CURSOR`) when the cursor was made for
/// another order or its value or ID does not parse.
pub fn paginate<Q>(
    query: Q,
    request: &PageRequest,
    key: &SortKey,
    parse_id: impl Fn(&str) -> Option<Uuid>,
) -> Result<Q, DomainError>
where
    Q: QueryFilter + QueryOrder + QuerySelect,
{
    let order = match request.direction {
        SortDirection::Asc => Order::Asc,
        SortDirection::Desc => Order::Desc,
    };
    let query = query
        .order_by(key.column.clone(), order.clone())
        .order_by(key.id.clone(), order)
        .limit(request.page_size.saturating_add(1));
    Ok(match &request.position {
        PagePosition::Number(page) => {
            query.offset(page.saturating_sub(1).saturating_mul(request.page_size))
        }
        PagePosition::After(cursor) => query.filter(after(request, key, cursor, parse_id)?),
    })
}

/// `col >= v AND ((col > v) OR (col = v AND id > last))`, with `<` and `<=`
/// for a descending order. The leading `col >= v` says the same as the rest but
/// is a plain range an index on the sort column can start from: without it the
/// engine reads (and filters out) every row before the cursor, so a page
/// 40,000 rows deep cost as much as `OFFSET 40000`.
fn after(
    request: &PageRequest,
    key: &SortKey,
    cursor: &Cursor,
    parse_id: impl Fn(&str) -> Option<Uuid>,
) -> Result<Condition, DomainError> {
    let prefix = format!("{}:{}:", request.sort_by, direction_name(request.direction));
    let raw = cursor
        .key
        .strip_prefix(&prefix)
        .ok_or_else(|| invalid_cursor("the cursor belongs to another sortBy or sortDirection"))?;
    let value: Value = match key.kind {
        KeyKind::Timestamp => DateTime::parse_from_rfc3339(raw)
            .map_err(|_| invalid_cursor("the cursor's position is not a timestamp"))?
            .with_timezone(&Utc)
            .into(),
        KeyKind::Text => raw.to_owned().into(),
    };
    let id = parse_id(&cursor.id).ok_or_else(|| invalid_cursor("the cursor's ID is not valid"))?;
    let (column, id_column) = (key.column.clone(), key.id.clone());
    let (from, beyond, id_beyond) = match request.direction {
        SortDirection::Asc => (
            column.clone().gte(value.clone()),
            column.clone().gt(value.clone()),
            id_column.gt(Expr::val(id)),
        ),
        SortDirection::Desc => (
            column.clone().lte(value.clone()),
            column.clone().lt(value.clone()),
            id_column.lt(Expr::val(id)),
        ),
    };
    Ok(Condition::all().add(from).add(
        Condition::any()
            .add(beyond)
            .add(Condition::all().add(column.eq(value)).add(id_beyond)),
    ))
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
        let key = SortKey {
            column: Expr::col(Alias::new("created_at")),
            kind: KeyKind::Text,
            id: Expr::col(Alias::new("id")),
        };
        let request = |direction| PageRequest {
            position: PagePosition::Number(1),
            page_size: 10,
            sort_by: "createdAt",
            direction,
            search: None,
        };
        let id = Uuid::nil();
        let cursor =
            |direction| Cursor::new(format!("createdAt:{}:k", direction_name(direction)), "x");
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
            let condition =
                after(&request(direction), &key, &cursor(direction), |_| Some(id)).unwrap();
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
