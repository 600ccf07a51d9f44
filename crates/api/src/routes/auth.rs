//! `/v1/auth/...`: sign-up, sign-in, sign-out, email verification and password
//! reset.

use actix_web::http::header::{CACHE_CONTROL, LOCATION};
use actix_web::{HttpResponse, post, web};
use app::auth::{self as service, SignedIn};
use chrono::{DateTime, Utc};
use domain::Email;
use domain::auth::{
    PasswordResetConfirmRequest, PasswordResetRequest, SignInRequest, VerifyEmailRequest,
};
use domain::users::SignUpRequest;
use domain::users::{Credentials, SignUp};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::auth::{Anonymous, Client, CurrentUser};
use crate::error::{Problem, Result};
use crate::extract::JsonBody;
use crate::openapi::{
    DatabaseProblems, HashingProblems, JsonBodyProblems, PersonOnlyProblems, RateLimitProblems,
    SessionProblems,
};
use crate::rate_limit::{RateLimit, limits};
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
        SignUpRequest,
        SignInRequest,
        SessionResponse,
        VerifyEmailRequest,
        PasswordResetRequest,
        PasswordResetConfirmRequest
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

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    /// The signed-in user.
    pub user: UserResponse,
    /// The bearer token for `Authorization: Bearer <token>`; shown only now.
    pub token: String,
    /// When the session ends unless used; each use more than a day after the
    /// last extension moves it to 7 days after that use, but never past
    /// `auth.session_max_lifetime_days` (30) after sign-in.
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

/// `Cache-Control: no-store`: the body carries a bearer token, which no cache
/// (browser, proxy) may keep.
const NO_STORE: (actix_web::http::header::HeaderName, &str) = (CACHE_CONTROL, "no-store");

/// Creates an account and signs it in. Queues an email-verification email.
#[utoipa::path(
    post,
    path = "/v1/auth/sign-up",
    tag = "auth",
    request_body = SignUpRequest,
    responses(
        (status = 201, body = SessionResponse, headers(("Location" = String, description = "`/v1/me`"), ("Cache-Control" = String, description = "`no-store`: the body holds a bearer token"))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "EMAIL_TAKEN"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, RateLimitProblems, HashingProblems,
    )
)]
#[post("/auth/sign-up")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_up(
    _: RateLimit<limits::SignUp>,
    state: web::Data<AppState>,
    Anonymous { ctx, db }: Anonymous,
    Client(client): Client,
    JsonBody(body): JsonBody<SignUpRequest>,
) -> Result<HttpResponse> {
    let sign_up = SignUp::try_from(body)?;
    let signed_in = service::sign_up(
        &db,
        &state.passwords,
        &state.sessions,
        &ctx,
        sign_up,
        client,
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((LOCATION, "/v1/me"))
        .insert_header(NO_STORE)
        .json(SessionResponse::from(signed_in)))
}

/// Signs in with email and password.
#[utoipa::path(
    post,
    path = "/v1/auth/sign-in",
    tag = "auth",
    request_body = SignInRequest,
    responses(
        (status = 200, body = SessionResponse, headers(("Cache-Control" = String, description = "`no-store`: the body holds a bearer token"))),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "ACCOUNT_INACTIVE"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "RATE_LIMITED: too many sign-ins from this address (`rate_limits.sign_in_per_minute`), or too many failed sign-ins for this email (`auth.max_failed_sign_ins` within 15 minutes; the same for an email with or without an account)", headers(("Retry-After" = u64, description = "Seconds until it may try again"))),
        JsonBodyProblems, SessionProblems, HashingProblems,
    )
)]
#[post("/auth/sign-in")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_in(
    _: RateLimit<limits::SignIn>,
    state: web::Data<AppState>,
    Anonymous { ctx, db }: Anonymous,
    Client(client): Client,
    JsonBody(body): JsonBody<SignInRequest>,
) -> Result<HttpResponse> {
    let credentials = Credentials::try_from(body)?;
    let signed_in = service::sign_in(
        &db,
        &state.passwords,
        &state.sign_ins,
        &state.sessions,
        &ctx,
        credentials,
        client,
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(NO_STORE)
        .json(SessionResponse::from(signed_in)))
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

/// Proves ownership of the email address with the token from the verification
/// email (valid 24 h, single use).
#[utoipa::path(
    post,
    path = "/v1/auth/verify-email",
    tag = "auth",
    request_body = VerifyEmailRequest,
    responses(
        (status = 204, description = "The email is verified"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "INVALID_TOKEN (unknown, expired or used), VALIDATION_FAILED"),
        JsonBodyProblems, RateLimitProblems, DatabaseProblems,
    )
)]
#[post("/auth/verify-email")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn verify_email(
    _: RateLimit<limits::VerifyEmail>,
    _state: web::Data<AppState>,
    Anonymous { ctx, db }: Anonymous,
    JsonBody(body): JsonBody<VerifyEmailRequest>,
) -> Result<HttpResponse> {
    let token = body.into_token()?;
    service::verify_email(&db, &ctx, &token).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Emails a password-reset token (valid 1 h) if a live user has this email. The
/// answer is the same either way, so it does not reveal who has an account.
#[utoipa::path(
    post,
    path = "/v1/auth/password-reset/request",
    tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Accepted, whether or not the email has an account"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED"),
        JsonBodyProblems, RateLimitProblems, DatabaseProblems,
    )
)]
#[post("/auth/password-reset/request")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn request_password_reset(
    _: RateLimit<limits::PasswordReset>,
    _state: web::Data<AppState>,
    Anonymous { ctx, db }: Anonymous,
    JsonBody(body): JsonBody<PasswordResetRequest>,
) -> Result<HttpResponse> {
    let email = Email::try_from(body)?;
    service::request_password_reset(&db, &ctx, &email).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Sets a new password with the token from the password-reset email and signs
/// out every session of the account.
#[utoipa::path(
    post,
    path = "/v1/auth/password-reset/confirm",
    tag = "auth",
    request_body = PasswordResetConfirmRequest,
    responses(
        (status = 204, description = "The password is changed; every session is revoked"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "INVALID_TOKEN (unknown, expired or used), VALIDATION_FAILED"),
        JsonBodyProblems, RateLimitProblems, HashingProblems,
    )
)]
#[post("/auth/password-reset/confirm")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn confirm_password_reset(
    _: RateLimit<limits::PasswordReset>,
    state: web::Data<AppState>,
    Anonymous { ctx, db }: Anonymous,
    JsonBody(body): JsonBody<PasswordResetConfirmRequest>,
) -> Result<HttpResponse> {
    let (token, password) = body.into_parts()?;
    service::confirm_password_reset(&db, &state.passwords, &ctx, &token, password).await?;
    Ok(HttpResponse::NoContent().finish())
}
