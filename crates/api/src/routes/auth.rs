//! `/v1/auth/...`: sign-up, sign-in, sign-out, email verification and password
//! reset.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, post, web};
use app::auth::{self as service, SignedIn};
use chrono::{DateTime, Utc};
use domain::users::{Credentials, SignUp, check_profession};
use domain::{DomainError, Email, NewUser, Password, PersonName, UserType, Validation};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::auth::{Anonymous, Client, CurrentUser};
use crate::error::{Problem, Result};
use crate::extract::JsonBody;
use crate::openapi::{DatabaseProblems, JsonBodyProblems, PersonOnlyProblems, SessionProblems};
use crate::state::AppState;
use crate::views::UserResponse;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        sign_up,
        sign_in,
        sign_out,
        verify_email,
        request_password_reset,
        confirm_password_reset
    ),
    components(schemas(
        SignUpBody,
        SignInBody,
        SessionResponse,
        VerifyEmailBody,
        PasswordResetRequestBody,
        PasswordResetConfirmBody
    ))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(sign_up)
        .service(sign_in)
        .service(sign_out)
        .service(verify_email)
        .service(request_password_reset)
        .service(confirm_password_reset);
}

/// A sign-up as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignUpBody {
    /// An email address, unique among live users (compared case-insensitively).
    #[schema(example = "ada@example.com")]
    pub email: Option<String>,
    /// 8 to 128 characters, any characters.
    pub password: Option<String>,
    /// 1 to 100 characters.
    #[schema(example = "Ada")]
    pub first_name: Option<String>,
    /// 1 to 100 characters.
    #[schema(example = "Lovelace")]
    pub last_name: Option<String>,
    /// `employee` or `organization`.
    #[serde(rename = "type")]
    #[schema(example = "employee")]
    pub user_type: Option<String>,
    /// Required for employees; 1 to 100 characters.
    #[schema(example = "Engineer")]
    pub profession: Option<String>,
}

impl TryFrom<SignUpBody> for SignUp {
    type Error = DomainError;

    fn try_from(body: SignUpBody) -> Result<Self, DomainError> {
        let mut v = Validation::default();
        let email = v
            .required("email", body.email)
            .and_then(|e| v.check("email", Email::parse(&e)));
        let password = v
            .required("password", body.password)
            .and_then(|p| v.check("password", Password::parse(&p)));
        let first_name = v
            .required("firstName", body.first_name)
            .and_then(|n| v.check("firstName", PersonName::parse(&n)));
        let last_name = v
            .required("lastName", body.last_name)
            .and_then(|n| v.check("lastName", PersonName::parse(&n)));
        let user_type = v
            .required("type", body.user_type)
            .and_then(|t| v.check("type", t.parse::<UserType>()));
        let profession = match body.profession {
            Some(p) => v.check("profession", PersonName::parse(&p)).map(Some),
            None => Some(None),
        };
        if let (Some(user_type), Some(profession)) = (user_type, &profession) {
            v.check(
                "profession",
                check_profession(user_type, profession.as_ref()),
            );
        }
        let (((email, password), (first_name, last_name)), (user_type, profession)) = v.finish(
            email
                .zip(password)
                .zip(first_name.zip(last_name))
                .zip(user_type.zip(profession)),
        )?;
        Ok(Self {
            user: NewUser {
                email,
                first_name,
                last_name,
                user_type,
                profession,
            },
            password,
        })
    }
}

/// Sign-in credentials as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInBody {
    /// The account's email, in any case.
    #[schema(example = "ada@example.com")]
    pub email: Option<String>,
    /// The password.
    pub password: Option<String>,
}

impl TryFrom<SignInBody> for Credentials {
    type Error = DomainError;

    fn try_from(body: SignInBody) -> Result<Self, DomainError> {
        let mut v = Validation::default();
        let email = v
            .required("email", body.email)
            .and_then(|e| v.check("email", Email::parse(&e)));
        // A password outside the policy is not a validation error here: it is a
        // wrong password (401), so sign-in says nothing about the policy.
        let password = v
            .required("password", body.password)
            .map(|p| Password::parse(&p).ok());
        let (email, password) = v.finish(email.zip(password))?;
        Ok(Self { email, password })
    }
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    /// The signed-in user.
    pub user: UserResponse,
    /// The bearer token for `Authorization: Bearer <token>`; shown only now.
    pub token: String,
    /// When the session ends unless used; each use more than a day after the
    /// last extension moves it to 7 days after that use.
    pub expires_at: DateTime<Utc>,
}

impl From<SignedIn> for SessionResponse {
    fn from(signed_in: SignedIn) -> Self {
        Self {
            user: signed_in.user.into(),
            token: signed_in.token,
            expires_at: signed_in.expires_at,
        }
    }
}

