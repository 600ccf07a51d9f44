//! Typed paths: one extractor per path shape, so no handler parses an ID.
//!
//! - [`Org`], for `/organizations/{orgId}/...`;
//! - [`OrgItem`], for `/organizations/{orgId}/.../{itemId}`, an item of kind `I`;
//! - [`Item`], for `/.../{itemId}` outside an organization (the admin routes,
//!   one's sessions);
//! - [`ContextKeyPath`] and [`NewContextKeyPath`], for
//!   `/organizations/{orgId}/context/{key}`: an item named by a key, not an ID.
//!
//! Each parses its typed IDs once and answers the resource's `*_NOT_FOUND` (404)
//! for an ID that is malformed or of another kind, as for one that names nothing
//! the caller may see. Each documents itself in OpenAPI: as `params(...)` (the
//! path parameters) and in `responses(...)` (the 404 with its codes), so a
//! handler names its path type twice and writes neither by hand.

use std::collections::BTreeMap;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use domain::context_entries::{self, CONTEXT_ENTRY_NOT_FOUND, ContextKey};
use domain::feature_flags::{self, FEATURE_FLAG_NOT_FOUND, FlagKey};
use domain::github::GITHUB_INSTALLATION_NOT_FOUND;
use domain::plans::{self, PLAN_NOT_FOUND, PlanKey};
use domain::{
    ApiKeyId, DomainError, EndpointId, InvitationId, JobId, MemberId, OrganizationId, ResourceId,
    SessionId, TaskId, UserId,
};
use domain::{DeliveryId, WebhookId};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required};
use utoipa::{IntoParams, IntoResponses};

use crate::error::ApiError;

/// The organization a route addresses (`{orgId}`).
#[derive(Clone, Copy, Debug)]
pub struct Org(pub OrganizationId);

/// The organization a route addresses and one of its items of kind `I`.
#[derive(Clone, Copy, Debug)]
pub struct OrgItem<I>(pub OrganizationId, pub I);

/// The organization a route addresses, one of its items of kind `I`, and one
/// of that item's own items of kind `J` (a job's task).
#[derive(Clone, Copy, Debug)]
pub struct OrgSubItem<I, J>(pub OrganizationId, pub I, pub J);

/// An item of kind `I` addressed outside any organization.
#[derive(Clone, Copy, Debug)]
pub struct Item<I>(pub I);

/// `I` from the request's path: `I::NOT_FOUND` unless it parses.
fn read<I: ResourceId>(req: &HttpRequest) -> Result<I, ApiError> {
    let raw = req.match_info().get(I::PARAM).ok_or_else(|| {
        // A route whose pattern lacks the parameter: a programming error.
        DomainError::Internal(format!("the route has no {{{}}} parameter", I::PARAM))
    })?;
    I::parse_str(raw).map_err(|_| I::NOT_FOUND.into())
}

impl FromRequest for Org {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(read(req).map(Self))
    }
}

impl<I: ResourceId> FromRequest for OrgItem<I> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(read(req).and_then(|org| Ok(Self(org, read(req)?))))
    }
}

impl<I: ResourceId, J: ResourceId> FromRequest for OrgSubItem<I, J> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(read(req).and_then(|org| Ok(Self(org, read(req)?, read(req)?))))
    }
}

impl<I: ResourceId> FromRequest for Item<I> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(read(req).map(Self))
    }
}

fn parameter<I: ResourceId>() -> Parameter {
    ParameterBuilder::new()
        .name(I::PARAM)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(format!("`{}_...`", I::PREFIX)))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                // The prefix and a canonical ULID (Crockford base32, 26 characters).
                .pattern(Some(format!(
                    "^{}_[0-7][0-9A-HJKMNP-TV-Z]{{25}}$",
                    I::PREFIX
                ))),
        ))
        .build()
}

fn code<I: ResourceId>() -> &'static str {
    match I::NOT_FOUND {
        DomainError::NotFound { code, .. } => code,
        _ => "NOT_FOUND",
    }
}

fn not_found(codes: &[&str]) -> BTreeMap<String, RefOr<Response>> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    let response = ResponseBuilder::new()
        .description(format!(
            "{}: the ID is malformed, of another kind, unknown, deleted, or not the caller's",
            codes.join(", ")
        ))
        .content("application/problem+json", content)
        .build();
    BTreeMap::from([("404".to_owned(), response.into())])
}

impl IntoParams for Org {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![parameter::<OrganizationId>()]
    }
}

impl IntoResponses for Org {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        not_found(&[code::<OrganizationId>()])
    }
}

