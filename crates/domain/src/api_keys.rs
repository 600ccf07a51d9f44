//! API keys: an organization's credentials for programs. A key acts inside its
//! own organization only, with role `admin` or `member`, until it expires or is
//! revoked. The secret is shown once and only its salted hash is kept.

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::{DomainError, FieldError, Validation};
use crate::id::{ApiKeyId, OrganizationId, UserId};
use crate::members::MemberRole;
use crate::values::PersonName;

/// A key's `lastUsedAt` is written at most this often: keeping it to the
/// minute costs one write a minute per busy key, not one per request.
pub const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::minutes(1);

/// 404 for a key that is not in the organization (or does not exist).
pub const API_KEY_NOT_FOUND: DomainError = DomainError::not_found("API key", "API_KEY_NOT_FOUND");

impl crate::id::ResourceId for ApiKeyId {
    const NOT_FOUND: DomainError = API_KEY_NOT_FOUND;
    const PARAM: &'static str = "keyId";
}

crate::sort_by! {
    /// `sortBy` of the API key list.
    ApiKeySort {
        /// Creation time (the default).
        CreatedAt => "createdAt",
        /// Name, alphabetically.
        Name => "name",
    }
}

/// A stored API key (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// Identity.
    pub id: ApiKeyId,
    /// The only organization it acts in.
    pub organization_id: OrganizationId,
    /// The user who created it.
    pub created_by: UserId,
    /// What it is for, 1 to 100 characters.
    pub name: String,
    /// `admin` or `member`.
    pub role: MemberRole,
    /// The public lookup part of the key (`gwk_<prefix>_...`).
    pub prefix: String,
    /// Last use, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// After this instant the key no longer works; `None`: never expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Set when revoked (by a person, or with its organization).
    pub revoked_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl ApiKey {
    /// Whether it authenticates at `now`: not revoked, not expired.
    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }

    /// Whether a use at `now` should be written down (see [`LAST_USED_RESOLUTION`]).
    pub fn needs_touch_at(&self, now: DateTime<Utc>) -> bool {
        self.last_used_at
            .is_none_or(|at| now - at >= LAST_USED_RESOLUTION)
    }
}

/// A validated request for a new key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyDraft {
    /// What it is for.
    pub name: PersonName,
    /// `admin` or `member` (never above the creator's role; checked by the service).
    pub role: MemberRole,
    /// Optional expiry, in the future.
    pub expires_at: Option<DateTime<Utc>>,
}

/// `Ok` when a creator with role `creator` may give a key `role`: keys are
/// `admin` or `member`, never above the creator.
pub fn may_grant(creator: MemberRole, role: MemberRole) -> Result<(), DomainError> {
    if role == MemberRole::Owner {
        return Err(DomainError::invalid(
            "role",
            "INVALID_ROLE",
            "an API key's role is admin or member",
        ));
    }
    crate::members::require_role(creator, role)
}

/// The roles a key may have (`admin`, `member`).
pub const KEY_ROLES: [MemberRole; 2] = [MemberRole::Admin, MemberRole::Member];

/// The key roles above `holder`: what the keys of a member whose role became
/// `holder` may no longer keep (an admin demoted to member loses their admin
/// keys), since a key never acts above the person who answers for it.
pub fn key_roles_above(holder: MemberRole) -> Vec<MemberRole> {
    KEY_ROLES
        .into_iter()
        .filter(|role| !holder.at_least(*role))
        .collect()
}

/// A key as asked for.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateApiKeyBody))]
#[serde(rename_all = "camelCase")]
pub struct CreateApiKeyRequest {
    /// What it is for, 1 to 100 characters.
    #[validate(
        required(code = "REQUIRED", message = "name is required"),
        custom(function = "crate::validate::name")
    )]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::validate::name_schema, required = true, example = "CI deploys"))]
    pub name: Option<String>,
    /// `admin` or `member`, at most the creator's role.
    #[validate(
        required(code = "REQUIRED", message = "role is required"),
        custom(function = "crate::validate::variant::<MemberRole>"),
        custom(function = "crate::validate::key_role")
    )]
    #[cfg_attr(feature = "openapi", schema(schema_with = key_role_schema, required = true, example = "member"))]
    pub role: Option<String>,
    /// Optional expiry (RFC 3339), in the future.
    #[validate(custom(function = "crate::validate::timestamp"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<String>,
}

