//! The claim benchmark's driver (`api bench-claim`, hidden; `bench/run.sh
//! --only claim`): `workers` clients, each claiming `batch` jobs at a time
//! and completing each of them (`succeeded`, no endpoint called), for a
//! fixed time. It measures the protocol's throughput (jobs/s) and the
//! latency of a claim, with the worker's own [`ApiClient`].

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Secret;
use super::client::{ApiClient, Outcome, Report};

/// What to measure.
#[derive(Clone, Debug)]
pub struct BenchPlan {
    /// The API's base URL.
    pub api_url: String,
    /// An API key of the organization.
    pub api_key: Secret,
    /// The organization whose due jobs are claimed.
    pub organization: domain::OrganizationId,
    /// Concurrent clients.
    pub workers: u32,
    /// Jobs per claim (1-100).
    pub batch: u32,
    /// How long to measure.
    pub duration: Duration,
}

/// What was measured.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BenchResult {
    /// Concurrent clients.
    pub workers: u32,
    /// Jobs per claim.
    pub batch: u32,
    /// Measured time, seconds.
    pub seconds: f64,
    /// Jobs claimed and completed.
    pub jobs: u64,
    /// `jobs / seconds`.
    pub jobs_per_second: f64,
    /// Claims made.
    pub claims: u64,
    /// Claims that handed out fewer jobs than asked (the due jobs ran out:
    /// the measurement is then not at full load).
    pub short_claims: u64,
    /// Median claim latency, ms.
    pub claim_p50_ms: f64,
    /// 99th percentile claim latency, ms.
    pub claim_p99_ms: f64,
    /// Median completion latency, ms.
    pub complete_p50_ms: f64,
    /// 99th percentile completion latency, ms.
    pub complete_p99_ms: f64,
    /// Calls that failed (any error).
    pub errors: u64,
}

#[derive(Default)]
struct Tally {
    jobs: u64,
    claims: Vec<Duration>,
    completes: Vec<Duration>,
    short_claims: u64,
    errors: u64,
}

/// Runs the plan: every client claims and completes until the time is up
/// (a batch started before then is finished).
pub async fn run(plan: &BenchPlan) -> BenchResult {
    let api = ApiClient::new(
        &plan.api_url,
        plan.organization,
        &plan.api_key,
        Duration::from_secs(30),
    );
    let tally = Rc::new(RefCell::new(Tally::default()));
    let started = Instant::now();
    let deadline = started + plan.duration;
    let mut clients = tokio::task::JoinSet::new();
    for n in 0..plan.workers {
        let (api, tally, batch) = (api.clone(), tally.clone(), plan.batch);
        clients.spawn_local(async move {
            let name = format!("bench-{n}");
            let done = Report {
                outcome: Outcome::Succeeded,
                output: None,
                error: None,
            };
            while Instant::now() < deadline {
                let t = Instant::now();
                let claimed = api.claim(&name, batch, 60).await;
                let took = t.elapsed();
                let items = match claimed {
                    Ok(items) => items,
                    Err(e) => {
                        tracing::warn!(error = %e, "claim failed");
                        tally.borrow_mut().errors += 1;
                        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                {
                    let mut tally = tally.borrow_mut();
                    tally.claims.push(took);
                    if (items.len() as u32) < batch {
                        tally.short_claims += 1;
                    }
                }
                if items.is_empty() {
                    actix_web::rt::time::sleep(Duration::from_millis(10)).await;
                }
                for item in items {
                    let t = Instant::now();
                    let completed = api.complete(&item.job.id, &item.lease.token, &done).await;
                    let mut tally = tally.borrow_mut();
                    tally.completes.push(t.elapsed());
                    match completed {
                        Ok(()) => tally.jobs += 1,
                        Err(e) => {
                            tracing::warn!(error = %e, "completion failed");
                            tally.errors += 1;
                        }
                    }
                }
            }
        });
    }
    while clients.join_next().await.is_some() {}
    let seconds = started.elapsed().as_secs_f64();
    let mut tally = tally.borrow_mut();
    tally.claims.sort();
    tally.completes.sort();
    BenchResult {
        workers: plan.workers,
        batch: plan.batch,
        seconds,
        jobs: tally.jobs,
        jobs_per_second: tally.jobs as f64 / seconds,
        claims: tally.claims.len() as u64,
        short_claims: tally.short_claims,
        claim_p50_ms: percentile(&tally.claims, 50),
        claim_p99_ms: percentile(&tally.claims, 99),
        complete_p50_ms: percentile(&tally.completes, 50),
        complete_p99_ms: percentile(&tally.completes, 99),
        errors: tally.errors,
    }
}

/// The `p`th percentile of sorted durations, in ms (nearest rank).
fn percentile(sorted: &[Duration], p: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (sorted.len() * p).div_ceil(100).clamp(1, sorted.len());
    (sorted[rank - 1].as_secs_f64() * 1e5).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_in_milliseconds() {
        let ms: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&ms, 50), 50.0);
        assert_eq!(percentile(&ms, 99), 99.0);
        assert_eq!(percentile(&ms[..1], 99), 1.0);
        assert_eq!(percentile(&[], 99), 0.0);
    }
}
