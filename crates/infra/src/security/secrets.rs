//! Secrets at rest: XChaCha20-Poly1305 under a key ring, for endpoint secrets.
//!
//! A stored secret is `v1:<keyId>:<base64(nonce || ciphertext)>` (standard
//! base64, a random 24-byte nonce, the ciphertext with its 16-byte tag). The
//! associated data is the row's identity, `table|column|rowId|organizationId`
//! (public IDs), so a ciphertext copied into another row, column or
//! organization does not decrypt. New writes use the ring's primary key; reads
//! use the key the value names, so a rotated-out key keeps working until
//! `api secrets rewrap` has moved every row to the primary.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use domain::endpoints::{Endpoint, EndpointSecret, SealedSecret};
use domain::{DomainError, EndpointId, OrganizationId};
use zeroize::Zeroizing;

use crate::config::SecretsSettings;

/// The version tag of the stored format.
const VERSION: &str = "v1";
/// Nonce bytes (XChaCha20).
const NONCE_LEN: usize = 24;
/// Key bytes.
pub const KEY_LEN: usize = 32;
/// The id of the key development generates when none is configured.
pub const GENERATED_KEY_ID: &str = "local";

/// Whether `id` may name a key: 1 to 64 of `a-z 0-9 _ -` (no `:`, which
/// separates the stored format's parts; lower case, as environment variables
/// name them).
pub fn valid_key_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A configured key: the base64 of exactly [`KEY_LEN`] bytes (surrounding
/// white space ignored).
pub fn decode_key(value: &str) -> Option<Zeroizing<[u8; KEY_LEN]>> {
    let bytes = Zeroizing::new(STANDARD.decode(value.trim()).ok()?);
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    (bytes.len() == KEY_LEN).then(|| {
        key.copy_from_slice(&bytes);
        key
    })
}

/// Why a stored secret could not be opened (or a secret sealed). Never carries
/// the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Not `v1:<keyId>:<base64>` with a nonce and a tag.
    #[error("the stored secret is not in the v1:<keyId>:<base64> format")]
    Malformed,
    /// Under a key that is not in `secrets.keys` (removed before a rewrap).
    #[error("the stored secret is under key `{key_id}`, which is not in secrets.keys")]
    UnknownKey {
        /// The key the value names.
        key_id: String,
    },
    /// The key is known but the value does not authenticate for this row: copied
    /// from another row, altered, or the key's bytes changed.
    #[error("the stored secret does not decrypt under key `{key_id}` for this row")]
    Undecryptable {
        /// The key the value names.
        key_id: String,
    },
    /// Encryption failed, or the OS random source did.
    #[error("cannot encrypt the secret: {0}")]
    Encryption(String),
}

impl From<SecretError> for DomainError {
    /// A server-side fault: never the client's input, so a 500 (with no detail).
    fn from(err: SecretError) -> Self {
        DomainError::Internal(err.to_string())
    }
}

