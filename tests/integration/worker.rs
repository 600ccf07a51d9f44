//! `api worker`: its claim loop against the real server (a job with an
//! endpoint runs end to end against a fake endpoint; a job without one fails
//! with the reason; the stop signal ends it gracefully, abandoning what
//! outlives the grace; a refused key stops it), one run's endpoint call
//! (2xx, 5xx, timeout, headers and secret), and a run's lease kept by its
//! heartbeats or lost (the call dropped, nothing reported).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use api::worker::client::{ApiClient, ClaimedRun, Endpoint, Outcome};
use api::worker::runner::{self, EndpointCall, RunEnd, RunPace};
use api::worker::{Secret, Summary, WorkerConfig, WorkerError};
use chrono::TimeDelta;
use groundwork_tests::app::{TestApp, spawn_app};
use groundwork_tests::{Backend, on_both_databases};
use serde_json::{Value, json};

/// An organization with an owner and a member API key.
struct Tenant {
    owner: String,
    org: String,
    key: String,
}

async fn tenant(app: &TestApp) -> Tenant {
    let owner = app.create_user("owner@example.com").await;
    let org = app.create_organization(&owner.token, "Acme").await;
    let (_, key) = app.create_api_key(&owner.token, &org, "member").await;
    Tenant {
        owner: owner.token,
        org,
        key,
    }
}

