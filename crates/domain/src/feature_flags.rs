//! Feature flags: platform-wide switches that platform admins manage and each
//! organization reads, evaluated per organization.
//!
//! A flag is off for everyone when disabled; otherwise an organization in its
//! deny list does not get it, one in its allow list does, and any other gets it
//! when its bucket ([`bucket`]) falls within the rollout percentage. The bucket
//! hashes the flag's key with the organization's ID, so it is the same on every
//! server and database, raising the percentage only adds organizations, and two
//! flags at 10% reach different organizations (about 1% get both).

use std::io::Cursor;

use chrono::{DateTime, Utc};

use crate::error::{DomainError, FieldErrorCode, Validation};
use crate::id::{FeatureFlagId, OrganizationId};
use crate::text_enum;

/// 404 for a key that names no flag.
pub const FEATURE_FLAG_NOT_FOUND: DomainError =
    DomainError::not_found("feature flag", "FEATURE_FLAG_NOT_FOUND");

/// 409 code for a key another flag has.
pub const FLAG_KEY_TAKEN: &str = "FLAG_KEY_TAKEN";

/// The longest key, in characters.
pub const MAX_KEY_CHARS: usize = 100;

/// [`FlagKey`]'s rule as a regular expression (for the OpenAPI document).
pub const KEY_PATTERN: &str = "^[a-z0-9][a-z0-9._-]{0,99}$";

/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: u64 = 500;

/// The most organizations an allow or deny list holds.
pub const MAX_LISTED_ORGANIZATIONS: u64 = 1_000;

crate::sort_by! {
    /// `sortBy` of the flag list.
    FeatureFlagSort {
        /// Creation time (the default).
        CreatedAt => "createdAt",
        /// Key, alphabetically.
        Key => "key",
    }
}

/// Why a string is not a flag key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FlagKeyError {
    /// Empty.
    #[error("key is required")]
    Empty,
    /// Over [`MAX_KEY_CHARS`].
    #[error("key must be at most 100 characters")]
    TooLong,
    /// Not as [`KEY_PATTERN`] says.
    #[error(
        "key must start with a lowercase letter or digit and hold only lowercase letters, digits, '.', '_' and '-'"
    )]
    Format,
}

impl FieldErrorCode for FlagKeyError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "REQUIRED",
            Self::TooLong => "TOO_LONG",
            Self::Format => "INVALID_FORMAT",
        }
    }
}

/// A flag's key: 1 to 100 characters, a lowercase letter or digit first, then
/// lowercase letters, digits, `.`, `_` and `-` ([`KEY_PATTERN`]). It names the
/// flag in URLs and salts its buckets, so it never changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlagKey(String);

