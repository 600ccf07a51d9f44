use std::fmt;

/// A candidate password that satisfies the policy (NIST SP 800-63B): 8 to 128
/// characters, any characters at all. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

/// Why a string is not an acceptable password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than 8 characters.
    #[error("password must be at least 8 characters")]
    TooShort,
    /// More than 128 characters.
    #[error("password must be at most 128 characters")]
    TooLong,
}

impl Password {
    /// The fewest characters a password may have.
    pub const MIN_CHARS: usize = 8;
    /// The most characters a password may have.
    pub const MAX_CHARS: usize = 128;

    /// Checks the length policy; the password is kept exactly as given (no trimming).
    pub fn parse(input: &str) -> Result<Self, PasswordError> {
        match input.chars().count() {
            n if n < Self::MIN_CHARS => Err(PasswordError::TooShort),
            n if n > Self::MAX_CHARS => Err(PasswordError::TooLong),
            _ => Ok(Self(input.to_owned())),
        }
    }

    /// The secret itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_policy_counts_characters_not_bytes() {
        assert_eq!(Password::parse("1234567"), Err(PasswordError::TooShort));
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse("ééééééé").is_err());
        assert!(Password::parse(&"é".repeat(128)).is_ok());
        assert_eq!(
            Password::parse(&"x".repeat(129)),
            Err(PasswordError::TooLong)
        );
        assert!(Password::parse("  spaces count  ").is_ok());
    }

    #[test]
    fn a_password_is_never_debug_printed() {
        let password = Password::parse("hunter22-secret").unwrap();
        assert!(!format!("{password:?}").contains("hunter"));
    }
}
