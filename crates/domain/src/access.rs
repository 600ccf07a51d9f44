//! Who is acting, and the one permission matrix of the organization routes.
//!
//! Every organization-scoped operation is an [`Operation`]; every way of acting
//! inside an organization is an [`AccessRole`] (a member's role, or an API key's).
//! [`permission`] is the whole matrix: services ask [`authorize`], the README
//! prints [`matrix_markdown`], and a test walks every cell over HTTP.

use std::fmt::Write as _;

use crate::error::DomainError;
use crate::id::{ApiKeyId, OrganizationId, UserId};
use crate::members::{INSUFFICIENT_ROLE, Member, MemberRole};
use crate::organizations::Organization;

/// The machine code of a 403 for an API key calling what only a person may do
/// (creating keys or invitations).
pub const USER_REQUIRED: &str = "USER_REQUIRED";

/// What an authenticated API key may do: act in its one organization, with its role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiKeyGrant {
    /// The key.
    pub id: ApiKeyId,
    /// The only organization the key acts in.
    pub organization_id: OrganizationId,
    /// `admin` or `member`; never `owner`.
    pub role: MemberRole,
}

/// 403 `USER_REQUIRED`.
pub fn user_required() -> DomainError {
    DomainError::forbidden(
        USER_REQUIRED,
        "an API key cannot do this; sign in as a user",
    )
}

/// Who performs a request: recorded in the audit trail and asked by the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// No credentials (sign-up, sign-in, token redemption, the waitlist).
    Anonymous,
    /// A signed-in user.
    User(UserId),
    /// An API key.
    ApiKey(ApiKeyGrant),
    /// The server itself or an operator's command.
    System,
}

impl Actor {
    /// The audit trail's `actor_type`.
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::User(_) => "user",
            Self::ApiKey(_) => "api_key",
            Self::System => "system",
        }
    }

    /// The public ID of who acts (`usr_...`, `key_...`); `None` for no one
    /// or the system.
    pub fn public_id(&self) -> Option<String> {
        match self {
            Self::User(id) => Some(id.to_string()),
            Self::ApiKey(grant) => Some(grant.id.to_string()),
            Self::Anonymous | Self::System => None,
        }
    }

    /// The user behind a session, or 403 `USER_REQUIRED` for a key (and 401 for
    /// no one): what creating keys, invitations or organizations needs.
    pub fn user(&self) -> Result<UserId, DomainError> {
        match self {
            Self::User(id) => Ok(*id),
            Self::ApiKey(_) => Err(user_required()),
            Self::Anonymous | Self::System => Err(DomainError::UNAUTHENTICATED),
        }
    }
}

/// How an actor stands in one live organization: what the matrix is asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationAccess {
    /// The organization.
    pub organization: Organization,
    /// The matrix's column for the actor.
    pub role: AccessRole,
    /// The actor's membership, when the actor is a user.
    pub member: Option<Member>,
}

impl OrganizationAccess {
    /// A user's standing through its membership.
    pub fn of_member(organization: Organization, member: Member) -> Self {
        Self {
            organization,
            role: AccessRole::of_member(member.role),
            member: Some(member),
        }
    }

    /// An API key's standing in its own organization.
    pub fn of_key(organization: Organization, grant: ApiKeyGrant) -> Self {
        Self {
            organization,
            role: AccessRole::of_key(grant.role),
            member: None,
        }
    }
}

/// The ways of acting inside an organization: the matrix's columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessRole {
    /// A member with role `owner`.
    Owner,
    /// A member with role `admin`.
    Admin,
    /// A member with role `member`.
    Member,
    /// An API key with role `admin`.
    AdminKey,
    /// An API key with role `member`.
    MemberKey,
}

impl AccessRole {
    /// Every column, in the README's order.
    pub const ALL: [AccessRole; 5] = [
        Self::Owner,
        Self::Admin,
        Self::Member,
        Self::AdminKey,
        Self::MemberKey,
    ];

    /// A member's column.
    pub const fn of_member(role: MemberRole) -> Self {
        match role {
            MemberRole::Owner => Self::Owner,
            MemberRole::Admin => Self::Admin,
            MemberRole::Member => Self::Member,
        }
    }

