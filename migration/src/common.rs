//! Building blocks shared by every migration, so that each migration file only
//! states *what* its table looks like (see `docs/schema.md`).
//!
//! Everything here produces the same statements on PostgreSQL and SQLite except
//! where noted: the `updated_at` trigger (PostgreSQL only; on SQLite the
//! application maintains `updated_at`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// The PostgreSQL trigger function created by the first migration.
pub(crate) const UPDATED_AT_FUNCTION: &str = "update_updated_at_column";

/// Columns every table (or every soft-deletable table) has.
#[derive(DeriveIden)]
pub(crate) enum Common {
    Id,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

/// `id uuid NOT NULL PRIMARY KEY` (`uuid_text` on SQLite, holding the 16-byte
/// value SeaORM binds).
pub(crate) fn id_column() -> ColumnDef {
    ColumnDef::new(Common::Id)
        .uuid()
        .not_null()
        .primary_key()
        .take()
}

/// A `uuid NOT NULL` column, e.g. a foreign key.
pub(crate) fn uuid<C: IntoIden>(name: C) -> ColumnDef {
    ColumnDef::new(name).uuid().not_null().take()
}

/// A `text NOT NULL` column.
pub(crate) fn text<C: IntoIden>(name: C) -> ColumnDef {
    ColumnDef::new(name).text().not_null().take()
}

/// A nullable `text` column.
pub(crate) fn text_null<C: IntoIden>(name: C) -> ColumnDef {
    ColumnDef::new(name).text().null().take()
}

/// A `boolean NOT NULL DEFAULT <value>` column.
pub(crate) fn boolean_default<C: IntoIden>(name: C, value: bool) -> ColumnDef {
    ColumnDef::new(name)
        .boolean()
        .not_null()
        .default(value)
        .take()
}

/// A `timestamptz NOT NULL` column.
pub(crate) fn timestamptz<C: IntoIden>(name: C) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .take()
}

/// A nullable `timestamptz` column.
pub(crate) fn timestamptz_null<C: IntoIden>(name: C) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .null()
        .take()
}

/// A `timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP` column.
pub(crate) fn timestamptz_default_now<C: IntoIden>(name: C) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .default(Expr::current_timestamp())
        .take()
}

/// Adds `created_at` and `updated_at` (`timestamptz NOT NULL DEFAULT now`).
pub(crate) fn timestamps(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(timestamptz_default_now(Common::CreatedAt))
        .col(timestamptz_default_now(Common::UpdatedAt))
}

/// Adds `created_at`, `updated_at` and the soft-delete marker `deleted_at timestamptz NULL`.
pub(crate) fn timestamps_soft_delete(
    table: &mut TableCreateStatement,
) -> &mut TableCreateStatement {
    timestamps(table).col(timestamptz_null(Common::DeletedAt))
}