impl FlagKey {
    /// Parses a key, strictly (no trimming, no case folding).
    pub fn parse(raw: &str) -> Result<Self, FlagKeyError> {
        let bytes = raw.as_bytes();
        let Some(first) = bytes.first() else {
            return Err(FlagKeyError::Empty);
        };
        let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if !allowed(first)
            || !bytes
                .iter()
                .all(|b| allowed(b) || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(FlagKeyError::Format);
        }
        if bytes.len() > MAX_KEY_CHARS {
            return Err(FlagKeyError::TooLong);
        }
        Ok(Self(raw.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for FlagKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A rollout percentage, 0 to 100.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct RolloutPercent(u8);

/// A percentage outside 0–100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rolloutPercent is 0 to 100")]
pub struct PercentOutOfRange;

impl FieldErrorCode for PercentOutOfRange {
    fn code(&self) -> &'static str {
        "OUT_OF_RANGE"
    }
}

impl RolloutPercent {
    /// Everyone outside the lists.
    pub const ALL: Self = Self(100);

    /// `value` when it is 0 to 100.
    pub fn new(value: i64) -> Result<Self, PercentOutOfRange> {
        u8::try_from(value)
            .ok()
            .filter(|v| *v <= 100)
            .map(Self)
            .ok_or(PercentOutOfRange)
    }

    /// The percentage.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// The bucket of organization `org` for flag `key`, 1 to 100:
/// `murmur3_x86_32("{key}:{org}", seed 0) % 100 + 1`, with `org` in its public
/// form (`org_...`). MurmurHash3 as Unleash and GrowthBook use it: fast, well
/// spread, and the same on every platform. The key salts the hash, so each
/// flag orders the organizations differently.
pub fn bucket(key: &FlagKey, org: OrganizationId) -> u32 {
    murmur3_x86_32(format!("{key}:{org}").as_bytes()) % 100 + 1
}

/// Whether `org` falls within `percent` of flag `key`'s rollout: its
/// [`bucket`] is at most `percent`. A larger percentage keeps every
/// organization a smaller one had.
pub fn in_rollout(key: &FlagKey, org: OrganizationId, percent: RolloutPercent) -> bool {
    bucket(key, org) <= u32::from(percent.get())
}

/// MurmurHash3, x86 32-bit variant, seed 0.
fn murmur3_x86_32(bytes: &[u8]) -> u32 {
    // Reading a slice cannot fail.
    murmur3::murmur3_32(&mut Cursor::new(bytes), 0).unwrap_or_default()
}

text_enum! {
    /// Why a flag is on or off for an organization.
    FlagReason {
        /// The flag is off, or the organization is in its deny list.
        Disabled => "DISABLED",
        /// The organization is in its allow list.
        TargetingMatch => "TARGETING_MATCH",
        /// The organization's bucket is within the rollout.
        Split => "SPLIT",
        /// The organization's bucket is outside the rollout.
        Default => "DEFAULT",
    }
}

/// A flag's value for one organization, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// Whether the organization has the feature.
    pub enabled: bool,
    /// Why.
    pub reason: FlagReason,
}

/// A stored flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureFlag {
    /// Identity.
    pub id: FeatureFlagId,
    /// Its unique, unchanging key.
    pub key: FlagKey,
    /// What it is for.
    pub description: Option<String>,
    /// Off for everyone when false.
    pub enabled: bool,
    /// The share of the other organizations that get it.
    pub rollout_percent: RolloutPercent,
    /// Organizations that get it (unless denied).
    pub allow_organizations: Vec<OrganizationId>,
    /// Organizations that never get it.
    pub deny_organizations: Vec<OrganizationId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl FeatureFlag {
    /// The flag's value for `org`: off when disabled or denied (deny wins
    /// over allow), on when allowed, else by the rollout.
    pub fn evaluate(&self, org: OrganizationId) -> Evaluation {
        let (enabled, reason) = if !self.enabled || self.deny_organizations.contains(&org) {
            (false, FlagReason::Disabled)
        } else if self.allow_organizations.contains(&org) {
            (true, FlagReason::TargetingMatch)
        } else if in_rollout(&self.key, org, self.rollout_percent) {
            (true, FlagReason::Split)
        } else {
            (false, FlagReason::Default)
        };
        Evaluation { enabled, reason }
    }
}

/// A validated new flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureFlagDraft {
    /// Key.
    pub key: FlagKey,
    /// Description.
    pub description: Option<String>,
    /// On or off (default off).
    pub enabled: bool,
    /// Rollout (default 0).
    pub rollout_percent: RolloutPercent,
    /// Allow list (default empty).
    pub allow_organizations: Vec<OrganizationId>,
    /// Deny list (default empty).
    pub deny_organizations: Vec<OrganizationId>,
}

/// A validated partial change; `None` leaves a field alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeatureFlagChanges {
    /// A new description, or `Some(None)` to remove it.
    pub description: Option<Option<String>>,
    /// On or off.
    pub enabled: Option<bool>,
    /// A new rollout.
    pub rollout_percent: Option<RolloutPercent>,
    /// A new allow list, replacing the old one.
    pub allow_organizations: Option<Vec<OrganizationId>>,
    /// A new deny list, replacing the old one.
    pub deny_organizations: Option<Vec<OrganizationId>>,
}

impl FeatureFlagChanges {
    /// `flag` with these changes applied.
    pub fn apply(self, mut flag: FeatureFlag) -> FeatureFlag {
        if let Some(d) = self.description {
            flag.description = d;
        }
        if let Some(e) = self.enabled {
            flag.enabled = e;
        }
        if let Some(p) = self.rollout_percent {
            flag.rollout_percent = p;
        }
        if let Some(a) = self.allow_organizations {
            flag.allow_organizations = a;
        }
        if let Some(d) = self.deny_organizations {
            flag.deny_organizations = d;
        }
        flag
    }
}

/// A new flag as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateFeatureFlagBody))]
#[serde(rename_all = "camelCase")]
pub struct CreateFeatureFlagRequest {
    /// 1 to 100 characters: lowercase letters, digits, `.`, `_`, `-`, not
    /// starting with punctuation. Unique; never changes.
    #[validate(required(code = "REQUIRED", message = "key is required"))]
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = "^[a-z0-9][a-z0-9._-]{0,99}$",
            required = true,
            example = "new-dashboard"
        )
    )]
    pub key: Option<String>,
    /// At most 500 characters.
    #[validate(length(
        max = 500,
        code = "TOO_LONG",
        message = "description is at most 500 characters"
    ))]
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub description: Option<String>,
    /// Whether the flag is on at all (default false).
    pub enabled: Option<bool>,
    /// 0 to 100 (default 0).
    #[validate(range(
        min = 0,
        max = 100,
        code = "OUT_OF_RANGE",
        message = "rolloutPercent is 0 to 100"
    ))]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub rollout_percent: Option<i64>,
    /// `org_...` IDs that get the flag (at most 1,000).
    #[validate(length(max = 1000, code = "TOO_MANY", message = "at most 1000 organizations"))]
    #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
    pub allow_organizations: Option<Vec<String>>,
    /// `org_...` IDs that never get it, even when allowed (at most 1,000).
    #[validate(length(max = 1000, code = "TOO_MANY", message = "at most 1000 organizations"))]
    #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
    pub deny_organizations: Option<Vec<String>>,
}

