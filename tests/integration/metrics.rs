//! `GET /metrics` (off by default, behind a bearer token when one is set; the
//! Prometheus text format, parsed here), the snapshot into `system_metrics` and
//! `GET /v1/admin/metrics`.

use std::collections::{BTreeMap, BTreeSet};

use awc::http::Method;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use domain::Clock;
use groundwork_tests::app::{TestApp, TestResponse, spawn_app, spawn_app_with};
use groundwork_tests::faults::count_rows;
use groundwork_tests::{Backend, on_both_databases};
use serde_json::{Value, json};

use crate::admin::admin;

const ON: &[(&str, &str)] = &[("APP__METRICS__ENABLED", "true")];
const TOKEN: &str = "metrics-token-0123456789abcdef";

// ---------------------------------------------------------------------------
// A small reader of the text format (version 0.0.4), strict about what a
// scraper relies on.

#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

#[derive(Debug, Default)]
struct Exposition {
    /// Family name → its `# TYPE`.
    types: BTreeMap<String, String>,
    /// Families with a `# HELP`.
    helps: BTreeSet<String>,
    samples: Vec<Sample>,
}

impl Exposition {
    /// Reads `text`; panics, naming the line, on anything malformed: a
    /// comment other than HELP/TYPE, an unknown type, a sample whose family has
    /// no TYPE line before it, labels that do not close, a value that is no f64.
    fn parse(text: &str) -> Self {
        let mut exp = Self::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(comment) = line.strip_prefix("# ") {
                let mut parts = comment.splitn(3, ' ');
                let (kind, name, rest) = (parts.next(), parts.next(), parts.next());
                match (kind, name, rest) {
                    (Some("HELP"), Some(name), Some(_)) => {
                        exp.helps.insert(name.to_owned());
                    }
                    (Some("TYPE"), Some(name), Some(t)) => {
                        assert!(
                            ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t),
                            "unknown type: {line}"
                        );
                        exp.types.insert(name.to_owned(), t.to_owned());
                    }
                    _ => panic!("a comment that is neither HELP nor TYPE: {line}"),
                }
                continue;
            }
            let sample = sample(line);
            let family = exp.family(&sample.name);
            assert!(
                exp.types.contains_key(&family),
                "no # TYPE before the sample: {line}"
            );
            exp.samples.push(sample);
        }
        exp
    }

    /// The family a sample belongs to: a histogram's `_bucket`, `_sum` and
    /// `_count` are its own.
    fn family(&self, name: &str) -> String {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix)
                && self.types.get(base).map(String::as_str) == Some("histogram")
            {
                return base.to_owned();
            }
        }
        name.to_owned()
    }

    /// The value of the one sample of `name` whose labels include `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect();
        assert!(
            matching.len() <= 1,
            "several samples match {name} {labels:?}: {matching:?}"
        );
        matching.first().map(|s| s.value)
    }

    /// Every histogram's buckets are cumulative (non-decreasing with `le`) and
    /// end at `le="+Inf"`, which equals its `_count`.
    fn check_histograms(&self) {
        let histograms: Vec<&String> = self
            .types
            .iter()
            .filter(|(_, t)| *t == "histogram")
            .map(|(name, _)| name)
            .collect();
        assert!(!histograms.is_empty(), "no histogram");
        for family in histograms {
            let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
            for s in self
                .samples
                .iter()
                .filter(|s| s.name == format!("{family}_bucket"))
            {
                let mut labels = s.labels.clone();
                let le = labels
                    .remove("le")
                    .unwrap_or_else(|| panic!("a bucket without le: {s:?}"));
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().expect("le is a number")
                };
                series.entry(labels).or_default().push((le, s.value));
            }
            for (labels, mut buckets) in series {
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                assert!(
                    buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                    "{family}{labels:?}: buckets are not cumulative: {buckets:?}"
                );
                let (last_le, last) = *buckets.last().unwrap();
                assert!(last_le.is_infinite(), "{family}{labels:?}: no +Inf bucket");
                let pairs: Vec<(&str, &str)> = labels
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let count = self.value(&format!("{family}_count"), &pairs);
                assert_eq!(
                    count,
                    Some(last),
                    "{family}{labels:?}: +Inf bucket is not the count"
                );
            }
        }
    }
}

