//! Start-up: auto-migration on an empty database, and a clear failure when the
//! database cannot be reached.

use groundwork_tests::app::test_settings;
use groundwork_tests::{Backend, TestDb, on_both_databases};

async fn start_up_applies_pending_migrations_to_an_empty_database(backend: Backend) {
    let db = TestDb::empty(backend).await;
    let settings = test_settings(db.url(), &[("APP__DATABASE__AUTO_MIGRATE", "true")]);

    let app = api::Application::build(&settings)
        .await
        .expect("the application starts");
    let port = app.port();
    let handle = app.handle();
    actix_web::rt::spawn(app.run_until_stopped());
    let client = awc::Client::default();
    let mut res = client
        .post(format!("http://127.0.0.1:{port}/v1/waitlist"))
        .send_json(&serde_json::json!({"email": "first@example.com", "role": "employee"}))
        .await
        .unwrap();

    assert_eq!(res.status().as_u16(), 201, "{:?}", res.body().await);
    handle.stop(true).await;
}

on_both_databases!(start_up_applies_pending_migrations_to_an_empty_database);

#[actix_web::test]
async fn start_up_fails_with_a_clear_error_when_the_database_is_unreachable() {
    // A port nothing listens on: bind one, note it, let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let settings = test_settings(
        &format!("postgres://nobody:secret@127.0.0.1:{port}/none"),
        &[
            ("APP__DATABASE__CONNECT_TIMEOUT_SECS", "1"),
            ("APP__DATABASE__ACQUIRE_TIMEOUT_SECS", "1"),
        ],
    );

    let err = match api::Application::build(&settings).await {
        Ok(_) => panic!("started without a database"),
        Err(e) => e.to_string(),
    };

    assert!(err.contains("cannot connect to the database"), "{err}");
    assert!(!err.contains("secret"), "the password leaked: {err}");
}
