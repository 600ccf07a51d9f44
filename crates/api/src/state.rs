//! What every handler may need besides the request: the (sealed) pool, the
//! clock, the password hasher, the sign-in limit, the session lifetimes, the
//! key ring of endpoint secrets and the URL policy.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::Clock;
use domain::auth::{SessionPolicy, SignInThrottle};
use domain::endpoints::UrlPolicy;
use infra::PasswordHasher;
use infra::resolver::UrlGuard;
use infra::security::secrets::Keyring;

use crate::auth::Pool;

/// Shared application state, registered once as `web::Data<AppState>`.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The pool, sealed: handlers reach the database through the extractors of
    /// [`crate::auth`] only.
    pub db: Pool,
    /// Where "now" comes from (the system clock, or a test's shifted clock).
    pub clock: Arc<dyn Clock>,
    /// argon2id, on its own threads.
    pub passwords: PasswordHasher,
    /// The per-email sign-in limit (`auth.max_failed_sign_ins`).
    pub sign_ins: SignInThrottle,
    /// How long sessions live (`auth.session_max_lifetime_days`).
    pub sessions: SessionPolicy,
    /// Seals and opens endpoint secrets (`[secrets]`).
    pub keyring: Arc<Keyring>,
    /// Whether endpoint URLs may be `http` (outside production only).
    pub url_policy: UrlPolicy,
    /// The GitHub App (`[github]`): its secrets and install links.
    pub github: Arc<app::github::GithubApp>,
    /// Whether webhook URLs may be `http` (`webhooks.allow_private_networks`).
    pub webhook_url_policy: UrlPolicy,
    /// The SSRF guard webhook URLs are checked with when saved.
    pub url_guard: UrlGuard,
    /// The Stripe webhook's secret and tolerance (`[billing]`).
    pub billing: infra::config::BillingSettings,
}

impl AppState {
    /// The current instant by the application's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
