//! Passing a released connection straight to a request waiting for one.
//!
//! sqlx pings every connection it takes back into the pool (sqlx-core 0.9,
//! `PoolConnection::return_to_pool`, unconditionally): a round trip, a wake-up of
//! the PostgreSQL backend and a spawned task per request. Under load a request
//! is nearly always waiting for a connection when another finishes, so the
//! finished request hands its connection over directly and nobody pings.
//!
//! What the ping is for is covered otherwise: a connection inside a transaction
//! is never handed over (it is closed), nor one whose last statement was cut off
//! or failed with anything but an `ERROR` from the database (a `FATAL`, an I/O or
//! protocol error: it goes back through sqlx, which tests it). And a connection
//! is handed from request to request for at most [`MAX_LEASE`], then goes back to
//! the pool, so writers queued in the pool's own acquire get their turn while
//! reads keep it busy.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sea_orm::sqlx::pool::PoolConnection;
use sea_orm::sqlx::{self, PgPool, Postgres};
use tokio::sync::oneshot;

/// How long one checkout from the pool may be handed from request to request
/// before it goes back to the pool.
pub const MAX_LEASE: Duration = Duration::from_millis(50);

/// A connection checked out of the pool, and when it was.
#[derive(Debug)]
pub(super) struct Lease {
    pub(super) conn: PoolConnection<Postgres>,
    since: Instant,
}

impl Lease {
    fn new(conn: PoolConnection<Postgres>) -> Self {
        Self {
            conn,
            since: Instant::now(),
        }
    }
}

/// The requests waiting for a connection, oldest first.
#[derive(Debug, Default)]
pub(super) struct Handoff {
    waiters: Mutex<VecDeque<oneshot::Sender<Lease>>>,
}

impl Handoff {
    /// An idle connection of the pool if there is one; otherwise whichever comes
    /// first, a connection handed over or one from the pool's acquire (bounded by
    /// its `acquire_timeout`).
    pub(super) async fn acquire(&self, pool: &PgPool) -> Result<Lease, sqlx::Error> {
        if let Some(conn) = pool.try_acquire() {
            return Ok(Lease::new(conn));
        }
        let (sender, handed) = oneshot::channel();
        self.lock().push_back(sender);
        tokio::select! {
            biased;
            Ok(lease) = handed => Ok(lease),
            conn = pool.acquire() => conn.map(Lease::new),
        }
    }

    /// Hands `lease` to the oldest waiting request, or lets it go back to the
    /// pool (sqlx's release: its ping, then the pool's own waiters) when nobody
    /// waits or its time is up.
    pub(super) fn release(&self, mut lease: Lease) {
        if lease.since.elapsed() >= MAX_LEASE {
            self.lock().retain(|sender| !sender.is_closed());
            return;
        }
        loop {
            // A waiter that got its connection from the pool left its sender behind.
            let Some(sender) = self.lock().pop_front() else {
                return;
            };
            match sender.send(lease) {
                Ok(()) => return,
                Err(back) => lease = back,
            }
        }
    }

    /// The requests waiting now (a waiter that got its connection from the
    /// pool leaves a closed sender behind until the next release: not counted).
    pub(super) fn waiting(&self) -> usize {
        self.lock()
            .iter()
            .filter(|sender| !sender.is_closed())
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<oneshot::Sender<Lease>>> {
        // Nothing panics while holding it, but a poisoned queue is still a queue.
        self.waiters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
