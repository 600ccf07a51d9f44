//! `[billing]`: the billing provider's signed webhook (Stripe).

use serde::{Deserialize, Serialize};

use super::{ConfigError, rule};

/// The Stripe webhook's secret and clock tolerance.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BillingSettings {
    /// The endpoint's signing secret (`whsec_...`); empty refuses every event
    /// (401), so an unconfigured server accepts nothing.
    pub stripe_webhook_secret: String,
    /// How far an event's signed timestamp may be from the server's clock,
    /// either way, in seconds.
    pub signature_tolerance_secs: u64,
}

impl Default for BillingSettings {
    fn default() -> Self {
        Self {
            stripe_webhook_secret: String::new(),
            signature_tolerance_secs: 300,
        }
    }
}

impl std::fmt::Debug for BillingSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BillingSettings")
            .field("stripe_webhook_secret", &"[redacted]")
            .field("signature_tolerance_secs", &self.signature_tolerance_secs)
            .finish()
    }
}

impl BillingSettings {
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if self.signature_tolerance_secs == 0 || self.signature_tolerance_secs > 3600 {
            return rule("billing.signature_tolerance_secs", "must be 1 to 3600");
        }
        Ok(())
    }
}