/// `role` of [`CreateApiKeyRequest`]: a member role other than `owner`.
#[cfg(feature = "openapi")]
fn key_role_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some([
            MemberRole::Admin.as_str(),
            MemberRole::Member.as_str(),
        ]))
        .build()
}

impl CreateApiKeyRequest {
    /// The draft of a key created at `now`: 422 for a broken rule, a role of
    /// `owner`, or an expiry that is not after `now`.
    pub fn into_draft(self, now: DateTime<Utc>) -> Result<ApiKeyDraft, DomainError> {
        let mut v = Validation::of(&self);
        let name = v
            .required("name", self.name)
            .and_then(|n| v.check("name", PersonName::parse(&n)));
        let role = v
            .required("role", self.role)
            .and_then(|r| v.check("role", r.parse::<MemberRole>()));
        let expires_at = match self.expires_at {
            None => Some(None),
            Some(raw) => v
                .check("expiresAt", crate::validate::parse_timestamp(&raw))
                .and_then(|at| {
                    if at > now {
                        Some(Some(at))
                    } else {
                        v.push(FieldError::new(
                            "expiresAt",
                            "OUT_OF_RANGE",
                            "must be in the future",
                        ));
                        None
                    }
                }),
        };
        let ((name, role), expires_at) = v.finish(name.zip(role).zip(expires_at))?;
        Ok(ApiKeyDraft {
            name,
            role,
            expires_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(last_used: Option<i64>, expires: Option<i64>, revoked: bool) -> (ApiKey, DateTime<Utc>) {
        let now = Utc::now();
        let key = ApiKey {
            id: ApiKeyId::new(),
            organization_id: OrganizationId::new(),
            created_by: UserId::new(),
            name: "ci".into(),
            role: MemberRole::Member,
            prefix: "0123456789abcdef".into(),
            last_used_at: last_used.map(|s| now - TimeDelta::seconds(s)),
            expires_at: expires.map(|s| now + TimeDelta::seconds(s)),
            revoked_at: revoked.then_some(now),
            created_at: now,
        };
        (key, now)
    }

    #[test]
    fn a_key_is_active_until_revoked_or_expired() {
        let (k, now) = key(None, None, false);
        assert!(k.is_active_at(now));
        let (k, now) = key(None, Some(-1), false);
        assert!(!k.is_active_at(now));
        let (k, now) = key(None, Some(60), true);
        assert!(!k.is_active_at(now));
    }

    #[test]
    fn use_is_written_at_most_once_a_minute() {
        assert!(key(None, None, false).0.needs_touch_at(Utc::now()));
        let (k, now) = key(Some(30), None, false);
        assert!(!k.needs_touch_at(now));
        let (k, now) = key(Some(61), None, false);
        assert!(k.needs_touch_at(now));
    }

    #[test]
    fn a_demoted_members_keys_above_their_new_role_are_named() {
        assert_eq!(key_roles_above(MemberRole::Member), [MemberRole::Admin]);
        assert!(key_roles_above(MemberRole::Admin).is_empty());
        assert!(key_roles_above(MemberRole::Owner).is_empty());
    }

    #[test]
    fn keys_are_never_owners_nor_above_their_creator() {
        assert!(may_grant(MemberRole::Owner, MemberRole::Admin).is_ok());
        assert!(may_grant(MemberRole::Admin, MemberRole::Member).is_ok());
        assert!(matches!(
            may_grant(MemberRole::Owner, MemberRole::Owner),
            Err(DomainError::Validation(_))
        ));
        assert!(matches!(
            may_grant(MemberRole::Member, MemberRole::Admin),
            Err(DomainError::Forbidden { .. })
        ));
    }
}
