//! `[database]`: the URL and the pool's size and timeouts; the URL's password is
//! masked wherever the settings are shown.

use std::fmt;
use std::time::Duration;

use migration::database_url;
use serde::{Deserialize, Serialize};

use super::{ConfigError, rule};

/// Database and pool settings (`[database]`).
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://...` or `sqlite://path?mode=rwc`.
    pub url: String,
    /// Most pooled connections.
    pub max_connections: u32,
    /// Connections kept open when idle.
    pub min_connections: u32,
    /// Time to open a connection before giving up.
    pub connect_timeout_secs: u64,
    /// Time to wait for a pooled connection before answering 503.
    pub acquire_timeout_secs: u64,
    /// Idle connections above the minimum are closed after this long.
    pub idle_timeout_secs: u64,
    /// Apply pending migrations at start-up (never in production).
    pub auto_migrate: bool,
    /// Log every SQL statement (debug level).
    pub log_statements: bool,
    /// PostgreSQL's `plan_cache_mode` for the server's connections.
    pub plan_cache_mode: PlanCacheMode,
}

/// How PostgreSQL plans the server's prepared statements (its `plan_cache_mode`,
/// set on every connection the pool opens; SQLite has no such choice).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PlanCacheMode {
    /// One plan per statement and connection, for any values. Every statement
    /// the server sends is an indexed lookup or an index-ordered page whose best
    /// plan does not hang on its values (`bench/plans.sh` checks the generic
    /// plans), and re-planning cost more than running: PostgreSQL's own choice
    /// re-planned a member page on every request (0.14 ms of planning against
    /// 0.06 ms of running), since for a large organization the custom plan's
    /// estimate is always the lower.
    #[default]
    ForceGenericPlan,
    /// PostgreSQL's default: custom plans for the first five runs, then a
    /// generic plan if its estimate is not above theirs.
    Auto,
    /// A new plan for every run, for the values given.
    ForceCustomPlan,
}

impl PlanCacheMode {
    /// The setting's value as PostgreSQL spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ForceGenericPlan => "force_generic_plan",
            Self::Auto => "auto",
            Self::ForceCustomPlan => "force_custom_plan",
        }
    }
}

impl DatabaseSettings {
    /// Connect timeout as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }

    /// Acquire timeout as a duration.
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.acquire_timeout_secs)
    }

    /// Idle timeout as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    /// Whether the URL points at SQLite.
    pub fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite:")
    }

    /// The URL with any password replaced by `***`, for logs.
    pub fn masked_url(&self) -> String {
        database_url::redact(&self.url)
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        let url = self.url.as_str();
        if !(url.starts_with("postgres://")
            || url.starts_with("postgresql://")
            || url.starts_with("sqlite:"))
        {
            return rule(
                "database.url",
                "must start with postgres://, postgresql:// or sqlite:",
            );
        }
        if self.max_connections == 0 {
            return rule("database.max_connections", "must be at least 1");
        }
        if self.min_connections > self.max_connections {
            return rule(
                "database.min_connections",
                "must not exceed database.max_connections",
            );
        }
        if self.connect_timeout_secs == 0 {
            return rule("database.connect_timeout_secs", "must be at least 1");
        }
        if self.acquire_timeout_secs == 0 {
            return rule("database.acquire_timeout_secs", "must be at least 1");
        }
        Ok(())
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &self.masked_url())
            .field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("connect_timeout_secs", &self.connect_timeout_secs)
            .field("acquire_timeout_secs", &self.acquire_timeout_secs)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("auto_migrate", &self.auto_migrate)
            .field("log_statements", &self.log_statements)
            .field("plan_cache_mode", &self.plan_cache_mode)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        let masked = |url: &str| database_url::redact(url);
        assert_eq!(
            masked("postgres://app:s3cr:et@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(masked("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(masked("sqlite://data/g.db"), "sqlite://data/g.db");
    }
}
