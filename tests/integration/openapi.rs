//! The OpenAPI document describes every endpoint of the contract, with its errors.
//! Which endpoints there are, and which need a bearer token, is the route
//! registry's (`routes.rs`), which also checks that the document and the routes
//! the server declares are the same.

use groundwork_tests::app::spawn_app;
use groundwork_tests::{Backend, on_both_databases};
use serde_json::Value;

use crate::routes::{Caller, ROUTES, Route};

fn operation<'a>(doc: &'a Value, route: &Route) -> &'a Value {
    let (method, path) = (route.method.to_lowercase(), route.path);
    let op = &doc["paths"][path][method.as_str()];
    assert!(op.is_object(), "{method} {path} is not documented");
    op
}

async fn every_endpoint_is_documented_with_its_errors(backend: Backend) {
    let app = spawn_app(backend).await;

    let doc = app.get("/openapi.json").await.body;

    let documented = || ROUTES.iter().filter(|route| route.undocumented.is_none());
    assert!(documented().count() > 0, "the registry documents no route");
    for route in documented().filter(|route| route.caller == Caller::Bearer) {
        let (method, path) = (route.method, route.path);
        let op = operation(&doc, route);
        assert!(
            op["security"].as_array().is_some_and(|s| !s.is_empty()),
            "{method} {path} does not name the bearer scheme"
        );
        assert!(
            op["responses"]["401"].is_object(),
            "{method} {path} documents no 401"
        );
    }
    for route in documented() {
        let (method, path) = (route.method, route.path);
        let responses = operation(&doc, route)["responses"].as_object().unwrap();
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
}

on_both_databases!(every_endpoint_is_documented_with_its_errors);

/// The document states the rules the server enforces, so a client generated
/// from it (or a fuzzer) sends what the server accepts: required fields, enums,
/// lengths and patterns of bodies, the ranges and enums of list parameters, the
/// shape of IDs in paths. (`.ci/schemathesis.sh` checks the whole document
/// against the running server; this pins a sample of each kind.)
async fn the_document_states_required_fields_enums_ranges_and_patterns(backend: Backend) {
    let app = spawn_app(backend).await;

    let doc = app.get("/openapi.json").await.body;

    let sign_up = &doc["components"]["schemas"]["SignUpBody"];
    let mut required: Vec<&str> = sign_up["required"]
        .as_array()
        .expect("SignUpBody lists its required fields")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    required.sort_unstable();
    assert_eq!(
        required,
        ["email", "firstName", "lastName", "password", "type"]
    );
    let field = |name: &str| &sign_up["properties"][name];
    // utoipa wraps an inline enum with a description in a one-item `oneOf`.
    let values = |schema: &Value| {
        let inner = schema["oneOf"].get(0).unwrap_or(schema);
        inner["enum"].clone()
    };
    assert_eq!(
        values(field("type")),
        serde_json::json!(["employee", "organization"])
    );
    assert_eq!(field("email")["format"], "email");
    assert_eq!(field("email")["maxLength"], 254);
    assert_eq!(field("password")["minLength"], 8);
    assert_eq!(field("password")["maxLength"], 128);
    assert!(field("firstName")["pattern"].is_string());
    assert_eq!(
        sign_up["then"]["required"],
        serde_json::json!(["profession"])
    );

    let members = &doc["paths"]["/v1/organizations/{orgId}/members"]["get"]["parameters"];
    let parameter = |name: &str| {
        members
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no parameter {name}"))
            .clone()
    };
    assert_eq!(
        values(&parameter("sortBy")["schema"]),
        serde_json::json!(["createdAt", "email", "firstName", "lastName", "role"])
    );
    assert_eq!(parameter("pageSize")["schema"]["maximum"], 100);
    assert_eq!(parameter("page")["schema"]["maximum"], 1_000_000);
    assert_eq!(parameter("searchQuery")["schema"]["maxLength"], 200);
    assert_eq!(parameter("orgId")["required"], true);
    assert_eq!(
        parameter("orgId")["schema"]["pattern"],
        "^org_[0-7][0-9A-HJKMNP-TV-Z]{25}$"
    );
}

on_both_databases!(the_document_states_required_fields_enums_ranges_and_patterns);