impl<I: ResourceId> IntoParams for OrgItem<I> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![parameter::<OrganizationId>(), parameter::<I>()]
    }
}

impl<I: ResourceId> IntoResponses for OrgItem<I> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        not_found(&[code::<OrganizationId>(), code::<I>()])
    }
}

impl<I: ResourceId, J: ResourceId> IntoParams for OrgSubItem<I, J> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            parameter::<OrganizationId>(),
            parameter::<I>(),
            parameter::<J>(),
        ]
    }
}

impl<I: ResourceId, J: ResourceId> IntoResponses for OrgSubItem<I, J> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        not_found(&[code::<OrganizationId>(), code::<I>(), code::<J>()])
    }
}

impl<I: ResourceId> IntoParams for Item<I> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![parameter::<I>()]
    }
}

impl<I: ResourceId> IntoResponses for Item<I> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        not_found(&[code::<I>()])
    }
}

/// `/organizations/{orgId}/context/{key}` for a read or a delete: the
/// organization and a context entry's key. A malformed key is 404
/// `CONTEXT_ENTRY_NOT_FOUND`, as for any key with no entry: nothing can be
/// stored under it.
#[derive(Clone, Debug)]
pub struct ContextKeyPath(pub OrganizationId, pub ContextKey);

/// `/organizations/{orgId}/context/{key}` for a write: a malformed key is 422
/// (`key`), since the write would create it.
#[derive(Clone, Debug)]
pub struct NewContextKeyPath(pub OrganizationId, pub ContextKey);

/// The raw `{key}` of the request's path.
fn raw_key(req: &HttpRequest) -> Result<&str, ApiError> {
    req.match_info()
        .get(KEY_PARAM)
        .ok_or_else(|| DomainError::Internal("the route has no {key} parameter".into()).into())
}

const KEY_PARAM: &str = "key";

impl FromRequest for ContextKeyPath {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(read(req).and_then(|org| {
            let key = ContextKey::parse(raw_key(req)?).map_err(|_| CONTEXT_ENTRY_NOT_FOUND)?;
            Ok(Self(org, key))
        }))
    }
}

impl FromRequest for NewContextKeyPath {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(read(req).and_then(|org| {
            Ok(Self(
                org,
                context_entries::parse_key_to_write(raw_key(req)?)?,
            ))
        }))
    }
}

fn key_parameter() -> Parameter {
    ParameterBuilder::new()
        .name(KEY_PARAM)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(
            "A context entry's key: 1 to 128 characters, a letter or digit, then letters, \
             digits, `.`, `_`, `:` and `-` (case-sensitive)",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(context_entries::KEY_PATTERN)),
        ))
        .build()
}

impl IntoParams for ContextKeyPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![parameter::<OrganizationId>(), key_parameter()]
    }
}

impl IntoResponses for ContextKeyPath {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let context = match CONTEXT_ENTRY_NOT_FOUND {
            DomainError::NotFound { code, .. } => code,
            _ => "NOT_FOUND",
        };
        not_found(&[code::<OrganizationId>(), context])
    }
}

impl IntoParams for NewContextKeyPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![parameter::<OrganizationId>(), key_parameter()]
    }
}

impl IntoResponses for NewContextKeyPath {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        not_found(&[code::<OrganizationId>()])
    }
}

/// `/admin/feature-flags/{key}`: a flag named by its key. A malformed key is
/// `FEATURE_FLAG_NOT_FOUND`, as for any key with no flag.
#[derive(Clone, Debug)]
pub struct FlagKeyPath(pub FlagKey);

impl FromRequest for FlagKeyPath {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(raw_key(req).and_then(|raw| {
            let key = FlagKey::parse(raw).map_err(|_| FEATURE_FLAG_NOT_FOUND)?;
            Ok(Self(key))
        }))
    }
}

impl IntoParams for FlagKeyPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name(KEY_PARAM)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("A feature flag's key"))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(feature_flags::KEY_PATTERN)),
                ))
                .build(),
        ]
    }
}

impl IntoResponses for FlagKeyPath {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let code = match FEATURE_FLAG_NOT_FOUND {
            DomainError::NotFound { code, .. } => code,
            _ => "NOT_FOUND",
        };
        not_found(&[code])
    }
}

/// `/admin/plans/{planKey}`: a plan named by its key. A malformed key is
/// `PLAN_NOT_FOUND`, as for any key with no plan.
#[derive(Clone, Debug)]
pub struct PlanKeyPath(pub PlanKey);

const PLAN_KEY_PARAM: &str = "planKey";

