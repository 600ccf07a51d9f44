use super::string_value;

/// An organization's URL name: `^[a-z0-9]+(-[a-z0-9]+)*$`, 3 to 63 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);
string_value!(Slug);

/// Why a string is not an acceptable slug.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    /// Fewer than 3 or more than 63 characters.
    #[error("slug must be 3 to 63 characters")]
    Length,
    /// Characters other than `a-z`, `0-9` and single inner hyphens.
    #[error("slug may contain only lower-case letters, digits and single inner hyphens")]
    Format,
}

impl Slug {
    /// The fewest characters of a slug.
    pub const MIN_CHARS: usize = 3;
    /// The most characters of a slug.
    pub const MAX_CHARS: usize = 63;

    /// Checks `input` exactly as given (no trimming, no case folding).
    pub fn parse(input: &str) -> Result<Self, SlugError> {
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&input.len()) {
            return Err(SlugError::Length);
        }
        let well_formed = input.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if well_formed {
            Ok(Self(input.to_owned()))
        } else {
            Err(SlugError::Format)
        }
    }

    /// Derives a slug from a display name: ASCII letters and digits kept
    /// (lower-cased), every other run of characters becomes one hyphen. Names that
    /// leave fewer than 3 characters are padded with `-org`.
    pub fn derive_from(name: &str) -> Self {
        let mut slug = String::with_capacity(name.len());
        for c in name.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        slug.truncate(Self::MAX_CHARS);
        let mut slug = slug.trim_end_matches('-').to_owned();
        if slug.len() < Self::MIN_CHARS {
            slug = if slug.is_empty() {
                "org".to_owned()
            } else {
                format!("{slug}-org")
            };
        }
        Self(slug)
    }

    /// This slug with a numeric suffix (`acme-2`), shortened so it stays within 63.
    pub fn with_suffix(&self, n: u32) -> Self {
        let suffix = format!("-{n}");
        let keep = Self::MAX_CHARS - suffix.len();
        let base = self.0[..self.0.len().min(keep)].trim_end_matches('-');
        Self(format!("{base}{suffix}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_pattern() {
        for ok in ["abc", "acme-2", "a1-b2-c3", &"a".repeat(63)] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "Acme", "acme--x", "-acme", "acme-", "ac me", "acmé", "a_b_c",
        ] {
            assert_eq!(Slug::parse(bad), Err(SlugError::Format), "{bad}");
        }
        assert_eq!(Slug::parse("ab"), Err(SlugError::Length));
        assert_eq!(Slug::parse(&"a".repeat(64)), Err(SlugError::Length));
    }

    #[test]
    fn a_slug_is_derived_from_a_name() {
        assert_eq!(Slug::derive_from("Acme, Inc.").as_str(), "acme-inc");
        assert_eq!(Slug::derive_from("  Été 2024 ").as_str(), "t-2024");
        assert_eq!(Slug::derive_from("A").as_str(), "a-org");
        assert_eq!(Slug::derive_from("日本").as_str(), "org");
        let long = Slug::derive_from(&"word ".repeat(40));
        assert!(Slug::parse(long.as_str()).is_ok());
    }

    #[test]
    fn a_suffix_keeps_the_slug_valid() {
        let base = Slug::derive_from("acme");
        assert_eq!(base.with_suffix(2).as_str(), "acme-2");
        let long = Slug::parse(&"a".repeat(63)).unwrap().with_suffix(12);
        assert_eq!(long.as_str().len(), 63);
        assert!(Slug::parse(long.as_str()).is_ok());
    }
}
