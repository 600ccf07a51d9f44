use crate::error::FieldErrorCode;
use crate::values::string_value;

/// An endpoint's display name: 1 to 200 characters after trimming, no control
/// characters. Not unique: two endpoints may share a name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EndpointName(String);
string_value!(EndpointName);

/// Why a string is not an acceptable endpoint name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointNameError {
    /// Nothing but whitespace.
    #[error("name must not be empty")]
    Empty,
    /// More than 200 characters after trimming.
    #[error("name must be at most 200 characters")]
    TooLong,
    /// Contains a control character (newline, NUL, ...).
    #[error("name must not contain control characters")]
    ControlCharacter,
}

impl FieldErrorCode for EndpointNameError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "REQUIRED",
            Self::TooLong => "TOO_LONG",
            Self::ControlCharacter => "INVALID_FORMAT",
        }
    }
}

impl EndpointName {
    /// The most characters a name may have after trimming.
    pub const MAX_CHARS: usize = 200;

    /// Trims and checks `input`.
    pub fn parse(input: &str) -> Result<Self, EndpointNameError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            Err(EndpointNameError::Empty)
        } else if trimmed.chars().count() > Self::MAX_CHARS {
            Err(EndpointNameError::TooLong)
        } else if trimmed.chars().any(char::is_control) {
            Err(EndpointNameError::ControlCharacter)
        } else {
            Ok(Self(trimmed.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded_at_200_characters() {
        assert_eq!(
            EndpointName::parse("  Billing API ").unwrap().as_str(),
            "Billing API"
        );
        assert_eq!(EndpointName::parse(" "), Err(EndpointNameError::Empty));
        assert!(EndpointName::parse(&"é".repeat(200)).is_ok());
        assert_eq!(
            EndpointName::parse(&"é".repeat(201)),
            Err(EndpointNameError::TooLong)
        );
        assert_eq!(
            EndpointName::parse("a\nb"),
            Err(EndpointNameError::ControlCharacter)
        );
    }
}
