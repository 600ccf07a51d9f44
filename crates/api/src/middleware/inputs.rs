//! A NUL character in a query parameter is 422, whichever route it is sent to:
//! PostgreSQL refuses to hold one in text, so it would otherwise be a 500
//! wherever a parameter reaches a statement (`searchQuery`, `entityId`, ...).
//! (JSON bodies are checked by [`crate::extract::JsonBody`]; path parameters
//! are parsed into IDs, which never hold one.)

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError, web};
use domain::{DomainError, FieldError};

use crate::error::ApiError;

/// The code of a text input holding a NUL character.
pub const INVALID_CHARACTER: &str = "INVALID_CHARACTER";

/// 422 naming every query parameter that holds a NUL (`%00`), before routing.
pub async fn reject_nul_in_query(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    // `%00` is the only way to write a NUL in a URL (a raw one is refused by
    // the HTTP parser), so this test is exact for every query without one.
    if req.query_string().contains("%00")
        && let Some(error) = nul_parameters(req.query_string())
    {
        let response = ApiError::from(error).error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// The error naming each parameter whose name or value decodes to text with a
/// NUL; `None` when there is none (or the query cannot be read at all, which
/// the route answers itself).
fn nul_parameters(query: &str) -> Option<DomainError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query).ok()?;
    let errors: Vec<FieldError> = pairs
        .iter()
        .filter(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| {
            FieldError::new(
                name.replace('\0', "\u{FFFD}"),
                INVALID_CHARACTER,
                "must not contain the NUL character",
            )
        })
        .collect();
    (!errors.is_empty()).then_some(DomainError::Validation(errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_holding_a_nul_are_named() {
        let Some(DomainError::Validation(errors)) =
            nul_parameters("searchQuery=a%00b&pageSize=10&entityId=%00")
        else {
            panic!("no error");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["searchQuery", "entityId"]);
        assert!(
            nul_parameters("searchQuery=%2500").is_none(),
            "%2500 is the text %00"
        );
    }
}
