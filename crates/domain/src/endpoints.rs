//! Endpoints: the external services an organization's jobs call. Each has a
//! name, a URL, a method, headers and an optional auth secret, which is
//! encrypted at rest and never shown again: responses say only whether there is
//! one and its last characters ([`EndpointSecret::hint`]). A job claim is the
//! only way a secret leaves the server.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::error::{DomainError, Validation};
use crate::id::{EndpointId, OrganizationId};
use crate::text_enum;

mod headers;
mod name;
mod secret;
mod url;

pub use headers::{EndpointHeaders, EndpointHeadersError, FORBIDDEN_HEADERS};
pub use name::{EndpointName, EndpointNameError};
pub use secret::{EndpointSecret, EndpointSecretError, REDACTED, SealedSecret, SecretText};
pub use url::{EndpointUrl, EndpointUrlError, UrlPolicy};

/// 404 for an endpoint that is not in the organization (or does not exist).
pub const ENDPOINT_NOT_FOUND: DomainError =
    DomainError::not_found("endpoint", "ENDPOINT_NOT_FOUND");

impl crate::id::ResourceId for EndpointId {
    const NOT_FOUND: DomainError = ENDPOINT_NOT_FOUND;
    const PARAM: &'static str = "endpointId";
}

crate::sort_by! {
    /// `sortBy` of the endpoint list.
    EndpointSort {
        /// Creation time (the default).
        CreatedAt => "createdAt",
        /// Name, alphabetically.
        Name => "name",
    }
}

text_enum! {
    /// The HTTP method an endpoint is called with; `POST` unless given.
    #[derive(Default)]
    HttpMethod {
        /// `GET`.
        Get => "GET",
        /// `POST` (the default).
        #[default]
        Post => "POST",
        /// `PUT`.
        Put => "PUT",
        /// `PATCH`.
        Patch => "PATCH",
        /// `DELETE`.
        Delete => "DELETE",
    }
}

/// A stored endpoint, its secret sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Identity.
    pub id: EndpointId,
    /// The organization it belongs to.
    pub organization_id: OrganizationId,
    /// Display name.
    pub name: String,
    /// Where it is called.
    pub url: String,
    /// How it is called.
    pub method: HttpMethod,
    /// What it is called with.
    pub headers: EndpointHeaders,
    /// The auth secret, encrypted; `None` when it has none.
    pub sealed_secret: Option<SealedSecret>,
    /// The secret's last characters ([`EndpointSecret::hint`]).
    pub secret_hint: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Endpoint {
    /// Whether it has a secret.
    pub fn has_secret(&self) -> bool {
        self.sealed_secret.is_some()
    }
}

/// A validated request for a new endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointDraft {
    /// Display name.
    pub name: EndpointName,
    /// Where it is called.
    pub url: EndpointUrl,
    /// How it is called.
    pub method: HttpMethod,
    /// What it is called with.
    pub headers: EndpointHeaders,
    /// The auth secret, if any.
    pub secret: Option<EndpointSecret>,
}

/// A validated partial change of an endpoint; `None` leaves a field alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EndpointChanges {
    /// A new name.
    pub name: Option<EndpointName>,
    /// A new URL.
    pub url: Option<EndpointUrl>,
    /// A new method.
    pub method: Option<HttpMethod>,
    /// New headers, replacing all of the old ones.
    pub headers: Option<EndpointHeaders>,
    /// A new secret, or `Some(None)` to remove it.
    pub secret: Option<Option<EndpointSecret>>,
}

/// An endpoint as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateEndpointBody))]
#[serde(rename_all = "camelCase")]
pub struct CreateEndpointRequest {
    /// 1 to 200 characters after trimming; need not be unique.
    #[validate(
        required(code = "REQUIRED", message = "name is required"),
        custom(function = "crate::validate::endpoint_name")
    )]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::validate::long_name_schema, required = true, example = "Billing API"))]
    pub name: Option<String>,
    /// An absolute `https` URL with a host (`http` too outside production), at
    /// most 2,048 characters.
    #[validate(
        required(code = "REQUIRED", message = "url is required"),
        custom(function = "crate::validate::endpoint_url")
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = String, max_length = 2048, pattern = "^[\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+", required = true, example = "https://api.example.com/v1/run"))]
    pub url: Option<String>,
    /// `GET`, `POST` (default), `PUT`, `PATCH` or `DELETE`.
    #[validate(custom(function = "crate::validate::variant::<HttpMethod>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<HttpMethod>, inline, example = "POST"))]
    pub method: Option<String>,
    /// Header name to value: at most 50, 8 KiB in all; no `Host`,
    /// `Content-Length` or hop-by-hop headers.
    #[validate(custom(function = "crate::validate::endpoint_headers"))]
    #[cfg_attr(feature = "openapi", schema(schema_with = nullable_headers_schema, example = json!({"X-Api-Version": "2024-06-01"})))]
    pub headers: Option<BTreeMap<String, String>>,
    /// The auth secret, 1 to 4,096 characters: stored encrypted, never shown
    /// again (responses carry `hasSecret` and `secretHint`).
    #[validate(custom(function = "crate::validate::endpoint_secret"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, min_length = 1, max_length = 4096, write_only))]
    pub secret: Option<SecretText>,
}

