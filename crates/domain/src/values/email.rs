use super::string_value;

/// An email address: trimmed, lower-cased, at most 254 characters, in the
/// `local@domain` form of RFC 5321 (a dot-atom or quoted local part of at most 64
/// octets; a domain of LDH labels with at least one dot).
///
/// Address literals (`user@[192.0.2.1]`) and non-ASCII addresses are refused: no
/// mail provider a SaaS sends through accepts them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);
string_value!(Email);

/// Why a string is not an acceptable email address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing but whitespace.
    #[error("email is required")]
    Empty,
    /// Longer than 254 characters.
    #[error("email must be at most 254 characters")]
    TooLong,
    /// Not of the `local@domain` form.
    #[error("`{0}` is not a valid email address")]
    Invalid(String),
}

const MAX_LEN: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;

impl Email {
    /// Trims, lower-cases and checks `input`.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.chars().count() > MAX_LEN {
            return Err(EmailError::TooLong);
        }
        let normalized = trimmed.to_ascii_lowercase();
        let invalid = || EmailError::Invalid(trimmed.to_owned());
        let (local, domain) = normalized.rsplit_once('@').ok_or_else(invalid)?;
        if valid_local(local) && valid_domain(domain) {
            Ok(Self(normalized))
        } else {
            Err(invalid())
        }
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

fn valid_local(local: &str) -> bool {
    if local.is_empty() || local.len() > MAX_LOCAL {
        return false;
    }
    if let Some(inner) = local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        return valid_quoted(inner);
    }
    local
        .split('.')
        .all(|atom| !atom.is_empty() && atom.bytes().all(is_atext))
}

/// RFC 5321 quoted string: printable ASCII, with `"` and `\` only as quoted pairs.
fn valid_quoted(inner: &str) -> bool {
    let mut bytes = inner.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => match bytes.next() {
                Some(b' '..=b'~') => {}
                _ => return false,
            },
            b'"' => return false,
            b' '..=b'~' => {}
            _ => return false,
        }
    }
    true
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= MAX_LABEL
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_trimmed_and_lower_cased() {
        let email = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(email.as_ref(), "ada.lovelace@example.com");
        assert_eq!(email.domain(), "example.com");
    }

    #[test]
    fn valid_addresses_are_accepted() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.org",
            "o'brien@example.ie",
            "\"john doe\"@example.com",
            "x@xn--bcher-kva.example",
            "user@a-b.example",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok} was refused");
        }
    }

    #[test]
    fn invalid_addresses_are_refused() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_label = format!("a@{}.com", "b".repeat(64));
        for bad in [
            "plain",
            "@example.com",
            "user@",
            "user@localhost",
            "user@.example.com",
            "user@example..com",
            "user@-example.com",
            "user@example-.com",
            ".user@example.com",
            "user.@example.com",
            "us..er@example.com",
            "us er@example.com",
            "user@exa mple.com",
            "user@[192.0.2.1]",
            "user@192.0.2.1",
            "üser@example.com",
            "\"unterminated@example.com",
            long_local.as_str(),
            long_label.as_str(),
        ] {
            assert!(
                matches!(Email::parse(bad), Err(EmailError::Invalid(_))),
                "{bad} was accepted"
            );
        }
    }

    #[test]
    fn an_empty_or_overlong_email_says_so() {
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(190));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }
}
