//! The migrations as an operator runs them: reversible, one step at a time,
//! safe to run concurrently, atomic per migration, and guarded in production.

use domain::OutboxMessageId;
use groundwork_tests::db::{SchemaSnapshot, schema_snapshot, text_column, text_rows};
use groundwork_tests::{Backend, TestDb, on_both_databases};
use infra::entities::outbox_messages;
use migration::{Command, MigrationError, MigrationStatus, Migrator, MigratorTrait, Outcome};
use sea_orm::prelude::Uuid;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, Statement};
use sea_orm_migration::{MigrationName, MigrationTrait, SchemaManager};
use serde_json::json;

/// Not production: every command is allowed.
const APP_ENV: &str = "test";

/// Every migration's name, oldest first.
fn migration_names() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect()
}

/// The versions recorded in `seaql_migrations`, oldest first.
async fn recorded_versions(conn: &DatabaseConnection) -> Vec<String> {
    text_column(
        conn,
        "SELECT version FROM seaql_migrations ORDER BY version",
    )
    .await
}

async fn run(conn: &DatabaseConnection, command: Command) -> Outcome {
    migration::run::<Migrator>(conn, command, APP_ENV)
        .await
        .unwrap_or_else(|e| panic!("`migration {command}` failed: {e}"))
}

/// The schema of a database on which every migration has been applied.
async fn fully_migrated_schema(backend: Backend) -> SchemaSnapshot {
    let reference = TestDb::migrated(backend).await;
    let conn = reference.connect().await;
    schema_snapshot(&conn).await
}

/// The schema of a database that never saw a migration but has SeaORM's
/// tracking table: what rolling everything back must leave behind.
async fn tracking_table_only_schema(backend: Backend) -> SchemaSnapshot {
    let reference = TestDb::empty(backend).await;
    let conn = reference.connect().await;
    Migrator::install(&conn)
        .await
        .expect("creating seaql_migrations");
    schema_snapshot(&conn).await
}

// ---------------------------------------------------------------------------

async fn migrating_down_to_zero_and_up_again_restores_the_same_schema(backend: Backend) {
    // Arrange
    let db = TestDb::empty(backend).await;
    let conn = db.connect().await;
    let names = migration_names();
    run(&conn, Command::Up { steps: None }).await;
    let migrated = schema_snapshot(&conn).await;

    // Act
    let down = run(
        &conn,
        Command::Down {
            steps: u32::try_from(names.len()).expect("a few migrations"),
        },
    )
    .await;
    let rolled_back = schema_snapshot(&conn).await;
    let up_again = run(&conn, Command::Up { steps: None }).await;
    let migrated_again = schema_snapshot(&conn).await;

    // Assert
    assert!(
        migrated.tables().len() > 1 && !migrated.section("columns").is_empty(),
        "the migrations created no tables on {backend}: {migrated:#?}"
    );
    let mut newest_first = names.clone();
    newest_first.reverse();
    assert_eq!(down.rolled_back, newest_first, "rolled back on {backend}");
    assert_eq!(
        rolled_back.tables(),
        ["seaql_migrations"],
        "application tables remain on {backend} after rolling everything back"
    );
    assert_eq!(
        rolled_back,
        tracking_table_only_schema(backend).await,
        "rolling everything back on {backend} left something behind (functions, types, ...)"
    );
    assert_eq!(up_again.applied, names, "applied again on {backend}");
    assert_eq!(
        migrated_again, migrated,
        "the schema on {backend} differs after down to zero and up again"
    );
}

