//! `[secrets]`: the key ring that encrypts endpoint secrets at rest — keys by
//! id, which one encrypts new writes, and where development keeps the key it
//! generates when none is configured. Keys are masked wherever the settings are
//! shown.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, rule};
use crate::security::secrets::{decode_key, valid_key_id};

/// Key ring settings (`[secrets]`).
///
/// `keys` maps a key id to the base64 of 32 random bytes (`openssl rand -base64
/// 32`); `primary` names the one new secrets are encrypted with (it may be left
/// out when there is one key). Every stored secret names its key, so a key
/// rotated out of `primary` stays in `keys` until `api secrets rewrap` has moved
/// every secret to the primary. From the environment:
/// `APP__SECRETS__KEYS__<ID>=<base64>` (the id is lower-cased) and
/// `APP__SECRETS__PRIMARY=<id>`.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsSettings {
    /// Key id (`[a-z0-9_-]`, 1 to 64 characters: lower case, as the environment
    /// spells them) to base64 of 32 bytes.
    pub keys: BTreeMap<String, String>,
    /// The id of the key new writes use; unset: the only key.
    pub primary: Option<String>,
    /// With no `keys`, outside production: the key generated on first start
    /// and read on every later one (mode 0600), under the id
    /// [`GENERATED_KEY_ID`](crate::security::secrets::GENERATED_KEY_ID).
    pub generated_key_file: PathBuf,
}

impl Default for SecretsSettings {
    fn default() -> Self {
        Self {
            keys: BTreeMap::new(),
            primary: None,
            generated_key_file: PathBuf::from("data/secrets.key"),
        }
    }
}

impl SecretsSettings {
    /// The id of the key new writes use: `primary`, else the only key.
    pub fn primary_id(&self) -> Option<&str> {
        match (&self.primary, self.keys.len()) {
            (Some(primary), _) => Some(primary.as_str()),
            (None, 1) => self.keys.keys().next().map(String::as_str),
            (None, _) => None,
        }
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        for (id, value) in &self.keys {
            if !valid_key_id(id) {
                return Err(ConfigError::Rule {
                    setting: "secrets.keys",
                    problem: format!(
                        "has the key id {id:?}: ids are 1 to 64 of a-z 0-9 _ - (lower case)"
                    ),
                });
            }
            if decode_key(value).is_none() {
                // Never the value: it is (meant to be) a key.
                return Err(ConfigError::Rule {
                    setting: "secrets.keys",
                    problem: format!("key `{id}` must be the base64 of exactly 32 bytes"),
                });
            }
        }
        match (&self.primary, self.keys.len()) {
            (Some(_), 0) => rule("secrets.primary", "is set but secrets.keys is empty"),
            (Some(primary), _) if !self.keys.contains_key(primary) => Err(ConfigError::Rule {
                setting: "secrets.primary",
                problem: format!("names `{primary}`, which is not in secrets.keys"),
            }),
            (None, n) if n > 1 => rule(
                "secrets.primary",
                "must name the key new secrets use when secrets.keys has several",
            ),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for SecretsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked: BTreeMap<&str, &str> =
            self.keys.keys().map(|id| (id.as_str(), "***")).collect();
        f.debug_struct("SecretsSettings")
            .field("keys", &masked)
            .field("primary", &self.primary_id())
            .field("generated_key_file", &self.generated_key_file)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::testing::load;

    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const KEY_B: &str = "HxwdHhsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";

    #[test]
    fn keys_and_primary_come_from_the_environment() {
        let settings = load(&[
            ("APP__SECRETS__KEYS__A", KEY_A),
            ("APP__SECRETS__KEYS__B", KEY_B),
            ("APP__SECRETS__PRIMARY", "b"),
        ])
        .unwrap();
        assert_eq!(settings.secrets.keys.len(), 2);
        assert_eq!(settings.secrets.primary_id(), Some("b"));
        let one = load(&[("APP__SECRETS__KEYS__ONLY", KEY_A)]).unwrap();
        assert_eq!(one.secrets.primary_id(), Some("only"));
    }

    #[test]
    fn bad_keys_name_the_setting_never_the_value() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("APP__SECRETS__KEYS__A", "c2hvcnQ=")], "secrets.keys"),
            (&[("APP__SECRETS__KEYS__A", "not base64!")], "secrets.keys"),
            (&[("APP__SECRETS__PRIMARY", "a")], "secrets.primary"),
            (
                &[
                    ("APP__SECRETS__KEYS__A", KEY_A),
                    ("APP__SECRETS__PRIMARY", "z"),
                ],
                "secrets.primary",
            ),
            (
                &[
                    ("APP__SECRETS__KEYS__A", KEY_A),
                    ("APP__SECRETS__KEYS__B", KEY_B),
                ],
                "secrets.primary",
            ),
        ];
        for (vars, setting) in cases {
            let err = load(vars).unwrap_err().to_string();
            assert!(err.contains(setting), "{vars:?}: {err}");
            for (_, value) in *vars {
                if value.len() > 2 {
                    assert!(!err.contains(value), "{err}");
                }
            }
        }
    }

    #[test]
    fn the_keys_are_masked() {
        let settings = load(&[("APP__SECRETS__KEYS__A", KEY_A)]).unwrap();
        let shown = format!("{settings:?}");
        assert!(!shown.contains(KEY_A), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }
}
