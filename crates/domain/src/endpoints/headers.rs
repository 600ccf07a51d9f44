use std::collections::BTreeMap;

use crate::error::FieldErrorCode;

/// The headers an endpoint is called with: at most 50, at most 8 KiB of names
/// and values together; each name an HTTP token (RFC 9110), unique regardless of
/// case, and none of the headers the client's connection owns (`Host`,
/// `Content-Length` and the hop-by-hop ones); each value visible ASCII, spaces
/// and tabs.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct EndpointHeaders(BTreeMap<String, String>);

/// Header names refused, lower-cased: set by the HTTP client for its own
/// connection, not by whoever configures the endpoint.
pub const FORBIDDEN_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Why a set of headers is not acceptable. Values are never quoted: they may
/// be credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointHeadersError {
    /// More than [`EndpointHeaders::MAX_COUNT`] headers.
    #[error("headers may have at most 50 entries")]
    TooMany,
    /// Names and values together over [`EndpointHeaders::MAX_BYTES`].
    #[error("headers may hold at most 8192 bytes of names and values")]
    TooLarge,
    /// A name that is not an HTTP token.
    #[error("header name {0:?} is not a valid HTTP header name")]
    InvalidName(String),
    /// A value with characters outside visible ASCII, space and tab.
    #[error("the value of header {0:?} may hold only visible ASCII characters, spaces and tabs")]
    InvalidValue(String),
    /// `Host`, `Content-Length` or a hop-by-hop header.
    #[error("header {0:?} is set by the HTTP client and cannot be configured")]
    Forbidden(String),
    /// Two names that differ only in case.
    #[error("header {0:?} is given more than once (names are case-insensitive)")]
    Duplicate(String),
}

impl FieldErrorCode for EndpointHeadersError {
    fn code(&self) -> &'static str {
        match self {
            Self::TooMany => "TOO_MANY",
            Self::TooLarge => "TOO_LONG",
            Self::InvalidName(_) => "INVALID_HEADER_NAME",
            Self::InvalidValue(_) => "INVALID_HEADER_VALUE",
            Self::Forbidden(_) => "FORBIDDEN_HEADER",
            Self::Duplicate(_) => "DUPLICATE_HEADER",
        }
    }
}

/// RFC 9110 `tchar`.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl EndpointHeaders {
    /// The most headers an endpoint may have.
    pub const MAX_COUNT: usize = 50;
    /// The most bytes its names and values may add up to.
    pub const MAX_BYTES: usize = 8 * 1024;

    /// Checks `headers`.
    pub fn parse(headers: BTreeMap<String, String>) -> Result<Self, EndpointHeadersError> {
        if headers.len() > Self::MAX_COUNT {
            return Err(EndpointHeadersError::TooMany);
        }
        let bytes: usize = headers.iter().map(|(n, v)| n.len() + v.len()).sum();
        if bytes > Self::MAX_BYTES {
            return Err(EndpointHeadersError::TooLarge);
        }
        let mut seen = std::collections::BTreeSet::new();
        for (name, value) in &headers {
            if name.is_empty() || !name.bytes().all(is_token_char) {
                return Err(EndpointHeadersError::InvalidName(name.clone()));
            }
            let lower = name.to_ascii_lowercase();
            if FORBIDDEN_HEADERS.contains(&lower.as_str()) {
                return Err(EndpointHeadersError::Forbidden(name.clone()));
            }
            if !seen.insert(lower) {
                return Err(EndpointHeadersError::Duplicate(name.clone()));
            }
            if !value
                .bytes()
                .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
            {
                return Err(EndpointHeadersError::InvalidValue(name.clone()));
            }
        }
        Ok(Self(headers))
    }

    /// The headers, by name.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// The headers, by name, owned.
    pub fn into_inner(self) -> BTreeMap<String, String> {
        self.0
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Result<EndpointHeaders, EndpointHeadersError> {
        EndpointHeaders::parse(
            pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn ordinary_headers_are_kept() {
        let ok = headers(&[
            ("X-Api-Version", "2024-01-01"),
            ("Accept", "application/json; q=0.9"),
            ("X-Empty", ""),
            ("Authorization", "Bearer abc"),
        ])
        .unwrap();
        assert_eq!(ok.len(), 4);
    }

    #[test]
    fn the_connection_s_own_headers_are_refused_in_any_case() {
        for name in [
            "Host",
            "content-length",
            "CONNECTION",
            "Keep-Alive",
            "Proxy-Authenticate",
            "Proxy-Authorization",
            "TE",
            "Trailer",
            "Transfer-Encoding",
            "Upgrade",
        ] {
            assert_eq!(
                headers(&[(name, "x")]),
                Err(EndpointHeadersError::Forbidden(name.to_owned())),
                "{name}"
            );
        }
    }

    #[test]
    fn names_must_be_tokens_and_values_printable() {
        for name in ["", "X Space", "X:Colon", "Ünicode", "X\r\nInjected"] {
            assert!(
                matches!(
                    headers(&[(name, "x")]),
                    Err(EndpointHeadersError::InvalidName(_))
                ),
                "{name:?}"
            );
        }
        for value in ["a\r\nX-Injected: 1", "nul\0", "é", "bell\u{7}"] {
            assert!(
                matches!(
                    headers(&[("X-A", value)]),
                    Err(EndpointHeadersError::InvalidValue(_))
                ),
                "{value:?}"
            );
        }
        let err = headers(&[("X-Key", "secret-value\n")]).unwrap_err();
        assert!(!err.to_string().contains("secret-value"), "{err}");
    }

    #[test]
    fn names_are_unique_regardless_of_case() {
        assert!(matches!(
            headers(&[("X-A", "1"), ("x-a", "2")]),
            Err(EndpointHeadersError::Duplicate(_))
        ));
    }

    #[test]
    fn count_and_size_are_bounded() {
        let fifty: Vec<(String, String)> =
            (0..50).map(|i| (format!("X-{i}"), "v".into())).collect();
        assert!(EndpointHeaders::parse(fifty.iter().cloned().collect()).is_ok());
        let mut fifty_one = fifty;
        fifty_one.push(("X-50".into(), "v".into()));
        assert_eq!(
            EndpointHeaders::parse(fifty_one.into_iter().collect()),
            Err(EndpointHeadersError::TooMany)
        );
        let at_limit = "v".repeat(EndpointHeaders::MAX_BYTES - 3);
        assert!(headers(&[("X-A", &at_limit)]).is_ok());
        let over = "v".repeat(EndpointHeaders::MAX_BYTES - 2);
        assert_eq!(
            headers(&[("X-A", &over)]),
            Err(EndpointHeadersError::TooLarge)
        );
    }
}
