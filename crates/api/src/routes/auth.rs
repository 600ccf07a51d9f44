//! (to be written)

use actix_web::web;
use utoipa::OpenApi;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi()]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(_cfg: &mut web::ServiceConfig) {}
