//! Plans: what an organization pays for, and the caps that come with it —
//! its members (plus pending invitations), active API keys, jobs, runs in
//! progress and monthly tokens. Plans live in the database (`plans`); platform
//! admins create and change them. A change to a plan's caps applies to every
//! organization on it at its next check: subscriptions point at the plan, they
//! do not copy it, so changing a plan never rewrites a subscription.

use chrono::{DateTime, Utc};

use crate::error::{DomainError, FieldErrorCode, Validation};
use crate::id::PlanId;

/// The machine code of a 403 for going over a plan's cap.
pub const PLAN_LIMIT_REACHED: &str = "PLAN_LIMIT_REACHED";

/// 404 for a key that names no plan.
pub const PLAN_NOT_FOUND: DomainError = DomainError::not_found("plan", "PLAN_NOT_FOUND");

/// 409 code for a key another plan has.
pub const PLAN_KEY_TAKEN: &str = "PLAN_KEY_TAKEN";

/// 409 code for a provider price ID another plan has.
pub const PROVIDER_PRICE_TAKEN: &str = "PROVIDER_PRICE_TAKEN";

/// 409 code for deleting a plan an organization is on.
pub const PLAN_IN_USE: &str = "PLAN_IN_USE";

/// 409 code for deleting the plan new organizations get.
pub const PLAN_REQUIRED: &str = "PLAN_REQUIRED";

/// [`PlanKey`]'s rule as a regular expression (for the OpenAPI document).
pub const KEY_PATTERN: &str = "^[a-z][a-z0-9-]{0,49}$";

/// [`Currency`]'s rule as a regular expression (for the OpenAPI document).
pub const CURRENCY_PATTERN: &str = "^[a-z]{3}$";

crate::sort_by! {
    /// `sortBy` of the plan list.
    PlanSort {
        /// Creation time (the default).
        CreatedAt => "createdAt",
        /// Key, alphabetically.
        Key => "key",
    }
}

/// Why a string is not a plan key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlanKeyError {
    /// Empty.
    #[error("key is required")]
    Empty,
    /// Not as [`KEY_PATTERN`] says.
    #[error(
        "key must start with a lowercase letter and hold at most 50 lowercase letters, digits and '-'"
    )]
    Format,
}

impl FieldErrorCode for PlanKeyError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "REQUIRED",
            Self::Format => "INVALID_FORMAT",
        }
    }
}

/// A plan's key ([`KEY_PATTERN`]): names it in URLs, in requests and on the
/// organization view. It never changes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlanKey(String);

impl PlanKey {
    /// The key of the plan every new organization gets, which cannot be deleted.
    pub const FREE: &'static str = "free";

    /// Parses a key, strictly (no trimming, no case folding).
    pub fn parse(raw: &str) -> Result<Self, PlanKeyError> {
        let bytes = raw.as_bytes();
        let Some(first) = bytes.first() else {
            return Err(PlanKeyError::Empty);
        };
        if !first.is_ascii_lowercase()
            || bytes.len() > 50
            || !bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        {
            return Err(PlanKeyError::Format);
        }
        Ok(Self(raw.to_owned()))
    }

    /// `free`: the plan of a new organization.
    pub fn free() -> Self {
        Self(Self::FREE.to_owned())
    }

    /// Whether this is `free`.
    pub fn is_free(&self) -> bool {
        self.0 == Self::FREE
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for PlanKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PlanKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A currency that is not three lowercase letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("currency must be a three-letter ISO 4217 code in lowercase (usd, eur, ...)")]
pub struct CurrencyError;

impl FieldErrorCode for CurrencyError {
    fn code(&self) -> &'static str {
        "INVALID_FORMAT"
    }
}

/// An ISO 4217 currency code in lowercase, as Stripe writes it (`usd`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    /// Parses a code ([`CURRENCY_PATTERN`]).
    pub fn parse(raw: &str) -> Result<Self, CurrencyError> {
        if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(CurrencyError)
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One plan's caps: the value every cap check sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanLimits {
    /// Members (owners included) plus pending invitations.
    pub max_members: u64,
    /// API keys that are neither revoked nor expired.
    pub max_api_keys: u64,
    /// Jobs that are not archived.
    pub max_jobs: u64,
    /// Runs in progress at once (jobs under a live lease).
    pub max_concurrent_tasks: u64,
    /// Tokens (usage metric `tokens`) per calendar month (UTC); a claim once
    /// the month's tokens reach it hands out nothing.
    pub monthly_token_quota: u64,
}

