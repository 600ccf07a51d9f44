//! The OpenAPI 3.1 document, generated from the handlers and wire types.

use serde_json::json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{Problem, ProblemFieldError};
use crate::routes::{self, health, metrics};
use crate::views::UserResponse;

/// The shared part of the document: info, tags, security scheme, common schemas.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Groundwork API",
        description = "Identity, organizations, authentication and more for a multi-tenant SaaS. \
                       Errors are application/problem+json (RFC 9457) with a machine `code`. \
                       Authenticated routes take `Authorization: Bearer <session token>`."
    ),
    paths(health::health, health::ready, metrics::scrape),
    components(schemas(Problem, ProblemFieldError, UserResponse)),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness, readiness and metrics"),
        (name = "waitlist", description = "Early-access sign-ups"),
        (name = "auth", description = "Sign-up, sign-in, sessions, email verification and password reset"),
        (name = "me", description = "The signed-in user"),
        (name = "organizations", description = "Tenants"),
        (name = "members", description = "Organization memberships"),
        (name = "invitations", description = "Invitations to join an organization"),
        (name = "endpoints", description = "The external services an organization's jobs call; their secrets are write-only"),
        (name = "context", description = "An organization's versioned configuration documents"),
        (name = "usage", description = "Usage records, idempotent by key, and their sums by day or month"),
    )
)]
pub struct ApiDoc;

/// The `bearer` security scheme that authenticated operations name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
    }
}

/// The whole document, as served at `/openapi.json`: every resource's part
/// (`routes::docs`) merged into the shared one, then [`refine`]d.
pub fn document() -> serde_json::Value {
    let mut doc = ApiDoc::openapi();
    for part in routes::docs() {
        doc.merge(part);
    }
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    refine(&mut doc);
    doc
}

/// What the request types' derived schemas cannot say, added as JSON Schema
/// 2020-12 (which OpenAPI 3.1 uses), so the document states every rule the
/// server enforces.
fn refine(doc: &mut serde_json::Value) {
    let schemas = &mut doc["components"]["schemas"];
    // An employee states a profession (`domain::users::check_profession`).
    let sign_up = &mut schemas["SignUpBody"];
    sign_up["if"] = json!({"properties": {"type": {"const": "employee"}}, "required": ["type"]});
    sign_up["then"] =
        json!({"required": ["profession"], "properties": {"profession": {"type": "string"}}});
    // The email is read-only here: sending it at all is 422 `READ_ONLY`.
    schemas["UpdateMeBody"]["not"] = json!({"required": ["email"]});
    // No text in a body may hold a NUL character (422 `INVALID_CHARACTER`), not
    // even in a property the server ignores: say so of every request body.
    schemas["NulFreeJson"] = json!({
        "description": "Any JSON value in which no string or key holds a NUL character",
        "anyOf": [
            {"type": ["number", "boolean", "null"]},
            {"type": "string", "pattern": NUL_FREE},
            {"type": "array", "items": {"$ref": "#/components/schemas/NulFreeJson"}},
            {
                "type": "object",
                "propertyNames": {"pattern": NUL_FREE},
                "additionalProperties": {"$ref": "#/components/schemas/NulFreeJson"}
            }
        ]
    });
    let bodies: Vec<String> = doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(|item| item.as_object())
        .flat_map(|operations| operations.values())
        .filter_map(|op| {
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
        })
        .filter_map(|r| r.strip_prefix("#/components/schemas/"))
        .map(str::to_owned)
        .collect();
    for name in bodies {
        let schema = &mut doc["components"]["schemas"][name.as_str()];
        schema["propertyNames"] = json!({"pattern": NUL_FREE});
        schema["additionalProperties"] = json!({"$ref": "#/components/schemas/NulFreeJson"});
    }
}

/// A string without the NUL character.
const NUL_FREE: &str = "^[^\\u0000]*$";

