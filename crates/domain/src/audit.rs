//! The audit trail's vocabulary: what happened ([`AuditAction`]), to what
//! ([`AuditEntity`]), and which fields changed ([`Changes`]).
//!
//! An [`AuditEvent`] is written in the same transaction as the change it
//! describes; who did it, from where and in which request come from the request.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::id::{AuditLogId, OrganizationId};
use crate::text_enum;

text_enum! {
    /// What happened, as `entity.verb`.
    AuditAction {
        /// A user signed up.
        UserSignedUp => "user.signed_up",
        /// A user signed in.
        UserSignedIn => "user.signed_in",
        /// A sign-in was refused.
        UserSignInFailed => "user.sign_in_failed",
        /// A user changed their profile, verified their email or reset their password.
        UserUpdated => "user.updated",
        /// A user deleted their account.
        UserDeleted => "user.deleted",
        /// A platform admin deactivated a user.
        UserDeactivated => "user.deactivated",
        /// A platform admin reactivated a user.
        UserReactivated => "user.reactivated",
        /// An operator made a user a platform admin.
        UserPromoted => "user.promoted",
        /// An operator took platform admin away from a user.
        UserDemoted => "user.demoted",
        /// A session was revoked (sign-out).
        SessionRevoked => "session.revoked",
        /// An organization was created.
        OrganizationCreated => "organization.created",
        /// An organization was changed.
        OrganizationUpdated => "organization.updated",
        /// An organization was deleted (with its cascade).
        OrganizationDeleted => "organization.deleted",
        /// An organization was restored.
        OrganizationRestored => "organization.restored",
        /// A member's role changed.
        MemberUpdated => "member.updated",
        /// A member was removed or left.
        MemberRemoved => "member.removed",
        /// Someone was invited.
        InvitationCreated => "invitation.created",
        /// An invitation was revoked.
        InvitationRevoked => "invitation.revoked",
        /// An invitation was accepted (a membership begins).
        InvitationAccepted => "invitation.accepted",
        /// An API key was created.
        ApiKeyCreated => "api_key.created",
        /// An API key was revoked.
        ApiKeyRevoked => "api_key.revoked",
        /// A job was created.
        JobCreated => "job.created",
        /// A job was changed (its schedule, status, or a run-now).
        JobUpdated => "job.updated",
        /// A job was deleted.
        JobDeleted => "job.deleted",
        /// A job was restored.
        JobRestored => "job.restored",
        /// An endpoint was created.
        EndpointCreated => "endpoint.created",
        /// An endpoint was changed (its secret's changes say only `[redacted]`).
        EndpointUpdated => "endpoint.updated",
        /// An endpoint was deleted.
        EndpointDeleted => "endpoint.deleted",
        /// A context entry got a new version (created, or written again).
        ContextSet => "context.set",
        /// A context entry was deleted.
        ContextDeleted => "context.deleted",
        /// A platform admin created a feature flag.
        FeatureFlagCreated => "feature_flag.created",
        /// A platform admin changed a feature flag.
        FeatureFlagUpdated => "feature_flag.updated",
        /// A platform admin deleted a feature flag.
        FeatureFlagDeleted => "feature_flag.deleted",
        /// A GitHub App installation was linked to the organization (setup callback).
        GithubInstallationLinked => "github_installation.linked",
        /// A GitHub App installation was unlinked from the organization.
        GithubInstallationUnlinked => "github_installation.unlinked",
        /// A webhook was created.
        WebhookCreated => "webhook.created",
        /// A webhook was changed.
        WebhookUpdated => "webhook.updated",
        /// A webhook was deleted.
        WebhookDeleted => "webhook.deleted",
        /// A webhook's signing secret was rotated.
        WebhookSecretRotated => "webhook.secret_rotated",
        /// The server disabled a webhook (its receiver answered 410, or failed
        /// every attempt for `webhooks.disable_after_days`).
        WebhookDisabled => "webhook.disabled",
        /// A platform admin created a plan.
        PlanCreated => "plan.created",
        /// A platform admin changed a plan.
        PlanUpdated => "plan.updated",
        /// A platform admin deleted a plan.
        PlanDeleted => "plan.deleted",
        /// A platform admin set an organization's subscription.
        SubscriptionUpdated => "subscription.updated",
    }
}

text_enum! {
    /// The kind of thing an event is about.
    AuditEntity {
        /// A user (`usr_...`).
        User => "user",
        /// A session (`ses_...`).
        Session => "session",
        /// An organization (`org_...`).
        Organization => "organization",
        /// A membership (`mem_...`).
        Member => "member",
        /// An invitation (`inv_...`).
        Invitation => "invitation",
        /// An API key (`key_...`).
        ApiKey => "api_key",
        /// A job (`job_...`).
        Job => "job",
        /// An endpoint (`ept_...`).
        Endpoint => "endpoint",
        /// A context entry (`ctx_...`).
        ContextEntry => "context",
        /// A feature flag (`flg_...`).
        FeatureFlag => "feature_flag",
        /// A GitHub App installation (GitHub's numeric id).
        GithubInstallation => "github_installation",
        /// A webhook (`whk_...`).
        Webhook => "webhook",
        /// A plan (`pln_...`).
        Plan => "plan",
        /// A subscription (`sub_...`).
        Subscription => "subscription",
    }
}