async fn each_migration_rolls_back_one_step_at_a_time_and_applies_again(backend: Backend) {
    // Arrange
    let db = TestDb::migrated(backend).await;
    let conn = db.connect().await;
    let names = migration_names();
    let migrated = schema_snapshot(&conn).await;

    // Act and assert, newest migration first: its down, then its up again
    // (which must restore exactly the schema before the down), then its down
    // once more to reach the next one.
    for (position, name) in names.iter().enumerate().rev() {
        let before = schema_snapshot(&conn).await;

        let down = run(&conn, Command::Down { steps: 1 }).await;
        assert_eq!(down.rolled_back, [name.as_str()], "down 1 on {backend}");
        assert_eq!(
            recorded_versions(&conn).await,
            names[..position],
            "recorded after rolling back {name} on {backend}"
        );

        let up = run(&conn, Command::Up { steps: Some(1) }).await;
        assert_eq!(up.applied, [name.as_str()], "up 1 on {backend}");
        assert_eq!(
            schema_snapshot(&conn).await,
            before,
            "rolling back {name} and applying it again changed the schema on {backend}"
        );

        run(&conn, Command::Down { steps: 1 }).await;
    }

    assert!(recorded_versions(&conn).await.is_empty());
    assert_eq!(schema_snapshot(&conn).await.tables(), ["seaql_migrations"]);
    let up = run(&conn, Command::Up { steps: None }).await;
    assert_eq!(up.applied, names);
    assert_eq!(schema_snapshot(&conn).await, migrated);
}

async fn up_on_a_migrated_database_has_nothing_to_do(backend: Backend) {
    // Arrange
    let db = TestDb::migrated(backend).await;
    let conn = db.connect().await;
    let before = schema_snapshot(&conn).await;

    // Act
    let outcome = run(&conn, Command::Up { steps: None }).await;

    // Assert
    assert!(outcome.applied.is_empty(), "applied {:?}", outcome.applied);
    assert_eq!(recorded_versions(&conn).await, migration_names());
    assert_eq!(schema_snapshot(&conn).await, before);
}

async fn status_reports_every_migration_pending_then_applied(backend: Backend) {
    // Arrange
    let db = TestDb::empty(backend).await;
    let conn = db.connect().await;
    let names = migration_names();

    // Act
    let on_empty = run(&conn, Command::Status).await;
    let tables_after_status = schema_snapshot(&conn).await.tables();
    run(&conn, Command::Up { steps: None }).await;
    let after_up = run(&conn, Command::Status).await;

    // Assert
    let report = |outcome: &Outcome| -> Vec<(String, MigrationStatus)> {
        outcome
            .migrations
            .iter()
            .map(|m| (m.name.clone(), m.status))
            .collect()
    };
    let every = |status| -> Vec<(String, MigrationStatus)> {
        names.iter().map(|name| (name.clone(), status)).collect()
    };
    assert_eq!(report(&on_empty), every(MigrationStatus::Pending));
    assert!(
        tables_after_status.is_empty(),
        "`status` created {tables_after_status:?} on {backend}"
    );
    assert!(on_empty.applied.is_empty() && on_empty.rolled_back.is_empty());
    assert_eq!(report(&after_up), every(MigrationStatus::Applied));
}

async fn destructive_commands_are_refused_in_production(backend: Backend) {
    // Arrange: a migrated database with a row in it.
    let db = TestDb::migrated(backend).await;
    let conn = db.connect().await;
    conn.execute_unprepared(
        "INSERT INTO waitlist_entries (email, role) VALUES ('ada@example.com', 'employee')",
    )
    .await
    .expect("inserting a waitlist entry");
    let before = schema_snapshot(&conn).await;

    for command in [Command::Fresh, Command::Refresh, Command::Reset] {
        // Act
        let result = migration::run::<Migrator>(&conn, command, "production").await;

        // Assert
        match result {
            Err(MigrationError::RefusedInProduction { command: refused }) => {
                assert_eq!(refused, command.name());
            }
            other => panic!("`{command}` in production on {backend} was not refused: {other:?}"),
        }
        assert_eq!(schema_snapshot(&conn).await, before, "after `{command}`");
        assert_eq!(recorded_versions(&conn).await, migration_names());
        assert_eq!(
            text_column(&conn, "SELECT email FROM waitlist_entries").await,
            ["ada@example.com"],
            "the data is gone after `{command}` on {backend}"
        );
    }
}

// ---------------------------------------------------------------------------
// A failing migration

/// Every Groundwork migration, then one that fails half-way.
struct FailingMigrator;

impl MigratorTrait for FailingMigrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = Migrator::migrations();
        migrations.push(Box::new(CreatesATableThenFails));
        migrations
    }
}

