//! Context entries: an organization's versioned configuration documents, a JSON
//! value under a key. Every write makes a new version (1, 2, ...), kept with
//! who wrote it; a version's number is its entity tag (`ETag: "3"`), so writes
//! can be conditional ([`crate::preconditions`]).
//!
//! A deleted key can be written again: the new entry's numbering goes on from
//! the deleted one's, so a version number (and a tag a client holds) never
//! names two values of one key.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::{DomainError, FieldErrorCode, Validation};
use crate::id::{ContextEntryId, OrganizationId};

/// 404 for a key with no live entry in the organization (or a malformed key,
/// in a read or a delete).
pub const CONTEXT_ENTRY_NOT_FOUND: DomainError =
    DomainError::not_found("context entry", "CONTEXT_ENTRY_NOT_FOUND");

/// 404 for `?version=N` that the entry never had.
pub const CONTEXT_VERSION_NOT_FOUND: DomainError =
    DomainError::not_found("context entry version", "CONTEXT_VERSION_NOT_FOUND");

/// The longest key, in characters.
pub const MAX_KEY_CHARS: usize = 128;

/// The largest value, in bytes of its compact JSON serialization (64 KiB).
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// [`ContextKey`]'s rule as a regular expression (for the OpenAPI document).
pub const KEY_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$";

/// The highest version a client can name (the column is a 32-bit integer).
pub const MAX_VERSION: u32 = i32::MAX as u32;

/// Why a string is not a context key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ContextKeyError {
    /// Empty.
    #[error("key is required")]
    Empty,
    /// Over [`MAX_KEY_CHARS`].
    #[error("key must be at most 128 characters")]
    TooLong,
    /// Not a letter or digit first, or a character other than a letter, digit,
    /// `.`, `_`, `:` or `-` (see [`KEY_PATTERN`]).
    #[error(
        "key must start with a letter or digit and hold only letters, digits, '.', '_', ':' and '-'"
    )]
    Format,
}

impl FieldErrorCode for ContextKeyError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "REQUIRED",
            Self::TooLong => "TOO_LONG",
            Self::Format => "INVALID_FORMAT",
        }
    }
}

/// A context entry's key: 1 to 128 ASCII characters, a letter or digit first,
/// then letters, digits, `.`, `_`, `:` and `-` ([`KEY_PATTERN`]).
/// Case-sensitive: `Theme` and `theme` are two keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContextKey(String);

impl ContextKey {
    /// Parses a key, strictly (no trimming, no case folding).
    pub fn parse(raw: &str) -> Result<Self, ContextKeyError> {
        let bytes = raw.as_bytes();
        let Some(first) = bytes.first() else {
            return Err(ContextKeyError::Empty);
        };
        if !first.is_ascii_alphanumeric()
            || !bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        {
            return Err(ContextKeyError::Format);
        }
        if bytes.len() > MAX_KEY_CHARS {
            return Err(ContextKeyError::TooLong);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The least string above every key that starts with this one: a prefix
    /// filter is the range `[self, successor)` (keys are ASCII, compared byte
    /// by byte on both engines; the last character of a key is never `0x7F`).
    pub fn prefix_successor(&self) -> String {
        let mut bytes = self.0.clone().into_bytes();
        if let Some(last) = bytes.last_mut() {
            *last += 1;
        }
        // Only ASCII letters, digits and punctuation below `z` (0x7A): the
        // successor stays ASCII.
        String::from_utf8(bytes).unwrap_or_default()
    }
}

impl AsRef<str> for ContextKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContextKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a JSON value cannot be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("value must be at most 65536 bytes as compact JSON")]
pub struct ValueTooLarge;

impl FieldErrorCode for ValueTooLarge {
    fn code(&self) -> &'static str {
        "TOO_LARGE"
    }
}

/// A value a context entry may hold: any JSON (`null` included) of at most
/// [`MAX_VALUE_BYTES`] as compact JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct ContextValue(Value);

impl ContextValue {
    /// `value`, unless its compact serialization is over [`MAX_VALUE_BYTES`].
    pub fn parse(value: Value) -> Result<Self, ValueTooLarge> {
        Self::check(&value)?;
        Ok(Self(value))
    }

    /// [`ContextValue::parse`]'s rule, on a borrowed value.
    pub fn check(value: &Value) -> Result<(), ValueTooLarge> {
        if serialized_len(value) > MAX_VALUE_BYTES {
            return Err(ValueTooLarge);
        }
        Ok(())
    }

    /// The JSON value.
    pub fn as_json(&self) -> &Value {
        &self.0
    }