/// An active one-shot job due now; its `job_...` ID.
async fn due_job(app: &TestApp, t: &Tenant, name: &str) -> String {
    let res = app
        .post_as(
            &format!("/v1/organizations/{}/jobs", t.org),
            &t.owner,
            &json!({"name": name, "definition": "say hello", "status": "active"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["id"].as_str().unwrap_or_default().to_owned()
}

/// An endpoint of the tenant calling `url` with `secret` and a header; its
/// `ept_...` ID.
async fn endpoint(app: &TestApp, t: &Tenant, url: &str, secret: &str) -> String {
    let res = app
        .post_as(
            &format!("/v1/organizations/{}/endpoints", t.org),
            &t.owner,
            &json!({"name": "fake", "url": url, "headers": {"X-Tenant": "acme"}, "secret": secret}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["id"].as_str().unwrap_or_default().to_owned()
}

/// An active one-shot job due now that calls `endpoint`; its `job_...` ID.
async fn due_job_calling(app: &TestApp, t: &Tenant, endpoint: &str) -> String {
    let res = app
        .post_as(
            &format!("/v1/organizations/{}/jobs", t.org),
            &t.owner,
            &json!({"name": "calls", "definition": "say hello", "status": "active",
                    "endpointId": endpoint}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["id"].as_str().unwrap_or_default().to_owned()
}

async fn tasks_of(app: &TestApp, t: &Tenant, job: &str) -> Vec<Value> {
    let res = app
        .get_as(
            &format!("/v1/organizations/{}/jobs/{job}/tasks", t.org),
            &t.owner,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"].as_array().cloned().unwrap_or_default()
}

fn config(app: &TestApp, t: &Tenant, poll: Duration) -> WorkerConfig {
    WorkerConfig {
        api_url: app.address.clone(),
        api_key: Secret::new(t.key.clone()),
        organization: domain::OrganizationId::parse(&t.org).unwrap(),
        name: "test-worker".into(),
        concurrency: 4,
        lease_seconds: 30,
        poll_interval: poll,
        endpoint_timeout: Duration::from_secs(5),
        shutdown_grace: Duration::from_secs(10),
    }
}

/// Waits (at most 10 s) for `job`'s first task to be finished.
async fn finished_task(app: &TestApp, t: &Tenant, job: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let tasks = tasks_of(app, t, job).await;
        if let Some(task) = tasks.iter().find(|t| t["status"] != "running") {
            return task.clone();
        }
        assert!(Instant::now() < deadline, "no finished task: {tasks:?}");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_job_without_an_endpoint_is_completed_failed_with_the_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = actix_web::rt::spawn(api::worker::run(
        config(&app, &t, Duration::from_millis(50)),
        async {
            let _ = stopped.await;
        },
    ));

    // Created while the worker polls: it claims it at its next round.
    let job = due_job(&app, &t, "no endpoint").await;
    let task = finished_task(&app, &t, &job).await;
    let _ = stop.send(());
    let summary = tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("the worker did not stop")
        .unwrap()
        .unwrap();

    assert_eq!(task["status"], "failed", "{task}");
    assert_eq!(task["error"], "the job has no endpoint");
    assert_eq!(task["worker"], "test-worker");
    assert_eq!(task["output"], Value::Null);
    let job = app
        .get_as(&format!("/v1/organizations/{}/jobs/{job}", t.org), &t.owner)
        .await;
    assert_eq!(job.body["lastError"], "the job has no endpoint");
    assert_eq!(job.body["locked"], false);
    assert_eq!((summary.claimed, summary.failed), (1, 1), "{summary:?}");
}

async fn on_the_stop_signal_the_worker_finishes_what_it_claimed_and_claims_no_more(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let t = tenant(&app).await;
    let first = due_job(&app, &t, "first").await;
    let second = due_job(&app, &t, "second").await;

    // The signal is already there when the first claim returns: the runs it
    // handed out are still run and reported, and nothing more is claimed.
    let summary = tokio::time::timeout(
        Duration::from_secs(20),
        api::worker::run(config(&app, &t, Duration::from_secs(3600)), async {}),
    )
    .await
    .expect("the worker did not stop")
    .unwrap();
    let later = due_job(&app, &t, "later").await;

    assert_eq!(
        summary,
        Summary {
            claimed: 2,
            failed: 2,
            ..Summary::default()
        }
    );
    for job in [first, second] {
        assert_eq!(tasks_of(&app, &t, &job).await[0]["status"], "failed");
    }
    assert!(tasks_of(&app, &t, &later).await.is_empty());
}

async fn an_idle_worker_stops_at_once_on_the_signal(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // An hour between claims: only the signal can end the wait.
    let worker = actix_web::rt::spawn(api::worker::run(
        config(&app, &t, Duration::from_secs(3600)),
        async {
            let _ = stopped.await;
        },
    ));
    let began = Instant::now();
    let _ = stop.send(());
    let summary = tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("the worker did not stop")
        .unwrap()
        .unwrap();

    assert_eq!(summary, Summary::default());
    assert!(began.elapsed() < Duration::from_secs(10));
}

async fn a_worker_whose_key_is_refused_stops_with_an_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app).await;
    let mut config = config(&app, &t, Duration::from_millis(10));
    config.api_key = Secret::new("gwk_not_a_real_key");

    let ended = tokio::time::timeout(
        Duration::from_secs(10),
        api::worker::run(config, std::future::pending()),
    )
    .await
    .expect("the worker kept going");

    match ended {
        Err(WorkerError::Refused(e)) => assert!(e.to_string().contains("401"), "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Claims the tenant's due jobs directly, as the worker's client does.
async fn claim(app: &TestApp, t: &Tenant, lease_seconds: u32) -> Vec<ClaimedRun> {
    let api = api_client(app, t);
    api.claim("test-worker", 10, lease_seconds).await.unwrap()
}

fn api_client(app: &TestApp, t: &Tenant) -> ApiClient {
    ApiClient::new(
        &app.address,
        domain::OrganizationId::parse(&t.org).unwrap(),
        &Secret::new(t.key.clone()),
        Duration::from_secs(10),
    )
}

async fn heartbeats_keep_the_lease_while_the_endpoint_works(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app).await;
    let job = due_job(&app, &t, "slow endpoint").await;
    let fake = FakeEndpoint::start(200, r#"{"answer": 42}"#, Duration::from_millis(1500)).await;
    let mut run = claim(&app, &t, 5).await.remove(0);
    run.endpoint = Some(Endpoint {
        url: Some(fake.url()),
        ..Endpoint::default()
    });
    let api = api_client(&app, &t);
    let pace = RunPace {
        lease_seconds: 5,
        heartbeat_every: Duration::from_millis(100),
        endpoint_timeout: Duration::from_secs(10),
    };

    let running = actix_web::rt::spawn(async move {
        runner::execute(&api, &runner::endpoint_client(), &run, pace).await
    });
    // Once the endpoint works, 4 of the lease's 5 s pass at once: the run
    // ends at least 1.5 s later, past the claimed lease, so only the
    // heartbeats (each 5 s from the clock's now) keep it.
    fake.wait_for_calls(1).await;
    app.clock.advance(TimeDelta::seconds(4));
    let end = running.await.unwrap();

    assert_eq!(end, RunEnd::Reported(Outcome::Succeeded));
    let task = &tasks_of(&app, &t, &job).await[0];
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(
        task["output"],
        json!({"status": 200, "body": {"answer": 42}})
    );
}

async fn a_lost_lease_drops_the_endpoint_call_and_reports_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app).await;
    let job = due_job(&app, &t, "hanging endpoint").await;
    let fake = FakeEndpoint::start(200, "{}", Duration::from_secs(3600)).await;
    let mut run = claim(&app, &t, 5).await.remove(0);
    run.endpoint = Some(Endpoint {
        url: Some(fake.url()),
        ..Endpoint::default()
    });
    let api = api_client(&app, &t);
    let pace = RunPace {
        lease_seconds: 5,
        heartbeat_every: Duration::from_millis(100),
        endpoint_timeout: Duration::from_secs(3600),
    };

    let running = actix_web::rt::spawn(async move {
        runner::execute(&api, &runner::endpoint_client(), &run, pace).await
    });
    // While the endpoint works, the lease runs out: the next heartbeat is
    // 409 LEASE_LOST.
    fake.wait_for_calls(1).await;
    app.clock.advance(TimeDelta::seconds(6));
    let end = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the run did not end on the lost lease")
        .unwrap();

    assert_eq!(end, RunEnd::LeaseLost);
    assert_eq!(fake.calls().len(), 1, "the endpoint was called");
    let task = &tasks_of(&app, &t, &job).await[0];
    assert_eq!(task["status"], "running", "nothing recorded: {task}");
}

async fn a_job_with_an_endpoint_runs_from_claim_to_report(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app).await;
    let fake = FakeEndpoint::start(200, r#"{"ok": true}"#, Duration::ZERO).await;
    let endpoint = endpoint(&app, &t, &fake.url(), "s3cret-e2e").await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = actix_web::rt::spawn(api::worker::run(
        config(&app, &t, Duration::from_millis(50)),
        async {
            let _ = stopped.await;
        },
    ));

    let job = due_job_calling(&app, &t, &endpoint).await;
    let task = finished_task(&app, &t, &job).await;
    let _ = stop.send(());
    let summary = tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("the worker did not stop")
        .unwrap()
        .unwrap();

    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(task["output"], json!({"status": 200, "body": {"ok": true}}));
    assert_eq!(task["error"], Value::Null);
    let calls = fake.calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.method, "POST");
    assert_eq!(call.header("authorization"), Some("Bearer s3cret-e2e"));
    assert_eq!(call.header("x-tenant"), Some("acme"));
    assert_eq!(
        call.body,
        json!({"jobId": job, "taskId": task["id"], "definition": "say hello", "attempt": 1})
    );
    assert_eq!((summary.claimed, summary.succeeded), (1, 1), "{summary:?}");
}

async fn runs_still_going_after_the_grace_are_abandoned_to_their_leases(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = tenant(&app).await;
    let fake = FakeEndpoint::start(200, "{}", Duration::from_secs(3600)).await;
    let endpoint = endpoint(&app, &t, &fake.url(), "s3cret").await;
    let job = due_job_calling(&app, &t, &endpoint).await;
    let mut config = config(&app, &t, Duration::from_millis(50));
    config.endpoint_timeout = Duration::from_secs(3600);
    config.shutdown_grace = Duration::from_millis(300);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = actix_web::rt::spawn(api::worker::run(config, async {
        let _ = stopped.await;
    }));

    // The run is in progress (the endpoint has its call) when the stop comes.
    fake.wait_for_calls(1).await;
    let _ = stop.send(());
    let summary = tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("the worker did not stop after its grace")
        .unwrap()
        .unwrap();

    assert_eq!(
        summary,
        Summary {
            claimed: 1,
            abandoned: 1,
            ..Summary::default()
        }
    );
    // Nothing was reported: the lease will run out on the server.
    assert_eq!(tasks_of(&app, &t, &job).await[0]["status"], "running");
    let job = app
        .get_as(&format!("/v1/organizations/{}/jobs/{job}", t.org), &t.owner)
        .await;
    assert_eq!(job.body["locked"], true);
}

on_both_databases!(
    a_job_with_an_endpoint_runs_from_claim_to_report,
    runs_still_going_after_the_grace_are_abandoned_to_their_leases,
    a_job_without_an_endpoint_is_completed_failed_with_the_reason,
    on_the_stop_signal_the_worker_finishes_what_it_claimed_and_claims_no_more,
    an_idle_worker_stops_at_once_on_the_signal,
    a_worker_whose_key_is_refused_stops_with_an_error,
    heartbeats_keep_the_lease_while_the_endpoint_works,
    a_lost_lease_drops_the_endpoint_call_and_reports_nothing,
);

/// A request the fake endpoint received.
#[derive(Clone, Debug)]
struct Call {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Call {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP server on 127.0.0.1 that records each request and answers
/// `status` with `body` after `delay`.
struct FakeEndpoint {
    port: u16,
    calls: Arc<Mutex<Vec<Call>>>,
    handle: actix_web::dev::ServerHandle,
}

#[derive(Clone)]
struct Behaviour {
    status: u16,
    body: &'static str,
    delay: Duration,
    calls: Arc<Mutex<Vec<Call>>>,
}

async fn answer(req: HttpRequest, body: web::Bytes, how: web::Data<Behaviour>) -> HttpResponse {
    how.calls.lock().unwrap().push(Call {
        method: req.method().to_string(),
        path: req.path().to_owned(),
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    actix_web::rt::time::sleep(how.delay).await;
    HttpResponse::build(actix_web::http::StatusCode::from_u16(how.status).unwrap())
        .content_type("application/json")
        .body(how.body)
}

impl FakeEndpoint {
    async fn start(status: u16, body: &'static str, delay: Duration) -> Self {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let how = Behaviour {
            status,
            body,
            delay,
            calls: calls.clone(),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(how.clone()))
                .default_service(web::to(answer))
        })
        .workers(1)
        .shutdown_timeout(0)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            port,
            calls,
            handle,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/run", self.port)
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Waits (at most 10 s) until `n` requests arrived.
    async fn wait_for_calls(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.calls().len() < n {
            assert!(Instant::now() < deadline, "the endpoint was not called");
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for FakeEndpoint {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn call_to(url: String) -> EndpointCall {
    EndpointCall {
        url,
        method: "POST".into(),
        headers: Default::default(),
        secret: None,
        body: json!({"jobId": "job_1", "taskId": "tsk_1", "definition": "d", "attempt": 1}),
    }
}

#[actix_web::test]
async fn a_2xx_answer_succeeds_with_its_json_body_as_output() {
    let fake = FakeEndpoint::start(201, r#"{"done": true}"#, Duration::ZERO).await;

    let report = runner::call_endpoint(
        &runner::endpoint_client(),
        &call_to(fake.url()),
        Duration::from_secs(5),
    )
    .await;

    assert_eq!(report.outcome, Outcome::Succeeded);
    assert_eq!(report.error, None);
    assert_eq!(
        report.output,
        Some(json!({"status": 201, "body": {"done": true}}))
    );
}

#[actix_web::test]
async fn a_5xx_answer_fails_and_keeps_the_body_as_text_when_it_is_not_json() {
    let fake = FakeEndpoint::start(500, "upstream broke", Duration::ZERO).await;

    let report = runner::call_endpoint(
        &runner::endpoint_client(),
        &call_to(fake.url()),
        Duration::from_secs(5),
    )
    .await;

    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(report.error.as_deref(), Some("endpoint answered 500"));
    assert_eq!(
        report.output,
        Some(json!({"status": 500, "body": "upstream broke"}))
    );
}

#[actix_web::test]
async fn an_endpoint_slower_than_the_timeout_fails_the_run() {
    let fake = FakeEndpoint::start(200, "{}", Duration::from_secs(30)).await;
    let began = Instant::now();

    let report = runner::call_endpoint(
        &runner::endpoint_client(),
        &call_to(fake.url()),
        Duration::from_millis(300),
    )
    .await;

    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(
        report.error.as_deref(),
        Some("endpoint timed out after 0.3 s")
    );
    assert_eq!(report.output, None);
    assert!(began.elapsed() < Duration::from_secs(5));
}

#[actix_web::test]
async fn an_unreachable_endpoint_fails_with_the_connection_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let call = call_to(format!("http://127.0.0.1:{port}/run"));

    let report =
        runner::call_endpoint(&runner::endpoint_client(), &call, Duration::from_secs(5)).await;

    assert_eq!(report.outcome, Outcome::Failed);
    let error = report.error.unwrap_or_default();
    assert!(error.starts_with("cannot call the endpoint: "), "{error}");
}

#[actix_web::test]
async fn the_call_carries_the_method_headers_secret_and_run_as_json() {
    let fake = FakeEndpoint::start(204, "", Duration::ZERO).await;
    let call = EndpointCall {
        method: "put".into(),
        headers: [
            ("X-Tenant".to_owned(), Secret::new("acme")),
            ("X-Api-Version".to_owned(), Secret::new("2")),
        ]
        .into(),
        secret: Some(Secret::new("s3cret-token")),
        ..call_to(fake.url())
    };

    let report =
        runner::call_endpoint(&runner::endpoint_client(), &call, Duration::from_secs(5)).await;

    assert_eq!(report.outcome, Outcome::Succeeded);
    assert_eq!(report.output, Some(json!({"status": 204, "body": null})));
    let calls = fake.calls();
    let got = &calls[0];
    assert_eq!((got.method.as_str(), got.path.as_str()), ("PUT", "/run"));
    assert_eq!(got.header("authorization"), Some("Bearer s3cret-token"));
    assert_eq!(got.header("x-tenant"), Some("acme"));
    assert_eq!(got.header("x-api-version"), Some("2"));
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(
        got.body,
        json!({"jobId": "job_1", "taskId": "tsk_1", "definition": "d", "attempt": 1})
    );
    assert!(!format!("{call:?}").contains("s3cret-token"));
}
