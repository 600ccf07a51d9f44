//! `/metrics`: request counts and latencies, the pool, the work queues, in
//! Prometheus text format through the `metrics` crates; and the periodic
//! snapshot of every series into `system_metrics`.
//!
//! **One recorder per application, never the process-global one.** Each
//! [`Application`](crate::Application) builds its own
//! [`PrometheusRecorder`] and records into it through the [`Recorder`] trait
//! with handles it keeps, not through the `metrics::counter!` macros (which
//! reach the global recorder). Tests run many applications in one process: with
//! a global recorder each would see the others' requests, and only the first
//! could install it. A server has one application, so nothing is lost.
//!
//! **Cheap on every request.** The middleware looks the series up by
//! `(method, route pattern, status)` in a map under a read lock and bumps the
//! handles it finds there: label strings are allocated once per series, when it
//! is first seen. The route is the matched pattern
//! (`/v1/organizations/{orgId}/members`), never the raw path, so the series
//! stay few; a path no route serves is `route="unmatched"`. The pattern is
//! read after routing, from the resources actix recorded on the way (no
//! second match of the path against every route, but for 404 and 405).
//!
//! **Database gauges are read at scrape time** (the pool's counters from
//! memory; due jobs and the outbox backlog with two indexed queries), bounded
//! by `metrics.scrape_timeout_ms`: past it the scrape answers without fresh
//! values and `metrics_database_up` says 0.

mod exposition;
mod snapshots;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, web};
use chrono::{DateTime, Utc};
use domain::DomainError;
use infra::Database;
use infra::config::MetricsSettings;
use metrics::{Counter, Histogram, Key, KeyName, Label, Level, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use sha2::{Digest, Sha256};

use crate::middleware::methods::ANY_PATH;
use subtle::ConstantTimeEq;

pub use exposition::parse_samples;
pub use snapshots::Snapshotter;

/// Request counter: `{method, route, status}`.
pub const HTTP_REQUESTS: &str = "http_requests_total";
/// Request latency histogram: `{method, route}`.
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
/// The label of a request no route serves.
pub const UNMATCHED: &str = "unmatched";

/// The latency buckets, in seconds (Prometheus' defaults): a request answered
/// from memory lands in the first, a slow database in the last ones.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

/// The series of one `(method, route, status)`.
type SeriesKey = (&'static str, String, u16);

/// The application's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    enabled: bool,
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    series: RwLock<HashMap<SeriesKey, (Counter, Histogram)>>,
    /// The outbox `(kind, state)` series seen so far: one that empties is set
    /// to 0, not left at its last count.
    backlog_seen: Mutex<BTreeSet<(String, &'static str)>>,
    /// SHA-256 of `metrics.bearer_token`: compared in constant time, whatever
    /// the length of what a caller sends.
    token_digest: Option<[u8; 32]>,
    scrape_timeout: Duration,
    retention: chrono::TimeDelta,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("enabled", &self.inner.enabled)
            .finish_non_exhaustive()
    }
}

/// What a caller of `/metrics` may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Metrics are off (`metrics.enabled`): 404.
    Disabled,
    /// A token is configured and the request does not carry it: 401.
    Denied,
    /// Serve it.
    Granted,
}

