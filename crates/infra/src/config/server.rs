//! `[server]`: the HTTP server's address, workers, body limit and shutdown grace.

use serde::{Deserialize, Serialize};

use super::{ConfigError, rule};

/// HTTP server settings (`[server]`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind.
    pub host: String,
    /// Port to bind; 0 picks a free one.
    pub port: u16,
    /// Worker threads; 0 means one per CPU.
    pub workers: usize,
    /// Largest accepted JSON body, in bytes.
    pub json_body_limit_bytes: usize,
    /// How long in-flight requests get to finish on shutdown.
    pub shutdown_timeout_secs: u64,
}

impl ServerSettings {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.json_body_limit_bytes == 0 {
            return rule("server.json_body_limit_bytes", "must be at least 1");
        }
        Ok(())
    }
}
