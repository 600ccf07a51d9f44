use super::string_value;

/// A person's first or last name, or any display name: 1 to 100 characters after
/// trimming, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PersonName(String);
string_value!(PersonName);

/// Why a string is not an acceptable name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing but whitespace.
    #[error("must not be empty")]
    Empty,
    /// More than 100 characters after trimming.
    #[error("must be at most 100 characters")]
    TooLong,
    /// Contains a control character (newline, NUL, ...).
    #[error("must not contain control characters")]
    ControlCharacter,
}

impl PersonName {
    /// The most characters a name may have after trimming.
    pub const MAX_CHARS: usize = 100;

    /// Trims and checks `input`.
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            Err(NameError::Empty)
        } else if trimmed.chars().count() > Self::MAX_CHARS {
            Err(NameError::TooLong)
        } else if trimmed.chars().any(char::is_control) {
            Err(NameError::ControlCharacter)
        } else {
            Ok(Self(trimmed.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("  Ada ").unwrap().as_str(), "Ada");
        assert_eq!(PersonName::parse(" \t"), Err(NameError::Empty));
        assert!(PersonName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(PersonName::parse(&"é".repeat(101)), Err(NameError::TooLong));
        assert_eq!(PersonName::parse("a\0b"), Err(NameError::ControlCharacter));
    }
}
