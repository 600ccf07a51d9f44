//! The outbox delivery worker: SMTP to a fake relay, retries with backoff, leases
//! that outlive a dead worker, several workers, and the worker switched off.
//!
//! Time-dependent behaviour (backoff, leases) moves the application's clock; the
//! worker's effect is awaited by polling the database with a deadline.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::Application;
use chrono::{DateTime, TimeDelta, Utc};
use domain::{Clock, Email, OutboxMessageId, ShiftedClock};
use groundwork_tests::app::{TestApp, spawn_app_on, spawn_app_with, test_settings};
use groundwork_tests::{Backend, TestDb, on_both_databases};
use infra::Database;
use infra::entities::outbox_messages;
use infra::repositories::{EmailTemplate, OutboxRepository};
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

// ---------------------------------------------------------------------------
// A fake SMTP relay: enough of RFC 5321 for lettre, recording what it accepts.

/// What the relay accepted: one entry per message.
#[derive(Clone, Debug)]
struct Received {
    to: Vec<String>,
    data: String,
}

#[derive(Debug, Default)]
struct Relay {
    received: Mutex<Vec<Received>>,
    /// The reply to the end of DATA; `None` accepts with 250.
    data_reply: Mutex<Option<&'static str>>,
    connections: AtomicUsize,
}

struct FakeSmtp {
    port: u16,
    relay: Arc<Relay>,
}

impl FakeSmtp {
    async fn start() -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let relay = Arc::new(Relay::default());
        let shared = relay.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(session(stream, shared.clone()));
            }
        });
        FakeSmtp { port, relay }
    }

    /// Answers the end of every DATA with `reply` (e.g. `451 4.3.0 busy`).
    fn fail_with(&self, reply: &'static str) {
        *self.relay.data_reply.lock().unwrap() = Some(reply);
    }

    fn recover(&self) {
        *self.relay.data_reply.lock().unwrap() = None;
    }

    fn received(&self) -> Vec<Received> {
        self.relay.received.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        self.relay.connections.load(Ordering::SeqCst)
    }

    /// The settings that send through this relay with the worker on, polling often.
    fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("APP__OUTBOX__WORKER", "true".to_owned()),
            ("APP__OUTBOX__POLL_INTERVAL_MS", "20".to_owned()),
            ("APP__SMTP__HOST", "127.0.0.1".to_owned()),
            ("APP__SMTP__PORT", self.port.to_string()),
            ("APP__SMTP__TLS", "none".to_owned()),
            (
                "APP__SMTP__FROM",
                "Groundwork <no-reply@groundwork.test>".to_owned(),
            ),
        ]
    }
}

async fn session(stream: TcpStream, relay: Arc<Relay>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut reply = async |text: &str| {
        let _ = write.write_all(format!("{text}\r\n").as_bytes()).await;
    };
    reply("220 fake.test ESMTP").await;
    let mut to = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => reply("250 fake.test").await,
            "MAIL" => {
                to.clear();
                reply("250 2.1.0 OK").await;
            }
            "RCPT" => {
                let address = line.split(['<', '>']).nth(1).unwrap_or_default();
                to.push(address.to_owned());
                reply("250 2.1.5 OK").await;
            }
            "DATA" => {
                reply("354 end with <CRLF>.<CRLF>").await;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push('\n');
                }
                let failure = *relay.data_reply.lock().unwrap();
                match failure {
                    Some(failure) => reply(failure).await,
                    None => {
                        relay.received.lock().unwrap().push(Received {
                            to: std::mem::take(&mut to),
                            data,
                        });
                        reply("250 2.0.0 queued").await;
                    }
                }
            }
            "RSET" | "NOOP" => reply("250 OK").await,
            "QUIT" => {
                reply("221 2.0.0 bye").await;
                break;
            }
            _ => reply("502 5.5.2 not implemented").await,
        }
    }
}

// ---------------------------------------------------------------------------
// Helpers.

