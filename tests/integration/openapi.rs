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

/// The schema name a `ToSchema` derive gives the item after it (`schema(as =
/// ...)` when given, else the item's own name).
fn schema_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("ToSchema") {
        let line_start = rest[..at].rfind('\n').map_or(0, |i| i + 1);
        let derived = rest[line_start..at].contains("derive(");
        rest = &rest[at + "ToSchema".len()..];
        if !derived {
            continue;
        }
        let Some(item) = ["pub struct ", "pub enum "]
            .iter()
            .filter_map(|kw| rest.find(kw).map(|i| (i, kw.len())))
            .min()
        else {
            break;
        };
        let attrs = &rest[..item.0];
        let name = match attrs.find("schema(as = ") {
            Some(i) => &attrs[i + "schema(as = ".len()..],
            None => &rest[item.0 + item.1..],
        };
        let end = name
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(name.len());
        names.push(name[..end].to_owned());
        rest = &rest[item.0 + item.1..];
    }
    names
}

fn rust_files(dir: &std::path::Path, into: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// utoipa keys components by name: two types with one schema name leave one of
/// them documented with the other's shape (the GitHub receiver's answer once
/// shadowed the webhook view this way).
#[test]
fn every_schema_name_is_given_once() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for crate_dir in ["crates/domain/src", "crates/api/src"] {
        rust_files(&root.join(crate_dir), &mut files);
    }
    let mut seen = std::collections::BTreeMap::<String, String>::new();
    let mut twice = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for name in schema_names(&source) {
            let at = file.display().to_string();
            if let Some(first) = seen.insert(name.clone(), at.clone()) {
                twice.push(format!("{name}: {first} and {at}"));
            }
        }
    }
    assert!(seen.len() > 50, "found only {} schemas", seen.len());
    assert!(
        twice.is_empty(),
        "schema names given twice:\n{}",
        twice.join("\n")
    );
}
