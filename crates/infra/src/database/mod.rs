//! The one shared pool, a request's pinned connection, and units of work
//! (explicit transactions).

mod handoff;
mod pinned;

use std::path::Path;
use std::sync::Arc;

use domain::DomainError;
use migration::database_url;
use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{
    ConnAcquireErr, ConnectOptions, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr, SqliteTransactionMode, Statement,
    TransactionOptions, TransactionTrait, sqlx,
};

use crate::config::DatabaseSettings;
use crate::db_error::to_domain;
use handoff::Handoff;
pub use handoff::MAX_LEASE;
use pinned::OpenTransaction;
pub use pinned::PinnedConnection;

/// How long a pooled connection may sit idle before it is pinged on its next
/// use. Pinging on every use cost a round trip per query (sqlx also pings on
/// release), a third of a member list's round trips; a connection in steady use
/// is alive, one that sat idle is what a restart or a firewall kills.
pub const PING_IF_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// The shared pool, or one connection of it pinned for a request
/// ([`Database::pinned`]). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Database {
    pool: DatabaseConnection,
    conn: Arc<Connection>,
    /// Requests waiting for a pinned connection, shared by every clone.
    handoff: Arc<Handoff>,
}

/// The pool's connections at one instant ([`Database::pool_stats`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections, idle or in use.
    pub size: u32,
    /// Open connections nobody uses.
    pub idle: usize,
    /// `database.max_connections`.
    pub max: u32,
    /// Requests waiting for a pinned connection (PostgreSQL).
    pub waiting: usize,
}

/// What statements run on: the pool (a connection per statement), a transaction,
/// or a pinned connection. Repositories take any [`ConnectionTrait`]; this is the
/// one [`Database::conn`] and [`UnitOfWork::conn`] hand them.
#[derive(Debug)]
pub enum Connection {
    /// A connection from the pool per statement.
    Pool(DatabaseConnection),
    /// A transaction of the pool's.
    Transaction(DatabaseTransaction),
    /// One connection held by a request, in or out of a transaction.
    Pinned(Arc<PinnedConnection>),
}

impl Database {
    /// Opens the pool: `max_connections`, idle connections closed after
    /// `idle_timeout`, `connect_timeout` to open one, `acquire_timeout` to wait for
    /// one. A connection idle for [`PING_IF_IDLE_FOR`] is pinged before use, so a
    /// dead one is noticed and the pool recovers by itself when the database comes
    /// back. For a SQLite file, its directory is created.
    #[tracing::instrument(skip_all, fields(url = %settings.masked_url()))]
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, DbErr> {
        if settings.is_sqlite() {
            ensure_sqlite_directory(&settings.url)?;
        }
        let plan_cache_mode = settings.plan_cache_mode.as_str();
        let mut options = ConnectOptions::new(settings.url.clone());
        options
            .max_connections(settings.max_connections)
            .min_connections(settings.min_connections)
            .connect_timeout(settings.connect_timeout())
            .acquire_timeout(settings.acquire_timeout())
            .idle_timeout(settings.idle_timeout())
            .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
            .sqlx_logging(settings.log_statements)
            .sqlx_logging_level(tracing::log::LevelFilter::Debug)
            // WAL lets readers proceed while one writer writes; busy writers wait
            // (sqlx's busy timeout) instead of failing.
            .map_sqlx_sqlite_opts(|o| o.journal_mode(SqliteJournalMode::Wal).foreign_keys(true))
            .map_sqlx_postgres_opts(move |o| o.options([("plan_cache_mode", plan_cache_mode)]));
        let conn = sea_orm::Database::connect(options).await?;
        Ok(Self::from_connection(conn))
    }

    /// Wraps an existing pool.
    pub fn from_connection(conn: DatabaseConnection) -> Self {
        Self {
            conn: Arc::new(Connection::Pool(conn.clone())),
            pool: conn,
            handoff: Arc::default(),
        }
    }

    /// The pool as SeaORM's own handle, for what takes nothing else (migrations).
    pub fn pool(&self) -> &DatabaseConnection {
        &self.pool
    }

    /// Where reads outside a unit of work run.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// A handle whose statements, units of work included, all run on one pooled
    /// connection, held until the last clone is dropped: a request takes one to
    /// pay sqlx's release ping once instead of once per statement, and not at all
    /// when it hands the connection to a request waiting for one (see
    /// [`PinnedConnection`]). Hold it only while the request works: a pinned
    /// connection is one the pool cannot lend. On SQLite (an in-process pool,
    /// nothing to save) and on a handle already pinned, the same handle.
    pub async fn pinned(&self) -> Result<Self, DomainError> {
        match &*self.conn {
            Connection::Pool(pool) if pool.get_database_backend() == DbBackend::Postgres => {
                let lease = self
                    .handoff
                    .acquire(pool.get_postgres_connection_pool())
                    .await
                    .map_err(|e| to_domain(acquire_err(e)))?;
                let pinned = PinnedConnection::new(lease, Arc::clone(&self.handoff));
                Ok(Self {
                    pool: self.pool.clone(),
                    conn: Arc::new(Connection::Pinned(Arc::new(pinned))),
                    handoff: Arc::clone(&self.handoff),
                })
            }
            _ => Ok(self.clone()),
        }
    }