async fn spawn_with(backend: Backend, settings: &[(&'static str, String)]) -> TestApp {
    let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_app_with(backend, &pairs).await
}

/// Every outbox row, oldest first.
async fn rows(app: &TestApp) -> Vec<outbox_messages::Model> {
    outbox_messages::Entity::find()
        .order_by_asc(outbox_messages::Column::CreatedAt)
        .order_by_asc(outbox_messages::Column::Id)
        .all(app.database.conn())
        .await
        .unwrap()
}

async fn row(app: &TestApp, id: OutboxMessageId) -> outbox_messages::Model {
    outbox_messages::Entity::find_by_id(id.as_uuid())
        .one(app.database.conn())
        .await
        .unwrap()
        .expect("the outbox row")
}

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

/// Waits until the message's row satisfies `done`, and returns it.
async fn wait_for_row(
    app: &TestApp,
    id: OutboxMessageId,
    what: &str,
    done: impl Fn(&outbox_messages::Model) -> bool,
) -> outbox_messages::Model {
    eventually(&format!("{id} {what}"), || async {
        done(&row(app, id).await)
    })
    .await;
    row(app, id).await
}

async fn wait_until_delivered(app: &TestApp, id: OutboxMessageId) -> outbox_messages::Model {
    wait_for_row(app, id, "is delivered", |m| m.processed_at.is_some()).await
}

async fn enqueue(app: &TestApp, to: &str) -> OutboxMessageId {
    OutboxRepository::at(app.database.conn(), app.clock.now())
        .enqueue_email(
            &Email::parse(to).unwrap(),
            EmailTemplate::PasswordReset,
            json!({"token": format!("token-for-{to}")}),
        )
        .await
        .unwrap()
}

fn header<'a>(data: &'a str, name: &str) -> Option<&'a str> {
    data.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
}

/// The token of a rendered email: its line indented by four spaces.
fn token_in(data: &str) -> Option<&str> {
    data.lines().find_map(|l| {
        l.strip_prefix("    ")
            .filter(|t| t.len() >= 20 && !t.contains(char::is_whitespace))
    })
}

/// Whether `at` lies `wait` after some instant from `from` to `to`.
fn waits(at: DateTime<Utc>, wait: TimeDelta, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
    from + wait <= at && at <= to + wait
}

// ---------------------------------------------------------------------------
// Tests.

async fn a_sign_up_email_is_delivered_through_smtp_and_marked_processed(backend: Backend) {
    let smtp = FakeSmtp::start().await;
    let app = spawn_with(backend, &smtp.settings()).await;

    app.sign_up("ada@example.com").await;

    let queued = rows(&app).await;
    assert_eq!(queued.len(), 1);
    let id = OutboxMessageId::from(queued[0].id);
    let delivered = wait_until_delivered(&app, id).await;
    assert_eq!(delivered.attempts, 1);
    assert_eq!(delivered.last_error, None);
    let received = smtp.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let mail = &received[0];
    assert_eq!(mail.to, ["ada@example.com"]);
    assert_eq!(
        header(&mail.data, "Subject"),
        Some("Confirm your email address")
    );
    assert_eq!(
        header(&mail.data, "From"),
        Some("Groundwork <no-reply@groundwork.test>")
    );
    assert_eq!(
        header(&mail.data, "Message-ID"),
        Some(format!("<{id}@groundwork.test>").as_str()),
        "a resent copy must be recognisable as the same message"
    );
    // The mail carries the live token (the outbox no longer does: see
    // a_delivered_emails_token_is_cleared_from_the_outbox): it verifies the address.
    let token = token_in(&mail.data).unwrap_or_else(|| panic!("no token in {}", mail.data));
    let verified = app
        .post_json("/v1/auth/verify-email", &json!({"token": token}))
        .await;
    assert_eq!(verified.status, 204, "{}", verified.text);
    assert!(mail.data.contains("Hello Test,"), "{}", mail.data);
}

