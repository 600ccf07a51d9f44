//! The webhook delivery worker of the server: claims due events (see
//! `app::webhook_delivery`), posts each signed to its webhook's URL with awc,
//! and records the outcome; and the delivery log purge.
//!
//! SSRF: the client's TCP connector resolves names through [`UrlGuard`], which
//! refuses a name if any of its addresses is private, loopback, link-local,
//! ... and hands the connector exactly the addresses it checked, so a DNS
//! answer cannot change between the check and the connection. IP literals
//! (which the connector does not resolve) are checked before sending.
//! Redirects are never followed.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_tls::connect::{Resolve, Resolver};
use app::webhook_delivery::{self, MAX_LOGGED_BODY_BYTES, Outcome, ReadyDelivery};
use awc::error::SendRequestError;
use chrono::TimeDelta;
use domain::webhooks::{DeliveryErrorClass, host_and_port, parse_retry_after};
use domain::{Clock, DomainError};
use futures_util::StreamExt as _;
use futures_util::future::{LocalBoxFuture, join_all};
use infra::Database;
use infra::config::WebhooksSettings;
use infra::repositories::OutboxMessage;
use infra::resolver::{GuardError, UrlGuard};
use infra::security::secrets::Keyring;
use tokio::sync::oneshot;

/// Delivers webhook events; cheap to clone.
#[derive(Clone, Debug)]
pub struct WebhookWorker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Database,
    clock: Arc<dyn Clock>,
    keyring: Arc<Keyring>,
    guard: UrlGuard,
    settings: WebhooksSettings,
}

/// A running worker; [`WebhookWorkerHandle::stop`] ends it after its round.
#[derive(Debug)]
pub struct WebhookWorkerHandle {
    stop: oneshot::Sender<()>,
    done: oneshot::Receiver<()>,
}

/// The connector's resolver: the guard's checked addresses.
struct Guarded(UrlGuard);

impl Resolve for Guarded {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> LocalBoxFuture<'a, Result<Vec<SocketAddr>, Box<dyn StdError>>> {
        Box::pin(async move {
            self.0
                .addresses(host, port)
                .await
                .map_err(|e| Box::new(e) as Box<dyn StdError>)
        })
    }
}

/// The HTTP client deliveries go through: the guarded resolver, the timeout,
/// no redirects.
fn client(guard: UrlGuard, timeout: Duration) -> awc::Client {
    let tcp = actix_tls::connect::Connector::new(Resolver::custom(Guarded(guard))).service();
    let connector = awc::Connector::new().connector(tcp).timeout(timeout);
    awc::Client::builder()
        .connector(connector)
        .disable_redirects()
        .timeout(timeout)
        .add_default_header(("user-agent", "Groundwork-Webhooks/1"))
        .finish()
}

