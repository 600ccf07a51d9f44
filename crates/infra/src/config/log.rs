//! `[log]`: the `tracing` filter.

use serde::{Deserialize, Serialize};

/// Logging settings (`[log]`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter, e.g. `info` or `info,sqlx=warn`; `RUST_LOG` overrides it.
    pub filter: String,
}
