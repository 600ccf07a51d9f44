//! The outbox delivery worker: claims due emails, sends them, records the outcome.
//!
//! Each round claims up to `outbox.batch_size` due messages in one short
//! transaction (a lease of `outbox.lease_secs`; see
//! [`OutboxRepository::claim_due_emails`]), sends them concurrently outside any
//! transaction, then marks each delivered (clearing its token from the payload),
//! or failed with its next attempt `outbox.backoff_base_secs × 2^(attempts - 1)`
//! later (at most `outbox.backoff_max_secs`). An email the relay refuses for
//! good (an SMTP 5xx), or that failed `outbox.max_attempts` times, is marked
//! failed instead, logged at error, and kept for an operator (`api outbox
//! --failed`, `--retry ID`). A worker that dies mid-delivery leaves its claims to
//! run out and be claimed again: delivery is at least once, and an email may then
//! be sent twice (with the same `Message-ID`).

mod render;
mod sender;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use domain::{Clock, DomainError};
use tokio::sync::oneshot::{self, error::TryRecvError};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::MissedTickBehavior;

pub use render::{RenderError, RenderedEmail, render};
pub use sender::{SendError, Sender, SenderSetupError, SmtpSender};

use crate::Database;
use crate::config::OutboxSettings;
use crate::repositories::{OutboxMessage, OutboxRepository};

/// Delivers outbox emails; cheap to clone.
#[derive(Clone, Debug)]
pub struct Worker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Database,
    clock: Arc<dyn Clock>,
    sender: Sender,
    settings: OutboxSettings,
}

/// A running worker; [`WorkerHandle::stop`] ends it. Dropping the handle stops
/// the worker too, after its current round.
#[derive(Debug)]
pub struct WorkerHandle {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Worker {
    /// A worker over `db` that reads "now" from `clock` and sends through `sender`.
    pub fn new(
        db: Database,
        clock: Arc<dyn Clock>,
        sender: Sender,
        settings: OutboxSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                clock,
                sender,
                settings,
            }),
        }
    }

    /// Runs rounds every `outbox.poll_interval_ms` on the current tokio runtime
    /// until stopped. A full batch is followed by another round at once, so a
    /// backlog drains without waiting for the next tick.
    pub fn spawn(self) -> WorkerHandle {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let settings = &self.inner.settings;
            tracing::info!(sender = ?self.inner.sender, "outbox worker started");
            let mut ticker = tokio::time::interval(settings.poll_interval());
            ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
            'rounds: loop {
                tokio::select! {
                    biased;
                    _ = &mut stopped => break,
                    _ = ticker.tick() => {}
                }
                loop {
                    match self.run_once().await {
                        Ok(claimed) if claimed == settings.batch_size as usize => {
                            if !matches!(stopped.try_recv(), Err(TryRecvError::Empty)) {
                                break 'rounds;
                            }
                        }
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "outbox round failed; trying again next tick");
                            break;
                        }
                    }
                }
            }
            tracing::info!("outbox worker stopped");
        });
        WorkerHandle { stop, task }
    }

    /// One round: claims the due emails (at most a batch), delivers them and
    /// records each outcome. Returns how many were claimed.
    pub async fn run_once(&self) -> Result<usize, DomainError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        // A plain indexed read first, so that an idle worker never takes the
        // write lock (SQLite) or opens a transaction.
        if !OutboxRepository::at(inner.db.conn(), now)
            .has_due_emails()
            .await?
        {
            return Ok(0);
        }
        let until = now + to_delta(inner.settings.lease());
        let uow = inner.db.begin().await?;
        let claimed = OutboxRepository::at(uow.conn(), now)
            .claim_due_emails(u64::from(inner.settings.batch_size), until)
            .await?;
        uow.commit().await?;
        let count = claimed.len();
        let mut deliveries = JoinSet::new();
        for message in claimed {
            let worker = self.clone();
            deliveries.spawn(async move { worker.deliver(message).await });
        }
        while let Some(done) = deliveries.join_next().await {
            if let Err(e) = done {
                // Its claim runs out and the message is tried again.
                tracing::error!(error = %e, "an outbox delivery panicked");
            }
        }
        Ok(count)
    }

    #[tracing::instrument(skip_all, fields(message_id = %message.id, attempt = message.attempts))]
    async fn deliver(&self, message: OutboxMessage) {
        let inner = &self.inner;
        // `Err((error, permanent))`. A payload that does not render is retried:
        // a newer version of the server may know its template.
        let outcome = match render(&message.payload) {
            Ok(email) => {
                let timeout = inner.settings.send_timeout();
                match tokio::time::timeout(timeout, inner.sender.send(message.id, &email)).await {
                    Ok(sent) => sent.map_err(|e| (e.to_string(), e.is_permanent())),
                    Err(_) => Err((format!("timed out after {} s", timeout.as_secs()), false)),
                }
            }
            Err(e) => Err((e.to_string(), false)),
        };
        let now = inner.clock.now();
        let outbox = OutboxRepository::at(inner.db.conn(), now);
        match outcome {
            Ok(()) => match outbox.mark_delivered(message.id).await {
                Ok(true) => tracing::debug!("email delivered"),
                Ok(false) => tracing::warn!("email delivered again: another worker had sent it"),
                Err(e) => tracing::error!(
                    error = %e,
                    "email sent but not marked delivered; it will be sent again when its claim runs out"
                ),
            },
            Err((error, permanent)) => {
                self.record_failure(&outbox, &message, &error, permanent, now)
                    .await;
            }
        }
    }

    async fn record_failure(
        &self,
        outbox: &OutboxRepository<'_, crate::database::Connection>,
        message: &OutboxMessage,
        error: &str,
        permanent: bool,
        now: DateTime<Utc>,
    ) {
        let settings = &self.inner.settings;
        let attempts = u32::try_from(message.attempts).unwrap_or(u32::MAX);
        if permanent || attempts >= settings.max_attempts {
            let why = if permanent {
                "refused for good"
            } else {
                "failed its last attempt"
            };
            match outbox
                .mark_failed_for_good(message.id, message.attempts, error)
                .await
            {
                Ok(true) => tracing::error!(
                    %error, attempts,
                    "email delivery {why}: marked failed, not retried until `api outbox --retry {}`",
                    message.id
                ),
                Ok(false) => tracing::warn!(
                    %error,
                    "email delivery failed after its claim passed to another worker"
                ),
                Err(e) => tracing::error!(
                    error = %e, delivery_error = %error,
                    "email delivery failed and could not be recorded; it is retried when its claim runs out"
                ),
            }
            return;
        }
        let wait = settings.backoff(attempts);
        let retry_at = now + to_delta(wait);
        match outbox
            .mark_failed(message.id, message.attempts, error, retry_at)
            .await
        {
            Ok(true) if wait.as_secs() >= settings.backoff_max_secs => tracing::error!(
                %error, %retry_at, attempts,
                "email delivery keeps failing; retrying at the longest backoff"
            ),
            Ok(true) => tracing::warn!(%error, %retry_at, "email delivery failed; will retry"),
            Ok(false) => tracing::warn!(
                %error,
                "email delivery failed after its claim passed to another worker"
            ),
            Err(e) => tracing::error!(
                error = %e, delivery_error = %error,
                "email delivery failed and could not be recorded; it is retried when its claim runs out"
            ),
        }
    }
}

impl WorkerHandle {
    /// Stops the worker and waits for it: a round in progress finishes first
    /// (each delivery is bounded by `outbox.send_timeout_secs`).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the outbox worker panicked");
        }
    }
}

fn to_delta(d: std::time::Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}
