//! A pinned handle (`Database::pinned`, what a read request is served with):
//! every statement on one connection, units of work on that same connection,
//! nothing of an unfinished one left behind, errors mapped as the pool's are.

use std::time::Duration;

use domain::error::ConflictKind;
use domain::{DomainError, Email};
use groundwork_tests::db::connect;
use groundwork_tests::fixtures::new_user;
use groundwork_tests::{Backend, TestDb, on_both_databases};
use infra::Database;
use infra::repositories::UserRepository;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

/// A migrated database and a pool of at most `max_connections` over it.
async fn database(backend: Backend, max_connections: u32) -> (TestDb, Database) {
    let db = TestDb::migrated(backend).await;
    let pool = connect(db.url(), max_connections).await;
    (db, Database::from_connection(pool))
}

/// Inserts a user at `email` through `conn`, which must take it.
async fn insert_user(conn: &impl ConnectionTrait, email: &str) {
    UserRepository::new(conn)
        .insert(new_user(email))
        .await
        .unwrap();
}

async fn has_user(database: &Database, email: &str) -> bool {
    UserRepository::new(database.conn())
        .find_by_email(&Email::parse(email).unwrap())
        .await
        .is_ok()
}

async fn backend_pid(database: &Database) -> i32 {
    let row = database
        .conn()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_backend_pid() AS pid",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "pid").unwrap()
}

#[actix_web::test]
async fn a_pinned_handle_runs_every_statement_on_one_connection_on_postgres() {
    let (_db, database) = database(Backend::Postgres, 5).await;
    let pinned = database.pinned().await.unwrap();

    let first = backend_pid(&pinned).await;
    for _ in 0..5 {
        assert_eq!(backend_pid(&pinned).await, first);
    }
    let uow = pinned.begin().await.unwrap();
    assert_eq!(backend_pid(&pinned).await, first, "the unit of work too");
    uow.commit().await.unwrap();
}

async fn a_unit_of_work_on_a_pinned_handle_needs_no_second_connection(backend: Backend) {
    // One connection in the pool, held by the pinned handle: a unit of work that
    // asked the pool for another would wait out the acquire timeout.
    let (_db, database) = database(backend, 1).await;
    let pinned = database.pinned().await.unwrap();

    let work = async {
        let uow = pinned.begin().await.unwrap();
        insert_user(uow.conn(), "ada@example.com").await;
        uow.commit().await.unwrap();
        has_user(&pinned, "ada@example.com").await
    };
    let found = tokio::time::timeout(Duration::from_secs(5), work)
        .await
        .expect("the unit of work ran on the pinned connection");
    assert!(found);
    drop(pinned);
    assert!(has_user(&database, "ada@example.com").await, "committed");
}

async fn a_dropped_unit_of_work_on_a_pinned_handle_is_rolled_back(backend: Backend) {
    let (_db, database) = database(backend, 2).await;
    let pinned = database.pinned().await.unwrap();

    let uow = pinned.begin().await.unwrap();
    insert_user(uow.conn(), "ada@example.com").await;
    drop(uow);

    assert!(
        !has_user(&pinned, "ada@example.com").await,
        "the next statement runs outside the abandoned transaction"
    );
    let uow = pinned.begin().await.unwrap();
    insert_user(uow.conn(), "grace@example.com").await;
    uow.commit().await.unwrap();
    drop(pinned);
    assert!(!has_user(&database, "ada@example.com").await);
    assert!(has_user(&database, "grace@example.com").await);
}

async fn a_pinned_handle_dropped_inside_a_unit_of_work_leaves_nothing(backend: Backend) {
    let (_db, database) = database(backend, 1).await;
    let pinned = database.pinned().await.unwrap();
    let uow = pinned.begin().await.unwrap();
    insert_user(uow.conn(), "ada@example.com").await;

    // The request ends (say it was cancelled) with its transaction open.
    drop(pinned);
    drop(uow);

    // The pool's only connection is usable again, and outside any transaction.
    let check = async {
        assert!(!has_user(&database, "ada@example.com").await);
        let uow = database.begin().await.unwrap();
        insert_user(uow.conn(), "ada@example.com").await;
        uow.commit().await.unwrap();
        assert!(has_user(&database, "ada@example.com").await);
    };
    tokio::time::timeout(Duration::from_secs(10), check)
        .await
        .expect("the pool got its connection back");
}

async fn errors_on_a_pinned_handle_map_as_on_the_pool(backend: Backend) {
    let (_db, database) = database(backend, 2).await;
    let pinned = database.pinned().await.unwrap();
    let users = UserRepository::new(pinned.conn());
    users.insert(new_user("ada@example.com")).await.unwrap();

    let again = users.insert(new_user("ada@example.com")).await;

    match again {
        Err(DomainError::Conflict(c)) => {
            assert_eq!(
                (c.kind, c.field, c.code),
                (ConflictKind::Unique, "email", "EMAIL_TAKEN")
            );
        }
        other => panic!("expected EMAIL_TAKEN, got {other:?}"),
    }
}

on_both_databases!(
    a_unit_of_work_on_a_pinned_handle_needs_no_second_connection,
    a_dropped_unit_of_work_on_a_pinned_handle_is_rolled_back,
    a_pinned_handle_dropped_inside_a_unit_of_work_leaves_nothing,
    errors_on_a_pinned_handle_map_as_on_the_pool,
);
