//! The Groundwork server.
//!
//! `api` (or `api serve`) loads the settings, connects, applies pending migrations
//! outside production, and serves until SIGINT/SIGTERM; its outbox worker
//! delivers the emails sign-up, password reset and invitations queue. `api
//! outbox` prints the latest outbox messages, delivered or not, with their tokens
//! and delivery state (development only); `api outbox --failed` those given up
//! on, and `api outbox --retry ID` tries one again. `api admin promote|demote <email>`
//! grants or takes away platform admin.
//! `api seed` fills an empty database with the benchmarks' large dataset.
//! `api secrets rewrap` moves every endpoint secret to the primary key.
//! `api worker` runs an organization's jobs through the API (no database, no
//! settings file: its options come from flags or the environment).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use api::Application;
use clap::{Args, Parser, Subcommand};
use infra::Settings;
use seed::SeedPlan;

#[derive(Parser)]
#[command(name = "api", version, about = "The Groundwork API server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Print the effective settings (password masked) and exit.
    Config,
    /// Print the latest outbox messages, delivered or not, one JSON object per
    /// line with its state, newest last (development only: they carry tokens);
    /// or the failed ones (`--failed`), or retry one (`--retry ID`), which
    /// production allows, its tokens shown as `***`.
    Outbox {
        /// At most this many messages.
        #[arg(long, default_value_t = 20)]
        limit: u64,
        /// Only the undelivered ones still to be tried, oldest first.
        #[arg(long, conflicts_with_all = ["failed", "retry"])]
        pending: bool,
        /// Only the ones that failed for good (an SMTP 5xx, or
        /// `outbox.max_attempts` attempts), oldest first.
        #[arg(long, conflicts_with = "retry")]
        failed: bool,
        /// Make this failed message (`obx_...`) due now, with a fresh count of
        /// attempts, and print it.
        #[arg(long, value_name = "ID")]
        retry: Option<String>,
    },
    /// Platform administration: `admin promote <email>`, `admin demote <email>`.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Fill an empty database with a large dataset for benchmarks (refused in
    /// production) and write a manifest of how to address it.
    Seed(SeedArgs),
    /// The key ring of endpoint secrets: `secrets rewrap`.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Run an organization's jobs: claim due jobs through the API, call each
    /// job's endpoint, heartbeat, report; stop gracefully on SIGTERM/SIGINT.
    Worker(WorkerArgs),
    /// The claim benchmark's driver (bench/run.sh --only claim): prints one
    /// line of JSON.
    #[command(hide = true)]
    BenchClaim(BenchClaimArgs),
}

/// What `api secrets` does.
#[derive(Subcommand)]
enum SecretsCommand {
    /// Re-encrypt every endpoint secret that is not under `secrets.primary` with
    /// it, in batches, and print how many moved and how many remain under each
    /// other key. Idempotent and resumable; exits 1 if some remain (they do not
    /// decrypt: the log names them). Remove a rotated-out key from
    /// `secrets.keys` only after a run that leaves none under it.
    Rewrap {
        /// Rows per transaction.
        #[arg(long, default_value_t = 500)]
        batch_size: u64,
    },
}

/// `api worker`'s options; each can come from the environment instead.
#[derive(Args)]
struct WorkerArgs {
    /// The API's base URL.
    #[arg(long, env = "GROUNDWORK_API_URL", default_value = "http://127.0.0.1:8080", value_parser = parse_api_url)]
    api_url: String,
    /// An API key (`gwk_...`) of the organization.
    #[arg(long, env = "GROUNDWORK_API_KEY", hide_env_values = true)]
    api_key: String,
    /// The organization whose jobs it runs (`org_...`).
    #[arg(long, env = "GROUNDWORK_ORGANIZATION", value_parser = parse_organization)]
    organization: domain::OrganizationId,
    /// The worker's name, recorded on its tasks (default: hostname-pid).
    #[arg(long, env = "GROUNDWORK_WORKER_NAME")]
    name: Option<String>,
    /// Runs at once.
    #[arg(long, env = "GROUNDWORK_WORKER_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    concurrency: u32,
    /// Each lease's length, 5 to 3600 s; heartbeats every third of it.
    #[arg(long, env = "GROUNDWORK_LEASE_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(5..=3600))]
    lease_seconds: u32,
    /// The wait after a claim that handed out nothing, in ms.
    #[arg(long, env = "GROUNDWORK_POLL_INTERVAL_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    poll_interval_ms: u64,
    /// How long an endpoint may take to answer, body included, in s.
    #[arg(long, env = "GROUNDWORK_ENDPOINT_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    endpoint_timeout_secs: u64,
    /// After SIGTERM/SIGINT, how long runs in progress may still take, in s;
    /// the rest are abandoned (their leases run out, the jobs come back).
    #[arg(long, env = "GROUNDWORK_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    shutdown_grace_secs: u64,
}