async fn a_failing_relay_is_retried_after_the_backoff_until_it_recovers(backend: Backend) {
    let smtp = FakeSmtp::start().await;
    smtp.fail_with("451 4.3.0 try again later");
    let mut settings = smtp.settings();
    settings.push(("APP__OUTBOX__BACKOFF_BASE_SECS", "60".to_owned()));
    settings.push(("APP__OUTBOX__BACKOFF_MAX_SECS", "600".to_owned()));
    let app = spawn_with(backend, &settings).await;

    let before = app.clock.now();
    let id = enqueue(&app, "ada@example.com").await;

    // First attempt: refused; retried 60 s later.
    let first = wait_for_row(&app, id, "has failed once", |m| {
        m.attempts == 1 && m.last_error.is_some()
    })
    .await;
    let after = app.clock.now();
    assert_eq!(first.processed_at, None);
    let error = first.last_error.clone().unwrap_or_default();
    assert!(error.contains("451"), "{error}");
    let backoff = TimeDelta::seconds(60);
    assert!(
        waits(first.next_attempt_at, backoff, before, after),
        "{first:?}"
    );

    // Due again once the clock passes the backoff: refused again (another
    // transient 4xx; a 5xx is permanent), now for 120 s.
    smtp.fail_with("452 4.3.1 insufficient system storage");
    app.clock.advance(TimeDelta::seconds(61));
    let before = app.clock.now();
    let second = wait_for_row(&app, id, "has failed twice", |m| {
        m.attempts == 2 && m.last_error.as_deref().is_some_and(|e| e.contains("452"))
    })
    .await;
    let after = app.clock.now();
    assert_eq!(second.processed_at, None);
    assert!(
        waits(second.next_attempt_at, backoff * 2, before, after),
        "the backoff doubles: {second:?}"
    );

    // The relay recovers; the next attempt delivers.
    smtp.recover();
    app.clock.advance(TimeDelta::seconds(121));
    let delivered = wait_until_delivered(&app, id).await;
    assert_eq!(delivered.attempts, 3);
    assert_eq!(smtp.received().len(), 1);
    assert_eq!(smtp.received()[0].to, ["ada@example.com"]);
}

async fn a_claim_whose_worker_died_is_delivered_after_its_lease(backend: Backend) {
    let smtp = FakeSmtp::start().await;
    let mut settings = smtp.settings();
    settings.push(("APP__OUTBOX__LEASE_SECS", "60".to_owned()));
    let app = spawn_with(backend, &settings).await;
    // A "dead worker": the message is claimed in the transaction that writes it
    // (so the live worker never sees it unclaimed), and never finished.
    let now = app.clock.now();
    let uow = app.database.begin().await.unwrap();
    let outbox = OutboxRepository::at(uow.conn(), now);
    let orphan = outbox
        .enqueue_email(
            &Email::parse("orphan@example.com").unwrap(),
            EmailTemplate::PasswordReset,
            json!({"token": "orphan-token"}),
        )
        .await
        .unwrap();
    let claimed = outbox
        .claim_due_emails(10, now + TimeDelta::seconds(60))
        .await
        .unwrap();
    uow.commit().await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].attempts, 1);

    // A later message is delivered: the worker has looked, and passed the claim by.
    let later = enqueue(&app, "later@example.com").await;
    wait_until_delivered(&app, later).await;
    let waiting = row(&app, orphan).await;
    assert_eq!(waiting.processed_at, None, "delivered while still claimed");
    assert_eq!(waiting.attempts, 1);
    assert_eq!(smtp.received().len(), 1);

    app.clock.advance(TimeDelta::seconds(61));

    let delivered = wait_until_delivered(&app, orphan).await;
    assert_eq!(
        delivered.attempts, 2,
        "claimed again after the lease ran out"
    );
    let received: Vec<String> = smtp.received().iter().map(|r| r.to.join(",")).collect();
    assert_eq!(received, ["later@example.com", "orphan@example.com"]);
}