impl Metrics {
    /// The metrics of one application, from `[metrics]`.
    pub fn new(settings: &MetricsSettings) -> Self {
        // `set_buckets` refuses only an empty list.
        let builder = PrometheusBuilder::new()
            .set_buckets(BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        describe(&recorder);
        Self {
            inner: Arc::new(Inner {
                enabled: settings.enabled,
                handle,
                recorder,
                series: RwLock::default(),
                backlog_seen: Mutex::default(),
                token_digest: settings
                    .token()
                    .map(|token| Sha256::digest(token.as_bytes()).into()),
                scrape_timeout: settings.scrape_timeout(),
                retention: settings.retention(),
            }),
        }
    }

    /// Whether `metrics.enabled` is on.
    pub fn enabled(&self) -> bool {
        self.inner.enabled
    }

    /// Whether a request with this `Authorization` header value may scrape.
    pub fn access(&self, authorization: Option<&[u8]>) -> Access {
        if !self.inner.enabled {
            return Access::Disabled;
        }
        let Some(expected) = &self.inner.token_digest else {
            return Access::Granted;
        };
        let presented = authorization
            .and_then(|value| value.strip_prefix(b"Bearer "))
            .map(|token| <[u8; 32]>::from(Sha256::digest(token)));
        match presented {
            Some(digest) if bool::from(digest.ct_eq(expected)) => Access::Granted,
            _ => Access::Denied,
        }
    }

    /// Counts one answered request and its latency.
    pub fn observe(
        &self,
        method: &'static str,
        route: Option<String>,
        status: u16,
        took: Duration,
    ) {
        // The fallback resource (`/{tail:.*}` in each scope) is no route.
        let route = route
            .filter(|pattern| !pattern.ends_with(ANY_PATH))
            .unwrap_or_else(|| UNMATCHED.to_owned());
        let key = (method, route, status);
        let seconds = took.as_secs_f64();
        {
            let series = self
                .inner
                .series
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some((count, latency)) = series.get(&key) {
                count.increment(1);
                latency.record(seconds);
                return;
            }
        }
        let mut series = self
            .inner
            .series
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let recorder = &self.inner.recorder;
        let (count, latency) = series
            .entry(key)
            .or_insert_with_key(|(method, route, status)| {
                let route = Label::new("route", route.clone());
                let method = Label::from_static_parts("method", method);
                let count = recorder.register_counter(
                    &Key::from_parts(
                        HTTP_REQUESTS,
                        vec![
                            method.clone(),
                            route.clone(),
                            Label::new("status", status.to_string()),
                        ],
                    ),
                    &METADATA,
                );
                let latency = recorder.register_histogram(
                    &Key::from_parts(HTTP_DURATION, vec![method, route]),
                    &METADATA,
                );
                (count, latency)
            });
        count.increment(1);
        latency.record(seconds);
    }

    /// Every series in Prometheus text format, the database's gauges read now.
    pub async fn render(&self, db: &Database, now: DateTime<Utc>) -> String {
        self.refresh_gauges(db, now).await;
        self.inner.handle.render()
    }

    /// Takes a snapshot at `now`: every series but the histograms' buckets
    /// into `system_metrics`, and the rows past `metrics.snapshot_retention_days`
    /// deleted, in one transaction.
    pub async fn snapshot(
        &self,
        db: &Database,
        now: DateTime<Utc>,
    ) -> Result<app::metrics::SnapshotOutcome, DomainError> {
        let text = self.render(db, now).await;
        let samples: Vec<_> = parse_samples(&text)
            .into_iter()
            .filter(|sample| !sample.name.ends_with("_bucket"))
            .collect();
        app::metrics::record_snapshot(db, now, &samples, self.inner.retention).await
    }

    async fn refresh_gauges(&self, db: &Database, now: DateTime<Utc>) {
        let pool = db.pool_stats();
        self.gauge("db_pool_connections", vec![], f64::from(pool.size));
        self.gauge("db_pool_idle_connections", vec![], pool.idle as f64);
        self.gauge("db_pool_max_connections", vec![], f64::from(pool.max));
        self.gauge("db_pool_waiting_requests", vec![], pool.waiting as f64);
        let read = tokio::time::timeout(
            self.inner.scrape_timeout,
            app::metrics::work_gauges(db, now),
        );
        let work = match read.await {
            Ok(Ok(work)) => work,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "metrics: reading the work queues failed");
                self.gauge("metrics_database_up", vec![], 0.0);
                return;
            }
            Err(_) => {
                tracing::warn!(timeout = ?self.inner.scrape_timeout, "metrics: reading the work queues timed out");
                self.gauge("metrics_database_up", vec![], 0.0);
                return;
            }
        };
        self.gauge("metrics_database_up", vec![], 1.0);
        self.gauge("jobs_due", vec![], work.jobs_due as f64);
        self.gauge(
            "jobs_due_oldest_lag_seconds",
            vec![],
            work.oldest_due_lag_seconds,
        );
        let mut seen = self
            .inner
            .backlog_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let current: BTreeSet<(String, &'static str)> = work
            .outbox_backlog
            .iter()
            .map(|b| (b.kind.clone(), b.state.as_str()))
            .collect();
        for (kind, state) in seen.difference(&current) {
            self.gauge("outbox_backlog_messages", backlog_labels(kind, state), 0.0);
        }
        for backlog in &work.outbox_backlog {
            let labels = backlog_labels(&backlog.kind, backlog.state.as_str());
            self.gauge("outbox_backlog_messages", labels, backlog.count as f64);
        }
        seen.extend(current);
    }

