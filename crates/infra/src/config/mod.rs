//! Layered settings: `config/default.toml`, then `config/{APP_ENV}.toml`, then the
//! environment (`DATABASE_URL`, `PORT`, `APP__SECTION__KEY`, and the `DB_*` family
//! when `DATABASE_URL` is unset).
//!
//! This module holds [`Settings`], its loading and [`ConfigError`]; each section
//! (`[server]`, `[database]`, ...) lives in its own submodule with its defaults and
//! rules, re-exported here so every type is `config::X`.

mod auth;
mod billing;
mod database;
mod github;
mod jobs;
mod log;
mod metrics;
mod outbox;
mod rate_limits;
mod secrets;
mod server;
mod smtp;
#[cfg(test)]
mod testing;
mod webhooks;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use migration::{database_url, environment};
use serde::{Deserialize, Serialize};

pub use auth::AuthSettings;
pub use billing::BillingSettings;
pub use database::{DatabaseSettings, PlanCacheMode};
pub use github::GithubSettings;
pub use jobs::JobsSettings;
pub use log::LogSettings;
pub use metrics::MetricsSettings;
pub use outbox::OutboxSettings;
pub use rate_limits::RateLimitSettings;
pub use secrets::SecretsSettings;
pub use server::ServerSettings;
pub use smtp::{SmtpSettings, SmtpTls};
pub use webhooks::WebhooksSettings;

/// Every setting of the server.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `development`, `test` or `production` (from `APP_ENV`; anything else
    /// stops start-up).
    #[serde(default = "default_environment")]
    pub environment: String,
    /// HTTP server.
    pub server: ServerSettings,
    /// Database and pool.
    pub database: DatabaseSettings,
    /// Logging.
    pub log: LogSettings,
    /// Password hashing.
    #[serde(default)]
    pub auth: AuthSettings,
    /// The outbox delivery worker.
    #[serde(default)]
    pub outbox: OutboxSettings,
    /// The job lease reaper.
    #[serde(default)]
    pub jobs: JobsSettings,
    /// The SMTP relay outbox emails go through (unset: emails are logged).
    #[serde(default)]
    pub smtp: SmtpSettings,
    /// Per-client-address rate limits.
    #[serde(default)]
    pub rate_limits: RateLimitSettings,
    /// The key ring of endpoint secrets at rest.
    #[serde(default)]
    pub secrets: SecretsSettings,
    /// `GET /metrics` and the periodic snapshot.
    #[serde(default)]
    pub metrics: MetricsSettings,
    /// The GitHub App integration.
    #[serde(default)]
    pub github: GithubSettings,
    /// Outgoing webhooks.
    #[serde(default)]
    pub webhooks: WebhooksSettings,
    /// The billing provider's signed webhook.
    #[serde(default)]
    pub billing: BillingSettings,
}

fn default_environment() -> String {
    environment::DEFAULT_ENVIRONMENT.to_owned()
}

/// A setting that stops start-up; the message names the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file or variable could not be read or has the wrong type.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// A value of the right type that makes no sense.
    #[error("invalid configuration: `{setting}` {problem}")]
    Rule {
        /// The setting, as `section.key`.
        setting: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl From<figment::Error> for ConfigError {
    fn from(err: figment::Error) -> Self {
        // figment's Display already names the key and where its value came from.
        Self::Invalid(err.to_string())
    }
}

/// A list setting: a TOML array, or (from the environment, where every value is
/// text) one string of comma-separated items; blank items are dropped.
fn list<'de, D>(deserializer: D) -> Result<Vec<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        Items(Vec<String>),
        Text(String),
    }
    let items = match List::deserialize(deserializer)? {
        List::Items(items) => items,
        List::Text(text) => text.split(',').map(str::to_owned).collect(),
    };
    Ok(items
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect())
}

/// The broken rule as the `Err` a section's `check` returns.
fn rule(setting: &'static str, problem: &str) -> Result<(), ConfigError> {
    Err(ConfigError::Rule {
        setting,
        problem: problem.to_owned(),
    })
}

