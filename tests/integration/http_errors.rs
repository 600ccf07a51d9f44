//! The 400 / 404 / 413 / 415 / 422 paths, problem+json, request ids, the docs;
//! in submodules, the HTTP behaviour every route shares.

mod connections;
mod headers;
mod inputs;
mod methods;

use groundwork_tests::Backend;
use groundwork_tests::app::{spawn_app, spawn_app_with};
use groundwork_tests::on_both_databases;
use serde_json::json;

async fn malformed_json_is_a_400_problem(backend: Backend) {
    let app = spawn_app(backend).await;
    for body in [
        &b"{\"email\": "[..],
        b"not json",
        b"",
        b"{\"email\": \"a@b.co\",}",
    ] {
        let res = app
            .post_raw("/v1/waitlist", Some("application/json"), body.to_vec())
            .await;

        assert_eq!(
            res.status,
            400,
            "{:?}: {}",
            String::from_utf8_lossy(body),
            res.text
        );
        assert_eq!(res.content_type, "application/problem+json");
        assert_eq!(res.code(), "BAD_REQUEST");
        assert_eq!(res.body["status"], 400);
        assert!(
            res.body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("https://"))
        );
    }
}

async fn a_body_that_is_not_an_object_is_a_422(backend: Backend) {
    let app = spawn_app(backend).await;
    for body in ["[]", "\"text\"", "42", "null"] {
        let res = app
            .post_raw("/v1/waitlist", Some("application/json"), body.into())
            .await;

        assert_eq!(res.status, 422, "{body}: {}", res.text);
        assert_eq!(res.code(), "VALIDATION_FAILED");
    }
}

async fn a_wrong_content_type_is_a_415(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = json!({"email": "a@example.com", "role": "employee"}).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
    ] {
        let res = app
            .post_raw("/v1/waitlist", content_type, body.clone().into_bytes())
            .await;

        assert_eq!(res.status, 415, "{content_type:?}: {}", res.text);
        assert_eq!(res.code(), "UNSUPPORTED_MEDIA_TYPE");
    }
    let with_charset = app
        .post_raw(
            "/v1/waitlist",
            Some("application/json; charset=utf-8"),
            body.into_bytes(),
        )
        .await;
    assert_eq!(with_charset.status, 201, "{}", with_charset.text);
}

async fn a_body_over_the_default_limit_is_a_413(backend: Backend) {
    let app = spawn_app(backend).await;
    let padding = "x".repeat(64 * 1024);
    let body = json!({"email": "a@example.com", "role": "employee", "padding": padding});

    let res = app.post_json("/v1/waitlist", &body).await;

    assert_eq!(res.status, 413, "{}", res.text);
    assert_eq!(res.code(), "PAYLOAD_TOO_LARGE");
}

async fn the_body_limit_is_configurable(backend: Backend) {
    let app = spawn_app_with(backend, &[("APP__SERVER__JSON_BODY_LIMIT_BYTES", "100")]).await;
    let small = json!({"email": "a@example.com", "role": "employee"});
    let large = json!({"email": format!("{}@example.com", "a".repeat(60)), "role": "employee", "note": "x".repeat(50)});

    assert_eq!(app.post_json("/v1/waitlist", &small).await.status, 201);
    assert_eq!(app.post_json("/v1/waitlist", &large).await.status, 413);
}

async fn an_unknown_route_is_a_404_problem_with_a_request_id(backend: Backend) {
    let app = spawn_app(backend).await;

    let res = app.get("/v1/nothing-here").await;

    assert_eq!(res.status, 404);
    assert_eq!(res.content_type, "application/problem+json");
    assert_eq!(res.code(), "ROUTE_NOT_FOUND");
    assert!(
        res.headers
            .get("x-request-id")
            .is_some_and(|id| id.len() >= 32),
        "{:?}",
        res.headers
    );
}

async fn every_response_carries_a_distinct_request_id(backend: Backend) {
    let app = spawn_app(backend).await;

    let first = app.get("/health").await;
    let second = app.get("/health").await;

    let id = |r: &groundwork_tests::app::TestResponse| r.headers.get("x-request-id").cloned();
    assert!(id(&first).is_some());
    assert_ne!(id(&first), id(&second));
}

async fn the_openapi_document_describes_the_api(backend: Backend) {
    let app = spawn_app(backend).await;

    let doc = app.get("/openapi.json").await;
    let page = app.get("/docs").await;

    assert_eq!(doc.status, 200);
    assert!(
        doc.body["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    let post = &doc.body["paths"]["/v1/waitlist"]["post"];
    for status in ["201", "400", "409", "413", "415", "422"] {
        assert!(post["responses"][status].is_object(), "missing {status}");
    }
    assert!(doc.body["paths"]["/health"]["get"].is_object());
    assert!(doc.body["paths"]["/ready"]["get"].is_object());
    assert!(doc.body["components"]["schemas"]["Problem"].is_object());
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.text.contains("/openapi.json"));
}

on_both_databases!(
    malformed_json_is_a_400_problem,
    a_body_that_is_not_an_object_is_a_422,
    a_wrong_content_type_is_a_415,
    a_body_over_the_default_limit_is_a_413,
    the_body_limit_is_configurable,
    an_unknown_route_is_a_404_problem_with_a_request_id,
    every_response_carries_a_distinct_request_id,
    the_openapi_document_describes_the_api,
);
