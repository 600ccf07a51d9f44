//! `migration`: applies, rolls back and reports Groundwork's schema migrations.
//!
//! The database comes from `DATABASE_URL`; when unset, from `DB_HOST`, `DB_PORT`,
//! `DB_NAME`, `DB_USER`, `DB_PASSWORD`, `DB_SSL` (when `DB_HOST` is set); else the
//! embedded SQLite file `data/groundwork.db`. `fresh`, `refresh` and `reset`
//! refuse to run with `APP_ENV=production`, and `down` runs there only with
//! `--force`; an `APP_ENV` other than `development`, `test` or `production`
//! refuses every command.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use migration::sea_orm_migration::sea_orm::{ConnectOptions, Database};
use migration::{Command, Migrator, Outcome, database_url};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "migration",
    version,
    about = "Apply, roll back and inspect Groundwork's schema migrations",
    after_help = "Database: DATABASE_URL; else DB_HOST, DB_PORT (5432), DB_NAME, DB_USER, \
                  DB_PASSWORD, DB_SSL when DB_HOST is set; else sqlite://data/groundwork.db."
)]
struct Cli {
    /// Deployment environment: `development`, `test` or `production` (anything
    /// else is refused); `fresh`, `refresh` and `reset` are refused in
    /// `production`, and `down` needs `--force` there.
    #[arg(long, env = "APP_ENV", default_value = "development", global = true)]
    app_env: String,

    #[command(subcommand)]
    command: CliCommand,
}

#[derive(Debug, Subcommand)]
enum CliCommand {
    /// Apply pending migrations (all, or the next N).
    Up {
        /// Apply at most N migrations.
        #[arg(short = 'n', long = "num")]
        num: Option<u32>,
    },
    /// Roll back the last N applied migrations (in production, only with --force).
    Down {
        /// How many migrations to roll back.
        #[arg(short = 'n', long = "num", default_value_t = 1)]
        num: u32,
        /// Roll back in production too: the rolled-back migrations' tables and
        /// columns are dropped with their data.
        #[arg(long)]
        force: bool,
    },
    /// Show every migration and whether it is applied.
    Status,
    /// Drop every table, then apply all migrations (not in production).
    Fresh,
    /// Roll back every migration, then apply all (not in production).
    Refresh,
    /// Roll back every migration (not in production).
    Reset,
}

impl From<&CliCommand> for Command {
    fn from(command: &CliCommand) -> Self {
        match *command {
            CliCommand::Up { num } => Command::Up { steps: num },
            CliCommand::Down { num, .. } => Command::Down { steps: num },
            CliCommand::Status => Command::Status,
            CliCommand::Fresh => Command::Fresh,
            CliCommand::Refresh => Command::Refresh,
            CliCommand::Reset => Command::Reset,
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    match execute(&cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, skipping causes that merely repeat
/// the message above them (sea-orm errors embed their source's message).
fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let message = cause
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if message.is_empty() || parts.last().is_some_and(|last| last.contains(&message)) {
            continue;
        }
        parts.push(message);
    }
    parts.join(": ")
}

impl Cli {
    /// Whether the operator passed `--force`.
    fn force(&self) -> bool {
        matches!(self.command, CliCommand::Down { force: true, .. })
    }
}

async fn execute(cli: &Cli) -> anyhow::Result<()> {
    let command = Command::from(&cli.command);
    // Refuse before connecting: a production database is never even opened.
    migration::guard(command, &cli.app_env, cli.force())?;

    let url = database_url::from_env()?;
    let shown = database_url::redact(&url);
    if let Some(path) = database_url::sqlite_file_path(&url)
        && let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    }

    tracing::info!(database = %shown, command = %command, "connecting");
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(4)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false);
    let db = Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to {shown}"))?;

    let result = if cli.force() {
        migration::run_forced::<Migrator>(&db, command, &cli.app_env).await
    } else {
        migration::run::<Migrator>(&db, command, &cli.app_env).await
    };
    let _ = db.close().await;
    let outcome = result.with_context(|| format!("`migration {command}` failed"))?;
    report(command, &outcome);
    Ok(())
}