    /// A key's column (a key is never an owner: an `owner` grant reads as admin).
    pub const fn of_key(role: MemberRole) -> Self {
        match role {
            MemberRole::Owner | MemberRole::Admin => Self::AdminKey,
            MemberRole::Member => Self::MemberKey,
        }
    }

    /// The member role the finer role rules (who may change whose role) see.
    pub const fn member_role(self) -> MemberRole {
        match self {
            Self::Owner => MemberRole::Owner,
            Self::Admin | Self::AdminKey => MemberRole::Admin,
            Self::Member | Self::MemberKey => MemberRole::Member,
        }
    }

    /// Whether this is an API key.
    pub const fn is_key(self) -> bool {
        matches!(self, Self::AdminKey | Self::MemberKey)
    }

    /// The column's heading.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::AdminKey => "API key (admin)",
            Self::MemberKey => "API key (member)",
        }
    }
}

/// Every organization-scoped operation: the matrix's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Read the organization.
    ReadOrganization,
    /// Change its name, slug or plan.
    UpdateOrganization,
    /// Soft-delete it with its members, invitations and keys.
    DeleteOrganization,
    /// Bring a deleted organization back.
    RestoreOrganization,
    /// List members.
    ListMembers,
    /// Change a member's role.
    UpdateMember,
    /// Remove a member (or leave).
    RemoveMember,
    /// Invite someone.
    CreateInvitation,
    /// List pending invitations.
    ListInvitations,
    /// Revoke an invitation.
    RevokeInvitation,
    /// Create an API key.
    CreateApiKey,
    /// List API keys.
    ListApiKeys,
    /// Revoke an API key.
    RevokeApiKey,
    /// Read the audit trail.
    ReadAuditLogs,
    /// List jobs.
    ListJobs,
    /// Read a job.
    ReadJob,
    /// Create a job.
    CreateJob,
    /// Change a job.
    UpdateJob,
    /// Soft-delete a job.
    DeleteJob,
    /// Bring a deleted job back.
    RestoreJob,
    /// Make an active job due now.
    RunJobNow,
    /// Claim due jobs (a worker).
    ClaimJobs,
    /// Extend a lease (its holder).
    HeartbeatJob,
    /// Report a run (its lease's holder).
    CompleteJob,
    /// List a job's tasks.
    ListTasks,
    /// Read a task.
    ReadTask,
    /// List a job's messages.
    ListMessages,
    /// Add a message to a job.
    CreateMessage,
    /// Create an endpoint.
    CreateEndpoint,
    /// List endpoints.
    ListEndpoints,
    /// Read one endpoint.
    ReadEndpoint,
    /// Change an endpoint (its secret too).
    UpdateEndpoint,
    /// Delete an endpoint.
    DeleteEndpoint,
    /// List context entries.
    ListContextEntries,
    /// Read a context entry (or one of its versions).
    ReadContextEntry,
    /// List a context entry's versions.
    ListContextVersions,
    /// Write a context entry (a new version).
    SetContextEntry,
    /// Delete a context entry.
    DeleteContextEntry,
    /// Read the feature flags' values for the organization.
    ReadFeatureFlags,
    /// Report a usage record (admins, owners and any key: a metering client).
    RecordUsage,
    /// Read the usage summary.
    ReadUsageSummary,
    /// Create a GitHub App install link (a signed state bound to the person).
    CreateGithubInstallLink,
    /// List the linked GitHub installations.
    ListGithubInstallations,
    /// List a linked installation's repositories.
    ListGithubRepositories,
    /// Unlink a GitHub installation.
    UnlinkGithubInstallation,
    /// Create a webhook.
    CreateWebhook,
    /// List webhooks.
    ListWebhooks,
    /// Read one webhook.
    ReadWebhook,
    /// Change a webhook.
    UpdateWebhook,
    /// Delete a webhook.
    DeleteWebhook,
    /// Rotate a webhook's signing secret.
    RotateWebhookSecret,
    /// Read a webhook's delivery log.
    ListWebhookDeliveries,
    /// Send a logged delivery again.
    ReplayWebhookDelivery,
    /// Send a `webhook.test` event.
    TestWebhook,
    /// Read the organization's subscription.
    ReadSubscription,
    /// List the billing provider's events about the organization.
    ListBillingEvents,
}

