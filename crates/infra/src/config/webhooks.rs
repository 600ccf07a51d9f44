//! `[webhooks]`: outgoing webhook delivery: the worker, its timeout, when a
//! dead receiver is disabled, how long the log is kept, and the private-network
//! switch of the SSRF guard.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, rule};

/// Webhook settings (`[webhooks]`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksSettings {
    /// Run the delivery worker (and the log purge) in this server process.
    pub worker: bool,
    /// Let webhook URLs be `http` and point at loopback, private, link-local
    /// and other internal addresses. Only for development and tests: on a
    /// server it lets any organization admin reach the internal network.
    pub allow_private_networks: bool,
    /// Longest one delivery may take (connect, send, answer).
    pub timeout_secs: u64,
    /// A webhook whose every attempt failed for this many days is disabled.
    pub disable_after_days: u32,
    /// Delivery log rows older than this are purged.
    pub log_retention_days: u32,
    /// Time between two looks for due events, in milliseconds.
    pub poll_interval_ms: u64,
    /// Most events claimed (and delivered concurrently) at once.
    pub batch_size: u32,
    /// How long a claim lasts: an event whose deliverer died is claimed again after this.
    pub lease_secs: u64,
    /// Time between two rounds of the log purge, in seconds.
    pub purge_interval_secs: u64,
}

impl Default for WebhooksSettings {
    fn default() -> Self {
        Self {
            worker: true,
            allow_private_networks: false,
            timeout_secs: 15,
            disable_after_days: 5,
            log_retention_days: 30,
            poll_interval_ms: 500,
            batch_size: 20,
            lease_secs: 60,
            purge_interval_secs: 3_600,
        }
    }
}

impl WebhooksSettings {
    /// The delivery timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    /// The poll interval.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    /// The claim's lease.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }

    /// The purge's interval.
    pub fn purge_interval(&self) -> Duration {
        Duration::from_secs(self.purge_interval_secs)
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if !(1..=120).contains(&self.timeout_secs) {
            return rule("webhooks.timeout_secs", "must be from 1 to 120");
        }
        if self.lease_secs <= self.timeout_secs {
            // A claim that can run out mid-delivery lets a second server send
            // the same event.
            return rule(
                "webhooks.lease_secs",
                "must be greater than webhooks.timeout_secs",
            );
        }
        if self.disable_after_days == 0 {
            return rule("webhooks.disable_after_days", "must be at least 1");
        }
        if self.log_retention_days == 0 {
            return rule("webhooks.log_retention_days", "must be at least 1");
        }
        if self.poll_interval_ms < 10 {
            return rule("webhooks.poll_interval_ms", "must be at least 10");
        }
        if !(1..=1000).contains(&self.batch_size) {
            return rule("webhooks.batch_size", "must be from 1 to 1000");
        }
        if self.purge_interval_secs == 0 {
            return rule("webhooks.purge_interval_secs", "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::testing::load;

    #[test]
    fn webhook_defaults_and_rules() {
        let settings = load(&[]).unwrap();
        assert_eq!(settings.webhooks.timeout_secs, 15);
        assert_eq!(settings.webhooks.disable_after_days, 5);
        assert_eq!(settings.webhooks.log_retention_days, 30);
        let err = load(&[("APP__WEBHOOKS__LEASE_SECS", "15")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("webhooks.lease_secs"), "{err}");
        let err = load(&[("APP__WEBHOOKS__TIMEOUT_SECS", "0")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("webhooks.timeout_secs"), "{err}");
    }
}