/// Creates a table, then runs invalid SQL.
struct CreatesATableThenFails;

const FAILING_MIGRATION: &str = "m29991231_000001_create_a_table_then_fail";
const FAILING_MIGRATION_TABLE: &str = "failing_migration_leftovers";

impl MigrationName for CreatesATableThenFails {
    fn name(&self) -> &str {
        FAILING_MIGRATION
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for CreatesATableThenFails {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        conn.execute_unprepared(&format!(
            "CREATE TABLE {FAILING_MIGRATION_TABLE} (id integer PRIMARY KEY)"
        ))
        .await?;
        conn.execute_unprepared("THIS IS NOT SQL").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP TABLE IF EXISTS {FAILING_MIGRATION_TABLE}"))
            .await
            .map(|_| ())
    }

    /// Like every Groundwork migration: in a transaction on every backend.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

async fn a_failing_migration_leaves_the_schema_as_it_was(backend: Backend) {
    // Arrange
    let db = TestDb::empty(backend).await;
    let conn = db.connect().await;

    // Act
    let result =
        migration::run::<FailingMigrator>(&conn, Command::Up { steps: None }, APP_ENV).await;

    // Assert
    match &result {
        Err(MigrationError::Database(_)) => {}
        other => panic!("the failing migration did not fail on {backend}: {other:?}"),
    }
    let schema = schema_snapshot(&conn).await;
    assert!(
        !schema.tables().iter().any(|t| t == FAILING_MIGRATION_TABLE),
        "the failing migration's table survived on {backend}"
    );
    let recorded = recorded_versions(&conn).await;
    assert!(
        !recorded.iter().any(|v| v == FAILING_MIGRATION),
        "the failing migration was recorded on {backend}"
    );
    assert_eq!(
        recorded,
        migration_names(),
        "the good migrations before it are applied"
    );
    assert_eq!(
        schema,
        fully_migrated_schema(backend).await,
        "the schema on {backend} is not exactly that of the good migrations"
    );
}

async fn adding_failed_at_clears_the_tokens_of_delivered_emails(backend: Backend) {
    // Arrange: before the migration, one delivered and one pending email.
    let db = TestDb::migrated(backend).await;
    let conn = db.connect().await;
    const ADD_FAILED_AT: &str = "m20261123_000013_add_outbox_failed_at";
    let names = migration_names();
    let position = names.iter().position(|n| n == ADD_FAILED_AT).unwrap();
    let steps = u32::try_from(names.len() - position).unwrap();
    let down = run(&conn, Command::Down { steps }).await;
    assert_eq!(
        down.rolled_back.last().map(String::as_str),
        Some(ADD_FAILED_AT)
    );
    let insert = match conn.get_database_backend() {
        DbBackend::Postgres => {
            "INSERT INTO outbox_messages (id, kind, payload, processed_at) VALUES ($1, 'email', $2, $3)"
        }
        _ => {
            "INSERT INTO outbox_messages (id, kind, payload, processed_at) VALUES (?, 'email', ?, ?)"
        }
    };
    let payload = |token: &str| json!({"to": "ada@example.com", "template": "password_reset", "data": {"token": token}});
    let delivered = OutboxMessageId::new().as_uuid();
    let pending = OutboxMessageId::new().as_uuid();
    for (id, token, processed) in [
        (delivered, "delivered-token", Some(chrono::Utc::now())),
        (pending, "pending-token", None),
    ] {
        conn.execute_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            insert,
            [id.into(), payload(token).into(), processed.into()],
        ))
        .await
        .unwrap();
    }

    // Act
    run(&conn, Command::Up { steps: None }).await;

    // Assert
    let payload_of = async |id: Uuid| {
        outbox_messages::Entity::find_by_id(id)
            .one(&conn)
            .await
            .unwrap()
            .unwrap()
            .payload
    };
    assert_eq!(
        payload_of(delivered).await,
        json!({"to": "ada@example.com", "template": "password_reset", "data": {}})
    );
    assert_eq!(payload_of(pending).await, payload("pending-token"));
}