/// A stored plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Identity.
    pub id: PlanId,
    /// Its unique, unchanging key.
    pub key: PlanKey,
    /// Display name.
    pub name: String,
    /// Its caps.
    pub limits: PlanLimits,
    /// Price per period, in the currency's smallest unit.
    pub price_cents: u64,
    /// The price's currency.
    pub currency: Currency,
    /// The billing provider's price (Stripe `price_...`) that maps to this
    /// plan; unique.
    pub provider_price_id: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A validated new plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanDraft {
    /// Key.
    pub key: PlanKey,
    /// Display name.
    pub name: String,
    /// Caps.
    pub limits: PlanLimits,
    /// Price (default 0).
    pub price_cents: u64,
    /// Currency (default `usd`).
    pub currency: Currency,
    /// Provider price (default none).
    pub provider_price_id: Option<String>,
}

/// A validated partial change; `None` leaves a field alone. The key cannot
/// change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanChanges {
    /// A new name.
    pub name: Option<String>,
    /// A new `maxMembers`.
    pub max_members: Option<u64>,
    /// A new `maxApiKeys`.
    pub max_api_keys: Option<u64>,
    /// A new `maxJobs`.
    pub max_jobs: Option<u64>,
    /// A new `maxConcurrentTasks`.
    pub max_concurrent_tasks: Option<u64>,
    /// A new `monthlyTokenQuota`.
    pub monthly_token_quota: Option<u64>,
    /// A new price.
    pub price_cents: Option<u64>,
    /// A new currency.
    pub currency: Option<Currency>,
    /// A new provider price, or `Some(None)` to remove it.
    pub provider_price_id: Option<Option<String>>,
}

impl PlanChanges {
    /// `plan` with these changes applied.
    pub fn apply(self, mut plan: Plan) -> Plan {
        let l = &mut plan.limits;
        l.max_members = self.max_members.unwrap_or(l.max_members);
        l.max_api_keys = self.max_api_keys.unwrap_or(l.max_api_keys);
        l.max_jobs = self.max_jobs.unwrap_or(l.max_jobs);
        l.max_concurrent_tasks = self.max_concurrent_tasks.unwrap_or(l.max_concurrent_tasks);
        l.monthly_token_quota = self.monthly_token_quota.unwrap_or(l.monthly_token_quota);
        if let Some(n) = self.name {
            plan.name = n;
        }
        if let Some(p) = self.price_cents {
            plan.price_cents = p;
        }
        if let Some(c) = self.currency {
            plan.currency = c;
        }
        if let Some(p) = self.provider_price_id {
            plan.provider_price_id = p;
        }
        plan
    }
}

/// `Ok` unless `key` is `free`, which every new organization gets: 409
/// `PLAN_REQUIRED`.
pub fn may_delete(key: &PlanKey) -> Result<(), DomainError> {
    if key.is_free() {
        Err(DomainError::state_conflict(
            PLAN_REQUIRED,
            "the free plan is every new organization's plan and cannot be deleted",
        ))
    } else {
        Ok(())
    }
}

/// The 409 of deleting a plan some organization is on.
pub fn plan_in_use(key: &PlanKey) -> DomainError {
    DomainError::state_conflict(
        PLAN_IN_USE,
        format!("organizations are on the {key} plan: move them to another plan first"),
    )
}

/// `Ok` when one more fits: `used` already counted against a cap of `max`;
/// else 403 `PLAN_LIMIT_REACHED` naming `what` and the plan.
pub fn ensure_room(
    used: u64,
    max: u64,
    what: &str,
    plan: impl std::fmt::Display,
) -> Result<(), DomainError> {
    if used < max {
        Ok(())
    } else {
        Err(DomainError::forbidden(
            PLAN_LIMIT_REACHED,
            format!("the {plan} plan allows at most {max} {what}"),
        ))
    }
}

