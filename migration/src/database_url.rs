//! Where the `migration` CLI finds its database, mirroring the server's rules
//! (DESIGN §4): `DATABASE_URL`; else the seeds' `DB_HOST`, `DB_PORT` (5432),
//! `DB_NAME`, `DB_USER`, `DB_PASSWORD`, `DB_SSL` when `DB_HOST` is set; else the
//! embedded SQLite file.

/// The embedded default: a SQLite file under `data/`, created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/groundwork.db?mode=rwc";

/// A `DB_*` setting that cannot be turned into a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting} {problem}")]
pub struct InvalidSetting {
    pub setting: &'static str,
    pub problem: String,
}

/// Resolves the database URL from the process environment.
pub fn from_env() -> Result<String, InvalidSetting> {
    resolve(|name| std::env::var(name).ok())
}

/// Resolves the database URL from `var` (an environment lookup).
///
/// The URL built from the `DB_*` parts is the same one the server builds:
/// user `postgres` and database `groundwork` unless given, `sslmode=require`
/// when `DB_SSL` is true, `sslmode=prefer` otherwise.
pub fn resolve(var: impl Fn(&str) -> Option<String>) -> Result<String, InvalidSetting> {
    if let Some(url) = var("DATABASE_URL").filter(|url| !url.trim().is_empty()) {
        return Ok(url.trim().to_owned());
    }
    let Some(host) = var("DB_HOST").filter(|host| !host.trim().is_empty()) else {
        return Ok(DEFAULT_DATABASE_URL.to_owned());
    };

    let port = match var("DB_PORT") {
        None => 5432,
        Some(port) => port.trim().parse::<u16>().map_err(|_| InvalidSetting {
            setting: "DB_PORT",
            problem: format!("must be a port number, got `{port}`"),
        })?,
    };
    let ssl = match var("DB_SSL").map(|ssl| ssl.trim().to_ascii_lowercase()) {
        None => false,
        Some(ssl) if ["true", "1", "yes", "on", "require"].contains(&ssl.as_str()) => true,
        Some(ssl) if ["false", "0", "no", "off", "disable", ""].contains(&ssl.as_str()) => false,
        Some(ssl) => {
            return Err(InvalidSetting {
                setting: "DB_SSL",
                problem: format!("must be true or false, got `{ssl}`"),
            });
        }
    };
    let user = var("DB_USER").unwrap_or_else(|| "postgres".to_owned());
    let credentials = match var("DB_PASSWORD") {
        Some(password) => format!(
            "{}:{}",
            encode_component(&user),
            encode_component(&password)
        ),
        None => encode_component(&user),
    };
    let name = var("DB_NAME").unwrap_or_else(|| "groundwork".to_owned());
    let sslmode = if ssl { "require" } else { "prefer" };

    let host = host.trim();
    // An IPv6 literal needs brackets in a URL.
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    Ok(format!(
        "postgres://{credentials}@{host}:{port}/{}?sslmode={sslmode}",
        encode_component(&name)
    ))
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so user names,
/// passwords and database names with `@`, `:`, `/`, `%`... survive in a URL.
fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What a masked secret reads as.
const MASK: &str = "***";

/// Whether a query parameter named `name` carries a secret: libpq's `password`
/// and `sslpassword`, and anything else whose name says pass(word), secret or
/// token (masking a harmless one costs nothing; showing a secret does).
fn is_secret_parameter(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["pass", "secret", "token"]
        .iter()
        .any(|word| name.contains(word))
}

/// The URL with every secret in it replaced by `***`, fit for logs: the
/// password of its user part (`postgres://app:***@db/gw`) and the value of every
/// query parameter that carries one (`?password=***`, `sslpassword=***`, see
/// [`is_secret_parameter`]). The rest is shown as written. A string that does
/// not parse as a URL is shown as its scheme only (`postgres://***`), or as
/// `***`: whatever it holds cannot be told apart from a secret.
pub fn redact(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return match url.split_once(':') {
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                format!("{scheme}://{MASK}")
            }
            _ => MASK.to_owned(),
        };
    };
    let mut masked = false;
    if parsed.password().is_some() {
        // Only a URL with a host has a password, so this cannot fail.
        masked = parsed.set_password(Some(MASK)).is_ok();
    }
    if let Some(query) = parsed.query() {
        let mut hid_one = false;
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| {
                let name = url::form_urlencoded::parse(pair.as_bytes())
                    .next()
                    .map(|(name, _)| name.into_owned())
                    .unwrap_or_default();
                match pair.split_once('=') {
                    Some((raw_name, _)) if is_secret_parameter(&name) => {
                        hid_one = true;
                        format!("{raw_name}={MASK}")
                    }
                    _ => pair.to_owned(),
                }
            })
            .collect();
        if hid_one {
            parsed.set_query(Some(&pairs.join("&")));
            masked = true;
        }
    }
    // Unchanged URLs are shown exactly as written, not as the parser
    // normalises them.
    if masked {
        parsed.to_string()
    } else {
        url.to_owned()
    }
}

