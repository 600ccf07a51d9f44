//! The request types' shape rules, with [`validator`]: the rule functions their
//! `#[validate(custom(function = ...))]` attributes name, and the one place where
//! `validator`'s errors become the [`FieldError`]s of a 422.
//!
//! A request type (`SignUpRequest`, `CreateOrganizationRequest`, ...) derives
//! [`validator::Validate`], so another service that imports `domain` checks a
//! request with the same rules and codes the API answers with. Its typed values
//! (an [`Email`](crate::Email), a [`Slug`](crate::Slug), an enum) are rules of
//! their own: the custom rules below run the value's parser, so a rule is written
//! once, on the value. The API then converts the request into its draft with
//! `TryFrom`, which starts from [`Validation::of`] and so reports every broken
//! rule, in the order of the request's fields.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use validator::{Validate, ValidationError, ValidationErrors, ValidationErrorsKind};

use crate::error::{FieldError, FieldErrorCode, Validation};
use crate::values::{Email, Password, PersonName, Slug};

/// The pattern of a name of 1 to `inner + 2` characters after trimming.
macro_rules! name_pattern {
    ($inner:literal) => {
        concat!(
            r"^[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*",
            r"[^\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u0000-\u001f\u007f-\u009f]",
            r"(?:[^\u0000-\u001f\u007f-\u009f]{0,",
            $inner,
            r"}",
            r"[^\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\u0000-\u001f\u007f-\u009f])?",
            r"[\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$",
        )
    };
}

/// The rule of [`name`] as a regular expression (ECMA-262, as JSON Schema uses),
/// for the OpenAPI document: after trimming white space (Rust's `char::is_whitespace`
/// set, spelled out since engines disagree on `\s`), 1 to 100 characters, none
/// of them a control character.
pub const NAME_PATTERN: &str = name_pattern!("98");

/// [`NAME_PATTERN`] for names of 1 to 200 characters (an endpoint's).
pub const LONG_NAME_PATTERN: &str = name_pattern!("198");

/// The OpenAPI schema of a name ([`NAME_PATTERN`]).
#[cfg(feature = "openapi")]
pub fn name_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(NAME_PATTERN))
        .build()
}

/// The OpenAPI schema of a name that `null` clears ([`NAME_PATTERN`]).
#[cfg(feature = "openapi")]
pub fn nullable_name_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(NAME_PATTERN))
        .build()
}

/// The OpenAPI schema of an endpoint's name ([`LONG_NAME_PATTERN`]).
#[cfg(feature = "openapi")]
pub fn long_name_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(LONG_NAME_PATTERN))
        .build()
}

/// `result` as a `validator` rule: its error's code and sentence.
fn rule<T, E: FieldErrorCode>(result: Result<T, E>) -> Result<(), ValidationError> {
    result
        .map(drop)
        .map_err(|e| ValidationError::new(e.code()).with_message(Cow::Owned(e.to_string())))
}

/// An email address ([`Email::parse`]).
pub fn email(value: &str) -> Result<(), ValidationError> {
    rule(Email::parse(value))
}

/// A password within the length policy ([`Password::parse`]).
pub fn password(value: &str) -> Result<(), ValidationError> {
    rule(Password::parse(value))
}

/// A name of 1 to 100 characters after trimming ([`PersonName::parse`]).
pub fn name(value: &str) -> Result<(), ValidationError> {
    rule(PersonName::parse(value))
}

/// An avatar URL ([`AvatarUrl::parse`](crate::users::AvatarUrl::parse)).
pub fn avatar_url(value: &str) -> Result<(), ValidationError> {
    rule(crate::users::AvatarUrl::parse(value))
}

/// A slug ([`Slug::parse`]).
pub fn slug(value: &str) -> Result<(), ValidationError> {
    rule(Slug::parse(value))
}

/// Why a timestamp does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be an RFC 3339 timestamp")]
pub struct TimestampError;

impl FieldErrorCode for TimestampError {
    fn code(&self) -> &'static str {
        "INVALID_FORMAT"
    }
}

/// An RFC 3339 timestamp, in UTC.
pub fn parse_timestamp(raw: &str) -> Result<DateTime<Utc>, TimestampError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| TimestampError)
}

/// An RFC 3339 timestamp ([`parse_timestamp`]).
pub fn timestamp(value: &str) -> Result<(), ValidationError> {
    rule(parse_timestamp(value))
}

/// An endpoint's name ([`EndpointName::parse`](crate::endpoints::EndpointName::parse)).
pub fn endpoint_name(value: &str) -> Result<(), ValidationError> {
    rule(crate::endpoints::EndpointName::parse(value))
}

/// An endpoint's URL as an HTTP client reads it
/// ([`EndpointUrl::parse`](crate::endpoints::EndpointUrl::parse)); whether
/// `http` is allowed depends on the server's environment, which the draft's
/// conversion checks.
pub fn endpoint_url(value: &str) -> Result<(), ValidationError> {
    rule(crate::endpoints::EndpointUrl::parse(
        value,
        crate::endpoints::UrlPolicy::HttpAllowed,
    ))
}

