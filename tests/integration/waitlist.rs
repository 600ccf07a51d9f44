//! `POST /v1/waitlist`.

use futures_util::future::join_all;
use groundwork_tests::Backend;
use groundwork_tests::app::spawn_app;
use groundwork_tests::on_both_databases;
use serde_json::json;

async fn joining_the_waitlist_returns_the_normalized_entry(backend: Backend) {
    let app = spawn_app(backend).await;

    let res = app
        .post_json(
            "/v1/waitlist",
            &json!({"email": "  Ada.Lovelace@Example.COM ", "role": "employee"}),
        )
        .await;

    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["email"], "ada.lovelace@example.com");
    assert_eq!(res.body["role"], "employee");
    assert!(res.body["id"].as_i64().is_some_and(|id| id >= 1));
    assert!(
        res.body["createdAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
}

async fn the_same_email_in_another_case_is_a_conflict(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app
        .post_json(
            "/v1/waitlist",
            &json!({"email": "grace@example.com", "role": "organization"}),
        )
        .await;
    assert_eq!(first.status, 201);

    let second = app
        .post_json(
            "/v1/waitlist",
            &json!({"email": "GRACE@example.com", "role": "employee"}),
        )
        .await;

    assert_eq!(second.status, 409, "{}", second.text);
    assert_eq!(second.code(), "EMAIL_TAKEN");
    assert_eq!(second.content_type, "application/problem+json");
    assert_eq!(second.error_fields(), ["email"]);
}

async fn invalid_sign_ups_are_rejected_with_the_fields_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases = [
        (json!({"role": "employee"}), vec!["email"], "missing email"),
        (
            json!({"email": "a@example.com"}),
            vec!["role"],
            "missing role",
        ),
        (json!({}), vec!["email", "role"], "empty object"),
        (
            json!({"email": "not-an-email", "role": "employee"}),
            vec!["email"],
            "bad email",
        ),
        (
            json!({"email": "a@example.com", "role": "admin"}),
            vec!["role"],
            "unknown role",
        ),
        (
            json!({"email": "a@example.com", "role": "Employee"}),
            vec!["role"],
            "role is case-sensitive",
        ),
        (
            json!({"email": 42, "role": "employee"}),
            vec!["email"],
            "email of the wrong type",
        ),
        (
            json!({"email": "a@example.com", "role": ["employee"]}),
            vec!["role"],
            "role of the wrong type",
        ),
        (
            json!({"email": format!("{}@example.com", "a".repeat(250)), "role": "employee"}),
            vec!["email"],
            "email too long",
        ),
    ];
    for (body, fields, case) in cases {
        let res = app.post_json("/v1/waitlist", &body).await;

        assert_eq!(res.status, 422, "{case}: {}", res.text);
        assert_eq!(res.code(), "VALIDATION_FAILED", "{case}");
        assert_eq!(res.error_fields(), fields, "{case}");
    }
}

async fn fifty_concurrent_identical_sign_ups_create_exactly_one_entry(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({"email": "race@example.com", "role": "employee"});

    let responses = join_all((0..50).map(|_| app.post_json("/v1/waitlist", &body))).await;

    let created = responses.iter().filter(|r| r.status == 201).count();
    let conflicts = responses.iter().filter(|r| r.status == 409).count();
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(created, 1, "{statuses:?}");
    assert_eq!(conflicts, 49, "{statuses:?}");
    assert!(
        responses
            .iter()
            .filter(|r| r.status == 409)
            .all(|r| r.code() == "EMAIL_TAKEN")
    );
}

on_both_databases!(
    joining_the_waitlist_returns_the_normalized_entry,
    the_same_email_in_another_case_is_a_conflict,
    invalid_sign_ups_are_rejected_with_the_fields_named,
    fifty_concurrent_identical_sign_ups_create_exactly_one_entry,
);
