//! One pooled PostgreSQL connection held for a request's whole life.
//!
//! sqlx pings every connection it takes back into the pool (sqlx-core 0.9,
//! `PoolConnection::return_to_pool`, unconditionally), so running each statement
//! on a connection of its own costs one extra round trip per statement. A request
//! that holds one connection pays it once. Transactions on it are plain `BEGIN` /
//! `COMMIT` on the same connection, so a request never waits for a second one
//! while holding the first (which, with every connection held, would deadlock the
//! pool).
//!
//! Only PostgreSQL: SQLite's pool lives in the process, with no round trip to save.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sea_orm::sea_query::Values;
use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, Postgres};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr, Statement};
use sea_query_sqlx::SqlxValues;
use tokio::sync::{Mutex, MutexGuard};

/// A pooled connection, returned to the pool when the last handle is dropped.
#[derive(Debug)]
pub struct PinnedConnection {
    conn: Mutex<PoolConnection<Postgres>>,
    /// `BEGIN` was sent and neither `COMMIT` nor `ROLLBACK` yet.
    open: AtomicBool,
    /// The open transaction's unit of work was dropped: roll back before the next
    /// statement.
    abandoned: AtomicBool,
}

impl PinnedConnection {
    pub(super) fn new(conn: PoolConnection<Postgres>) -> Self {
        Self {
            conn: Mutex::new(conn),
            open: AtomicBool::new(false),
            abandoned: AtomicBool::new(false),
        }
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
        simple(&mut conn, "BEGIN").await?;
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
        simple(&mut conn, sql).await?;
        self.open.store(false, Ordering::Release);
        Ok(())
    }

    /// The connection, after rolling back a transaction whose unit of work was
    /// dropped.
    async fn lock(&self) -> Result<MutexGuard<'_, PoolConnection<Postgres>>, DbErr> {
        let mut conn = self.conn.lock().await;
        if self.abandoned.swap(false, Ordering::AcqRel) {
            simple(&mut conn, "ROLLBACK").await?;
            self.open.store(false, Ordering::Release);
        }
        Ok(conn)
    }
}

impl Drop for PinnedConnection {
    fn drop(&mut self) {
        // Never hand the pool a connection inside a transaction: close it instead,
        // which ends the transaction on the server (no async ROLLBACK in a drop).
        if *self.open.get_mut() {
            self.conn.get_mut().close_on_drop();
        }
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
        bind(&stmt)
            .execute(&mut **conn)
            .await
            .map(Into::into)
            .map_err(exec_err)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let mut conn = self.lock().await?;
        sqlx::Executor::execute(&mut **conn, sqlx::AssertSqlSafe(sql.to_owned()))
            .await
            .map(Into::into)
            .map_err(exec_err)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut conn = self.lock().await?;
        bind(&stmt)
            .fetch_optional(&mut **conn)
            .await
            .map(|row| row.map(Into::into))
            .map_err(query_err)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut conn = self.lock().await?;
        bind(&stmt)
            .fetch_all(&mut **conn)
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

async fn simple(conn: &mut PoolConnection<Postgres>, sql: &'static str) -> Result<(), DbErr> {
    sqlx::Executor::execute(&mut **conn, sqlx::AssertSqlSafe(sql))
        .await
        .map(drop)
        .map_err(exec_err)
}