    /// For a pinned handle, how many statements (round trips to the database) it
    /// has sent; `None` for the pool and on SQLite.
    pub fn statements_sent(&self) -> Option<u32> {
        match &*self.conn {
            Connection::Pinned(pinned) => Some(pinned.statements()),
            _ => None,
        }
    }

    /// The pool's connections now: open, idle, the configured maximum, and the
    /// requests waiting for a pinned connection (sqlx does not expose the
    /// waiters of its own acquire, so those on SQLite and those opening a
    /// transaction on PostgreSQL are not counted).
    pub fn pool_stats(&self) -> PoolStats {
        match self.pool.get_database_backend() {
            DbBackend::Postgres => {
                let pool = self.pool.get_postgres_connection_pool();
                PoolStats {
                    size: pool.size(),
                    idle: pool.num_idle(),
                    max: pool.options().get_max_connections(),
                    waiting: self.handoff.waiting(),
                }
            }
            _ => {
                let pool = self.pool.get_sqlite_connection_pool();
                PoolStats {
                    size: pool.size(),
                    idle: pool.num_idle(),
                    max: pool.options().get_max_connections(),
                    waiting: 0,
                }
            }
        }
    }

    /// PostgreSQL or SQLite.
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Round-trips to the database: `Unavailable` when it cannot be reached.
    pub async fn ping(&self) -> Result<(), DomainError> {
        self.pool.ping().await.map_err(to_domain)
    }

    /// Starts a unit of work: one transaction that several repositories share.
    /// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so two
    /// writers queue instead of failing on lock upgrade.
    pub async fn begin(&self) -> Result<UnitOfWork, DomainError> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        let (conn, open) = match &*self.conn {
            Connection::Pool(pool) => (
                Connection::Transaction(pool.begin_with_options(options).await.map_err(to_domain)?),
                None,
            ),
            Connection::Transaction(tx) => (
                Connection::Transaction(tx.begin().await.map_err(to_domain)?),
                None,
            ),
            Connection::Pinned(pinned) => {
                let open = pinned.begin().await.map_err(to_domain)?;
                (Connection::Pinned(Arc::clone(pinned)), Some(open))
            }
        };
        Ok(UnitOfWork { conn, _open: open })
    }

    /// Closes the pool (a pinned handle has nothing of its own to close).
    pub async fn close(self) -> Result<(), DbErr> {
        match &*self.conn {
            Connection::Pool(pool) => pool.close_by_ref().await,
            _ => Ok(()),
        }
    }
}

/// Runs `$body` with `$c` bound to whichever connection `$conn` holds.
macro_rules! on_connection {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Connection::Pool($c) => $body,
            Connection::Transaction($c) => $body,
            Connection::Pinned($c) => $body,
        }
    };
}

#[async_trait::async_trait]
impl ConnectionTrait for Connection {
    fn get_database_backend(&self) -> DbBackend {
        on_connection!(self, c => c.get_database_backend())
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        on_connection!(self, c => c.execute_raw(stmt).await)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        on_connection!(self, c => c.execute_unprepared(sql).await)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        on_connection!(self, c => c.query_one_raw(stmt).await)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        on_connection!(self, c => c.query_all_raw(stmt).await)
    }
}

/// As SeaORM's driver maps a failed acquire, so `is_unavailable` knows it.
fn acquire_err(err: sqlx::Error) -> DbErr {
    match err {
        sqlx::Error::PoolTimedOut => DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
        sqlx::Error::PoolClosed => DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
        other => DbErr::Conn(RuntimeErr::SqlxError(Arc::new(other))),
    }
}

/// One transaction: everything done through [`UnitOfWork::conn`] commits together
/// or not at all. Dropped without `commit`, it rolls back.
#[derive(Debug)]
pub struct UnitOfWork {
    conn: Connection,
    /// On a pinned connection: the guard that rolls back if neither commit nor
    /// rollback ran (a pool transaction has its own). Held for its drop.
    _open: Option<OpenTransaction>,
}

impl UnitOfWork {
    /// The transaction, to build repositories on.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Commits every change made in this unit of work.
    pub async fn commit(self) -> Result<(), DomainError> {
        let result = match self.conn {
            Connection::Transaction(tx) => tx.commit().await,
            Connection::Pinned(pinned) => pinned.commit().await,
            // `begin` never builds one.
            Connection::Pool(_) => Ok(()),
        };
        result.map_err(to_domain)
    }

    /// Discards every change made in this unit of work.
    pub async fn rollback(self) -> Result<(), DomainError> {
        let result = match self.conn {
            Connection::Transaction(tx) => tx.rollback().await,
            Connection::Pinned(pinned) => pinned.rollback().await,
            // `begin` never builds one.
            Connection::Pool(_) => Ok(()),
        };
        result.map_err(to_domain)
    }
}

fn ensure_sqlite_directory(url: &str) -> Result<(), DbErr> {
    let dir =
        database_url::sqlite_file_path(url).and_then(|path| path.parent().map(Path::to_path_buf));
    match dir {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(&dir)
            .map_err(|e| DbErr::Custom(format!("cannot create directory {}: {e}", dir.display()))),
        _ => Ok(()),
    }
}
