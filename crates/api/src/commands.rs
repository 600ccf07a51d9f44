//! Operator commands of the `api` binary besides serving.

use infra::repositories::{OutboxMessage, OutboxRepository};
use infra::{Database, Settings};
use serde_json::json;

/// The `limit` newest outbox messages, delivered or not, oldest of them first
/// (the newest is the last line), as one JSON object per line with its delivery
/// state: what `api outbox` prints. Refused in production, since the messages
/// carry tokens.
pub async fn recent_outbox(settings: &Settings, limit: u64) -> Result<Vec<String>, String> {
    read_outbox(settings, Selection::Recent, limit).await
}

/// Undelivered outbox messages, oldest first, one JSON object per line: what
/// `api outbox --pending` prints. Refused in production.
pub async fn pending_outbox(settings: &Settings, limit: u64) -> Result<Vec<String>, String> {
    read_outbox(settings, Selection::Pending, limit).await
}

enum Selection {
    Recent,
    Pending,
}

async fn read_outbox(
    settings: &Settings,
    selection: Selection,
    limit: u64,
) -> Result<Vec<String>, String> {
    if settings.is_production() {
        return Err("`api outbox` prints secrets and is refused in production".to_owned());
    }
    let db = Database::connect(&settings.database)
        .await
        .map_err(|e| e.to_string())?;
    let outbox = OutboxRepository::at(db.conn(), chrono::Utc::now());
    let messages = match selection {
        Selection::Recent => outbox.recent(limit).await,
        Selection::Pending => outbox.pending(limit).await,
    }
    .map_err(|e| e.to_string());
    let _ = db.close().await;
    Ok(messages?.iter().map(line).collect())
}

fn line(m: &OutboxMessage) -> String {
    json!({
        "id": m.id.to_string(),
        "kind": m.kind,
        "state": m.state(),
        "attempts": m.attempts,
        "lastError": m.last_error,
        // A delivered message is never due again.
        "nextAttemptAt": m.processed_at.is_none().then_some(m.next_attempt_at),
        "processedAt": m.processed_at,
        "createdAt": m.created_at,
        "payload": m.payload,
    })
    .to_string()
}

/// `api admin promote|demote <email>`: makes the live user with `email` a
/// platform admin (`admin`) or takes it away, audited as the `system` actor.
/// Idempotent. Returns what happened, for the operator; an unknown or malformed
/// email (or an unreachable database) is an error.
pub async fn set_platform_admin(
    settings: &Settings,
    email: &str,
    admin: bool,
) -> Result<String, String> {
    let email = domain::Email::parse(email).map_err(|e| e.to_string())?;
    let db = Database::connect(&settings.database)
        .await
        .map_err(|e| e.to_string())?;
    let ctx = app::Context::system(chrono::Utc::now());
    let changed = app::admin::set_platform_admin(&db, &ctx, &email, admin).await;
    let _ = db.close().await;
    let what = if admin {
        "a platform admin"
    } else {
        "not a platform admin"
    };
    match changed {
        Ok(true) => Ok(format!("{email} is now {what}")),
        Ok(false) => Ok(format!("{email} was already {what}; nothing changed")),
        Err(domain::DomainError::NotFound { .. }) => Err(format!("no user has the email {email}")),
        Err(e) => Err(e.to_string()),
    }
}
