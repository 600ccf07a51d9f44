//! Sign-in failures per normalized email (`domain::auth::SignInThrottle`), kept
//! in the database so that every server replica sees the same count.

use chrono::{DateTime, Utc};
use domain::DomainError;
use domain::auth::SignInFailures;
use domain::values::Email;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::db_error::to_domain;
use crate::entities::sign_in_failures::{self, Column, Entity};

/// Sign-in failures over a connection or transaction.
#[derive(Debug)]
pub struct SignInFailureRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

fn to_domain_failures(m: sign_in_failures::Model) -> SignInFailures {
    SignInFailures {
        failures: u32::try_from(m.failures).unwrap_or(0),
        last_failure_at: m.last_failure_at,
        locked_until: m.locked_until,
    }
}

impl<'c, C: ConnectionTrait> SignInFailureRepository<'c, C> {
    /// A repository over `conn` that stamps every write with `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// The record of `email` (none yet: created with no failures), locked until
    /// the transaction ends, so that concurrent attempts for one email take
    /// turns: one statement, `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`
    /// (the update locks the row on PostgreSQL; SQLite's `BEGIN IMMEDIATE` lets
    /// one writer in at a time). Call it inside a unit of work.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn lock(&self, email: &Email) -> Result<SignInFailures, DomainError> {
        let now = self.now;
        let none = SignInFailures::none(now);
        let row = sign_in_failures::ActiveModel {
            email: Set(email.as_str().to_owned()),
            failures: Set(0),
            last_failure_at: Set(none.last_failure_at),
            locked_until: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let model = Entity::insert(row)
            .on_conflict(
                // A no-op update, for the lock and the returned row.
                OnConflict::column(Column::Email)
                    .update_column(Column::Email)
                    .to_owned(),
            )
            .exec_with_returning(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(to_domain_failures(model))
    }

    /// Stores `record` as `email`'s (after [`Self::lock`]).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn save(&self, email: &Email, record: &SignInFailures) -> Result<(), DomainError> {
        let failures = i32::try_from(record.failures).unwrap_or(i32::MAX);
        Entity::update_many()
            .col_expr(Column::Failures, Expr::value(failures))
            .col_expr(Column::LastFailureAt, Expr::value(record.last_failure_at))
            .col_expr(Column::LockedUntil, Expr::value(record.locked_until))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Email.eq(email.as_str()))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(())
    }

    /// Forgets every failure of `email` (a successful sign-in).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn clear(&self, email: &Email) -> Result<(), DomainError> {
        Entity::delete_many()
            .filter(Column::Email.eq(email.as_str()))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(())
    }
}
