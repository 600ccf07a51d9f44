//! SeaORM entities, one module per table, mirroring the migrations. Mapping to
//! domain types lives beside the repositories, not here.

pub mod accounts;
pub mod api_keys;
pub mod audit_logs;
pub mod billing_events;
pub mod context_entries;
pub mod context_entry_versions;
pub mod endpoints;
pub mod feature_flags;
pub mod github_deliveries;
pub mod github_installation_repositories;
pub mod github_installations;
pub mod invitations;
pub mod jobs;
pub mod messages;
pub mod organization_members;
pub mod organizations;
pub mod outbox_messages;
pub mod plans;
pub mod positional;
pub mod sessions;
pub mod sign_in_failures;
pub mod subscriptions;
pub mod system_metrics;
pub mod tasks;
pub mod usage_counters;
pub mod usage_records;
pub mod users;
pub mod verification_tokens;
pub mod waitlist_entries;
pub mod webhook_deliveries;
pub mod webhooks;
