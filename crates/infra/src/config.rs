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
    /// The outbox delivery worker.
    #[serde(default)]
    pub outbox: OutboxSettings,
    /// The SMTP relay outbox emails go through (unset: emails are logged).
    #[serde(default)]
    pub smtp: SmtpSettings,
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

/// Outbox delivery settings (`[outbox]`): the worker that sends queued emails.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxSettings {
    /// Run the delivery worker in this server process.
    pub worker: bool,
    /// Time between two looks for due messages, in milliseconds.
    pub poll_interval_ms: u64,
    /// Most messages claimed (and sent concurrently) at once.
    pub batch_size: u32,
    /// How long a claim lasts: a message whose sender died is claimed again after this.
    pub lease_secs: u64,
    /// Longest one delivery may take before it counts as failed.
    pub send_timeout_secs: u64,
    /// Wait before the first retry; doubled for each further failure.
    pub backoff_base_secs: u64,
    /// Longest wait between two retries.
    pub backoff_max_secs: u64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            worker: true,
            poll_interval_ms: 1_000,
            batch_size: 10,
            lease_secs: 120,
            send_timeout_secs: 30,
            backoff_base_secs: 30,
            backoff_max_secs: 3_600,
        }
    }
}

impl OutboxSettings {
    /// Poll interval as a duration.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    /// Lease as a duration.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }

    /// Send timeout as a duration.
    pub fn send_timeout(&self) -> Duration {
        Duration::from_secs(self.send_timeout_secs)
    }

    /// The wait after the `attempts`-th failed attempt (1 for the first):
    /// `backoff_base_secs × 2^(attempts - 1)`, at most `backoff_max_secs`.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(63);
        let secs = self
            .backoff_base_secs
            .saturating_mul(1u64 << doublings)
            .min(self.backoff_max_secs);
        Duration::from_secs(secs)
    }
}

/// How the SMTP connection is secured (`smtp.tls`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text throughout: only for a relay on the same host or network.
    None,
    /// Plain connection upgraded with STARTTLS, which the server must offer.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS, "implicit TLS").
    Tls,
}

impl SmtpTls {
    /// The customary port for the mode: 25, 587 or 465.
    pub const fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::Starttls => 587,
            Self::Tls => 465,
        }
    }
}

/// SMTP settings (`[smtp]`). Emails go through SMTP when `host` is set, else
/// they are written to the log.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    /// The relay's host name (also the name its TLS certificate must carry).
    pub host: Option<String>,
    /// The relay's port; unset: 25, 587 or 465 by `tls`.
    pub port: Option<u16>,
    /// User name for SMTP AUTH; unset: no authentication.
    pub username: Option<String>,
    /// Password for SMTP AUTH.
    pub password: Option<String>,
    /// The sender, `Name <address>` or a bare address.
    pub from: String,
    /// `none`, `starttls` or `tls`.
    pub tls: SmtpTls,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: None,
            port: None,
            username: None,
            password: None,
            from: "Groundwork <no-reply@localhost>".to_owned(),
            tls: SmtpTls::default(),
        }
    }
}

impl SmtpSettings {
    /// The relay's host, when one is configured (blank counts as unset).
    pub fn relay(&self) -> Option<&str> {
        self.host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
    }

    /// The port to connect to.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(self.tls.default_port())
    }
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.effective_port())
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .field("tls", &self.tls)
            .finish()
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
        self.outbox.check()?;
        self.smtp.check()?;
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

impl OutboxSettings {
    fn check(&self) -> Result<(), ConfigError> {
        let rule = |setting, problem: &str| {
            Err(ConfigError::Rule {
                setting,
                problem: problem.to_owned(),
            })
        };
        if self.poll_interval_ms < 10 {
            return rule("outbox.poll_interval_ms", "must be at least 10");
        }
        if !(1..=1000).contains(&self.batch_size) {
            return rule("outbox.batch_size", "must be from 1 to 1000");
        }
        if self.send_timeout_secs == 0 {
            return rule("outbox.send_timeout_secs", "must be at least 1");
        }
        if self.lease_secs <= self.send_timeout_secs {
            // A claim that can run out while its delivery is still going lets a
            // second worker send the same email.
            return rule(
                "outbox.lease_secs",
                "must be greater than outbox.send_timeout_secs",
            );
        }
        if self.backoff_base_secs == 0 {
            return rule("outbox.backoff_base_secs", "must be at least 1");
        }
        if self.backoff_max_secs < self.backoff_base_secs {
            return rule(
                "outbox.backoff_max_secs",
                "must be at least outbox.backoff_base_secs",
            );
        }
        Ok(())
    }
}

