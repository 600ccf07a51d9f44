//! `[rate_limits]`: per-client-address limits on the routes anyone can call
//! and that cost a password hash, an email or a row.

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

use super::{ConfigError, rule};

/// Rate limit settings (`[rate_limits]`). Each limit is a bucket of N requests
/// per client address, refilled at N a minute (one every 60/N seconds).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSettings {
    /// Off: no route is limited (test rigs that call from one address).
    pub enabled: bool,
    /// `POST /v1/auth/sign-in`.
    pub sign_in_per_minute: u32,
    /// `POST /v1/auth/sign-up`.
    pub sign_up_per_minute: u32,
    /// `POST /v1/auth/password-reset/request` and `.../confirm`, together.
    pub password_reset_per_minute: u32,
    /// `POST /v1/auth/verify-email`.
    pub verify_email_per_minute: u32,
    /// `POST /v1/invitations/accept`.
    pub invitation_accept_per_minute: u32,
    /// `POST /v1/waitlist`.
    pub waitlist_per_minute: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            sign_in_per_minute: 10,
            sign_up_per_minute: 5,
            password_reset_per_minute: 5,
            verify_email_per_minute: 10,
            invitation_accept_per_minute: 10,
            waitlist_per_minute: 5,
        }
    }
}

impl RateLimitSettings {
    /// Every limit by its setting's name, for checking and reporting.
    pub fn limits(&self) -> [(&'static str, u32); 6] {
        [
            ("rate_limits.sign_in_per_minute", self.sign_in_per_minute),
            ("rate_limits.sign_up_per_minute", self.sign_up_per_minute),
            (
                "rate_limits.password_reset_per_minute",
                self.password_reset_per_minute,
            ),
            (
                "rate_limits.verify_email_per_minute",
                self.verify_email_per_minute,
            ),
            (
                "rate_limits.invitation_accept_per_minute",
                self.invitation_accept_per_minute,
            ),
            ("rate_limits.waitlist_per_minute", self.waitlist_per_minute),
        ]
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        for (setting, per_minute) in self.limits() {
            if NonZeroU32::new(per_minute).is_none() {
                return rule(setting, "must be at least 1");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::load;

    #[test]
    fn limits_are_on_by_default_and_at_least_one() {
        let defaults = super::RateLimitSettings::default();
        assert!(defaults.enabled);
        let err = load(&[("APP__RATE_LIMITS__SIGN_IN_PER_MINUTE", "0")]).unwrap_err();
        assert!(
            err.to_string().contains("rate_limits.sign_in_per_minute"),
            "{err}"
        );
    }
}