impl Settings {
    /// Loads settings from `config/` in the working directory and the process
    /// environment.
    pub fn load() -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self::load_from(&config_dir(), &env)
    }

    /// Loads settings from `dir` and the given environment (tests pass their own).
    pub fn load_from(dir: &Path, env: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        // A typo (`prod`) would layer no file and run as development, without
        // production's guards: only the shipped environments are accepted.
        let app_env = match env.get("APP_ENV") {
            Some(raw) => environment::parse(raw).map_err(|e| ConfigError::Rule {
                setting: "APP_ENV",
                problem: format!(
                    "must be one of {}, got `{}`",
                    environment::ENVIRONMENTS.join(", "),
                    e.0
                ),
            })?,
            None => environment::DEFAULT_ENVIRONMENT,
        };
        let default_file = dir.join("default.toml");
        if !default_file.is_file() {
            return Err(ConfigError::Invalid(format!(
                "{} not found (run from the project root or set APP_CONFIG_DIR)",
                default_file.display()
            )));
        }
        let mut figment = Figment::new()
            .merge(Toml::file(default_file))
            .merge(Toml::file(dir.join(format!("{app_env}.toml"))))
            .merge(Serialized::default("environment", app_env));
        for (key, value) in env {
            if let Some(path) = key.strip_prefix("APP__") {
                let path = path
                    .split("__")
                    .map(str::to_lowercase)
                    .collect::<Vec<_>>()
                    .join(".");
                figment = figment.merge(Serialized::default(&path, value));
            }
        }
        if let Some(url) = database_url_from_env(env)? {
            figment = figment.merge(Serialized::default("database.url", url));
        }
        if let Some(port) = env.get("PORT") {
            figment = figment.merge(Serialized::default("server.port", port));
        }
        let settings: Settings = figment.extract_lossy()?;
        settings.check()?;
        Ok(settings)
    }

    /// Each section's rules, then those that span sections; the first broken
    /// one is reported.
    fn check(&self) -> Result<(), ConfigError> {
        if !environment::ENVIRONMENTS.contains(&self.environment.as_str()) {
            // Set some other way than APP_ENV (`APP__ENVIRONMENT`).
            return rule("environment", "must be development, test or production");
        }
        self.database.check()?;
        self.server.check()?;
        self.auth.check()?;
        self.outbox.check()?;
        self.jobs.check()?;
        self.smtp.check()?;
        self.rate_limits.check()?;
        self.secrets.check()?;
        self.metrics.check()?;
        self.github.check()?;
        self.webhooks.check()?;
        self.billing.check()?;
        if self.is_production() && self.database.auto_migrate {
            return rule(
                "database.auto_migrate",
                "must be false in production (run `migration up` instead)",
            );
        }
        Ok(())
    }

    /// Whether `APP_ENV` is `production`.
    pub fn is_production(&self) -> bool {
        self.environment == "production"
    }
}

/// The configuration directory: `APP_CONFIG_DIR`, else `./config`, else the
/// workspace's `config/` (so `cargo run` works from any member directory).
pub fn config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("APP_CONFIG_DIR") {
        return PathBuf::from(dir);
    }
    let local = PathBuf::from("config");
    if local.join("default.toml").is_file() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

/// `DATABASE_URL`, else a URL built from the `DB_*` family when `DB_HOST` is set;
/// `None` leaves the configured `database.url`. The rules are the `migration`
/// CLI's own, so the server and the CLI always resolve the same database.
fn database_url_from_env(env: &BTreeMap<String, String>) -> Result<Option<String>, ConfigError> {
    let is_set = |name: &str| env.get(name).is_some_and(|v| !v.trim().is_empty());
    if !is_set("DATABASE_URL") && !is_set("DB_HOST") {
        return Ok(None);
    }
    database_url::resolve(|name| env.get(name).cloned())
        .map(Some)
        .map_err(|e| ConfigError::Rule {
            setting: e.setting,
            problem: e.problem,
        })
}

#[cfg(test)]
mod tests {
    use super::testing::env;
    use super::*;

    #[test]
    fn the_db_family_builds_an_encoded_url() {
        let url = database_url_from_env(&env(&[
            ("DB_HOST", "db.internal"),
            ("DB_USER", "app"),
            ("DB_PASSWORD", "p@ss/word"),
            ("DB_NAME", "gw"),
            ("DB_SSL", "true"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            url,
            "postgres://app:p%40ss%2Fword@db.internal:5432/gw?sslmode=require"
        );
    }

    #[test]
    fn database_url_wins_over_the_db_family() {
        let url =
            database_url_from_env(&env(&[("DATABASE_URL", "sqlite://x.db"), ("DB_HOST", "h")]));
        assert_eq!(url.unwrap().as_deref(), Some("sqlite://x.db"));
    }

    #[test]
    fn a_bad_db_port_names_the_variable() {
        let err = database_url_from_env(&env(&[("DB_HOST", "h"), ("DB_PORT", "abc")])).unwrap_err();
        assert!(err.to_string().contains("DB_PORT"), "{err}");
    }
}
