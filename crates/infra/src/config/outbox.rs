//! `[outbox]`: the delivery worker's polling, batching, leases, timeouts, retry
//! backoff and when to give up.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, rule};

/// Outbox delivery settings (`[outbox]`): the worker that sends queued emails.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxSettings {
    /// Run the delivery worker in this server process.
    pub worker: bool,
    /// Time between two looks for due messages, in milliseconds.
    pub poll_interval_ms: u64,
    /// Most messages claimed (and sent concurrently) at once.
    pub batch_size: u32,
    /// How long a claim lasts: a message whose sender died is claimed again after this.
    pub lease_secs: u64,
    /// Longest one delivery may take before it counts as failed.
    pub send_timeout_secs: u64,
    /// Wait before the first retry; doubled for each further failure.
    pub backoff_base_secs: u64,
    /// Longest wait between two retries.
    pub backoff_max_secs: u64,
    /// Attempts after which an email that keeps failing is marked failed, kept,
    /// and no longer tried (an SMTP 5xx marks it failed at once).
    pub max_attempts: u32,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            worker: true,
            poll_interval_ms: 1_000,
            batch_size: 10,
            lease_secs: 120,
            send_timeout_secs: 30,
            backoff_base_secs: 30,
            backoff_max_secs: 3_600,
            // About a day of retries at the default backoff.
            max_attempts: 30,
        }
    }
}

impl OutboxSettings {
    /// Poll interval as a duration.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    /// Lease as a duration.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }

    /// Send timeout as a duration.
    pub fn send_timeout(&self) -> Duration {
        Duration::from_secs(self.send_timeout_secs)
    }

    /// The wait after the `attempts`-th failed attempt (1 for the first):
    /// `backoff_base_secs × 2^(attempts - 1)`, at most `backoff_max_secs`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(63);
        let secs = self
            .backoff_base_secs
            .saturating_mul(1u64 << doublings)
            .min(self.backoff_max_secs);
        Duration::from_secs(secs)
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.poll_interval_ms < 10 {
            return rule("outbox.poll_interval_ms", "must be at least 10");
        }
        if !(1..=1000).contains(&self.batch_size) {
            return rule("outbox.batch_size", "must be from 1 to 1000");
        }
        if self.send_timeout_secs == 0 {
            return rule("outbox.send_timeout_secs", "must be at least 1");
        }
        if self.lease_secs <= self.send_timeout_secs {
            // A claim that can run out while its delivery is still going lets a
            // second worker send the same email.
            return rule(
                "outbox.lease_secs",
                "must be greater than outbox.send_timeout_secs",
            );
        }
        if self.backoff_base_secs == 0 {
            return rule("outbox.backoff_base_secs", "must be at least 1");
        }
        if self.max_attempts == 0 {
            return rule("outbox.max_attempts", "must be at least 1");
        }
        if self.backoff_max_secs < self.backoff_base_secs {
            return rule(
                "outbox.backoff_max_secs",
                "must be at least outbox.backoff_base_secs",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::load;

    #[test]
    fn outbox_backoff_doubles_up_to_its_cap() {
        let outbox = OutboxSettings {
            backoff_base_secs: 30,
            backoff_max_secs: 3_600,
            ..OutboxSettings::default()
        };
        let secs: Vec<u64> = [1, 2, 3, 7, 8, 9, 1_000, u32::MAX]
            .into_iter()
            .map(|n| outbox.backoff(n).as_secs())
            .collect();
        assert_eq!(secs, [30, 60, 120, 1_920, 3_600, 3_600, 3_600, 3_600]);
        assert_eq!(outbox.backoff(0).as_secs(), 30);
    }

    #[test]
    fn outbox_defaults_and_overrides() {
        let defaults = OutboxSettings::default();
        assert!(defaults.worker);
        let settings = load(&[
            ("APP__OUTBOX__WORKER", "true"),
            ("APP__OUTBOX__BATCH_SIZE", "3"),
        ])
        .unwrap();
        assert!(settings.outbox.worker);
        assert_eq!(settings.outbox.batch_size, 3);
        assert_eq!(settings.outbox.max_attempts, 30);
    }

    #[test]
    fn bad_outbox_values_name_the_setting() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("APP__OUTBOX__POLL_INTERVAL_MS", "0")],
                "outbox.poll_interval_ms",
            ),
            (&[("APP__OUTBOX__BATCH_SIZE", "0")], "outbox.batch_size"),
            (
                &[("APP__OUTBOX__SEND_TIMEOUT_SECS", "0")],
                "outbox.send_timeout_secs",
            ),
            (&[("APP__OUTBOX__LEASE_SECS", "30")], "outbox.lease_secs"),
            (
                &[("APP__OUTBOX__BACKOFF_BASE_SECS", "0")],
                "outbox.backoff_base_secs",
            ),
            (
                &[("APP__OUTBOX__BACKOFF_MAX_SECS", "5")],
                "outbox.backoff_max_secs",
            ),
            (&[("APP__OUTBOX__WORKER", "maybe")], "worker"),
            (&[("APP__OUTBOX__MAX_ATTEMPTS", "0")], "outbox.max_attempts"),
        ];
        for (vars, setting) in cases {
            let err = load(vars).unwrap_err().to_string();
            assert!(err.contains(setting), "{vars:?}: {err}");
        }
    }
}
