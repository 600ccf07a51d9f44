//! `GET /v1/admin/users`, `POST /v1/admin/users/{userId}/deactivate|reactivate`.

use actix_web::{HttpResponse, get, post};
use app::admin as service;
use domain::users::UserSort;
use domain::{PageRequest, User};
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin_auth::AdminUser;
use crate::error::{Problem, Result};
use crate::extract::{ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, QueryProblems, SessionProblems};
use crate::paths::{Item, UserPath};
use crate::views::UserResponse;
use crate::views::page_response;

/// A user as a platform admin sees it: the shared user shape plus the two flags
/// only admins read. (They are not in the shared shape, which a user's fellow
/// members see in member lists: who is a platform admin is not their business.)
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminUserResponse {
    /// The user.
    #[serde(flatten)]
    pub user: UserResponse,
    /// Whether the user may sign in; false once deactivated.
    pub is_active: bool,
    /// Whether the user is a platform admin.
    pub is_admin: bool,
}

impl From<User> for AdminUserResponse {
    fn from(user: User) -> Self {
        let (is_active, is_admin) = (user.is_active, user.is_admin);
        Self {
            user: UserResponse::from(user),
            is_active,
            is_admin,
        }
    }
}

page_response! {
    /// A page of users.
    AdminUserPage: AdminUserResponse, from User
}

/// Every live user, inactive ones included (deleted ones are not listed).
/// `sortBy`: `createdAt` (default), `email`, `firstName` or `lastName`;
/// `searchQuery` matches email, first or last name, literally.
#[utoipa::path(
    get,
    path = "/v1/admin/users",
    tag = "admin",
    params(ListParams<UserSort>),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AdminUserPage),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/admin/users")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    AdminUser { admin, ctx, db }: AdminUser,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::<UserSort>::parse(&raw)?;
    let page = service::list_users(&db, &ctx, admin, &request).await?;
    Ok(HttpResponse::Ok().json(AdminUserPage::from(page)))
}

/// Deactivates a user: they can no longer sign in (403 `ACCOUNT_INACTIVE`) and
/// every session of theirs is revoked at once. Deactivating an inactive user is
/// a 200 that changes nothing; an admin cannot deactivate themself (409).
#[utoipa::path(
    post,
    path = "/v1/admin/users/{userId}/deactivate",
    tag = "admin",
    params(UserPath),
    security(("bearer" = [])),
    responses(
        UserPath,
        (status = 200, body = AdminUserResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "CANNOT_DEACTIVATE_SELF"),
        SessionProblems, DatabaseProblems,
    )
)]
#[post("/admin/users/{userId}/deactivate")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn deactivate(
    AdminUser { admin, ctx, db }: AdminUser,
    Item(id): UserPath,
) -> Result<HttpResponse> {
    let user = service::deactivate_user(&db, &ctx, admin, id).await?;
    Ok(HttpResponse::Ok().json(AdminUserResponse::from(user)))
}

/// Reactivates a user: they can sign in again (their old sessions stay
/// revoked). Reactivating an active user is a 200 that changes nothing.
#[utoipa::path(
    post,
    path = "/v1/admin/users/{userId}/reactivate",
    tag = "admin",
    params(UserPath),
    security(("bearer" = [])),
    responses(
        UserPath,
        (status = 200, body = AdminUserResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "PLATFORM_ADMIN_REQUIRED"),
        SessionProblems, DatabaseProblems,
    )
)]
#[post("/admin/users/{userId}/reactivate")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn reactivate(
    AdminUser { admin, ctx, db }: AdminUser,
    Item(id): UserPath,
) -> Result<HttpResponse> {
    let user = service::reactivate_user(&db, &ctx, admin, id).await?;
    Ok(HttpResponse::Ok().json(AdminUserResponse::from(user)))
}
