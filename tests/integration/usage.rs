//! Usage records: one row per idempotency key however many reports arrive at
//! once, the timestamp window, summaries equal to a brute-force sum, a finished
//! task's tokens, and the monthly token quota that stops claims. Time moves
//! with the application's clock, never by sleeping.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::join_all;
use groundwork_tests::Backend;
use groundwork_tests::app::{TestApp, TestResponse, spawn_app, spawn_app_with_free_plan};
use groundwork_tests::on_both_databases;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

struct Org {
    owner: String,
    member: String,
    org: String,
    key: String,
}

async fn org(app: &TestApp) -> Org {
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let (_, key) = app.create_api_key(&ada.token, &org, "member").await;
    let bob = app.create_user("bob@example.com").await;
    app.add_member(&org, &bob.user_id, domain::MemberRole::Member)
        .await;
    Org {
        owner: ada.token,
        member: bob.token,
        org,
        key,
    }
}

fn now(app: &TestApp) -> DateTime<Utc> {
    domain::Clock::now(app.clock.as_ref())
}

/// Moves the application's clock to `at`.
fn set_clock(app: &TestApp, at: &str) {
    let target = DateTime::parse_from_rfc3339(at)
        .unwrap()
        .with_timezone(&Utc);
    app.clock.advance(target - now(app));
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn report(app: &TestApp, o: &Org, body: &Value) -> TestResponse {
    app.post_as(&format!("/v1/organizations/{}/usage", o.org), &o.key, body)
        .await
}

async fn summary(app: &TestApp, o: &Org, query: &str) -> TestResponse {
    app.get_as(
        &format!("/v1/organizations/{}/usage/summary?{query}", o.org),
        &o.member,
    )
    .await
}

/// A 422's errors as `field:CODE`.
fn field_codes(res: &TestResponse) -> Vec<String> {
    res.body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    format!(
                        "{}:{}",
                        e["field"].as_str().unwrap_or(""),
                        e["code"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn stored_records(app: &TestApp) -> u64 {
    infra::entities::usage_records::Entity::find()
        .count(app.database.conn())
        .await
        .unwrap()
}

async fn owners_and_keys_report_and_members_only_read(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let path = format!("/v1/organizations/{}/usage", o.org);
    let body = |key: &str| json!({"metric": "tokens", "quantity": 3, "idempotencyKey": key});

    // Act
    let by_owner = app.post_as(&path, &o.owner, &body("o")).await;
    let by_key = app.post_as(&path, &o.key, &body("k")).await;
    let by_member = app.post_as(&path, &o.member, &body("m")).await;
    let read = summary(&app, &o, "metric=tokens").await;

    // Assert
    assert_eq!(by_owner.status, 201, "{}", by_owner.text);
    assert_eq!(by_key.status, 201, "{}", by_key.text);
    assert_eq!(by_member.status, 403, "{}", by_member.text);
    assert_eq!(by_member.code(), "INSUFFICIENT_ROLE");
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["buckets"][0]["sum"], 6, "{}", read.text);
    assert_eq!(stored_records(&app).await, 2);
}

async fn the_same_record_100_times_10_at_once_is_stored_once(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let body = json!({
        "metric": "api_calls",
        "quantity": 7,
        "timestamp": rfc3339(now(&app) - TimeDelta::hours(1)),
        "idempotencyKey": "batch-2026-11-30-0001",
    });

    // Act: ten waves of ten at once.
    let mut responses = Vec::new();
    for _ in 0..10 {
        responses.extend(join_all((0..10).map(|_| report(&app, &o, &body))).await);
    }

    // Assert
    let created: Vec<_> = responses.iter().filter(|r| r.status == 201).collect();
    let duplicates: Vec<_> = responses
        .iter()
        .filter(|r| r.status == 200 && r.body["duplicate"] == true)
        .collect();
    assert_eq!(
        (created.len(), duplicates.len()),
        (1, 99),
        "{:?}",
        responses
            .iter()
            .filter(|r| r.status != 200 && r.status != 201)
            .map(|r| &r.text)
            .take(3)
            .collect::<Vec<_>>()
    );
    let first = &created[0].body;
    assert_eq!(first["duplicate"], false);
    assert!(first["id"].as_str().unwrap().starts_with("use_"));
    assert!(
        duplicates
            .iter()
            .all(|d| d.body["id"] == first["id"] && d.body["quantity"] == 7)
    );
    assert_eq!(stored_records(&app).await, 1);
    let month = summary(
        &app,
        &o,
        &format!(
            "metric=api_calls&groupBy=month&from={}&to={}",
            rfc3339(now(&app) - TimeDelta::days(40)),
            rfc3339(now(&app) + TimeDelta::days(1))
        ),
    )
    .await;
    let buckets = month.body["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 1, "{}", month.text);
    assert_eq!(
        (&buckets[0]["sum"], &buckets[0]["count"]),
        (&json!(7), &json!(1))
    );
}

async fn a_used_key_with_another_body_is_409_and_a_retry_without_timestamp_is_a_duplicate(
    backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let first = report(
        &app,
        &o,
        &json!({"metric": "tokens", "quantity": 10, "idempotencyKey": "k"}),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.text);
    app.clock.advance(TimeDelta::seconds(30));

    // Act
    let retry = report(
        &app,
        &o,
        &json!({"metric": "tokens", "quantity": 10, "idempotencyKey": "k"}),
    )
    .await;
    let other_quantity = report(
        &app,
        &o,
        &json!({"metric": "tokens", "quantity": 11, "idempotencyKey": "k"}),
    )
    .await;
    let other_metric = report(
        &app,
        &o,
        &json!({"metric": "api_calls", "quantity": 10, "idempotencyKey": "k"}),
    )
    .await;
    let other_time = report(
        &app,
        &o,
        &json!({"metric": "tokens", "quantity": 10, "idempotencyKey": "k",
                "timestamp": rfc3339(now(&app) - TimeDelta::days(1))}),
    )
    .await;
    // Keys are per organization.
    let ben = app.create_user("ben@example.com").await;
    let other_org = app.create_organization(&ben.token, "Other").await;
    let elsewhere = app
        .post_as(
            &format!("/v1/organizations/{other_org}/usage"),
            &ben.token,
            &json!({"metric": "tokens", "quantity": 10, "idempotencyKey": "k"}),
        )
        .await;

    // Assert
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(retry.body["duplicate"], true);
    assert_eq!(retry.body["timestamp"], first.body["timestamp"]);
    for refused in [&other_quantity, &other_metric, &other_time] {
        assert_eq!(refused.status, 409, "{}", refused.text);
        assert_eq!(refused.code(), "IDEMPOTENCY_KEY_REUSED");
    }
    assert_eq!(elsewhere.status, 201, "{}", elsewhere.text);
    assert_eq!(stored_records(&app).await, 2);
}

async fn timestamps_outside_35_days_back_and_5_minutes_ahead_are_422(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let at = |delta: TimeDelta| rfc3339(now(&app) + delta);
    let body = |key: &str, timestamp: String| json!({"metric": "tokens", "quantity": 1, "idempotencyKey": key, "timestamp": timestamp});

    // Act (the clock goes on between here and the server: a minute's margin
    // on the accepted side)
    let oldest = report(
        &app,
        &o,
        &body("a", at(-TimeDelta::days(35) + TimeDelta::minutes(1))),
    )
    .await;
    let too_old = report(
        &app,
        &o,
        &body("b", at(-TimeDelta::days(35) - TimeDelta::seconds(1))),
    )
    .await;
    let furthest = report(&app, &o, &body("c", at(TimeDelta::minutes(5)))).await;
    let too_far_at = at(TimeDelta::minutes(6));
    let too_far = report(&app, &o, &body("d", too_far_at)).await;

    // Assert
    assert_eq!(oldest.status, 201, "{}", oldest.text);
    assert_eq!(furthest.status, 201, "{}", furthest.text);
    assert_eq!(too_old.status, 422, "{}", too_old.text);
    assert_eq!(field_codes(&too_old), ["timestamp:TIMESTAMP_TOO_OLD"]);
    assert_eq!(too_far.status, 422, "{}", too_far.text);
    assert_eq!(field_codes(&too_far), ["timestamp:TIMESTAMP_IN_FUTURE"]);
    assert_eq!(stored_records(&app).await, 2);
}

async fn malformed_reports_and_summaries_are_422_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let long_key = "k".repeat(256);
    let cases = [
        (
            json!({"quantity": 1, "idempotencyKey": "k"}),
            "metric:REQUIRED",
        ),
        (
            json!({"metric": "Tokens", "quantity": 1, "idempotencyKey": "k"}),
            "metric:INVALID_FORMAT",
        ),
        (
            json!({"metric": "tokens", "idempotencyKey": "k"}),
            "quantity:REQUIRED",
        ),
        (
            json!({"metric": "tokens", "quantity": 0, "idempotencyKey": "k"}),
            "quantity:OUT_OF_RANGE",
        ),
        (
            json!({"metric": "tokens", "quantity": 1_000_000_000_001_i64, "idempotencyKey": "k"}),
            "quantity:OUT_OF_RANGE",
        ),
        (
            json!({"metric": "tokens", "quantity": 1}),
            "idempotencyKey:REQUIRED",
        ),
        (
            json!({"metric": "tokens", "quantity": 1, "idempotencyKey": long_key}),
            "idempotencyKey:TOO_LONG",
        ),
        (
            json!({"metric": "tokens", "quantity": 1, "idempotencyKey": "k", "timestamp": "yesterday"}),
            "timestamp:INVALID_FORMAT",
        ),
    ];
    for (body, expected) in cases {
        let res = report(&app, &o, &body).await;
        assert_eq!(res.status, 422, "{body}: {}", res.text);
        assert_eq!(field_codes(&res), [expected], "{body}");
    }
    let queries = [
        ("groupBy=day", "metric:REQUIRED"),
        ("metric=tokens&groupBy=week", "groupBy:INVALID_VALUE"),
        ("metric=tokens&from=soon", "from:INVALID_FORMAT"),
        (
            "metric=tokens&from=2026-11-02T00:00:00Z&to=2026-11-02T00:00:00Z",
            "to:OUT_OF_RANGE",
        ),
        (
            "metric=tokens&from=2025-01-01T00:00:00Z&to=2026-11-02T00:00:00Z",
            "to:OUT_OF_RANGE",
        ),
    ];
    for (query, expected) in queries {
        let res = summary(&app, &o, query).await;
        assert_eq!(res.status, 422, "{query}: {}", res.text);
        assert_eq!(field_codes(&res), [expected], "{query}");
    }
    assert_eq!(stored_records(&app).await, 0);
}

/// A small deterministic generator (xorshift64*), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The buckets a summary should hold: `(start, sum, count, max)` by bucket,
/// over the records of `metric` in `[from, to)`.
fn brute_force(
    records: &[(String, i64, DateTime<Utc>)],
    metric: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    month: bool,
) -> Vec<Value> {
    let mut buckets: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for (m, quantity, at) in records {
        if m != metric || *at < from || *at >= to {
            continue;
        }
        let start = if month {
            at.format("%Y-%m-01T00:00:00Z").to_string()
        } else {
            at.format("%Y-%m-%dT00:00:00Z").to_string()
        };
        let b = buckets.entry(start).or_insert((0, 0, 0));
        b.0 += quantity;
        b.1 += 1;
        b.2 = b.2.max(*quantity);
    }
    buckets
        .into_iter()
        .map(|(start, (sum, count, max))| json!({"start": start, "sum": sum, "count": count, "max": max}))
        .collect()
}

async fn summaries_by_day_and_month_equal_a_brute_force_sum(backend: Backend) {
    // Arrange: the clock early in a month, so the 35-day window spans two
    // month boundaries; random records plus some on the edges of days and
    // months (23:59:59.999 and 00:00:00.000).
    let app = spawn_app(backend).await;
    set_clock(&app, "2026-12-03T12:00:00Z");
    let o = org(&app).await;
    // An hour's margin: the clock goes on while the records are sent.
    let start = now(&app) - TimeDelta::days(35) + TimeDelta::hours(1);
    let seed = 0x9E37_79B9_7F4A_7C15;
    let mut rng = Rng(seed);
    let mut records: Vec<(String, i64, DateTime<Utc>)> = (0..150)
        .map(|_| {
            let metric = if rng.below(4) == 0 {
                "api_calls"
            } else {
                "tokens"
            };
            let at = start + TimeDelta::milliseconds(rng.below(34 * 86_400_000) as i64);
            (metric.to_owned(), 1 + rng.below(10_000) as i64, at)
        })
        .collect();
    for edge in [
        "2026-11-30T23:59:59.999Z",
        "2026-12-01T00:00:00.000Z",
        "2026-11-15T23:59:59.999Z",
        "2026-11-16T00:00:00Z",
        "2026-10-31T23:59:59.999Z",
        "2026-11-01T00:00:00Z",
    ] {
        let at = DateTime::parse_from_rfc3339(edge)
            .unwrap()
            .with_timezone(&Utc);
        records.push(("tokens".to_owned(), 1 + rng.below(100) as i64, at));
    }
    for (i, (metric, quantity, at)) in records.iter().enumerate() {
        let res = report(
            &app,
            &o,
            &json!({"metric": metric, "quantity": quantity, "timestamp": rfc3339(*at),
                    "idempotencyKey": format!("r{i}")}),
        )
        .await;
        assert_eq!(res.status, 201, "{}", res.text);
    }

    // Act and assert: whole window, and a range cut mid-day, by day and month.
    let ranges = [
        ("2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("2026-11-15T23:59:59.999Z", "2026-12-01T00:00:00Z"),
        ("2026-11-01T00:00:00Z", "2026-11-16T00:00:00Z"),
    ];
    for (from, to) in ranges {
        let (f, t) = (
            DateTime::parse_from_rfc3339(from)
                .unwrap()
                .with_timezone(&Utc),
            DateTime::parse_from_rfc3339(to)
                .unwrap()
                .with_timezone(&Utc),
        );
        for metric in ["tokens", "api_calls"] {
            for (group, month) in [("day", false), ("month", true)] {
                let res = summary(
                    &app,
                    &o,
                    &format!("metric={metric}&from={from}&to={to}&groupBy={group}"),
                )
                .await;
                assert_eq!(res.status, 200, "{}", res.text);
                let expected = brute_force(&records, metric, f, t, month);
                assert_eq!(
                    res.body["buckets"],
                    Value::Array(expected),
                    "seed {seed:#x}, {metric} by {group} over [{from}, {to})"
                );
            }
        }
    }
}

// The work side: jobs, claims, completions.

async fn active_job(app: &TestApp, o: &Org) -> String {
    let res = app
        .post_as(
            &format!("/v1/organizations/{}/jobs", o.org),
            &o.owner,
            &json!({"name": "n", "definition": "d", "status": "active", "intervalSeconds": 60}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["id"].as_str().unwrap().to_owned()
}

async fn claim(app: &TestApp, o: &Org) -> TestResponse {
    app.post_as(
        &format!("/v1/organizations/{}/jobs/claim", o.org),
        &o.key,
        &json!({"worker": "w1", "limit": 1, "leaseSeconds": 60}),
    )
    .await
}

async fn complete(app: &TestApp, o: &Org, claimed: &TestResponse, tokens: i64) -> TestResponse {
    let run = &claimed.body["items"][0];
    let job = run["job"]["id"].as_str().unwrap();
    app.post_as(
        &format!("/v1/organizations/{}/jobs/{job}/complete", o.org),
        &o.key,
        &json!({"leaseToken": run["lease"]["token"], "outcome": "succeeded", "tokensUsed": tokens}),
    )
    .await
}

async fn tokens_this_month(app: &TestApp, o: &Org) -> Value {
    let res = summary(app, o, "metric=tokens&groupBy=month").await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["buckets"].clone()
}

async fn a_finished_task_records_its_tokens_once(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    active_job(&app, &o).await;
    let claimed = claim(&app, &o).await;
    assert_eq!(claimed.status, 200, "{}", claimed.text);
    let task = claimed.body["items"][0]["task"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Act
    let done = complete(&app, &o, &claimed, 1234).await;
    let again = complete(&app, &o, &claimed, 1234).await;
    // The task's key, reported by hand, is the same record: not a second.
    let by_hand = report(
        &app,
        &o,
        &json!({"metric": "tokens", "quantity": 1234, "idempotencyKey": format!("task:{task}")}),
    )
    .await;

    // Assert
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(by_hand.status, 200, "{}", by_hand.text);
    assert_eq!(by_hand.body["duplicate"], true);
    let buckets = tokens_this_month(&app, &o).await;
    assert_eq!(buckets[0]["sum"], 1234, "{buckets}");
    assert_eq!(buckets[0]["count"], 1, "{buckets}");
    assert_eq!(stored_records(&app).await, 1);
}

/// A free plan of 1,000 tokens a month.
const SMALL_QUOTA: &[(&str, i64)] = &[("monthly_token_quota", 1000)];

async fn claims_stop_at_the_monthly_token_quota_and_resume_next_month(backend: Backend) {
    // Arrange: mid-month, a job due, 999 tokens used.
    let app = spawn_app_with_free_plan(backend, SMALL_QUOTA).await;
    set_clock(&app, "2026-12-15T12:00:00Z");
    let o = org(&app).await;
    active_job(&app, &o).await;
    let used = report(
        &app,
        &o,
        &json!({"metric": "tokens", "quantity": 999, "idempotencyKey": "a"}),
    )
    .await;
    assert_eq!(used.status, 201, "{}", used.text);

    // Act and assert: just under the quota a claim goes through, and its run
    // reports the last token.
    let under = claim(&app, &o).await;
    assert_eq!(under.status, 200, "{}", under.text);
    assert_eq!(under.body["items"].as_array().unwrap().len(), 1);
    let done = complete(&app, &o, &under, 1).await;
    assert_eq!(done.status, 200, "{}", done.text);

    // At the quota: 403 and nothing claimed, though the job is due again.
    app.clock.advance(TimeDelta::minutes(2));
    let at_quota = claim(&app, &o).await;
    assert_eq!(at_quota.status, 403, "{}", at_quota.text);
    assert_eq!(at_quota.code(), "QUOTA_EXCEEDED");
    let job = app
        .get_as(
            &format!(
                "/v1/organizations/{}/jobs/{}",
                o.org,
                under.body["items"][0]["job"]["id"].as_str().unwrap()
            ),
            &o.owner,
        )
        .await;
    assert_eq!(job.body["locked"], false, "{}", job.text);
    // Other metrics do not count.
    let other = report(
        &app,
        &o,
        &json!({"metric": "api_calls", "quantity": 5, "idempotencyKey": "b"}),
    )
    .await;
    assert_eq!(other.status, 201);
    assert_eq!(claim(&app, &o).await.status, 403);
    // A person's claim (membership read apart) is held to the same quota.
    let by_owner = app
        .post_as(
            &format!("/v1/organizations/{}/jobs/claim", o.org),
            &o.owner,
            &json!({"worker": "w2", "limit": 1}),
        )
        .await;
    assert_eq!(by_owner.status, 403, "{}", by_owner.text);
    assert_eq!(by_owner.code(), "QUOTA_EXCEEDED");

    // A new month: claims again.
    set_clock(&app, "2027-01-01T00:00:01Z");
    let next_month = claim(&app, &o).await;
    assert_eq!(next_month.status, 200, "{}", next_month.text);
    assert_eq!(next_month.body["items"].as_array().unwrap().len(), 1);
}

on_both_databases!(
    owners_and_keys_report_and_members_only_read,
    the_same_record_100_times_10_at_once_is_stored_once,
    a_used_key_with_another_body_is_409_and_a_retry_without_timestamp_is_a_duplicate,
    timestamps_outside_35_days_back_and_5_minutes_ahead_are_422,
    malformed_reports_and_summaries_are_422_naming_the_field,
    summaries_by_day_and_month_equal_a_brute_force_sum,
    a_finished_task_records_its_tokens_once,
    claims_stop_at_the_monthly_token_quota_and_resume_next_month,
);
