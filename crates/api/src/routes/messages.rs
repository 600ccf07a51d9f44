//! `/v1/organizations/{orgId}/jobs/{jobId}/messages`: the conversation of a
//! job's runs (any member or key reads and adds).

use actix_web::{HttpResponse, get, post, web};
use app::messages as service;
use chrono::{DateTime, Utc};
use domain::messages::{CreateMessageRequest, Message, MessageDraft, MessageSort};
use domain::{PageRequest, SortDirection};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::auth::Caller;
use crate::error::{Problem, Result};
use crate::extract::{LargeJsonBody, ListParams, ListQuery};
use crate::openapi::{DatabaseProblems, JsonBodyProblems, QueryProblems, SessionProblems};
use crate::paths::{JobPath, OrgItem};
use crate::views::page_response;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(create, list),
    components(schemas(CreateMessageRequest, MessageResponse, MessagePage))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create).service(list);
}

/// A message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageResponse {
    /// `msg_...`
    #[schema(example = "msg_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// `job_...`
    pub job_id: String,
    /// `tsk_...` of the run it belongs to.
    pub task_id: Option<String>,
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// What was said.
    pub content: String,
    /// A JSON object.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl From<Message> for MessageResponse {
    fn from(m: Message) -> Self {
        Self {
            id: m.id.to_string(),
            job_id: m.job_id.to_string(),
            task_id: m.task_id.map(|t| t.to_string()),
            role: m.role.as_str().to_owned(),
            content: m.content,
            metadata: m.metadata,
            created_at: m.created_at,
        }
    }
}

page_response! {
    /// A page of messages.
    MessagePage: MessageResponse, from Message
}

/// Adds a message to a job (a body of up to 1 MiB, or `server.json_body_limit_bytes`
/// when larger).
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/jobs/{jobId}/messages",
    tag = "jobs",
    params(JobPath),
    request_body = CreateMessageRequest,
    security(("bearer" = [])),
    responses(
        JobPath,
        (status = 201, body = MessageResponse),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (TASK_NOT_FOUND on taskId, ...)"),
        JsonBodyProblems, SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/jobs/{jobId}/messages")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, job): JobPath,
    LargeJsonBody(body): LargeJsonBody<CreateMessageRequest, 1024>,
) -> Result<HttpResponse> {
    let draft = MessageDraft::try_from(body)?;
    let message = service::create(&db, &ctx, org, job, draft).await?;
    Ok(HttpResponse::Created().json(MessageResponse::from(message)))
}

/// A job's messages, oldest first unless `sortDirection=desc`; `searchQuery`
/// matches the content.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/jobs/{jobId}/messages",
    tag = "jobs",
    params(JobPath, ListParams<MessageSort>),
    security(("bearer" = [])),
    responses(
        JobPath,
        (status = 200, body = MessagePage),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/jobs/{jobId}/messages")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    Caller { ctx, db, .. }: Caller,
    OrgItem(org, job): JobPath,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let mut request = PageRequest::<MessageSort>::parse(&raw)?;
    if raw.sort_direction.is_none() {
        request.direction = SortDirection::Asc;
    }
    let page = service::list(&db, &ctx, org, job, &request).await?;
    Ok(HttpResponse::Ok().json(MessagePage::from(page)))
}
