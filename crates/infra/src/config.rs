//! Layered settings: `config/default.toml`, then `config/{APP_ENV}.toml`, then the
//! environment (`DATABASE_URL`, `PORT`, `APP__SECTION__KEY`, and the `DB_*` family
//! when `DATABASE_URL` is unset).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use domain::plans::{PlanCatalog, PlanLimits};
use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use migration::database_url;
use serde::{Deserialize, Serialize};

/// Every setting of the server.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `development`, `test`, `production`, ... (from `APP_ENV`).
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
    /// Plan limits (`[plans.free]`, `[plans.pro]`, `[plans.enterprise]`).
    #[serde(default)]
    pub plans: PlansSettings,
}

fn default_environment() -> String {
    "development".to_owned()
}

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

/// Database and pool settings (`[database]`).
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://...` or `sqlite://path?mode=rwc`.
    pub url: String,
    /// Most pooled connections.
    pub max_connections: u32,
    /// Connections kept open when idle.
    pub min_connections: u32,
    /// Time to open a connection before giving up.
    pub connect_timeout_secs: u64,
    /// Time to wait for a pooled connection before answering 503.
    pub acquire_timeout_secs: u64,
    /// Idle connections above the minimum are closed after this long.
    pub idle_timeout_secs: u64,
    /// Apply pending migrations at start-up (never in production).
    pub auto_migrate: bool,
    /// Log every SQL statement (debug level).
    pub log_statements: bool,
}

/// Logging settings (`[log]`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter, e.g. `info` or `info,sqlx=warn`; `RUST_LOG` overrides it.
    pub filter: String,
}

/// Password hashing settings (`[auth]`): argon2id's cost. The defaults are
/// OWASP's recommendation (19 MiB, 2 passes, 1 lane); hashes keep their own
/// parameters, so raising them later does not invalidate stored passwords.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Memory per hash, in KiB.
    pub argon2_memory_kib: u32,
    /// Passes over the memory.
    pub argon2_iterations: u32,
    /// Lanes.
    pub argon2_parallelism: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
        }
    }
}

/// Each plan's caps (`[plans.<plan>]`).
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlansSettings {
    /// `[plans.free]`.
    pub free: PlanLimitSettings,
    /// `[plans.pro]`.
    pub pro: PlanLimitSettings,
    /// `[plans.enterprise]`.
    pub enterprise: PlanLimitSettings,
}

/// One plan's caps.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanLimitSettings {
    /// Members (owners included) plus pending invitations.
    pub max_members: u64,
    /// API keys neither revoked nor expired.
    pub max_api_keys: u64,
}

impl Default for PlansSettings {
    fn default() -> Self {
        let caps = |max_members, max_api_keys| PlanLimitSettings {
            max_members,
            max_api_keys,
        };
        Self {
            free: caps(5, 2),
            pro: caps(100, 25),
            enterprise: caps(10_000, 1_000),
        }
    }
}

impl PlansSettings {
    /// The caps as the domain asks them.
    pub fn catalog(&self) -> PlanCatalog {
        let limits = |p: PlanLimitSettings| PlanLimits {
            max_members: p.max_members,
            max_api_keys: p.max_api_keys,
        };
        PlanCatalog {
            free: limits(self.free),
            pro: limits(self.pro),
            enterprise: limits(self.enterprise),
        }
    }
}

impl DatabaseSettings {
    /// Connect timeout as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }

    /// Acquire timeout as a duration.
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.acquire_timeout_secs)
    }

    /// Idle timeout as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs)
    }

    /// Whether the URL points at SQLite.
    pub fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite:")
    }

    /// The URL with any password replaced by `***`, for logs.
    pub fn masked_url(&self) -> String {
        database_url::redact(&self.url)
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &self.masked_url())
            .field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("connect_timeout_secs", &self.connect_timeout_secs)
            .field("acquire_timeout_secs", &self.acquire_timeout_secs)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .field("auto_migrate", &self.auto_migrate)
            .field("log_statements", &self.log_statements)
            .finish()
    }
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

impl Settings {
    /// Loads settings from `config/` in the working directory and the process
    /// environment.
    pub fn load() -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self::load_from(&config_dir(), &env)
    }

    /// Loads settings from `dir` and the given environment (tests pass their own).
    pub fn load_from(dir: &Path, env: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let environment = env
            .get("APP_ENV")
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty())
            .unwrap_or_else(default_environment);
        let default_file = dir.join("default.toml");
        if !default_file.is_file() {
            return Err(ConfigError::Invalid(format!(
                "{} not found (run from the project root or set APP_CONFIG_DIR)",
                default_file.display()
            )));
        }
        let mut figment = Figment::new()
            .merge(Toml::file(default_file))
            .merge(Toml::file(dir.join(format!("{environment}.toml"))))
            .merge(Serialized::default("environment", &environment));
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

    fn check(&self) -> Result<(), ConfigError> {
        let rule = |setting, problem: &str| {
            Err(ConfigError::Rule {
                setting,
                problem: problem.to_owned(),
            })
        };
        let db = &self.database;
        let url = db.url.as_str();
        if !(url.starts_with("postgres://")
            || url.starts_with("postgresql://")
            || url.starts_with("sqlite:"))
        {
            return rule(
                "database.url",
                "must start with postgres://, postgresql:// or sqlite:",
            );
        }
        if db.max_connections == 0 {
            return rule("database.max_connections", "must be at least 1");
        }
        if db.min_connections > db.max_connections {
            return rule(
                "database.min_connections",
                "must not exceed database.max_connections",
            );
        }
        if db.connect_timeout_secs == 0 {
            return rule("database.connect_timeout_secs", "must be at least 1");
        }
        if db.acquire_timeout_secs == 0 {
            return rule("database.acquire_timeout_secs", "must be at least 1");
        }
        if self.server.json_body_limit_bytes == 0 {
            return rule("server.json_body_limit_bytes", "must be at least 1");
        }
        let auth = &self.auth;
        if auth.argon2_iterations == 0 {
            return rule("auth.argon2_iterations", "must be at least 1");
        }
        if !(1..=255).contains(&auth.argon2_parallelism) {
            return rule("auth.argon2_parallelism", "must be from 1 to 255");
        }
        if auth.argon2_memory_kib < 8 * auth.argon2_parallelism {
            return rule(
                "auth.argon2_memory_kib",
                "must be at least 8 × auth.argon2_parallelism",
            );
        }
        for (setting, plan) in [
            ("plans.free.max_members", self.plans.free),
            ("plans.pro.max_members", self.plans.pro),
            ("plans.enterprise.max_members", self.plans.enterprise),
        ] {
            // The owner is a member: a cap of 0 would forbid every organization.
            if plan.max_members == 0 {
                return rule(setting, "must be at least 1 (the owner counts)");
            }
        }
        if self.is_production() && db.auto_migrate {
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
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn passwords_are_masked() {
        let masked = |url: &str| database_url::redact(url);
        assert_eq!(
            masked("postgres://app:s3cr:et@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(masked("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(masked("sqlite://data/g.db"), "sqlite://data/g.db");
    }

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