async fn two_workers_deliver_each_message_exactly_once(backend: Backend) {
    const MESSAGES: usize = 40;
    let smtp = FakeSmtp::start().await;
    let mut settings = smtp.settings();
    settings.push(("APP__OUTBOX__BATCH_SIZE", "4".to_owned()));
    settings.push(("APP__OUTBOX__POLL_INTERVAL_MS", "10".to_owned()));
    let first = spawn_with(backend, &settings).await;
    let pairs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let second = spawn_app_on(&first.database_url(), &pairs).await;
    // Every message appears at once, so both workers compete for them.
    let now = first.clock.now();
    let uow = first.database.begin().await.unwrap();
    let outbox = OutboxRepository::at(uow.conn(), now);
    for i in 0..MESSAGES {
        outbox
            .enqueue_email(
                &Email::parse(&format!("user{i}@example.com")).unwrap(),
                EmailTemplate::PasswordReset,
                json!({"token": format!("token-{i}")}),
            )
            .await
            .unwrap();
    }
    uow.commit().await.unwrap();

    eventually("every message is delivered", || async {
        rows(&first).await.iter().all(|m| m.processed_at.is_some())
    })
    .await;

    let mut recipients: Vec<String> = smtp.received().iter().map(|r| r.to.join(",")).collect();
    recipients.sort();
    let mut expected: Vec<String> = (0..MESSAGES)
        .map(|i| format!("user{i}@example.com"))
        .collect();
    expected.sort();
    assert_eq!(recipients, expected, "each message sent exactly once");
    assert!(rows(&first).await.iter().all(|m| m.attempts == 1));
    drop(second);
}

async fn with_the_worker_off_nothing_is_delivered(backend: Backend) {
    let smtp = FakeSmtp::start().await;
    let mut settings = smtp.settings();
    settings.retain(|(k, _)| *k != "APP__OUTBOX__WORKER");
    let app = spawn_with(backend, &settings).await;
    assert!(!test_settings(&app.database_url(), &[]).outbox.worker);

    app.sign_up("ada@example.com").await;

    // Absence can only be observed over time: 25 poll intervals of a worker
    // that would be running with these settings.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let queued = rows(&app).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].attempts, 0);
    assert_eq!(queued[0].processed_at, None);
    assert_eq!(smtp.connections(), 0);
}

async fn without_a_relay_emails_are_logged_and_marked_delivered(backend: Backend) {
    let app = spawn_with(
        backend,
        &[
            ("APP__OUTBOX__WORKER", "true".to_owned()),
            ("APP__OUTBOX__POLL_INTERVAL_MS", "20".to_owned()),
        ],
    )
    .await;

    let id = enqueue(&app, "ada@example.com").await;

    let delivered = wait_until_delivered(&app, id).await;
    assert_eq!(delivered.attempts, 1);
    assert_eq!(delivered.last_error, None);
}

