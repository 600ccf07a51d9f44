//! Fault injection on the real database: a trigger that makes every INSERT into
//! (or UPDATE of) a table fail, so a test can break a late step of a request and
//! check that nothing of the request remains.

use infra::Database;
use sea_orm::{ConnectionTrait, DbBackend};

/// A kind of write a trigger can refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// `INSERT`
    Insert,
    /// `UPDATE`
    Update,
}

impl Write {
    fn sql(self) -> &'static str {
        match self {
            Self::Insert => "INSERT",
            Self::Update => "UPDATE",
        }
    }
}

/// From now on, every INSERT into `table` fails with an error.
pub async fn fail_inserts_into(db: &Database, table: &str) {
    fail_writes(db, table, Write::Insert).await;
}

/// From now on, every `write` on `table` fails with an error.
pub async fn fail_writes(db: &Database, table: &str, write: Write) {
    let conn = db.conn();
    let event = write.sql();
    let statements = match db.backend() {
        DbBackend::Postgres => vec![
            "CREATE OR REPLACE FUNCTION groundwork_test_fail() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql"
                .to_owned(),
            format!(
                "CREATE TRIGGER groundwork_test_fail_{table} BEFORE {event} ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION groundwork_test_fail()"
            ),
        ],
        _ => vec![format!(
            "CREATE TRIGGER groundwork_test_fail_{table} BEFORE {event} ON {table} \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )],
    };
    for sql in statements {
        conn.execute_unprepared(&sql)
            .await
            .unwrap_or_else(|e| panic!("installing the failing trigger: {e}"));
    }
}

/// Undoes [`fail_inserts_into`] or [`fail_writes`] on `table`.
pub async fn allow_writes(db: &Database, table: &str) {
    let sql = match db.backend() {
        DbBackend::Postgres => format!("DROP TRIGGER groundwork_test_fail_{table} ON {table}"),
        _ => format!("DROP TRIGGER groundwork_test_fail_{table}"),
    };
    db.conn()
        .execute_unprepared(&sql)
        .await
        .unwrap_or_else(|e| panic!("dropping the failing trigger: {e}"));
}

/// How many rows `table` holds (deleted or not).
pub async fn count_rows(db: &Database, table: &str) -> i64 {
    let row = db
        .conn()
        .query_one_raw(sea_orm::Statement::from_string(
            db.backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .unwrap_or_else(|e| panic!("counting {table}: {e}"))
        .unwrap_or_else(|| panic!("counting {table}: no row"));
    row.try_get::<i64>("", "n")
        .unwrap_or_else(|e| panic!("counting {table}: {e}"))
}
