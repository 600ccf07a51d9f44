//! Operator commands of the `api` binary besides serving.

use infra::repositories::OutboxRepository;
use infra::{Database, Settings};

/// Undelivered outbox messages, oldest first, as one JSON object per line: what
/// `api outbox` prints. Refused in production, since the messages carry tokens.
pub async fn pending_outbox(settings: &Settings, limit: u64) -> Result<Vec<String>, String> {
    if settings.is_production() {
        return Err("`api outbox` prints secrets and is refused in production".to_owned());
    }
    let db = Database::connect(&settings.database)
        .await
        .map_err(|e| e.to_string())?;
    let messages = OutboxRepository::at(db.conn(), chrono::Utc::now())
        .pending(limit)
        .await
        .map_err(|e| e.to_string());
    let _ = db.close().await;
    Ok(messages?
        .into_iter()
        .map(|m| {
            serde_json::json!({
                "id": m.id.to_string(),
                "kind": m.kind,
                "createdAt": m.created_at,
                "payload": m.payload,
            })
            .to_string()
        })
        .collect())
}
