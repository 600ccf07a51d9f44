//! Secrets: password hashing (argon2id, on the blocking thread pool so a flood of
//! sign-ins cannot stall other requests) and random bearer tokens, which are
//! stored only as hashes.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::{DomainError, Password};
use sha2::{Digest, Sha256};

use crate::config::AuthSettings;

mod api_keys;

pub use api_keys::{API_KEY_PREFIX, IssuedApiKey, PresentedApiKey, issue_api_key, parse_api_key};

/// Hashes and verifies passwords with argon2id.
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    argon: Argon2<'static>,
    /// Verified against when the account does not exist, so that an unknown email
    /// costs the same time as a wrong password.
    dummy_hash: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", self.inner.argon.params())
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// A hasher with the configured cost. Computes one hash (the dummy) up front.
    pub fn new(settings: &AuthSettings) -> Result<Self, DomainError> {
        let params = Params::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            settings.argon2_parallelism,
            None,
        )
        .map_err(|e| DomainError::Internal(format!("argon2 parameters: {e}")))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = hash_with(&argon, "not a password: timing equaliser")?;
        Ok(Self {
            inner: Arc::new(Inner { argon, dummy_hash }),
        })
    }

    /// The PHC string (`$argon2id$v=19$m=...`) of `password` with a fresh salt.
    pub async fn hash(&self, password: Password) -> Result<String, DomainError> {
        let inner = self.inner.clone();
        blocking(move || hash_with(&inner.argon, password.expose())).await?
    }

    /// Whether `password` matches `stored` (a PHC string). With no stored hash
    /// (unknown email, no password account) a dummy hash is checked instead and the
    /// answer is `false`, taking about as long as a real check.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, DomainError> {
        let inner = self.inner.clone();
        blocking(move || {
            let (hash, real) = match stored.as_deref() {
                Some(hash) => (hash, true),
                None => (inner.dummy_hash.as_str(), false),
            };
            let parsed = PasswordHash::new(hash)
                .map_err(|e| DomainError::Internal(format!("stored password hash: {e}")))?;
            let matches = inner
                .argon
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok();
            Ok(real && matches)
        })
        .await?
    }
}

fn hash_with(argon: &Argon2<'_>, password: &str) -> Result<String, DomainError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| DomainError::Internal(format!("salt: {e}")))?;
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DomainError::Internal(format!("hashing a password: {e}")))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, DomainError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DomainError::Internal(format!("password hashing task: {e}")))
}

/// A freshly issued bearer token: the secret for the client, once, and the hash
/// that is stored.
#[derive(Debug)]
pub struct IssuedToken {
    /// 256 random bits, base64url without padding. Never stored or logged.
    pub token: String,
    /// [`hash_token`] of the token: what the database keeps.
    pub hash: String,
}

/// Issues a new random token.
pub fn issue_token() -> Result<IssuedToken, DomainError> {
    let token = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    let hash = hash_token(&token);
    Ok(IssuedToken { token, hash })
}

/// SHA-256 of a token, in hex. Tokens carry 256 random bits, so a fast unsalted
/// hash is enough and allows lookup by an indexed equality.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        })
}

fn random_bytes<const N: usize>() -> Result<[u8; N], DomainError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| DomainError::Internal(format!("the OS random source failed: {e}")))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(&AuthSettings {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            argon2_parallelism: 1,
        })
        .unwrap()
    }

    fn password(s: &str) -> Password {
        Password::parse(s).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = hasher();
        let stored = h.hash(password("correct horse")).await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"),
            "{stored}"
        );
        assert!(
            h.verify(password("correct horse"), Some(stored.clone()))
                .await
                .unwrap()
        );
        assert!(
            !h.verify(password("correct horsE"), Some(stored))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn no_stored_hash_never_verifies() {
        let h = hasher();
        assert!(
            !h.verify(password("not a password: timing equaliser"), None)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        let h = hasher();
        let a = h.hash(password("same password")).await.unwrap();
        let b = h.hash(password("same password")).await.unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = issue_token().unwrap();
        let b = issue_token().unwrap();
        assert_eq!(a.token.len(), 43);
        assert_ne!(a.token, b.token);
        assert_eq!(a.hash, hash_token(&a.token));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.token));
    }
}
