//! Schema invariants (`docs/schema.md`), read from the catalog of a migrated
//! database: conventions a new migration could easily break without any other
//! test noticing; and the constraint registry (`infra::constraints`) checked
//! against the indexes and keys it names.

use std::collections::{BTreeMap, BTreeSet};

use domain::error::ConflictKind;
use groundwork_tests::db::{text_column, text_rows};
use groundwork_tests::{Backend, TestDb, on_both_databases};
use infra::constraints::{CONSTRAINTS, Constraint};
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// SeaORM's migration bookkeeping: not ours, so not held to our conventions.
const SEAQL_MIGRATIONS: &str = "seaql_migrations";

/// Unique indexes that must hold across soft deletes, and why. A unique index
/// on a table with `deleted_at` is otherwise partial (`WHERE deleted_at IS
/// NULL`), so that a soft-deleted row's email or slug can be used again.
const UNIQUE_ACROSS_SOFT_DELETES: &[(&str, &str)] = &[
    (
        "idx_invitations_token_hash",
        "a token hash identifies one invitation forever: a deleted invitation's token must not match another",
    ),
    (
        "idx_sessions_token_hash",
        "a token hash identifies one session forever",
    ),
    (
        "idx_verification_tokens_token_hash",
        "a token hash identifies one verification token forever",
    ),
    (
        "idx_accounts_provider_provider_account_id",
        "an external provider key belongs to one account",
    ),
];

/// Index names fixed by the waitlist's original contract (`docs/schema.md`),
/// the documented exceptions to `idx_{table}_{columns}`.
const WAITLIST_INDEX_NAMES: &[&str] = &["waitlist_email_idx", "waitlist_role_idx"];

/// Tables that need not have a `trg_{table}_updated_at` trigger.
const WITHOUT_UPDATED_AT_TRIGGER: &[&str] = &["waitlist_entries"];

/// Triggers other than `trg_{table}_updated_at`: the audit trail's guards.
const GUARD_TRIGGERS: &[&str] = &["trg_audit_logs_append_only", "trg_audit_logs_no_truncate"];

// ---------------------------------------------------------------------------
// Reading the catalog

#[derive(Debug)]
struct IndexInfo {
    table: String,
    name: String,
    /// Key columns in order; `<expr>` for an expression.
    columns: Vec<String>,
    unique: bool,
    primary: bool,
    /// The `WHERE` of a partial index, normalised (see [`normalise`]).
    predicate: Option<String>,
    /// Made by the engine for a constraint (SQLite `sqlite_autoindex_*`).
    implicit: bool,
}

#[derive(Debug)]
struct ForeignKeyInfo {
    table: String,
    /// PostgreSQL's constraint name (SQLite does not keep one).
    name: Option<String>,
    columns: Vec<String>,
    referenced_table: String,
}

/// Lowercase, without quotes and redundant outer parentheses:
/// `("deleted_at" IS NULL)` -> `deleted_at is null`.
fn normalise(expression: &str) -> String {
    let mut text = expression.replace(['"', '`'], "").trim().to_lowercase();
    while text.starts_with('(') && text.ends_with(')') {
        text = text[1..text.len() - 1].trim().to_owned();
    }
    text
}

fn split_columns(list: Option<String>) -> Vec<String> {
    list.unwrap_or_default()
        .split(',')
        .filter(|column| !column.is_empty())
        .map(str::to_owned)
        .collect()
}

fn flag(value: &Option<String>) -> bool {
    matches!(value.as_deref(), Some("true" | "1" | "t"))
}

async fn tables(conn: &DatabaseConnection) -> Vec<String> {
    let sql = match conn.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        }
        _ => {
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
        }
    };
    text_column(conn, sql)
        .await
        .into_iter()
        .filter(|table| table != SEAQL_MIGRATIONS)
        .collect()
}

