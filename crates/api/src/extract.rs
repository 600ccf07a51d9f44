//! Request extractors that fail with problem+json, never with actix's plain text.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::{BytesMut, Data};
use actix_web::{FromRequest, HttpRequest};
use domain::{DomainError, FieldError, PageRequest, RawPageRequest, SortField};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::error::Category;
use utoipa::IntoParams;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use crate::error::ApiError;
use crate::middleware::inputs::INVALID_CHARACTER;

/// The JSON body limit, in bytes (from `server.json_body_limit_bytes`).
#[derive(Clone, Copy, Debug)]
pub struct JsonLimit(pub usize);

/// How long a body may take to arrive once its request has started (from
/// `server.body_timeout_secs`).
#[derive(Clone, Copy, Debug)]
pub struct BodyTimeout(pub Duration);

/// When no [`BodyTimeout`] is registered (unit tests of extractors).
const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// A JSON body of type `T`.
///
/// - 415 unless `Content-Type` is `application/json` (or `application/*+json`);
/// - 413 when larger than [`JsonLimit`] (checked on `Content-Length` first, then
///   while reading, so an oversized body is never buffered);
/// - 408 when the whole body has not arrived within [`BodyTimeout`] (a client
///   trickling bytes holds a worker's attention no longer than that);
/// - 400 when the bytes are not JSON;
/// - 422 (`VALIDATION_FAILED`) when the JSON does not fit `T`, naming the field,
///   or when a string in it holds a NUL character (`INVALID_CHARACTER`), which
///   PostgreSQL refuses to store in text.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<Data<JsonLimit>>().map_or(64 * 1024, |l| l.0);
        let read = read_json::<T>(req, payload, limit);
        Box::pin(async move { read.await.map(JsonBody) })
    }
}

/// A JSON body that may be larger than [`JsonLimit`]: up to `KIB` KiB, or the
/// configured limit when that is larger. For the few bodies whose own rules
/// allow more than the default 64 KiB (a message of 100,000 characters, a
/// run's 256 KiB output); everything else [`JsonBody`] says holds.
#[derive(Debug)]
pub struct LargeJsonBody<T, const KIB: usize>(pub T);

impl<T: DeserializeOwned + 'static, const KIB: usize> FromRequest for LargeJsonBody<T, KIB> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let configured = req.app_data::<Data<JsonLimit>>().map_or(64 * 1024, |l| l.0);
        let read = read_json::<T>(req, payload, configured.max(KIB * 1024));
        Box::pin(async move { read.await.map(LargeJsonBody) })
    }
}

/// The bytes of a JSON body as received, unparsed, up to `KIB` KiB (or the
/// configured limit when larger): for a signature computed over the exact
/// bytes (GitHub's `X-Hub-Signature-256`). 415, 413 and 408 as [`JsonBody`];
/// parsing is the handler's, after it has checked the signature.
#[derive(Debug)]
pub struct RawJsonBody<const KIB: usize>(pub actix_web::web::Bytes);

impl<const KIB: usize> FromRequest for RawJsonBody<KIB> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let configured = req.app_data::<Data<JsonLimit>>().map_or(64 * 1024, |l| l.0);
        let read = read_bytes(req, payload, configured.max(KIB * 1024));
        Box::pin(async move { read.await.map(|body| RawJsonBody(body.freeze())) })
    }
}

/// Reads and parses a JSON body of at most `limit` bytes (see [`JsonBody`]).
fn read_json<T: DeserializeOwned + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> impl Future<Output = Result<T, ApiError>> + 'static {
    let read = read_bytes(req, payload, limit);
    async move { parse(&read.await?) }
}

/// Reads a JSON body's bytes, at most `limit` of them, within [`BodyTimeout`].
fn read_bytes(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> impl Future<Output = Result<BytesMut, ApiError>> + 'static {
    let timeout = req
        .app_data::<Data<BodyTimeout>>()
        .map_or(DEFAULT_BODY_TIMEOUT, |t| t.0);
    let checked = check_headers(req, limit);
    let mut payload = payload.take();
    async move {
        checked?;
        let read = async {
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|e| ApiError::BadRequest(format!("cannot read body: {e}")))?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        };
        actix_web::rt::time::timeout(timeout, read)
            .await
            .map_err(|_| ApiError::RequestTimeout {
                secs: timeout.as_secs(),
            })?
    }
}

