//! `ApiError`: every error a handler returns, rendered as RFC 9457 problem+json.

use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, RETRY_AFTER, WWW_AUTHENTICATE};
use actix_web::{HttpResponse, ResponseError};
use domain::error::ConflictKind;
use domain::{DomainError, FieldError};
use serde::Serialize;
use utoipa::ToSchema;

/// Handler result.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// What went wrong, from HTTP's point of view.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400, 401, 403, 404, 409, 412, 422, 429, 500 or 503, as the domain says.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// 400: the body is not JSON, or the query string cannot be read.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 404: no such route.
    #[error("no such route")]
    RouteNotFound,
    /// 405: the path is served, but not for this method.
    #[error("method not allowed; allowed: {allow}")]
    MethodNotAllowed {
        /// The `Allow` header: the methods the path serves.
        allow: String,
    },
    /// 408: the body did not arrive within the configured time.
    #[error("the body did not arrive within {secs} s")]
    RequestTimeout {
        /// The timeout, in seconds.
        secs: u64,
    },
    /// 413: the body is larger than the configured limit.
    #[error("payload larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// 429: this client sent too many of these requests; retry after the wait.
    #[error("rate limited; retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the next request is accepted (`Retry-After`).
        retry_after_secs: u64,
    },
    /// 415: the body is not `application/json`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the problem type.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What happened this time.
    pub detail: String,
    /// A stable machine code (`EMAIL_TAKEN`, `VALIDATION_FAILED`, ...).
    pub code: &'static str,
    /// For 422 (and conflicts on a field): one entry per broken rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<ProblemFieldError>>)]
    pub errors: Option<Vec<FieldError>>,
}

/// One broken rule on one field.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemFieldError {
    /// The field as sent (camelCase).
    pub field: String,
    /// A machine code (`REQUIRED`, `INVALID_EMAIL`, ...).
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

impl ApiError {
    fn parts(
        &self,
    ) -> (
        StatusCode,
        &'static str,
        &'static str,
        String,
        Option<Vec<FieldError>>,
    ) {
        match self {
            Self::Domain(DomainError::Validation(errors)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "VALIDATION_FAILED",
                "Validation failed",
                "The request has invalid fields.".to_owned(),
                Some(errors.clone()),
            ),
            Self::Domain(DomainError::NotFound { resource, code }) => (
                StatusCode::NOT_FOUND,
                code,
                "Not found",
                format!("The {resource} does not exist."),
                None,
            ),
            Self::Domain(DomainError::Conflict(c)) => {
                let status = match c.kind {
                    ConflictKind::MissingReference => StatusCode::UNPROCESSABLE_ENTITY,
                    ConflictKind::Unique | ConflictKind::State => StatusCode::CONFLICT,
                };
                let errors = (!c.field.is_empty())
                    .then(|| vec![FieldError::new(c.field, c.code, c.message.clone())]);
                (status, c.code, "Conflict", c.message.clone(), errors)
            }
            Self::Domain(DomainError::Unauthenticated { code, message }) => (
                StatusCode::UNAUTHORIZED,
                code,
                "Unauthorized",
                (*message).to_owned(),
                None,
            ),
            Self::Domain(DomainError::Forbidden { code, message }) => (
                StatusCode::FORBIDDEN,
                code,
                "Forbidden",
                message.clone(),
                None,
            ),
            Self::Domain(DomainError::PreconditionFailed { message }) => (
                StatusCode::PRECONDITION_FAILED,
                domain::preconditions::PRECONDITION_FAILED,
                "Precondition failed",
                format!("{message}; nothing was written."),
                None,
            ),
            Self::Domain(DomainError::InvalidToken) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_TOKEN",
                "Invalid token",
                "The token is unknown, expired, revoked or already used.".to_owned(),
                Some(vec![FieldError::new(
                    "token",
                    "INVALID_TOKEN",
                    "the token is unknown, expired, revoked or already used",
                )]),
            ),
            // The wait is in `Retry-After` only: one body for every such answer.
            Self::Domain(DomainError::RateLimited { .. }) => (
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                "Too many requests",
                "Too many attempts; retry after the seconds in Retry-After.".to_owned(),
                None,
            ),
            Self::Domain(DomainError::Busy { .. }) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "BUSY",
                "Service unavailable",
                "The server is busy; retry after the seconds in Retry-After.".to_owned(),
                None,
            ),
            Self::Domain(DomainError::Unavailable) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "DATABASE_UNAVAILABLE",
                "Service unavailable",
                "The database is unavailable; try again shortly.".to_owned(),
                None,
            ),
            Self::Domain(DomainError::Internal(_)) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "Internal server error",
                "An unexpected error occurred.".to_owned(),
                None,
            ),
            Self::BadRequest(detail) => (
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "Bad request",
                detail.clone(),
                None,
            ),
            Self::RouteNotFound => (
                StatusCode::NOT_FOUND,
                "ROUTE_NOT_FOUND",
                "Not found",
                "No route matches this path.".to_owned(),
                None,
            ),
            Self::MethodNotAllowed { allow } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "Method not allowed",
                format!("This path serves only {allow}."),
                None,
            ),
            Self::RequestTimeout { secs } => (
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_TIMEOUT",
                "Request timeout",
                format!("The body did not arrive within {secs} s."),
                None,
            ),
            Self::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "Payload too large",
                format!("The body must be at most {limit} bytes."),
                None,
            ),
            Self::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                "Too many requests",
                format!(
                    "Too many of these requests from this address; retry in {retry_after_secs} s."
                ),
                None,
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "Unsupported media type",
                "The body must be JSON (Content-Type: application/json).".to_owned(),
                None,
            ),
        }
    }
}