/// `api bench-claim`'s options.
#[derive(Args)]
struct BenchClaimArgs {
    /// The API's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_parser = parse_api_url)]
    api_url: String,
    /// An API key of the organization.
    #[arg(long, env = "GROUNDWORK_API_KEY", hide_env_values = true)]
    api_key: String,
    /// The organization (`org_...`).
    #[arg(long, value_parser = parse_organization)]
    organization: domain::OrganizationId,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    workers: u32,
    /// Jobs per claim.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100))]
    batch: u32,
    /// Seconds to measure.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
}

fn parse_organization(raw: &str) -> Result<domain::OrganizationId, String> {
    domain::OrganizationId::parse(raw.trim())
        .map_err(|_| format!("`{raw}` is not an organization ID (org_...)"))
}

fn parse_api_url(raw: &str) -> Result<String, String> {
    let url = raw.trim().trim_end_matches('/');
    if (url.starts_with("http://") || url.starts_with("https://")) && url.len() > "https://".len() {
        Ok(url.to_owned())
    } else {
        Err(format!("`{raw}` is not an http:// or https:// URL"))
    }
}

/// What `api admin` does.
#[derive(Subcommand)]
enum AdminCommand {
    /// Make the user with this email a platform admin (idempotent).
    Promote {
        /// The user's email.
        email: String,
    },
    /// Take platform admin away from the user with this email (idempotent).
    Demote {
        /// The user's email.
        email: String,
    },
}

/// Sizes of `api seed`; the defaults are the benchmarks' dataset.
#[derive(Args)]
struct SeedArgs {
    /// Users, each with a credential account.
    #[arg(long, default_value_t = 100_000)]
    users: u64,
    /// Organizations; the first is the large one.
    #[arg(long, default_value_t = 1_000)]
    organizations: u64,
    /// Members of the large organization.
    #[arg(long, default_value_t = 50_000)]
    large_org_members: u64,
    /// Memberships in total.
    #[arg(long, default_value_t = 100_000)]
    memberships: u64,
    /// Sessions (round-robin over the users; at least one).
    #[arg(long, default_value_t = 100_000)]
    sessions: u64,
    /// API keys (round-robin over the organizations; at least one).
    #[arg(long, default_value_t = 2_000)]
    api_keys: u64,
    /// Pending invitations (round-robin over the organizations).
    #[arg(long, default_value_t = 10_000)]
    invitations: u64,
    /// Rows per INSERT statement.
    #[arg(long, default_value_t = 1_000)]
    batch_rows: usize,
    /// How deep into the large organization's member list the manifest's
    /// cursor points.
    #[arg(long, default_value_t = 40_000)]
    deep_rows: u64,
    /// Every seeded user's password.
    #[arg(long, default_value = "bench-password")]
    password: String,
    /// Where to write the JSON manifest (token, key, IDs, cursor).
    #[arg(long, default_value = "bench/results/seed-manifest.json")]
    manifest: PathBuf,
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The worker and the benchmark driver are API clients: no settings file,
    // no database.
    let command = match cli.command {
        Some(Command::Worker(args)) => return worker(args).await,
        Some(Command::BenchClaim(args)) => return bench_claim(args).await,
        command => command,
    };
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    api::telemetry::init(&settings.log.filter);
    match command.unwrap_or(Command::Serve) {
        Command::Config => {
            println!("{settings:#?}");
            ExitCode::SUCCESS
        }
        Command::Serve => serve(settings).await,
        Command::Outbox {
            limit,
            pending,
            failed,
            retry,
        } => {
            let what = match (retry, pending, failed) {
                (Some(id), _, _) => OutboxCommand::Retry(id),
                (None, true, _) => OutboxCommand::Pending,
                (None, _, true) => OutboxCommand::Failed,
                (None, false, false) => OutboxCommand::Recent,
            };
            print_outbox(settings, limit, what).await
        }
        Command::Admin { command } => admin(settings, command).await,
        Command::Seed(args) => seed(settings, args).await,
        Command::Secrets {
            command: SecretsCommand::Rewrap { batch_size },
        } => rewrap(settings, batch_size).await,
        Command::Worker(_) | Command::BenchClaim(_) => ExitCode::SUCCESS,
    }
}