fn check_headers(req: &HttpRequest, limit: usize) -> Result<(), ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let is_json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    Ok(())
}

/// Syntax errors are 400; shape errors (wrong type, unknown field value) are 422
/// naming the field by its JSON path. An object — every valid body — is read in
/// one pass; anything else is only parsed to tell "not JSON" (400) from "JSON,
/// but not an object" (422).
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let not_json =
        |e: serde_json::Error| ApiError::BadRequest(format!("the body is not valid JSON: {e}"));
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(body).map_err(not_json)?;
        return Err(
            DomainError::invalid("", "INVALID_TYPE", "the body must be a JSON object").into(),
        );
    }
    if let Some(field) = field_with_nul(body) {
        return Err(DomainError::invalid(
            &field,
            INVALID_CHARACTER,
            "must not contain the NUL character",
        )
        .into());
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        let inner = e.into_inner();
        match inner.classify() {
            Category::Data => ApiError::Domain(DomainError::Validation(vec![FieldError::new(
                field,
                "INVALID_TYPE",
                inner.to_string(),
            )])),
            Category::Io | Category::Syntax | Category::Eof => not_json(inner),
        }
    })?;
    de.end().map_err(not_json)?;
    Ok(value)
}

/// The path (`headers.x`, `items[2]`) of the first string, or key, in the JSON
/// `body` that holds a NUL character. A NUL can only be written `\u0000` in
/// JSON (a raw one is a syntax error), so bodies without that text, all
/// legitimate ones, are not parsed twice.
fn field_with_nul(body: &[u8]) -> Option<String> {
    const ESCAPED_NUL: &[u8] = b"\\u0000";
    if !body.windows(ESCAPED_NUL.len()).any(|w| w == ESCAPED_NUL) {
        return None;
    }
    fn find(value: &serde_json::Value, path: &str) -> Option<String> {
        let join = |key: &str| {
            if path.is_empty() {
                key.to_owned()
            } else {
                format!("{path}.{key}")
            }
        };
        match value {
            serde_json::Value::String(s) => s.contains('\0').then(|| path.to_owned()),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| find(item, &format!("{path}[{i}]"))),
            serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
                if key.contains('\0') {
                    Some(join(&key.replace('\0', "\u{FFFD}")))
                } else {
                    find(item, &join(key))
                }
            }),
            _ => None,
        }
    }
    // Not JSON: the parse that follows says so.
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    find(&value, "")
}

/// The OpenAPI description of a list's query parameters, sorted by `S`: the
/// ranges, enums and formats [`domain::PageRequest::parse`] enforces.
pub struct ListParams<S>(PhantomData<S>);

impl<S: SortField> IntoParams for ListParams<S> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let integer = |min: u64, max: u64, default: u64| {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(min))
                .maximum(Some(max))
                .default(Some(default.into()))
        };
        let one_of = |values: &[&str], default: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(values.iter().copied()))
                .default(Some(default.into()))
        };
        let query = |name: &str, description: &str, schema: ObjectBuilder| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(schema))
                .build()
        };
        vec![
            query(
                "page",
                "1-based page number; not together with `cursor`. Deeper than \
                 `page × pageSize` = 1,000,000 rows is refused: use the cursor.",
                integer(1, PageRequest::<S>::MAX_PAGE_DEPTH, 1),
            ),
            query(
                "pageSize",
                "Rows per page.",
                integer(
                    1,
                    PageRequest::<S>::MAX_PAGE_SIZE,
                    PageRequest::<S>::DEFAULT_PAGE_SIZE,
                ),
            ),
            query(
                "sortBy",
                "The field to sort by.",
                one_of(S::NAMES, S::DEFAULT.as_str()),
            ),
            query(
                "sortDirection",
                "The order.",
                one_of(&["asc", "desc"], "desc"),
            ),
            query(
                "searchQuery",
                "A case-insensitive, literal substring to search for.",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(PageRequest::<S>::MAX_SEARCH_CHARS))
                    .pattern(Some("^[^\\u0000]*$")),
            ),
            query(
                "cursor",
                "`nextCursor` of the previous page (keyset pagination in the same order): \
                 an opaque value only the server makes.",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(2048))
                    .pattern(Some("^([0-9a-f]{2})+$")),
            ),
        ]
    }
}