impl ApiError {
    /// When to retry, for the answers that say (`Retry-After`, in seconds).
    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::Domain(
                DomainError::RateLimited { retry_after_secs }
                | DomainError::Busy { retry_after_secs },
            )
            | Self::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code, title, detail, errors) = self.parts();
        if matches!(self, Self::Domain(DomainError::Busy { .. })) {
            // Load, not a fault: a flood would otherwise fill the log with errors.
            tracing::warn!(code, "request refused: busy");
        } else if status.is_server_error() {
            // The cause goes to the log; the client gets a constant body.
            tracing::error!(error = %self, code, "request failed");
        }
        let problem = Problem {
            problem_type: format!(
                "https://groundwork.dev/problems/{}",
                code.to_lowercase().replace('_', "-")
            ),
            title,
            status: status.as_u16(),
            detail,
            code,
            errors,
        };
        let mut response = HttpResponse::build(status);
        match self {
            Self::Domain(DomainError::Unauthenticated { .. }) => {
                response.insert_header((WWW_AUTHENTICATE, "Bearer"));
            }
            Self::MethodNotAllowed { allow } => {
                response.insert_header((ALLOW, allow.as_str()));
            }
            // The rest of the body may still be on its way: end the connection
            // rather than read it.
            Self::RequestTimeout { .. } => {
                response.force_close();
            }
            _ => {}
        }
        if let Some(secs) = self.retry_after_secs() {
            response.insert_header((RETRY_AFTER, secs.to_string()));
        }
        response
            .content_type("application/problem+json")
            .body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_carry_no_detail() {
        let err = ApiError::from(DomainError::Internal("password=hunter2 at db.rs:42".into()));
        let (status, code, _, detail, _) = err.parts();
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(code, "INTERNAL_ERROR");
        assert!(!detail.contains("hunter2"));
    }

    #[test]
    fn a_taken_value_is_a_conflict_naming_the_field() {
        let (status, code, _, _, errors) =
            ApiError::from(DomainError::taken("email", "EMAIL_TAKEN")).parts();
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(code, "EMAIL_TAKEN");
        assert_eq!(errors.unwrap()[0].field, "email");
    }
}
