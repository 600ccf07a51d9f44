//! The OpenAPI document describes every endpoint of the contract, with its errors.

use groundwork_tests::app::spawn_app;
use groundwork_tests::{Backend, on_both_databases};
use serde_json::Value;

/// Every operation of `/v1` that needs a signed-in caller.
const AUTHENTICATED: &[(&str, &str)] = &[
    ("post", "/v1/auth/sign-out"),
    ("get", "/v1/me"),
    ("patch", "/v1/me"),
    ("delete", "/v1/me"),
    ("post", "/v1/organizations"),
    ("get", "/v1/organizations"),
    ("get", "/v1/organizations/{orgId}"),
    ("patch", "/v1/organizations/{orgId}"),
    ("delete", "/v1/organizations/{orgId}"),
    ("post", "/v1/organizations/{orgId}/restore"),
    ("get", "/v1/organizations/{orgId}/members"),
    ("patch", "/v1/organizations/{orgId}/members/{memberId}"),
    ("delete", "/v1/organizations/{orgId}/members/{memberId}"),
    ("post", "/v1/organizations/{orgId}/invitations"),
    ("get", "/v1/organizations/{orgId}/invitations"),
    (
        "delete",
        "/v1/organizations/{orgId}/invitations/{invitationId}",
    ),
    ("post", "/v1/invitations/accept"),
    ("post", "/v1/organizations/{orgId}/api-keys"),
    ("get", "/v1/organizations/{orgId}/api-keys"),
    ("delete", "/v1/organizations/{orgId}/api-keys/{keyId}"),
    ("get", "/v1/organizations/{orgId}/audit-logs"),
    ("get", "/v1/admin/users"),
    ("post", "/v1/admin/users/{userId}/deactivate"),
    ("post", "/v1/admin/users/{userId}/reactivate"),
    ("get", "/v1/admin/waitlist"),
    ("get", "/v1/admin/audit-logs"),
];

/// Every operation of `/v1` open to anyone.
const PUBLIC: &[(&str, &str)] = &[
    ("post", "/v1/waitlist"),
    ("post", "/v1/auth/sign-up"),
    ("post", "/v1/auth/sign-in"),
    ("post", "/v1/auth/verify-email"),
    ("post", "/v1/auth/password-reset/request"),
    ("post", "/v1/auth/password-reset/confirm"),
];

fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not documented");
    op
}

async fn every_endpoint_is_documented_with_its_errors(backend: Backend) {
    let app = spawn_app(backend).await;

    let doc = app.get("/openapi.json").await.body;

    for (method, path) in AUTHENTICATED {
        let op = operation(&doc, method, path);
        assert!(
            op["security"].as_array().is_some_and(|s| !s.is_empty()),
            "{method} {path} does not name the bearer scheme"
        );
        assert!(
            op["responses"]["401"].is_object(),
            "{method} {path} documents no 401"
        );
    }
    for (method, path) in PUBLIC {
        operation(&doc, method, path);
    }
    for (method, path) in AUTHENTICATED.iter().chain(PUBLIC) {
        let responses = operation(&doc, method, path)["responses"]
            .as_object()
            .unwrap();
        assert!(
            responses.keys().any(|status| status.starts_with('2')),
            "{method} {path} documents no success"
        );
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                let schema = &response["content"]["application/problem+json"]["schema"];
                assert!(
                    schema.to_string().contains("Problem"),
                    "{method} {path} {status} is not a problem document: {response}"
                );
            }
        }
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for path in doc["paths"].as_object().unwrap().keys() {
        let known = AUTHENTICATED.iter().chain(PUBLIC).any(|(_, p)| p == path)
            || ["/health", "/ready"].contains(&path.as_str());
        assert!(known, "{path} is documented but not in this test's list");
    }
}

on_both_databases!(every_endpoint_is_documented_with_its_errors);