/// An optional enum filter of a list's query (`status=...`): `None` when
/// absent, 422 naming `field` for a value that is not one of `T`'s.
pub fn enum_filter<T>(field: &str, raw: Option<String>) -> Result<Option<T>, domain::DomainError>
where
    T: std::str::FromStr,
    T::Err: domain::error::FieldErrorCode,
{
    let mut v = domain::Validation::default();
    let value = raw.map(|s| v.check(field, s.parse::<T>()));
    v.finish(Some(value.flatten()))
}

/// A list request's query string, read as text so that every rule is checked
/// (and reported) by [`domain::PageRequest::parse`]; 400 when the query string
/// cannot be read at all (bad percent-encoding, a parameter given twice).
#[derive(Debug)]
pub struct ListQuery(pub RawPageRequest);

impl FromRequest for ListQuery {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(read_list_query(req.query_string()).map(ListQuery))
    }
}

fn read_list_query(query: &str) -> Result<RawPageRequest, ApiError> {
    actix_web::web::Query::<RawPageRequest>::from_query(query)
        .map(actix_web::web::Query::into_inner)
        .map_err(|e| ApiError::BadRequest(format!("cannot read the query string: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        email: Option<String>,
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(
            parse::<Body>(b"{\"email\": "),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn bytes_after_the_object_are_a_bad_request() {
        assert!(matches!(
            parse::<Body>(br#"{"email": "a@b.co"} trailing"#),
            Err(ApiError::BadRequest(_))
        ));
        assert!(parse::<Body>(b" {\"email\": \"a@b.co\"}\n").is_ok());
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let Err(ApiError::Domain(DomainError::Validation(errors))) =
            parse::<Body>(br#"{"email": 5}"#)
        else {
            panic!("expected a validation error");
        };
        assert_eq!(errors[0].field, "email");
        assert_eq!(errors[0].code, "INVALID_TYPE");
    }

    #[test]
    fn list_parameters_are_read_as_text() {
        let raw = read_list_query("pageSize=abc&sortBy=name&searchQuery=50%25%20off").unwrap();
        assert_eq!(raw.page_size.as_deref(), Some("abc"));
        assert_eq!(raw.sort_by.as_deref(), Some("name"));
        assert_eq!(raw.search_query.as_deref(), Some("50% off"));
        assert!(raw.page.is_none());
        assert!(matches!(
            read_list_query("page=1&page=2"),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn a_nul_in_any_string_or_key_is_a_validation_error_naming_it() {
        for (body, field) in [
            (r#"{"email": "a\u0000@b.co"}"#, "email"),
            (
                r#"{"email": "a@b.co", "x": {"y": ["ok", "\u0000"]}}"#,
                "x.y[1]",
            ),
            (r#"{"a\u0000": 1}"#, "a\u{FFFD}"),
        ] {
            let Err(ApiError::Domain(DomainError::Validation(errors))) =
                parse::<Body>(body.as_bytes())
            else {
                panic!("{body}: expected a validation error");
            };
            assert_eq!(errors[0].field, field, "{body}");
            assert_eq!(errors[0].code, "INVALID_CHARACTER", "{body}");
        }
        // An escaped backslash followed by "u0000" is no NUL.
        assert!(parse::<Body>(br#"{"email": "\\u0000"}"#).is_ok());
    }

    #[test]
    fn a_non_object_body_is_a_validation_error() {
        assert!(matches!(
            parse::<Body>(b"[1, 2]"),
            Err(ApiError::Domain(DomainError::Validation(_)))
        ));
    }
}