impl WebhookWorker {
    /// A worker over `db`, reading "now" from `clock`.
    pub fn new(
        db: Database,
        clock: Arc<dyn Clock>,
        keyring: Arc<Keyring>,
        guard: UrlGuard,
        settings: WebhooksSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                clock,
                keyring,
                guard,
                settings,
            }),
        }
    }

    /// Runs delivery rounds every `webhooks.poll_interval_ms` (a full batch is
    /// followed by another at once) and the log purge every
    /// `webhooks.purge_interval_secs`, on the current (actix) runtime.
    pub fn spawn(self) -> WebhookWorkerHandle {
        let (stop, mut stopped) = oneshot::channel();
        let (finished, done) = oneshot::channel();
        actix_web::rt::spawn(async move {
            let settings = &self.inner.settings;
            let client = client(self.inner.guard.clone(), settings.timeout());
            let mut rounds = tokio::time::interval(settings.poll_interval());
            rounds.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut purges = tokio::time::interval(settings.purge_interval());
            purges.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    _ = &mut stopped => break,
                    _ = purges.tick() => self.purge().await,
                    _ = rounds.tick() => {
                        loop {
                            match self.run_once(&client).await {
                                Ok(n) if n == settings.batch_size as usize => {
                                    if !matches!(stopped.try_recv(), Err(oneshot::error::TryRecvError::Empty)) {
                                        break;
                                    }
                                }
                                Ok(_) => break,
                                Err(e) => {
                                    tracing::warn!(error = %e, "webhook round failed; trying again next tick");
                                    break;
                                }
                            }
                        }
                    }
                }
            }
            let _ = finished.send(());
        });
        WebhookWorkerHandle { stop, done }
    }

    /// One round: claims due events (at most a batch), delivers them
    /// concurrently and records each outcome. How many it claimed.
    pub async fn run_once(&self, client: &awc::Client) -> Result<usize, DomainError> {
        let inner = &self.inner;
        let now = inner.clock.now();
        let until = now + TimeDelta::from_std(inner.settings.lease()).unwrap_or(TimeDelta::MAX);
        let claimed =
            webhook_delivery::claim(&inner.db, now, u64::from(inner.settings.batch_size), until)
                .await?;
        let count = claimed.len();
        join_all(claimed.into_iter().map(|m| self.deliver(client, m))).await;
        Ok(count)
    }

    #[tracing::instrument(skip_all, fields(message_id = %message.id, attempt = message.attempts))]
    async fn deliver(&self, client: &awc::Client, message: OutboxMessage) {
        let inner = &self.inner;
        let ready =
            match webhook_delivery::prepare(&inner.db, &inner.keyring, inner.clock.now(), &message)
                .await
            {
                Ok(Some(ready)) => ready,
                Ok(None) => return,
                Err(e) => {
                    // Its claim runs out and it is tried again.
                    tracing::error!(error = %e, "cannot prepare a webhook event");
                    return;
                }
            };
        let outcome = self.post(client, &ready).await;
        let now = inner.clock.now();
        let disable_after = TimeDelta::days(i64::from(inner.settings.disable_after_days));
        if let Err(e) =
            webhook_delivery::finish(&inner.db, now, disable_after, &ready, &outcome).await
        {
            tracing::error!(
                error = %e,
                "a webhook attempt was made but not recorded; it is tried again when its claim runs out"
            );
        }
    }

    /// Posts the event; never fails: every failure is an [`Outcome`].
    async fn post(&self, client: &awc::Client, ready: &ReadyDelivery) -> Outcome {
        let started = Instant::now();
        let elapsed = || i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        // The connector resolves names through the guard; an IP literal it
        // takes as is, so that one is checked here.
        if let Some((host, port)) = host_and_port(&ready.url)
            && host.parse::<std::net::IpAddr>().is_ok()
            && let Err(e) = self.inner.guard.addresses(&host, port).await
        {
            return Outcome::failed(DeliveryErrorClass::Ssrf, e.to_string(), elapsed());
        }
        let timeout = self.inner.settings.timeout();
        let request = client
            .post(&ready.url)
            .insert_header(("content-type", "application/json"))
            .insert_header(("webhook-id", ready.event_id.to_string()))
            .insert_header(("webhook-timestamp", ready.timestamp.to_string()))
            .insert_header(("webhook-signature", ready.signature.clone()))
            .timeout(timeout)
            .send_body(ready.body.clone());
        let answered = tokio::time::timeout(timeout, async {
            let mut response = request.await?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut body = Vec::new();
            while body.len() < MAX_LOGGED_BODY_BYTES {
                match response.next().await {
                    Some(Ok(chunk)) => body.extend_from_slice(&chunk),
                    // A body cut short does not undo the status.
                    Some(Err(_)) | None => break,
                }
            }
            body.truncate(MAX_LOGGED_BODY_BYTES);
            Ok::<_, SendRequestError>((status, retry_after, body))
        })
        .await;
        match answered {
            Err(_) => Outcome::failed(
                DeliveryErrorClass::Timeout,
                format!("no answer within {} s", timeout.as_secs()),
                elapsed(),
            ),
            Ok(Err(e)) => {
                let (class, error) = classify(&e);
                Outcome::failed(class, error, elapsed())
            }
            Ok(Ok((status, retry_after, body))) => {
                let text = (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned());
                let mut outcome = Outcome::answered(status, elapsed(), text);
                outcome.retry_after =
                    retry_after.and_then(|v| parse_retry_after(&v, self.inner.clock.now()));
                outcome
            }
        }
    }

    async fn purge(&self) {
        let inner = &self.inner;
        let retention = TimeDelta::days(i64::from(inner.settings.log_retention_days));
        loop {
            match app::webhooks::purge_deliveries(&inner.db, inner.clock.now(), retention, 1_000)
                .await
            {
                Ok(1_000) => continue,
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged old webhook delivery log rows"),
                Err(e) => tracing::warn!(error = %e, "the webhook log purge failed"),
            }
            break;
        }
    }
}

/// The error class and message of a failed send.
fn classify(error: &SendRequestError) -> (DeliveryErrorClass, String) {
    let class = match error {
        SendRequestError::Timeout => DeliveryErrorClass::Timeout,
        SendRequestError::Connect(awc::error::ConnectError::Timeout) => DeliveryErrorClass::Timeout,
        SendRequestError::Connect(awc::error::ConnectError::Resolver(e))
            if matches!(
                e.downcast_ref::<GuardError>(),
                Some(GuardError::Forbidden(_))
            ) =>
        {
            DeliveryErrorClass::Ssrf
        }
        SendRequestError::Connect(awc::error::ConnectError::SslIsNotSupported) => {
            DeliveryErrorClass::Tls
        }
        // tokio-rustls reports a failed handshake (a bad certificate, ...) as
        // InvalidData.
        SendRequestError::Connect(awc::error::ConnectError::Io(e))
            if e.kind() == std::io::ErrorKind::InvalidData =>
        {
            DeliveryErrorClass::Tls
        }
        _ => DeliveryErrorClass::Connect,
    };
    (class, error.to_string())
}

impl WebhookWorkerHandle {
    /// Stops the worker and waits for its round to finish.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.done.await;
    }
}