/// `headers`: at most 50 names that are HTTP tokens, each to a value of
/// visible ASCII, spaces and tabs (8 KiB in all, and the forbidden names, are
/// only in the description).
#[cfg(feature = "openapi")]
fn headers_schema() -> utoipa::openapi::Object {
    headers_schema_of(utoipa::openapi::schema::Type::Object.into())
}

/// `headers` of a new endpoint, where `null` is no headers.
#[cfg(feature = "openapi")]
fn nullable_headers_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{SchemaType, Type};
    headers_schema_of(SchemaType::from_iter([Type::Object, Type::Null]))
}

#[cfg(feature = "openapi")]
fn headers_schema_of(schema_type: utoipa::openapi::schema::SchemaType) -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(schema_type)
        .max_properties(Some(EndpointHeaders::MAX_COUNT))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")),
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[\\t\\x20-\\x7e]*$")),
        ))
        .build()
}

impl CreateEndpointRequest {
    /// The draft of a new endpoint, URLs checked under `policy`: 422 for a
    /// broken rule.
    pub fn into_draft(self, policy: UrlPolicy) -> Result<EndpointDraft, DomainError> {
        let mut v = Validation::of(&self);
        let name = v
            .required("name", self.name)
            .and_then(|n| v.check("name", EndpointName::parse(&n)));
        let url = v
            .required("url", self.url)
            .and_then(|u| v.check("url", EndpointUrl::parse(&u, policy)));
        let method = match self.method {
            None => Some(HttpMethod::default()),
            Some(m) => v.check("method", m.parse::<HttpMethod>()),
        };
        let headers = v.check(
            "headers",
            EndpointHeaders::parse(self.headers.unwrap_or_default()),
        );
        let secret = match &self.secret {
            None => Some(None),
            Some(s) => v
                .check("secret", EndpointSecret::parse(s.expose()))
                .map(Some),
        };
        let (((name, url), (method, headers)), secret) =
            v.finish(name.zip(url).zip(method.zip(headers)).zip(secret))?;
        Ok(EndpointDraft {
            name,
            url,
            method,
            headers,
            secret,
        })
    }
}

