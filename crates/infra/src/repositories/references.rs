//! Naming the missing parent of a foreign-key violation on SQLite.
//!
//! SQLite reports "FOREIGN KEY constraint failed" without saying which key. After
//! such a failure (the statement is undone, the transaction lives on), we look up
//! each referenced row the write named, in the same transaction: the first one
//! that does not exist is the violated key. PostgreSQL already named it.

use domain::DomainError;
use domain::error::ConflictKind;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use uuid::Uuid;

use crate::constraints;
use crate::db_error::{conflict, to_domain};

/// Replaces an unnamed missing-reference conflict by the one naming the first of
/// `references` (constraint name, referenced ID) whose parent row is missing.
pub(crate) async fn name_missing_reference<C: ConnectionTrait>(
    conn: &C,
    err: DomainError,
    references: &[(&'static str, Uuid)],
) -> DomainError {
    let unnamed = matches!(&err, DomainError::Conflict(c) if c.kind == ConflictKind::MissingReference && c.field.is_empty());
    if !unnamed {
        return err;
    }
    for (name, id) in references {
        let Some(constraint) = constraints::by_name(name) else {
            continue;
        };
        let Some(parent) = constraint.references else {
            continue;
        };
        let query = Query::select()
            .expr(Expr::val(1))
            .from(Alias::new(parent))
            .and_where(Expr::col(Alias::new("id")).eq(*id))
            .to_owned();
        match conn.query_one(&query).await {
            Ok(None) => return conflict(Some(constraint), ConflictKind::MissingReference),
            Ok(Some(_)) => {}
            Err(e) => return to_domain(e),
        }
    }
    err
}
