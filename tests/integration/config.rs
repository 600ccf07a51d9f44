//! Configuration layering and bad settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use groundwork_tests::app::config_dir;
use infra::Settings;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A config directory of its own: the real `default.toml` plus the given files.
struct ConfigDir(PathBuf);

impl ConfigDir {
    fn with(files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("groundwork-config-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(config_dir().join("default.toml"), dir.join("default.toml")).unwrap();
        for (name, content) in files {
            std::fs::write(dir.join(name), content).unwrap();
        }
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ConfigDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load_error(dir: &Path, pairs: &[(&str, &str)]) -> String {
    match Settings::load_from(dir, &env(pairs)) {
        Ok(settings) => panic!("expected an error, got {settings:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let settings = Settings::load_from(&config_dir(), &env(&[])).unwrap();

    assert_eq!(settings.environment, "development");
    assert_eq!(settings.server.host, "127.0.0.1");
    assert_eq!(settings.server.port, 8080);
    assert_eq!(settings.server.json_body_limit_bytes, 64 * 1024);
    assert_eq!(
        settings.database.url,
        "sqlite://data/groundwork.db?mode=rwc"
    );
    assert_eq!(settings.database.max_connections, 10);
    assert_eq!(settings.database.idle_timeout_secs, 30);
    assert_eq!(settings.database.connect_timeout_secs, 5);
    assert_eq!(settings.database.acquire_timeout_secs, 5);
    assert!(settings.database.auto_migrate);
    assert_eq!(
        settings.database.plan_cache_mode,
        infra::config::PlanCacheMode::ForceGenericPlan
    );
    assert_eq!(settings.auth.argon2_memory_kib, 19_456);
    assert_eq!(settings.auth.argon2_iterations, 2);
    assert_eq!(settings.auth.argon2_parallelism, 1);
    assert_eq!(settings.auth.max_failed_sign_ins, 10);
    assert_eq!(settings.auth.max_queued_hashes, 64);
    assert_eq!(settings.auth.session_max_lifetime_days, 30);
}

#[test]
fn every_shipped_environment_file_loads() {
    for app_env in ["development", "test", "production"] {
        let settings = Settings::load_from(&config_dir(), &env(&[("APP_ENV", app_env)]))
            .unwrap_or_else(|e| panic!("{app_env}: {e}"));
        assert_eq!(settings.environment, app_env);
        // Rate limits are on everywhere but in the suite, which calls from one address.
        assert_eq!(settings.rate_limits.enabled, app_env != "test", "{app_env}");
    }
    let production =
        Settings::load_from(&config_dir(), &env(&[("APP_ENV", "production")])).unwrap();
    assert!(!production.database.auto_migrate);
}

#[test]
fn the_environment_file_overrides_the_defaults_and_variables_override_both() {
    let dir = ConfigDir::with(&[(
        "development.toml",
        "[database]\nmax_connections = 20\nidle_timeout_secs = 60\n",
    )]);

    let from_file = Settings::load_from(dir.path(), &env(&[("APP_ENV", "development")])).unwrap();
    let from_env = Settings::load_from(
        dir.path(),
        &env(&[
            ("APP_ENV", "development"),
            ("APP__DATABASE__MAX_CONNECTIONS", "3"),
            ("APP__SERVER__HOST", "0.0.0.0"),
            ("PORT", "9090"),
            ("DATABASE_URL", "postgres://app:secret@db:5432/gw"),
        ]),
    )
    .unwrap();

    assert_eq!(from_file.database.max_connections, 20);
    assert_eq!(from_file.database.idle_timeout_secs, 60);
    assert_eq!(from_env.database.max_connections, 3);
    assert_eq!(from_env.database.idle_timeout_secs, 60);
    assert_eq!(from_env.server.host, "0.0.0.0");
    assert_eq!(from_env.server.port, 9090);
    assert_eq!(from_env.database.url, "postgres://app:secret@db:5432/gw");
}

#[test]
fn the_db_family_is_used_when_database_url_is_unset() {
    let settings = Settings::load_from(
        &config_dir(),
        &env(&[
            ("DB_HOST", "db.internal"),
            ("DB_NAME", "gw"),
            ("DB_USER", "app"),
            ("DB_PASSWORD", "s3cret"),
        ]),
    )
    .unwrap();

    assert_eq!(
        settings.database.url,
        "postgres://app:s3cret@db.internal:5432/gw?sslmode=prefer"
    );
    assert!(
        !format!("{settings:?}").contains("s3cret"),
        "the password leaked into Debug"
    );
    assert!(settings.database.masked_url().contains("app:***@"));
}

#[test]
fn an_unknown_app_env_stops_start_up_naming_it() {
    // A typo must not run as development, without production's guards.
    for typo in ["prod", "Prod", "staging", "dev"] {
        let err = load_error(&config_dir(), &[("APP_ENV", typo)]);
        assert!(err.contains("APP_ENV"), "{typo}: {err}");
        assert!(err.contains(&format!("`{typo}`")), "{typo}: {err}");
        assert!(
            err.contains("development, test, production"),
            "{typo}: {err}"
        );
    }
    let err = load_error(&config_dir(), &[("APP__ENVIRONMENT", "prod")]);
    assert!(err.contains("environment"), "{err}");
    // Case and spaces do not matter; blank is the default.
    let production =
        Settings::load_from(&config_dir(), &env(&[("APP_ENV", " Production ")])).unwrap();
    assert!(production.is_production());
    let blank = Settings::load_from(&config_dir(), &env(&[("APP_ENV", "")])).unwrap();
    assert_eq!(blank.environment, "development");
}

#[test]
fn every_secret_in_the_database_url_is_masked() {
    let url = "postgres://app:s3cret@db:5432/gw?sslmode=verify-full&password=p4ss&sslpassword=k3y";

    let settings = Settings::load_from(&config_dir(), &env(&[("DATABASE_URL", url)])).unwrap();

    assert_eq!(settings.database.url, url, "the real URL is what connects");
    assert_eq!(
        settings.database.masked_url(),
        "postgres://app:***@db:5432/gw?sslmode=verify-full&password=***&sslpassword=***"
    );
    let shown = format!("{settings:?}");
    for secret in ["s3cret", "p4ss", "k3y"] {
        assert!(
            !shown.contains(secret),
            "{secret} leaked into Debug: {shown}"
        );
    }
}

#[test]
fn a_value_of_the_wrong_type_names_the_setting() {
    let err = load_error(&config_dir(), &[("APP__DATABASE__MAX_CONNECTIONS", "many")]);
    assert!(err.contains("max_connections"), "{err}");

    let err = load_error(&config_dir(), &[("PORT", "eighty")]);
    assert!(err.contains("port"), "{err}");
}

#[test]
fn a_value_that_breaks_a_rule_names_the_setting() {
    let cases = [
        (
            vec![("APP__DATABASE__MAX_CONNECTIONS", "0")],
            "database.max_connections",
        ),
        (
            vec![("APP__DATABASE__ACQUIRE_TIMEOUT_SECS", "0")],
            "database.acquire_timeout_secs",
        ),
        (
            vec![("DATABASE_URL", "mysql://localhost/x")],
            "database.url",
        ),
        (
            vec![("APP__SERVER__JSON_BODY_LIMIT_BYTES", "0")],
            "server.json_body_limit_bytes",
        ),
        (
            vec![
                ("APP_ENV", "production"),
                ("APP__DATABASE__AUTO_MIGRATE", "true"),
            ],
            "database.auto_migrate",
        ),
        (vec![("DB_HOST", "h"), ("DB_PORT", "99999")], "DB_PORT"),
        (vec![("DB_HOST", "h"), ("DB_SSL", "maybe")], "DB_SSL"),
        (
            vec![("APP__AUTH__ARGON2_ITERATIONS", "0")],
            "auth.argon2_iterations",
        ),
        (
            vec![("APP__AUTH__ARGON2_PARALLELISM", "0")],
            "auth.argon2_parallelism",
        ),
        (
            vec![
                ("APP__AUTH__ARGON2_PARALLELISM", "4"),
                ("APP__AUTH__ARGON2_MEMORY_KIB", "16"),
            ],
            "auth.argon2_memory_kib",
        ),
        (
            vec![("APP__AUTH__MAX_FAILED_SIGN_INS", "0")],
            "auth.max_failed_sign_ins",
        ),
        (
            vec![("APP__AUTH__MAX_QUEUED_HASHES", "0")],
            "auth.max_queued_hashes",
        ),
        (
            vec![("APP__AUTH__SESSION_MAX_LIFETIME_DAYS", "0")],
            "auth.session_max_lifetime_days",
        ),
        (
            vec![("APP__AUTH__SESSION_MAX_LIFETIME_DAYS", "3651")],
            "auth.session_max_lifetime_days",
        ),
    ];
    for (pairs, setting) in cases {
        let err = load_error(&config_dir(), &pairs);
        assert!(err.contains(setting), "{pairs:?}: {err}");
    }
}

#[test]
fn an_unknown_setting_is_refused_by_name() {
    let dir = ConfigDir::with(&[("development.toml", "[database]\nmax_conections = 5\n")]);

    let err = load_error(dir.path(), &[]);

    assert!(err.contains("max_conections"), "{err}");
}

#[test]
fn a_missing_config_directory_says_where_it_looked() {
    let err = load_error(Path::new("/nonexistent/config"), &[]);
    assert!(err.contains("/nonexistent/config/default.toml"), "{err}");
}