impl SmtpSettings {
    fn check(&self) -> Result<(), ConfigError> {
        let rule = |setting, problem: &str| {
            Err(ConfigError::Rule {
                setting,
                problem: problem.to_owned(),
            })
        };
        if self.port == Some(0) {
            return rule("smtp.port", "must be from 1 to 65535");
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return rule("smtp.from", "must be an address or `Name <address>`");
        }
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.is_empty());
        if blank(&self.username) != blank(&self.password) {
            return rule("smtp.username", "and smtp.password must be set together");
        }
        Ok(())
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

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
        let mut vars = env(&[("APP_ENV", "test"), ("DATABASE_URL", "sqlite://x.db")]);
        vars.extend(env(pairs));
        Settings::load_from(&dir, &vars)
    }

    #[test]
    fn outbox_backoff_doubles_up_to_its_cap() {
        let outbox = OutboxSettings {
            backoff_base_secs: 30,
            backoff_max_secs: 3_600,
            ..OutboxSettings::default()
        };
        let secs: Vec<u64> = [1, 2, 3, 7, 8, 9, 1_000, u32::MAX]
            .into_iter()
            .map(|n| outbox.backoff(n).as_secs())
            .collect();
        assert_eq!(secs, [30, 60, 120, 1_920, 3_600, 3_600, 3_600, 3_600]);
        assert_eq!(outbox.backoff(0).as_secs(), 30);
    }

    #[test]
    fn outbox_and_smtp_defaults_and_overrides() {
        let defaults = OutboxSettings::default();
        assert!(defaults.worker);
        assert_eq!(SmtpSettings::default().effective_port(), 587);
        let settings = load(&[
            ("APP__OUTBOX__WORKER", "true"),
            ("APP__OUTBOX__BATCH_SIZE", "3"),
            ("APP__SMTP__HOST", "mail.example.com"),
            ("APP__SMTP__TLS", "tls"),
        ])
        .unwrap();
        assert!(settings.outbox.worker);
        assert_eq!(settings.outbox.batch_size, 3);
        assert_eq!(settings.smtp.relay(), Some("mail.example.com"));
        assert_eq!(settings.smtp.effective_port(), 465);
        let blank = load(&[("APP__SMTP__HOST", "  ")]).unwrap();
        assert_eq!(blank.smtp.relay(), None);
    }

    #[test]
    fn bad_outbox_and_smtp_values_name_the_setting() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("APP__OUTBOX__POLL_INTERVAL_MS", "0")],
                "outbox.poll_interval_ms",
            ),
            (&[("APP__OUTBOX__BATCH_SIZE", "0")], "outbox.batch_size"),
            (
                &[("APP__OUTBOX__SEND_TIMEOUT_SECS", "0")],
                "outbox.send_timeout_secs",
            ),
            (&[("APP__OUTBOX__LEASE_SECS", "30")], "outbox.lease_secs"),
            (
                &[("APP__OUTBOX__BACKOFF_BASE_SECS", "0")],
                "outbox.backoff_base_secs",
            ),
            (
                &[("APP__OUTBOX__BACKOFF_MAX_SECS", "5")],
                "outbox.backoff_max_secs",
            ),
            (&[("APP__OUTBOX__WORKER", "maybe")], "worker"),
            (&[("APP__SMTP__TLS", "ssl")], "tls"),
            (&[("APP__SMTP__PORT", "0")], "smtp.port"),
            (&[("APP__SMTP__FROM", "not an address")], "smtp.from"),
            (&[("APP__SMTP__USERNAME", "u")], "smtp.username"),
        ];
        for (vars, setting) in cases {
            let err = load(vars).unwrap_err().to_string();
            assert!(err.contains(setting), "{vars:?}: {err}");
        }
    }

    #[test]
    fn the_smtp_password_is_masked() {
        let smtp = SmtpSettings {
            host: Some("mail.example.com".to_owned()),
            username: Some("app".to_owned()),
            password: Some("hunter2".to_owned()),
            ..SmtpSettings::default()
        };
        let shown = format!("{smtp:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }

    #[test]
    fn a_bad_db_port_names_the_variable() {
        let err = database_url_from_env(&env(&[("DB_HOST", "h"), ("DB_PORT", "abc")])).unwrap_err();
        assert!(err.to_string().contains("DB_PORT"), "{err}");
    }
}
