//! API key secrets: `gwk_<lookup>_<secret>`.
//!
//! The fixed `gwk_` prefix lets secret scanners and people recognise a key
//! (`gwk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}`). The lookup part is public and
//! indexed, so authentication is one read by it followed by a constant-time
//! comparison of the secret's salted hash. The secret carries 256 random bits,
//! so a fast hash suffices (argon2 on every request would cap throughput); the
//! salt keeps equal secrets from sharing a hash.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::DomainError;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{hex, random_bytes};

/// What every key starts with.
pub const API_KEY_PREFIX: &str = "gwk_";
const LOOKUP_LEN: usize = 16;
const SECRET_LEN: usize = 43;

/// A freshly issued key: shown to its creator once, then only its parts are kept.
#[derive(Debug)]
pub struct IssuedApiKey {
    /// The whole key, `gwk_<lookup>_<secret>`. Never stored or logged.
    pub key: String,
    /// The public lookup part (stored in `api_keys.prefix`).
    pub lookup: String,
    /// `salt$sha256(salt || secret)`, both in hex (stored in `api_keys.secret_hash`).
    pub secret_hash: String,
}

/// Issues a new key.
pub fn issue_api_key() -> Result<IssuedApiKey, DomainError> {
    let lookup = hex(&random_bytes::<{ LOOKUP_LEN / 2 }>()?);
    let secret = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    let salt = random_bytes::<16>()?;
    Ok(IssuedApiKey {
        key: format!("{API_KEY_PREFIX}{lookup}_{secret}"),
        secret_hash: format!("{}${}", hex(&salt), hex(&salted(&salt, &secret))),
        lookup,
    })
}

/// A bearer value split into its parts, if it has the shape of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresentedApiKey<'a> {
    /// The public lookup part.
    pub lookup: &'a str,
    secret: &'a str,
}

/// Splits `bearer` when it looks like a key; `None` for anything else (a
/// session token, say).
pub fn parse_api_key(bearer: &str) -> Option<PresentedApiKey<'_>> {
    let rest = bearer.strip_prefix(API_KEY_PREFIX)?;
    if rest.len() != LOOKUP_LEN + 1 + SECRET_LEN || !rest.is_char_boundary(LOOKUP_LEN) {
        return None;
    }
    let (lookup, secret) = rest.split_at(LOOKUP_LEN);
    let secret = secret.strip_prefix('_')?;
    let lookup_ok = lookup
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let secret_ok = secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (lookup_ok && secret_ok).then_some(PresentedApiKey { lookup, secret })
}

impl PresentedApiKey<'_> {
    /// Whether this key's secret matches `stored` (a `secret_hash`), in time
    /// independent of where they differ.
    pub fn matches(&self, stored: &str) -> bool {
        let Some((salt, expected)) = stored.split_once('$') else {
            return false;
        };
        let Some(salt) = unhex(salt) else {
            return false;
        };
        let actual = hex(&salted(&salt, self.secret));
        actual.as_bytes().ct_eq(expected.as_bytes()).into()
    }
}

fn salted(salt: &[u8], secret: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(secret.as_bytes());
    hasher.finalize().into()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_key_parses_and_matches_its_hash_only() {
        let issued = issue_api_key().unwrap();
        let presented = parse_api_key(&issued.key).expect("the shape of a key");
        assert_eq!(presented.lookup, issued.lookup);
        assert!(presented.matches(&issued.secret_hash));

        let other = issue_api_key().unwrap();
        assert!(!presented.matches(&other.secret_hash));
        assert!(!presented.matches("garbage"));
    }

    #[test]
    fn the_same_secret_hashes_differently_under_two_salts() {
        let a = issue_api_key().unwrap();
        let b = issue_api_key().unwrap();
        assert_ne!(a.secret_hash, b.secret_hash);
        assert!(a.key.starts_with("gwk_") && a.key.len() == 4 + 16 + 1 + 43);
    }

    #[test]
    fn other_bearer_values_are_not_keys() {
        let key = issue_api_key().unwrap().key;
        for bad in [
            "",
            "gwk_",
            "session-token-abcdefghijklmnopqrstuvwxyz0123456789",
            &key[..key.len() - 1],
            &format!("{key}x"),
            &key.replacen("gwk_", "gwx_", 1),
            &format!("gwk_{}", "Z".repeat(60)),
        ] {
            assert_eq!(parse_api_key(bad), None, "{bad}");
        }
    }
}
