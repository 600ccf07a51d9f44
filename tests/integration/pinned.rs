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

/// Waits until `future`, polled on its own task, is parked (waiting for a
/// connection, here), then hands back its task.
async fn parked<T: Send + 'static>(
    future: impl Future<Output = T> + Send + 'static,
) -> tokio::task::JoinHandle<T> {
    let task = tokio::spawn(future);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!task.is_finished(), "it waits for the connection");
    task
}

/// A read request that waits for a connection, then tells its backend's pid.
async fn a_read_waiting_for_a_connection(database: &Database) -> tokio::task::JoinHandle<i32> {
    let database = database.clone();
    parked(async move {
        let pinned = database.pinned().await.unwrap();
        backend_pid(&pinned).await
    })
    .await
}

/// What the waiting request answered once it got a connection.
async fn answered<T>(waiting: tokio::task::JoinHandle<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the waiting request got a connection")
        .unwrap()
}

#[actix_web::test]
async fn a_released_connection_goes_to_the_request_waiting_for_it_on_postgres() {
    let (_db, database) = database(Backend::Postgres, 1).await;
    let first = database.pinned().await.unwrap();
    let pid = backend_pid(&first).await;
    let waiting = a_read_waiting_for_a_connection(&database).await;

    drop(first);

    let handed = answered(waiting).await;
    assert_eq!(handed, pid, "the pool's one connection, passed on");
}

#[actix_web::test]
async fn a_connection_whose_backend_died_is_not_passed_on_on_postgres() {
    let (db, database) = database(Backend::Postgres, 1).await;
    let admin = connect(db.url(), 1).await;
    let first = database.pinned().await.unwrap();
    let pid = backend_pid(&first).await;
    let waiting = a_read_waiting_for_a_connection(&database).await;

    // An operator (or a failover) ends the backend; the request's next statement
    // fails on the connection, with FATAL or on the socket.
    admin
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            // The timeout (ms) makes it wait until the backend has exited.
            "SELECT pg_terminate_backend($1, 5000)",
            [pid.into()],
        ))
        .await
        .unwrap();
    first
        .conn()
        .execute_unprepared("SELECT 1")
        .await
        .expect_err("the backend is gone");
    drop(first);

    let replacement = answered(waiting).await;
    assert_ne!(replacement, pid, "a fresh connection, not the dead one");
}

#[actix_web::test]
async fn a_connection_cut_off_mid_statement_still_serves_the_next_request_on_postgres() {
    let (_db, database) = database(Backend::Postgres, 1).await;
    let first = database.pinned().await.unwrap();
    let next = database.clone();
    let waiting = parked(async move {
        let pinned = next.pinned().await.unwrap();
        let row = pinned
            .conn()
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT 41 + 1 AS answer",
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i32>("", "answer").unwrap()
    })
    .await;

    // The request is cancelled (its client went away) in the middle of a statement.
    let sleep = first.conn().execute_unprepared("SELECT pg_sleep(0.5)");
    assert!(
        tokio::time::timeout(Duration::from_millis(50), sleep)
            .await
            .is_err()
    );
    drop(first);

    let answer = answered(waiting).await;
    assert_eq!(answer, 42, "and it answers its own statement");
}

#[actix_web::test]
async fn reads_passing_the_connection_on_do_not_starve_the_pools_other_users_on_postgres() {
    let (_db, database) = database(Backend::Postgres, 1).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Four requests that read in a loop: each release finds another one waiting.
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (database, stop) = (database.clone(), std::sync::Arc::clone(&stop));
            tokio::spawn(async move {
                let mut reads = 0_u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let pinned = database.pinned().await.unwrap();
                    backend_pid(&pinned).await;
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A write through the pool itself (a unit of work of a request that is not a
    // read) waits in the pool's own queue: it gets its turn once a checkout has
    // been passed on for MAX_LEASE.
    let write = tokio::time::timeout(Duration::from_secs(5), async {
        insert_user(database.conn(), "ada@example.com").await;
    })
    .await;
    let readers_busy = readers.iter().all(|reader| !reader.is_finished());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut reads = 0;
    for reader in readers {
        reads += reader.await.unwrap();
    }

    assert!(
        write.is_ok(),
        "the write got a connection while reads went on"
    );
    assert!(
        readers_busy && reads > 4,
        "the readers kept reading: {reads}"
    );
    assert!(has_user(&database, "ada@example.com").await);
}

async fn plan_cache_mode(database: &Database) -> String {
    let row = database
        .conn()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_setting('plan_cache_mode') AS mode",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "mode").unwrap()
}

/// Every connection the server opens plans a statement once
/// (`database.plan_cache_mode`, by default `force_generic_plan`), pinned ones too.
#[actix_web::test]
async fn the_server_s_connections_use_the_configured_plan_cache_mode_on_postgres() {
    let db = TestDb::migrated(Backend::Postgres).await;
    let app = groundwork_tests::app::spawn_app_on(db.url(), &[]).await;
    assert_eq!(plan_cache_mode(&app.database).await, "force_generic_plan");
    let pinned = app.database.pinned().await.unwrap();
    assert_eq!(plan_cache_mode(&pinned).await, "force_generic_plan");

    let auto = groundwork_tests::app::spawn_app_on(
        db.url(),
        &[("APP__DATABASE__PLAN_CACHE_MODE", "auto")],
    )
    .await;
    assert_eq!(plan_cache_mode(&auto.database).await, "auto");
}
