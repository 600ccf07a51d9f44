//! `api outbox`: what the development command prints; `--failed` and
//! `--retry ID`, which production allows without tokens.

use chrono::TimeDelta;
use domain::{Clock, Email, OutboxMessageId};
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

/// A message claimed once and given up on, as the worker leaves it.
async fn failed_message(app: &groundwork_tests::app::TestApp, to: &str) -> OutboxMessageId {
    let now = app.clock.now();
    let outbox = OutboxRepository::at(app.database.conn(), now);
    let id = outbox
        .enqueue_email(
            &Email::parse(to).unwrap(),
            EmailTemplate::PasswordReset,
            json!({"token": format!("token-for-{to}")}),
        )
        .await
        .unwrap();
    let claimed = outbox
        .claim_due_emails(10, now + TimeDelta::seconds(60))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(
        outbox
            .mark_failed_for_good(id, 1, "SMTP: 550 5.1.1 no such mailbox")
            .await
            .unwrap()
    );
    id
}

fn parse(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn the_failed_command_lists_failed_messages_and_retry_makes_one_due(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let failed = failed_message(&app, "gone@example.com").await;
    OutboxRepository::at(app.database.conn(), app.clock.now())
        .enqueue_email(
            &Email::parse("pending@example.com").unwrap(),
            EmailTemplate::PasswordReset,
            json!({"token": "t"}),
        )
        .await
        .unwrap();
    let settings = test_settings(&app.database_url(), &[]);

    // Act
    let listed = parse(&api::commands::failed_outbox(&settings, 10).await.unwrap());
    let pending = parse(&api::commands::pending_outbox(&settings, 10).await.unwrap());
    let retried = api::commands::retry_outbox(&settings, &failed.to_string()).await;
    let again = api::commands::retry_outbox(&settings, &failed.to_string()).await;
    let malformed = api::commands::retry_outbox(&settings, "usr_nope").await;
    let after = api::commands::failed_outbox(&settings, 10).await.unwrap();

    // Assert
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], failed.to_string());
    assert_eq!(listed[0]["state"], "failed");
    assert_eq!(listed[0]["attempts"], 1);
    assert_eq!(listed[0]["lastError"], "SMTP: 550 5.1.1 no such mailbox");
    assert!(listed[0]["failedAt"].is_string());
    assert!(
        listed[0]["nextAttemptAt"].is_null(),
        "a failed message is not due"
    );
    assert_eq!(
        listed[0]["payload"]["data"]["token"],
        "token-for-gone@example.com"
    );
    let pending_to: Vec<&str> = pending
        .iter()
        .map(|m| m["payload"]["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        pending_to,
        ["pending@example.com"],
        "a failed message is not pending"
    );
    let retried: Value = serde_json::from_str(&retried.unwrap()).unwrap();
    assert_eq!(retried["state"], "pending");
    assert_eq!(retried["attempts"], 0);
    assert!(retried["failedAt"].is_null());
    assert!(retried["nextAttemptAt"].is_string());
    assert!(
        again.unwrap_err().contains(&failed.to_string()),
        "no longer failed"
    );
    assert!(malformed.is_err());
    assert!(after.is_empty(), "{after:?}");
    let due = OutboxRepository::at(app.database.conn(), app.clock.now())
        .claim_due_emails(10, app.clock.now() + TimeDelta::seconds(60))
        .await
        .unwrap();
    assert_eq!(due.len(), 2, "the retried message is due again");
}

async fn failed_messages_are_listed_and_retried_in_production_without_their_tokens(
    backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let failed = failed_message(&app, "gone@example.com").await;
    let settings = test_settings(&app.database_url(), &[("APP_ENV", "production")]);

    // Act
    let listed = api::commands::failed_outbox(&settings, 10).await.unwrap();
    let retried = api::commands::retry_outbox(&settings, &failed.to_string())
        .await
        .unwrap();

    // Assert
    for line in [&listed[0], &retried] {
        assert!(!line.contains("token-for-gone"), "{line}");
        let message: Value = serde_json::from_str(line).unwrap();
        assert_eq!(message["payload"]["data"]["token"], "***");
        assert_eq!(message["payload"]["to"], "gone@example.com");
    }
}

on_both_databases!(
    the_outbox_command_prints_pending_messages_oldest_first,
    the_outbox_command_is_refused_in_production,
    the_failed_command_lists_failed_messages_and_retry_makes_one_due,
    failed_messages_are_listed_and_retried_in_production_without_their_tokens,
);