/// Why the key ring could not be set up: the server does not start.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// Production without `secrets.keys`.
    #[error(
        "secrets.keys is empty: in production endpoint secrets need a configured key; \
         generate one with `openssl rand -base64 32` and set APP__SECRETS__KEYS__<ID> \
         (and APP__SECRETS__PRIMARY=<id> when there are several)"
    )]
    MissingInProduction,
    /// Several keys and no primary, a primary not among them, a malformed key.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// The generated key file could not be read or written.
    #[error("cannot use the generated key file {path}: {reason}")]
    KeyFile {
        /// `secrets.generated_key_file`.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// The keys endpoint secrets are sealed and opened with. Its `Debug` shows
/// key ids, never keys; the keys are wiped when it is dropped.
pub struct Keyring {
    primary: String,
    ciphers: BTreeMap<String, XChaCha20Poly1305>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("primary", &self.primary)
            .field("key_ids", &self.ciphers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// A ring of `keys` (id to bytes) whose new writes use `primary`.
    pub fn new(
        primary: &str,
        keys: impl IntoIterator<Item = (String, [u8; KEY_LEN])>,
    ) -> Result<Self, KeyringError> {
        Self::build(
            primary,
            keys.into_iter()
                .map(|(id, bytes)| (id, Zeroizing::new(bytes))),
        )
    }

    fn build(
        primary: &str,
        keys: impl IntoIterator<Item = (String, Zeroizing<[u8; KEY_LEN]>)>,
    ) -> Result<Self, KeyringError> {
        let mut ciphers = BTreeMap::new();
        for (id, bytes) in keys {
            if !valid_key_id(&id) {
                return Err(KeyringError::Invalid(format!(
                    "secrets.keys has the key id {id:?}: ids are 1 to 64 of a-z 0-9 _ -"
                )));
            }
            ciphers.insert(id, XChaCha20Poly1305::new(&Key::from(*bytes)));
        }
        if !ciphers.contains_key(primary) {
            return Err(KeyringError::Invalid(format!(
                "secrets.primary names `{primary}`, which is not in secrets.keys"
            )));
        }
        Ok(Self {
            primary: primary.to_owned(),
            ciphers,
        })
    }

    /// The ring `settings` describe. With no keys: refused in `production`,
    /// else the key in `secrets.generated_key_file`, generated there (mode
    /// 0600) on first use and read back on every later start.
    pub fn from_settings(
        settings: &SecretsSettings,
        production: bool,
    ) -> Result<Self, KeyringError> {
        if settings.keys.is_empty() {
            if production {
                return Err(KeyringError::MissingInProduction);
            }
            let key = load_or_generate(&settings.generated_key_file)?;
            return Self::build(GENERATED_KEY_ID, [(GENERATED_KEY_ID.to_owned(), key)]);
        }
        let primary = settings.primary_id().ok_or_else(|| {
            KeyringError::Invalid(
                "secrets.primary must name the key new secrets use when secrets.keys has several"
                    .to_owned(),
            )
        })?;
        let mut keys = Vec::with_capacity(settings.keys.len());
        for (id, value) in &settings.keys {
            let key = decode_key(value).ok_or_else(|| {
                KeyringError::Invalid(format!(
                    "secrets.keys: key `{id}` must be the base64 of exactly 32 bytes"
                ))
            })?;
            keys.push((id.clone(), key));
        }
        Self::build(primary, keys)
    }

    /// The id of the key new writes use.
    pub fn primary_id(&self) -> &str {
        &self.primary
    }

    /// Every key id, in order.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.ciphers.keys().map(String::as_str)
    }

    /// Encrypts `plaintext` under the primary key, bound to `aad`:
    /// `v1:<primary>:<base64(nonce || ciphertext)>`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<String, SecretError> {
        let cipher = self
            .ciphers
            .get(&self.primary)
            .ok_or_else(|| SecretError::Encryption("the primary key is missing".to_owned()))?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| SecretError::Encryption(format!("the OS random source failed: {e}")))?;
        let ciphertext = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| SecretError::Encryption("the cipher refused the message".to_owned()))?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(format!(
            "{VERSION}:{}:{}",
            self.primary,
            STANDARD.encode(sealed)
        ))
    }

    /// Decrypts a value made by [`Keyring::seal`] with the same `aad`, under the
    /// key it names.
    pub fn open(&self, stored: &str, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, SecretError> {
        let (key_id, body) = split(stored)?;
        let cipher = self
            .ciphers
            .get(key_id)
            .ok_or_else(|| SecretError::UnknownKey {
                key_id: key_id.to_owned(),
            })?;
        let bytes = STANDARD.decode(body).map_err(|_| SecretError::Malformed)?;
        if bytes.len() < NONCE_LEN + 16 {
            return Err(SecretError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SecretError::Malformed)?;
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SecretError::Undecryptable {
                key_id: key_id.to_owned(),
            })
    }

    /// Whether `stored` is under the primary key already (nothing to rewrap).
    pub fn is_under_primary(&self, stored: &str) -> bool {
        key_id_of(stored).is_ok_and(|id| id == self.primary)
    }
}

/// The key id a stored value names.
pub fn key_id_of(stored: &str) -> Result<&str, SecretError> {
    split(stored).map(|(key_id, _)| key_id)
}

/// `v1:<keyId>:<body>` into the key id and the body.
fn split(stored: &str) -> Result<(&str, &str), SecretError> {
    let mut parts = stored.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(VERSION), Some(key_id), Some(body)) if !key_id.is_empty() && !body.is_empty() => {
            Ok((key_id, body))
        }
        _ => Err(SecretError::Malformed),
    }
}

