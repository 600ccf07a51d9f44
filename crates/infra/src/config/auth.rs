//! `[auth]`: argon2id's cost for password hashing, with OWASP's defaults, its
//! queue's bound, the per-email sign-in limit and the sessions' absolute
//! lifetime.

use chrono::TimeDelta;
use domain::auth::{SessionPolicy, SignInThrottle};
use serde::{Deserialize, Serialize};

use super::{ConfigError, rule};

/// Authentication settings (`[auth]`): argon2id's cost, whose defaults are
/// OWASP's recommendation (19 MiB, 2 passes, 1 lane; hashes keep their own
/// parameters, so raising them later does not invalidate stored passwords), the
/// bound of the hashing queue, the sign-in limit and how long sessions may live.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Memory per hash, in KiB.
    pub argon2_memory_kib: u32,
    /// Passes over the memory.
    pub argon2_iterations: u32,
    /// Lanes.
    pub argon2_parallelism: u32,
    /// Failed sign-ins for one email (within 15 minutes of each other) before
    /// that email is refused for a while (`domain::auth::SignInThrottle`).
    pub max_failed_sign_ins: u32,
    /// Passwords waiting for a hashing thread; one more is refused (503 `BUSY`).
    pub max_queued_hashes: usize,
    /// Days a session may live after sign-in, however often it is used.
    pub session_max_lifetime_days: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            max_failed_sign_ins: 10,
            max_queued_hashes: 64,
            session_max_lifetime_days: 30,
        }
    }
}

impl AuthSettings {
    /// The per-email sign-in limit.
    pub fn sign_in_throttle(&self) -> SignInThrottle {
        SignInThrottle::new(self.max_failed_sign_ins)
    }

    /// How long sessions live.
    pub fn session_policy(&self) -> SessionPolicy {
        SessionPolicy::new(TimeDelta::days(i64::from(self.session_max_lifetime_days)))
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if !(1..=3650).contains(&self.session_max_lifetime_days) {
            return rule("auth.session_max_lifetime_days", "must be from 1 to 3650");
        }
        if self.max_failed_sign_ins == 0 {
            return rule("auth.max_failed_sign_ins", "must be at least 1");
        }
        if self.max_queued_hashes == 0 {
            return rule("auth.max_queued_hashes", "must be at least 1");
        }
        if self.argon2_iterations == 0 {
            return rule("auth.argon2_iterations", "must be at least 1");
        }
        if !(1..=255).contains(&self.argon2_parallelism) {
            return rule("auth.argon2_parallelism", "must be from 1 to 255");
        }
        if self.argon2_memory_kib < 8 * self.argon2_parallelism {
            return rule(
                "auth.argon2_memory_kib",
                "must be at least 8 × auth.argon2_parallelism",
            );
        }
        Ok(())
    }
}
