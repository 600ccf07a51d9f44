//! Serialising concurrent migration runs.
//!
//! On PostgreSQL a session-level advisory lock is taken on a *dedicated*
//! connection (opened with the pool's own connect options, outside the pool), so
//! it is held for exactly as long as the work runs, whatever pooled connections
//! that work uses. A second `migration up` (or a second server starting with
//! auto-migrate) blocks on the lock, then finds nothing pending.

use std::future::Future;
use std::sync::Arc;

use sea_orm_migration::sea_orm::sqlx::{self, ConnectOptions, Connection, PgConnection};
use sea_orm_migration::sea_orm::{DatabaseConnection, DbBackend, DbErr, RuntimeErr};
use tracing::{debug, info, warn};

/// The advisory lock key: the ASCII bytes of `"GWMIGRAT"` as a big-endian `i64`.
/// Advisory locks are per database, so this only serialises runs against the
/// same database.
pub const MIGRATION_LOCK_KEY: i64 = i64::from_be_bytes(*b"GWMIGRAT");

fn sqlx_err(err: sqlx::Error) -> DbErr {
    DbErr::Conn(RuntimeErr::SqlxError(Arc::new(err)))
}

/// Runs `f` while holding the migration lock.
///
/// - PostgreSQL: `pg_advisory_lock(MIGRATION_LOCK_KEY)` on a dedicated connection,
///   waiting as long as another run holds it; released (`pg_advisory_unlock`, then
///   the connection is closed) when `f` finishes, whether it succeeded or failed.
///   If the process dies, the server drops the session and with it the lock.
/// - SQLite (and anything else): runs `f` directly.
///
/// The lock is not re-entrant across calls: do not call this from inside `f`.
pub async fn with_migration_lock<F, Fut, T>(db: &DatabaseConnection, f: F) -> Result<T, DbErr>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, DbErr>>,
{
    if db.get_database_backend() != DbBackend::Postgres {
        return f().await;
    }

    let options = db
        .get_postgres_connection_pool()
        .connect_options()
        .as_ref()
        .clone()
        .application_name("groundwork-migration-lock");
    let mut conn: PgConnection = options.connect().await.map_err(sqlx_err)?;

    // Waiting for the lock, or holding it through a long migration, must not be
    // cut short by timeouts configured for the application's connections.
    sqlx::query(
        "SELECT set_config(name, '0', false) FROM pg_settings \
         WHERE name IN ('statement_timeout', 'lock_timeout', \
         'idle_in_transaction_session_timeout', 'idle_session_timeout')",
    )
    .execute(&mut conn)
    .await
    .map_err(sqlx_err)?;

    let acquired: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .fetch_one(&mut conn)
        .await
        .map_err(sqlx_err)?;
    if !acquired {
        info!("another migration run holds the migration lock; waiting for it to finish");
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut conn)
            .await
            .map_err(sqlx_err)?;
    }
    debug!(key = MIGRATION_LOCK_KEY, "migration lock acquired");

    let result = f().await;

    match sqlx::query_scalar::<_, bool>("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .fetch_one(&mut conn)
        .await
    {
        Ok(true) => debug!(key = MIGRATION_LOCK_KEY, "migration lock released"),
        Ok(false) => warn!("the migration lock was not held when releasing it"),
        // Closing the session below releases it anyway.
        Err(err) => warn!(error = %err, "could not release the migration lock explicitly"),
    }
    if let Err(err) = conn.close().await {
        debug!(error = %err, "closing the migration lock connection failed");
    }

    result
}
