//! Stripe webhook signatures: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]`,
//! each `v1` an HMAC-SHA256 of `"{t}.{raw body}"` keyed with the endpoint's
//! secret. A signature counts when any `v1` matches (compared in constant
//! time) and `t` is within the tolerance of the server's clock, either way
//! (Stripe's replay protection).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The hex HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`: what Stripe
/// puts in `v1` (also how tests sign their events).
pub fn stripe_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `header` signs `body` with `secret` at a time within
/// `tolerance_secs` of `now`. An empty secret verifies nothing.
pub fn verify_stripe_signature(
    header: &str,
    body: &[u8],
    secret: &str,
    now: DateTime<Utc>,
    tolerance_secs: u64,
) -> bool {
    if secret.is_empty() {
        return false;
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => signatures.push(sig),
            _ => {}
        }
    }
    let Some(t) = timestamp else {
        return false;
    };
    let skew = now.timestamp().abs_diff(t);
    if skew > tolerance_secs {
        return false;
    }
    let expected = stripe_signature(secret, t, body);
    signatures
        .iter()
        .any(|sig| bool::from(sig.as_bytes().ct_eq(expected.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_within_the_tolerance_only() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let body = br#"{"id":"evt_1"}"#;
        let sig = stripe_signature("whsec_x", 1_700_000_000, body);
        let header = format!("t=1700000000,v1=deadbeef,v1={sig}");
        assert!(verify_stripe_signature(&header, body, "whsec_x", now, 300));
        assert!(!verify_stripe_signature(
            &header, b"{}", "whsec_x", now, 300
        ));
        assert!(!verify_stripe_signature(&header, body, "whsec_y", now, 300));
        assert!(!verify_stripe_signature(&header, body, "", now, 300));
        let late = now + chrono::TimeDelta::seconds(301);
        let early = now - chrono::TimeDelta::seconds(301);
        assert!(!verify_stripe_signature(
            &header, body, "whsec_x", late, 300
        ));
        assert!(!verify_stripe_signature(
            &header, body, "whsec_x", early, 300
        ));
        assert!(!verify_stripe_signature(
            &format!("v1={sig}"),
            body,
            "whsec_x",
            now,
            300
        ));
    }
}
