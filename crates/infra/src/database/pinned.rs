//! One pooled PostgreSQL connection held for a request's whole life.
//!
//! sqlx pings every connection it takes back into the pool (sqlx-core 0.9,
//! `PoolConnection::return_to_pool`, unconditionally), so running each statement
//! on a connection of its own costs one extra round trip per statement. A request
//! that holds one connection pays it at most once, and not at all when it hands
//! the connection to a waiting request ([`super::handoff`]). Transactions on it
//! are plain `BEGIN` / `COMMIT` on the same connection, so a request never waits
//! for a second one while holding the first (which, with every connection held,
//! would deadlock the pool).
//!
//! Only PostgreSQL: SQLite's pool lives in the process, with no round trip to save.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use sea_orm::sea_query::Values;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::postgres::{PgDatabaseError, PgSeverity};
use sea_orm::sqlx::{self, Postgres};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr, Statement};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use super::handoff::{Handoff, Lease};

/// A pooled connection, handed to a waiting request or returned to the pool when
/// the last handle is dropped.
#[derive(Debug)]
pub struct PinnedConnection {
    /// `None` only once dropped.
    lease: Mutex<Option<Lease>>,
    handoff: Arc<Handoff>,
    /// `BEGIN` was sent and neither `COMMIT` nor `ROLLBACK` yet.
    open: AtomicBool,
    /// The open transaction's unit of work was dropped: roll back before the next
    /// statement.
    abandoned: AtomicBool,
    /// The last statement ran to its end, successfully or with an `ERROR` from the
    /// database: the connection can go to the next request untested. False while
    /// a statement runs, so one cut off by a cancelled request leaves it false.
    reusable: AtomicBool,
    /// Statements sent on it (`BEGIN`, `COMMIT` and rollbacks included): each is
    /// one round trip, which is what a request's cost is mostly made of.
    statements: AtomicU32,
}

impl PinnedConnection {
    pub(super) fn new(lease: Lease, handoff: Arc<Handoff>) -> Self {
        Self {
            lease: Mutex::new(Some(lease)),
            handoff,
            open: AtomicBool::new(false),
            abandoned: AtomicBool::new(false),
            reusable: AtomicBool::new(true),
            statements: AtomicU32::new(0),
        }
    }

    /// How many statements (round trips) this request has sent on it so far.
    pub fn statements(&self) -> u32 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Starts a transaction. Returns the guard that has it rolled back unless it
    /// was committed or rolled back. One at a time: units of work do not nest.
    pub(super) async fn begin(self: &Arc<Self>) -> Result<OpenTransaction, DbErr> {
        let mut conn = self.lock().await?;
        if self.open.load(Ordering::Acquire) {
            return Err(DbErr::Custom(
                "a unit of work is already open on this connection".into(),
            ));
        }
        self.simple(&mut conn, "BEGIN").await?;
        self.open.store(true, Ordering::Release);
        Ok(OpenTransaction {
            conn: Arc::clone(self),
        })
    }

    pub(super) async fn commit(&self) -> Result<(), DbErr> {
        self.finish("COMMIT").await
    }

    pub(super) async fn rollback(&self) -> Result<(), DbErr> {
        self.finish("ROLLBACK").await
    }

    async fn finish(&self, sql: &'static str) -> Result<(), DbErr> {
        let mut conn = self.lock().await?;
        self.simple(&mut conn, sql).await?;
        self.open.store(false, Ordering::Release);
        Ok(())
    }

    /// The connection, after rolling back a transaction whose unit of work was
    /// dropped.
    async fn lock(&self) -> Result<Guard<'_>, DbErr> {
        let mut conn = MutexGuard::map(self.lease.lock().await, |lease| {
            &mut lease
                .as_mut()
                .expect("a pinned connection holds its lease until dropped")
                .conn
        });
        if self.abandoned.swap(false, Ordering::AcqRel) {
            self.simple(&mut conn, "ROLLBACK").await?;
            self.open.store(false, Ordering::Release);
        }
        Ok(conn)
    }

    /// Runs one statement, keeping track of whether it ran to its end.
    async fn run<T>(
        &self,
        statement: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, sqlx::Error> {
        self.reusable.store(false, Ordering::Release);
        self.statements.fetch_add(1, Ordering::Relaxed);
        let result = statement.await;
        let whole = result.as_ref().err().is_none_or(leaves_connection_usable);
        self.reusable.store(whole, Ordering::Release);
        result
    }

    async fn simple(&self, conn: &mut Guard<'_>, sql: &'static str) -> Result<(), DbErr> {
        self.run(sqlx::Executor::execute(
            &mut ***conn,
            sqlx::AssertSqlSafe(sql),
        ))
        .await
        .map(drop)
        .map_err(exec_err)
    }
}

type Guard<'a> = MappedMutexGuard<'a, PoolConnection<Postgres>>;

/// Whether the connection is fine after `err`: an `ERROR` from the database ends
/// the statement only; `FATAL` (the backend was terminated, say), I/O and
/// protocol errors may have ended the connection.
fn leaves_connection_usable(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(err) = err else {
        return false;
    };
    err.try_downcast_ref::<PgDatabaseError>()
        .is_some_and(|err| matches!(err.severity(), PgSeverity::Error))
}

impl Drop for PinnedConnection {
    fn drop(&mut self) {
        let Some(mut lease) = self.lease.get_mut().take() else {
            return;
        };
        if *self.open.get_mut() {
            // Never hand on a connection inside a transaction: close it instead,
            // which ends the transaction on the server (no async ROLLBACK in a drop).
            lease.conn.close_on_drop();
        } else if *self.reusable.get_mut() {
            self.handoff.release(lease);
        }
        // Otherwise dropping the lease returns it through sqlx, which tests it.
    }
}

/// A transaction begun on a [`PinnedConnection`]: dropped while still open (an
/// early return, a cancelled request), it is rolled back before the connection's
/// next statement, or the connection is closed if there is none.
#[derive(Debug)]
pub(super) struct OpenTransaction {
    conn: Arc<PinnedConnection>,
}

impl Drop for OpenTransaction {
    fn drop(&mut self) {
        if self.conn.open.load(Ordering::Acquire) {
            self.conn.abandoned.store(true, Ordering::Release);
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for PinnedConnection {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Postgres
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let mut conn = self.lock().await?;
        self.run(bind(&stmt).execute(&mut **conn))
            .await
            .map(Into::into)
            .map_err(exec_err)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let mut conn = self.lock().await?;
        self.run(sqlx::Executor::execute(
            &mut **conn,
            sqlx::AssertSqlSafe(sql.to_owned()),
        ))
        .await
        .map(Into::into)
        .map_err(exec_err)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut conn = self.lock().await?;
        self.run(bind(&stmt).fetch_optional(&mut **conn))
            .await
            .map(|row| row.map(Into::into))
            .map_err(query_err)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut conn = self.lock().await?;
        self.run(bind(&stmt).fetch_all(&mut **conn))
            .await
            .map(|rows| rows.into_iter().map(Into::into).collect())
            .map_err(query_err)
    }
}

/// The statement as a prepared (and cached) sqlx query, as SeaORM's own driver
/// builds it.
fn bind(stmt: &Statement) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = stmt.values.clone().unwrap_or(Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

// The same wrapping as SeaORM's driver, so `DbErr::sql_err()` and
// `db_error::to_domain` read these errors as they read the pool's.
fn exec_err(err: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(err)))
}

fn query_err(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
}
