//! The GitHub App: installations and their repositories as GitHub's webhooks
//! describe them, the rules that make applying those webhooks idempotent and
//! independent of their order, and the signed `state` of an install link.
//!
//! GitHub's numeric ids are the keys (GitHub never reuses an installation id).
//!
//! **Ordering.** GitHub does not promise to deliver events in order, and a
//! redelivery can come at any time. Every installation event carries the
//! installation as it was then, with its `updated_at`: that instant is the
//! event's time ([`GithubEvent::at`]). The stored installation keeps the
//! instant of the snapshot it shows (`state_at`) and takes a snapshot only when
//! it is newer ([`snapshot_wins`]); each repository keeps the instant of the last
//! add or removal applied to it (`changed_at`), and an older one never undoes a
//! newer one ([`repository_add_wins`], [`repository_removal_wins`]). `deleted`
//! is terminal. So applying any set of deliveries, in any order and any number
//! of times, ends in the same state.

use std::fmt;

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::error::DomainError;
use crate::id::{OrganizationId, UserId};

/// 404: no installation with this id is linked to the organization.
pub const GITHUB_INSTALLATION_NOT_FOUND: DomainError =
    DomainError::not_found("GitHub installation", "GITHUB_INSTALLATION_NOT_FOUND");

/// The code of a 409 when the delivery id was recorded before (the registry's
/// code for `idx_github_deliveries_delivery_id`): a redelivery, answered 200.
pub const GITHUB_DELIVERY_SEEN: &str = "GITHUB_DELIVERY_SEEN";

/// 409: the installation is linked to another organization.
pub const GITHUB_INSTALLATION_LINKED_ELSEWHERE: &str = "GITHUB_INSTALLATION_LINKED_ELSEWHERE";

/// 409: the installation was uninstalled on GitHub (ids are never reused).
pub const GITHUB_INSTALLATION_DELETED: &str = "GITHUB_INSTALLATION_DELETED";

/// 404: the GitHub integration is switched off (`github.enabled = false`).
pub const GITHUB_DISABLED: &str = "GITHUB_DISABLED";

/// 401 for a webhook whose `X-Hub-Signature-256` is missing or wrong.
pub const INVALID_SIGNATURE: DomainError = DomainError::Unauthenticated {
    code: "INVALID_SIGNATURE",
    message: "the X-Hub-Signature-256 header is missing or does not match the body",
};

/// 401 for a setup callback whose `state` was not signed by this server.
pub const INVALID_STATE: DomainError = DomainError::Unauthenticated {
    code: "INVALID_STATE",
    message: "the state is not one this server issued",
};

/// 401 for a setup callback whose `state` has expired.
pub const STATE_EXPIRED: DomainError = DomainError::Unauthenticated {
    code: "STATE_EXPIRED",
    message: "the install link has expired; create a new one",
};

/// 409 `GITHUB_INSTALLATION_LINKED_ELSEWHERE`.
pub fn linked_elsewhere() -> DomainError {
    DomainError::state_conflict(
        GITHUB_INSTALLATION_LINKED_ELSEWHERE,
        "the installation is linked to another organization",
    )
}

/// 409 `GITHUB_INSTALLATION_DELETED`.
pub fn installation_deleted() -> DomainError {
    DomainError::state_conflict(
        GITHUB_INSTALLATION_DELETED,
        "the installation was removed from GitHub",
    )
}

crate::sort_by! {
    /// `sortBy` of the installation list.
    GithubInstallationSort {
        /// When it was first seen here (the only order).
        CreatedAt => "createdAt",
    }
}

crate::sort_by! {
    /// `sortBy` of an installation's repositories.
    GithubRepositorySort {
        /// When it was first seen here (the default).
        CreatedAt => "createdAt",
        /// `owner/name`.
        FullName => "fullName",
    }
}

