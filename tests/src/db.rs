//! A fresh database per test, on PostgreSQL or SQLite, removed when dropped.
//!
//! ```no_run
//! use groundwork_tests::db::{Backend, TestDb};
//!
//! async fn waitlist_starts_empty(backend: Backend) {
//!     let db = TestDb::migrated(backend).await; // the whole schema, no rows
//!     let conn = db.connect().await;
//!     // ... arrange / act / assert against `conn` or `db.url()` ...
//! }
//!
//! groundwork_tests::on_both_databases!(waitlist_starts_empty);
//! ```
//!
//! PostgreSQL: the process's server (see [`crate::postgres::server`]) holds a
//! template database migrated once per process; each test gets
//! `CREATE DATABASE test_<ulid> TEMPLATE <template>` (or a plain, empty
//! `CREATE DATABASE` for [`TestDb::empty`]), dropped `WITH (FORCE)` on drop.
//! SQLite: each test gets a copy of a template file migrated once per process
//! (or a new, empty file), deleted on drop. Tests running in parallel threads
//! never share a database.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};

use crate::{postgres, sqlite};

/// The database engines the suite runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// Both engines, PostgreSQL first.
    pub const ALL: [Backend; 2] = [Backend::Postgres, Backend::Sqlite];

    /// SeaORM's name for the engine.
    pub fn db_backend(self) -> DbBackend {
        match self {
            Backend::Postgres => DbBackend::Postgres,
            Backend::Sqlite => DbBackend::Sqlite,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        })
    }
}

/// A database of its own for one test; removed when dropped.
#[derive(Debug)]
pub struct TestDb {
    backend: Backend,
    url: String,
    location: Location,
}

#[derive(Debug)]
enum Location {
    Postgres { name: String },
    Sqlite { path: PathBuf },
}

impl TestDb {
    /// A new database with every migration applied (and no rows).
    ///
    /// # Panics
    /// When the database cannot be created (the message says why).
    pub async fn migrated(backend: Backend) -> TestDb {
        let name = new_name();
        match backend {
            Backend::Postgres => {
                // Blocks this thread the first time (server start, template
                // migration); other tests wait for the same initialisation.
                let template = postgres::migrated_template();
                let server = postgres::server();
                postgres::create_database(server.admin_url(), &name, Some(template)).await;
                TestDb::on_postgres(name)
            }
            Backend::Sqlite => TestDb::on_sqlite(sqlite::copy_of_template(&name)),
        }
    }

    /// A new database with nothing in it: no migration applied, not even
    /// SeaORM's `seaql_migrations` table.
    ///
    /// # Panics
    /// When the database cannot be created.
    pub async fn empty(backend: Backend) -> TestDb {
        let name = new_name();
        match backend {
            Backend::Postgres => {
                postgres::create_database(postgres::server().admin_url(), &name, None).await;
                TestDb::on_postgres(name)
            }
            Backend::Sqlite => TestDb::on_sqlite(sqlite::new_path(&name)),
        }
    }

    fn on_postgres(name: String) -> TestDb {
        TestDb {
            backend: Backend::Postgres,
            url: postgres::server().url(&name),
            location: Location::Postgres { name },
        }
    }

    fn on_sqlite(path: PathBuf) -> TestDb {
        TestDb {
            backend: Backend::Sqlite,
            url: sqlite::url(&path),
            location: Location::Sqlite { path },
        }
    }

