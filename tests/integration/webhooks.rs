//! Outgoing webhooks, end to end: subscriptions and their secrets, events in
//! the change's transaction, delivery to a fake receiver signed per Standard
//! Webhooks (checked by an independent verifier written here from the
//! specification), retries, disabling, SSRF, rotation, the log, replay, test
//! pings, the purge, and several servers delivering from one database.
//!
//! Time moves with the application's clock; the worker's effects are awaited
//! by polling with a deadline.

use std::collections::VecDeque;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{TimeDelta, Utc};
use domain::Clock;
use groundwork_tests::app::{TestApp, spawn_app_on, spawn_app_resolving, spawn_app_with};
use groundwork_tests::faults::{allow_writes, fail_inserts_into};
use groundwork_tests::{Backend, on_both_databases};
use infra::entities::{outbox_messages, webhook_deliveries};
use infra::resolver::StaticResolver;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------
// An independent verifier, from the Standard Webhooks specification: the key
// is the base64 after `whsec_`; the signed content is "{id}.{timestamp}.{body}";
// HMAC-SHA256 (RFC 2104, written out here rather than borrowed from the
// server's code); the header holds space-separated `v1,<base64>` entries.

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Whether `header` carries a valid signature of the message by `secret`.
fn verify(secret: &str, id: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|k| STANDARD.decode(k).ok())
    else {
        return false;
    };
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    let expected = STANDARD.encode(hmac_sha256(&key, &content));
    header
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .any(|signature| signature == expected)
}

#[test]
fn the_verifier_accepts_the_specifications_published_example() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let body = br#"{"test": 2432232314}"#;
    let signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    assert!(verify(
        secret,
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "1614265330",
        body,
        signature
    ));
    assert!(!verify(
        secret,
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "1614265331",
        body,
        signature
    ));
    assert!(!verify(secret, "msg_other", "1614265330", body, signature));
}

// ---------------------------------------------------------------------------
// A fake receiver: records every request, answers from a queue of scripted
// responses (then 200).

#[derive(Clone, Debug)]
struct Received {
    path: String,
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Clone, Debug)]
struct Scripted {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Scripted>>,
    /// Answered when the script is empty; `None`: 200.
    fallback: Mutex<Option<Scripted>>,
}

struct Receiver {
    port: u16,
    shared: Arc<Shared>,
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    shared.received.lock().unwrap().push(Received {
        path: req.path().to_owned(),
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: body.to_vec(),
    });
    let next = shared.script.lock().unwrap().pop_front();
    let answer = next.or_else(|| shared.fallback.lock().unwrap().clone());
    match answer {
        None => HttpResponse::Ok().body("thanks"),
        Some(s) => {
            let mut res =
                HttpResponse::build(actix_web::http::StatusCode::from_u16(s.status).unwrap());
            for (name, value) in s.headers {
                res.insert_header((name, value));
            }
            res.body(s.body)
        }
    }
}

