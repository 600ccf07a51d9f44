//! The claim loop: keep up to `concurrency` runs going, claim more when
//! there is room, wait `poll_interval` when there is nothing to do, and stop
//! gracefully: on the stop signal no more claims; runs in progress get
//! `shutdown_grace` to finish and be reported, the rest are abandoned (their
//! leases run out on the server, and the jobs come back).

use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::WorkerConfig;
use super::client::{ApiClient, ClientError, Outcome};
use super::runner::{self, RunEnd, RunPace};

/// Most runs one claim asks for (the API's cap).
const MAX_CLAIM: u32 = 100;
/// Each API call gives up after this long.
const API_TIMEOUT: Duration = Duration::from_secs(30);

/// What a worker did, counted when it stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Runs it claimed.
    pub claimed: u64,
    /// Runs reported as succeeded.
    pub succeeded: u64,
    /// Runs reported as failed.
    pub failed: u64,
    /// Runs whose lease was lost before their report.
    pub lost: u64,
    /// Runs whose report could not be delivered.
    pub unreported: u64,
    /// Runs still going when the grace period ended.
    pub abandoned: u64,
}

impl Summary {
    fn count(&mut self, end: RunEnd) {
        match end {
            RunEnd::Reported(Outcome::Succeeded) => self.succeeded += 1,
            RunEnd::Reported(Outcome::Failed) => self.failed += 1,
            RunEnd::LeaseLost => self.lost += 1,
            RunEnd::Unreported(_) => self.unreported += 1,
        }
    }
}

/// Why a worker stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The API refused its claims for good (a revoked key, an unknown
    /// organization, a missing permission): retrying would not help.
    #[error("the API refused the claim: {0}")]
    Refused(ClientError),
}

struct Shared {
    api: ApiClient,
    http: awc::Client,
    pace: RunPace,
}

/// Runs jobs until `shutdown` completes (or the API refuses claims for good),
/// then stops as the module says. Needs actix's runtime (`#[actix_web::main]`,
/// `#[actix_web::test]`): runs are local tasks.
pub async fn run(
    config: WorkerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<Summary, WorkerError> {
    let shared = Rc::new(Shared {
        api: ApiClient::new(
            &config.api_url,
            config.organization,
            &config.api_key,
            API_TIMEOUT,
        ),
        http: runner::endpoint_client(),
        pace: RunPace {
            lease_seconds: config.lease_seconds,
            heartbeat_every: config.heartbeat_interval(),
            endpoint_timeout: config.endpoint_timeout,
        },
    });
    tracing::info!(
        worker = %config.name,
        organization = %config.organization,
        api = %config.api_url,
        concurrency = config.concurrency,
        lease_seconds = config.lease_seconds,
        "worker started"
    );
    let concurrency = config.concurrency.max(1);
    let mut summary = Summary::default();
    let mut runs: JoinSet<RunEnd> = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut refused = None;
    loop {
        while let Some(done) = runs.try_join_next() {
            count(&mut summary, done);
        }
        let busy = u32::try_from(runs.len()).unwrap_or(u32::MAX);
        if busy >= concurrency {
            tokio::select! {
                done = runs.join_next() => if let Some(done) = done { count(&mut summary, done) },
                () = &mut shutdown => break,
            }
            continue;
        }
        let room = (concurrency - busy).min(MAX_CLAIM);
        // A claim under way is not cut short by the stop signal: the runs it
        // hands out are this worker's, and are run within the grace period.
        match shared
            .api
            .claim(&config.name, room, config.lease_seconds)
            .await
        {
            Ok(items) => {
                let got = items.len();
                summary.claimed += got as u64;
                for item in items {
                    let shared = shared.clone();
                    runs.spawn_local(async move {
                        runner::execute(&shared.api, &shared.http, &item, shared.pace).await
                    });
                }
                if got as u32 == room {
                    // There may be more due: claim again once there is room.
                    continue;
                }
            }
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %e, "claim failed; trying again after the poll interval");
            }
            Err(e) => {
                tracing::error!(error = %e, "the API refuses this worker's claims; stopping");
                refused = Some(e);
                break;
            }
        }
        tokio::select! {
            () = actix_web::rt::time::sleep(config.poll_interval) => {}
            () = &mut shutdown => break,
        }
    }
    if refused.is_none() {
        tracing::info!(
            runs = runs.len(),
            grace_secs = config.shutdown_grace.as_secs_f64(),
            "stop signal: no more claims; waiting for the runs in progress"
        );
    }
    let drained = actix_web::rt::time::timeout(config.shutdown_grace, async {
        while let Some(done) = runs.join_next().await {
            count(&mut summary, done);
        }
    })
    .await;
    if drained.is_err() {
        summary.abandoned = runs.len() as u64;
        tracing::warn!(
            abandoned = runs.len(),
            "runs still going after the grace period are abandoned: their leases run out on the server and the jobs come back"
        );
        runs.shutdown().await;
    }
    tracing::info!(?summary, "worker stopped");
    match refused {
        Some(e) => Err(WorkerError::Refused(e)),
        None => Ok(summary),
    }
}

fn count(summary: &mut Summary, done: Result<RunEnd, tokio::task::JoinError>) {
    match done {
        Ok(end) => summary.count(end),
        Err(e) if e.is_panic() => {
            tracing::error!(
                "a run panicked; its lease runs out on the server and the job comes back"
            );
            summary.unreported += 1;
        }
        Err(_) => {}
    }
}
