//! The snapshot loop: a background loop of the server (as the lease reaper)
//! that writes every series into `system_metrics` every
//! `metrics.snapshot_interval_secs` and deletes rows past the retention.

use std::sync::Arc;
use std::time::Duration;

use domain::Clock;
use infra::Database;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::Metrics;

/// A running snapshot loop; [`Snapshotter::stop`] ends it after its current round.
#[derive(Debug)]
pub struct Snapshotter {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Snapshotter {
    /// Takes a snapshot every `interval` on the current runtime, the first one
    /// `interval` after start (a server restarting in a loop does not write
    /// one per restart).
    pub fn spawn(
        metrics: Metrics,
        db: Database,
        clock: Arc<dyn Clock>,
        interval: Duration,
    ) -> Self {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let start = tokio::time::Instant::now() + interval;
            let mut tick = tokio::time::interval_at(start, interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {}
                }
                match metrics.snapshot(&db, clock.now()).await {
                    Ok(done) => tracing::debug!(
                        recorded = done.recorded,
                        purged = done.purged,
                        "metrics snapshot"
                    ),
                    Err(e) => tracing::warn!(error = %e, "the metrics snapshot failed"),
                }
            }
        });
        Self { stop, task }
    }

    /// Stops the loop and waits for its current round.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}