/// A new plan as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreatePlanBody))]
#[serde(rename_all = "camelCase")]
pub struct CreatePlanRequest {
    /// `^[a-z][a-z0-9-]{0,49}$`. Unique; never changes.
    #[validate(required(code = "REQUIRED", message = "key is required"))]
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[a-z][a-z0-9-]{0,49}$", required = true, example = "team")
    )]
    pub key: Option<String>,
    /// Display name, 1 to 100 characters after trimming.
    #[validate(
        required(code = "REQUIRED", message = "name is required"),
        custom(function = "crate::validate::name")
    )]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::validate::name_schema, required = true, example = "Team"))]
    pub name: Option<String>,
    /// Members (owners included) plus pending invitations; at least 1.
    #[validate(
        required(code = "REQUIRED", message = "maxMembers is required"),
        range(min = 1, code = "OUT_OF_RANGE", message = "maxMembers is at least 1")
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, minimum = 1, example = 20)
    )]
    pub max_members: Option<i64>,
    /// Active API keys; 0 or more.
    #[validate(
        required(code = "REQUIRED", message = "maxApiKeys is required"),
        range(min = 0, code = "OUT_OF_RANGE", message = "maxApiKeys is 0 or more")
    )]
    #[cfg_attr(feature = "openapi", schema(required = true, minimum = 0, example = 5))]
    pub max_api_keys: Option<i64>,
    /// Jobs that are not archived; 0 or more.
    #[validate(
        required(code = "REQUIRED", message = "maxJobs is required"),
        range(min = 0, code = "OUT_OF_RANGE", message = "maxJobs is 0 or more")
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, minimum = 0, example = 100)
    )]
    pub max_jobs: Option<i64>,
    /// Runs in progress at once; 0 or more.
    #[validate(
        required(code = "REQUIRED", message = "maxConcurrentTasks is required"),
        range(
            min = 0,
            code = "OUT_OF_RANGE",
            message = "maxConcurrentTasks is 0 or more"
        )
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, minimum = 0, example = 10)
    )]
    pub max_concurrent_tasks: Option<i64>,
    /// Tokens per calendar month (UTC); 0 or more.
    #[validate(
        required(code = "REQUIRED", message = "monthlyTokenQuota is required"),
        range(
            min = 0,
            code = "OUT_OF_RANGE",
            message = "monthlyTokenQuota is 0 or more"
        )
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, minimum = 0, example = 10_000_000)
    )]
    pub monthly_token_quota: Option<i64>,
    /// Price per period in the currency's smallest unit (default 0).
    #[validate(range(min = 0, code = "OUT_OF_RANGE", message = "priceCents is 0 or more"))]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, example = 1900))]
    pub price_cents: Option<i64>,
    /// ISO 4217, lowercase (default `usd`).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z]{3}$", example = "usd"))]
    pub currency: Option<String>,
    /// The billing provider's price (Stripe `price_...`) that maps to this
    /// plan; unique; 1 to 255 characters.
    #[validate(length(
        min = 1,
        max = 255,
        code = "OUT_OF_RANGE",
        message = "providerPriceId is 1 to 255 characters"
    ))]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 255, example = "price_1Q2w3E4r5T6y")
    )]
    pub provider_price_id: Option<String>,
}

/// A count as sent (already shape-checked to be 0 or more).
fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl TryFrom<CreatePlanRequest> for PlanDraft {
    type Error = DomainError;

    fn try_from(body: CreatePlanRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let key = v
            .required("key", body.key)
            .and_then(|k| v.check("key", PlanKey::parse(&k)));
        let name = v.required("name", body.name).map(|n| n.trim().to_owned());
        let members = v.required("maxMembers", body.max_members);
        let keys = v.required("maxApiKeys", body.max_api_keys);
        let jobs = v.required("maxJobs", body.max_jobs);
        let tasks = v.required("maxConcurrentTasks", body.max_concurrent_tasks);
        let tokens = v.required("monthlyTokenQuota", body.monthly_token_quota);
        let price = v.shape("priceCents", body.price_cents.unwrap_or(0));
        let currency = v.check(
            "currency",
            Currency::parse(body.currency.as_deref().unwrap_or("usd")),
        );
        let provider = v.shape("providerPriceId", body.provider_price_id);
        let limits =
            members
                .zip(keys)
                .zip(jobs)
                .zip(tasks)
                .zip(tokens)
                .map(|((((m, k), j), t), q)| PlanLimits {
                    max_members: count(m),
                    max_api_keys: count(k),
                    max_jobs: count(j),
                    max_concurrent_tasks: count(t),
                    monthly_token_quota: count(q),
                });
        let ((key, name), (limits, (price, (currency, provider)))) = v.finish(
            key.zip(name)
                .zip(limits.zip(price.zip(currency.zip(provider)))),
        )?;
        Ok(Self {
            key,
            name,
            limits,
            price_cents: count(price),
            currency,
            provider_price_id: provider,
        })
    }
}