    /// The database's URL (`postgres://...` or `sqlite://...?mode=rwc`), e.g.
    /// for the application's `DATABASE_URL`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The engine this database runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A new connection pool to this database (at most 5 connections).
    ///
    /// # Panics
    /// When the database cannot be reached.
    pub async fn connect(&self) -> DatabaseConnection {
        connect(&self.url, 5).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.location {
            Location::Postgres { name } => {
                let admin_url = postgres::server().admin_url().to_owned();
                // Drop may run inside the test's runtime: the DROP runs on a
                // thread of its own with a runtime of its own.
                let dropped = std::thread::scope(|scope| {
                    scope
                        .spawn(|| {
                            tokio::runtime::Builder::new_current_thread()
                                .enable_all()
                                .build()
                                .map_err(|e| e.to_string())
                                .and_then(|runtime| {
                                    runtime
                                        .block_on(postgres::drop_database(&admin_url, name))
                                        .map_err(|e| e.to_string())
                                })
                        })
                        .join()
                });
                match dropped {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("warning: cannot drop test database {name}: {e}"),
                    Err(_) => eprintln!("warning: dropping test database {name} panicked"),
                }
            }
            Location::Sqlite { path } => sqlite::remove(path),
        }
    }
}

/// `test_<ulid>`: unique, a valid unquoted identifier, and datable (so that a
/// crashed process's leftovers on a shared server can be recognised).
fn new_name() -> String {
    format!("test_{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// Connects to `url` with a pool of at most `max_connections` and fail-fast timeouts.
///
/// # Panics
/// When the database cannot be reached.
pub async fn connect(url: &str, max_connections: u32) -> DatabaseConnection {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(0)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

/// Runs async work to completion on a new thread with a tokio runtime of its
/// own, so that no pool made there outlives its runtime or borrows the
/// caller's. A panic in `work` resumes in the caller.
pub fn on_own_runtime<F, Fut, T>(work: F) -> T
where
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = T>,
    T: Send,
{
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("cannot build a tokio runtime: {e}"))
                .block_on(work())
        });
        match worker.join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

// ---------------------------------------------------------------------------
// Reading the catalog
// ---------------------------------------------------------------------------

/// Runs `sql` and returns every row as text columns (`None` for NULL). Cast
/// non-text columns to text in the query (`::text`, `CAST(x AS TEXT)`).
///
/// # Panics
/// When the query fails.
pub async fn text_rows(db: &DatabaseConnection, sql: &str) -> Vec<Vec<Option<String>>> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|e| panic!("catalog query failed: {e}\n{sql}"));
    rows.iter()
        .map(|row| {
            (0..row.column_names().len())
                .map(|i| {
                    row.try_get_by_index::<Option<String>>(i)
                        .unwrap_or_else(|e| panic!("column {i} is not text: {e}\n{sql}"))
                })
                .collect()
        })
        .collect()
}

/// Runs `sql` and returns the first column of every row (NULL as "").
pub async fn text_column(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    text_rows(db, sql)
        .await
        .into_iter()
        .map(|row| row.into_iter().next().flatten().unwrap_or_default())
        .collect()
}

/// Everything the catalog says about a database's schema, section by section
/// (`tables`, `columns`, `constraints`, `indexes`, ...), each a sorted list of
/// `a | b | c` lines: two snapshots are equal when the schemas are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaSnapshot {
    pub sections: BTreeMap<&'static str, Vec<String>>,
}

impl SchemaSnapshot {
    /// The names of the tables, sorted (SQLite's internal tables excluded).
    pub fn tables(&self) -> Vec<String> {
        self.sections.get("tables").cloned().unwrap_or_default()
    }

    /// The lines of one section (empty when there is no such section).
    pub fn section(&self, name: &str) -> &[String] {
        self.sections.get(name).map_or(&[], Vec::as_slice)
    }
}

