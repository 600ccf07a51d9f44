use crate::error::FieldErrorCode;
use crate::values::string_value;

/// The address of a user's picture: an absolute `http` or `https` URL with a host,
/// at most 2048 characters, without whitespace or control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AvatarUrl(String);
string_value!(AvatarUrl);

/// Why a string is not an acceptable avatar URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvatarUrlError {
    /// More than 2048 characters.
    #[error("avatarUrl must be at most 2048 characters")]
    TooLong,
    /// Not an absolute `http`/`https` URL with a host.
    #[error("avatarUrl must be an absolute http or https URL")]
    Invalid,
}

impl FieldErrorCode for AvatarUrlError {
    fn code(&self) -> &'static str {
        match self {
            Self::TooLong => "TOO_LONG",
            Self::Invalid => "INVALID_URL",
        }
    }
}

impl AvatarUrl {
    /// The most characters an avatar URL may have.
    pub const MAX_CHARS: usize = 2048;

    /// Trims and checks `input`.
    pub fn parse(input: &str) -> Result<Self, AvatarUrlError> {
        let url = input.trim();
        if url.chars().count() > Self::MAX_CHARS {
            return Err(AvatarUrlError::TooLong);
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(AvatarUrlError::Invalid);
        }
        let (scheme, rest) = url.split_once("://").ok_or(AvatarUrlError::Invalid)?;
        if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
            return Err(AvatarUrlError::Invalid);
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = match host_port.rsplit_once(':') {
            // An IPv6 literal (`[::1]`) has colons of its own.
            Some((host, port)) if !port.contains(']') => (host, Some(port)),
            _ => (host_port, None),
        };
        let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if host.is_empty() || !port_ok {
            return Err(AvatarUrlError::Invalid);
        }
        Ok(Self(url.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_web_urls_are_accepted() {
        for ok in [
            "https://cdn.example.com/a.png",
            "http://example.com",
            "HTTPS://example.com:8443/x?y=1#z",
            "https://user@example.com/p",
            "https://[::1]/a.png",
        ] {
            assert!(AvatarUrl::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "example.com/a.png",
            "/a.png",
            "ftp://example.com/a.png",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "https://",
            "https:///a.png",
            "https://exa mple.com",
            "https://example.com:port/",
        ] {
            assert_eq!(AvatarUrl::parse(bad), Err(AvatarUrlError::Invalid), "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert_eq!(AvatarUrl::parse(&long), Err(AvatarUrlError::TooLong));
    }
}