    fn gauge(&self, name: &'static str, labels: Vec<Label>, value: f64) {
        self.inner
            .recorder
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
            .set(value);
    }
}

fn backlog_labels(kind: &str, state: &'static str) -> Vec<Label> {
    vec![
        Label::new("kind", kind.to_owned()),
        Label::from_static_parts("state", state),
    ]
}

/// The `# HELP` of every series.
fn describe(recorder: &PrometheusRecorder) {
    let help: &[(&'static str, Option<Unit>, &'static str)] = &[
        (
            HTTP_REQUESTS,
            None,
            "HTTP requests answered, by method, route pattern and status",
        ),
        (
            HTTP_DURATION,
            Some(Unit::Seconds),
            "Time to answer an HTTP request (until the response head), by method and route pattern",
        ),
        (
            "db_pool_connections",
            None,
            "Open connections of the database pool, idle or in use",
        ),
        (
            "db_pool_idle_connections",
            None,
            "Open connections of the database pool that nobody uses",
        ),
        (
            "db_pool_max_connections",
            None,
            "The most connections the pool opens (database.max_connections)",
        ),
        (
            "db_pool_waiting_requests",
            None,
            "Requests waiting for a pinned connection (PostgreSQL; sqlx does not expose the waiters of its own acquire)",
        ),
        (
            "outbox_backlog_messages",
            None,
            "Outbox rows still to deliver, by kind and state (pending: never tried; retrying: failed, waiting for the next attempt)",
        ),
        (
            "jobs_due",
            None,
            "Jobs a claim would hand out now: active, due, without a live lease",
        ),
        (
            "jobs_due_oldest_lag_seconds",
            Some(Unit::Seconds),
            "How long the oldest due job has been due (0 when none is)",
        ),
        (
            "metrics_database_up",
            None,
            "1 when this scrape read the database gauges in time, 0 when not (they then keep their last values)",
        ),
    ];
    for (name, unit, text) in help {
        let key = KeyName::from_const_str(name);
        if name.ends_with("_total") {
            recorder.describe_counter(key, *unit, (*text).into());
        } else if *name == HTTP_DURATION {
            recorder.describe_histogram(key, *unit, (*text).into());
        } else {
            recorder.describe_gauge(key, *unit, (*text).into());
        }
    }
}

/// The method as a label: the standard ones by name, anything else `OTHER`
/// (a client choosing methods must not choose the series).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The middleware: counts and times every request the application answers.
/// Wrapped outermost (`startup.rs`), only when metrics are on.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let Some(metrics) = req.app_data::<web::Data<Metrics>>().cloned() else {
        return next.call(req).await;
    };
    let started = Instant::now();
    let method = method_label(req.method());
    let res = next.call(req).await;
    let (route, status) = match &res {
        Ok(res) => (route_of(res.request()), res.status().as_u16()),
        Err(e) => (None, e.as_response_error().status_code().as_u16()),
    };
    metrics.observe(method, route, status, started.elapsed());
    res
}

/// The pattern of the route that served `req`, read after routing: actix
/// then walks the path of resources it recorded instead of matching the path
/// against every route again (which costs regex matches per request). A
/// request the fallback resource answered (405, 404) is matched again, so a
/// 405 still names the route its path belongs to; a path no route serves
/// keeps the fallback's pattern, which [`Metrics::observe`] labels `unmatched`.
fn route_of(req: &HttpRequest) -> Option<String> {
    match req.match_pattern() {
        Some(pattern) if pattern.ends_with(ANY_PATH) => {
            req.resource_map().match_pattern(req.path())
        }
        routed => routed,
    }
}
