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