/// Organization IDs, each checked (`INVALID_ID` against `field`), duplicates
/// dropped, in the order sent.
fn organizations(v: &mut Validation, field: &str, raw: Vec<String>) -> Option<Vec<OrganizationId>> {
    let mut ids = Vec::with_capacity(raw.len());
    let mut ok = true;
    for s in raw {
        match v.check(field, s.parse::<OrganizationId>()) {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => ok = false,
        }
    }
    ok.then_some(ids)
}

impl TryFrom<CreateFeatureFlagRequest> for FeatureFlagDraft {
    type Error = DomainError;

    fn try_from(body: CreateFeatureFlagRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let key = v
            .required("key", body.key)
            .and_then(|k| v.check("key", FlagKey::parse(&k)));
        let description = v.shape("description", body.description);
        let enabled = body.enabled.unwrap_or(false);
        let percent = v.check(
            "rolloutPercent",
            RolloutPercent::new(body.rollout_percent.unwrap_or(0)),
        );
        let allow = v
            .shape("allowOrganizations", body.allow_organizations)
            .and_then(|a| organizations(&mut v, "allowOrganizations", a.unwrap_or_default()));
        let deny = v
            .shape("denyOrganizations", body.deny_organizations)
            .and_then(|d| organizations(&mut v, "denyOrganizations", d.unwrap_or_default()));
        let (((key, description), percent), (allow, deny)) =
            v.finish(key.zip(description).zip(percent).zip(allow.zip(deny)))?;
        Ok(Self {
            key,
            description,
            enabled,
            rollout_percent: percent,
            allow_organizations: allow,
            deny_organizations: deny,
        })
    }
}

/// A change to a flag as sent; absent fields stay as they are. The key cannot
/// change (it salts the buckets).
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdateFeatureFlagBody))]
#[serde(rename_all = "camelCase")]
pub struct UpdateFeatureFlagRequest {
    /// At most 500 characters; `null` removes it.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(length(
        max = 500,
        code = "TOO_LONG",
        message = "description is at most 500 characters"
    ))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, nullable = true, max_length = 500))]
    pub description: Option<Option<String>>,
    /// On or off; cannot be `null`.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "openapi", schema(value_type = bool, required = false))]
    pub enabled: Option<Option<bool>>,
    /// 0 to 100; cannot be `null`.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(range(
        min = 0,
        max = 100,
        code = "OUT_OF_RANGE",
        message = "rolloutPercent is 0 to 100"
    ))]
    #[cfg_attr(feature = "openapi", schema(value_type = i64, required = false, minimum = 0, maximum = 100))]
    pub rollout_percent: Option<Option<i64>>,
    /// Replaces the allow list (at most 1,000); cannot be `null`.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(length(max = 1000, code = "TOO_MANY", message = "at most 1000 organizations"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, required = false, max_items = 1000))]
    pub allow_organizations: Option<Option<Vec<String>>>,
    /// Replaces the deny list (at most 1,000); cannot be `null`.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(length(max = 1000, code = "TOO_MANY", message = "at most 1000 organizations"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, required = false, max_items = 1000))]
    pub deny_organizations: Option<Option<Vec<String>>>,
}

