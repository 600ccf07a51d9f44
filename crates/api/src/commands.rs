//! Operator commands of the `api` binary besides serving.

use domain::OutboxMessageId;
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

/// Undelivered outbox messages (not failed), oldest first, one JSON object per
/// line: what `api outbox --pending` prints. Refused in production.
pub async fn pending_outbox(settings: &Settings, limit: u64) -> Result<Vec<String>, String> {
    read_outbox(settings, Selection::Pending, limit).await
}

/// Messages that failed for good (an SMTP 5xx, or `outbox.max_attempts`
/// attempts), oldest first, one JSON object per line with `lastError`: what
/// `api outbox --failed` prints. Allowed in production, where the tokens are
/// shown as `***`.
pub async fn failed_outbox(settings: &Settings, limit: u64) -> Result<Vec<String>, String> {
    read_outbox(settings, Selection::Failed, limit).await
}

/// `api outbox --retry ID`: makes the failed message `id` due now with a fresh
/// count of attempts, and returns its line (tokens as `***` in production).
/// An ID that names no failed message is an error.
pub async fn retry_outbox(settings: &Settings, id: &str) -> Result<String, String> {
    let parsed = OutboxMessageId::parse(id.trim())
        .map_err(|_| format!("`{id}` is not an outbox message ID"))?;
    let db = Database::connect(&settings.database)
        .await
        .map_err(|e| e.to_string())?;
    let outbox = OutboxRepository::at(db.conn(), chrono::Utc::now());
    let retried = async {
        if !outbox.retry_failed(parsed).await? {
            return Ok(None);
        }
        outbox.find(parsed).await
    }
    .await
    .map_err(|e: domain::DomainError| e.to_string());
    let _ = db.close().await;
    match retried? {
        Some(message) => Ok(line(&message, !settings.is_production())),
        None => Err(format!("no failed outbox message has the ID {parsed}")),
    }
}

enum Selection {
    Recent,
    Pending,
    Failed,
}

async fn read_outbox(
    settings: &Settings,
    selection: Selection,
    limit: u64,
) -> Result<Vec<String>, String> {
    let reveal = !settings.is_production();
    if !reveal && !matches!(selection, Selection::Failed) {
        return Err("`api outbox` prints secrets and is refused in production \
             (`--failed` and `--retry ID` are allowed)"
            .to_owned());
    }
    let db = Database::connect(&settings.database)
        .await
        .map_err(|e| e.to_string())?;
    let outbox = OutboxRepository::at(db.conn(), chrono::Utc::now());
    let messages = match selection {
        Selection::Recent => outbox.recent(limit).await,
        Selection::Pending => outbox.pending(limit).await,
        Selection::Failed => outbox.failed(limit).await,
    }
    .map_err(|e| e.to_string());
    let _ = db.close().await;
    Ok(messages?.iter().map(|m| line(m, reveal)).collect())
}

/// One message as a line of JSON; with `reveal` false its token is `***`.
fn line(m: &OutboxMessage, reveal: bool) -> String {
    let mut payload = m.payload.clone();
    if !reveal && let Some(token) = payload.pointer_mut("/data/token") {
        *token = json!("***");
    }
    json!({
        "id": m.id.to_string(),
        "kind": m.kind,
        "state": m.state(),
        "attempts": m.attempts,
        "lastError": m.last_error,
        // A delivered or failed message is not due.
        "nextAttemptAt": (m.processed_at.is_none() && m.failed_at.is_none())
            .then_some(m.next_attempt_at),
        "processedAt": m.processed_at,
        "failedAt": m.failed_at,
        "createdAt": m.created_at,
        "payload": payload,
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

/// `api secrets rewrap`: moves every endpoint secret not under the key ring's
/// primary key to it, `batch_size` rows per transaction
/// (`app::endpoints::rewrap_secrets`). Returns the lines to print and whether
/// every secret is now under the primary (else some do not decrypt, and the
/// log says which).
pub async fn rewrap_secrets(
    settings: &Settings,
    batch_size: u64,
) -> Result<(Vec<String>, bool), String> {
    let keyring = infra::security::secrets::Keyring::from_settings(
        &settings.secrets,
        settings.is_production(),
    )
    .map_err(|e| e.to_string())?;
    let db = Database::connect(&settings.database)
        .await
        .map_err(|e| e.to_string())?;
    let report =
        app::endpoints::rewrap_secrets(&db, &keyring, chrono::Utc::now(), batch_size).await;
    let _ = db.close().await;
    let report = report.map_err(|e| e.to_string())?;
    let mut lines = vec![format!(
        "moved {} endpoint secret(s) to key `{}`",
        report.moved, report.primary
    )];
    if report.remaining.is_empty() {
        lines.push("remaining under other keys: none".to_owned());
    } else {
        for (key, count) in &report.remaining {
            lines.push(format!(
                "remaining under key `{key}`: {count} (they do not decrypt; see the log)"
            ));
        }
    }
    Ok((lines, report.remaining.is_empty()))
}