impl Operation {
    /// Every row, in the README's order.
    pub const ALL: [Operation; 56] = [
        Self::ReadOrganization,
        Self::UpdateOrganization,
        Self::DeleteOrganization,
        Self::RestoreOrganization,
        Self::ListMembers,
        Self::UpdateMember,
        Self::RemoveMember,
        Self::CreateInvitation,
        Self::ListInvitations,
        Self::RevokeInvitation,
        Self::CreateApiKey,
        Self::ListApiKeys,
        Self::RevokeApiKey,
        Self::ReadAuditLogs,
        Self::ListJobs,
        Self::ReadJob,
        Self::CreateJob,
        Self::UpdateJob,
        Self::DeleteJob,
        Self::RestoreJob,
        Self::RunJobNow,
        Self::ClaimJobs,
        Self::HeartbeatJob,
        Self::CompleteJob,
        Self::ListTasks,
        Self::ReadTask,
        Self::ListMessages,
        Self::CreateMessage,
        Self::CreateEndpoint,
        Self::ListEndpoints,
        Self::ReadEndpoint,
        Self::UpdateEndpoint,
        Self::DeleteEndpoint,
        Self::ListContextEntries,
        Self::ReadContextEntry,
        Self::ListContextVersions,
        Self::SetContextEntry,
        Self::DeleteContextEntry,
        Self::ReadFeatureFlags,
        Self::RecordUsage,
        Self::ReadUsageSummary,
        Self::CreateGithubInstallLink,
        Self::ListGithubInstallations,
        Self::ListGithubRepositories,
        Self::UnlinkGithubInstallation,
        Self::CreateWebhook,
        Self::ListWebhooks,
        Self::ReadWebhook,
        Self::UpdateWebhook,
        Self::DeleteWebhook,
        Self::RotateWebhookSecret,
        Self::ListWebhookDeliveries,
        Self::ReplayWebhookDelivery,
        Self::TestWebhook,
        Self::ReadSubscription,
        Self::ListBillingEvents,
    ];