    /// The JSON value, owned.
    pub fn into_json(self) -> Value {
        self.0
    }
}

/// The length of `value` as compact JSON, counted without building the text.
fn serialized_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a `Value` to an infallible writer cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

crate::sort_by! {
    /// `sortBy` of the context entry list.
    ContextEntrySort {
        /// Creation time (the default).
        CreatedAt => "createdAt",
        /// The key, byte by byte (upper case before lower case).
        Key => "key",
        /// The time of the last write.
        UpdatedAt => "updatedAt",
    }
}

crate::sort_by! {
    /// `sortBy` of an entry's versions: the version number (newest first by
    /// default, as every list is descending by default).
    ContextVersionSort {
        /// The version number.
        Version => "version",
    }
}

/// A live context entry: its current value and version.
#[derive(Clone, Debug, PartialEq)]
pub struct ContextEntry {
    /// Identity (a new one when a deleted key is written again).
    pub id: ContextEntryId,
    /// Its organization.
    pub organization_id: OrganizationId,
    /// Its key, unique among the organization's live entries.
    pub key: ContextKey,
    /// The current value.
    pub value: Value,
    /// The current version, from 1.
    pub version: u32,
    /// When the entry was created (its first version).
    pub created_at: DateTime<Utc>,
    /// When its current version was written.
    pub updated_at: DateTime<Utc>,
}

/// One version of an entry: a value it held, and who wrote it when.
#[derive(Clone, Debug, PartialEq)]
pub struct ContextVersion {
    /// The entry.
    pub entry_id: ContextEntryId,
    /// The version number.
    pub version: u32,
    /// The value written.
    pub value: Value,
    /// Who wrote it: `usr_...` or `key_...`.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl ContextVersion {
    /// The entry as it was at this version: its value, and this version's
    /// time as its `updated_at`.
    pub fn as_entry(&self, current: &ContextEntry) -> ContextEntry {
        ContextEntry {
            value: self.value.clone(),
            version: self.version,
            updated_at: self.created_at,
            ..current.clone()
        }
    }
}

/// The filters of the context entry list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextEntryFilter {
    /// Only keys that start with this (a key itself, since every start of a
    /// key is one).
    pub prefix: Option<ContextKey>,
}

impl ContextEntryFilter {
    /// The filter for `prefix` as a client sent it: absent or empty means
    /// none; otherwise 422 unless it could start a key.
    pub fn parse(prefix: Option<&str>) -> Result<Self, DomainError> {
        let mut v = Validation::default();
        let prefix = match prefix.filter(|p| !p.is_empty()) {
            None => Some(None),
            Some(raw) => v.check("prefix", ContextKey::parse(raw)).map(Some),
        };
        let prefix = v.finish(prefix)?;
        Ok(Self { prefix })
    }
}

/// `?version=N` of a read: 1 to [`MAX_VERSION`], else 422 `OUT_OF_RANGE`.
pub fn parse_version(raw: Option<&str>) -> Result<Option<u32>, DomainError> {
    match raw {
        None => Ok(None),
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=MAX_VERSION).contains(&n) => Ok(Some(n)),
            _ => Err(DomainError::invalid(
                "version",
                "OUT_OF_RANGE",
                format!("version must be an integer from 1 to {MAX_VERSION}"),
            )),
        },
    }
}

/// The key of a write as the client addressed it: 422 when it is not a key
/// (a read or a delete of such a key is a 404 instead: nothing can be there).
pub fn parse_key_to_write(raw: &str) -> Result<ContextKey, DomainError> {
    let mut v = Validation::default();
    let key = v.check("key", ContextKey::parse(raw));
    v.finish(key)
}

/// A context value as sent: `{"value": <any JSON>}`. `value` is required and
/// may be any JSON value, `null` included (`{}` is 422 `REQUIRED`); wrapping
/// it keeps a value that is itself an object apart from the request's own
/// fields.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = PutContextEntryBody))]
#[serde(rename_all = "camelCase")]
pub struct PutContextEntryRequest {
    /// The new value: any JSON, at most 65,536 bytes as compact JSON (`null`
    /// is a value).
    #[serde(default, deserialize_with = "present")]
    #[validate(
        required(code = "REQUIRED", message = "value is required"),
        custom(function = "crate::validate::context_value")
    )]
    #[cfg_attr(feature = "openapi", schema(schema_with = value_schema, required = true))]
    pub value: Option<Value>,
}