async fn worker(args: WorkerArgs) -> ExitCode {
    api::telemetry::init("info");
    let config = api::worker::WorkerConfig {
        api_url: args.api_url,
        api_key: api::worker::Secret::new(args.api_key),
        organization: args.organization,
        name: args.name.unwrap_or_else(api::worker::default_name),
        concurrency: args.concurrency,
        lease_seconds: args.lease_seconds,
        poll_interval: Duration::from_millis(args.poll_interval_ms),
        endpoint_timeout: Duration::from_secs(args.endpoint_timeout_secs),
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
    };
    match api::worker::run(config, stop_signal()).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn bench_claim(args: BenchClaimArgs) -> ExitCode {
    api::telemetry::init("warn");
    let plan = api::worker::bench::BenchPlan {
        api_url: args.api_url,
        api_key: api::worker::Secret::new(args.api_key),
        organization: args.organization,
        workers: args.workers,
        batch: args.batch,
        duration: Duration::from_secs(args.duration_secs),
    };
    let result = api::worker::bench::run(&plan).await;
    match serde_json::to_string(&result) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn seed(settings: Settings, args: SeedArgs) -> ExitCode {
    let plan = SeedPlan {
        users: args.users,
        organizations: args.organizations,
        large_organization_members: args.large_org_members,
        memberships: args.memberships,
        sessions: args.sessions,
        api_keys: args.api_keys,
        invitations: args.invitations,
        batch_rows: args.batch_rows,
        deep_rows: args.deep_rows,
        password: args.password,
    };
    let seeded = match seed::run(&settings, &plan).await {
        Ok(seeded) => seeded,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{:<22} {:>9} {:>9} {:>11}",
        "table", "rows", "seconds", "rows/s"
    );
    for t in &seeded.tables {
        println!(
            "{:<22} {:>9} {:>9.2} {:>11.0}",
            t.table,
            t.rows,
            t.seconds,
            t.rows_per_second()
        );
    }
    println!(
        "{:<22} {:>9} {:>9.2} {:>11.0}  (hashing, commit and ANALYZE included)",
        "total",
        seeded.rows(),
        seeded.seconds,
        seeded.rows() as f64 / seeded.seconds.max(f64::EPSILON)
    );
    let written = serde_json::to_vec_pretty(&seeded)
        .map_err(|e| e.to_string())
        .and_then(|json| {
            if let Some(dir) = args.manifest.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            }
            std::fs::write(&args.manifest, json).map_err(|e| e.to_string())
        });
    match written {
        Ok(()) => {
            println!("manifest: {}", args.manifest.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", args.manifest.display());
            ExitCode::FAILURE
        }
    }
}

async fn rewrap(settings: Settings, batch_size: u64) -> ExitCode {
    match api::commands::rewrap_secrets(&settings, batch_size).await {
        Ok((lines, done)) => {
            for line in lines {
                println!("{line}");
            }
            if done {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn admin(settings: Settings, command: AdminCommand) -> ExitCode {
    let (email, promote) = match &command {
        AdminCommand::Promote { email } => (email, true),
        AdminCommand::Demote { email } => (email, false),
    };
    match api::commands::set_platform_admin(&settings, email, promote).await {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What `api outbox` prints.
enum OutboxCommand {
    Recent,
    Pending,
    Failed,
    Retry(String),
}

async fn print_outbox(settings: Settings, limit: u64, what: OutboxCommand) -> ExitCode {
    let lines = match what {
        OutboxCommand::Recent => api::commands::recent_outbox(&settings, limit).await,
        OutboxCommand::Pending => api::commands::pending_outbox(&settings, limit).await,
        OutboxCommand::Failed => api::commands::failed_outbox(&settings, limit).await,
        OutboxCommand::Retry(id) => api::commands::retry_outbox(&settings, &id)
            .await
            .map(|line| vec![line]),
    };
    match lines {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> ExitCode {
    tracing::info!(environment = %settings.environment, server = ?settings.server, database = ?settings.database, log = ?settings.log, auth = ?settings.auth, outbox = ?settings.outbox, smtp = ?settings.smtp, secrets = ?settings.secrets, "effective settings");
    let app = match Application::build(&settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "start-up failed");
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        "listening on http://{}:{}",
        settings.server.host,
        app.port()
    );
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
