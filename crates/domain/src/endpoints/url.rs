use crate::error::FieldErrorCode;
use crate::values::string_value;

/// Which schemes an endpoint's URL may have: `https` always; `http` only
/// outside production, where a local or staging service may lack TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlPolicy {
    /// `https` only (production).
    HttpsOnly,
    /// `https` or `http` (development and test).
    HttpAllowed,
}

impl UrlPolicy {
    /// The policy of an environment: production allows `https` only.
    pub const fn for_production(production: bool) -> Self {
        if production {
            Self::HttpsOnly
        } else {
            Self::HttpAllowed
        }
    }
}

/// Where an endpoint is called: an absolute `https` URL (or `http` under
/// [`UrlPolicy::HttpAllowed`]) with a host, at most 2,048 characters, as an
/// HTTP client parses it (WHATWG). Kept as the client wrote it, trimmed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EndpointUrl(String);
string_value!(EndpointUrl);

/// Why a string is not an acceptable endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointUrlError {
    /// More than 2,048 characters.
    #[error("url must be at most 2048 characters")]
    TooLong,
    /// Not an absolute `http`/`https` URL with a host.
    #[error("url must be an absolute https URL with a host")]
    Invalid,
    /// `http` where only `https` is allowed (production).
    #[error("url must use https")]
    HttpsRequired,
}

impl FieldErrorCode for EndpointUrlError {
    fn code(&self) -> &'static str {
        match self {
            Self::TooLong => "TOO_LONG",
            Self::Invalid => "INVALID_URL",
            Self::HttpsRequired => "HTTPS_REQUIRED",
        }
    }
}

impl EndpointUrl {
    /// The most characters a URL may have.
    pub const MAX_CHARS: usize = 2048;

    /// Trims and checks `input` under `policy`.
    pub fn parse(input: &str, policy: UrlPolicy) -> Result<Self, EndpointUrlError> {
        let raw = input.trim();
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(EndpointUrlError::TooLong);
        }
        // WHATWG parsing silently drops tabs and newlines and reads `https:host`
        // or backslashes as `https://host/`: refuse what would be read other
        // than as written.
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EndpointUrlError::Invalid);
        }
        let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
        let https = lower.starts_with("https://");
        if !https && !lower.starts_with("http://") {
            return Err(EndpointUrlError::Invalid);
        }
        // `https:///x` would be read as the host `x`.
        let after_scheme = &raw[if https { 8 } else { 7 }..];
        if after_scheme.starts_with(['/', '\\', '?', '#']) {
            return Err(EndpointUrlError::Invalid);
        }
        let parsed = url::Url::parse(raw).map_err(|_| EndpointUrlError::Invalid)?;
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(EndpointUrlError::Invalid);
        }
        if !https && policy == UrlPolicy::HttpsOnly {
            return Err(EndpointUrlError::HttpsRequired);
        }
        Ok(Self(raw.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use UrlPolicy::{HttpAllowed, HttpsOnly};

    #[test]
    fn absolute_web_urls_with_a_host_are_accepted() {
        for ok in [
            "https://api.example.com/v1/hooks",
            " https://example.com ",
            "HTTPS://example.com:8443/x?y=1#z",
            "https://[::1]/a",
            "https://192.0.2.10/run",
        ] {
            assert!(EndpointUrl::parse(ok, HttpsOnly).is_ok(), "{ok}");
        }
        assert_eq!(
            EndpointUrl::parse(" https://example.com ", HttpsOnly)
                .unwrap()
                .as_str(),
            "https://example.com"
        );
    }

    #[test]
    fn http_is_allowed_only_outside_production() {
        let url = "http://localhost:3000/hook";
        assert!(EndpointUrl::parse(url, HttpAllowed).is_ok());
        assert_eq!(
            EndpointUrl::parse(url, HttpsOnly),
            Err(EndpointUrlError::HttpsRequired)
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "example.com/hook",
            "/hook",
            "ftp://example.com/",
            "https:example.com",
            "https:\\\\example.com",
            "https://",
            "https:///path",
            "https://\\\\host/",
            "https://?q",
            "https://exa mple.com",
            "https://example.com\t/x",
            "https://example.com:99999/",
            "javascript:alert(1)",
        ] {
            assert_eq!(
                EndpointUrl::parse(bad, HttpAllowed),
                Err(EndpointUrlError::Invalid),
                "{bad}"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        assert_eq!(
            EndpointUrl::parse(&long, HttpAllowed),
            Err(EndpointUrlError::TooLong)
        );
    }
}
