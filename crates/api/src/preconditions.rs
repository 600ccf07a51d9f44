//! Conditional requests on a resource whose entity tag is its version
//! (`ETag: "3"`): the `If-Match` and `If-None-Match` headers read into
//! [`domain::preconditions::Preconditions`], which the use case checks under
//! its lock.
//!
//! A header is `*` or a comma-separated list of entity tags (`"3"`, `W/"3"`),
//! RFC 9110 §8.8.3. Anything else, `If-Match: 3` (unquoted) say, is 400
//! `BAD_REQUEST` rather than a 412: the client's request is wrong, not out of
//! date, and telling it so beats letting it retry a write that can never pass.

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderName, IF_MATCH, IF_NONE_MATCH};
use actix_web::{FromRequest, HttpRequest};
use domain::preconditions::{Preconditions, Tags};
use utoipa::IntoParams;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use crate::error::ApiError;

/// The rule of an `If-Match` / `If-None-Match` value as the server reads it
/// (ECMA-262, for the OpenAPI document): `*`, or a list of entity tags
/// separated by commas (elements may be empty).
pub const CONDITION_PATTERN: &str =
    r#"^(\*|[ \t]*((W/)?"[!#-~]*")?([ \t]*,[ \t]*((W/)?"[!#-~]*")?)*[ \t]*)$"#;

/// The `ETag` of version `version`: `"<version>"`.
pub fn etag(version: u32) -> String {
    format!("\"{version}\"")
}

/// One entity tag: weak or not, and its opaque text.
#[derive(Debug, PartialEq, Eq)]
struct EntityTag<'a> {
    weak: bool,
    text: &'a str,
}

/// What a header said: `*`, or a list of tags.
#[derive(Debug, PartialEq, Eq)]
enum Field<'a> {
    Any,
    Tags(Vec<EntityTag<'a>>),
}

/// Parses a field value against [`CONDITION_PATTERN`]; `None` when it does not
/// match. A list may be empty and hold empty elements (`"1", , "2"`), as RFC
/// 9110 §5.6.1.2 asks a recipient to accept; an empty list names no version.
fn parse_field(value: &str) -> Option<Field<'_>> {
    const OWS: [char; 2] = [' ', '\t'];
    let value = value.trim_matches(OWS);
    if value == "*" {
        return Some(Field::Any);
    }
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(OWS);
        if rest.is_empty() {
            return Some(Field::Tags(tags));
        }
        if let Some(after) = rest.strip_prefix(',') {
            // An empty element.
            rest = after;
            continue;
        }
        let (weak, quoted) = match rest.strip_prefix("W/") {
            Some(quoted) => (true, quoted),
            None => (false, rest),
        };
        let body = quoted.strip_prefix('"')?;
        let end = body.find('"')?;
        let text = &body[..end];
        // etagc: %x21 / %x23-7E (no obs-text: the header is ASCII here).
        if !text
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x7E).contains(&b))
        {
            return None;
        }
        tags.push(EntityTag { weak, text });
        rest = body[end + 1..].trim_start_matches(OWS);
        if !rest.is_empty() {
            rest = rest.strip_prefix(',')?;
        }
    }
}

/// A tag's version when it names one the way the server writes it (`"3"`, not
/// `"03"` nor `"+3"`): strong comparison is string equality.
fn version_of(text: &str) -> Option<u32> {
    text.parse::<u32>().ok().filter(|n| n.to_string() == text)
}

/// The header `name`, its lines joined as one list; `None` when absent; 400
/// when it is not `*` nor a list of entity tags.
fn read_header(
    req: &HttpRequest,
    name: &HeaderName,
    strong_only: bool,
) -> Result<Option<Tags>, ApiError> {
    let mut lines = Vec::new();
    for value in req.headers().get_all(name) {
        lines.push(value.to_str().map_err(|_| malformed(name))?);
    }
    if lines.is_empty() {
        return Ok(None);
    }
    let joined = lines.join(", ");
    match parse_field(&joined).ok_or_else(|| malformed(name))? {
        Field::Any => Ok(Some(Tags::Any)),
        Field::Tags(tags) => Ok(Some(Tags::Versions(
            tags.into_iter()
                // If-Match compares strongly: a weak tag never matches.
                .filter(|tag| !(strong_only && tag.weak))
                .filter_map(|tag| version_of(tag.text))
                .collect(),
        ))),
    }
}

fn malformed(name: &HeaderName) -> ApiError {
    ApiError::BadRequest(format!(
        "{name} must be * or a list of quoted entity tags, such as \"3\""
    ))
}