/// `name{k="v",...} value` (labels optional, escapes `\\`, `\"`, `\n`).
fn sample(line: &str) -> Sample {
    let name_end = line
        .find(['{', ' '])
        .unwrap_or_else(|| panic!("no value: {line}"));
    let name = &line[..name_end];
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "bad metric name: {line}"
    );
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices().peekable();
        loop {
            let (start, c) = chars
                .next()
                .unwrap_or_else(|| panic!("labels do not close: {line}"));
            if c == '}' {
                rest = &inner[start + 1..];
                break;
            }
            if c == ',' {
                continue;
            }
            let mut key = String::from(c);
            loop {
                match chars.next() {
                    Some((_, '=')) => break,
                    Some((_, c)) => key.push(c),
                    None => panic!("a label without a value: {line}"),
                }
            }
            assert_eq!(
                chars.next().map(|(_, c)| c),
                Some('"'),
                "unquoted label value: {line}"
            );
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c)) => value.push(c),
                        None => panic!("a dangling escape: {line}"),
                    },
                    Some((_, c)) => value.push(c),
                    None => panic!("an unterminated label value: {line}"),
                }
            }
            labels.insert(key, value);
        }
    }
    let value = rest.trim().split(' ').next().unwrap_or_default();
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("the value is no f64: {line}")),
    };
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

async fn scrape(app: &TestApp) -> Exposition {
    let res = app.get("/metrics").await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(
        res.content_type.starts_with("text/plain"),
        "{}",
        res.content_type
    );
    Exposition::parse(&res.text)
}

fn now(app: &TestApp) -> DateTime<Utc> {
    app.clock.now()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

// ---------------------------------------------------------------------------
// /metrics

async fn metrics_are_off_unless_enabled(backend: Backend) {
    let app = spawn_app(backend).await;

    let res = app.get("/metrics").await;

    assert_eq!(res.status, 404, "{}", res.text);
    assert_eq!(res.code(), "METRICS_DISABLED");
    assert!(res.content_type.starts_with("application/problem+json"));
}

async fn a_configured_token_is_required(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("APP__METRICS__ENABLED", "true"),
            ("APP__METRICS__BEARER_TOKEN", TOKEN),
        ],
    )
    .await;

    let missing = app.get("/metrics").await;
    let wrong = app
        .get_as("/metrics", "metrics-token-0123456789abcdeX")
        .await;
    let short = app.get_as("/metrics", "m").await;
    let right = app.get_as("/metrics", TOKEN).await;

    for (what, res) in [("missing", &missing), ("wrong", &wrong), ("short", &short)] {
        assert_eq!(res.status, 401, "{what}: {}", res.text);
        assert_eq!(res.code(), "UNAUTHENTICATED", "{what}");
        assert!(
            res.content_type.starts_with("application/problem+json"),
            "{what}"
        );
    }
    assert_eq!(right.status, 200, "{}", right.text);
    Exposition::parse(&right.text);
}

async fn a_scrape_counts_requests_by_route_pattern(backend: Backend) {
    let app = spawn_app_with(backend, ON).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let before = scrape(&app).await;
    let count = |exp: &Exposition, method: &str, route: &str, status: &str| {
        exp.value(
            "http_requests_total",
            &[("method", method), ("route", route), ("status", status)],
        )
        .unwrap_or(0.0)
    };

    for _ in 0..3 {
        assert_eq!(app.get("/health").await.status, 200);
    }
    for _ in 0..2 {
        let res = app
            .get_as(&format!("/v1/organizations/{org}"), &ada.token)
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
    }
    assert_eq!(app.get("/no/such/path").await.status, 404);
    assert_eq!(
        app.request(Method::DELETE, "/health", None, None)
            .await
            .status,
        405
    );
    let after = scrape(&app).await;

    // Counters only grow, by what was asked (at least: other requests of the
    // process are not this app's, yet nothing here can see them).
    assert!(
        count(&after, "GET", "/health", "200") >= count(&before, "GET", "/health", "200") + 3.0
    );
    let org_route = "/v1/organizations/{orgId}";
    assert!(
        count(&after, "GET", org_route, "200") >= count(&before, "GET", org_route, "200") + 2.0
    );
    assert!(count(&after, "GET", "unmatched", "404") >= 1.0);
    assert!(count(&after, "DELETE", "/health", "405") >= 1.0);
    // The route is the pattern, never the raw path.
    let routes: BTreeSet<&str> = after
        .samples
        .iter()
        .filter_map(|s| s.labels.get("route").map(String::as_str))
        .collect();
    assert!(
        routes.iter().all(|r| !r.contains("org_")),
        "a raw path as a label: {routes:?}"
    );
    // No 5xx among them.
    assert!(
        after
            .samples
            .iter()
            .filter(|s| s.name == "http_requests_total")
            .all(|s| !s.labels["status"].starts_with('5')),
        "a 5xx was counted"
    );
    // The latency histogram, by method and route, counts the same requests.
    let latency = after
        .value(
            "http_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/health")],
        )
        .unwrap_or(0.0);
    assert!(latency >= 3.0, "{latency}");
    after.check_histograms();
    for family in [
        "http_requests_total",
        "http_request_duration_seconds",
        "db_pool_connections",
        "jobs_due",
    ] {
        assert!(after.helps.contains(family), "no # HELP for {family}");
    }
    assert_eq!(after.types["http_requests_total"], "counter");
    assert_eq!(after.types["http_request_duration_seconds"], "histogram");
    assert_eq!(after.types["jobs_due"], "gauge");
    let pool = after
        .value("db_pool_max_connections", &[])
        .expect("db_pool_max_connections");
    assert!(pool >= 1.0);
    assert!(after.value("db_pool_idle_connections", &[]).is_some());
    assert!(after.value("db_pool_waiting_requests", &[]).is_some());
    assert_eq!(after.value("metrics_database_up", &[]), Some(1.0));
}

