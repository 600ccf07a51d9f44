//! Running jobs: claims hand each due job to exactly one worker under a lease
//! whose token fences heartbeats and completions; expired leases come back;
//! schedules neither drift nor burst; failures back off; the plan caps runs in
//! progress. Time moves with the application's clock, never by sleeping.

use chrono::{DateTime, TimeDelta, Utc};
use domain::jobs::{CreateJobRequest, JobDraft};
use groundwork_tests::Backend;
use groundwork_tests::app::{TestApp, TestResponse, spawn_app, spawn_app_with_free_plan};
use groundwork_tests::db::text_rows;
use groundwork_tests::on_both_databases;
use infra::repositories::JobRepository;
use serde_json::{Value, json};

struct Org {
    token: String,
    org: String,
    key: String,
}

async fn org(app: &TestApp) -> Org {
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let (_, key) = app.create_api_key(&ada.token, &org, "member").await;
    Org {
        token: ada.token,
        org,
        key,
    }
}

fn now(app: &TestApp) -> DateTime<Utc> {
    domain::Clock::now(app.clock.as_ref())
}

async fn job(app: &TestApp, o: &Org, body: Value) -> String {
    let res = app
        .post_as(
            &format!("/v1/organizations/{}/jobs", o.org),
            &o.token,
            &body,
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["id"].as_str().unwrap().to_owned()
}

async fn claim(app: &TestApp, o: &Org, worker: &str, limit: u32, lease: i64) -> TestResponse {
    let res = app
        .post_as(
            &format!("/v1/organizations/{}/jobs/claim", o.org),
            &o.key,
            &json!({"worker": worker, "limit": limit, "leaseSeconds": lease}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res
}

fn items(res: &TestResponse) -> Vec<Value> {
    res.body["items"].as_array().cloned().unwrap_or_default()
}

async fn complete(app: &TestApp, o: &Org, job: &str, token: &str, body: Value) -> TestResponse {
    let mut body = body;
    body["leaseToken"] = json!(token);
    app.post_as(
        &format!("/v1/organizations/{}/jobs/{job}/complete", o.org),
        &o.key,
        &body,
    )
    .await
}

async fn heartbeat(app: &TestApp, o: &Org, job: &str, token: &str, lease: i64) -> TestResponse {
    app.post_as(
        &format!("/v1/organizations/{}/jobs/{job}/heartbeat", o.org),
        &o.key,
        &json!({"leaseToken": token, "leaseSeconds": lease}),
    )
    .await
}

async fn tasks(app: &TestApp, o: &Org, job: &str) -> Vec<Value> {
    let res = app
        .get_as(
            &format!(
                "/v1/organizations/{}/jobs/{job}/tasks?sortDirection=asc&pageSize=100",
                o.org
            ),
            &o.token,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    items(&res)
}

async fn get_job(app: &TestApp, o: &Org, job: &str) -> Value {
    let res = app
        .get_as(&format!("/v1/organizations/{}/jobs/{job}", o.org), &o.token)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
}

async fn a_claim_opens_a_task_and_a_completion_records_it_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let id = job(
        &app,
        &o,
        json!({"name": "n", "definition": "d", "status": "active"}),
    )
    .await;

    let claimed = claim(&app, &o, "w1", 5, 60).await;
    let runs = items(&claimed);
    assert_eq!(runs.len(), 1, "{}", claimed.text);
    let run = &runs[0];
    assert_eq!(run["job"]["id"], id.as_str());
    assert_eq!(run["job"]["locked"], true);
    assert_eq!(run["job"]["lockedBy"], "w1");
    assert_eq!(run["task"]["status"], "running");
    assert_eq!(run["task"]["attempt"], 1);
    assert_eq!(run["endpoint"], Value::Null);
    let token = run["lease"]["token"].as_str().unwrap();
    assert_eq!(token.len(), 32);
    // Held: nobody else gets it.
    assert!(items(&claim(&app, &o, "w2", 5, 60).await).is_empty());

    let done = complete(
        &app,
        &o,
        &id,
        token,
        json!({"outcome": "succeeded", "output": {"answer": 42}, "tokensUsed": 120}),
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["task"]["status"], "succeeded");
    assert_eq!(done.body["task"]["output"]["answer"], 42);
    assert_eq!(
        done.body["job"]["status"], "archived",
        "a one-shot job is done"
    );
    assert_eq!(done.body["job"]["tokensUsed"], 120);
    assert_eq!(done.body["job"]["locked"], false);
    // The same token again: the lease is gone, nothing more is recorded.
    let again = complete(
        &app,
        &o,
        &id,
        token,
        json!({"outcome": "succeeded", "tokensUsed": 5}),
    )
    .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.code(), "LEASE_LOST");
    assert_eq!(get_job(&app, &o, &id).await["tokensUsed"], 120);
    let runs = tasks(&app, &o, &id).await;
    assert_eq!(runs.len(), 1);
    let one = app
        .get_as(
            &format!(
                "/v1/organizations/{}/jobs/{id}/tasks/{}",
                o.org,
                runs[0]["id"].as_str().unwrap()
            ),
            &o.token,
        )
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["tokensUsed"], 120);
    // A nonsense token is a lost lease too, not a validation error.
    assert_eq!(
        complete(&app, &o, &id, "nope", json!({"outcome": "failed"}))
            .await
            .code(),
        "LEASE_LOST"
    );
}

async fn a_dead_workers_job_comes_back_after_its_lease_and_its_late_completion_is_refused(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let id = job(
        &app,
        &o,
        json!({"name": "n", "definition": "d", "status": "active"}),
    )
    .await;
    let first = items(&claim(&app, &o, "doomed", 1, 5).await);
    let dead_token = first[0]["lease"]["token"].as_str().unwrap().to_owned();

    // Before the lease runs out the job is still held.
    app.clock.advance(TimeDelta::seconds(4));
    assert!(items(&claim(&app, &o, "rescuer", 1, 60).await).is_empty());
    // After, it is claimable again: a new lease, a new attempt.
    app.clock.advance(TimeDelta::seconds(2));
    let second = items(&claim(&app, &o, "rescuer", 1, 60).await);
    assert_eq!(second.len(), 1);
    assert_eq!(second[0]["job"]["id"], id.as_str());
    assert_eq!(second[0]["task"]["attempt"], 2);
    assert_ne!(second[0]["lease"]["token"].as_str().unwrap(), dead_token);

    // The dead worker wakes up: its heartbeat and completion are refused and record nothing.
    let beat = heartbeat(&app, &o, &id, &dead_token, 60).await;
    assert_eq!(beat.status, 409);
    assert_eq!(beat.code(), "LEASE_LOST");
    let late = complete(
        &app,
        &o,
        &id,
        &dead_token,
        json!({"outcome": "succeeded", "tokensUsed": 999}),
    )
    .await;
    assert_eq!(late.status, 409, "{}", late.text);
    assert_eq!(late.code(), "LEASE_LOST");
    let job = get_job(&app, &o, &id).await;
    assert_eq!(job["tokensUsed"], 0);
    assert_eq!(job["lockedBy"], "rescuer");
    let runs = tasks(&app, &o, &id).await;
    let states: Vec<(&str, Option<&str>)> = runs
        .iter()
        .map(|t| (t["status"].as_str().unwrap(), t["error"].as_str()))
        .collect();
    assert_eq!(
        states,
        [("failed", Some("lease expired")), ("running", None)]
    );
}

async fn an_expired_lease_is_lost_even_if_nobody_claimed_the_job_since(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let id = job(
        &app,
        &o,
        json!({"name": "n", "definition": "d", "status": "active"}),
    )
    .await;
    let run = items(&claim(&app, &o, "late", 1, 5).await);
    let token = run[0]["lease"]["token"].as_str().unwrap().to_owned();
    app.clock.advance(TimeDelta::seconds(6));
    let beat = heartbeat(&app, &o, &id, &token, 60).await;
    assert_eq!(beat.code(), "LEASE_LOST", "{}", beat.text);
    let late = complete(
        &app,
        &o,
        &id,
        &token,
        json!({"outcome": "succeeded", "tokensUsed": 9}),
    )
    .await;
    assert_eq!(late.status, 409, "{}", late.text);
    assert_eq!(get_job(&app, &o, &id).await["tokensUsed"], 0);
    assert_eq!(tasks(&app, &o, &id).await[0]["status"], "running");
}

async fn a_claim_hands_out_the_jobs_endpoint_with_its_secret(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let endpoint = app
        .post_as(
            &format!("/v1/organizations/{}/endpoints", o.org),
            &o.token,
            &json!({"name": "Agent", "url": "https://agent.example.com/run", "method": "PUT",
                    "headers": {"X-Team": "ops"}, "secret": "sk_live_abcdefghijkl"}),
        )
        .await;
    assert_eq!(endpoint.status, 201, "{}", endpoint.text);
    let ept = endpoint.body["id"].as_str().unwrap();
    let id = job(
        &app,
        &o,
        json!({"name": "n", "definition": "d", "status": "active", "endpointId": ept}),
    )
    .await;
    assert_eq!(get_job(&app, &o, &id).await["endpointId"], ept);

    let run = items(&claim(&app, &o, "w", 1, 60).await);
    let handed = &run[0]["endpoint"];
    assert_eq!(handed["id"], ept);
    assert_eq!(handed["url"], "https://agent.example.com/run");
    assert_eq!(handed["method"], "PUT");
    assert_eq!(handed["headers"]["X-Team"], "ops");
    assert_eq!(handed["secret"], "sk_live_abcdefghijkl");
    // Nowhere else: the job and the endpoint's own reads never show it.
    assert!(!get_job(&app, &o, &id).await.to_string().contains("sk_live"));

    // Another organization's endpoint is no endpoint of this one's.
    let eve = app.create_user("eve@example.com").await;
    let elsewhere = app.create_organization(&eve.token, "Elsewhere").await;
    let theirs = app
        .post_as(
            &format!("/v1/organizations/{elsewhere}/endpoints"),
            &eve.token,
            &json!({"name": "Theirs", "url": "https://theirs.example.com"}),
        )
        .await;
    let refused = app
        .post_as(
            &format!("/v1/organizations/{}/jobs", o.org),
            &o.token,
            &json!({"name": "n", "definition": "d", "endpointId": theirs.body["id"]}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.body["errors"][0]["code"], "ENDPOINT_NOT_FOUND");

    // A deleted endpoint leaves its job without one.
    let gone = app
        .delete_as(
            &format!("/v1/organizations/{}/endpoints/{ept}", o.org),
            &o.token,
        )
        .await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    assert_eq!(get_job(&app, &o, &id).await["endpointId"], Value::Null);
}

async fn heartbeats_keep_a_long_run_from_being_stolen(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let id = job(
        &app,
        &o,
        json!({"name": "n", "definition": "d", "status": "active"}),
    )
    .await;
    let run = items(&claim(&app, &o, "slow", 1, 10).await);
    let token = run[0]["lease"]["token"].as_str().unwrap().to_owned();
    for _ in 0..6 {
        app.clock.advance(TimeDelta::seconds(8));
        let beat = heartbeat(&app, &o, &id, &token, 10).await;
        assert_eq!(beat.status, 200, "{}", beat.text);
        assert!(items(&claim(&app, &o, "thief", 1, 10).await).is_empty());
    }
    let done = complete(&app, &o, &id, &token, json!({"outcome": "succeeded"})).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(tasks(&app, &o, &id).await.len(), 1);
}

async fn an_interval_job_after_an_hour_of_downtime_runs_once_on_its_cadence(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    // Whole seconds: PostgreSQL keeps microseconds, the clock has nanoseconds.
    let start = chrono::DurationRound::duration_trunc(now(&app), TimeDelta::seconds(1)).unwrap();
    let id = job(
        &app,
        &o,
        json!({"name": "n", "definition": "d", "status": "active", "intervalSeconds": 60, "nextRunAt": start.to_rfc3339()}),
    )
    .await;
    let run = items(&claim(&app, &o, "w", 10, 60).await);
    let token = run[0]["lease"]["token"].as_str().unwrap();
    // The run ends 5 s late: the next is still one interval after the scheduled time.
    app.clock.advance(TimeDelta::seconds(5));
    let done = complete(&app, &o, &id, token, json!({"outcome": "succeeded"})).await;
    let next: DateTime<Utc> = done.body["job"]["nextRunAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(next, start + TimeDelta::seconds(60), "no drift");

    // An hour with no worker: sixty runs were missed; one is due.
    app.clock.advance(TimeDelta::hours(1));
    let run = items(&claim(&app, &o, "w", 100, 60).await);
    assert_eq!(run.len(), 1, "the missed runs collapse into one");
    let token = run[0]["lease"]["token"].as_str().unwrap();
    let done = complete(&app, &o, &id, token, json!({"outcome": "succeeded"})).await;
    let next: DateTime<Utc> = done.body["job"]["nextRunAt"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        next > now(&app) && next <= now(&app) + TimeDelta::seconds(60),
        "{next}"
    );
    assert_eq!(
        (next - start).num_seconds() % 60,
        0,
        "still on the cadence: {next}"
    );
    assert!(items(&claim(&app, &o, "w", 100, 60).await).is_empty());
    assert_eq!(tasks(&app, &o, &id).await.len(), 2);
}

async fn failures_back_off_and_stop_after_max_attempts(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let id = job(
        &app,
        &o,
        json!({"name": "n", "definition": "d", "status": "active", "maxAttempts": 3}),
    )
    .await;
    for (attempt, wait) in [(1, 1.0), (2, 16.0)] {
        let run = items(&claim(&app, &o, "w", 1, 60).await);
        assert_eq!(run[0]["task"]["attempt"], attempt);
        let token = run[0]["lease"]["token"].as_str().unwrap();
        let failed_at = now(&app);
        let done = complete(
            &app,
            &o,
            &id,
            token,
            json!({"outcome": "failed", "error": "boom"}),
        )
        .await;
        assert_eq!(done.body["job"]["lastError"], "boom");
        let next: DateTime<Utc> = done.body["job"]["nextRunAt"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let delay = (next - failed_at).as_seconds_f64();
        assert!(
            delay >= wait * 0.9 - 0.5 && delay <= wait * 1.1 + 0.5,
            "attempt {attempt}: {delay}"
        );
        // Not before the backoff.
        assert!(items(&claim(&app, &o, "w", 1, 60).await).is_empty());
        app.clock
            .advance(TimeDelta::milliseconds((wait * 1100.0) as i64 + 1000));
    }
    let run = items(&claim(&app, &o, "w", 1, 60).await);
    assert_eq!(run[0]["task"]["attempt"], 3);
    let token = run[0]["lease"]["token"].as_str().unwrap();
    let done = complete(
        &app,
        &o,
        &id,
        token,
        json!({"outcome": "failed", "error": "still broken"}),
    )
    .await;
    // The last attempt: a one-shot job is paused with its error kept, and not retried.
    assert_eq!(done.body["job"]["status"], "paused");
    assert_eq!(done.body["job"]["lastError"], "still broken");
    app.clock.advance(TimeDelta::days(1));
    assert!(items(&claim(&app, &o, "w", 1, 60).await).is_empty());
    assert_eq!(tasks(&app, &o, &id).await.len(), 3);
}

async fn the_reaper_closes_a_silent_last_attempt(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let id = job(
        &app,
        &o,
        json!({"name": "n", "definition": "d", "status": "active", "maxAttempts": 1}),
    )
    .await;
    assert_eq!(items(&claim(&app, &o, "w", 1, 5).await).len(), 1);
    app.clock.advance(TimeDelta::seconds(6));
    // Its only attempt ran out: a claim does not hand it out again.
    assert!(items(&claim(&app, &o, "w", 1, 5).await).is_empty());
    let ctx = app::Context::system(now(&app));
    let closed = app::runs::reap_expired(&app.database, &ctx, 100)
        .await
        .unwrap();
    assert_eq!(closed, 1);
    let job = get_job(&app, &o, &id).await;
    assert_eq!(job["status"], "paused");
    assert_eq!(job["locked"], false);
    assert_eq!(job["lastError"], "lease expired");
    let runs = tasks(&app, &o, &id).await;
    assert_eq!(runs[0]["status"], "failed");
    assert_eq!(runs[0]["error"], "lease expired");
    assert_eq!(
        app::runs::reap_expired(&app.database, &ctx, 100)
            .await
            .unwrap(),
        0
    );
}

async fn tokens_used_is_the_sum_of_the_tasks(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let id = job(
        &app,
        &o,
        json!({"name": "n", "definition": "d", "status": "active", "intervalSeconds": 60}),
    )
    .await;
    let mut total = 0;
    for tokens in [7, 11, 13] {
        let run = items(&claim(&app, &o, "w", 1, 60).await);
        let token = run[0]["lease"]["token"].as_str().unwrap();
        complete(
            &app,
            &o,
            &id,
            token,
            json!({"outcome": "succeeded", "tokensUsed": tokens}),
        )
        .await;
        total += tokens;
        app.clock.advance(TimeDelta::seconds(61));
    }
    let sum: i64 = tasks(&app, &o, &id)
        .await
        .iter()
        .map(|t| t["tokensUsed"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, total);
    assert_eq!(get_job(&app, &o, &id).await["tokensUsed"], total);
}

async fn the_plan_caps_runs_in_progress_under_concurrent_claims(backend: Backend) {
    let app = spawn_app_with_free_plan(backend, &[("max_concurrent_tasks", 3)]).await;
    let o = org(&app).await;
    for n in 0..8 {
        job(
            &app,
            &o,
            json!({"name": format!("j{n}"), "definition": "d", "status": "active"}),
        )
        .await;
    }
    let claims = futures_util::future::join_all(
        (0..4).map(|w| claim(&app, &o, if w % 2 == 0 { "a" } else { "b" }, 5, 60)),
    )
    .await;
    let handed: usize = claims.iter().map(|c| items(c).len()).sum();
    assert_eq!(
        handed,
        3,
        "{:?}",
        claims.iter().map(|c| items(c).len()).collect::<Vec<_>>()
    );
    // Finishing one makes room for one.
    let first = claims.iter().flat_map(items).next().unwrap();
    let id = first["job"]["id"].as_str().unwrap();
    complete(
        &app,
        &o,
        id,
        first["lease"]["token"].as_str().unwrap(),
        json!({"outcome": "succeeded"}),
    )
    .await;
    assert_eq!(items(&claim(&app, &o, "c", 5, 60).await).len(), 1);
}

async fn a_deleted_jobs_run_ends_and_its_worker_hears_lease_lost(backend: Backend) {
    let app = spawn_app(backend).await;
    let o = org(&app).await;
    let id = job(
        &app,
        &o,
        json!({"name": "n", "definition": "d", "status": "active"}),
    )
    .await;
    let run = items(&claim(&app, &o, "w", 1, 60).await);
    let token = run[0]["lease"]["token"].as_str().unwrap();
    assert_eq!(
        app.delete_as(&format!("/v1/organizations/{}/jobs/{id}", o.org), &o.token)
            .await
            .status,
        204
    );
    let late = complete(&app, &o, &id, token, json!({"outcome": "succeeded"})).await;
    assert_eq!(late.status, 404, "{}", late.text);
    let rows = text_rows(app.database.pool(), "SELECT status, error FROM tasks").await;
    assert_eq!(
        rows,
        [vec![
            Some("failed".to_owned()),
            Some("job deleted".to_owned())
        ]]
    );
}

/// 16 workers over HTTP drain `count` due jobs with claims of 50: every job
/// runs exactly once, none is claimed twice, none is lost (counted from the
/// tasks table).
async fn drain(backend: Backend, count: usize) {
    let app = spawn_app_with_free_plan(backend, &[("max_concurrent_tasks", 100_000)]).await;
    let o = org(&app).await;
    let organization = domain::OrganizationId::parse(&o.org).unwrap();
    let draft = JobDraft::try_from(CreateJobRequest {
        name: Some("bulk".into()),
        definition: Some("d".into()),
        status: Some("active".into()),
        ..CreateJobRequest::default()
    })
    .unwrap();
    let at = now(&app) - TimeDelta::seconds(1);
    let uow = app.database.begin().await.unwrap();
    let jobs = JobRepository::at(uow.conn(), at);
    for _ in 0..count {
        jobs.insert(organization, "usr_bench".into(), &draft, Some(at))
            .await
            .unwrap();
    }
    uow.commit().await.unwrap();

    // As a worker should, each retries a 503 (SQLite's single writer can keep
    // a request waiting past the busy timeout when the machine is loaded).
    async fn post(app: &TestApp, key: &str, path: &str, body: Value) -> TestResponse {
        for _ in 0..50 {
            let res = app.post_as(path, key, &body).await;
            if res.status != 503 {
                return res;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{path}: still 503 after 50 tries");
    }
    let workers = (0..16).map(|w| {
        let app = &app;
        let o = &o;
        async move {
            let mut done = 0usize;
            let base = format!("/v1/organizations/{}/jobs", o.org);
            loop {
                let claimed = post(
                    app,
                    &o.key,
                    &format!("{base}/claim"),
                    json!({"worker": format!("w{w}"), "limit": 50, "leaseSeconds": 300}),
                )
                .await;
                assert_eq!(claimed.status, 200, "{}", claimed.text);
                let runs = items(&claimed);
                if runs.is_empty() {
                    return done;
                }
                for run in runs {
                    let res = post(
                        app,
                        &o.key,
                        &format!("{base}/{}/complete", run["job"]["id"].as_str().unwrap()),
                        json!({
                            "leaseToken": run["lease"]["token"],
                            "outcome": "succeeded",
                            "tokensUsed": 1,
                        }),
                    )
                    .await;
                    assert_eq!(res.status, 200, "{}", res.text);
                    done += 1;
                }
            }
        }
    });
    let per_worker = futures_util::future::join_all(workers).await;
    assert_eq!(per_worker.iter().sum::<usize>(), count);
    assert!(
        per_worker.iter().filter(|n| **n > 0).count() > 1,
        "{per_worker:?}"
    );

    let rows = text_rows(
        app.database.pool(),
        "SELECT CAST(COUNT(*) AS TEXT), CAST(COUNT(DISTINCT job_id) AS TEXT), \
         CAST(SUM(CASE WHEN status = 'succeeded' THEN 1 ELSE 0 END) AS TEXT) FROM tasks",
    )
    .await;
    let n = count.to_string();
    assert_eq!(
        rows[0],
        [Some(n.clone()), Some(n.clone()), Some(n.clone())],
        "tasks, distinct jobs, succeeded"
    );
    let states = text_rows(
        app.database.pool(),
        "SELECT status, CAST(COUNT(*) AS TEXT) FROM jobs GROUP BY status",
    )
    .await;
    assert_eq!(states, [vec![Some("archived".to_owned()), Some(n)]]);
}

async fn sixteen_workers_run_every_due_job_exactly_once(backend: Backend) {
    let count = match backend {
        Backend::Postgres => 5_000,
        Backend::Sqlite => 2_000,
    };
    drain(backend, count).await;
}

on_both_databases!(
    a_claim_opens_a_task_and_a_completion_records_it_once,
    a_dead_workers_job_comes_back_after_its_lease_and_its_late_completion_is_refused,
    an_expired_lease_is_lost_even_if_nobody_claimed_the_job_since,
    a_claim_hands_out_the_jobs_endpoint_with_its_secret,
    heartbeats_keep_a_long_run_from_being_stolen,
    an_interval_job_after_an_hour_of_downtime_runs_once_on_its_cadence,
    failures_back_off_and_stop_after_max_attempts,
    the_reaper_closes_a_silent_last_attempt,
    tokens_used_is_the_sum_of_the_tasks,
    the_plan_caps_runs_in_progress_under_concurrent_claims,
    a_deleted_jobs_run_ends_and_its_worker_hears_lease_lost,
    sixteen_workers_run_every_due_job_exactly_once,
);
