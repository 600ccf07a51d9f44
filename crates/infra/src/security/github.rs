//! GitHub App signatures: the webhook's `X-Hub-Signature-256` (HMAC-SHA256 of
//! the raw body with the app's webhook secret, compared in constant time) and
//! the install link's `state` (HMAC-SHA256 of [`InstallState::payload`]).

use domain::DomainError;
use domain::github::{INVALID_STATE, InstallState};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::hex;

type HmacSha256 = Hmac<Sha256>;

/// What the state key is derived from the webhook secret with, when
/// `github.state_secret` is empty.
const STATE_KEY_LABEL: &[u8] = b"groundwork/github/install-state/v1";

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length: this cannot fail.
    <HmacSha256 as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Whether `header` (`sha256=<64 hex digits>`) is `secret`'s HMAC-SHA256 of
/// `body`, the bytes as received. Constant-time in the comparison
/// (`Mac::verify_slice`); `false` for a missing or malformed header.
pub fn verify_webhook_signature(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(expected) = header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .and_then(unhex)
    else {
        return false;
    };
    let mut mac = mac(secret.as_bytes());
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// `sha256=<hex>` for `body`: what GitHub sends (tests and the README's script
/// compute the same).
pub fn webhook_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = mac(secret.as_bytes());
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// Signs and checks install links' `state`.
#[derive(Clone)]
pub struct StateSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for StateSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateSigner(***)")
    }
}

impl StateSigner {
    /// With `state_secret`, or when it is empty, a key derived from
    /// `webhook_secret` (HMAC-SHA256 of a fixed label under it).
    pub fn new(state_secret: &str, webhook_secret: &str) -> Self {
        let key = if state_secret.is_empty() {
            let mut mac = mac(webhook_secret.as_bytes());
            mac.update(STATE_KEY_LABEL);
            mac.finalize().into_bytes().to_vec()
        } else {
            state_secret.as_bytes().to_vec()
        };
        Self { key }
    }

    fn tag(&self, payload: &str) -> HmacSha256 {
        let mut mac = mac(&self.key);
        mac.update(payload.as_bytes());
        mac
    }

    /// `{payload}.{hex HMAC}`: URL-safe as it is.
    pub fn sign(&self, state: &InstallState) -> String {
        let payload = state.payload();
        let tag = hex(&self.tag(&payload).finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// The state `signed` carries, if this signer signed it: 401
    /// `INVALID_STATE` otherwise. Expiry is the caller's to check.
    pub fn verify(&self, signed: &str) -> Result<InstallState, DomainError> {
        let (payload, tag) = signed.rsplit_once('.').ok_or(INVALID_STATE)?;
        let tag = unhex(tag).ok_or(INVALID_STATE)?;
        self.tag(payload)
            .verify_slice(&tag)
            .map_err(|_| INVALID_STATE)?;
        InstallState::parse_payload(payload).ok_or(INVALID_STATE)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use domain::{OrganizationId, UserId};

    use super::*;

    fn invalid(result: Result<InstallState, DomainError>) -> bool {
        matches!(
            result,
            Err(DomainError::Unauthenticated {
                code: "INVALID_STATE",
                ..
            })
        )
    }

    #[test]
    fn a_signature_of_the_raw_body_verifies_and_anything_else_does_not() {
        let body = br#"{"action":"created"}"#;
        let header = webhook_signature("s3cret", body);
        assert!(verify_webhook_signature("s3cret", body, Some(&header)));
        assert!(!verify_webhook_signature("other", body, Some(&header)));
        assert!(!verify_webhook_signature(
            "s3cret",
            b"{\"action\": \"created\"}",
            Some(&header)
        ));
        assert!(!verify_webhook_signature("s3cret", body, None));
        assert!(!verify_webhook_signature("s3cret", body, Some("sha1=abc")));
        assert!(!verify_webhook_signature("s3cret", body, Some("sha256=zz")));
    }

    #[test]
    fn github_s_published_example_verifies() {
        // docs.github.com, "Validating webhook deliveries": secret
        // "It's a Secret to Everybody", payload "Hello, World!".
        assert!(verify_webhook_signature(
            "It's a Secret to Everybody",
            b"Hello, World!",
            Some("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
        ));
    }

    #[test]
    fn a_tampered_or_foreign_state_is_refused() {
        let signer = StateSigner::new("", "webhook-secret-0123456789");
        let state = InstallState {
            organization: OrganizationId::new(),
            user: UserId::new(),
            expires_at: Utc.timestamp_opt(2_000_000_000, 0).unwrap(),
        };
        let signed = signer.sign(&state);
        assert_eq!(signer.verify(&signed).ok(), Some(state));
        let other_org = InstallState {
            organization: OrganizationId::new(),
            ..state
        };
        let (_, tag) = signed.rsplit_once('.').unwrap();
        let forged = format!("{}.{tag}", other_org.payload());
        assert!(invalid(signer.verify(&forged)));
        let other = StateSigner::new("another-state-secret", "webhook-secret-0123456789");
        assert!(invalid(other.verify(&signed)));
        assert!(invalid(signer.verify("garbage")));
    }
}