impl Receiver {
    async fn start() -> Receiver {
        let shared = Arc::new(Shared::default());
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Receiver { port, shared }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    fn answer(&self, status: u16, headers: &[(&'static str, &str)], body: &str) {
        self.shared.script.lock().unwrap().push_back(Scripted {
            status,
            headers: headers.iter().map(|(n, v)| (*n, (*v).to_owned())).collect(),
            body: body.to_owned(),
        });
    }

    fn always(&self, status: u16) {
        *self.shared.fallback.lock().unwrap() = Some(Scripted {
            status,
            headers: Vec::new(),
            body: "down".to_owned(),
        });
    }
}

// ---------------------------------------------------------------------------
// Helpers.

const WORKER_ON: &[(&str, &str)] = &[
    ("APP__WEBHOOKS__WORKER", "true"),
    ("APP__WEBHOOKS__POLL_INTERVAL_MS", "20"),
];

/// Polls `check` until it holds; panics after 20 s, naming `what`.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct Org {
    id: String,
    token: String,
}

async fn organization(app: &TestApp) -> Org {
    let owner = app.create_user("owner@example.com").await;
    let id = app.create_organization(&owner.token, "Acme").await;
    Org {
        id,
        token: owner.token,
    }
}

/// Creates a webhook; returns its id and secret.
async fn webhook(app: &TestApp, org: &Org, url: &str, events: Value) -> (String, String) {
    let res = app
        .post_as(
            &format!("/v1/organizations/{}/webhooks", org.id),
            &org.token,
            &json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    (
        res.body["id"].as_str().unwrap().to_owned(),
        res.body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn rename(app: &TestApp, org: &Org, name: &str) {
    let res = app
        .patch_as(
            &format!("/v1/organizations/{}", org.id),
            &org.token,
            &json!({"name": name}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
}

async fn webhook_rows(app: &TestApp) -> Vec<outbox_messages::Model> {
    outbox_messages::Entity::find()
        .filter(outbox_messages::Column::Kind.eq("webhook"))
        .order_by_asc(outbox_messages::Column::CreatedAt)
        .all(app.database.conn())
        .await
        .unwrap()
}

async fn log(app: &TestApp) -> Vec<webhook_deliveries::Model> {
    webhook_deliveries::Entity::find()
        .order_by_asc(webhook_deliveries::Column::CreatedAt)
        .order_by_asc(webhook_deliveries::Column::Id)
        .all(app.database.conn())
        .await
        .unwrap()
}

async fn get_webhook(app: &TestApp, org: &Org, id: &str) -> Value {
    let res = app
        .get_as(
            &format!("/v1/organizations/{}/webhooks/{id}", org.id),
            &org.token,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
}

// ---------------------------------------------------------------------------
// Tests.

async fn a_renamed_organization_reaches_its_webhook_signed_per_the_specification(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = spawn_app_with(backend, WORKER_ON).await;
    let org = organization(&app).await;
    let (id, secret) = webhook(&app, &org, &receiver.url(), json!(["organization.updated"])).await;
    assert!(secret.starts_with("whsec_"));
    assert_eq!(STANDARD.decode(&secret[6..]).unwrap().len(), 32);
    let shown = get_webhook(&app, &org, &id).await;
    assert!(
        shown.get("secret").is_none(),
        "the secret is shown once: {shown}"
    );

    rename(&app, &org, "Acme Renamed").await;

    eventually("the event arrives", || async {
        !receiver.received().is_empty()
    })
    .await;
    let got = receiver.received()[0].clone();
    assert_eq!(got.path, "/hook");
    assert!(got.id.starts_with("evt_"), "{got:?}");
    assert!(
        verify(&secret, &got.id, &got.timestamp, &got.body, &got.signature),
        "signature {} does not verify",
        got.signature
    );
    let ts: i64 = got.timestamp.parse().unwrap();
    assert!((ts - app.clock.now().timestamp()).abs() < 60);
    let body = got.json();
    assert_eq!(body["type"], "organization.updated");
    assert!(body["timestamp"].is_string());
    assert_eq!(body["data"]["entityId"], org.id.as_str());
    assert_eq!(
        body["data"]["changes"]["name"],
        json!(["Acme", "Acme Renamed"])
    );
    // Only subscribed events: creating the webhook (webhook.created) sent nothing.
    assert_eq!(receiver.received().len(), 1);
    eventually("the attempt is logged", || async {
        !log(&app).await.is_empty()
    })
    .await;
    let res = app
        .get_as(
            &format!("/v1/organizations/{}/webhooks/{id}/deliveries", org.id),
            &org.token,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let item = &res.body["items"][0];
    assert_eq!(item["status"], "succeeded");
    assert_eq!(item["responseCode"], 200);
    assert_eq!(item["responseBody"], "thanks");
    assert_eq!(item["attempt"], 1);
    assert_eq!(item["eventId"], got.id.as_str());
}

async fn a_rolled_back_change_sends_nothing(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let org = organization(&app).await;
    webhook(
        &app,
        &org,
        "https://example.com/hook",
        json!(["organization.*"]),
    )
    .await;
    let before = webhook_rows(&app).await.len();
    // The event is written, then the audit row fails: the request rolls back.
    fail_inserts_into(&app.database, "audit_logs").await;
    let res = app
        .patch_as(
            &format!("/v1/organizations/{}", org.id),
            &org.token,
            &json!({"name": "Nope"}),
        )
        .await;
    assert_eq!(res.status, 500, "{}", res.text);
    assert_eq!(
        webhook_rows(&app).await.len(),
        before,
        "a rolled-back event was kept"
    );

    allow_writes(&app.database, "audit_logs").await;
    rename(&app, &org, "Yes").await;
    let rows = webhook_rows(&app).await;
    assert_eq!(rows.len(), before + 1);
    assert_eq!(rows.last().unwrap().payload["type"], "organization.updated");
}

async fn a_failing_receiver_is_retried_on_the_schedule_and_a_410_disables(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = spawn_app_with(backend, WORKER_ON).await;
    let org = organization(&app).await;
    let (id, _) = webhook(&app, &org, &receiver.url(), json!(["organization.updated"])).await;
    receiver.answer(500, &[], "boom");
    receiver.answer(503, &[("retry-after", "120")], "busy");
    receiver.answer(302, &[("location", "/elsewhere")], "");
    receiver.answer(410, &[], "gone");

    let start = app.clock.now();
    rename(&app, &org, "One").await;
    // 1st attempt: 500, retried 5 s (±10%) later.
    eventually("attempt 1", || async { log(&app).await.len() == 1 }).await;
    let row = webhook_rows(&app).await.pop().unwrap();
    let wait = row.next_attempt_at - start;
    assert!(
        wait >= TimeDelta::milliseconds(4_500)
            && wait <= TimeDelta::milliseconds(5_500) + (app.clock.now() - start),
        "{wait:?}"
    );
    assert_eq!(
        log(&app).await[0].error_class.as_deref(),
        Some("http_status")
    );
    assert!(get_webhook(&app, &org, &id).await["failingSince"].is_string());

    // 2nd: 503 with Retry-After: 120 s, longer than the schedule's 5 min? No:
    // the schedule's 300 s wins; Retry-After only lengthens a wait.
    app.clock.advance(TimeDelta::seconds(6));
    let t2 = app.clock.now();
    eventually("attempt 2", || async { log(&app).await.len() == 2 }).await;
    let row = webhook_rows(&app).await.pop().unwrap();
    let wait = row.next_attempt_at - t2;
    assert!(
        wait >= TimeDelta::seconds(270) && wait <= TimeDelta::seconds(331),
        "{wait:?}"
    );

    // 3rd: a redirect is a failure and is not followed.
    app.clock.advance(TimeDelta::seconds(331));
    eventually("attempt 3", || async { log(&app).await.len() == 3 }).await;
    assert_eq!(log(&app).await[2].error_class.as_deref(), Some("redirect"));
    assert!(
        receiver.received().iter().all(|r| r.path == "/hook"),
        "a redirect was followed"
    );

    // 4th: 410 disables the webhook (audited) and ends the retries.
    app.clock.advance(TimeDelta::seconds(1_981));
    eventually("attempt 4", || async { log(&app).await.len() == 4 }).await;
    let shown = get_webhook(&app, &org, &id).await;
    assert_eq!(shown["enabled"], false);
    assert_eq!(shown["disabledReason"], "gone");
    let row = webhook_rows(&app).await.pop().unwrap();
    assert!(row.failed_at.is_some(), "{row:?}");
    let ids: Vec<String> = receiver.received().iter().map(|r| r.id.clone()).collect();
    assert!(
        ids.iter().all(|i| i == &ids[0]),
        "webhook-id changed between attempts: {ids:?}"
    );
    let attempts: Vec<i32> = log(&app).await.iter().map(|d| d.attempt).collect();
    assert_eq!(attempts, [1, 2, 3, 4]);
    let audit = app
        .get_as(
            &format!(
                "/v1/organizations/{}/audit-logs?action=webhook.disabled",
                org.id
            ),
            &org.token,
        )
        .await;
    assert_eq!(
        audit.body["items"][0]["entityId"],
        id.as_str(),
        "{}",
        audit.text
    );
    assert_eq!(audit.body["items"][0]["actorType"], "system");
    // Disabled: new events are not written for it.
    rename(&app, &org, "Two").await;
    assert_eq!(webhook_rows(&app).await.len(), 1);
}

async fn retry_after_lengthens_the_wait(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = spawn_app_with(backend, WORKER_ON).await;
    let org = organization(&app).await;
    webhook(&app, &org, &receiver.url(), json!(["organization.updated"])).await;
    let at = (Utc::now() + TimeDelta::seconds(600))
        .to_rfc2822()
        .replace("+0000", "GMT");
    receiver.answer(429, &[("retry-after", &at)], "slow down");
    let start = app.clock.now();
    rename(&app, &org, "One").await;
    eventually("attempt 1", || async { log(&app).await.len() == 1 }).await;
    let row = webhook_rows(&app).await.pop().unwrap();
    let wait = row.next_attempt_at - start;
    assert!(
        wait >= TimeDelta::seconds(590) && wait <= TimeDelta::seconds(610),
        "{wait:?}"
    );
}

async fn a_webhook_failing_for_five_days_is_disabled_and_its_owners_told(backend: Backend) {
    let receiver = Receiver::start().await;
    receiver.always(500);
    let app = spawn_app_with(backend, WORKER_ON).await;
    let org = organization(&app).await;
    let (id, _) = webhook(&app, &org, &receiver.url(), json!(["organization.updated"])).await;
    rename(&app, &org, "One").await;
    eventually("the first failure", || async { log(&app).await.len() == 1 }).await;
    assert_eq!(get_webhook(&app, &org, &id).await["enabled"], true);

    app.clock
        .advance(TimeDelta::days(5) + TimeDelta::minutes(1));
    let attempts = log(&app).await.len();
    rename(&app, &org, "Two").await;
    eventually("the webhook is disabled", || async {
        get_webhook(&app, &org, &id).await["enabled"] == false
    })
    .await;
    assert!(log(&app).await.len() > attempts);
    assert_eq!(
        get_webhook(&app, &org, &id).await["disabledReason"],
        "failing"
    );
    let mail: Vec<Value> = outbox_messages::Entity::find()
        .filter(outbox_messages::Column::Kind.eq("email"))
        .all(app.database.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.payload)
        .filter(|p| p["template"] == "webhook_disabled")
        .collect();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0]["to"], "owner@example.com");
    assert_eq!(mail[0]["data"]["webhookId"], id.as_str());
    let rendered = infra::delivery::render(&mail[0]).unwrap();
    assert!(rendered.body.contains("5 days"), "{}", rendered.body);

    // Turned on again, it starts afresh.
    let res = app
        .patch_as(
            &format!("/v1/organizations/{}/webhooks/{id}", org.id),
            &org.token,
            &json!({"enabled": true}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["disabledReason"], Value::Null);
    assert_eq!(res.body["failingSince"], Value::Null);
}

async fn every_private_address_is_refused_at_save_and_at_delivery(backend: Backend) {
    let receiver = Receiver::start().await;
    let resolver = StaticResolver::default();
    let public: IpAddr = "93.184.216.34".parse().unwrap();
    resolver.set("internal.test", &["127.0.0.1".parse().unwrap()]);
    resolver.set("mixed.test", &[public, "10.1.2.3".parse().unwrap()]);
    resolver.set("public.test", &[public]);
    let mut settings = WORKER_ON.to_vec();
    settings.push(("APP__WEBHOOKS__ALLOW_PRIVATE_NETWORKS", "false"));
    let app = spawn_app_resolving(backend, &settings, Arc::new(resolver.clone())).await;
    let org = organization(&app).await;
    let path = format!("/v1/organizations/{}/webhooks", org.id);
    let port = receiver.port;

    for url in [
        format!("https://127.0.0.1:{port}/hook"),
        "https://10.0.0.5/hook".to_owned(),
        "https://172.16.0.1/hook".to_owned(),
        "https://192.168.1.10/hook".to_owned(),
        "https://169.254.169.254/latest/meta-data".to_owned(),
        "https://100.64.0.7/hook".to_owned(),
        "https://[::1]/hook".to_owned(),
        "https://[fd00::1]/hook".to_owned(),
        "https://[::ffff:127.0.0.1]/hook".to_owned(),
        "https://0.0.0.0/hook".to_owned(),
        format!("https://internal.test:{port}/hook"),
        "https://mixed.test/hook".to_owned(),
    ] {
        let res = app
            .post_as(
                &path,
                &org.token,
                &json!({"url": url, "events": ["organization.*"]}),
            )
            .await;
        assert_eq!(res.status, 422, "{url}: {}", res.text);
        assert_eq!(
            res.body["errors"][0]["code"], "WEBHOOK_URL_FORBIDDEN",
            "{url}"
        );
    }
    let res = app
        .post_as(
            &path,
            &org.token,
            &json!({"url": "http://public.test/hook", "events": ["organization.*"]}),
        )
        .await;
    assert_eq!(
        res.body["errors"][0]["code"], "HTTPS_REQUIRED",
        "{}",
        res.text
    );

    // Saved while the name resolved publicly; it now resolves to loopback.
    let (id, _) = webhook(
        &app,
        &org,
        &format!("https://public.test:{port}/hook"),
        json!(["organization.updated"]),
    )
    .await;
    let res = app
        .patch_as(
            &format!("{path}/{id}"),
            &org.token,
            &json!({"url": format!("https://internal.test:{port}/hook")}),
        )
        .await;
    assert_eq!(
        res.body["errors"][0]["code"], "WEBHOOK_URL_FORBIDDEN",
        "{}",
        res.text
    );
    resolver.set("public.test", &["127.0.0.1".parse().unwrap()]);
    rename(&app, &org, "Probe").await;

    eventually("the attempt is logged", || async {
        !log(&app).await.is_empty()
    })
    .await;
    let attempt = &log(&app).await[0];
    assert_eq!(attempt.error_class.as_deref(), Some("ssrf"), "{attempt:?}");
    assert_eq!(attempt.status, "failed");
    assert!(
        receiver.received().is_empty(),
        "the request reached the internal address"
    );
}

async fn a_rotated_secret_signs_beside_the_old_one_for_a_day(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = spawn_app_with(backend, WORKER_ON).await;
    let org = organization(&app).await;
    let (id, old) = webhook(&app, &org, &receiver.url(), json!(["organization.updated"])).await;
    let res = app
        .post_as(
            &format!("/v1/organizations/{}/webhooks/{id}/rotate-secret", org.id),
            &org.token,
            &json!({}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let new = res.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);

    rename(&app, &org, "One").await;
    eventually("the first event", || async {
        receiver.received().len() == 1
    })
    .await;
    let got = receiver.received()[0].clone();
    assert_eq!(got.signature.split(' ').count(), 2, "{}", got.signature);
    assert!(verify(
        &new,
        &got.id,
        &got.timestamp,
        &got.body,
        &got.signature
    ));
    assert!(verify(
        &old,
        &got.id,
        &got.timestamp,
        &got.body,
        &got.signature
    ));

    app.clock
        .advance(TimeDelta::hours(24) + TimeDelta::minutes(1));
    rename(&app, &org, "Two").await;
    eventually("the second event", || async {
        receiver.received().len() == 2
    })
    .await;
    let got = receiver.received()[1].clone();
    assert_eq!(got.signature.split(' ').count(), 1, "{}", got.signature);
    assert!(verify(
        &new,
        &got.id,
        &got.timestamp,
        &got.body,
        &got.signature
    ));
    assert!(!verify(
        &old,
        &got.id,
        &got.timestamp,
        &got.body,
        &got.signature
    ));
}

async fn the_log_filters_replays_and_test_pings(backend: Backend) {
    let receiver = Receiver::start().await;
    let app = spawn_app_with(backend, WORKER_ON).await;
    let org = organization(&app).await;
    let (id, secret) = webhook(&app, &org, &receiver.url(), json!(["organization.updated"])).await;
    let base = format!("/v1/organizations/{}/webhooks/{id}", org.id);
    receiver.answer(500, &[], "boom");
    rename(&app, &org, "One").await;
    eventually("the failure", || async { log(&app).await.len() == 1 }).await;

    let failed = app
        .get_as(&format!("{base}/deliveries?status=failed"), &org.token)
        .await;
    assert_eq!(failed.status, 200, "{}", failed.text);
    assert_eq!(failed.body["items"].as_array().unwrap().len(), 1);
    let dlv = failed.body["items"][0]["id"].as_str().unwrap().to_owned();
    assert!(dlv.starts_with("dlv_"));
    let none = app
        .get_as(&format!("{base}/deliveries?status=succeeded"), &org.token)
        .await;
    assert_eq!(none.body["items"], json!([]));
    let bad = app
        .get_as(&format!("{base}/deliveries?status=maybe"), &org.token)
        .await;
    assert_eq!(bad.status, 422);

    // Replay: one more attempt now, same event id, a new log row.
    let res = app
        .post_as(
            &format!("{base}/deliveries/{dlv}/replay"),
            &org.token,
            &json!({}),
        )
        .await;
    assert_eq!(res.status, 202, "{}", res.text);
    eventually("the replay", || async { receiver.received().len() == 2 }).await;
    let got = receiver.received();
    assert_eq!(got[1].id, got[0].id);
    assert!(verify(
        &secret,
        &got[1].id,
        &got[1].timestamp,
        &got[1].body,
        &got[1].signature
    ));
    eventually("the replay is logged", || async {
        log(&app).await.len() == 2
    })
    .await;
    let replayed = &log(&app).await[1];
    assert_eq!(replayed.status, "succeeded");
    assert_eq!(replayed.attempt, 2);
    // The retry the failure scheduled (5 s ±10%) still goes, numbered after
    // the replay: one event's attempts never share a number.
    receiver.answer(204, &[], "");
    app.clock.advance(TimeDelta::seconds(6));
    eventually("the scheduled retry", || async {
        receiver.received().len() == 3
    })
    .await;
    eventually("the retry is logged", || async {
        log(&app).await.len() == 3
    })
    .await;
    let attempts: Vec<i32> = log(&app).await.iter().map(|d| d.attempt).collect();
    assert_eq!(attempts, [1, 2, 3]);
    let unknown = app
        .post_as(
            &format!("{base}/deliveries/dlv_01JD6Z3Q9V7X2M4N8P0R5T1W3Y/replay"),
            &org.token,
            &json!({}),
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.code(), "DELIVERY_NOT_FOUND");

    // A test ping.
    let res = app
        .post_as(&format!("{base}/test"), &org.token, &json!({}))
        .await;
    assert_eq!(res.status, 202, "{}", res.text);
    eventually("the ping", || async { receiver.received().len() == 4 }).await;
    let ping = receiver.received()[3].json();
    assert_eq!(ping["type"], "webhook.test");
    assert_eq!(ping["data"]["webhookId"], id.as_str());
}

async fn old_log_rows_are_purged(backend: Backend) {
    let mut settings = WORKER_ON.to_vec();
    settings.push(("APP__WEBHOOKS__PURGE_INTERVAL_SECS", "1"));
    let app = spawn_app_with(backend, &settings).await;
    let org = organization(&app).await;
    let (id, _) = webhook(&app, &org, "https://example.com/hook", json!(["task.*"])).await;
    let now = app.clock.now();
    for (n, age) in [(1, TimeDelta::days(31)), (2, TimeDelta::days(29))] {
        webhook_deliveries::ActiveModel {
            id: Set(domain::DeliveryId::new().as_uuid()),
            webhook_id: Set(domain::WebhookId::parse(&id).unwrap().as_uuid()),
            organization_id: Set(domain::OrganizationId::parse(&org.id).unwrap().as_uuid()),
            event_id: Set(domain::EventId::new().as_uuid()),
            event_type: Set("task.failed".into()),
            attempt: Set(n),
            status: Set("failed".into()),
            response_code: Set(Some(500)),
            latency_ms: Set(3),
            response_body: Set(None),
            error_class: Set(Some("http_status".into())),
            error: Set(None),
            payload: Set(json!({})),
            created_at: Set(now - age),
            updated_at: Set(now - age),
        }
        .insert(app.database.conn())
        .await
        .unwrap();
    }
    eventually("the old row is purged", || async {
        log(&app).await.len() == 1
    })
    .await;
    assert_eq!(log(&app).await[0].attempt, 2, "the recent row stays");
    // Two more days: the other one goes too.
    app.clock.advance(TimeDelta::days(2));
    eventually("the second row is purged", || async {
        log(&app).await.is_empty()
    })
    .await;
}

async fn two_servers_deliver_each_event_exactly_once_and_an_abandoned_claim_is_taken_over(
    backend: Backend,
) {
    const EVENTS: usize = 30;
    let receiver = Receiver::start().await;
    let mut settings = WORKER_ON.to_vec();
    settings.push(("APP__WEBHOOKS__BATCH_SIZE", "4"));
    settings.push(("APP__WEBHOOKS__POLL_INTERVAL_MS", "10"));
    let first = spawn_app_with(backend, &settings).await;
    let second = spawn_app_on(&first.database_url(), &settings).await;
    let org = organization(&first).await;
    webhook(&first, &org, &receiver.url(), json!(["task.succeeded"])).await;
    let org_id = domain::OrganizationId::parse(&org.id).unwrap();

    // A "dead server": an event claimed in the transaction that writes it (so
    // no live worker sees it unclaimed), never finished.
    let now = first.clock.now();
    let uow = first.database.begin().await.unwrap();
    let orphan = infra::repositories::emit_event(
        uow.conn(),
        now,
        org_id,
        "task.succeeded",
        json!({"n": "orphan"}),
    )
    .await
    .unwrap()
    .unwrap();
    let claimed = infra::repositories::OutboxRepository::at(uow.conn(), now)
        .claim_due(
            domain::OutboxKind::Webhook,
            10,
            now + TimeDelta::seconds(60),
        )
        .await
        .unwrap();
    uow.commit().await.unwrap();
    assert_eq!(claimed.len(), 1);

    // Every other event at once, so both servers compete for them.
    let uow = first.database.begin().await.unwrap();
    for n in 0..EVENTS {
        infra::repositories::emit_event(uow.conn(), now, org_id, "task.succeeded", json!({"n": n}))
            .await
            .unwrap();
    }
    uow.commit().await.unwrap();

    eventually("every event is delivered", || async {
        receiver.received().len() >= EVENTS
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut ids: Vec<String> = receiver.received().iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), EVENTS, "some event was sent twice");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), EVENTS);
    assert!(
        !ids.contains(&orphan.to_string()),
        "delivered while still claimed"
    );

    // The lease runs out on both servers' clocks: the event is delivered.
    first.clock.advance(TimeDelta::seconds(61));
    second.clock.advance(TimeDelta::seconds(61));
    eventually("the orphan is delivered", || async {
        receiver
            .received()
            .iter()
            .any(|r| r.id == orphan.to_string())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.received().len(), EVENTS + 1);
    let row = webhook_rows(&first)
        .await
        .into_iter()
        .find(|r| r.payload["eventId"] == orphan.to_string())
        .unwrap();
    assert_eq!(row.attempts, 2, "claimed again after the lease ran out");
    assert!(row.processed_at.is_some());
    drop(second);
}

async fn webhooks_are_validated_listed_changed_and_deleted(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let org = organization(&app).await;
    let path = format!("/v1/organizations/{}/webhooks", org.id);
    let res = app
        .post_as(
            &path,
            &org.token,
            &json!({"url": "ftp://x", "events": ["org.updated", "task.*", "task.*"]}),
        )
        .await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert_eq!(res.error_fields(), ["url", "events"]);
    let res = app
        .post_as(
            &path,
            &org.token,
            &json!({"url": "https://example.com/a", "events": []}),
        )
        .await;
    assert_eq!(res.body["errors"][0]["code"], "REQUIRED", "{}", res.text);
    let res = app
        .post_as(
            &path,
            &org.token,
            &json!({"url": "https://example.com/a", "events": ["task.*", "task.*"]}),
        )
        .await;
    assert_eq!(
        res.body["errors"][0]["code"], "DUPLICATE_EVENT",
        "{}",
        res.text
    );

    let (a, _) = webhook(&app, &org, "https://example.com/a", json!(["member.*"])).await;
    let (b, _) = webhook(
        &app,
        &org,
        "https://example.com/b",
        json!(["task.failed", "webhook.test"]),
    )
    .await;
    let list = app.get_as(&format!("{path}?pageSize=1"), &org.token).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["items"][0]["id"], b.as_str());
    let next = list.body["nextCursor"].as_str().unwrap();
    let rest = app
        .get_as(&format!("{path}?pageSize=1&cursor={next}"), &org.token)
        .await;
    assert_eq!(rest.body["items"][0]["id"], a.as_str(), "{}", rest.text);
    assert!(!list.text.contains("whsec_"), "{}", list.text);

    let res = app
        .patch_as(
            &format!("{path}/{a}"),
            &org.token,
            &json!({"events": ["organization.updated"], "description": "CRM", "enabled": false}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["events"], json!(["organization.updated"]));
    assert_eq!(res.body["description"], "CRM");
    assert_eq!(res.body["enabled"], false);
    let res = app
        .patch_as(&format!("{path}/{a}"), &org.token, &json!({"url": null}))
        .await;
    assert_eq!(res.status, 422);

    // A disabled webhook gets no events; an enabled one that filters them out neither.
    let before = webhook_rows(&app).await.len();
    rename(&app, &org, "Quiet").await;
    assert_eq!(webhook_rows(&app).await.len(), before);

    let member = app.create_user("member@example.com").await;
    app.add_member(&org.id, &member.user_id, domain::MemberRole::Member)
        .await;
    let res = app.get_as(&path, &member.token).await;
    assert_eq!(res.status, 403);

    assert_eq!(
        app.delete_as(&format!("{path}/{a}"), &org.token)
            .await
            .status,
        204
    );
    let gone = app.get_as(&format!("{path}/{a}"), &org.token).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.code(), "WEBHOOK_NOT_FOUND");
    let audit = app
        .get_as(
            &format!("/v1/organizations/{}/audit-logs?entityType=webhook", org.id),
            &org.token,
        )
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "webhook.deleted",
            "webhook.updated",
            "webhook.created",
            "webhook.created"
        ]
    );
}

async fn a_finished_task_becomes_an_event(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let org = organization(&app).await;
    webhook(&app, &org, "https://example.com/t", json!(["task.*"])).await;
    let jobs = format!("/v1/organizations/{}/jobs", org.id);
    let job = app
        .post_as(
            &jobs,
            &org.token,
            &json!({"name": "j", "definition": "d", "status": "active"}),
        )
        .await;
    assert_eq!(job.status, 201, "{}", job.text);
    let job = job.body["id"].as_str().unwrap().to_owned();
    let claimed = app
        .post_as(
            &format!("{jobs}/claim"),
            &org.token,
            &json!({"worker": "w"}),
        )
        .await;
    let lease = claimed.body["items"][0]["lease"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let done = app
        .post_as(
            &format!("{jobs}/{job}/complete"),
            &org.token,
            &json!({"leaseToken": lease, "outcome": "failed", "error": "broke"}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    let rows = webhook_rows(&app).await;
    let task = rows
        .iter()
        .find(|r| r.payload["type"] == "task.failed")
        .unwrap_or_else(|| panic!("no task.failed event in {rows:?}"));
    assert_eq!(task.payload["data"]["jobId"], job.as_str());
    assert_eq!(task.payload["data"]["error"], "broke");
}

/// Creates a job, claims it and completes it `succeeded`; the job's id. In
/// between, checks what the completion's locking statement reads of the
/// organization's webhooks: whether it has an enabled one.
async fn run_one_job(app: &TestApp, org: &Org, any_webhook: bool) -> String {
    let jobs = format!("/v1/organizations/{}/jobs", org.id);
    let job = app
        .post_as(
            &jobs,
            &org.token,
            &json!({"name": "j", "definition": "d", "status": "active"}),
        )
        .await;
    assert_eq!(job.status, 201, "{}", job.text);
    let job = job.body["id"].as_str().unwrap().to_owned();
    let claimed = app
        .post_as(
            &format!("{jobs}/claim"),
            &org.token,
            &json!({"worker": "w"}),
        )
        .await;
    assert_eq!(
        claimed.body["items"][0]["job"]["id"],
        job.as_str(),
        "{}",
        claimed.text
    );
    let lease = claimed.body["items"][0]["lease"]["token"].as_str().unwrap();
    let leased = infra::repositories::JobRepository::at(app.database.conn(), app.clock.now())
        .find_leased(
            domain::OrganizationId::parse(&org.id).unwrap(),
            domain::JobId::parse(&job).unwrap(),
            domain::jobs::LeaseToken::parse(lease).unwrap(),
        )
        .await
        .unwrap()
        .expect("the job under its lease");
    assert_eq!(leased.any_webhook, any_webhook, "any enabled webhook");
    let done = app
        .post_as(
            &format!("{jobs}/{job}/complete"),
            &org.token,
            &json!({"leaseToken": lease, "outcome": "succeeded"}),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text);
    job
}

async fn task_rows(app: &TestApp) -> Vec<outbox_messages::Model> {
    let mut rows = webhook_rows(app).await;
    rows.retain(|r| {
        r.payload["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("task."))
    });
    rows
}

async fn a_completion_reaches_only_its_organization_s_enabled_webhooks(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let org = organization(&app).await;
    // Another organization's enabled webhook must not count as this one's.
    let other_owner = app.create_user("other@example.com").await;
    let other = Org {
        id: app.create_organization(&other_owner.token, "Other").await,
        token: other_owner.token,
    };
    webhook(&app, &other, "https://example.com/other", json!(["task.*"])).await;
    let (disabled, _) = webhook(&app, &org, "https://example.com/off", json!(["task.*"])).await;
    let res = app
        .patch_as(
            &format!("/v1/organizations/{}/webhooks/{disabled}", org.id),
            &org.token,
            &json!({"enabled": false}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);

    run_one_job(&app, &org, false).await;
    let rows = task_rows(&app).await;
    assert!(rows.is_empty(), "only a disabled webhook, yet {rows:?}");

    let (enabled, _) = webhook(
        &app,
        &org,
        "https://example.com/on",
        json!(["task.succeeded"]),
    )
    .await;
    let job = run_one_job(&app, &org, true).await;
    let rows = task_rows(&app).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].payload["webhookId"], enabled.as_str());
    assert_eq!(rows[0].payload["type"], "task.succeeded");
    assert_eq!(rows[0].payload["data"]["jobId"], job.as_str());
    assert_eq!(rows[0].payload["data"]["status"], "succeeded");
}

async fn a_run_whose_lease_ran_out_becomes_a_task_failed_event(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let org = organization(&app).await;
    webhook(&app, &org, "https://example.com/t", json!(["task.failed"])).await;
    let jobs = format!("/v1/organizations/{}/jobs", org.id);
    let job = app
        .post_as(
            &jobs,
            &org.token,
            &json!({"name": "j", "definition": "d", "status": "active"}),
        )
        .await;
    let job = job.body["id"].as_str().unwrap().to_owned();
    let claimed = app
        .post_as(
            &format!("{jobs}/claim"),
            &org.token,
            &json!({"worker": "w", "leaseSeconds": 5}),
        )
        .await;
    assert_eq!(claimed.status, 200, "{}", claimed.text);
    app.clock.advance(TimeDelta::seconds(10));
    let ctx = app::Context::system(app.clock.now());
    assert_eq!(
        app::runs::reap_expired(&app.database, &ctx, 100)
            .await
            .unwrap(),
        1
    );
    let rows = webhook_rows(&app).await;
    let event = rows
        .iter()
        .find(|r| r.payload["type"] == "task.failed")
        .unwrap_or_else(|| panic!("no task.failed event in {rows:?}"));
    assert_eq!(event.payload["data"]["jobId"], job.as_str());
    assert_eq!(event.payload["data"]["error"], "lease expired");
}

/// One change reaches every matching webhook with one event (one outbox row
/// each, the same event id) and no other webhook.
async fn one_change_is_queued_once_for_each_matching_webhook(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let org = organization(&app).await;
    let (exact, _) = webhook(
        &app,
        &org,
        "https://example.com/exact",
        json!(["organization.updated"]),
    )
    .await;
    let (wildcard, _) = webhook(
        &app,
        &org,
        "https://example.com/wildcard",
        json!(["organization.*"]),
    )
    .await;
    webhook(&app, &org, "https://example.com/jobs", json!(["job.*"])).await;

    rename(&app, &org, "Renamed").await;

    let rows = webhook_rows(&app).await;
    let mut reached: Vec<&str> = rows
        .iter()
        .map(|r| r.payload["webhookId"].as_str().unwrap())
        .collect();
    reached.sort_unstable();
    let mut expected = vec![exact.as_str(), wildcard.as_str()];
    expected.sort_unstable();
    assert_eq!(reached, expected, "{rows:?}");
    assert_eq!(rows[0].payload["eventId"], rows[1].payload["eventId"]);
    assert!(
        rows.iter()
            .all(|r| r.payload["type"] == "organization.updated")
    );
}

on_both_databases!(
    one_change_is_queued_once_for_each_matching_webhook,
    a_completion_reaches_only_its_organization_s_enabled_webhooks,
    a_run_whose_lease_ran_out_becomes_a_task_failed_event,
    a_renamed_organization_reaches_its_webhook_signed_per_the_specification,
    a_rolled_back_change_sends_nothing,
    a_failing_receiver_is_retried_on_the_schedule_and_a_410_disables,
    retry_after_lengthens_the_wait,
    a_webhook_failing_for_five_days_is_disabled_and_its_owners_told,
    every_private_address_is_refused_at_save_and_at_delivery,
    a_rotated_secret_signs_beside_the_old_one_for_a_day,
    the_log_filters_replays_and_test_pings,
    old_log_rows_are_purged,
    two_servers_deliver_each_event_exactly_once_and_an_abandoned_claim_is_taken_over,
    webhooks_are_validated_listed_changed_and_deleted,
    a_finished_task_becomes_an_event,
);