/// A named `CHECK (column IN (...))`: how enums are stored (`text` + a check).
pub(crate) fn check_one_of<C: IntoIden>(
    name: &'static str,
    column: C,
    values: &[&'static str],
) -> Check {
    Check::named(name, Expr::col(column).is_in(values.iter().copied()))
}

/// A named foreign key `column -> referenced_table.id ON DELETE CASCADE`.
///
/// Note: sea-query does not print the constraint name on SQLite (which does not
/// expose foreign key names anyway); the constraint itself is enforced there too.
pub(crate) fn fk_cascade<T, C, R>(
    name: &'static str,
    table: T,
    column: C,
    referenced_table: R,
) -> ForeignKeyCreateStatement
where
    T: IntoIden,
    C: IntoIden,
    R: IntoIden,
{
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(referenced_table, Common::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .on_update(ForeignKeyAction::NoAction)
        .take()
}

/// A plain (non-unique) index `name ON table (columns...)`.
pub(crate) fn index<T, I, C>(name: &'static str, table: T, columns: I) -> IndexCreateStatement
where
    T: IntoIden,
    I: IntoIterator<Item = C>,
    C: IntoIndexColumn,
{
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    index
}

/// A unique index `name ON table (columns...)`.
pub(crate) fn unique_index<T, I, C>(
    name: &'static str,
    table: T,
    columns: I,
) -> IndexCreateStatement
where
    T: IntoIden,
    I: IntoIterator<Item = C>,
    C: IntoIndexColumn,
{
    index(name, table, columns).unique().take()
}

/// A partial unique index `... WHERE deleted_at IS NULL`: uniqueness among live
/// rows only, so a soft-deleted value can be used again.
pub(crate) fn unique_index_live<T, I, C>(
    name: &'static str,
    table: T,
    columns: I,
) -> IndexCreateStatement
where
    T: IntoIden,
    I: IntoIterator<Item = C>,
    C: IntoIndexColumn,
{
    unique_index(name, table, columns)
        .and_where(Expr::col(Common::DeletedAt).is_null())
        .take()
}

/// `name ON table (deleted_at) WHERE deleted_at IS NOT NULL`: finds the (few)
/// soft-deleted rows without indexing the live ones.
pub(crate) fn deleted_at_index<T: IntoIden>(name: &'static str, table: T) -> IndexCreateStatement {
    index(name, table, [Common::DeletedAt])
        .and_where(Expr::col(Common::DeletedAt).is_not_null())
        .take()
}

/// Creates a table, then its indexes, then (PostgreSQL) its `updated_at` trigger.
pub(crate) async fn create_table(
    manager: &SchemaManager<'_>,
    table: TableCreateStatement,
    indexes: Vec<IndexCreateStatement>,
) -> Result<(), DbErr> {
    let name = table
        .get_table_name()
        .map(table_ref_name)
        .ok_or_else(|| DbErr::Migration("create_table: the statement names no table".into()))?;
    manager.create_table(table).await?;
    for index in indexes {
        manager.create_index(index).await?;
    }
    add_updated_at_trigger(manager, &name).await
}

/// Drops what [`create_table`] created: the trigger (PostgreSQL) and the table
/// (with it its indexes and constraints).
pub(crate) async fn drop_table<T: IntoIden>(
    manager: &SchemaManager<'_>,
    table: T,
) -> Result<(), DbErr> {
    let table = table.into_iden();
    drop_updated_at_trigger(manager, &table.to_string()).await?;
    manager.drop_table(Table::drop().table(table).take()).await
}

fn table_ref_name(table: &TableRef) -> String {
    match table {
        TableRef::Table(TableName(_, name), _) => name.to_string(),
        other => format!("{other:?}"),
    }
}

fn trigger_name(table: &str) -> String {
    format!("trg_{table}_updated_at")
}

/// Runs `sql` on PostgreSQL only; on SQLite the application keeps `updated_at`.
async fn on_postgres_only(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    manager
        .get_connection()
        .execute_unprepared(sql)
        .await
        .map(|_| ())
}

/// PostgreSQL: `CREATE TRIGGER trg_{table}_updated_at BEFORE UPDATE ON {table}
/// FOR EACH ROW EXECUTE FUNCTION update_updated_at_column()`. SQLite: nothing
/// (the application sets `updated_at`).
pub(crate) async fn add_updated_at_trigger(
    manager: &SchemaManager<'_>,
    table: &str,
) -> Result<(), DbErr> {
    let trigger = trigger_name(table);
    on_postgres_only(
        manager,
        &format!(
            r#"CREATE TRIGGER "{trigger}" BEFORE UPDATE ON "{table}" FOR EACH ROW EXECUTE FUNCTION {UPDATED_AT_FUNCTION}()"#
        ),
    )
    .await
}

/// Reverse of [`add_updated_at_trigger`].
pub(crate) async fn drop_updated_at_trigger(
    manager: &SchemaManager<'_>,
    table: &str,
) -> Result<(), DbErr> {
    let trigger = trigger_name(table);
    on_postgres_only(
        manager,
        &format!(r#"DROP TRIGGER IF EXISTS "{trigger}" ON "{table}""#),
    )
    .await
}
