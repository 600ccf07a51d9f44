//! Webhook signing secrets and Standard Webhooks signatures.
//!
//! A secret is `whsec_` + base64 of 32 random bytes; the HMAC key is the
//! decoded bytes. A signature is `v1,` + base64(HMAC-SHA256(key,
//! "{id}.{timestamp}.{body}")); during a rotation's overlap the header
//! carries one per secret, separated by a space.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use domain::endpoints::SealedSecret;
use domain::webhooks::Webhook;
use domain::{DomainError, OrganizationId, WebhookId};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::random_bytes;
use super::secrets::{Keyring, SecretError, row_identity};

/// What every signing secret starts with.
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";

/// A fresh signing secret: `whsec_` + base64 of 32 random bytes.
pub fn issue_webhook_secret() -> Result<Zeroizing<String>, DomainError> {
    let bytes = Zeroizing::new(random_bytes::<32>()?);
    Ok(Zeroizing::new(format!(
        "{WEBHOOK_SECRET_PREFIX}{}",
        STANDARD.encode(bytes.as_ref())
    )))
}

/// `webhooks|<column>|whk_...|org_...`: a sealed secret only opens in the
/// column and row it was written for.
fn identity(column: &str, organization: OrganizationId, id: WebhookId) -> String {
    row_identity("webhooks", column, id, organization)
}

/// Which of a webhook's two secret columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretSlot {
    /// `secret_ciphertext`: signs every delivery.
    Current,
    /// `previous_secret_ciphertext`: signs too, until the overlap ends.
    Previous,
}

impl SecretSlot {
    const fn column(self) -> &'static str {
        match self {
            Self::Current => "secret",
            Self::Previous => "previous_secret",
        }
    }
}

/// Seals `secret` for `slot` of webhook `id` of `organization`.
pub fn seal_webhook_secret(
    keyring: &Keyring,
    organization: OrganizationId,
    id: WebhookId,
    slot: SecretSlot,
    secret: &str,
) -> Result<SealedSecret, SecretError> {
    keyring
        .seal(
            secret.as_bytes(),
            identity(slot.column(), organization, id).as_bytes(),
        )
        .map(SealedSecret::new)
}

/// Opens the secret sealed in `slot` of `webhook`.
pub fn open_webhook_secret(
    keyring: &Keyring,
    webhook: &Webhook,
    sealed: &SealedSecret,
    slot: SecretSlot,
) -> Result<Zeroizing<String>, SecretError> {
    let plain = keyring.open(
        sealed.as_str(),
        identity(slot.column(), webhook.organization_id, webhook.id).as_bytes(),
    )?;
    let text = std::str::from_utf8(&plain).map_err(|_| SecretError::Malformed)?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// `v1,<base64 signature>` of `body` for message `id` at `timestamp` (Unix
/// seconds) with `secret` (`whsec_...`; the part after the prefix is base64 of
/// the key). `None` when the secret is not in that form.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let encoded = secret.strip_prefix(WEBHOOK_SECRET_PREFIX).unwrap_or(secret);
    let key = Zeroizing::new(STANDARD.decode(encoded).ok()?);
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_example_is_signed_as_published() {
        // From the Standard Webhooks specification's test vectors.
        let signature = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            signature.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn a_new_secret_is_32_random_bytes_in_base64() {
        let a = issue_webhook_secret().unwrap();
        let b = issue_webhook_secret().unwrap();
        assert_ne!(*a, *b);
        let key = STANDARD
            .decode(a.strip_prefix(WEBHOOK_SECRET_PREFIX).unwrap())
            .unwrap();
        assert_eq!(key.len(), 32);
    }
}