async fn indexes(conn: &DatabaseConnection) -> Vec<IndexInfo> {
    match conn.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            let rows = text_rows(
                conn,
                "SELECT m.name, p.name, CAST(p.\"unique\" AS TEXT), p.origin,
                        (SELECT group_concat(coalesce(c.name, '<expr>'), ',')
                         FROM (SELECT name FROM pragma_index_info(p.name) ORDER BY seqno) c),
                        (SELECT sql FROM sqlite_master s WHERE s.type = 'index' AND s.name = p.name)
                 FROM sqlite_master m, pragma_index_list(m.name) p
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
            )
            .await;
            rows.into_iter()
                .map(|row| {
                    let [table, name, unique, origin, columns, sql] =
                        <[Option<String>; 6]>::try_from(row).expect("six columns");
                    let sql = sql.unwrap_or_default();
                    let predicate = sql
                        .to_lowercase()
                        .rfind(" where ")
                        .map(|at| normalise(&sql[at + " where ".len()..]));
                    IndexInfo {
                        table: table.unwrap_or_default(),
                        name: name.unwrap_or_default(),
                        columns: split_columns(columns),
                        unique: flag(&unique),
                        primary: origin.as_deref() == Some("pk"),
                        predicate,
                        implicit: origin.as_deref() != Some("c"),
                    }
                })
                .collect()
        }
        _ => {
            let rows = text_rows(
                conn,
                "SELECT t.relname::text, ic.relname::text,
                        (SELECT string_agg(coalesce(a.attname::text, '<expr>'), ',' ORDER BY k.ord)
                         FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                         LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                         WHERE k.ord <= i.indnkeyatts),
                        i.indisunique::text, i.indisprimary::text, pg_get_expr(i.indpred, i.indrelid)
                 FROM pg_index i
                 JOIN pg_class t ON t.oid = i.indrelid
                 JOIN pg_class ic ON ic.oid = i.indexrelid
                 WHERE t.relnamespace = 'public'::regnamespace",
            )
            .await;
            rows.into_iter()
                .map(|row| {
                    let [table, name, columns, unique, primary, predicate] =
                        <[Option<String>; 6]>::try_from(row).expect("six columns");
                    IndexInfo {
                        table: table.unwrap_or_default(),
                        name: name.unwrap_or_default(),
                        columns: split_columns(columns),
                        unique: flag(&unique),
                        primary: flag(&primary),
                        predicate: predicate.as_deref().map(normalise),
                        implicit: false,
                    }
                })
                .collect()
        }
    }
}

async fn foreign_keys(conn: &DatabaseConnection) -> Vec<ForeignKeyInfo> {
    match conn.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            let rows = text_rows(
                conn,
                "SELECT m.name, CAST(p.id AS TEXT), p.\"table\", p.\"from\"
                 FROM sqlite_master m, pragma_foreign_key_list(m.name) p
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                 ORDER BY m.name, p.id, p.seq",
            )
            .await;
            let mut keys: BTreeMap<(String, String), ForeignKeyInfo> = BTreeMap::new();
            for row in rows {
                let [table, id, referenced, column] =
                    <[Option<String>; 4]>::try_from(row).expect("four columns");
                let table = table.unwrap_or_default();
                keys.entry((table.clone(), id.unwrap_or_default()))
                    .or_insert_with(|| ForeignKeyInfo {
                        table,
                        name: None,
                        columns: Vec::new(),
                        referenced_table: referenced.unwrap_or_default(),
                    })
                    .columns
                    .push(column.unwrap_or_default());
            }
            keys.into_values().collect()
        }
        _ => {
            let rows = text_rows(
                conn,
                "SELECT c.conrelid::regclass::text, c.conname::text, c.confrelid::regclass::text,
                        (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord)
                         FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum)
                 FROM pg_constraint c
                 WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace",
            )
            .await;
            rows.into_iter()
                .map(|row| {
                    let [table, name, referenced, columns] =
                        <[Option<String>; 4]>::try_from(row).expect("four columns");
                    ForeignKeyInfo {
                        table: table.unwrap_or_default(),
                        name,
                        columns: split_columns(columns),
                        referenced_table: referenced.unwrap_or_default(),
                    }
                })
                .collect()
        }
    }
}

