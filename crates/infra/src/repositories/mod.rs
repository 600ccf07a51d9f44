//! Repositories: typed reads and writes over any connection — the pool for
//! one-off reads, or a [`UnitOfWork`](crate::UnitOfWork)'s transaction so that
//! several repositories share one transaction.
//!
//! Reads exclude soft-deleted rows unless they say otherwise (`with_deleted`,
//! `only_deleted`). Every method returns [`domain::DomainError`]; each documents
//! which variants.

pub mod accounts;
mod api_keys;
mod audit_logs;
mod billing_events;
mod context_entries;
mod endpoints;
mod feature_flags;
mod github;
pub mod invitations;
mod jobs;
pub mod listing;
mod members;
mod messages;
mod organizations;
mod outbox;
mod plans;
mod references;
mod sessions;
mod sign_in_failures;
mod soft_delete;
mod subscriptions;
mod system_metrics;
mod tasks;
mod usage;
mod users;
pub mod verification_tokens;
mod waitlist;
mod webhooks;

pub use api_keys::ApiKeyRepository;
pub use audit_logs::{Attribution, AuditLogRepository};
pub use billing_events::{BillingEventList, BillingEventRepository};
pub use context_entries::{ContextEntryRepository, ContextVersionRepository};
pub use endpoints::{EndpointList, EndpointRepository};
pub use feature_flags::{FeatureFlagList, FeatureFlagRepository};
pub use github::{
    GithubDeliveryRepository, GithubInstallationList, GithubInstallationRepository,
    GithubRepositoryList, KeptDelivery, NewDelivery,
};
pub use jobs::{ClaimedJob, JobList, JobRepository, LeasedJob};
pub use members::MemberRepository;
pub use messages::MessageRepository;
pub use organizations::{LockedForClaim, OrganizationRepository};
pub use outbox::{EmailTemplate, OutboxMessage, OutboxRepository};
pub use plans::{PlanList, PlanRepository};
pub use sessions::{ClientInfo, Rider, SessionRepository, SessionStanding};
pub use sign_in_failures::SignInFailureRepository;
pub use soft_delete::{SoftDeletable, SoftDeleteRepository};
pub use subscriptions::SubscriptionRepository;
pub use system_metrics::{SystemMetricList, SystemMetricRepository};
pub use tasks::TaskRepository;
pub use usage::{Recorded, UsageRepository};
pub use users::UserRepository;
pub use waitlist::WaitlistRepository;
pub use webhooks::{
    DeliveryList, QueuedEvent, WebhookDeliveryRepository, WebhookList, WebhookRepository,
    emit_event,
};

use domain::DomainError;

/// A stored value that no longer parses is corrupt data, not a client error.
pub(crate) fn corrupt<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> DomainError + '_ {
    move |e| DomainError::Internal(format!("stored {what} is invalid: {e}"))
}