const POSTGRES_SNAPSHOT: &[(&str, &str)] = &[
    (
        "tables",
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    ),
    (
        "columns",
        // The column's rank, not its `ordinal_position` (`attnum`): a column
        // dropped and added again (a migration's down, then up) leaves a gap
        // there, though the table is the same.
        "SELECT table_name::text,
                (row_number() OVER (PARTITION BY table_name ORDER BY ordinal_position))::text,
                column_name::text, data_type::text,
                udt_name::text, is_nullable::text, column_default::text, is_identity::text,
                identity_generation::text, character_maximum_length::text
         FROM information_schema.columns WHERE table_schema = 'public'",
    ),
    (
        "constraints",
        "SELECT c.conrelid::regclass::text, c.conname::text, c.contype::text,
                pg_get_constraintdef(c.oid)
         FROM pg_constraint c WHERE c.connamespace = 'public'::regnamespace",
    ),
    (
        "indexes",
        "SELECT tablename::text, indexname::text, indexdef::text
         FROM pg_indexes WHERE schemaname = 'public'",
    ),
    (
        "triggers",
        "SELECT t.tgrelid::regclass::text, t.tgname::text, pg_get_triggerdef(t.oid)
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal",
    ),
    (
        "functions",
        "SELECT p.proname::text, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
         FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace",
    ),
    (
        "sequences",
        "SELECT c.relname::text, s.seqtypid::regtype::text, s.seqstart::text,
                s.seqincrement::text, s.seqcycle::text
         FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
         WHERE c.relnamespace = 'public'::regnamespace",
    ),
    (
        "types",
        "SELECT t.typname::text, t.typtype::text FROM pg_type t
         WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd', 'c')
           AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid)",
    ),
];

const SQLITE_SNAPSHOT: &[(&str, &str)] = &[
    (
        "tables",
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    ),
    (
        "objects",
        "SELECT type, name, tbl_name, sql FROM sqlite_master
         WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    ),
    (
        "columns",
        "SELECT m.name, CAST(p.cid AS TEXT), p.name, p.type, CAST(p.\"notnull\" AS TEXT),
                p.dflt_value, CAST(p.pk AS TEXT)
         FROM sqlite_master m, pragma_table_info(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    ),
    (
        "indexes",
        "SELECT m.name, p.name, CAST(p.\"unique\" AS TEXT), p.origin, CAST(p.partial AS TEXT),
                (SELECT group_concat(i.name, ',') FROM pragma_index_info(p.name) i)
         FROM sqlite_master m, pragma_index_list(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    ),
    (
        "foreign_keys",
        "SELECT m.name, CAST(p.id AS TEXT), CAST(p.seq AS TEXT), p.\"table\", p.\"from\", p.\"to\",
                p.on_update, p.on_delete, p.\"match\"
         FROM sqlite_master m, pragma_foreign_key_list(m.name) p
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    ),
];

/// Reads the schema of `db` from the catalog: PostgreSQL's
/// `information_schema` and `pg_catalog` (tables, columns with type,
/// nullability and default, constraints as `pg_get_constraintdef`, indexes as
/// `indexdef`, triggers, functions, sequences, types) or SQLite's
/// `sqlite_master` and `pragma_table_info` / `pragma_index_list` /
/// `pragma_foreign_key_list`.
pub async fn schema_snapshot(db: &DatabaseConnection) -> SchemaSnapshot {
    let queries = match db.get_database_backend() {
        DbBackend::Postgres => POSTGRES_SNAPSHOT,
        DbBackend::Sqlite => SQLITE_SNAPSHOT,
        other => panic!("no schema snapshot for {other:?}"),
    };
    let mut sections = BTreeMap::new();
    for (section, sql) in queries {
        let mut lines: Vec<String> = text_rows(db, sql)
            .await
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|value| value.unwrap_or_else(|| "NULL".to_owned()))
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect();
        lines.sort();
        sections.insert(*section, lines);
    }
    SchemaSnapshot { sections }
}

/// Runs one async test body on PostgreSQL and on SQLite: for each
/// `async fn name(backend: Backend)` given, a module `name` with two tests,
/// `name::postgres` and `name::sqlite`, each on actix's runtime (so that
/// actix's HTTP client works inside).
///
/// ```text
/// async fn round_trip_restores_the_schema(backend: Backend) { /* ... */ }
/// groundwork_tests::on_both_databases!(round_trip_restores_the_schema, other_test);
/// ```
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[::actix_web::test]
                async fn postgres() {
                    super::$name($crate::db::Backend::Postgres).await;
                }

                #[::actix_web::test]
                async fn sqlite() {
                    super::$name($crate::db::Backend::Sqlite).await;
                }
            }
        )+
    };
}