/// `(table, column) -> (NOT NULL, default, declared type)`.
async fn columns(conn: &DatabaseConnection) -> BTreeMap<(String, String), ColumnInfo> {
    let sql = match conn.get_database_backend() {
        sea_orm::DbBackend::Sqlite => {
            "SELECT m.name, p.name, CAST(p.\"notnull\" AS TEXT), p.dflt_value, p.type
             FROM sqlite_master m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        }
        _ => {
            "SELECT table_name::text, column_name::text, (is_nullable = 'NO')::text,
                    column_default::text, data_type::text
             FROM information_schema.columns WHERE table_schema = 'public'"
        }
    };
    text_rows(conn, sql)
        .await
        .into_iter()
        .map(|row| {
            let [table, column, not_null, default, data_type] =
                <[Option<String>; 5]>::try_from(row).expect("five columns");
            (
                (table.unwrap_or_default(), column.unwrap_or_default()),
                ColumnInfo {
                    not_null: flag(&not_null),
                    default,
                    data_type: data_type.unwrap_or_default(),
                },
            )
        })
        .collect()
}

#[derive(Debug)]
struct ColumnInfo {
    not_null: bool,
    default: Option<String>,
    data_type: String,
}

/// Fails listing every violation at once.
fn assert_none(violations: &[String], rule: &str, backend: Backend) {
    assert!(
        violations.is_empty(),
        "{rule} ({backend}); violations:\n  {}",
        violations.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// On both databases

async fn every_foreign_key_leads_an_index(backend: Backend) {
    // Arrange
    let db = TestDb::migrated(backend).await;
    let conn = db.connect().await;

    // Act
    let keys = foreign_keys(&conn).await;
    let indexes = indexes(&conn).await;

    // Assert: some non-partial index starts with the key's columns (in any
    // order), so that joins and `ON DELETE CASCADE` (which reaches soft-deleted
    // rows too) do not scan the table.
    assert!(!keys.is_empty(), "no foreign keys found on {backend}");
    let violations: Vec<String> = keys
        .iter()
        .filter(|key| {
            let wanted: BTreeSet<&String> = key.columns.iter().collect();
            !indexes.iter().any(|index| {
                index.table == key.table
                    && index.predicate.is_none()
                    && index.columns.len() >= wanted.len()
                    && index.columns[..wanted.len()]
                        .iter()
                        .collect::<BTreeSet<_>>()
                        == wanted
            })
        })
        .map(|key| {
            format!(
                "{}.({}) -> {} ({})",
                key.table,
                key.columns.join(", "),
                key.referenced_table,
                key.name.as_deref().unwrap_or("unnamed")
            )
        })
        .collect();
    assert_none(
        &violations,
        "every foreign key's columns lead some non-partial index",
        backend,
    );
}

async fn unique_indexes_on_soft_deletable_tables_cover_live_rows_only(backend: Backend) {
    // Arrange
    let db = TestDb::migrated(backend).await;
    let conn = db.connect().await;

    // Act
    let columns = columns(&conn).await;
    let soft_deletable: BTreeSet<&str> = columns
        .keys()
        .filter(|(_, column)| column == "deleted_at")
        .map(|(table, _)| table.as_str())
        .collect();
    let indexes = indexes(&conn).await;

    // Assert
    assert!(
        !soft_deletable.is_empty(),
        "no soft-deletable table found on {backend}"
    );
    let violations: Vec<String> = indexes
        .iter()
        .filter(|index| index.unique && !index.primary)
        .filter(|index| soft_deletable.contains(index.table.as_str()))
        .filter(|index| {
            !UNIQUE_ACROSS_SOFT_DELETES
                .iter()
                .any(|(name, _)| *name == index.name)
        })
        .filter(|index| index.predicate.as_deref() != Some("deleted_at is null"))
        .map(|index| {
            format!(
                "{} on {}({}) WHERE {}",
                index.name,
                index.table,
                index.columns.join(", "),
                index.predicate.as_deref().unwrap_or("-")
            )
        })
        .collect();
    assert_none(
        &violations,
        "a unique index on a soft-deletable table is partial: WHERE deleted_at IS NULL",
        backend,
    );

    // The exceptions are real indexes (so that the list does not rot).
    for (name, why) in UNIQUE_ACROSS_SOFT_DELETES {
        assert!(
            indexes
                .iter()
                .any(|index| index.name == *name && index.unique),
            "the listed exception {name} ({why}) is not a unique index on {backend}"
        );
    }
}

async fn every_table_has_created_at_and_updated_at_not_null_with_a_default(backend: Backend) {
    // Arrange
    let db = TestDb::migrated(backend).await;
    let conn = db.connect().await;

    // Act
    let tables = tables(&conn).await;
    let columns = columns(&conn).await;

    // Assert
    assert!(!tables.is_empty(), "no tables on {backend}");
    let mut violations = Vec::new();
    for table in &tables {
        for name in ["created_at", "updated_at"] {
            match columns.get(&(table.clone(), name.to_owned())) {
                None => violations.push(format!("{table}.{name} is missing")),
                Some(column) => {
                    if !column.not_null {
                        violations.push(format!("{table}.{name} is nullable"));
                    }
                    if column.default.is_none() {
                        violations.push(format!("{table}.{name} has no default"));
                    }
                    if backend == Backend::Postgres
                        && column.data_type != "timestamp with time zone"
                    {
                        violations.push(format!(
                            "{table}.{name} is {}, not timestamptz",
                            column.data_type
                        ));
                    }
                }
            }
        }
    }
    assert_none(
        &violations,
        "every table has created_at and updated_at, NOT NULL with a default",
        backend,
    );
}

async fn every_table_has_a_primary_key(backend: Backend) {
    // Arrange
    let db = TestDb::migrated(backend).await;
    let conn = db.connect().await;

    // Act
    let tables = tables(&conn).await;
    let sql = match backend {
        Backend::Postgres => {
            "SELECT conrelid::regclass::text FROM pg_constraint \
             WHERE contype = 'p' AND connamespace = 'public'::regnamespace"
        }
        Backend::Sqlite => {
            "SELECT DISTINCT m.name FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND p.pk > 0"
        }
    };
    let with_key: BTreeSet<String> = text_column(&conn, sql).await.into_iter().collect();

    // Assert
    let violations: Vec<String> = tables
        .into_iter()
        .filter(|table| !with_key.contains(table))
        .collect();
    assert_none(&violations, "every table has a primary key", backend);
}

async fn index_names_follow_the_convention(backend: Backend) {
    // Arrange
    let db = TestDb::migrated(backend).await;
    let conn = db.connect().await;

    // Act
    let indexes = indexes(&conn).await;

    // Assert: `idx_{table}_{columns}`, except the waitlist's documented names.
    let violations: Vec<String> = indexes
        .iter()
        .filter(|index| !index.primary && !index.implicit && index.table != SEAQL_MIGRATIONS)
        .filter(|index| !WAITLIST_INDEX_NAMES.contains(&index.name.as_str()))
        .filter(|index| {
            let prefix = format!("idx_{}_", index.table);
            if index.columns.iter().any(|column| column == "<expr>") {
                !index.name.starts_with(&prefix)
            } else {
                index.name != format!("{prefix}{}", index.columns.join("_"))
            }
        })
        .map(|index| {
            format!(
                "{} on {}({}): expected idx_{}_{}",
                index.name,
                index.table,
                index.columns.join(", "),
                index.table,
                index.columns.join("_")
            )
        })
        .collect();
    assert_none(
        &violations,
        "indexes are named idx_{table}_{columns}",
        backend,
    );
    for name in WAITLIST_INDEX_NAMES {
        assert!(
            indexes.iter().any(|index| index.name == *name),
            "the waitlist index {name} is missing on {backend}"
        );
    }
}

// ---------------------------------------------------------------------------
// The constraint registry (`infra::constraints`): a violation is mapped to its
// 409 or 404 by the name PostgreSQL reports, or by the table and columns SQLite
// reports. An entry that no longer matches the schema turns that answer into a
// 500 without any other test noticing.

/// What the registry is checked against: the catalog of one migrated database.
struct Catalog {
    indexes: Vec<IndexInfo>,
    keys: Vec<ForeignKeyInfo>,
    /// SQLite: table -> its `CREATE TABLE` statement (empty on PostgreSQL).
    create_statements: BTreeMap<String, String>,
}

async fn catalog(conn: &DatabaseConnection) -> Catalog {
    let create_statements = match conn.get_database_backend() {
        sea_orm::DbBackend::Sqlite => text_rows(
            conn,
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
        )
        .await
        .into_iter()
        .map(|row| {
            let [table, sql] = <[Option<String>; 2]>::try_from(row).expect("two columns");
            (table.unwrap_or_default(), sql.unwrap_or_default())
        })
        .collect(),
        _ => BTreeMap::new(),
    };
    Catalog {
        indexes: indexes(conn).await,
        keys: foreign_keys(conn).await,
        create_statements,
    }
}

/// Lowercase, without quotes or whitespace, so that formatting does not
/// matter: `CONSTRAINT "fk_a_b" FOREIGN KEY ("b_id") REFERENCES "b" ("id")`
/// -> `constraintfk_a_bforeignkey(b_id)referencesb(id)`.
fn squeezed(sql: &str) -> String {
    sql.chars()
        .filter(|c| !c.is_whitespace() && !['"', '`', '[', ']'].contains(c))
        .collect::<String>()
        .to_lowercase()
}

/// How `entry` differs from the schema in `catalog`, one line per difference
/// (none when it names a real unique index on exactly its columns, in order,
/// or a real foreign key from its columns to its referenced table).
fn drift(entry: &Constraint, catalog: &Catalog, backend: Backend) -> Vec<String> {
    let name = entry.name;
    let wanted = format!("{}({})", entry.table, entry.columns.join(", "));
    let mut problems = Vec::new();
    match (entry.kind, entry.references) {
        (ConflictKind::Unique, None) => {
            match catalog.indexes.iter().find(|index| index.name == name) {
                None => problems.push(format!(
                    "{name}: no index of that name (the registry says unique on {wanted})"
                )),
                Some(index) => {
                    let found = format!("{}({})", index.table, index.columns.join(", "));
                    if found != wanted {
                        problems.push(format!(
                            "{name}: the index is on {found}, the registry says {wanted}"
                        ));
                    }
                    if !index.unique {
                        problems.push(format!("{name}: the index on {found} is not unique"));
                    }
                }
            }
        }
        (ConflictKind::MissingReference, Some(references)) => {
            let wanted_key = format!("{wanted} -> {references}");
            let show = |key: &ForeignKeyInfo| {
                format!(
                    "{}({}) -> {}",
                    key.table,
                    key.columns.join(", "),
                    key.referenced_table
                )
            };
            match backend {
                // PostgreSQL keeps the name: the key of that name must be this one.
                Backend::Postgres => {
                    match catalog
                        .keys
                        .iter()
                        .find(|key| key.name.as_deref() == Some(name))
                    {
                        None => problems.push(format!(
                            "{name}: no foreign key of that name (the registry says {wanted_key})"
                        )),
                        Some(key) if show(key) != wanted_key => problems.push(format!(
                            "{name}: the foreign key is {}, the registry says {wanted_key}",
                            show(key)
                        )),
                        Some(_) => {}
                    }
                }
                // SQLite keeps no foreign-key name (its pragma has none, and
                // sea-query's SQLite builder does not even write the
                // `CONSTRAINT` clause): the key must exist from these columns
                // to that table, and if its CREATE TABLE names it after all,
                // by this name. (The name is held to the schema on PostgreSQL.)
                Backend::Sqlite => {
                    if !catalog.keys.iter().any(|key| show(key) == wanted_key) {
                        let on_table: Vec<String> = catalog
                            .keys
                            .iter()
                            .filter(|key| key.table == entry.table)
                            .map(show)
                            .collect();
                        problems.push(format!(
                            "{name}: no foreign key {wanted_key}; {} has: {}",
                            entry.table,
                            if on_table.is_empty() {
                                "none".to_owned()
                            } else {
                                on_table.join("; ")
                            }
                        ));
                    }
                    let sql = squeezed(
                        catalog
                            .create_statements
                            .get(entry.table)
                            .map_or("", String::as_str),
                    );
                    let clause = squeezed(&format!(
                        "FOREIGN KEY ({}) REFERENCES {references}(",
                        entry.columns.join(",")
                    ));
                    for (at, _) in sql.match_indices(&clause) {
                        let before = &sql[..at];
                        let element = &before[before.rfind([',', '(']).map_or(0, |i| i + 1)..];
                        if let Some(named) = element.strip_prefix("constraint")
                            && named != name
                        {
                            problems.push(format!(
                                "{name}: the CREATE TABLE of {} names this foreign key {named}",
                                entry.table
                            ));
                        }
                    }
                }
            }
        }
        (kind, references) => problems.push(format!(
            "{name}: a {kind:?} entry referencing {references:?} is neither a unique index \
             nor a foreign key"
        )),
    }
    problems
}

async fn every_registered_constraint_is_in_the_schema(backend: Backend) {
    // Arrange
    let db = TestDb::migrated(backend).await;
    let conn = db.connect().await;

    // Act
    let catalog = catalog(&conn).await;

    // Assert
    assert!(!CONSTRAINTS.is_empty(), "the registry is empty");
    let violations: Vec<String> = CONSTRAINTS
        .iter()
        .flat_map(|entry| drift(entry, &catalog, backend))
        .collect();
    assert_none(
        &violations,
        "every entry of infra::constraints::CONSTRAINTS names a real unique index on \
         its columns or a real foreign key to its table; fix the entry or the migration",
        backend,
    );
}

async fn a_registry_entry_that_drifted_from_the_schema_is_caught(backend: Backend) {
    // Arrange: each real entry, spoiled one way at a time.
    let db = TestDb::migrated(backend).await;
    let conn = db.connect().await;
    let catalog = catalog(&conn).await;
    let mut spoiled = Vec::new();
    for entry in CONSTRAINTS {
        let other_table = if entry.table == "users" {
            "organizations"
        } else {
            "users"
        };
        // SQLite keeps no foreign-key names: a renamed key is caught on PostgreSQL.
        if entry.references.is_none() || backend == Backend::Postgres {
            spoiled.push((
                "renamed",
                Constraint {
                    name: "idx_no_such_thing",
                    ..*entry
                },
            ));
        }
        spoiled.push((
            "on another table",
            Constraint {
                table: other_table,
                ..*entry
            },
        ));
        spoiled.push((
            "on another column",
            Constraint {
                columns: &["id"],
                ..*entry
            },
        ));
        if entry.columns.len() > 1 {
            let reversed: Vec<&'static str> = entry.columns.iter().rev().copied().collect();
            spoiled.push((
                "with its columns reversed",
                Constraint {
                    columns: reversed.leak(),
                    ..*entry
                },
            ));
        }
        if entry.references.is_some() {
            spoiled.push((
                "referencing another table",
                Constraint {
                    references: Some(if entry.references == Some("users") {
                        "organizations"
                    } else {
                        "users"
                    }),
                    ..*entry
                },
            ));
            spoiled.push((
                "taken for a unique index",
                Constraint {
                    kind: ConflictKind::Unique,
                    references: None,
                    ..*entry
                },
            ));
        } else {
            spoiled.push((
                "taken for a foreign key",
                Constraint {
                    kind: ConflictKind::MissingReference,
                    references: Some(other_table),
                    ..*entry
                },
            ));
        }
    }

    // Act
    let missed: Vec<String> = spoiled
        .iter()
        .filter(|(_, entry)| drift(entry, &catalog, backend).is_empty())
        .map(|(how, entry)| format!("{} {how}: {entry:?}", entry.name))
        .collect();

    // Assert
    assert_none(
        &missed,
        "a registry entry that does not match the schema is reported",
        backend,
    );
}

on_both_databases!(
    every_foreign_key_leads_an_index,
    unique_indexes_on_soft_deletable_tables_cover_live_rows_only,
    every_table_has_created_at_and_updated_at_not_null_with_a_default,
    every_table_has_a_primary_key,
    index_names_follow_the_convention,
    every_registered_constraint_is_in_the_schema,
    a_registry_entry_that_drifted_from_the_schema_is_caught,
);

// ---------------------------------------------------------------------------
// PostgreSQL only: SQLite keeps no constraint names and has no triggers here
// (the application maintains `updated_at` there).

#[actix_web::test]
async fn constraint_names_follow_the_conventions_on_postgres() {
    // Arrange
    let db = TestDb::migrated(Backend::Postgres).await;
    let conn = db.connect().await;

    // Act
    let constraints = text_rows(
        &conn,
        "SELECT c.conrelid::regclass::text, c.conname::text, c.contype::text,
                c.confrelid::regclass::text,
                (SELECT string_agg(a.attname::text, ',' ORDER BY a.attname)
                 FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey))
         FROM pg_constraint c
         WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('f', 'c', 'u', 'x')",
    )
    .await;
    let columns = columns(&conn).await;

    // Assert: foreign keys `fk_{table}_{referenced}`, checks `chk_{table}_{column}`;
    // uniqueness is a unique index (`idx_...`), not a constraint.
    assert!(!constraints.is_empty(), "no constraints found");
    let mut violations = Vec::new();
    for row in constraints {
        let [table, name, kind, referenced, _columns] =
            <[Option<String>; 5]>::try_from(row).expect("five columns");
        let (table, name) = (table.unwrap_or_default(), name.unwrap_or_default());
        if table == SEAQL_MIGRATIONS {
            continue;
        }
        match kind.as_deref() {
            Some("f") => {
                let expected = format!("fk_{table}_{}", referenced.unwrap_or_default());
                if !name.starts_with(&expected) {
                    violations.push(format!("foreign key {name} on {table}: expected {expected}"));
                }
            }
            Some("c") => {
                let names_a_column = name
                    .strip_prefix(&format!("chk_{table}_"))
                    .is_some_and(|column| columns.contains_key(&(table.clone(), column.to_owned())));
                if !names_a_column {
                    violations.push(format!(
                        "check {name} on {table}: expected chk_{table}_{{column}}"
                    ));
                }
            }
            _ => violations.push(format!(
                "{name} on {table}: a unique or exclusion constraint; use a unique index idx_{table}_..."
            )),
        }
    }
    assert_none(
        &violations,
        "constraints are named fk_{table}_{referenced} and chk_{table}_{column}",
        Backend::Postgres,
    );
}

#[actix_web::test]
async fn every_table_has_an_updated_at_trigger_on_postgres() {
    // Arrange
    let db = TestDb::migrated(Backend::Postgres).await;
    let conn = db.connect().await;

    // Act
    let tables = tables(&conn).await;
    let triggers: BTreeMap<String, (String, String)> = text_rows(
        &conn,
        "SELECT t.tgname::text, t.tgrelid::regclass::text, pg_get_triggerdef(t.oid)
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal",
    )
    .await
    .into_iter()
    .map(|row| {
        let [name, table, definition] = <[Option<String>; 3]>::try_from(row).expect("three");
        (
            name.unwrap_or_default(),
            (table.unwrap_or_default(), definition.unwrap_or_default()),
        )
    })
    .collect();

    // Assert
    let mut violations = Vec::new();
    for table in &tables {
        let name = format!("trg_{table}_updated_at");
        match triggers.get(&name) {
            None if WITHOUT_UPDATED_AT_TRIGGER.contains(&table.as_str()) => {}
            None => violations.push(format!("{table} has no trigger {name}")),
            Some((_, definition)) => {
                let expected = "BEFORE UPDATE ON";
                let calls = "FOR EACH ROW EXECUTE FUNCTION update_updated_at_column()";
                if !definition.contains(expected) || !definition.contains(calls) {
                    violations.push(format!(
                        "{name} is not `{expected} ... {calls}`: {definition}"
                    ));
                }
            }
        }
    }
    for (name, (table, _)) in &triggers {
        if *name != format!("trg_{table}_updated_at") && !GUARD_TRIGGERS.contains(&name.as_str()) {
            violations.push(format!(
                "trigger {name} on {table} is not trg_{{table}}_updated_at"
            ));
        }
    }
    assert_none(
        &violations,
        "every table has a BEFORE UPDATE trigger trg_{table}_updated_at",
        Backend::Postgres,
    );
}

#[actix_web::test]
async fn updating_a_row_moves_its_updated_at_on_postgres() {
    // Arrange: a row last updated long ago.
    let db = TestDb::migrated(Backend::Postgres).await;
    let conn = db.connect().await;
    conn.execute_unprepared(
        "INSERT INTO organizations (id, name, slug, created_at, updated_at)
         VALUES (gen_random_uuid(), 'Acme', 'acme', '2000-01-01T00:00:00Z', '2000-01-01T00:00:00Z')",
    )
    .await
    .expect("inserting an organization");

    // Act: an update that does not mention updated_at.
    conn.execute_unprepared("UPDATE organizations SET name = 'Acme Inc' WHERE slug = 'acme'")
        .await
        .expect("updating the organization");

    // Assert
    let moved = text_column(
        &conn,
        "SELECT (updated_at > now() - interval '1 hour' AND created_at = '2000-01-01T00:00:00Z')::text
         FROM organizations WHERE slug = 'acme'",
    )
    .await;
    assert_eq!(
        moved,
        ["true"],
        "updated_at did not move (or created_at did)"
    );
}
