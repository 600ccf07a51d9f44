//! `/v1/me`: the signed-in user's own account.

use actix_web::{HttpResponse, delete, get, patch, web};
use app::me as service;
use domain::users::{AvatarUrl, ProfileChanges};
use domain::{DomainError, FieldError, PersonName, Validation};
use serde::{Deserialize, Deserializer};
use utoipa::{OpenApi, ToSchema};

use crate::auth::CurrentUser;
use crate::error::{Problem, Result};
use crate::extract::JsonBody;
use crate::openapi::{DatabaseProblems, JsonBodyProblems, PersonOnlyProblems, SessionProblems};
use crate::views::UserResponse;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(get_me, update_me, delete_me), components(schemas(UpdateMeBody)))]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_me).service(update_me).service(delete_me);
}

/// Reads a field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// A profile change as sent. Absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateMeBody {
    /// 1 to 100 characters; cannot be cleared.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "Ada")]
    pub first_name: Option<Option<String>>,
    /// 1 to 100 characters; cannot be cleared.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "Lovelace")]
    pub last_name: Option<Option<String>>,
    /// 1 to 100 characters; `null` clears it, except for employees.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "Engineer")]
    pub profession: Option<Option<String>>,
    /// An absolute `http`/`https` URL of at most 2048 characters; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "https://cdn.example.com/ada.png")]
    pub avatar_url: Option<Option<String>>,
    /// Read-only: sending it at all is a validation error.
    #[serde(default, deserialize_with = "present")]
    #[schema(ignore)]
    pub email: Option<Option<serde_json::Value>>,
}

impl TryFrom<UpdateMeBody> for ProfileChanges {
    type Error = DomainError;

    fn try_from(body: UpdateMeBody) -> Result<Self, DomainError> {
        let mut v = Validation::default();
        if body.email.is_some() {
            v.push(FieldError::new(
                "email",
                "READ_ONLY",
                "email cannot be changed here",
            ));
        }
        let mut name = |field: &str, value: Option<Option<String>>| match value {
            None => Some(None),
            Some(value) => v
                .required(field, value)
                .and_then(|n| v.check(field, PersonName::parse(&n)))
                .map(Some),
        };
        let first_name = name("firstName", body.first_name);
        let last_name = name("lastName", body.last_name);
        let profession = match body.profession {
            None => Some(None),
            Some(None) => Some(Some(None)),
            Some(Some(p)) => v
                .check("profession", PersonName::parse(&p))
                .map(|p| Some(Some(p))),
        };
        let avatar_url = match body.avatar_url {
            None => Some(None),
            Some(None) => Some(Some(None)),
            Some(Some(url)) => v
                .check("avatarUrl", AvatarUrl::parse(&url))
                .map(|url| Some(Some(url))),
        };
        let ((first_name, last_name), (profession, avatar_url)) =
            v.finish(first_name.zip(last_name).zip(profession.zip(avatar_url)))?;
        Ok(Self {
            first_name,
            last_name,
            profession,
            avatar_url,
        })
    }
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
    request_body = UpdateMeBody,
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
    JsonBody(body): JsonBody<UpdateMeBody>,
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
