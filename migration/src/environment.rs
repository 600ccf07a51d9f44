//! `APP_ENV`, the deployment environment: read by the server and by the
//! `migration` CLI by this one rule, so that both agree on what production is.

/// Every environment `APP_ENV` may name; the configuration ships a
/// `config/{APP_ENV}.toml` for each.
pub const ENVIRONMENTS: [&str; 3] = ["development", "test", "production"];

/// The environment when `APP_ENV` is unset or blank.
pub const DEFAULT_ENVIRONMENT: &str = "development";

/// An `APP_ENV` that names no known environment. A typo (`prod`) must stop the
/// program, not run it as development: without production's guards.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("APP_ENV must be development, test or production, got `{0}`")]
pub struct UnknownEnvironment(pub String);

/// The environment `raw` names: trimmed and lower-cased, `development` when
/// blank, else one of [`ENVIRONMENTS`] or [`UnknownEnvironment`].
pub fn parse(raw: &str) -> Result<&'static str, UnknownEnvironment> {
    let name = raw.trim().to_lowercase();
    if name.is_empty() {
        return Ok(DEFAULT_ENVIRONMENT);
    }
    ENVIRONMENTS
        .into_iter()
        .find(|known| *known == name)
        .ok_or_else(|| UnknownEnvironment(raw.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_environments_in_any_case_and_blank_as_development() {
        assert_eq!(parse("production"), Ok("production"));
        assert_eq!(parse(" Production "), Ok("production"));
        assert_eq!(parse("TEST"), Ok("test"));
        assert_eq!(parse(""), Ok("development"));
        assert_eq!(parse("  "), Ok("development"));
    }

    #[test]
    fn a_typo_is_an_error_naming_it() {
        for typo in ["prod", "dev", "staging", "production2"] {
            let err = parse(typo).unwrap_err();
            assert_eq!(err.0, typo);
            assert!(err.to_string().contains(typo), "{err}");
        }
    }
}
