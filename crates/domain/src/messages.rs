//! Messages: the conversation a job's runs produced (system prompts, the
//! model's answers, tool calls), listed oldest first.

use chrono::{DateTime, Utc};

use crate::error::{DomainError, FieldError, Validation};
use crate::id::{JobId, MessageId, OrganizationId, TaskId};
use crate::text_enum;

/// Longest content, in characters.
pub const MAX_CONTENT_CHARS: u64 = 100_000;
/// Largest metadata, in bytes of JSON (16 KiB).
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

text_enum! {
    /// Who speaks.
    MessageRole {
        /// Instructions.
        System => "system",
        /// The person (or the job's definition).
        User => "user",
        /// The model.
        Assistant => "assistant",
        /// A tool's answer.
        Tool => "tool",
    }
}

crate::sort_by! {
    /// `sortBy` of the message list (oldest first unless `sortDirection=desc`).
    MessageSort {
        /// Creation time (the default).
        CreatedAt => "createdAt",
    }
}

/// A stored message.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Identity.
    pub id: MessageId,
    /// Its job.
    pub job_id: JobId,
    /// The job's organization.
    pub organization_id: OrganizationId,
    /// The run it belongs to, if any.
    pub task_id: Option<TaskId>,
    /// Who speaks.
    pub role: MessageRole,
    /// What was said.
    pub content: String,
    /// A JSON object.
    pub metadata: Option<serde_json::Value>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A validated new message.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageDraft {
    /// Who speaks.
    pub role: MessageRole,
    /// 1 to 100,000 characters.
    pub content: String,
    /// A JSON object of at most 16 KiB.
    pub metadata: Option<serde_json::Value>,
    /// A task of the same job.
    pub task_id: Option<TaskId>,
}

/// A message as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateMessageBody))]
#[serde(rename_all = "camelCase")]
pub struct CreateMessageRequest {
    /// `system`, `user`, `assistant` or `tool`.
    #[validate(
        required(code = "REQUIRED", message = "role is required"),
        custom(function = "crate::validate::variant::<MessageRole>")
    )]
    #[cfg_attr(feature = "openapi", schema(required = true, value_type = String, pattern = "^(system|user|assistant|tool)$", example = "assistant"))]
    pub role: Option<String>,
    /// 1 to 100,000 characters.
    #[validate(
        required(code = "REQUIRED", message = "content is required"),
        length(
            min = 1,
            max = 100000,
            code = "TOO_LONG",
            message = "content is 1 to 100,000 characters"
        )
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, min_length = 1, max_length = 100000)
    )]
    pub content: Option<String>,
    /// A JSON object, at most 16 KiB.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub metadata: Option<serde_json::Value>,
    /// `tsk_...` of a run of the same job.
    #[validate(custom(function = "crate::validate::task_id"))]
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^tsk_[0-7][0-9A-HJKMNP-TV-Z]{25}$")
    )]
    pub task_id: Option<String>,
}

impl TryFrom<CreateMessageRequest> for MessageDraft {
    type Error = DomainError;

    fn try_from(body: CreateMessageRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let role = v
            .required("role", body.role)
            .and_then(|r| v.check("role", r.parse::<MessageRole>()));
        let content = v.required("content", body.content);
        let metadata = match body.metadata {
            None | Some(serde_json::Value::Null) => Some(None),
            Some(value @ serde_json::Value::Object(_)) => {
                if serde_json::to_vec(&value).map_or(true, |b| b.len() > MAX_METADATA_BYTES) {
                    v.push(FieldError::new(
                        "metadata",
                        "TOO_LARGE",
                        "metadata is at most 16 KiB of JSON",
                    ));
                    None
                } else {
                    Some(Some(value))
                }
            }
            Some(_) => {
                v.push(FieldError::new(
                    "metadata",
                    "INVALID_TYPE",
                    "metadata is a JSON object",
                ));
                None
            }
        };
        let task_id = match body.task_id {
            None => Some(None),
            Some(raw) => v.check("taskId", raw.parse::<TaskId>()).map(Some),
        };
        let ((role, content), (metadata, task_id)) =
            v.finish(role.zip(content).zip(metadata.zip(task_id)))?;
        Ok(Self {
            role,
            content,
            metadata,
            task_id,
        })
    }
}
