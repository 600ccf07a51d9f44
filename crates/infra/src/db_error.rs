//! The one place where database errors become domain errors.

use std::ops::Deref;

use domain::DomainError;
use domain::error::{Conflict, ConflictKind};
use sea_orm::{DbErr, RuntimeErr, SqlErr, sqlx};

use crate::constraints::{self, Constraint};

/// Maps a database error to the domain error a client should see. Connection
/// trouble is `Unavailable`; unique and foreign-key violations are conflicts named
/// by the constraint; anything else is `Internal` (logged, never shown).
pub fn to_domain(err: DbErr) -> DomainError {
    if is_unavailable(&err) {
        tracing::warn!(error = %err, "database unavailable");
        return DomainError::Unavailable;
    }
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(message)) => {
            let constraint = constraint_name(&err)
                .and_then(constraints::by_name)
                .or_else(|| constraints::sqlite_unique_target(&message));
            conflict(constraint, ConflictKind::Unique)
        }
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
            // PostgreSQL names the constraint; SQLite says nothing about which one,
            // see `repositories::references::name_missing_reference`.
            conflict(
                constraint_name(&err).and_then(constraints::by_name),
                ConflictKind::MissingReference,
            )
        }
        _ => {
            tracing::error!(error = %err, "unexpected database error");
            DomainError::Internal(err.to_string())
        }
    }
}

/// A conflict for a known constraint, or a generic one when the database did not
/// say which (the field is then empty).
pub(crate) fn conflict(constraint: Option<&Constraint>, kind: ConflictKind) -> DomainError {
    match constraint {
        Some(c) => DomainError::Conflict(Conflict {
            kind: c.kind,
            field: c.field,
            code: c.code,
            message: match c.kind {
                ConflictKind::MissingReference => format!("{} does not exist", c.field),
                _ => format!("{} is already taken", c.field),
            },
        }),
        None => DomainError::Conflict(Conflict {
            kind,
            field: "",
            code: match kind {
                ConflictKind::MissingReference => "REFERENCE_NOT_FOUND",
                _ => "CONFLICT",
            },
            message: "the change conflicts with stored data".to_owned(),
        }),
    }
}

fn sqlx_error(err: &DbErr) -> Option<&sqlx::Error> {
    match err {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => Some(e.deref()),
        _ => None,
    }
}

fn constraint_name(err: &DbErr) -> Option<&str> {
    match sqlx_error(err)? {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}

/// Whether the error is transient (the database cannot be reached, is busy, or
/// asks for a retry) rather than a fault of the query.
pub fn is_unavailable(err: &DbErr) -> bool {
    if matches!(err, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) {
        return true;
    }
    match sqlx_error(err) {
        Some(
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_),
        ) => true,
        Some(sqlx::Error::Database(db))
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() =>
        {
            // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes: a
            // writer waited out the busy timeout. Transient, so 503, not 500.
            db.code()
                .and_then(|code| code.parse::<i32>().ok())
                .is_some_and(|code| matches!(code & 0xff, 5 | 6))
        }
        Some(sqlx::Error::Database(db)) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P0x: server shutting down or starting;
            // 53300: too many connections; 40001/40P01: serialization failure or
            // deadlock, which a retry resolves.
            code.starts_with("08")
                || code.starts_with("57P0")
                || matches!(code.as_ref(), "53300" | "40001" | "40P01")
        }),
        _ => false,
    }
}