/// A change to a plan as sent; absent fields stay as they are. The key cannot
/// change.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdatePlanBody))]
#[serde(rename_all = "camelCase")]
pub struct UpdatePlanRequest {
    /// Display name, 1 to 100 characters after trimming.
    #[validate(custom(function = "crate::validate::name"))]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::validate::nullable_name_schema))]
    pub name: Option<String>,
    /// At least 1.
    #[validate(range(min = 1, code = "OUT_OF_RANGE", message = "maxMembers is at least 1"))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub max_members: Option<i64>,
    /// 0 or more.
    #[validate(range(min = 0, code = "OUT_OF_RANGE", message = "maxApiKeys is 0 or more"))]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub max_api_keys: Option<i64>,
    /// 0 or more.
    #[validate(range(min = 0, code = "OUT_OF_RANGE", message = "maxJobs is 0 or more"))]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub max_jobs: Option<i64>,
    /// 0 or more.
    #[validate(range(
        min = 0,
        code = "OUT_OF_RANGE",
        message = "maxConcurrentTasks is 0 or more"
    ))]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub max_concurrent_tasks: Option<i64>,
    /// 0 or more.
    #[validate(range(
        min = 0,
        code = "OUT_OF_RANGE",
        message = "monthlyTokenQuota is 0 or more"
    ))]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub monthly_token_quota: Option<i64>,
    /// 0 or more.
    #[validate(range(min = 0, code = "OUT_OF_RANGE", message = "priceCents is 0 or more"))]
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    pub price_cents: Option<i64>,
    /// ISO 4217, lowercase.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z]{3}$"))]
    pub currency: Option<String>,
    /// 1 to 255 characters; `null` removes it.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(length(
        min = 1,
        max = 255,
        code = "OUT_OF_RANGE",
        message = "providerPriceId is 1 to 255 characters"
    ))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, nullable = true, min_length = 1, max_length = 255))]
    pub provider_price_id: Option<Option<String>>,
}

impl TryFrom<UpdatePlanRequest> for PlanChanges {
    type Error = DomainError;

    fn try_from(body: UpdatePlanRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let name = v.shape("name", body.name.map(|n| n.trim().to_owned()));
        let members = v.shape("maxMembers", body.max_members.map(count));
        let keys = v.shape("maxApiKeys", body.max_api_keys.map(count));
        let jobs = v.shape("maxJobs", body.max_jobs.map(count));
        let tasks = v.shape("maxConcurrentTasks", body.max_concurrent_tasks.map(count));
        let tokens = v.shape("monthlyTokenQuota", body.monthly_token_quota.map(count));
        let price = v.shape("priceCents", body.price_cents.map(count));
        let currency = match body.currency {
            None => Some(None),
            Some(c) => v.check("currency", Currency::parse(&c)).map(Some),
        };
        let provider = v.shape("providerPriceId", body.provider_price_id);
        let changes = name
            .zip(members)
            .zip(keys.zip(jobs))
            .zip(tasks.zip(tokens))
            .zip(price.zip(currency.zip(provider)))
            .map(
                |(
                    (
                        ((name, max_members), (max_api_keys, max_jobs)),
                        (max_concurrent_tasks, monthly_token_quota),
                    ),
                    (price_cents, (currency, provider_price_id)),
                )| Self {
                    name,
                    max_members,
                    max_api_keys,
                    max_jobs,
                    max_concurrent_tasks,
                    monthly_token_quota,
                    price_cents,
                    currency,
                    provider_price_id,
                },
            );
        v.finish(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_free_place_can_be_taken_and_no_more() {
        assert!(ensure_room(4, 5, "members", "free").is_ok());
        match ensure_room(5, 5, "members", "free") {
            Err(DomainError::Forbidden { code, message }) => {
                assert_eq!(code, PLAN_LIMIT_REACHED);
                assert_eq!(message, "the free plan allows at most 5 members");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plan_keys_are_lowercase_words_with_dashes() {
        for good in ["free", "pro", "team-2", "a"] {
            assert!(PlanKey::parse(good).is_ok(), "{good}");
        }
        let long = "a".repeat(51);
        for bad in ["", "Pro", "2team", "-x", "te_am", "pro ", long.as_str()] {
            assert!(PlanKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_free_plan_cannot_be_deleted() {
        assert!(may_delete(&PlanKey::parse("pro").unwrap()).is_ok());
        assert!(matches!(
            may_delete(&PlanKey::free()),
            Err(DomainError::Conflict(c)) if c.code == PLAN_REQUIRED
        ));
    }
}