/// Creates an account and signs it in. Queues an email-verification email.
#[utoipa::path(
    post,
    path = "/v1/auth/sign-up",
    tag = "auth",
    request_body = SignUpBody,
    responses(
        (status = 201, body = SessionResponse, headers(("Location" = String, description = "`/v1/me`"))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "EMAIL_TAKEN"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, DatabaseProblems,
    )
)]
#[post("/auth/sign-up")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_up(
    state: web::Data<AppState>,
    Anonymous { ctx, db }: Anonymous,
    Client(client): Client,
    JsonBody(body): JsonBody<SignUpBody>,
) -> Result<HttpResponse> {
    let sign_up = SignUp::try_from(body)?;
    let signed_in = service::sign_up(&db, &state.passwords, &ctx, sign_up, client).await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, "/v1/me"))
        .json(SessionResponse::from(signed_in)))
}

/// Signs in with email and password.
#[utoipa::path(
    post,
    path = "/v1/auth/sign-in",
    tag = "auth",
    request_body = SignInBody,
    responses(
        (status = 200, body = SessionResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "ACCOUNT_INACTIVE"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/auth/sign-in")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_in(
    state: web::Data<AppState>,
    Anonymous { ctx, db }: Anonymous,
    Client(client): Client,
    JsonBody(body): JsonBody<SignInBody>,
) -> Result<HttpResponse> {
    let credentials = Credentials::try_from(body)?;
    let signed_in = service::sign_in(&db, &state.passwords, &ctx, credentials, client).await?;
    Ok(HttpResponse::Ok().json(SessionResponse::from(signed_in)))
}

/// Ends the caller's session: its token stops working at once.
#[utoipa::path(
    post,
    path = "/v1/auth/sign-out",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        SessionProblems, PersonOnlyProblems, DatabaseProblems,
    )
)]
#[post("/auth/sign-out")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_out(CurrentUser { auth, ctx, db }: CurrentUser) -> Result<HttpResponse> {
    service::sign_out(&db, &ctx, auth.session.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An email-verification token as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyEmailBody {
    /// The token from the verification email.
    pub token: Option<String>,
}

/// Proves ownership of the email address with the token from the verification
/// email (valid 24 h, single use).
#[utoipa::path(
    post,
    path = "/v1/auth/verify-email",
    tag = "auth",
    request_body = VerifyEmailBody,
    responses(
        (status = 204, description = "The email is verified"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "INVALID_TOKEN (unknown, expired or used), VALIDATION_FAILED"),
        JsonBodyProblems, DatabaseProblems,
    )
)]
#[post("/auth/verify-email")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn verify_email(
    _state: web::Data<AppState>,
    Anonymous { ctx, db }: Anonymous,
    JsonBody(body): JsonBody<VerifyEmailBody>,
) -> Result<HttpResponse> {
    let mut v = Validation::default();
    let token = v.required("token", body.token);
    let token = v.finish(token)?;
    service::verify_email(&db, &ctx, &token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A password-reset request as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetRequestBody {
    /// The account's email.
    #[schema(example = "ada@example.com")]
    pub email: Option<String>,
}

/// Emails a password-reset token (valid 1 h) if a live user has this email. The
/// answer is the same either way, so it does not reveal who has an account.
#[utoipa::path(
    post,
    path = "/v1/auth/password-reset/request",
    tag = "auth",
    request_body = PasswordResetRequestBody,
    responses(
        (status = 202, description = "Accepted, whether or not the email has an account"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, DatabaseProblems,
    )
)]
#[post("/auth/password-reset/request")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn request_password_reset(
    _state: web::Data<AppState>,
    Anonymous { ctx, db }: Anonymous,
    JsonBody(body): JsonBody<PasswordResetRequestBody>,
) -> Result<HttpResponse> {
    let mut v = Validation::default();
    let email = v
        .required("email", body.email)
        .and_then(|e| v.check("email", Email::parse(&e)));
    let email = v.finish(email)?;
    service::request_password_reset(&db, &ctx, &email).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// A password-reset confirmation as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordResetConfirmBody {
    /// The token from the password-reset email.
    pub token: Option<String>,
    /// 8 to 128 characters, any characters.
    pub new_password: Option<String>,
}

/// Sets a new password with the token from the password-reset email and signs
/// out every session of the account.
#[utoipa::path(
    post,
    path = "/v1/auth/password-reset/confirm",
    tag = "auth",
    request_body = PasswordResetConfirmBody,
    responses(
        (status = 204, description = "The password is changed; every session is revoked"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "INVALID_TOKEN (unknown, expired or used), VALIDATION_FAILED"),
        JsonBodyProblems, DatabaseProblems,
    )
)]
#[post("/auth/password-reset/confirm")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    Anonymous { ctx, db }: Anonymous,
    JsonBody(body): JsonBody<PasswordResetConfirmBody>,
) -> Result<HttpResponse> {
    let mut v = Validation::default();
    let token = v.required("token", body.token);
    let password = v
        .required("newPassword", body.new_password)
        .and_then(|p| v.check("newPassword", Password::parse(&p)));
    let (token, password) = v.finish(token.zip(password))?;
    service::confirm_password_reset(&db, &state.passwords, &ctx, &token, password).await?;
    Ok(HttpResponse::NoContent().finish())
}