/// A change to an endpoint as sent; absent fields stay as they are.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdateEndpointBody))]
#[serde(rename_all = "camelCase")]
pub struct UpdateEndpointRequest {
    /// 1 to 200 characters after trimming; cannot be `null`.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(custom(function = "crate::validate::endpoint_name"))]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::validate::long_name_schema, required = false))]
    pub name: Option<Option<String>>,
    /// An absolute `https` URL (`http` too outside production); cannot be `null`.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(custom(function = "crate::validate::endpoint_url"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, max_length = 2048, pattern = "^[\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+", required = false))]
    pub url: Option<Option<String>>,
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`; cannot be `null`.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(custom(function = "crate::validate::variant::<HttpMethod>"))]
    #[cfg_attr(feature = "openapi", schema(value_type = HttpMethod, inline, required = false))]
    pub method: Option<Option<String>>,
    /// Replaces every header (`{}` removes them all); cannot be `null`.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(custom(function = "crate::validate::endpoint_headers"))]
    #[cfg_attr(feature = "openapi", schema(schema_with = headers_schema, required = false))]
    pub headers: Option<Option<BTreeMap<String, String>>>,
    /// A new secret, 1 to 4,096 characters; `null` removes it.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(custom(function = "crate::validate::endpoint_secret"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, min_length = 1, max_length = 4096, write_only))]
    pub secret: Option<Option<SecretText>>,
}

impl UpdateEndpointRequest {
    /// The changes, URLs checked under `policy`: 422 for a broken rule or a
    /// `null` where a value is required.
    pub fn into_changes(self, policy: UrlPolicy) -> Result<EndpointChanges, DomainError> {
        let mut v = Validation::of(&self);
        // Absent: `Some(None)` (leave it); `null`: `REQUIRED`; a value: parsed.
        macro_rules! field {
            ($field:literal, $value:expr, $parse:expr) => {
                match $value {
                    None => Some(None),
                    Some(value) => v
                        .required($field, value)
                        .and_then(|value| v.check($field, $parse(value)))
                        .map(Some),
                }
            };
        }
        let name = field!("name", self.name, |n: String| EndpointName::parse(&n));
        let url = field!("url", self.url, |u: String| EndpointUrl::parse(&u, policy));
        let method = field!("method", self.method, |m: String| m.parse::<HttpMethod>());
        let headers = field!("headers", self.headers, EndpointHeaders::parse);
        let secret = match &self.secret {
            None => Some(None),
            Some(None) => Some(Some(None)),
            Some(Some(s)) => v
                .check("secret", EndpointSecret::parse(s.expose()))
                .map(|s| Some(Some(s))),
        };
        let (((name, url), (method, headers)), secret) =
            v.finish(name.zip(url).zip(method.zip(headers)).zip(secret))?;
        Ok(EndpointChanges {
            name,
            url,
            method,
            headers,
            secret,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn create(body: serde_json::Value, policy: UrlPolicy) -> Result<EndpointDraft, DomainError> {
        serde_json::from_value::<CreateEndpointRequest>(body)
            .unwrap()
            .into_draft(policy)
    }

    fn fields(result: Result<impl std::fmt::Debug, DomainError>) -> Vec<(String, &'static str)> {
        match result {
            Err(DomainError::Validation(errors)) => {
                errors.into_iter().map(|e| (e.field, e.code)).collect()
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_minimal_endpoint_is_a_post_without_headers_or_secret() {
        let draft = create(
            json!({"name": "Hook", "url": "https://example.com/hook"}),
            UrlPolicy::HttpsOnly,
        )
        .unwrap();
        assert_eq!(draft.method, HttpMethod::Post);
        assert!(draft.headers.is_empty());
        assert!(draft.secret.is_none());
    }

    #[test]
    fn every_broken_rule_is_reported_in_field_order() {
        let errors = fields(create(
            json!({
                "name": " ",
                "url": "http://example.com",
                "method": "post",
                "headers": {"Host": "x"},
                "secret": "",
            }),
            UrlPolicy::HttpsOnly,
        ));
        assert_eq!(
            errors,
            [
                ("name".into(), "REQUIRED"),
                ("url".into(), "HTTPS_REQUIRED"),
                ("method".into(), "INVALID_VALUE"),
                ("headers".into(), "FORBIDDEN_HEADER"),
                ("secret".into(), "TOO_SHORT"),
            ]
        );
        assert_eq!(
            fields(create(json!({}), UrlPolicy::HttpAllowed)),
            [("name".into(), "REQUIRED"), ("url".into(), "REQUIRED")]
        );
    }

    #[test]
    fn a_patch_tells_absent_from_null() {
        let changes = |body| {
            serde_json::from_value::<UpdateEndpointRequest>(body)
                .unwrap()
                .into_changes(UrlPolicy::HttpAllowed)
        };
        let none = changes(json!({})).unwrap();
        assert_eq!(none, EndpointChanges::default());
        let cleared = changes(json!({"secret": null})).unwrap();
        assert_eq!(cleared.secret, Some(None));
        let set = changes(json!({"secret": "s3cr3t-value-1234", "headers": {}})).unwrap();
        assert_eq!(set.secret.unwrap().unwrap().expose(), "s3cr3t-value-1234");
        assert_eq!(set.headers, Some(EndpointHeaders::default()));
        assert_eq!(
            fields(changes(
                json!({"name": null, "url": null, "method": null, "headers": null})
            )),
            [
                ("name".into(), "REQUIRED"),
                ("url".into(), "REQUIRED"),
                ("method".into(), "REQUIRED"),
                ("headers".into(), "REQUIRED"),
            ]
        );
    }

    #[test]
    fn requests_and_drafts_never_show_the_secret_in_debug() {
        let body = json!({"name": "Hook", "url": "https://e.com", "secret": "sk_live_topsecret"});
        let request: CreateEndpointRequest = serde_json::from_value(body.clone()).unwrap();
        let draft = request.clone().into_draft(UrlPolicy::HttpsOnly).unwrap();
        let update: UpdateEndpointRequest = serde_json::from_value(body).unwrap();
        let changes = update.clone().into_changes(UrlPolicy::HttpsOnly).unwrap();
        for shown in [
            format!("{request:?}"),
            format!("{draft:?}"),
            format!("{update:?}"),
            format!("{changes:#?}"),
        ] {
            assert!(!shown.contains("topsecret"), "{shown}");
        }
    }
}
