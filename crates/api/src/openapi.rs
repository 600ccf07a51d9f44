//! The OpenAPI 3.1 document, generated from the handlers and wire types.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{Problem, ProblemFieldError};
use crate::routes::{auth, health, invitations, me, members, organizations, waitlist};
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
    paths(health::health, health::ready, waitlist::create),
    components(schemas(Problem, ProblemFieldError, UserResponse)),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "waitlist", description = "Early-access sign-ups"),
        (name = "auth", description = "Sign-up, sign-in, sessions, email verification and password reset"),
        (name = "me", description = "The signed-in user"),
        (name = "organizations", description = "Tenants"),
        (name = "members", description = "Organization memberships"),
        (name = "invitations", description = "Invitations to join an organization"),
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

/// The whole document: the shared part merged with every route module's `Doc`.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for part in [
        auth::Doc::openapi(),
        me::Doc::openapi(),
        organizations::Doc::openapi(),
        members::Doc::openapi(),
        invitations::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}
