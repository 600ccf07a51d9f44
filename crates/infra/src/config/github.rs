//! `[github]`: the GitHub App integration — the app's slug (for its install
//! page), the webhook secret, the install link's state signing and lifetime,
//! and where the setup callback sends the browser. The secrets are masked
//! wherever the settings are shown.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, rule};

/// GitHub App settings (`[github]`).
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GithubSettings {
    /// Whether the integration is on. Off (the default), its webhook, install
    /// links and setup callback answer 404 `GITHUB_DISABLED`; on, `app_slug`
    /// and `webhook_secret` are required (in every environment: a receiver
    /// without a secret cannot verify anything).
    pub enabled: bool,
    /// The app's slug: its install page is `https://github.com/apps/{slug}/installations/new`.
    pub app_slug: String,
    /// The app's webhook secret: `X-Hub-Signature-256` is its HMAC-SHA256 of the body.
    pub webhook_secret: String,
    /// The key the install link's `state` is signed with (HMAC-SHA256). Empty:
    /// derived from `webhook_secret` (HMAC-SHA256 of a fixed label under it),
    /// so one secret suffices; set it to rotate the two independently.
    pub state_secret: String,
    /// How long an install link's `state` is accepted, in seconds.
    pub state_ttl_secs: u64,
    /// Where the setup callback redirects (303) after linking, with
    /// `installation_id` and `organization_id` added to its query; unset: it
    /// answers the linked installation as JSON.
    pub setup_redirect_url: Option<String>,
}

impl Default for GithubSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            app_slug: String::new(),
            webhook_secret: String::new(),
            state_secret: String::new(),
            state_ttl_secs: 600,
            setup_redirect_url: None,
        }
    }
}

impl fmt::Debug for GithubSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = |s: &str| if s.is_empty() { "" } else { "***" };
        f.debug_struct("GithubSettings")
            .field("enabled", &self.enabled)
            .field("app_slug", &self.app_slug)
            .field("webhook_secret", &masked(&self.webhook_secret))
            .field("state_secret", &masked(&self.state_secret))
            .field("state_ttl_secs", &self.state_ttl_secs)
            .field("setup_redirect_url", &self.setup_redirect_url)
            .finish()
    }
}

impl GithubSettings {
    /// The state's lifetime.
    pub fn state_ttl(&self) -> Duration {
        Duration::from_secs(self.state_ttl_secs)
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if !(60..=86_400).contains(&self.state_ttl_secs) {
            return rule("github.state_ttl_secs", "must be from 60 to 86400");
        }
        if let Some(url) = &self.setup_redirect_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return rule("github.setup_redirect_url", "must be an http(s) URL");
        }
        if !self.enabled {
            return Ok(());
        }
        let slug_ok = !self.app_slug.is_empty()
            && self
                .app_slug
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !slug_ok {
            return rule(
                "github.app_slug",
                "is required when github.enabled is true (letters, digits and -)",
            );
        }
        if self.webhook_secret.len() < 16 {
            return rule(
                "github.webhook_secret",
                "is required when github.enabled is true (16 characters at least; better from APP__GITHUB__WEBHOOK_SECRET)",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::load;

    #[test]
    fn switched_off_it_needs_neither_slug_nor_secret() {
        let settings = load(&[
            ("APP__GITHUB__ENABLED", "false"),
            ("APP__GITHUB__APP_SLUG", ""),
            ("APP__GITHUB__WEBHOOK_SECRET", ""),
        ])
        .unwrap();
        assert!(!settings.github.enabled);
        assert_eq!(settings.github.state_ttl_secs, 600);
    }

    #[test]
    fn enabled_without_a_webhook_secret_is_refused() {
        let err = load(&[
            ("APP__GITHUB__ENABLED", "true"),
            ("APP__GITHUB__WEBHOOK_SECRET", ""),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("github.webhook_secret"), "{err}");
    }

    #[test]
    fn secrets_are_masked_when_shown() {
        let settings = load(&[]).unwrap();
        let shown = format!("{:?}", settings.github);
        assert!(!shown.contains(&settings.github.webhook_secret), "{shown}");
    }
}