/// The associated data of a secret stored in `table.column` of the row `row`
/// of `organization`: `table|column|row|organization`.
pub fn row_identity(
    table: &str,
    column: &str,
    row: impl fmt::Display,
    organization: impl fmt::Display,
) -> String {
    format!("{table}|{column}|{row}|{organization}")
}

/// An endpoint's secret's associated data: `endpoints|secret|ept_...|org_...`.
fn endpoint_identity(organization: OrganizationId, id: EndpointId) -> String {
    row_identity("endpoints", "secret", id, organization)
}

/// Seals the secret of endpoint `id` of `organization` under the primary key.
pub fn seal_endpoint_secret(
    keyring: &Keyring,
    organization: OrganizationId,
    id: EndpointId,
    secret: &EndpointSecret,
) -> Result<SealedSecret, SecretError> {
    keyring
        .seal(
            secret.expose().as_bytes(),
            endpoint_identity(organization, id).as_bytes(),
        )
        .map(SealedSecret::new)
}

/// The endpoint's secret in plain text (`None` when it has none): for a job
/// claim, the only way a secret leaves the server. `Err` when it does not open:
/// its key was removed from the ring ([`SecretError::UnknownKey`]), or the
/// value was copied from another row or altered ([`SecretError::Undecryptable`]).
pub fn reveal(
    keyring: &Keyring,
    endpoint: &Endpoint,
) -> Result<Option<EndpointSecret>, SecretError> {
    let Some(sealed) = &endpoint.sealed_secret else {
        return Ok(None);
    };
    let plaintext = keyring.open(
        sealed.as_str(),
        endpoint_identity(endpoint.organization_id, endpoint.id).as_bytes(),
    )?;
    let text = std::str::from_utf8(&plaintext).map_err(|_| SecretError::Malformed)?;
    EndpointSecret::parse(text)
        .map(Some)
        .map_err(|_| SecretError::Malformed)
}

/// The endpoint's secret sealed again under the primary key (`api secrets
/// rewrap`); errors as [`reveal`].
pub fn reseal_endpoint_secret(
    keyring: &Keyring,
    endpoint: &Endpoint,
) -> Result<Option<SealedSecret>, SecretError> {
    reveal(keyring, endpoint)?
        .map(|secret| seal_endpoint_secret(keyring, endpoint.organization_id, endpoint.id, &secret))
        .transpose()
}

/// The key in `path`, or a new one written there: created with mode 0600 under
/// a temporary name, then linked into place, so that two processes starting at
/// once end up with the same key (the second link fails, and it reads the
/// first one's).
fn load_or_generate(path: &Path) -> Result<Zeroizing<[u8; KEY_LEN]>, KeyringError> {
    let fail = |reason: String| KeyringError::KeyFile {
        path: path.display().to_string(),
        reason,
    };
    match read_key_file(path) {
        Ok(Some(key)) => return Ok(key),
        Ok(None) => {}
        Err(reason) => return Err(fail(reason)),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    getrandom::fill(key.as_mut()).map_err(|e| fail(format!("the OS random source failed: {e}")))?;
    let encoded = Zeroizing::new(format!("{}\n", STANDARD.encode(key.as_ref())));
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    let written = write_private(&temporary, encoded.as_bytes())
        .and_then(|()| std::fs::hard_link(&temporary, path));
    let _ = std::fs::remove_file(&temporary);
    match written {
        Ok(()) => {
            tracing::warn!(
                path = %path.display(),
                "generated a key for endpoint secrets (secrets.keys is empty); keep this file: \
                 without it stored secrets cannot be decrypted"
            );
            Ok(key)
        }
        // Another process generated it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_key_file(path)
            .map_err(fail)?
            .ok_or_else(|| fail("it vanished while being read".to_owned())),
        Err(e) => Err(fail(e.to_string())),
    }
}

/// The key in `path`; `None` when there is no such file.
fn read_key_file(path: &Path) -> Result<Option<Zeroizing<[u8; KEY_LEN]>>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            decode_key(&text)
                .map(Some)
                .ok_or_else(|| "it does not hold the base64 of 32 bytes".to_owned())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// Writes `bytes` to a new file at `path` that only its owner may read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests;