    /// The route, as method and path under `/v1/organizations/{orgId}`.
    pub const fn route(self) -> (&'static str, &'static str) {
        match self {
            Self::ReadOrganization => ("GET", ""),
            Self::UpdateOrganization => ("PATCH", ""),
            Self::DeleteOrganization => ("DELETE", ""),
            Self::RestoreOrganization => ("POST", "/restore"),
            Self::ListMembers => ("GET", "/members"),
            Self::UpdateMember => ("PATCH", "/members/{memberId}"),
            Self::RemoveMember => ("DELETE", "/members/{memberId}"),
            Self::CreateInvitation => ("POST", "/invitations"),
            Self::ListInvitations => ("GET", "/invitations"),
            Self::RevokeInvitation => ("DELETE", "/invitations/{invitationId}"),
            Self::CreateApiKey => ("POST", "/api-keys"),
            Self::ListApiKeys => ("GET", "/api-keys"),
            Self::RevokeApiKey => ("DELETE", "/api-keys/{keyId}"),
            Self::ReadAuditLogs => ("GET", "/audit-logs"),
            Self::ListJobs => ("GET", "/jobs"),
            Self::ReadJob => ("GET", "/jobs/{jobId}"),
            Self::CreateJob => ("POST", "/jobs"),
            Self::UpdateJob => ("PATCH", "/jobs/{jobId}"),
            Self::DeleteJob => ("DELETE", "/jobs/{jobId}"),
            Self::RestoreJob => ("POST", "/jobs/{jobId}/restore"),
            Self::RunJobNow => ("POST", "/jobs/{jobId}/run-now"),
            Self::ClaimJobs => ("POST", "/jobs/claim"),
            Self::HeartbeatJob => ("POST", "/jobs/{jobId}/heartbeat"),
            Self::CompleteJob => ("POST", "/jobs/{jobId}/complete"),
            Self::ListTasks => ("GET", "/jobs/{jobId}/tasks"),
            Self::ReadTask => ("GET", "/jobs/{jobId}/tasks/{taskId}"),
            Self::ListMessages => ("GET", "/jobs/{jobId}/messages"),
            Self::CreateMessage => ("POST", "/jobs/{jobId}/messages"),
            Self::CreateEndpoint => ("POST", "/endpoints"),
            Self::ListEndpoints => ("GET", "/endpoints"),
            Self::ReadEndpoint => ("GET", "/endpoints/{endpointId}"),
            Self::UpdateEndpoint => ("PATCH", "/endpoints/{endpointId}"),
            Self::DeleteEndpoint => ("DELETE", "/endpoints/{endpointId}"),
            Self::ListContextEntries => ("GET", "/context"),
            Self::ReadContextEntry => ("GET", "/context/{key}"),
            Self::ListContextVersions => ("GET", "/context/{key}/versions"),
            Self::SetContextEntry => ("PUT", "/context/{key}"),
            Self::DeleteContextEntry => ("DELETE", "/context/{key}"),
            Self::ReadFeatureFlags => ("GET", "/feature-flags"),
            Self::RecordUsage => ("POST", "/usage"),
            Self::ReadUsageSummary => ("GET", "/usage/summary"),
            Self::CreateGithubInstallLink => ("POST", "/github/install-links"),
            Self::ListGithubInstallations => ("GET", "/github/installations"),
            Self::ListGithubRepositories => {
                ("GET", "/github/installations/{installationId}/repositories")
            }
            Self::UnlinkGithubInstallation => ("DELETE", "/github/installations/{installationId}"),
            Self::CreateWebhook => ("POST", "/webhooks"),
            Self::ListWebhooks => ("GET", "/webhooks"),
            Self::ReadWebhook => ("GET", "/webhooks/{webhookId}"),
            Self::UpdateWebhook => ("PATCH", "/webhooks/{webhookId}"),
            Self::DeleteWebhook => ("DELETE", "/webhooks/{webhookId}"),
            Self::RotateWebhookSecret => ("POST", "/webhooks/{webhookId}/rotate-secret"),
            Self::ListWebhookDeliveries => ("GET", "/webhooks/{webhookId}/deliveries"),
            Self::ReplayWebhookDelivery => (
                "POST",
                "/webhooks/{webhookId}/deliveries/{deliveryId}/replay",
            ),
            Self::TestWebhook => ("POST", "/webhooks/{webhookId}/test"),
            Self::ReadSubscription => ("GET", "/subscription"),
            Self::ListBillingEvents => ("GET", "/billing-events"),
        }
    }
}

/// One cell of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Allowed (finer rules may still refuse, e.g. the last owner).
    Allowed,
    /// Allowed on the caller's own membership only (leaving).
    OwnOnly,
    /// Refused with 403.
    Denied,
}

/// The matrix: what `role` may do about `operation`.
pub const fn permission(role: AccessRole, operation: Operation) -> Permission {
    use AccessRole::*;
    use Operation::*;
    use Permission::*;
    match (operation, role) {
        // Any member reads the work; any member or key may be a worker.
        (
            ListJobs | ReadJob | ListTasks | ReadTask | ListMessages | ClaimJobs | HeartbeatJob
            | CompleteJob | CreateMessage,
            _,
        ) => Allowed,
        // Members (and member keys) see the organization's endpoints, not
        // their secrets: no route shows those.
        (ReadOrganization | ListMembers | ListEndpoints | ReadEndpoint, _) => Allowed,
        // Context is the organization's configuration: every member (and key)
        // reads it, admins write it.
        (ListContextEntries | ReadContextEntry | ListContextVersions, _) => Allowed,
        // Flags decide what the organization's software shows: any member (and
        // key) reads their values.
        (ReadFeatureFlags, _) => Allowed,
        // Usage is reported by the organization's metering clients (any key)
        // or its admins; every member reads the summary.
        (RecordUsage, Owner | Admin | AdminKey | MemberKey) => Allowed,
        (ReadUsageSummary, _) => Allowed,
        // Any member (and key) sees which GitHub installations are linked.
        (ListGithubInstallations | ListGithubRepositories, _) => Allowed,
        // The install link's state names the person who links: a key cannot.
        (CreateGithubInstallLink, Owner | Admin) => Allowed,
        (CreateGithubInstallLink, _) => Denied,
        // What the organization is on (and so its caps) is every member's to
        // know, and a worker's key's.
        (ReadSubscription, _) => Allowed,
        // Deleting and restoring are an owner's; a key never holds owner rights.
        (DeleteOrganization | RestoreOrganization, Owner) => Allowed,
        // Billing is the owner's business (what the organization pays).
        (ListBillingEvents, Owner) => Allowed,
        (ListBillingEvents, _) => Denied,
        (DeleteOrganization | RestoreOrganization, _) => Denied,
        (RemoveMember, Member) => OwnOnly,
        // Keys and invitations are created by a person, who answers for them.
        (CreateInvitation | CreateApiKey, Owner | Admin) => Allowed,
        (CreateInvitation | CreateApiKey, _) => Denied,
        (_, Owner | Admin | AdminKey) => Allowed,
        (_, Member | MemberKey) => Denied,
    }
}

