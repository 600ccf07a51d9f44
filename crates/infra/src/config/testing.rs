//! Helpers the config unit tests share: an environment from pairs, and a load
//! of the repository's own `config/` under `APP_ENV=test`.

use std::collections::BTreeMap;
use std::path::Path;

use super::{ConfigError, Settings};

/// An environment made of `pairs`.
pub(super) fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Settings from the workspace's `config/` with `pairs` layered over
/// `APP_ENV=test` and a SQLite `DATABASE_URL`.
pub(super) fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let mut vars = env(&[("APP_ENV", "test"), ("DATABASE_URL", "sqlite://x.db")]);
    vars.extend(env(pairs));
    Settings::load_from(&dir, &vars)
}
