//! `[metrics]`: `GET /metrics` (Prometheus text format) and the periodic
//! snapshot into `system_metrics`; the bearer token is masked wherever the
//! settings are shown.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, rule};

/// Metrics settings (`[metrics]`).
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Serve `GET /metrics` and take snapshots; off: `/metrics` is 404.
    pub enabled: bool,
    /// When set (not blank), `/metrics` requires `Authorization: Bearer <token>`.
    pub bearer_token: Option<String>,
    /// Seconds between two snapshots of every metric into `system_metrics`.
    pub snapshot_interval_secs: u64,
    /// Snapshot rows older than this many days are deleted by the next snapshot.
    pub snapshot_retention_days: u32,
    /// How long a scrape waits for the database's gauges; past it they are
    /// left out of that scrape (the request metrics are still answered).
    pub scrape_timeout_ms: u64,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            bearer_token: None,
            snapshot_interval_secs: 60,
            snapshot_retention_days: 30,
            scrape_timeout_ms: 1000,
        }
    }
}

impl MetricsSettings {
    /// The token `/metrics` requires, when one is configured (blank counts as unset).
    pub fn token(&self) -> Option<&str> {
        self.bearer_token
            .as_deref()
            .filter(|t| !t.trim().is_empty())
    }

    /// The time between two snapshots.
    pub fn snapshot_interval(&self) -> Duration {
        Duration::from_secs(self.snapshot_interval_secs)
    }

    /// How long snapshot rows are kept.
    pub fn retention(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::days(i64::from(self.snapshot_retention_days))
    }

    /// How long a scrape waits for the database.
    pub fn scrape_timeout(&self) -> Duration {
        Duration::from_millis(self.scrape_timeout_ms)
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.snapshot_interval_secs == 0 {
            return rule("metrics.snapshot_interval_secs", "must be at least 1");
        }
        if self.snapshot_retention_days == 0 {
            return rule("metrics.snapshot_retention_days", "must be at least 1");
        }
        if !(1..=60_000).contains(&self.scrape_timeout_ms) {
            return rule("metrics.scrape_timeout_ms", "must be from 1 to 60000");
        }
        Ok(())
    }
}

impl fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsSettings")
            .field("enabled", &self.enabled)
            .field("bearer_token", &self.token().map(|_| "***"))
            .field("snapshot_interval_secs", &self.snapshot_interval_secs)
            .field("snapshot_retention_days", &self.snapshot_retention_days)
            .field("scrape_timeout_ms", &self.scrape_timeout_ms)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::testing::load;

    #[test]
    fn metrics_are_off_by_default_and_the_token_is_masked() {
        let settings = load(&[]).unwrap();
        assert!(!settings.metrics.enabled);
        assert_eq!(settings.metrics.token(), None);
        let settings = load(&[
            ("APP__METRICS__ENABLED", "true"),
            ("APP__METRICS__BEARER_TOKEN", "s3cret-token"),
        ])
        .unwrap();
        assert!(settings.metrics.enabled);
        assert_eq!(settings.metrics.token(), Some("s3cret-token"));
        assert!(!format!("{:?}", settings.metrics).contains("s3cret"));
    }

    #[test]
    fn a_zero_interval_stops_start_up() {
        let err = load(&[("APP__METRICS__SNAPSHOT_INTERVAL_SECS", "0")]).unwrap_err();
        assert!(
            err.to_string().contains("metrics.snapshot_interval_secs"),
            "{err}"
        );
    }
}
