//! `[jobs]`: the reaper that closes runs whose worker went silent.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, rule};

/// Job settings (`[jobs]`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsSettings {
    /// Run the lease reaper in this server process: it closes the tasks of
    /// leases that ran out (`lease expired`) and reschedules their jobs, so no
    /// task stays `running` after its worker died. Several servers may run it.
    pub reaper: bool,
    /// Time between two rounds of the reaper, in seconds.
    pub reaper_interval_secs: u64,
    /// Most expired leases one round closes (a full round is followed by
    /// another at once).
    pub reaper_batch_size: u64,
}

impl Default for JobsSettings {
    fn default() -> Self {
        Self {
            reaper: true,
            reaper_interval_secs: 15,
            reaper_batch_size: 100,
        }
    }
}

impl JobsSettings {
    /// The reaper's interval as a duration.
    pub fn reaper_interval(&self) -> Duration {
        Duration::from_secs(self.reaper_interval_secs)
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.reaper_interval_secs == 0 {
            return rule("jobs.reaper_interval_secs", "must be at least 1");
        }
        if !(1..=10_000).contains(&self.reaper_batch_size) {
            return rule("jobs.reaper_batch_size", "must be from 1 to 10000");
        }
        Ok(())
    }
}
