//! The operator commands (`up`, `down`, `status`, `fresh`, `refresh`, `reset`) as
//! a library API, generic over the migrator so tests can run their own list.

use std::fmt;

use sea_orm_migration::sea_orm::{DatabaseConnection, DbErr};
use sea_orm_migration::{MigrationStatus, MigratorTrait};

use crate::environment::{self, UnknownEnvironment};
use crate::lock::with_migration_lock;

/// A migration command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Apply pending migrations: all of them, or at most `steps`.
    Up { steps: Option<u32> },
    /// Roll back the last `steps` applied migrations.
    Down { steps: u32 },
    /// Report every migration and whether it is applied.
    Status,
    /// Drop every table, then apply all migrations. Refused in production.
    Fresh,
    /// Roll back every applied migration, then apply all. Refused in production.
    Refresh,
    /// Roll back every applied migration. Refused in production.
    Reset,
}

impl Command {
    /// The command's CLI name (`up`, `down`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Up { .. } => "up",
            Command::Down { .. } => "down",
            Command::Status => "status",
            Command::Fresh => "fresh",
            Command::Refresh => "refresh",
            Command::Reset => "reset",
        }
    }

    /// Whether the command destroys data wholesale and so is refused in production.
    pub fn is_destructive(&self) -> bool {
        matches!(self, Command::Fresh | Command::Refresh | Command::Reset)
    }

    /// Whether the command can drop data (a rolled-back migration drops its
    /// tables and columns) and so needs `--force` in production.
    pub fn needs_force_in_production(&self) -> bool {
        matches!(self, Command::Down { .. })
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One migration and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationState {
    pub name: String,
    pub status: MigrationStatus,
}

impl MigrationState {
    pub fn is_applied(&self) -> bool {
        self.status == MigrationStatus::Applied
    }
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Migrations this command applied, in the order applied (empty when
    /// nothing was pending).
    pub applied: Vec<String>,
    /// Migrations this command rolled back, in the order rolled back. `fresh`
    /// drops tables instead of rolling back, so it reports none here.
    pub rolled_back: Vec<String>,
    /// Every migration the migrator knows, in order, with its state after the
    /// command (for `status`: the report itself).
    pub migrations: Vec<MigrationState>,
}

impl Outcome {
    /// Names of the migrations still pending after the command.
    pub fn pending(&self) -> impl Iterator<Item = &str> {
        self.migrations
            .iter()
            .filter(|m| !m.is_applied())
            .map(|m| m.name.as_str())
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// `APP_ENV` names no known environment. Returned before the database is
    /// touched.
    #[error(transparent)]
    UnknownEnvironment(#[from] UnknownEnvironment),
    /// A destructive command (`fresh`, `refresh`, `reset`) with `APP_ENV=production`.
    /// Returned before the database is touched.
    #[error("refusing to run `{command}` with APP_ENV=production: it would destroy data")]
    RefusedInProduction { command: &'static str },
    /// `down` with `APP_ENV=production` and without `--force`. Returned before the
    /// database is touched.
    #[error(
        "refusing to run `{command}` with APP_ENV=production without --force: \
         it drops the tables and columns of the migrations it rolls back, with their data"
    )]
    ForceRequired { command: &'static str },
    /// The database or a migration failed. Each migration runs in its own
    /// transaction, so the failing one left nothing behind; the ones before it
    /// stay applied.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Whether `app_env` names the production environment (`production`, any case).
pub fn is_production(app_env: &str) -> bool {
    app_env.trim().eq_ignore_ascii_case("production")
}

/// Refuses what must not run: any command under an unknown `APP_ENV`; in
/// production, `fresh`, `refresh` and `reset` always, and `down` unless
/// `force`. Everything else is allowed.
pub fn guard(command: Command, app_env: &str, force: bool) -> Result<(), MigrationError> {
    let environment = environment::parse(app_env)?;
    if environment != "production" {
        return Ok(());
    }
    if command.is_destructive() {
        return Err(MigrationError::RefusedInProduction {
            command: command.name(),
        });
    }
    if command.needs_force_in_production() && !force {
        return Err(MigrationError::ForceRequired {
            command: command.name(),
        });
    }
    Ok(())
}

/// Runs `command` with migrator `M` under the migration lock (see
/// [`with_migration_lock`](crate::with_migration_lock)).
///
/// Refused before the database is touched (see [`guard`]): any command when
/// `app_env` is no known environment; when it is `production`
/// (case-insensitive), `fresh`, `refresh`, `reset`, and `down` (which
/// [`run_forced`] allows).
pub async fn run<M: MigratorTrait>(
    db: &DatabaseConnection,
    command: Command,
    app_env: &str,
) -> Result<Outcome, MigrationError> {
    run_guarded::<M>(db, command, app_env, false).await
}

/// [`run`], with the operator's `--force`: `down` runs in production too.
pub async fn run_forced<M: MigratorTrait>(
    db: &DatabaseConnection,
    command: Command,
    app_env: &str,
) -> Result<Outcome, MigrationError> {
    run_guarded::<M>(db, command, app_env, true).await
}

async fn run_guarded<M: MigratorTrait>(
    db: &DatabaseConnection,
    command: Command,
    app_env: &str,
    force: bool,
) -> Result<Outcome, MigrationError> {
    guard(command, app_env, force)?;
    let outcome = with_migration_lock(db, || execute::<M>(db, command)).await?;
    Ok(outcome)
}

/// Applies every pending migration of `M` under the migration lock: what the
/// server runs at start-up when auto-migrate is on.
pub async fn up_locked<M: MigratorTrait>(db: &DatabaseConnection) -> Result<(), DbErr> {
    with_migration_lock(db, || M::up(db, None)).await
}

/// The state of every migration of `M`, without creating the tracking table
/// when it does not exist (every migration is then pending).
pub async fn migration_states<M: MigratorTrait>(
    db: &DatabaseConnection,
) -> Result<Vec<MigrationState>, DbErr> {
    Ok(M::get_migration_with_status_read_only(db)
        .await?
        .iter()
        .map(|m| MigrationState {
            name: m.name().to_owned(),
            status: m.status(),
        })
        .collect())
}

fn applied_names(states: &[MigrationState]) -> Vec<String> {
    states
        .iter()
        .filter(|m| m.is_applied())
        .map(|m| m.name.clone())
        .collect()
}

/// Names applied in `after` but not in `before`, in migration order.
fn newly_applied(before: &[MigrationState], after: &[MigrationState]) -> Vec<String> {
    after
        .iter()
        .filter(|m| m.is_applied())
        .filter(|m| !before.iter().any(|b| b.name == m.name && b.is_applied()))
        .map(|m| m.name.clone())
        .collect()
}

async fn execute<M: MigratorTrait>(
    db: &DatabaseConnection,
    command: Command,
) -> Result<Outcome, DbErr> {
    let before = migration_states::<M>(db).await?;
    let mut outcome = Outcome::default();
    match command {
        Command::Status => {
            outcome.migrations = before;
            return Ok(outcome);
        }
        Command::Up { steps } => {
            M::up(db, steps).await?;
        }
        Command::Down { steps } => {
            M::down(db, Some(steps)).await?;
        }
        Command::Fresh => {
            M::fresh(db).await?;
        }
        Command::Refresh => {
            M::refresh(db).await?;
        }
        Command::Reset => {
            M::reset(db).await?;
        }
    }
    let after = migration_states::<M>(db).await?;

    outcome.rolled_back = match command {
        Command::Down { .. } | Command::Reset => {
            // Rolled back newest first.
            let mut gone = newly_applied(&after, &before);
            gone.reverse();
            gone
        }
        Command::Refresh => {
            let mut gone = applied_names(&before);
            gone.reverse();
            gone
        }
        _ => Vec::new(),
    };
    outcome.applied = match command {
        Command::Up { .. } => newly_applied(&before, &after),
        Command::Fresh | Command::Refresh => applied_names(&after),
        _ => Vec::new(),
    };
    outcome.migrations = after;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_is_recognised_in_any_case() {
        assert!(is_production("production"));
        assert!(is_production("Production"));
        assert!(is_production(" PRODUCTION "));
        assert!(!is_production("development"));
        assert!(!is_production("test"));
        assert!(!is_production(""));
        assert!(!is_production("prod"));
    }

    #[test]
    fn destructive_commands_are_refused_in_production() {
        for command in [Command::Fresh, Command::Refresh, Command::Reset] {
            for force in [false, true] {
                match guard(command, "PRODUCTION", force) {
                    Err(MigrationError::RefusedInProduction { command: name }) => {
                        assert_eq!(name, command.name())
                    }
                    other => panic!("{command} was not refused: {other:?}"),
                }
            }
            assert!(guard(command, "development", false).is_ok());
            assert!(guard(command, "test", false).is_ok());
        }
    }

    #[test]
    fn down_needs_force_in_production() {
        let down = Command::Down { steps: 1 };
        match guard(down, "production", false) {
            Err(MigrationError::ForceRequired { command }) => assert_eq!(command, "down"),
            other => panic!("down was not refused: {other:?}"),
        }
        assert!(guard(down, "production", true).is_ok());
        assert!(guard(down, "development", false).is_ok());
        assert!(
            guard(down, "production", false)
                .unwrap_err()
                .to_string()
                .contains("--force")
        );
    }

    #[test]
    fn other_commands_run_in_production() {
        for command in [
            Command::Up { steps: None },
            Command::Up { steps: Some(1) },
            Command::Status,
        ] {
            assert!(guard(command, "production", false).is_ok(), "{command}");
        }
    }

    #[test]
    fn an_unknown_environment_refuses_every_command() {
        for command in [Command::Status, Command::Up { steps: None }, Command::Fresh] {
            match guard(command, "prod", true) {
                Err(MigrationError::UnknownEnvironment(e)) => assert_eq!(e.0, "prod"),
                other => panic!("{command} ran under APP_ENV=prod: {other:?}"),
            }
        }
    }

    #[test]
    fn refusal_message_names_the_command() {
        let err = guard(Command::Fresh, "production", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "refusing to run `fresh` with APP_ENV=production: it would destroy data"
        );
    }

    fn state(name: &str, applied: bool) -> MigrationState {
        MigrationState {
            name: name.to_owned(),
            status: if applied {
                MigrationStatus::Applied
            } else {
                MigrationStatus::Pending
            },
        }
    }

    #[test]
    fn newly_applied_keeps_migration_order() {
        let before = [state("a", true), state("b", false), state("c", false)];
        let after = [state("a", true), state("b", true), state("c", true)];
        assert_eq!(newly_applied(&before, &after), ["b", "c"]);
        assert!(newly_applied(&after, &after).is_empty());
    }
}
