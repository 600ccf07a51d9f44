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

use std::path::PathBuf;
use std::process::ExitCode;

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
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    api::telemetry::init(&settings.log.filter);
    match cli.command.unwrap_or(Command::Serve) {
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
