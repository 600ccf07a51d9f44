//! Conditional requests (RFC 9110 §13) on a versioned resource whose entity tag
//! is its version: `ETag: "<version>"`, `If-Match`, `If-None-Match`.
//!
//! The HTTP layer reads the headers into [`Preconditions`]; the use case asks
//! [`Preconditions::check`] about the version it holds under its lock, so what
//! is checked is what gets written.

use crate::error::DomainError;

/// The machine code of a 412.
pub const PRECONDITION_FAILED: &str = "PRECONDITION_FAILED";

/// What an `If-Match` or `If-None-Match` header names: `*` (any current
/// version), or a list of versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tags {
    /// `*`: whatever version there is, if there is one.
    Any,
    /// These versions. The HTTP layer leaves out the tags that can never match
    /// (an opaque tag that is no version number; a weak one, in `If-Match`), so
    /// this may be empty: then nothing matches.
    Versions(Vec<u32>),
}

impl Tags {
    /// Whether the tags name `current` (`None`: there is no such resource,
    /// which nothing matches, not even `*`).
    pub fn matches(&self, current: Option<u32>) -> bool {
        match (self, current) {
            (_, None) => false,
            (Self::Any, Some(_)) => true,
            (Self::Versions(versions), Some(current)) => versions.contains(&current),
        }
    }
}

/// A request's preconditions on the version of the resource it addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// `If-Match`: write only if the current version is one of these (`*`: only
    /// if the resource exists).
    pub if_match: Option<Tags>,
    /// `If-None-Match`: write only if the current version is none of these
    /// (`*`: only if the resource does not exist, i.e. create only).
    pub if_none_match: Option<Tags>,
}

impl Preconditions {
    /// None: the write is unconditional.
    pub fn none() -> Self {
        Self::default()
    }

    /// `Ok` when a write may go ahead on a resource whose current version is
    /// `current` (`None`: it does not exist); otherwise 412
    /// `PRECONDITION_FAILED`. `If-Match` is evaluated first, as RFC 9110
    /// §13.2.2 orders them.
    pub fn check(&self, current: Option<u32>) -> Result<(), DomainError> {
        if let Some(tags) = &self.if_match
            && !tags.matches(current)
        {
            return Err(precondition_failed(match current {
                Some(version) => format!("If-Match does not name the current version ({version})"),
                None => "If-Match needs a current version, and there is none".to_owned(),
            }));
        }
        if let Some(tags) = &self.if_none_match
            && tags.matches(current)
        {
            return Err(precondition_failed(match tags {
                Tags::Any => "If-None-Match: * allows creating only, and it exists".to_owned(),
                Tags::Versions(_) => "If-None-Match names the current version".to_owned(),
            }));
        }
        Ok(())
    }

    /// Whether a read of version `current` is answered 304 Not Modified: its
    /// `If-None-Match` names it (RFC 9110 §13.1.2, weak comparison).
    pub fn not_modified(&self, current: u32) -> bool {
        self.if_none_match
            .as_ref()
            .is_some_and(|tags| tags.matches(Some(current)))
    }
}

/// 412 `PRECONDITION_FAILED`, saying why.
pub fn precondition_failed(message: impl Into<String>) -> DomainError {
    DomainError::PreconditionFailed {
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(if_match: Option<Tags>, if_none_match: Option<Tags>, current: Option<u32>) -> bool {
        Preconditions {
            if_match,
            if_none_match,
        }
        .check(current)
        .is_ok()
    }

    #[test]
    fn if_match_needs_the_current_version_or_any_for_star() {
        let three = || Some(Tags::Versions(vec![2, 3]));
        assert!(check(three(), None, Some(3)));
        assert!(!check(three(), None, Some(4)));
        assert!(!check(three(), None, None));
        assert!(check(Some(Tags::Any), None, Some(1)));
        assert!(!check(Some(Tags::Any), None, None));
        assert!(!check(Some(Tags::Versions(vec![])), None, Some(1)));
    }

    #[test]
    fn if_none_match_star_creates_only() {
        assert!(check(None, Some(Tags::Any), None));
        assert!(!check(None, Some(Tags::Any), Some(1)));
        assert!(check(None, Some(Tags::Versions(vec![1])), Some(2)));
        assert!(!check(None, Some(Tags::Versions(vec![1])), Some(1)));
        assert!(check(None, None, None));
    }

    #[test]
    fn both_must_hold() {
        assert!(!check(Some(Tags::Any), Some(Tags::Any), Some(1)));
        assert!(check(
            Some(Tags::Versions(vec![2])),
            Some(Tags::Versions(vec![1])),
            Some(2)
        ));
    }

    #[test]
    fn a_read_is_not_modified_when_if_none_match_names_it() {
        let p = Preconditions {
            if_match: None,
            if_none_match: Some(Tags::Versions(vec![5])),
        };
        assert!(p.not_modified(5));
        assert!(!p.not_modified(6));
        assert!(!Preconditions::none().not_modified(5));
    }
}