/// The file a `sqlite:` URL points at (`None` for in-memory databases and
/// non-SQLite URLs), so the caller can create its directory first.
pub fn sqlite_file_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split(['?', '#']).next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn database_url_wins() {
        let url = resolve(env(&[
            ("DATABASE_URL", "postgres://a@b/c"),
            ("DB_HOST", "ignored"),
        ]));
        assert_eq!(url.unwrap(), "postgres://a@b/c");
    }

    #[test]
    fn defaults_to_embedded_sqlite() {
        assert_eq!(resolve(env(&[])).unwrap(), DEFAULT_DATABASE_URL);
        assert_eq!(
            resolve(env(&[("DATABASE_URL", "  ")])).unwrap(),
            DEFAULT_DATABASE_URL
        );
        assert_eq!(
            resolve(env(&[("DB_USER", "x")])).unwrap(),
            DEFAULT_DATABASE_URL
        );
    }

    #[test]
    fn builds_from_db_parts() {
        let url = resolve(env(&[
            ("DB_HOST", "db.internal"),
            ("DB_NAME", "gw"),
            ("DB_USER", "app"),
            ("DB_PASSWORD", "s3cret"),
        ]));
        assert_eq!(
            url.unwrap(),
            "postgres://app:s3cret@db.internal:5432/gw?sslmode=prefer"
        );
        let url = resolve(env(&[("DB_HOST", "h")]));
        assert_eq!(
            url.unwrap(),
            "postgres://postgres@h:5432/groundwork?sslmode=prefer"
        );
    }

    #[test]
    fn port_and_ssl() {
        let url = resolve(env(&[
            ("DB_HOST", "h"),
            ("DB_PORT", "6543"),
            ("DB_NAME", "n"),
            ("DB_USER", "u"),
            ("DB_SSL", "TRUE"),
        ]));
        assert_eq!(url.unwrap(), "postgres://u@h:6543/n?sslmode=require");
        let err = resolve(env(&[("DB_HOST", "h"), ("DB_PORT", "abc")])).unwrap_err();
        assert_eq!(err.setting, "DB_PORT");
        let err = resolve(env(&[("DB_HOST", "h"), ("DB_SSL", "maybe")])).unwrap_err();
        assert_eq!(err.setting, "DB_SSL");
    }

    #[test]
    fn special_characters_are_encoded() {
        let url = resolve(env(&[
            ("DB_HOST", "h"),
            ("DB_NAME", "n"),
            ("DB_USER", "me@corp"),
            ("DB_PASSWORD", "p@ss:w/rd%"),
        ]));
        assert_eq!(
            url.unwrap(),
            "postgres://me%40corp:p%40ss%3Aw%2Frd%25@h:5432/n?sslmode=prefer"
        );
    }

    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/gw?sslmode=require"),
            "postgres://app:***@db:5432/gw?sslmode=require"
        );
        assert_eq!(redact("postgres://app@db/gw"), "postgres://app@db/gw");
        assert_eq!(redact("postgres://db/gw"), "postgres://db/gw");
        assert_eq!(redact(DEFAULT_DATABASE_URL), DEFAULT_DATABASE_URL);
        assert_eq!(redact("postgres://u:p%40ss@h/n"), "postgres://u:***@h/n");
        assert_eq!(redact("postgres://:s3cret@db/gw"), "postgres://:***@db/gw");
        assert_eq!(redact("sqlite::memory:"), "sqlite::memory:");
        assert_eq!(redact("sqlite:x.db?mode=rwc"), "sqlite:x.db?mode=rwc");
    }

    #[test]
    fn redact_hides_every_secret_query_parameter() {
        assert_eq!(
            redact("postgres://app@db/gw?password=s3cret&sslmode=require"),
            "postgres://app@db/gw?password=***&sslmode=require"
        );
        assert_eq!(
            redact(
                "postgres://app:pw@db/gw?sslmode=verify-full&sslpassword=key%20pw&sslkey=/k.pem"
            ),
            "postgres://app:***@db/gw?sslmode=verify-full&sslpassword=***&sslkey=/k.pem"
        );
        assert_eq!(
            redact("postgresql:///gw?host=/run/pg&PassWord=x&user=app"),
            "postgresql:///gw?host=/run/pg&PassWord=***&user=app"
        );
        assert_eq!(
            redact("postgres://db/gw?pass%77ord=s3cret"),
            "postgres://db/gw?pass%77ord=***",
            "an encoded name is read decoded"
        );
        assert_eq!(
            redact("postgres://db/gw?auth_token=t&application_name=gw"),
            "postgres://db/gw?auth_token=***&application_name=gw"
        );
    }

    #[test]
    fn what_does_not_parse_is_shown_by_its_scheme_only() {
        assert_eq!(redact("postgres://u:s3cret@[bad/gw"), "postgres://***");
        assert_eq!(redact("not a url with s3cret"), "***");
    }

    #[test]
    fn sqlite_paths() {
        use std::path::PathBuf;
        assert_eq!(
            sqlite_file_path(DEFAULT_DATABASE_URL),
            Some(PathBuf::from("data/groundwork.db"))
        );
        assert_eq!(
            sqlite_file_path("sqlite:///tmp/x.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(sqlite_file_path("sqlite:x.db"), Some(PathBuf::from("x.db")));
        assert_eq!(sqlite_file_path("sqlite::memory:"), None);
        assert_eq!(sqlite_file_path("sqlite://file?mode=memory"), None);
        assert_eq!(sqlite_file_path("postgres://h/db"), None);
    }
}