async fn a_scrape_reads_due_jobs_their_lag_and_the_outbox_backlog(backend: Backend) {
    // Arrange: four active jobs due in a minute, one paused, one due in two days;
    // two sign-ups' emails in the outbox, one of them failed once.
    let app = spawn_app_with(backend, ON).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let (_, key) = app.create_api_key(&ada.token, &org, "member").await;
    let soon = rfc3339(now(&app) + TimeDelta::minutes(1));
    let later = rfc3339(now(&app) + TimeDelta::days(2));
    let jobs = format!("/v1/organizations/{org}/jobs");
    for (status, at) in [
        ("active", &soon),
        ("active", &soon),
        ("active", &soon),
        ("active", &soon),
        ("paused", &soon),
        ("active", &later),
    ] {
        let res = app
            .post_as(
                &jobs,
                &ada.token,
                &json!({"name": "n", "definition": "d", "status": status, "nextRunAt": at}),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
    }
    let empty = scrape(&app).await;
    assert_eq!(empty.value("jobs_due", &[]), Some(0.0));
    assert_eq!(empty.value("jobs_due_oldest_lag_seconds", &[]), Some(0.0));
    app.sign_up("grace@example.com").await;
    app.sign_up("alan@example.com").await;
    exec(&app, "UPDATE outbox_messages SET attempts = 1 WHERE id IN (SELECT id FROM outbox_messages ORDER BY created_at LIMIT 1)").await;
    app.clock.advance(TimeDelta::hours(1));
    // One of the four is claimed: under a live lease, it is not due.
    let claimed = app
        .post_as(
            &format!("{jobs}/claim"),
            &key,
            &json!({"worker": "w1", "limit": 1, "leaseSeconds": 600}),
        )
        .await;
    assert_eq!(claimed.status, 200, "{}", claimed.text);
    assert_eq!(claimed.body["items"].as_array().map(Vec::len), Some(1));

    // Act
    let exp = scrape(&app).await;

    // Assert
    assert_eq!(exp.value("jobs_due", &[]), Some(3.0));
    let lag = exp
        .value("jobs_due_oldest_lag_seconds", &[])
        .expect("the lag");
    assert!((3540.0..3600.0).contains(&lag), "lag {lag}");
    let pending = count_rows(&app.database, "outbox_messages WHERE kind = 'email' AND attempts = 0 AND processed_at IS NULL AND failed_at IS NULL").await;
    assert!(pending >= 1);
    assert_eq!(
        exp.value(
            "outbox_backlog_messages",
            &[("kind", "email"), ("state", "pending")]
        ),
        Some(pending as f64)
    );
    assert_eq!(
        exp.value(
            "outbox_backlog_messages",
            &[("kind", "email"), ("state", "retrying")]
        ),
        Some(1.0)
    );

    // Delivered, the backlog is 0 again (not its last count).
    exec(&app, "UPDATE outbox_messages SET processed_at = created_at").await;
    let drained = scrape(&app).await;
    assert_eq!(
        drained.value(
            "outbox_backlog_messages",
            &[("kind", "email"), ("state", "retrying")]
        ),
        Some(0.0)
    );
    assert_eq!(
        drained.value(
            "outbox_backlog_messages",
            &[("kind", "email"), ("state", "pending")]
        ),
        Some(0.0)
    );
}

async fn exec(app: &TestApp, sql: &str) {
    use sea_orm::ConnectionTrait;
    app.database
        .conn()
        .execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

// ---------------------------------------------------------------------------
// Snapshots and /v1/admin/metrics

fn items(res: &TestResponse) -> Vec<Value> {
    res.body["items"].as_array().cloned().unwrap_or_default()
}

async fn a_snapshot_is_listed_for_platform_admins_and_purged_after_the_retention(backend: Backend) {
    // Arrange
    let app = spawn_app_with(backend, ON).await;
    let root = admin(&app, "root@example.com").await;
    let ada = app.create_user("ada@example.com").await;
    for _ in 0..2 {
        assert_eq!(app.get("/health").await.status, 200);
    }
    let first_at = now(&app);

    // Act
    let first = app
        .metrics
        .snapshot(&app.database, first_at)
        .await
        .expect("a snapshot");

    // Assert: the request counter of /health, as the scrape has it.
    assert!(first.recorded > 5, "{first:?}");
    let res = app
        .get_as(
            "/v1/admin/metrics?name=http_requests_total&pageSize=100",
            &root.token,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let health: Vec<Value> = items(&res)
        .into_iter()
        .filter(|m| m["labels"]["route"] == "/health")
        .collect();
    assert_eq!(health.len(), 1, "{}", res.text);
    assert_eq!(health[0]["labels"]["method"], "GET");
    assert_eq!(health[0]["labels"]["status"], "200");
    assert!(health[0]["value"].as_f64().unwrap() >= 2.0);
    assert!(
        items(&res)
            .iter()
            .all(|m| m["name"] == "http_requests_total")
    );
    // Buckets are left out; the histogram's count and sum are kept.
    let all = app
        .get_as("/v1/admin/metrics?pageSize=100", &root.token)
        .await;
    assert!(
        items(&all)
            .iter()
            .all(|m| !m["name"].as_str().unwrap().ends_with("_bucket"))
    );
    let count = app
        .get_as(
            "/v1/admin/metrics?name=http_request_duration_seconds_count",
            &root.token,
        )
        .await;
    assert!(!items(&count).is_empty(), "{}", count.text);
    // The time window: from inclusive, to exclusive.
    let at = rfc3339(first_at);
    let after = rfc3339(first_at + TimeDelta::seconds(1));
    let window = |q: String| {
        let app = &app;
        let token = root.token.clone();
        async move {
            items(
                &app.get_as(&format!("/v1/admin/metrics?name=jobs_due&{q}"), &token)
                    .await,
            )
            .len()
        }
    };
    assert_eq!(window(format!("from={at}")).await, 1);
    assert_eq!(window(format!("to={at}")).await, 0);
    assert_eq!(window(format!("from={after}")).await, 0);
    assert_eq!(window(format!("from={at}&to={after}")).await, 1);
    // Cursor pages, by name.
    let page = app
        .get_as(
            "/v1/admin/metrics?sortBy=name&sortDirection=asc&pageSize=2",
            &root.token,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(items(&page).len(), 2);
    let cursor = page.body["nextCursor"].as_str().expect("a next page");
    let next = app
        .get_as(
            &format!("/v1/admin/metrics?sortBy=name&sortDirection=asc&pageSize=2&cursor={cursor}"),
            &root.token,
        )
        .await;
    assert_eq!(next.status, 200, "{}", next.text);
    assert!(items(&next)[0]["name"].as_str() >= items(&page)[1]["name"].as_str());

    // Not for others; bad filters are 422.
    let res = app.get_as("/v1/admin/metrics", &ada.token).await;
    assert_eq!(res.status, 403, "{}", res.text);
    assert_eq!(res.code(), "PLATFORM_ADMIN_REQUIRED");
    assert_eq!(app.get("/v1/admin/metrics").await.status, 401);
    let res = app
        .get_as(
            "/v1/admin/metrics?name=no-such%20name&from=yesterday",
            &root.token,
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert_eq!(res.error_fields(), ["name", "from"]);
    let res = app
        .get_as(
            &format!("/v1/admin/metrics?from={after}&to={at}"),
            &root.token,
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert_eq!(res.error_fields(), ["to"]);

    // A snapshot 31 days later deletes the first (retention: 30 days).
    app.clock.advance(TimeDelta::days(31));
    let second = app
        .metrics
        .snapshot(&app.database, now(&app))
        .await
        .expect("a snapshot");
    assert_eq!(second.purged, first.recorded as u64, "{second:?}");
    assert_eq!(
        count_rows(&app.database, "system_metrics").await,
        second.recorded as i64
    );
}

on_both_databases!(
    metrics_are_off_unless_enabled,
    a_configured_token_is_required,
    a_scrape_counts_requests_by_route_pattern,
    a_scrape_reads_due_jobs_their_lag_and_the_outbox_backlog,
    a_snapshot_is_listed_for_platform_admins_and_purged_after_the_retention,
);
