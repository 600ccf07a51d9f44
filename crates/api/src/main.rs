//! The Groundwork server.
//!
//! `api` (or `api serve`) loads the settings, connects, applies pending migrations
//! outside production, and serves until SIGINT/SIGTERM; its outbox worker
//! delivers the emails sign-up, password reset and invitations queue. `api
//! outbox` prints the latest outbox messages, delivered or not, with their tokens
//! and delivery state (development only). `api admin promote|demote <email>`
//! grants or takes away platform admin.

use std::process::ExitCode;

use api::Application;
use clap::{Parser, Subcommand};
use infra::Settings;

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
    /// line with its state, newest last (development only: they carry tokens).
    Outbox {
        /// At most this many messages.
        #[arg(long, default_value_t = 20)]
        limit: u64,
        /// Only the undelivered ones, oldest first.
        #[arg(long)]
        pending: bool,
    },
    /// Platform administration: `admin promote <email>`, `admin demote <email>`.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
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
        Command::Outbox { limit, pending } => print_outbox(settings, limit, pending).await,
        Command::Admin { command } => admin(settings, command).await,
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

async fn print_outbox(settings: Settings, limit: u64, pending: bool) -> ExitCode {
    let lines = if pending {
        api::commands::pending_outbox(&settings, limit).await
    } else {
        api::commands::recent_outbox(&settings, limit).await
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
    tracing::info!(environment = %settings.environment, server = ?settings.server, database = ?settings.database, log = ?settings.log, auth = ?settings.auth, outbox = ?settings.outbox, smtp = ?settings.smtp, "effective settings");
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
