//! The operator commands (`up`, `down`, `status`, `fresh`, `refresh`, `reset`) as
//! a library API, generic over the migrator so tests can run their own list.

use std::fmt;

use sea_orm_migration::sea_orm::{DatabaseConnection, DbErr};
use sea_orm_migration::{MigrationStatus, MigratorTrait};

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
    /// A destructive command (`fresh`, `refresh`, `reset`) with `APP_ENV=production`.
    /// Returned before the database is touched.
    #[error("refusing to run `{command}` with APP_ENV=production: it would destroy data")]
    RefusedInProduction { command: &'static str },
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

/// Refuses destructive commands in production; everything else is allowed.
pub fn guard(command: Command, app_env: &str) -> Result<(), MigrationError> {
    if command.is_destructive() && is_production(app_env) {
        return Err(MigrationError::RefusedInProduction {
            command: command.name(),
        });
    }
    Ok(())
}

/// Runs `command` with migrator `M` under the migration lock (see
/// [`with_migration_lock`](crate::with_migration_lock)).
///
/// `fresh`, `refresh` and `reset` are refused when `app_env` is `production`
/// (case-insensitive), before the database is touched.
pub async fn run<M: MigratorTrait>(
    db: &DatabaseConnection,
    command: Command,
    app_env: &str,
) -> Result<Outcome, MigrationError> {
    guard(command, app_env)?;
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
            match guard(command, "PRODUCTION") {
                Err(MigrationError::RefusedInProduction { command: name }) => {
                    assert_eq!(name, command.name())
                }
                other => panic!("{command} was not refused: {other:?}"),
            }
            assert!(guard(command, "development").is_ok());
            assert!(guard(command, "test").is_ok());
        }
    }

    #[test]
    fn other_commands_run_in_production() {
        for command in [
            Command::Up { steps: None },
            Command::Up { steps: Some(1) },
            Command::Down { steps: 1 },
            Command::Status,
        ] {
            assert!(guard(command, "production").is_ok(), "{command}");
        }
    }

    #[test]
    fn refusal_message_names_the_command() {
        let err = guard(Command::Fresh, "production").unwrap_err();
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