/// A write's preconditions: `If-Match` (strong comparison) and
/// `If-None-Match` (weak comparison). 400 when either is malformed.
#[derive(Debug)]
pub struct WriteConditions(pub Preconditions);

impl FromRequest for WriteConditions {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready((|| {
            Ok(Self(Preconditions {
                if_match: read_header(req, &IF_MATCH, true)?,
                if_none_match: read_header(req, &IF_NONE_MATCH, false)?,
            }))
        })())
    }
}

/// A read's precondition: `If-None-Match` (304 when it names the version
/// read). 400 when it is malformed.
#[derive(Debug)]
pub struct ReadConditions(pub Preconditions);

impl FromRequest for ReadConditions {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            read_header(req, &IF_NONE_MATCH, false).map(|if_none_match| {
                Self(Preconditions {
                    if_match: None,
                    if_none_match,
                })
            }),
        )
    }
}

fn header_parameter(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(CONDITION_PATTERN)),
        ))
        .build()
}

const IF_MATCH_DOC: &str = "Write only if the entry's current version is one of these \
     entity tags (`\"3\"`; a weak tag never matches), or, for `*`, only if the entry exists; \
     otherwise 412 `PRECONDITION_FAILED` and nothing is written. Malformed: 400.";

const IF_NONE_MATCH_WRITE_DOC: &str = "`*`: write only if the entry does not exist (create \
     only); tags: only if its current version is none of them. Otherwise 412 \
     `PRECONDITION_FAILED` and nothing is written. Malformed: 400.";

const IF_NONE_MATCH_READ_DOC: &str = "304 Not Modified (no body) when this names the \
     version read (`\"3\"`, `W/\"3\"` or `*`). Malformed: 400.";

impl IntoParams for WriteConditions {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            header_parameter("If-Match", IF_MATCH_DOC),
            header_parameter("If-None-Match", IF_NONE_MATCH_WRITE_DOC),
        ]
    }
}

impl IntoParams for ReadConditions {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![header_parameter("If-None-Match", IF_NONE_MATCH_READ_DOC)]
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn write(headers: &[(&HeaderName, &str)]) -> Result<Preconditions, ApiError> {
        let mut req = TestRequest::default();
        for (name, value) in headers {
            req = req.append_header(((*name).clone(), *value));
        }
        let req = req.to_http_request();
        Ok(WriteConditions::from_request(&req, &mut Payload::None)
            .into_inner()?
            .0)
    }

    #[test]
    fn tags_and_star_are_read() {
        let p = write(&[(&IF_MATCH, r#""3", W/"4" ,"x","03""#)]).unwrap();
        assert_eq!(p.if_match, Some(Tags::Versions(vec![3])));
        assert_eq!(p.if_none_match, None);
        let p = write(&[(&IF_NONE_MATCH, r#"W/"4""#), (&IF_MATCH, "*")]).unwrap();
        assert_eq!(p.if_match, Some(Tags::Any));
        assert_eq!(p.if_none_match, Some(Tags::Versions(vec![4])));
        // Two lines are one list.
        let p = write(&[(&IF_MATCH, r#""1""#), (&IF_MATCH, r#""2""#)]).unwrap();
        assert_eq!(p.if_match, Some(Tags::Versions(vec![1, 2])));
        assert_eq!(write(&[]).unwrap(), Preconditions::none());
        for odd in ["\"\"", "\"!#~\"", " \"1\"\t,\t\"2\" ", "\"a,b\""] {
            assert!(parse_field(odd).is_some(), "{odd:?}");
        }
        // Empty lists and elements (RFC 9110 §5.6.1.2): an empty If-Match names
        // no version, so it never holds.
        let p = write(&[(&IF_MATCH, ""), (&IF_NONE_MATCH, " , \"2\",, ")]).unwrap();
        assert_eq!(p.if_match, Some(Tags::Versions(vec![])));
        assert_eq!(p.if_none_match, Some(Tags::Versions(vec![2])));
    }

    #[test]
    fn anything_else_is_a_bad_request() {
        for bad in [
            "3",
            "\"3",
            "\"3\" \"4\"",
            "*, \"3\"",
            "w/\"3\"",
            "\"a b\"",
            "\"3\" ,x",
            "W/ \"3\"",
        ] {
            assert!(
                matches!(write(&[(&IF_MATCH, bad)]), Err(ApiError::BadRequest(_))),
                "{bad:?} was accepted"
            );
        }
    }
}