impl FromRequest for PlanKeyPath {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let raw = req.match_info().get(PLAN_KEY_PARAM).ok_or_else(|| {
            ApiError::from(DomainError::Internal(
                "the route has no {planKey} parameter".into(),
            ))
        });
        std::future::ready(raw.and_then(|raw| {
            let key = PlanKey::parse(raw).map_err(|_| PLAN_NOT_FOUND)?;
            Ok(Self(key))
        }))
    }
}

impl IntoParams for PlanKeyPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name(PLAN_KEY_PARAM)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("A plan's key"))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(plans::KEY_PATTERN)),
                ))
                .build(),
        ]
    }
}

impl IntoResponses for PlanKeyPath {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let code = match PLAN_NOT_FOUND {
            DomainError::NotFound { code, .. } => code,
            _ => "NOT_FOUND",
        };
        not_found(&[code])
    }
}

/// `/organizations/{orgId}/members/{memberId}`.
pub type MemberPath = OrgItem<MemberId>;
/// `/organizations/{orgId}/invitations/{invitationId}`.
pub type InvitationPath = OrgItem<InvitationId>;
/// `/organizations/{orgId}/api-keys/{keyId}`.
pub type ApiKeyPath = OrgItem<ApiKeyId>;
/// `/organizations/{orgId}/jobs/{jobId}`.
pub type JobPath = OrgItem<JobId>;
/// `/organizations/{orgId}/jobs/{jobId}/tasks/{taskId}`.
pub type TaskPath = OrgSubItem<JobId, TaskId>;
/// `/organizations/{orgId}/endpoints/{endpointId}`.
pub type EndpointPath = OrgItem<EndpointId>;
/// `/organizations/{orgId}/webhooks/{webhookId}`.
pub type WebhookPath = OrgItem<WebhookId>;
/// `/organizations/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}`.
pub type DeliveryPath = OrgSubItem<WebhookId, DeliveryId>;
/// `/admin/users/{userId}`.
pub type UserPath = Item<UserId>;
/// `/admin/organizations/{orgId}`.
pub type OrganizationPath = Item<OrganizationId>;
/// `/me/sessions/{sessionId}`.
pub type SessionPath = Item<SessionId>;

/// `/organizations/{orgId}/github/installations/{installationId}`: an
/// installation named by GitHub's numeric id. Anything but a positive integer
/// is 404 `GITHUB_INSTALLATION_NOT_FOUND`, as for an id not linked to the
/// organization.
#[derive(Clone, Copy, Debug)]
pub struct InstallationPath(pub OrganizationId, pub i64);

const INSTALLATION_PARAM: &str = "installationId";

impl FromRequest for InstallationPath {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(read(req).and_then(|org| {
            let id = req
                .match_info()
                .get(INSTALLATION_PARAM)
                .and_then(|raw| raw.parse::<i64>().ok())
                .filter(|id| *id > 0)
                .ok_or(GITHUB_INSTALLATION_NOT_FOUND)?;
            Ok(Self(org, id))
        }))
    }
}

impl IntoParams for InstallationPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let installation = ParameterBuilder::new()
            .name(INSTALLATION_PARAM)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some("GitHub's installation id"))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Int64,
                    )))
                    .minimum(Some(1)),
            ))
            .build();
        vec![parameter::<OrganizationId>(), installation]
    }
}

impl IntoResponses for InstallationPath {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let installation = match GITHUB_INSTALLATION_NOT_FOUND {
            DomainError::NotFound { code, .. } => code,
            _ => "NOT_FOUND",
        };
        not_found(&[code::<OrganizationId>(), installation])
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn request(org: &str, member: &str) -> HttpRequest {
        TestRequest::default()
            .param("orgId", org.to_owned())
            .param("memberId", member.to_owned())
            .to_http_request()
    }

    #[test]
    fn ids_of_the_wrong_kind_are_the_resource_s_404() {
        let org = OrganizationId::new().to_string();
        let member = MemberId::new().to_string();
        let ok = read::<MemberId>(&request(&org, &member)).unwrap();
        assert_eq!(ok.to_string(), member);
        for (org, member, code) in [
            ("org_nope", member.as_str(), "ORGANIZATION_NOT_FOUND"),
            (member.as_str(), member.as_str(), "ORGANIZATION_NOT_FOUND"),
            (org.as_str(), org.as_str(), "MEMBER_NOT_FOUND"),
        ] {
            let req = request(org, member);
            let err = read::<OrganizationId>(&req)
                .and_then(|_| read::<MemberId>(&req))
                .unwrap_err();
            let ApiError::Domain(DomainError::NotFound { code: got, .. }) = err else {
                panic!("expected a 404, got {err:?}");
            };
            assert_eq!(got, code);
        }
    }
}