/// `Ok` when `role` may attempt `operation` (on its own membership, for
/// [`Permission::OwnOnly`], when `own` is true). Otherwise 403: `USER_REQUIRED`
/// for a key where a person of that role would be allowed, else
/// `INSUFFICIENT_ROLE`.
pub fn authorize(role: AccessRole, operation: Operation, own: bool) -> Result<(), DomainError> {
    match permission(role, operation) {
        Permission::Allowed => Ok(()),
        Permission::OwnOnly if own => Ok(()),
        _ if role.is_key()
            && permission(AccessRole::of_member(role.member_role()), operation)
                == Permission::Allowed =>
        {
            Err(user_required())
        }
        _ => Err(DomainError::forbidden(
            INSUFFICIENT_ROLE,
            format!("{} may not do this", role.label()),
        )),
    }
}

/// The matrix as a Markdown table (what the README shows; a test keeps them equal).
pub fn matrix_markdown() -> String {
    let mut out = String::from("| route |");
    for role in AccessRole::ALL {
        let _ = write!(out, " {} |", role.label());
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(AccessRole::ALL.len()));
    for operation in Operation::ALL {
        let (method, path) = operation.route();
        let _ = write!(out, "\n| `{method} /v1/organizations/{{orgId}}{path}` |");
        for role in AccessRole::ALL {
            let cell = match permission(role, operation) {
                Permission::Allowed => "yes",
                Permission::OwnOnly => "self",
                Permission::Denied => "no",
            };
            let _ = write!(out, " {cell} |");
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: Result<(), DomainError>) -> &'static str {
        match result {
            Err(DomainError::Forbidden { code, .. }) => code,
            other => panic!("expected 403, got {other:?}"),
        }
    }

    #[test]
    fn keys_never_create_keys_or_invitations_and_say_why() {
        for operation in [Operation::CreateApiKey, Operation::CreateInvitation] {
            assert_eq!(
                code(authorize(AccessRole::AdminKey, operation, false)),
                USER_REQUIRED
            );
            assert_eq!(
                code(authorize(AccessRole::MemberKey, operation, false)),
                INSUFFICIENT_ROLE
            );
        }
    }

    #[test]
    fn a_member_may_leave_but_not_remove_others() {
        assert!(authorize(AccessRole::Member, Operation::RemoveMember, true).is_ok());
        assert_eq!(
            code(authorize(
                AccessRole::Member,
                Operation::RemoveMember,
                false
            )),
            INSUFFICIENT_ROLE
        );
    }

    #[test]
    fn only_an_owner_deletes_or_restores() {
        for role in AccessRole::ALL {
            let allowed = role == AccessRole::Owner;
            for operation in [
                Operation::DeleteOrganization,
                Operation::RestoreOrganization,
            ] {
                assert_eq!(authorize(role, operation, true).is_ok(), allowed);
            }
        }
    }

    #[test]
    fn the_markdown_has_a_row_per_operation_and_a_column_per_role() {
        let table = matrix_markdown();
        assert_eq!(table.lines().count(), 2 + Operation::ALL.len());
        assert!(
            table
                .lines()
                .all(|l| l.matches('|').count() == 2 + AccessRole::ALL.len())
        );
    }
}
