//! The one shared pool, and units of work (explicit transactions).

use std::path::Path;

use domain::DomainError;
use migration::database_url;
use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{
    ConnectOptions, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::DatabaseSettings;
use crate::db_error::to_domain;

/// How long a pooled connection may sit idle before it is pinged on its next
/// use. Pinging on every use cost a round trip per query (sqlx also pings on
/// release), a third of a member list's round trips; a connection in steady use
/// is alive, one that sat idle is what a restart or a firewall kills.
pub const PING_IF_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// The shared pool. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Database {
    conn: DatabaseConnection,
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
            .map_sqlx_sqlite_opts(|o| o.journal_mode(SqliteJournalMode::Wal).foreign_keys(true));
        let conn = sea_orm::Database::connect(options).await?;
        Ok(Self { conn })
    }

    /// Wraps an existing connection.
    pub fn from_connection(conn: DatabaseConnection) -> Self {
        Self { conn }
    }

    /// The pooled connection, for reads outside a unit of work.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// PostgreSQL or SQLite.
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Round-trips to the database: `Unavailable` when it cannot be reached.
    pub async fn ping(&self) -> Result<(), DomainError> {
        self.conn.ping().await.map_err(to_domain)
    }

    /// Starts a unit of work: one transaction that several repositories share.
    /// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so two
    /// writers queue instead of failing on lock upgrade.
    pub async fn begin(&self) -> Result<UnitOfWork, DomainError> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        let tx = self
            .conn
            .begin_with_options(options)
            .await
            .map_err(to_domain)?;
        Ok(UnitOfWork { tx })
    }

    /// Closes the pool.
    pub async fn close(self) -> Result<(), DbErr> {
        self.conn.close().await
    }
}

/// One transaction: everything done through [`UnitOfWork::conn`] commits together
/// or not at all. Dropped without `commit`, it rolls back.
#[derive(Debug)]
pub struct UnitOfWork {
    tx: DatabaseTransaction,
}

impl UnitOfWork {
    /// The transaction, to build repositories on.
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.tx
    }

    /// Commits every change made in this unit of work.
    pub async fn commit(self) -> Result<(), DomainError> {
        self.tx.commit().await.map_err(to_domain)
    }

    /// Discards every change made in this unit of work.
    pub async fn rollback(self) -> Result<(), DomainError> {
        self.tx.rollback().await.map_err(to_domain)
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
