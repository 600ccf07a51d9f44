//! `/v1/me`: the signed-in user's own account.

use actix_web::{HttpResponse, delete, get, patch, web};
use app::me as service;
use domain::users::ProfileChanges;
use domain::users::UpdateProfileRequest;
use utoipa::OpenApi;

use crate::auth::CurrentUser;
use crate::error::{Problem, Result};
use crate::extract::JsonBody;
use crate::openapi::{DatabaseProblems, JsonBodyProblems, PersonOnlyProblems, SessionProblems};
use crate::views::UserResponse;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(get_me, update_me, delete_me),
    components(schemas(UpdateProfileRequest))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_me).service(update_me).service(delete_me);
}

/// The signed-in user.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, body = UserResponse),
        SessionProblems, PersonOnlyProblems, DatabaseProblems,
    )
)]
#[get("/me")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_me(CurrentUser { auth, .. }: CurrentUser) -> HttpResponse {
    // The extractor has just read the user; reading it again would add nothing.
    HttpResponse::Ok().json(UserResponse::from(auth.user))
}

/// Changes the signed-in user's profile; answers with the whole user.
#[utoipa::path(
    patch,
    path = "/v1/me",
    tag = "me",
    security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses(
        (status = 200, body = UserResponse),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (READ_ONLY for email, REQUIRED for an employee's profession)"),
        JsonBodyProblems, SessionProblems, PersonOnlyProblems, DatabaseProblems,
    )
)]
#[patch("/me")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update_me(
    CurrentUser { ctx, db, .. }: CurrentUser,
    JsonBody(body): JsonBody<UpdateProfileRequest>,
) -> Result<HttpResponse> {
    let changes = ProfileChanges::try_from(body)?;
    let user = service::update_profile(&db, &ctx, changes).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

/// Deletes the signed-in user's account (soft delete): every session ends and
/// every membership is left. The email can then be used for a new account.
#[utoipa::path(
    delete,
    path = "/v1/me",
    tag = "me",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "LAST_OWNER: the only owner of a live organization"),
        SessionProblems, PersonOnlyProblems, DatabaseProblems,
    )
)]
#[delete("/me")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_me(CurrentUser { ctx, db, .. }: CurrentUser) -> Result<HttpResponse> {
    service::delete_account(&db, &ctx).await?;
    Ok(HttpResponse::NoContent().finish())
}