/// An endpoint's headers
/// ([`EndpointHeaders::parse`](crate::endpoints::EndpointHeaders::parse)).
pub fn endpoint_headers(
    value: &std::collections::BTreeMap<String, String>,
) -> Result<(), ValidationError> {
    rule(crate::endpoints::EndpointHeaders::parse(value.clone()))
}

/// An endpoint's secret
/// ([`EndpointSecret::parse`](crate::endpoints::EndpointSecret::parse)); the
/// error never quotes it.
pub fn endpoint_secret(value: &crate::endpoints::SecretText) -> Result<(), ValidationError> {
    rule(crate::endpoints::EndpointSecret::parse(value.expose()))
}

/// A context entry's value: at most 64 KiB as compact JSON
/// ([`ContextValue::check`](crate::context_entries::ContextValue::check)).
pub fn context_value(value: &serde_json::Value) -> Result<(), ValidationError> {
    rule(crate::context_entries::ContextValue::check(value))
}

/// A role an API key may have: not `owner` (`INVALID_VALUE`).
pub fn key_role(value: &str) -> Result<(), ValidationError> {
    if value == crate::MemberRole::Owner.as_str() {
        Err(ValidationError::new("INVALID_VALUE")
            .with_message(Cow::Borrowed("an API key's role is admin or member")))
    } else {
        Ok(())
    }
}

/// A field that may be absent, `null`, or a value: absent is `None`, `null` is
/// `Some(None)` (serde alone reads both as `None`). For PATCH bodies, with
/// `#[serde(default, deserialize_with = "crate::validate::present")]`.
pub fn present<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(de).map(Some)
}

/// An endpoint's ID (`ept_...`; `INVALID_ID` otherwise).
pub fn endpoint_id(value: &str) -> Result<(), ValidationError> {
    rule(value.parse::<crate::id::EndpointId>())
}

/// A task's ID (`tsk_...`; `INVALID_ID` otherwise).
pub fn task_id(value: &str) -> Result<(), ValidationError> {
    rule(value.parse::<crate::id::TaskId>())
}

/// Text with something besides white space (`REQUIRED` otherwise).
pub fn not_blank(value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(ValidationError::new("REQUIRED"))
    } else {
        Ok(())
    }
}

/// One of the spellings of the text enum `T` (`INVALID_VALUE` otherwise).
pub fn variant<T>(value: &str) -> Result<(), ValidationError>
where
    T: FromStr,
    T::Err: FieldErrorCode,
{
    rule(value.parse::<T>())
}

/// The client's spelling of a Rust field name: `first_name` is `firstName`,
/// `r#type` is `type` (as serde's `rename_all = "camelCase"` spells them).
fn client_name(field: &str) -> String {
    let field = field.strip_prefix("r#").unwrap_or(field);
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Every error `validator` found, by client field name, in the order each
/// field's rules are declared.
fn field_errors(errors: ValidationErrors) -> BTreeMap<String, Vec<FieldError>> {
    let mut by_field = BTreeMap::new();
    for (field, kind) in errors.into_errors() {
        let ValidationErrorsKind::Field(list) = kind else {
            // The request types are flat: no nested structs or lists.
            continue;
        };
        let name = client_name(&field);
        let mapped = list
            .into_iter()
            .map(|e| {
                let code = match e.code {
                    Cow::Borrowed(code) => code,
                    Cow::Owned(_) => "INVALID_VALUE",
                };
                let message = e
                    .message
                    .map_or_else(|| format!("{name} is not valid"), Cow::into_owned);
                FieldError::new(name.clone(), code, message)
            })
            .collect();
        by_field.insert(name, mapped);
    }
    by_field
}

impl From<ValidationErrors> for crate::DomainError {
    /// Every shape error as a 422 `VALIDATION_FAILED` (fields by name).
    fn from(errors: ValidationErrors) -> Self {
        Self::Validation(field_errors(errors).into_values().flatten().collect())
    }
}

impl Validation {
    /// A validation of `request` that starts with its shape errors: each is
    /// reported when its field is checked ([`Validation::required`],
    /// [`Validation::check`]) — so the errors come in the order the fields are
    /// checked and a field is never reported twice — and any left over when it
    /// finishes.
    pub fn of(request: &impl Validate) -> Self {
        let mut v = Self::default();
        if let Err(errors) = request.validate() {
            v.pending = field_errors(errors);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_field_names_are_spelled_as_clients_send_them() {
        assert_eq!(client_name("first_name"), "firstName");
        assert_eq!(client_name("r#type"), "type");
        assert_eq!(client_name("email"), "email");
        assert_eq!(client_name("expires_at"), "expiresAt");
    }

    #[test]
    fn a_rule_keeps_the_value_s_code_and_sentence() {
        let err = email("nope").unwrap_err();
        assert_eq!(err.code, "INVALID_EMAIL");
        assert!(err.message.is_some());
        assert!(email("ada@example.com").is_ok());
        assert_eq!(
            variant::<crate::MemberRole>("boss").unwrap_err().code,
            "INVALID_VALUE"
        );
    }
}
