//! Building and running the application.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, HttpServer, web};
use domain::endpoints::UrlPolicy;
use domain::{Clock, SystemClock};
use infra::delivery::{Sender, SenderSetupError, Worker};
use infra::resolver::{Resolver, SystemResolver, UrlGuard};
use infra::security::secrets::{Keyring, KeyringError};
use infra::{Database, DbErr, PasswordHasher, Settings};
use migration::Migrator;
use tracing_actix_web::TracingLogger;

use crate::auth::Pool;
use crate::error::ApiError;
use crate::extract::{BodyTimeout, JsonLimit};
use crate::metrics::{self, Metrics, Snapshotter};
use crate::middleware::headers::{self, Hsts};
use crate::middleware::{cors, inputs, methods, panics};
use crate::rate_limit::RateLimits;
use crate::reaper::Reaper;
use crate::state::AppState;
use crate::webhook_worker::WebhookWorker;
use crate::{routes, telemetry};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be reached at start-up.
    #[error("cannot connect to the database: {0}")]
    Database(#[source] DbErr),
    /// Pending migrations failed to apply.
    #[error("cannot apply migrations: {0}")]
    Migration(#[source] DbErr),
    /// The password hasher could not be set up.
    #[error("cannot set up password hashing: {0}")]
    Auth(#[source] domain::DomainError),
    /// The key ring of endpoint secrets could not be set up from `[secrets]`
    /// (in production: no keys configured).
    #[error("cannot set up the key ring of endpoint secrets: {0}")]
    Secrets(#[source] KeyringError),
    /// The outbox's email sender could not be set up from `[smtp]`.
    #[error(transparent)]
    Outbox(#[from] SenderSetupError),
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// `host:port`.
        address: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// A bound, ready-to-run server, with its outbox worker when `outbox.worker` is on.
pub struct Application {
    port: u16,
    server: Server,
    db: Database,
    outbox: Option<Worker>,
    reaper: Option<(Arc<dyn Clock>, infra::config::JobsSettings)>,
    metrics: Metrics,
    /// The clock and interval of the metrics snapshot, when metrics are on.
    snapshots: Option<(Arc<dyn Clock>, Duration)>,
    webhooks: Option<WebhookWorker>,
}

impl Application {
    /// Connects the pool, applies pending migrations when `database.auto_migrate`
    /// is on (under the migration lock), and binds the listener.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let db = Database::connect(&settings.database)
            .await
            .map_err(StartupError::Database)?;
        if settings.database.auto_migrate {
            migration::up_locked::<Migrator>(db.pool())
                .await
                .map_err(StartupError::Migration)?;
        }
        Self::with_database(settings, db)
    }

    /// Binds the listener over an existing pool (no migrations), on the system clock.
    pub fn with_database(settings: &Settings, db: Database) -> Result<Self, StartupError> {
        Self::with_clock(settings, db, Arc::new(SystemClock))
    }

    /// Like [`Application::with_database`], with the clock every request reads
    /// "now" from (tests pass a [`domain::ShiftedClock`]).
    pub fn with_clock(
        settings: &Settings,
        db: Database,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        Self::with_resolver(settings, db, clock, Arc::new(SystemResolver))
    }

    /// Like [`Application::with_clock`], with the resolver webhook URLs are
    /// resolved through (tests map names to the addresses they choose).
    pub fn with_resolver(
        settings: &Settings,
        db: Database,
        clock: Arc<dyn Clock>,
        resolver: Arc<dyn Resolver>,
    ) -> Result<Self, StartupError> {
        let address = format!("{}:{}", settings.server.host, settings.server.port);
        let bind_error = |source| StartupError::Bind {
            address: address.clone(),
            source,
        };
        let keyring = Keyring::from_settings(&settings.secrets, settings.is_production())
            .map_err(StartupError::Secrets)?;
        let outbox = outbox_worker(settings, &db, &clock)?;
        let keyring = Arc::new(keyring);
        let url_guard = UrlGuard::new(resolver, settings.webhooks.allow_private_networks);
        let webhooks = settings.webhooks.worker.then(|| {
            WebhookWorker::new(
                db.clone(),
                clock.clone(),
                keyring.clone(),
                url_guard.clone(),
                settings.webhooks.clone(),
            )
        });
        let reaper = settings
            .jobs
            .reaper
            .then(|| (clock.clone(), settings.jobs.clone()));
        let metrics = Metrics::new(&settings.metrics);
        let snapshots = settings
            .metrics
            .enabled
            .then(|| (clock.clone(), settings.metrics.snapshot_interval()));
        let listener = TcpListener::bind(&address).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
        let rate_limits = web::Data::new(RateLimits::new(
            &settings.rate_limits,
            &settings.server,
            clock.clone(),
        ));
        let state = web::Data::new(AppState {
            db: Pool::new(db.clone()),
            clock,
            passwords: PasswordHasher::new(&settings.auth).map_err(StartupError::Auth)?,
            sign_ins: settings.auth.sign_in_throttle(),
            sessions: settings.auth.session_policy(),
            keyring,
            url_policy: UrlPolicy::for_production(settings.is_production()),
            github: Arc::new(app::github::GithubApp::new(&settings.github)),
            webhook_url_policy: domain::webhooks::url_policy(
                settings.webhooks.allow_private_networks,
            ),
            url_guard,
            billing: settings.billing.clone(),
        });
        let json_limit = web::Data::new(JsonLimit(settings.server.json_body_limit_bytes));
        let body_timeout = web::Data::new(BodyTimeout(settings.server.body_timeout()));
        let cors_origins = settings.server.cors_allowed_origins.clone();
        let hsts = web::Data::new(Hsts(settings.server.hsts));
        let metrics_data = web::Data::new(metrics.clone());
        let metrics_on = settings.metrics.enabled;
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(json_limit.clone())
                .app_data(body_timeout.clone())
                .app_data(hsts.clone())
                .app_data(rate_limits.clone())
                .app_data(metrics_data.clone())
                .app_data(web::QueryConfig::default().error_handler(|err, _| {
                    ApiError::BadRequest(format!("cannot read the query string: {err}")).into()
                }))
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| ApiError::RouteNotFound.into()),
                )
                .configure(routes::configure)
                .default_service(web::to(|| async {
                    Err::<actix_web::HttpResponse, _>(ApiError::RouteNotFound)
                }))
                .wrap(from_fn(panics::catch))
                .wrap(from_fn(inputs::reject_nul_in_query))
                .wrap(from_fn(methods::head_as_get))
                .wrap(cors::middleware(&cors_origins))
                .wrap(from_fn(cors::preflight))
                .wrap(from_fn(headers::security))
                .wrap(from_fn(telemetry::request_id_header))
                .wrap(TracingLogger::<telemetry::RequestSpan>::new())
                // Outermost: counts every answer, whatever produced it.
                .wrap(Condition::new(metrics_on, from_fn(metrics::track)))
        })
        .shutdown_timeout(settings.server.shutdown_timeout_secs)
        .client_request_timeout(Duration::from_secs(10))
        // A client that closes its connection has given up on the answer: the
        // request's handler is dropped (by default it runs on), so the work it
        // waits for is abandoned too (a queued password hash is skipped).
        .h1_allow_half_closed(false);
        // actix caps connections per worker: give each an equal share of the total.
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        server = server
            .workers(workers)
            .max_connections(settings.server.max_connections.div_ceil(workers));
        let server = server.listen(listener).map_err(bind_error)?.run();
        Ok(Self {
            port,
            server,
            db,
            outbox,
            reaper,
            metrics,
            snapshots,
            webhooks,
        })
    }

    /// The application's metrics (tests take snapshots with it).
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// The bound port (useful when configured as 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves (and delivers the outbox, reaps expired leases, takes metric
    /// snapshots) until stopped (SIGINT/SIGTERM or the
    /// handle): in-flight requests get `server.shutdown_timeout_secs` to finish,
    /// the outbox worker finishes its round, then the pool is closed.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let outbox = self.outbox.map(Worker::spawn);
        let reaper = self
            .reaper
            .map(|(clock, jobs)| Reaper::spawn(self.db.clone(), clock, jobs));
        let snapshots = self.snapshots.map(|(clock, interval)| {
            Snapshotter::spawn(self.metrics.clone(), self.db.clone(), clock, interval)
        });
        let webhooks = self.webhooks.map(WebhookWorker::spawn);
        let served = self.server.await;
        if let Some(worker) = outbox {
            worker.stop().await;
        }
        if let Some(worker) = webhooks {
            worker.stop().await;
        }
        if let Some(reaper) = reaper {
            reaper.stop().await;
        }
        if let Some(snapshots) = snapshots {
            snapshots.stop().await;
        }
        served?;
        if let Err(e) = self.db.close().await {
            tracing::warn!(error = %e, "closing the pool failed");
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// The outbox worker when `outbox.worker` is on: SMTP when `smtp.host` is set,
/// else the log (a warning in production, where the log leaves the body out).
fn outbox_worker(
    settings: &Settings,
    db: &Database,
    clock: &Arc<dyn Clock>,
) -> Result<Option<Worker>, StartupError> {
    if !settings.outbox.worker {
        return Ok(None);
    }
    let sender = Sender::from_settings(settings, settings.outbox.send_timeout())?;
    if settings.is_production() && matches!(sender, Sender::Log { .. }) {
        tracing::warn!(
            "no SMTP relay configured (smtp.host): outbox emails are only logged, without their body"
        );
    }
    Ok(Some(Worker::new(
        db.clone(),
        clock.clone(),
        sender,
        settings.outbox.clone(),
    )))
}