/// A GitHub App installation as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct GithubInstallation {
    /// GitHub's installation id.
    pub id: i64,
    /// The account it is installed on (`None` until its first event arrives).
    pub account: Option<GithubAccount>,
    /// The organization it is linked to.
    pub organization_id: Option<OrganizationId>,
    /// `all` or `selected`, as GitHub sends it.
    pub repository_selection: Option<String>,
    /// The permissions granted (`{"contents": "read", ...}`).
    pub permissions: Option<Value>,
    /// The events subscribed to.
    pub events: Option<Value>,
    /// Suspended on GitHub since.
    pub suspended_at: Option<DateTime<Utc>>,
    /// Uninstalled on GitHub at (terminal).
    pub deleted_at: Option<DateTime<Utc>>,
    /// The event time of the snapshot shown.
    pub state_at: Option<DateTime<Utc>>,
    /// When it was linked to its organization.
    pub linked_at: Option<DateTime<Utc>>,
    /// First seen here.
    pub created_at: DateTime<Utc>,
    /// Last changed here.
    pub updated_at: DateTime<Utc>,
}

/// The GitHub account an installation belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct GithubAccount {
    /// `octo-org`.
    pub login: String,
    /// GitHub's account id.
    pub id: i64,
    /// `User`, `Organization`, ... as GitHub sends it.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A repository an installation can (or could) reach.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GithubRepository {
    /// GitHub's repository id.
    pub id: i64,
    /// The installation.
    pub installation_id: i64,
    /// `hello-world`.
    pub name: String,
    /// `octo-org/hello-world`.
    pub full_name: String,
    /// Whether it is private.
    pub private: bool,
    /// When it was removed from the installation (kept, flagged).
    pub removed_at: Option<DateTime<Utc>>,
    /// The event time of the last add or removal applied.
    pub changed_at: DateTime<Utc>,
    /// First seen here.
    pub created_at: DateTime<Utc>,
}

/// A repository as an event names it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct RepositoryRef {
    /// GitHub's repository id.
    pub id: i64,
    /// `hello-world`.
    pub name: String,
    /// `octo-org/hello-world`.
    pub full_name: String,
    /// Whether it is private.
    #[serde(default)]
    pub private: bool,
}

/// The installation as an event describes it at the event's time.
#[derive(Clone, Debug, PartialEq)]
pub struct InstallationSnapshot {
    /// GitHub's installation id.
    pub id: i64,
    /// Its account.
    pub account: Option<GithubAccount>,
    /// `all` or `selected`.
    pub repository_selection: Option<String>,
    /// Granted permissions.
    pub permissions: Option<Value>,
    /// Subscribed events.
    pub events: Option<Value>,
    /// Suspended since, or `None`.
    pub suspended_at: Option<DateTime<Utc>>,
}

/// What an installation event does besides carrying a snapshot.
#[derive(Clone, Debug, PartialEq)]
pub enum GithubChange {
    /// `installation.created`, with the repositories it can reach.
    Created(Vec<RepositoryRef>),
    /// `installation.deleted`: uninstalled, for good.
    Deleted,
    /// `installation.suspend`, `unsuspend`, `new_permissions_accepted`: the
    /// snapshot is the whole change.
    Snapshot,
    /// `installation_repositories.added`.
    RepositoriesAdded(Vec<RepositoryRef>),
    /// `installation_repositories.removed`.
    RepositoriesRemoved(Vec<RepositoryRef>),
}

/// An installation event, parsed: the snapshot, its time and the change.
#[derive(Clone, Debug, PartialEq)]
pub struct GithubEvent {
    /// The installation at the event's time.
    pub installation: InstallationSnapshot,
    /// The event's time: the payload's `installation.updated_at` (else its
    /// `suspended_at` or `created_at`; else `received_at`, the delivery's arrival).
    pub at: DateTime<Utc>,
    /// What it changes.
    pub change: GithubChange,
}

/// How the receiver treats a delivery, by its `X-GitHub-Event` and `action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handling {
    /// `ping`: answered 200.
    Ping,
    /// An installation or repository event this server applies: 200.
    Apply,
    /// Anything else: recorded and answered 202.
    Ignore,
}

/// Which deliveries are applied.
pub fn handling(event: &str, action: Option<&str>) -> Handling {
    match (event, action) {
        ("ping", _) => Handling::Ping,
        (
            "installation",
            Some("created" | "deleted" | "suspend" | "unsuspend" | "new_permissions_accepted"),
        )
        | ("installation_repositories", Some("added" | "removed")) => Handling::Apply,
        _ => Handling::Ignore,
    }
}

/// GitHub writes installation times as RFC 3339 text or as Unix seconds.
#[derive(Deserialize)]
#[serde(untagged)]
enum GithubTime {
    Text(DateTime<Utc>),
    Seconds(i64),
}

