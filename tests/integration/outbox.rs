//! `api outbox`: what the development command prints.

use domain::{Clock, Email};
use groundwork_tests::app::{spawn_app, test_settings};
use groundwork_tests::{Backend, on_both_databases};
use infra::repositories::{EmailTemplate, OutboxRepository};
use serde_json::{Value, json};

async fn the_outbox_command_prints_pending_messages_oldest_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let outbox = OutboxRepository::at(app.database.conn(), app.clock.now());
    for to in ["first@example.com", "second@example.com"] {
        outbox
            .enqueue_email(
                &Email::parse(to).unwrap(),
                EmailTemplate::EmailVerification,
                json!({"token": format!("token-for-{to}")}),
            )
            .await
            .unwrap();
    }
    let url = app.database_url();
    let settings = test_settings(&url, &[]);

    let lines = api::commands::pending_outbox(&settings, 10).await.unwrap();

    let messages: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["payload"]["to"], "first@example.com");
    assert_eq!(messages[0]["payload"]["template"], "email_verification");
    assert_eq!(
        messages[0]["payload"]["data"]["token"],
        "token-for-first@example.com"
    );
    assert_eq!(messages[1]["payload"]["to"], "second@example.com");
    assert_eq!(
        api::commands::pending_outbox(&settings, 1)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn the_outbox_command_is_refused_in_production(backend: Backend) {
    let app = spawn_app(backend).await;
    let url = app.database_url();
    let settings = test_settings(&url, &[("APP_ENV", "production")]);

    let err = api::commands::pending_outbox(&settings, 10)
        .await
        .unwrap_err();

    assert!(err.contains("production"), "{err}");
}

on_both_databases!(
    the_outbox_command_prints_pending_messages_oldest_first,
    the_outbox_command_is_refused_in_production
);
