//! `api worker`: a process that runs an organization's jobs. It claims due
//! jobs through the API (`POST /jobs/claim`), calls each job's endpoint,
//! heartbeats the lease while the endpoint works, and reports the run
//! (`POST /jobs/{jobId}/complete`). It holds an API key, never a database.
//!
//! - [`client`]: the HTTP calls to the API;
//! - [`runner`]: one run (the endpoint call, the heartbeats, the completion);
//! - [`claim_loop`]: the claim loop, its concurrency and its graceful stop;
//! - [`bench`]: the claim benchmark's driver (`api bench-claim`, hidden).
//!
//! Neither the API key nor an endpoint's secret is ever logged: both are
//! [`Secret`]s, whose `Debug` says nothing.

pub mod bench;
pub mod claim_loop;
pub mod client;
pub mod runner;

use std::fmt;
use std::time::Duration;

pub use claim_loop::{Summary, WorkerError, run};

/// A value that must stay out of logs (an API key, an endpoint's secret):
/// `Debug` prints `Secret(..)`; [`Secret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, to put in a header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// What a worker needs: where the API is, who it is, and its pace.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The API's base URL, e.g. `http://127.0.0.1:8080`.
    pub api_url: String,
    /// An API key (`gwk_...`) of the organization.
    pub api_key: Secret,
    /// The organization whose jobs it runs (`org_...`).
    pub organization: domain::OrganizationId,
    /// Its name, recorded on the tasks it runs.
    pub name: String,
    /// Runs at once.
    pub concurrency: u32,
    /// Each lease's length; heartbeats come every third of it.
    pub lease_seconds: u32,
    /// The wait after a claim that handed out nothing (or failed).
    pub poll_interval: Duration,
    /// How long an endpoint may take to answer, body included.
    pub endpoint_timeout: Duration,
    /// After a stop signal, how long runs in progress may still take.
    pub shutdown_grace: Duration,
}

impl WorkerConfig {
    /// Every third of the lease, at least a second apart: two heartbeats may
    /// fail before the lease runs out.
    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.lease_seconds / 3).max(1))
    }
}

/// The default worker name: `{hostname}-{pid}`.
pub fn default_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_owned());
    format!("{host}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let secret = Secret::new("gwk_very_secret");
        assert_eq!(format!("{secret:?}"), "Secret(..)");
        assert_eq!(secret.expose(), "gwk_very_secret");
    }

    #[test]
    fn the_default_name_ends_with_the_process_id() {
        let name = default_name();
        assert!(
            name.ends_with(&format!("-{}", std::process::id())),
            "{name}"
        );
        assert!(name.len() > 2);
    }
}
