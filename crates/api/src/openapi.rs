//! The OpenAPI 3.1 document, generated from the handlers and wire types.

use utoipa::OpenApi;

use crate::error::{Problem, ProblemFieldError};
use crate::routes::{health, waitlist};

/// Every documented endpoint and schema.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Groundwork API",
        description = "Identity, organizations, authentication and more for a multi-tenant SaaS. \
                       Errors are application/problem+json (RFC 9457) with a machine `code`."
    ),
    paths(health::health, health::ready, waitlist::create),
    components(schemas(Problem, ProblemFieldError)),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "waitlist", description = "Early-access sign-ups"),
    )
)]
pub struct ApiDoc;
