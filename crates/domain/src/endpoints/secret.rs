use std::fmt;

use zeroize::Zeroizing;

use crate::error::FieldErrorCode;

/// What `Debug` and `Display` print instead of a secret.
pub const REDACTED: &str = "[redacted]";

/// Text a client sent that must never be shown again, before it is checked:
/// the `secret` of an endpoint request. `Debug` prints [`REDACTED`]; the text is
/// wiped from memory when dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    /// Wraps `text`.
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The text itself, to be checked.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Serialized as [`REDACTED`]: `validator` copies a field that breaks a rule
/// into its error's parameters, which must not carry the secret.
impl serde::Serialize for SecretText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

impl<'de> serde::Deserialize<'de> for SecretText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

/// An endpoint's auth secret in plain text: 1 to 4,096 characters, kept exactly
/// as given. It leaves the server only through a job claim; `Debug` and
/// `Display` print [`REDACTED`], and it is wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointSecret(Zeroizing<String>);

/// Why a string is not an acceptable secret. Never quotes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointSecretError {
    /// The empty string (`null` clears a secret).
    #[error("secret must not be empty (null removes it)")]
    Empty,
    /// More than 4,096 characters.
    #[error("secret must be at most 4096 characters")]
    TooLong,
}

impl FieldErrorCode for EndpointSecretError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "TOO_SHORT",
            Self::TooLong => "TOO_LONG",
        }
    }
}

impl EndpointSecret {
    /// The most characters a secret may have.
    pub const MAX_CHARS: usize = 4096;
    /// How many of its last characters the hint shows.
    pub const HINT_CHARS: usize = 4;
    /// The fewest characters a secret needs for a hint: the hint then shows at
    /// most a third of it, never (nearly) all of a short one.
    pub const HINT_MIN_CHARS: usize = 12;

    /// Checks `input`, kept as is (no trimming: white space may be part of it).
    pub fn parse(input: &str) -> Result<Self, EndpointSecretError> {
        match input.chars().count() {
            0 => Err(EndpointSecretError::Empty),
            n if n > Self::MAX_CHARS => Err(EndpointSecretError::TooLong),
            _ => Ok(Self(Zeroizing::new(input.to_owned()))),
        }
    }

    /// The secret itself: for encrypting it, and for the claim that hands it
    /// to a worker. Nothing else should call this.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its last [`Self::HINT_CHARS`] characters, so people can tell secrets
    /// apart; `None` for a secret shorter than [`Self::HINT_MIN_CHARS`].
    pub fn hint(&self) -> Option<String> {
        let count = self.0.chars().count();
        (count >= Self::HINT_MIN_CHARS)
            .then(|| self.0.chars().skip(count - Self::HINT_CHARS).collect())
    }
}

impl fmt::Debug for EndpointSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EndpointSecret({REDACTED})")
    }
}

impl fmt::Display for EndpointSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// An endpoint's secret as stored: encrypted (by `infra`, whose format it is;
/// opaque here). Safe to keep and move around; only the key ring opens it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(String);

impl SealedSecret {
    /// Wraps a stored value.
    pub fn new(stored: String) -> Self {
        Self(stored)
    }

    /// The stored value.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stored value, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Ciphertext reveals nothing, but it is long and useless in a log line.
        write!(f, "SealedSecret({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_1_to_4096_characters_kept_as_given() {
        assert_eq!(EndpointSecret::parse(""), Err(EndpointSecretError::Empty));
        assert_eq!(EndpointSecret::parse(" x ").unwrap().expose(), " x ");
        assert!(EndpointSecret::parse(&"é".repeat(4096)).is_ok());
        assert_eq!(
            EndpointSecret::parse(&"é".repeat(4097)),
            Err(EndpointSecretError::TooLong)
        );
    }

    #[test]
    fn debug_and_display_never_show_a_secret() {
        let secret = EndpointSecret::parse("sk_live_abcdefghijkl").unwrap();
        let text = SecretText::new("sk_live_abcdefghijkl".into());
        for shown in [
            format!("{secret:?}"),
            format!("{secret}"),
            format!("{secret:#?}"),
            format!("{text:?}"),
            format!("{:?}", Some(&text)),
        ] {
            assert!(!shown.contains("sk_live"), "{shown}");
            assert!(shown.contains(REDACTED), "{shown}");
        }
    }

    #[test]
    fn the_hint_is_the_last_four_characters_of_a_long_enough_secret() {
        let hint = |s: &str| EndpointSecret::parse(s).unwrap().hint();
        assert_eq!(hint("sk_live_abcdefghWXYZ").as_deref(), Some("WXYZ"));
        assert_eq!(hint("éééééééééééé").as_deref(), Some("éééé"));
        assert_eq!(hint("short-secr1"), None);
        assert_eq!(hint("abcd"), None);
    }
}
