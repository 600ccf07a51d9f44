//! Liveness, readiness, and the database going away and coming back.

use std::time::{Duration, Instant};

use groundwork_tests::Backend;
use groundwork_tests::app::{spawn_app, spawn_app_on};
use groundwork_tests::on_both_databases;
use groundwork_tests::postgres::PgInstance;
use serde_json::json;

async fn health_and_readiness_are_200_with_the_database_up(backend: Backend) {
    let app = spawn_app(backend).await;

    let health = app.get("/health").await;
    let ready = app.get("/ready").await;

    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["status"], "ready");
}

on_both_databases!(health_and_readiness_are_200_with_the_database_up);

/// With the database down, requests answer 503 within the acquire timeout (no
/// hang), `/health` stays 200, and the same server recovers once the database is
/// back: no restart. The upper bound on time is generous: it proves "no hang",
/// not speed.
#[actix_web::test]
async fn the_server_answers_503_while_postgres_is_down_and_recovers_by_itself() {
    let pg = PgInstance::start();
    let url = pg.create_migrated_database("app").await;
    let app = spawn_app_on(
        &url,
        &[
            ("APP__DATABASE__ACQUIRE_TIMEOUT_SECS", "2"),
            ("APP__DATABASE__CONNECT_TIMEOUT_SECS", "2"),
            ("APP__DATABASE__MIN_CONNECTIONS", "1"),
        ],
    )
    .await;
    assert_eq!(app.get("/ready").await.status, 200);

    pg.stop();
    let started = Instant::now();
    let ready = app.get("/ready").await;
    let elapsed = started.elapsed();
    let write = app
        .post_json(
            "/v1/waitlist",
            &json!({"email": "down@example.com", "role": "employee"}),
        )
        .await;
    let health = app.get("/health").await;

    assert_eq!(ready.status, 503, "{}", ready.text);
    assert_eq!(ready.code(), "DATABASE_UNAVAILABLE");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    assert_eq!(write.status, 503, "{}", write.text);
    assert_eq!(write.code(), "DATABASE_UNAVAILABLE");
    assert_eq!(health.status, 200);

    pg.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.get("/ready").await.status != 200 {
        assert!(Instant::now() < deadline, "the server did not recover");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    let after = app
        .post_json(
            "/v1/waitlist",
            &json!({"email": "back@example.com", "role": "employee"}),
        )
        .await;
    assert_eq!(after.status, 201, "{}", after.text);
}