async fn down_in_production_needs_force(backend: Backend) {
    // Arrange
    let db = TestDb::migrated(backend).await;
    let conn = db.connect().await;
    let before = schema_snapshot(&conn).await;
    let down = Command::Down { steps: 1 };

    // Act
    let refused = migration::run::<Migrator>(&conn, down, "production").await;
    let after_refusal = schema_snapshot(&conn).await;
    let forced = migration::run_forced::<Migrator>(&conn, down, "production").await;

    // Assert
    match refused {
        Err(MigrationError::ForceRequired { command }) => assert_eq!(command, "down"),
        other => panic!("`down` in production on {backend} was not refused: {other:?}"),
    }
    assert_eq!(
        after_refusal, before,
        "the refused `down` touched the schema"
    );
    let newest = migration_names().pop().unwrap();
    assert_eq!(forced.unwrap().rolled_back, [newest]);
}

async fn an_unknown_app_env_runs_no_command(backend: Backend) {
    // Arrange
    let db = TestDb::empty(backend).await;
    let conn = db.connect().await;

    // Act
    let results = [
        migration::run::<Migrator>(&conn, Command::Up { steps: None }, "prod").await,
        migration::run_forced::<Migrator>(&conn, Command::Down { steps: 1 }, "prod").await,
    ];

    // Assert
    for result in results {
        match result {
            Err(MigrationError::UnknownEnvironment(e)) => assert_eq!(e.0, "prod"),
            other => panic!("ran under APP_ENV=prod on {backend}: {other:?}"),
        }
    }
    assert!(
        schema_snapshot(&conn).await.tables().is_empty(),
        "nothing was applied"
    );
}

on_both_databases!(
    migrating_down_to_zero_and_up_again_restores_the_same_schema,
    each_migration_rolls_back_one_step_at_a_time_and_applies_again,
    up_on_a_migrated_database_has_nothing_to_do,
    status_reports_every_migration_pending_then_applied,
    destructive_commands_are_refused_in_production,
    a_failing_migration_leaves_the_schema_as_it_was,
    adding_failed_at_clears_the_tokens_of_delivered_emails,
    down_in_production_needs_force,
    an_unknown_app_env_runs_no_command,
);

// ---------------------------------------------------------------------------
// Concurrency: PostgreSQL only. The requirement ("a second concurrent
// `migration up` waits for the first, then finds nothing to do") is for
// PostgreSQL's advisory lock; an embedded SQLite file has one writer anyway.

#[actix_web::test]
async fn concurrent_migrators_on_postgres_apply_each_migration_exactly_once() {
    // Arrange: four operators, each with a connection of its own.
    let db = TestDb::empty(Backend::Postgres).await;
    let (a, b, c, d) = tokio::join!(db.connect(), db.connect(), db.connect(), db.connect());
    let up = Command::Up { steps: None };

    // Act: all at once.
    let results = tokio::join!(
        migration::run::<Migrator>(&a, up, APP_ENV),
        migration::run::<Migrator>(&b, up, APP_ENV),
        migration::run::<Migrator>(&c, up, APP_ENV),
        migration::run::<Migrator>(&d, up, APP_ENV),
    );

    // Assert: every run succeeded, and between them each migration was applied
    // by exactly one run and recorded exactly once.
    let mut applied = Vec::new();
    for (operator, result) in [results.0, results.1, results.2, results.3]
        .into_iter()
        .enumerate()
    {
        match result {
            Ok(outcome) => applied.extend(outcome.applied),
            Err(e) => panic!("concurrent migrator {operator} failed: {e}"),
        }
    }
    let mut names = migration_names();
    applied.sort();
    names.sort();
    assert_eq!(applied, names, "applied between the four runs");

    let counts = text_rows(
        &a,
        "SELECT version, count(*)::text FROM seaql_migrations GROUP BY version ORDER BY version",
    )
    .await;
    let expected: Vec<Vec<Option<String>>> = names
        .iter()
        .map(|name| vec![Some(name.clone()), Some("1".to_owned())])
        .collect();
    assert_eq!(counts, expected, "versions recorded in seaql_migrations");
    assert_eq!(
        schema_snapshot(&a).await,
        fully_migrated_schema(Backend::Postgres).await
    );
}