impl TryFrom<UpdateFeatureFlagRequest> for FeatureFlagChanges {
    type Error = DomainError;

    fn try_from(body: UpdateFeatureFlagRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let description = v.shape("description", body.description);
        let enabled = match body.enabled {
            None => Some(None),
            Some(e) => v.required("enabled", e).map(Some),
        };
        let percent = match body.rollout_percent {
            None => Some(None),
            Some(p) => v
                .required("rolloutPercent", p)
                .and_then(|p| v.check("rolloutPercent", RolloutPercent::new(p)))
                .map(Some),
        };
        let mut list = |field: &str, raw: Option<Option<Vec<String>>>| match raw {
            None => Some(None),
            Some(l) => v
                .required(field, l)
                .and_then(|l| organizations(&mut v, field, l))
                .map(Some),
        };
        let allow = list("allowOrganizations", body.allow_organizations);
        let deny = list("denyOrganizations", body.deny_organizations);
        let ((description, enabled), (percent, (allow, deny))) =
            v.finish(description.zip(enabled).zip(percent.zip(allow.zip(deny))))?;
        Ok(Self {
            description,
            enabled,
            rollout_percent: percent,
            allow_organizations: allow,
            deny_organizations: deny,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key(s: &str) -> FlagKey {
        FlagKey::parse(s).unwrap()
    }

    fn orgs(n: usize) -> Vec<OrganizationId> {
        (0..n).map(|_| OrganizationId::new()).collect()
    }

    fn flag(k: &str, percent: u8) -> FeatureFlag {
        FeatureFlag {
            id: FeatureFlagId::new(),
            key: key(k),
            description: None,
            enabled: true,
            rollout_percent: RolloutPercent::new(percent.into()).unwrap(),
            allow_organizations: Vec::new(),
            deny_organizations: Vec::new(),
            created_at: DateTime::default(),
            updated_at: DateTime::default(),
        }
    }

    #[test]
    fn the_hash_is_murmur3_x86_32_with_seed_0() {
        // Published vectors (Appleby's SMHasher; the murmur3 crate's tests).
        assert_eq!(murmur3_x86_32(b""), 0);
        assert_eq!(murmur3_x86_32(b"hello"), 0x248b_fa47);
        assert_eq!(
            murmur3_x86_32(b"The quick brown fox jumps over the lazy dog"),
            0x2e4f_f723
        );
    }

    #[test]
    fn a_bucket_is_fixed_by_key_and_organization() {
        let org: OrganizationId = "org_01JD6Z3Q9V7X2M4N8P0R5T1W3Y".parse().unwrap();
        let k = key("new-dashboard");
        let b = bucket(&k, org);
        assert!((1..=100).contains(&b));
        assert_eq!(
            b,
            murmur3_x86_32(b"new-dashboard:org_01JD6Z3Q9V7X2M4N8P0R5T1W3Y") % 100 + 1
        );
        for _ in 0..10 {
            assert_eq!(bucket(&k, org), b);
        }
    }

    #[test]
    fn raising_the_percentage_never_removes_an_organization() {
        let k = key("monotone");
        for org in orgs(10_000) {
            let mut had = false;
            for p in 0..=100u8 {
                let has = in_rollout(&k, org, RolloutPercent::new(p.into()).unwrap());
                assert!(has || !had, "{org} lost at {p}%");
                had = has;
            }
            assert!(had, "{org} not in at 100%");
            assert!(!in_rollout(&k, org, RolloutPercent::default()));
        }
    }

    #[test]
    fn the_share_enabled_is_the_percentage_within_1_5_points() {
        let ids = orgs(10_000);
        for p in [10u8, 25, 50] {
            let f = flag("share", p);
            let on = ids.iter().filter(|o| f.evaluate(**o).enabled).count();
            let share = on as f64 * 100.0 / ids.len() as f64;
            assert!((share - f64::from(p)).abs() <= 1.5, "{p}%: {share}");
        }
    }

    #[test]
    fn two_flags_at_10_percent_overlap_by_about_1_percent() {
        let ids = orgs(10_000);
        let (a, b) = (flag("flag-a", 10), flag("flag-b", 10));
        let both = ids
            .iter()
            .filter(|o| a.evaluate(**o).enabled && b.evaluate(**o).enabled)
            .count();
        let share = both as f64 * 100.0 / ids.len() as f64;
        assert!((share - 1.0).abs() <= 0.5, "overlap {share}%");
    }

    #[test]
    fn lists_win_over_the_rollout_and_deny_wins_over_allow() {
        let ids = orgs(200);
        let (inside, outside): (Vec<_>, Vec<_>) = ids
            .iter()
            .partition(|o| in_rollout(&key("lists"), **o, RolloutPercent::new(50).unwrap()));
        let mut f = flag("lists", 50);
        let reason = |f: &FeatureFlag, o| f.evaluate(o);
        assert_eq!(
            reason(&f, inside[0]),
            Evaluation {
                enabled: true,
                reason: FlagReason::Split
            }
        );
        assert_eq!(
            reason(&f, outside[0]),
            Evaluation {
                enabled: false,
                reason: FlagReason::Default
            }
        );
        f.allow_organizations = vec![outside[0], inside[1]];
        f.deny_organizations = vec![inside[0], inside[1]];
        assert_eq!(
            reason(&f, outside[0]),
            Evaluation {
                enabled: true,
                reason: FlagReason::TargetingMatch
            }
        );
        assert_eq!(
            reason(&f, inside[0]),
            Evaluation {
                enabled: false,
                reason: FlagReason::Disabled
            }
        );
        assert_eq!(
            reason(&f, inside[1]),
            Evaluation {
                enabled: false,
                reason: FlagReason::Disabled
            }
        );
        f.rollout_percent = RolloutPercent::ALL;
        assert_eq!(reason(&f, inside[0]).reason, FlagReason::Disabled);
        f.enabled = false;
        for o in [outside[0], outside[1], inside[2]] {
            assert_eq!(
                reason(&f, o),
                Evaluation {
                    enabled: false,
                    reason: FlagReason::Disabled
                }
            );
        }
    }

    #[test]
    fn keys_are_lowercase_and_short() {
        for good in [
            "a",
            "0",
            "new-dashboard",
            "billing.v2_beta",
            &"a".repeat(100),
        ] {
            assert!(FlagKey::parse(good).is_ok(), "{good}");
        }
        for (bad, err) in [
            ("", FlagKeyError::Empty),
            ("-a", FlagKeyError::Format),
            ("A", FlagKeyError::Format),
            ("a b", FlagKeyError::Format),
            ("a:b", FlagKeyError::Format),
            (&"a".repeat(101) as &str, FlagKeyError::TooLong),
        ] {
            assert_eq!(FlagKey::parse(bad), Err(err), "{bad}");
        }
    }

    #[test]
    fn requests_report_every_broken_rule() {
        let errors = |r: Result<FeatureFlagDraft, DomainError>| match r {
            Err(DomainError::Validation(e)) => {
                e.into_iter().map(|e| (e.field, e.code)).collect::<Vec<_>>()
            }
            other => panic!("{other:?}"),
        };
        let create = |b| {
            FeatureFlagDraft::try_from(
                serde_json::from_value::<CreateFeatureFlagRequest>(b).unwrap(),
            )
        };
        assert_eq!(
            errors(create(
                json!({"key": "Bad", "rolloutPercent": 101, "allowOrganizations": ["usr_1"]})
            )),
            [
                ("key".into(), "INVALID_FORMAT"),
                ("rolloutPercent".into(), "OUT_OF_RANGE"),
                ("allowOrganizations".into(), "INVALID_ID"),
            ]
        );
        let org = OrganizationId::new();
        let draft =
            create(json!({"key": "k", "allowOrganizations": [org.to_string(), org.to_string()]}))
                .unwrap();
        assert_eq!(draft.allow_organizations, [org]);
        assert_eq!(draft.rollout_percent.get(), 0);
        assert!(!draft.enabled);
        let update = |b| {
            FeatureFlagChanges::try_from(
                serde_json::from_value::<UpdateFeatureFlagRequest>(b).unwrap(),
            )
        };
        assert_eq!(update(json!({})).unwrap(), FeatureFlagChanges::default());
        assert_eq!(
            update(json!({"description": null})).unwrap().description,
            Some(None)
        );
        assert!(update(json!({"rolloutPercent": null})).is_err());
        assert!(update(json!({"rolloutPercent": -1})).is_err());
    }
}