impl GithubTime {
    fn instant(self) -> Option<DateTime<Utc>> {
        match self {
            Self::Text(at) => Some(at),
            Self::Seconds(s) => Utc.timestamp_opt(s, 0).single(),
        }
    }
}

#[derive(Deserialize)]
struct InstallationPayload {
    id: i64,
    account: Option<GithubAccount>,
    repository_selection: Option<String>,
    permissions: Option<Value>,
    events: Option<Value>,
    suspended_at: Option<GithubTime>,
    created_at: Option<GithubTime>,
    updated_at: Option<GithubTime>,
}

#[derive(Deserialize)]
struct Payload {
    installation: InstallationPayload,
    #[serde(default)]
    repositories: Vec<RepositoryRef>,
    #[serde(default)]
    repositories_added: Vec<RepositoryRef>,
    #[serde(default)]
    repositories_removed: Vec<RepositoryRef>,
}

/// Why a payload that [`handling`] says to apply cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the {event} payload cannot be read: {reason}")]
pub struct PayloadError {
    /// `X-GitHub-Event`.
    pub event: String,
    /// What is wrong.
    pub reason: String,
}

/// The installation id a payload names (`installation.id`), if any.
pub fn installation_id(payload: &Value) -> Option<i64> {
    payload.get("installation")?.get("id")?.as_i64()
}

/// Parses a delivery that [`handling`] says to apply. `received_at` is the
/// event's time when the payload carries none.
pub fn parse_event(
    event: &str,
    action: &str,
    payload: &Value,
    received_at: DateTime<Utc>,
) -> Result<GithubEvent, PayloadError> {
    let error = |reason: String| PayloadError {
        event: event.to_owned(),
        reason,
    };
    let payload = Payload::deserialize(payload).map_err(|e| error(e.to_string()))?;
    let i = payload.installation;
    let suspended_at = i.suspended_at.and_then(GithubTime::instant);
    let at = i
        .updated_at
        .and_then(GithubTime::instant)
        .or(suspended_at)
        .or_else(|| i.created_at.and_then(GithubTime::instant))
        .unwrap_or(received_at);
    let change = match (event, action) {
        ("installation", "created") => GithubChange::Created(payload.repositories),
        ("installation", "deleted") => GithubChange::Deleted,
        ("installation", "suspend" | "unsuspend" | "new_permissions_accepted") => {
            GithubChange::Snapshot
        }
        ("installation_repositories", "added") => {
            GithubChange::RepositoriesAdded(payload.repositories_added)
        }
        ("installation_repositories", "removed") => {
            GithubChange::RepositoriesRemoved(payload.repositories_removed)
        }
        _ => return Err(error(format!("action `{action}` is not applied"))),
    };
    Ok(GithubEvent {
        installation: InstallationSnapshot {
            id: i.id,
            account: i.account,
            repository_selection: i.repository_selection,
            permissions: i.permissions,
            events: i.events,
            suspended_at,
        },
        at,
        change,
    })
}

/// Whether a snapshot of time `at` replaces the stored one of time `stored_at`
/// (`None`: none yet): a newer one does; at the same instant a suspension wins
/// over no suspension, so the outcome does not depend on arrival order.
pub fn snapshot_wins(
    stored_at: Option<DateTime<Utc>>,
    stored_suspended: bool,
    at: DateTime<Utc>,
    suspended: bool,
) -> bool {
    match stored_at {
        None => true,
        Some(stored) => at > stored || (at == stored && suspended && !stored_suspended),
    }
}

/// Whether an `added` of time `at` applies to a repository last changed at
/// `changed_at`: only when newer (a tie goes to the removal).
pub fn repository_add_wins(changed_at: DateTime<Utc>, at: DateTime<Utc>) -> bool {
    at > changed_at
}

/// Whether a `removed` of time `at` applies to a repository last changed at
/// `changed_at` (and removed already or not): when newer, or at the same
/// instant as an add.
pub fn repository_removal_wins(
    changed_at: DateTime<Utc>,
    removed: bool,
    at: DateTime<Utc>,
) -> bool {
    at > changed_at || (at == changed_at && !removed)
}