/// A field that is present, `null` included, is `Some` (serde reads a `null`
/// `Option` as `None`); an absent one stays `None` by `default`.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    <Value as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// `value` of [`PutContextEntryRequest`]: any JSON without a NUL character
/// (the document's `NulFreeJson`).
#[cfg(feature = "openapi")]
fn value_schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    let mut any = utoipa::openapi::Ref::from_schema_name("NulFreeJson");
    any.description =
        "Any JSON value (`null` included), at most 65,536 bytes as compact JSON".to_owned();
    any.into()
}

impl TryFrom<PutContextEntryRequest> for ContextValue {
    type Error = DomainError;

    fn try_from(body: PutContextEntryRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let value = v
            .required("value", body.value)
            .and_then(|value| v.check("value", ContextValue::parse(value)));
        v.finish(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_pattern() {
        for good in [
            "a",
            "A9",
            "feature.flags:v2-beta",
            "snake_case",
            &"k".repeat(128),
            "0",
        ] {
            assert!(ContextKey::parse(good).is_ok(), "{good}");
        }
        for (bad, error) in [
            ("", ContextKeyError::Empty),
            (".a", ContextKeyError::Format),
            ("-a", ContextKeyError::Format),
            ("_a", ContextKeyError::Format),
            ("a+b", ContextKeyError::Format),
            ("a b", ContextKeyError::Format),
            ("a/b", ContextKeyError::Format),
            ("é", ContextKeyError::Format),
            ("a\0", ContextKeyError::Format),
        ] {
            assert_eq!(ContextKey::parse(bad), Err(error), "{bad:?}");
        }
        assert_eq!(
            ContextKey::parse(&"k".repeat(129)),
            Err(ContextKeyError::TooLong)
        );
    }

    #[test]
    fn a_prefix_range_ends_just_after_its_keys() {
        let prefix = ContextKey::parse("app.").unwrap();
        let end = prefix.prefix_successor();
        assert_eq!(end, "app/");
        for inside in ["app.", "app.z", "app.Z:9", "app.-"] {
            assert!(
                inside >= prefix.as_str() && inside < end.as_str(),
                "{inside}"
            );
        }
        for outside in ["app", "app-x", "app:x", "apq", "App.x"] {
            assert!(
                !(outside >= prefix.as_str() && outside < end.as_str()),
                "{outside}"
            );
        }
        assert_eq!(ContextKey::parse("az").unwrap().prefix_successor(), "a{");
    }

    #[test]
    fn values_are_any_json_up_to_64_kib() {
        assert!(ContextValue::parse(Value::Null).is_ok());
        assert!(ContextValue::parse(serde_json::json!({"a": [1, "b", true]})).is_ok());
        // `"` + n bytes + `"`.
        let fits = Value::String("x".repeat(MAX_VALUE_BYTES - 2));
        assert!(ContextValue::parse(fits).is_ok());
        let over = Value::String("x".repeat(MAX_VALUE_BYTES - 1));
        assert_eq!(ContextValue::parse(over), Err(ValueTooLarge));
    }

    #[test]
    fn a_body_needs_a_value_but_null_is_one() {
        let body: PutContextEntryRequest = serde_json::from_str(r#"{"value": null}"#).unwrap();
        assert_eq!(
            ContextValue::try_from(body).unwrap().into_json(),
            Value::Null
        );
        let body: PutContextEntryRequest = serde_json::from_str("{}").unwrap();
        let Err(DomainError::Validation(errors)) = ContextValue::try_from(body) else {
            panic!("an absent value was accepted");
        };
        assert_eq!(
            (errors[0].field.as_str(), errors[0].code),
            ("value", "REQUIRED")
        );
        let body = PutContextEntryRequest {
            value: Some(Value::String("x".repeat(MAX_VALUE_BYTES))),
        };
        let Err(DomainError::Validation(errors)) = ContextValue::try_from(body) else {
            panic!("a large value was accepted");
        };
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            (errors[0].field.as_str(), errors[0].code),
            ("value", "TOO_LARGE")
        );
    }

    #[test]
    fn versions_and_prefixes_are_checked() {
        assert_eq!(parse_version(None).unwrap(), None);
        assert_eq!(parse_version(Some("3")).unwrap(), Some(3));
        for bad in ["0", "-1", "x", "2147483648", ""] {
            assert!(parse_version(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(ContextEntryFilter::parse(Some("")).unwrap().prefix, None);
        assert!(
            ContextEntryFilter::parse(Some("a."))
                .unwrap()
                .prefix
                .is_some()
        );
        assert!(ContextEntryFilter::parse(Some("%")).is_err());
    }
}