async fn an_email_that_cannot_be_rendered_waits_with_its_error(backend: Backend) {
    let smtp = FakeSmtp::start().await;
    let app = spawn_with(backend, &smtp.settings()).await;
    let now = app.clock.now();
    let id = OutboxMessageId::new();
    outbox_messages::ActiveModel {
        id: Set(id.as_uuid()),
        kind: Set("email".to_owned()),
        payload: Set(json!({"to": "ada@example.com", "template": "newsletter", "data": {}})),
        attempts: Set(0),
        last_error: Set(None),
        next_attempt_at: Set(now),
        processed_at: Set(None),
        failed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(app.database.conn())
    .await
    .unwrap();

    let failed = wait_for_row(&app, id, "has failed", |m| m.last_error.is_some()).await;

    assert_eq!(failed.processed_at, None);
    assert_eq!(failed.attempts, 1);
    let error = failed.last_error.unwrap_or_default();
    assert!(
        error.contains("unknown email template `newsletter`"),
        "{error}"
    );
    assert_eq!(smtp.connections(), 0);
}

async fn the_outbox_command_shows_the_latest_messages_with_their_state(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let delivered = enqueue(&app, "delivered@example.com").await;
    let now = app.clock.now();
    OutboxRepository::at(app.database.conn(), now)
        .mark_delivered(delivered)
        .await
        .unwrap();
    app.clock.advance(TimeDelta::seconds(1));
    let failing = enqueue(&app, "failing@example.com").await;
    let now = app.clock.now();
    let claimed = OutboxRepository::at(app.database.conn(), now)
        .claim_due_emails(10, now + TimeDelta::seconds(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    OutboxRepository::at(app.database.conn(), now)
        .mark_failed(failing, 1, "451 busy", now + TimeDelta::seconds(30))
        .await
        .unwrap();
    app.clock.advance(TimeDelta::seconds(1));
    enqueue(&app, "pending@example.com").await;
    let settings = test_settings(&app.database_url(), &[]);

    let parse = |lines: Vec<String>| -> Vec<Value> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let all = parse(api::commands::recent_outbox(&settings, 10).await.unwrap());
    let newest = parse(api::commands::recent_outbox(&settings, 2).await.unwrap());
    let pending = parse(api::commands::pending_outbox(&settings, 10).await.unwrap());

    let summary = |messages: &[Value]| -> Vec<(String, String)> {
        messages
            .iter()
            .map(|m| {
                (
                    m["payload"]["to"].as_str().unwrap().to_owned(),
                    m["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let pair = |to: &str, state: &str| (to.to_owned(), state.to_owned());
    assert_eq!(
        summary(&all),
        [
            pair("delivered@example.com", "delivered"),
            pair("failing@example.com", "retrying"),
            pair("pending@example.com", "pending"),
        ]
    );
    assert!(all[0]["processedAt"].is_string());
    assert_eq!(
        all[0]["payload"]["data"],
        json!({}),
        "a delivered email's token is cleared"
    );
    assert!(
        all[0]["nextAttemptAt"].is_null(),
        "a delivered message is not due"
    );
    assert_eq!(all[1]["attempts"], 1);
    assert_eq!(all[1]["lastError"], "451 busy");
    assert_eq!(
        all[2]["payload"]["data"]["token"],
        "token-for-pending@example.com"
    );
    assert_eq!(
        summary(&newest),
        [
            pair("failing@example.com", "retrying"),
            pair("pending@example.com", "pending"),
        ],
        "the newest messages, newest last"
    );
    assert_eq!(
        summary(&pending),
        [
            pair("failing@example.com", "retrying"),
            pair("pending@example.com", "pending"),
        ]
    );
}

async fn the_server_and_its_worker_stop_together(backend: Backend) {
    let smtp = FakeSmtp::start().await;
    let db = TestDb::migrated(backend).await;
    let overrides = smtp.settings();
    let pairs: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let settings = test_settings(db.url(), &pairs);
    let database = Database::connect(&settings.database).await.unwrap();
    let clock = Arc::new(ShiftedClock::default());
    let app = Application::with_clock(&settings, database.clone(), clock.clone()).unwrap();
    let handle = app.handle();
    let running = actix_web::rt::spawn(app.run_until_stopped());
    let id = OutboxRepository::at(database.conn(), clock.now())
        .enqueue_email(
            &Email::parse("ada@example.com").unwrap(),
            EmailTemplate::PasswordReset,
            json!({"token": "t"}),
        )
        .await
        .unwrap();
    eventually("the email is delivered", || async {
        outbox_messages::Entity::find_by_id(id.as_uuid())
            .one(database.conn())
            .await
            .unwrap()
            .is_some_and(|m| m.processed_at.is_some())
    })
    .await;

    handle.stop(true).await;
    let stopped = tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the worker kept the application from stopping");

    stopped.unwrap().unwrap();
    assert!(database.ping().await.is_err(), "the pool is closed last");
}

async fn a_delivered_emails_token_is_cleared_from_the_outbox(backend: Backend) {
    // Arrange
    let smtp = FakeSmtp::start().await;
    let app = spawn_with(backend, &smtp.settings()).await;

    // Act
    let id = enqueue(&app, "ada@example.com").await;
    let delivered = wait_until_delivered(&app, id).await;

    // Assert: sent with its token, kept without it.
    let received = smtp.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        token_in(&received[0].data),
        Some("token-for-ada@example.com")
    );
    assert_eq!(
        delivered.payload,
        json!({"to": "ada@example.com", "template": "password_reset", "data": {}})
    );
    let settings = test_settings(&app.database_url(), &[]);
    let printed = api::commands::recent_outbox(&settings, 10).await.unwrap();
    assert!(
        !printed[0].contains("token-for-ada"),
        "api outbox shows no cleared token: {}",
        printed[0]
    );
}

async fn a_permanent_refusal_marks_the_email_failed_until_it_is_retried(backend: Backend) {
    // Arrange
    let smtp = FakeSmtp::start().await;
    smtp.fail_with("550 5.1.1 no such mailbox");
    let app = spawn_with(backend, &smtp.settings()).await;
    let id = enqueue(&app, "gone@example.com").await;

    // Act: refused with a 5xx, it is marked failed at once.
    let failed = wait_for_row(&app, id, "has failed for good", |m| m.failed_at.is_some()).await;

    // Assert
    assert_eq!(failed.attempts, 1);
    assert_eq!(failed.processed_at, None);
    let error = failed.last_error.clone().unwrap_or_default();
    assert!(error.contains("550"), "{error}");
    assert_eq!(
        failed.payload["data"]["token"], "token-for-gone@example.com",
        "kept whole, for a retry"
    );
    // Not tried again however long it waits: a day later, with the relay well,
    // a new email goes out (so the worker has looked) and the failed one stays.
    smtp.recover();
    app.clock.advance(TimeDelta::days(1));
    let later = enqueue(&app, "later@example.com").await;
    wait_until_delivered(&app, later).await;
    let still = row(&app, id).await;
    assert_eq!(still.attempts, 1, "a failed email is not retried by itself");
    assert!(still.failed_at.is_some());
    let settings = test_settings(&app.database_url(), &[]);
    let listed = api::commands::failed_outbox(&settings, 10).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let listed: Value = serde_json::from_str(&listed[0]).unwrap();
    assert_eq!(listed["id"], id.to_string());
    assert_eq!(listed["state"], "failed");

    // An operator retries it: it is delivered, with a fresh count of attempts.
    api::commands::retry_outbox(&settings, &id.to_string())
        .await
        .unwrap();
    let delivered = wait_until_delivered(&app, id).await;
    assert_eq!(delivered.attempts, 1);
    assert_eq!(delivered.failed_at, None);
    let recipients: Vec<String> = smtp.received().iter().map(|r| r.to.join(",")).collect();
    assert_eq!(recipients, ["later@example.com", "gone@example.com"]);
}

async fn an_email_failing_max_attempts_times_is_marked_failed(backend: Backend) {
    // Arrange
    let smtp = FakeSmtp::start().await;
    smtp.fail_with("451 4.3.0 try again later");
    let mut settings = smtp.settings();
    settings.push(("APP__OUTBOX__BACKOFF_BASE_SECS", "60".to_owned()));
    settings.push(("APP__OUTBOX__MAX_ATTEMPTS", "2".to_owned()));
    let app = spawn_with(backend, &settings).await;
    let id = enqueue(&app, "ada@example.com").await;

    // Act: a transient failure is retried, until the last allowed attempt.
    let first = wait_for_row(&app, id, "has failed once", |m| {
        m.attempts == 1 && m.last_error.is_some()
    })
    .await;
    assert_eq!(first.failed_at, None, "one failure of two allowed");
    app.clock.advance(TimeDelta::seconds(61));
    let last = wait_for_row(&app, id, "has failed for good", |m| m.failed_at.is_some()).await;

    // Assert
    assert_eq!(last.attempts, 2);
    assert_eq!(last.processed_at, None);
    assert!(last.last_error.unwrap_or_default().contains("451"));
    // Never claimed again: an hour later a new email is tried (and fails)
    // while the failed one keeps its two attempts.
    app.clock.advance(TimeDelta::hours(1));
    let other = enqueue(&app, "other@example.com").await;
    wait_for_row(&app, other, "has been tried", |m| {
        m.attempts == 1 && m.last_error.is_some()
    })
    .await;
    assert_eq!(row(&app, id).await.attempts, 2);
    assert!(smtp.received().is_empty());
}

on_both_databases!(
    a_sign_up_email_is_delivered_through_smtp_and_marked_processed,
    a_failing_relay_is_retried_after_the_backoff_until_it_recovers,
    a_claim_whose_worker_died_is_delivered_after_its_lease,
    two_workers_deliver_each_message_exactly_once,
    with_the_worker_off_nothing_is_delivered,
    without_a_relay_emails_are_logged_and_marked_delivered,
    an_email_that_cannot_be_rendered_waits_with_its_error,
    the_outbox_command_shows_the_latest_messages_with_their_state,
    the_server_and_its_worker_stop_together,
    a_delivered_emails_token_is_cleared_from_the_outbox,
    a_permanent_refusal_marks_the_email_failed_until_it_is_retried,
    an_email_failing_max_attempts_times_is_marked_failed,
);