/// The problem responses most operations share, written once. An operation lists
/// the groups that apply (`responses((status = 200, ...), SessionProblems, ...)`)
/// and spells out only its own 403/404/409/422.
mod shared_responses {
    use std::collections::BTreeMap;

    use utoipa::IntoResponses;
    use utoipa::openapi::response::{Response, ResponseBuilder};
    use utoipa::openapi::{ContentBuilder, Ref, RefOr};

    fn problem(description: &str) -> RefOr<Response> {
        let content = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build();
        ResponseBuilder::new()
            .description(description)
            .content("application/problem+json", content)
            .build()
            .into()
    }

    fn responses(entries: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
        entries
            .iter()
            .map(|(status, description)| ((*status).to_owned(), problem(description)))
            .collect()
    }

    /// 400, 408, 413, 415: what any JSON body can run into.
    pub struct JsonBodyProblems;

    impl IntoResponses for JsonBodyProblems {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            responses(&[
                ("400", "BAD_REQUEST: the body is not JSON"),
                (
                    "408",
                    "REQUEST_TIMEOUT: the body did not arrive within the configured time",
                ),
                (
                    "413",
                    "PAYLOAD_TOO_LARGE: the body is over the configured limit",
                ),
                (
                    "415",
                    "UNSUPPORTED_MEDIA_TYPE: the body is not application/json",
                ),
            ])
        }
    }

    /// 400: a query string that cannot be read.
    pub struct QueryProblems;

    impl IntoResponses for QueryProblems {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            responses(&[(
                "400",
                "BAD_REQUEST: the query string cannot be read (e.g. a repeated parameter)",
            )])
        }
    }

    /// 401: operations that need a session.
    pub struct SessionProblems;

    impl IntoResponses for SessionProblems {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            responses(&[(
                "401",
                "UNAUTHENTICATED: no bearer token, or one that is unknown, expired or revoked, \
                 or whose user is inactive or deleted; an API key revoked, expired or of a \
                 deleted organization",
            )])
        }
    }

    /// 403 for the routes only a person (a session) may call, when an API key does.
    pub struct PersonOnlyProblems;

    impl IntoResponses for PersonOnlyProblems {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            responses(&[(
                "403",
                "USER_REQUIRED: an API key cannot call this; sign in as a user",
            )])
        }
    }

    /// 429: the routes with a per-address rate limit (`[rate_limits]`).
    pub struct RateLimitProblems;

    impl IntoResponses for RateLimitProblems {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            responses(&[(
                "429",
                "RATE_LIMITED: too many of these requests from this address; retry after \
                 `Retry-After` seconds",
            )])
        }
    }

    /// 503: every operation that uses the database.
    pub struct DatabaseProblems;

    impl IntoResponses for DatabaseProblems {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            responses(&[(
                "503",
                "DATABASE_UNAVAILABLE: the database cannot be reached or is busy; retry",
            )])
        }
    }

    /// 503 for the operations that hash a password: the database's, and the
    /// hashing queue's (in place of [`DatabaseProblems`]).
    pub struct HashingProblems;

    impl IntoResponses for HashingProblems {
        fn responses() -> BTreeMap<String, RefOr<Response>> {
            let mut response = ResponseBuilder::new()
                .description(
                    "DATABASE_UNAVAILABLE: the database cannot be reached or is busy; retry. \
                     BUSY: too many passwords are waiting to be hashed (`auth.max_queued_hashes`); \
                     retry after Retry-After",
                )
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                );
            response = response.header(
                "Retry-After",
                utoipa::openapi::HeaderBuilder::new()
                    .schema(
                        utoipa::openapi::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::Type::Integer),
                    )
                    .description(Some("With BUSY: seconds to wait before retrying"))
                    .build(),
            );
            BTreeMap::from([("503".to_owned(), response.build().into())])
        }
    }
}

pub use shared_responses::{
    DatabaseProblems, HashingProblems, JsonBodyProblems, PersonOnlyProblems, QueryProblems,
    RateLimitProblems, SessionProblems,
};