fn report(command: Command, outcome: &Outcome) {
    let text = render(command, outcome);
    // A closed pipe (`migration status | head`) is not an error worth a panic:
    // the work is done by now.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

/// The human-readable report of what `command` did.
fn render(command: Command, outcome: &Outcome) -> String {
    let mut out = String::new();
    match command {
        Command::Status => render_status(&mut out, outcome),
        Command::Up { .. } => {
            if outcome.applied.is_empty() {
                out.push_str("Nothing to apply: the database is up to date.\n");
            } else {
                render_list(&mut out, "Applied", &outcome.applied);
            }
            let pending = outcome.pending().count();
            if pending > 0 {
                let _ = writeln!(out, "{pending} migration(s) still pending.");
            }
        }
        Command::Down { .. } | Command::Reset => {
            if outcome.rolled_back.is_empty() {
                out.push_str("Nothing to roll back.\n");
            } else {
                render_list(&mut out, "Rolled back", &outcome.rolled_back);
            }
        }
        Command::Fresh => {
            out.push_str("Dropped every table.\n");
            render_list(&mut out, "Applied", &outcome.applied);
        }
        Command::Refresh => {
            render_list(&mut out, "Rolled back", &outcome.rolled_back);
            render_list(&mut out, "Applied", &outcome.applied);
        }
    }
    out
}

fn render_list(out: &mut String, verb: &str, names: &[String]) {
    let _ = writeln!(out, "{verb} {} migration(s):", names.len());
    for name in names {
        let _ = writeln!(out, "  {name}");
    }
}

fn render_status(out: &mut String, outcome: &Outcome) {
    let width = outcome
        .migrations
        .iter()
        .map(|m| m.name.len())
        .chain(["Migration".len()])
        .max()
        .unwrap_or_default();
    let _ = writeln!(out, "{:<width$}  Status", "Migration");
    let _ = writeln!(out, "{:-<width$}  -------", "");
    for m in &outcome.migrations {
        let _ = writeln!(out, "{:<width$}  {}", m.name, m.status);
    }
    let pending = outcome.pending().count();
    let _ = writeln!(
        out,
        "\n{} applied, {pending} pending.",
        outcome.migrations.len() - pending
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn error_is_one_line_without_repeats() {
        let err = anyhow::Error::new(std::io::Error::other("pool timed out\nwhile waiting"))
            .context("Connection Error: pool timed out while waiting")
            .context("cannot connect to postgres://u:***@h/db");
        assert_eq!(
            one_line(&err),
            "cannot connect to postgres://u:***@h/db: Connection Error: pool timed out while waiting"
        );
    }

    #[test]
    fn status_is_a_table() {
        use migration::{MigrationState, MigrationStatus};
        let outcome = Outcome {
            migrations: vec![
                MigrationState {
                    name: "m1_a".into(),
                    status: MigrationStatus::Applied,
                },
                MigrationState {
                    name: "m2_longer".into(),
                    status: MigrationStatus::Pending,
                },
            ],
            ..Outcome::default()
        };
        assert_eq!(
            render(Command::Status, &outcome),
            "Migration  Status\n---------  -------\nm1_a       Applied\nm2_longer  Pending\n\n1 applied, 1 pending.\n"
        );
    }

    #[test]
    fn force_is_read_from_down_only() {
        let cli = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("migration").chain(args.iter().copied())).unwrap()
        };
        assert!(cli(&["down", "--force"]).force());
        assert!(!cli(&["down"]).force());
        assert!(Cli::try_parse_from(["migration", "up", "--force"]).is_err());
    }

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_commands() {
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_from(std::iter::once("migration").chain(args.iter().copied()))
                .unwrap();
            Command::from(&cli.command)
        };
        assert_eq!(parse(&["up"]), Command::Up { steps: None });
        assert_eq!(parse(&["up", "-n", "2"]), Command::Up { steps: Some(2) });
        assert_eq!(parse(&["down"]), Command::Down { steps: 1 });
        assert_eq!(parse(&["down", "-n", "100"]), Command::Down { steps: 100 });
        assert_eq!(
            parse(&["down", "--force"]),
            Command::Down { steps: 1 },
            "--force is the guard's, not the command's"
        );
        assert_eq!(parse(&["status"]), Command::Status);
        assert_eq!(parse(&["fresh"]), Command::Fresh);
        assert_eq!(parse(&["refresh"]), Command::Refresh);
        assert_eq!(parse(&["reset"]), Command::Reset);
    }
}