/// Changed fields, `field -> [old, new]` (`null` for "none"). Never secrets.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Changes(BTreeMap<&'static str, [Value; 2]>);

impl Changes {
    /// No changes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `field` going from `old` to `new`, unless they are equal.
    pub fn field(mut self, field: &'static str, old: impl Serialize, new: impl Serialize) -> Self {
        let old = serde_json::to_value(old).unwrap_or(Value::Null);
        let new = serde_json::to_value(new).unwrap_or(Value::Null);
        if old != new {
            self.0.insert(field, [old, new]);
        }
        self
    }

    /// Records a field that came into being (`[null, value]`).
    pub fn created(self, field: &'static str, value: impl Serialize) -> Self {
        self.field(field, Value::Null, value)
    }

    /// Records that the secret `field` was written, never its value: old and
    /// new are each `"[redacted]"` when there was (is) a secret, else `null`,
    /// so a replaced secret reads `["[redacted]", "[redacted]"]`. Nothing when
    /// there was none and is none.
    pub fn secret(mut self, field: &'static str, had: bool, has: bool) -> Self {
        let shown = |present: bool| {
            if present {
                Value::from(crate::endpoints::REDACTED)
            } else {
                Value::Null
            }
        };
        if had || has {
            self.0.insert(field, [shown(had), shown(has)]);
        }
        self
    }

    /// Records a field that did not change but tells which thing changed
    /// (`[value, value]`): a context entry's key beside its new version.
    pub fn unchanged(mut self, field: &'static str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.0.insert(field, [value.clone(), value]);
        self
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The JSON object, or `None` when nothing changed.
    pub fn into_json(self) -> Option<Value> {
        (!self.is_empty()).then(|| serde_json::to_value(self.0).unwrap_or(Value::Null))
    }
}

/// One thing that happened, as a service describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEvent {
    /// The organization it belongs to; `None` for account-level events.
    pub organization_id: Option<OrganizationId>,
    /// What happened.
    pub action: AuditAction,
    /// The kind of thing it happened to.
    pub entity: AuditEntity,
    /// Its public ID (`org_...`), when there is one.
    pub entity_id: Option<String>,
    /// What changed.
    pub changes: Changes,
}

impl AuditEvent {
    /// `action` on the entity with public ID `entity_id`, outside any organization.
    pub fn new(action: AuditAction, entity: AuditEntity, entity_id: impl fmt::Display) -> Self {
        Self {
            organization_id: None,
            action,
            entity,
            entity_id: Some(entity_id.to_string()),
            changes: Changes::new(),
        }
    }

    /// The same event, inside `organization`.
    pub fn in_organization(mut self, organization: OrganizationId) -> Self {
        self.organization_id = Some(organization);
        self
    }

    /// The same event, with `changes`.
    pub fn with_changes(mut self, changes: Changes) -> Self {
        self.changes = changes;
        self
    }
}

/// A row of the trail, as read back.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditLog {
    /// Identity.
    pub id: AuditLogId,
    /// The organization, if any.
    pub organization_id: Option<OrganizationId>,
    /// `user`, `api_key`, `anonymous` or `system`.
    pub actor_type: String,
    /// The actor's public ID (`usr_...`, `key_...`), if any.
    pub actor_id: Option<String>,
    /// What happened.
    pub action: String,
    /// The kind of thing.
    pub entity_type: String,
    /// Its public ID, if any.
    pub entity_id: Option<String>,
    /// `field -> [old, new]`.
    pub changes: Option<Value>,
    /// The caller's address.
    pub ip: Option<String>,
    /// The request's id (`x-request-id`).
    pub request_id: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

crate::sort_by! {
    /// `sortBy` of an audit-log list: creation time only (the ID is time-ordered,
    /// so it is also the tie-breaker).
    AuditLogSort {
        /// Creation time.
        CreatedAt => "createdAt",
    }
}

/// Filters of an audit-log list; all optional, combined with AND.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only this kind of entity.
    pub entity: Option<AuditEntity>,
    /// Only this entity (its public ID).
    pub entity_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_changes_are_kept() {
        let changes = Changes::new()
            .field("name", "Acme", "Acme Inc")
            .field("slug", "acme", "acme")
            .created("role", "member");
        assert_eq!(
            changes.into_json(),
            Some(serde_json::json!({"name": ["Acme", "Acme Inc"], "role": [null, "member"]}))
        );
        assert_eq!(Changes::new().field("a", 1, 1).into_json(), None);
        assert_eq!(
            Changes::new().unchanged("key", "theme").into_json(),
            Some(serde_json::json!({"key": ["theme", "theme"]}))
        );
    }

    #[test]
    fn a_secret_is_recorded_as_written_never_as_its_value() {
        let changes = Changes::new()
            .secret("replaced", true, true)
            .secret("set", false, true)
            .secret("cleared", true, false)
            .secret("untouched", false, false);
        assert_eq!(
            changes.into_json(),
            Some(serde_json::json!({
                "replaced": ["[redacted]", "[redacted]"],
                "set": [null, "[redacted]"],
                "cleared": ["[redacted]", null],
            }))
        );
    }

    #[test]
    fn actions_read_as_entity_dot_verb() {
        for action in AuditAction::ALL {
            let (entity, verb) = action.split_once('.').expect("entity.verb");
            assert!(entity.parse::<AuditEntity>().is_ok(), "{action}");
            assert!(!verb.is_empty());
        }
    }
}
