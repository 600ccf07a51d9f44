//! The lease reaper: a background loop of the server that closes the runs
//! whose worker went silent (`app::runs::reap_expired`), so no task stays
//! `running` after its worker died and a job on its last attempt is
//! rescheduled rather than left leased forever.

use std::sync::Arc;

use app::Context;
use domain::Clock;
use infra::Database;
use infra::config::JobsSettings;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running reaper; [`Reaper::stop`] ends it after its current round.
#[derive(Debug)]
pub struct Reaper {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Reaper {
    /// Starts rounds every `jobs.reaper_interval_secs` on the current runtime.
    pub fn spawn(db: Database, clock: Arc<dyn Clock>, settings: JobsSettings) -> Self {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(settings.reaper_interval());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {}
                }
                // A full round means more may be waiting: go on at once.
                loop {
                    let ctx = Context::system(clock.now());
                    match app::runs::reap_expired(&db, &ctx, settings.reaper_batch_size).await {
                        Ok(n) if n as u64 >= settings.reaper_batch_size => continue,
                        Ok(0) => {}
                        Ok(n) => tracing::info!(closed = n, "closed runs whose lease expired"),
                        Err(e) => tracing::warn!(error = %e, "the lease reaper's round failed"),
                    }
                    break;
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