/// What an install link's signed `state` binds: the organization, the person
/// who asked for the link, and when it stops being accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstallState {
    /// The organization to link the installation to.
    pub organization: OrganizationId,
    /// Who created the link (an admin or owner then, and checked again at setup).
    pub user: UserId,
    /// When the state expires.
    pub expires_at: DateTime<Utc>,
}

impl InstallState {
    /// The signed text: `v1.{orgId}.{userId}.{expiresAt as Unix seconds}`.
    pub fn payload(&self) -> String {
        format!(
            "v1.{}.{}.{}",
            self.organization,
            self.user,
            self.expires_at.timestamp()
        )
    }

    /// Reads [`Self::payload`] back; `None` when it is not one.
    pub fn parse_payload(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let (Some("v1"), Some(org), Some(user), Some(exp), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        Some(Self {
            organization: OrganizationId::parse(org).ok()?,
            user: UserId::parse(user).ok()?,
            expires_at: Utc.timestamp_opt(exp.parse().ok()?, 0).single()?,
        })
    }

    /// `Ok` while `now` is before the expiry, else 401 `STATE_EXPIRED`.
    pub fn check_fresh(&self, now: DateTime<Utc>) -> Result<(), DomainError> {
        if now < self.expires_at {
            Ok(())
        } else {
            Err(STATE_EXPIRED)
        }
    }
}

impl fmt::Display for InstallState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.payload())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap()
    }

    #[test]
    fn installation_times_are_read_as_text_or_seconds() {
        let text = json!({"installation": {"id": 1, "updated_at": "2023-11-14T22:13:30Z"}});
        let secs = json!({"installation": {"id": 1, "updated_at": 1_700_000_010}});
        let a = parse_event("installation", "suspend", &text, t(99)).unwrap();
        let b = parse_event("installation", "suspend", &secs, t(99)).unwrap();
        assert_eq!(a.at, t(10));
        assert_eq!(b.at, t(10));
        let none = json!({"installation": {"id": 1}});
        assert_eq!(
            parse_event("installation", "deleted", &none, t(99))
                .unwrap()
                .at,
            t(99)
        );
    }

    #[test]
    fn only_installation_and_repository_actions_are_applied() {
        assert_eq!(handling("ping", None), Handling::Ping);
        assert_eq!(handling("installation", Some("created")), Handling::Apply);
        assert_eq!(
            handling("installation_repositories", Some("removed")),
            Handling::Apply
        );
        assert_eq!(
            handling("installation", Some("new_permissions_accepted")),
            Handling::Apply
        );
        assert_eq!(handling("push", None), Handling::Ignore);
        assert_eq!(
            handling("installation_target", Some("renamed")),
            Handling::Ignore
        );
    }

    #[test]
    fn a_newer_snapshot_wins_and_a_suspension_wins_a_tie() {
        assert!(snapshot_wins(None, false, t(1), false));
        assert!(snapshot_wins(Some(t(1)), false, t(2), false));
        assert!(!snapshot_wins(Some(t(2)), false, t(1), true));
        assert!(snapshot_wins(Some(t(2)), false, t(2), true));
        assert!(!snapshot_wins(Some(t(2)), true, t(2), false));
        assert!(!snapshot_wins(Some(t(2)), true, t(2), true));
    }

    #[test]
    fn an_older_add_never_resurrects_a_removed_repository() {
        assert!(!repository_add_wins(t(5), t(3)));
        assert!(!repository_add_wins(t(5), t(5)));
        assert!(repository_add_wins(t(5), t(6)));
        assert!(repository_removal_wins(t(5), false, t(5)));
        assert!(!repository_removal_wins(t(5), true, t(5)));
        assert!(!repository_removal_wins(t(5), false, t(4)));
    }

    #[test]
    fn a_state_round_trips_and_expires() {
        let state = InstallState {
            organization: OrganizationId::new(),
            user: UserId::new(),
            expires_at: t(600),
        };
        assert_eq!(InstallState::parse_payload(&state.payload()), Some(state));
        assert!(state.check_fresh(t(599)).is_ok());
        assert!(matches!(
            state.check_fresh(t(600)),
            Err(DomainError::Unauthenticated {
                code: "STATE_EXPIRED",
                ..
            })
        ));
        assert!(InstallState::parse_payload("v1.org_x.usr_y.1").is_none());
        assert!(InstallState::parse_payload(&format!("{}.extra", state.payload())).is_none());
    }
}
