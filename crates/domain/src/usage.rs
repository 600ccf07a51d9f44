//! Usage records: what an organization consumed (`tokens`, `api_calls`, ...),
//! reported once per idempotency key, summed by day or month, and the monthly
//! token quota a claim checks.
//!
//! A record is idempotent by its key within the organization: the same key again
//! answers the first record and stores nothing (a retried call is never counted
//! twice); the same key with another body is refused, since answering the first
//! record would hide the client's bug. A record's timestamp may be at most
//! [`MAX_AGE`] old and [`MAX_AHEAD`] ahead of the server's clock, so late reports
//! cannot rewrite a month long closed.

use chrono::{DateTime, Datelike, TimeDelta, TimeZone, Utc};

use crate::error::{DomainError, FieldError, FieldErrorCode, Validation};
use crate::id::{OrganizationId, TaskId, UsageRecordId};
use crate::text_enum;

/// The metric a finished task's `tokensUsed` is recorded under, and the one the
/// monthly token quota counts.
pub const TOKENS: &str = "tokens";

/// A metric's rule as a regular expression (for the OpenAPI document).
pub const METRIC_PATTERN: &str = "^[a-z][a-z0-9_.]{0,63}$";

/// The longest idempotency key, in characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: u64 = 255;

/// The largest quantity of one record (as a run's `tokensUsed`): 10^12, so that a
/// month's sum stays far from `i64::MAX`.
pub const MAX_QUANTITY: i64 = 1_000_000_000_000;

/// The oldest a record's timestamp may be, relative to now.
pub const MAX_AGE: TimeDelta = TimeDelta::days(35);

/// The furthest ahead of now a record's timestamp may be (clock skew).
pub const MAX_AHEAD: TimeDelta = TimeDelta::minutes(5);

/// The longest summary range by day (a year and a day).
pub const MAX_DAY_RANGE: TimeDelta = TimeDelta::days(366);

/// The longest summary range by month (ten years and some).
pub const MAX_MONTH_RANGE: TimeDelta = TimeDelta::days(3_660);

/// 409 code: the idempotency key was used for a record with another body.
pub const IDEMPOTENCY_KEY_REUSED: &str = "IDEMPOTENCY_KEY_REUSED";

/// 403 code: the month's tokens reached the plan's `monthly_token_quota`.
pub const QUOTA_EXCEEDED: &str = "QUOTA_EXCEEDED";

/// 422 field code: a timestamp older than [`MAX_AGE`].
pub const TIMESTAMP_TOO_OLD: &str = "TIMESTAMP_TOO_OLD";

/// 422 field code: a timestamp more than [`MAX_AHEAD`] ahead.
pub const TIMESTAMP_IN_FUTURE: &str = "TIMESTAMP_IN_FUTURE";

/// Why a string is not a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MetricError {
    /// Empty.
    #[error("metric is required")]
    Empty,
    /// Over 64 characters.
    #[error("metric must be at most 64 characters")]
    TooLong,
    /// Not as [`METRIC_PATTERN`] says.
    #[error(
        "metric must start with a lowercase letter and hold only lowercase letters, digits, '_' and '.'"
    )]
    Format,
}

impl FieldErrorCode for MetricError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "REQUIRED",
            Self::TooLong => "TOO_LONG",
            Self::Format => "INVALID_FORMAT",
        }
    }
}

/// What is measured: 1 to 64 characters, a lowercase letter first, then
/// lowercase letters, digits, `_` and `.` ([`METRIC_PATTERN`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Metric(String);

impl Metric {
    /// Parses a metric name.
    pub fn parse(raw: &str) -> Result<Self, MetricError> {
        let mut chars = raw.chars();
        match chars.next() {
            None => return Err(MetricError::Empty),
            Some(c) if !c.is_ascii_lowercase() => return Err(MetricError::Format),
            Some(_) => {}
        }
        if raw.chars().count() > 64 {
            return Err(MetricError::TooLong);
        }
        if chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.') {
            Ok(Self(raw.to_owned()))
        } else {
            Err(MetricError::Format)
        }
    }

    /// The metric `tokens`.
    pub fn tokens() -> Self {
        Self(TOKENS.to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Metric {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stored usage record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageRecord {
    /// Identity.
    pub id: UsageRecordId,
    /// Its organization.
    pub organization_id: OrganizationId,
    /// What was measured.
    pub metric: Metric,
    /// How much: 1 to [`MAX_QUANTITY`].
    pub quantity: i64,
    /// When it happened (the client's timestamp, to the microsecond).
    pub occurred_at: DateTime<Utc>,
    /// The client's key: one record per key and organization.
    pub idempotency_key: String,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

/// A validated report, before the clock has placed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageDraft {
    /// What was measured.
    pub metric: Metric,
    /// 1 to [`MAX_QUANTITY`].
    pub quantity: i64,
    /// When it happened; `None`: now.
    pub timestamp: Option<DateTime<Utc>>,
    /// 1 to 255 characters.
    pub idempotency_key: String,
}

/// A record to store: a draft placed in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUsageRecord {
    /// What was measured.
    pub metric: Metric,
    /// 1 to [`MAX_QUANTITY`].
    pub quantity: i64,
    /// When it happened, to the microsecond (as both databases keep it).
    pub occurred_at: DateTime<Utc>,
    /// The client's key.
    pub idempotency_key: String,
    /// Whether the client gave the timestamp (a retry without one is stamped
    /// anew, so its time says nothing about being the same record).
    pub timestamp_given: bool,
}

impl NewUsageRecord {
    /// The record a finished task reports: its tokens, at `now`, under a key
    /// derived from the task, so that a repeated completion counts once.
    pub fn for_task(task: TaskId, tokens: i64, now: DateTime<Utc>) -> Self {
        Self {
            metric: Metric::tokens(),
            quantity: tokens,
            occurred_at: to_micros(now),
            idempotency_key: format!("task:{task}"),
            timestamp_given: false,
        }
    }

    /// Whether `stored` is this very record (a retry) rather than another body
    /// under the same key.
    pub fn same_as(&self, stored: &UsageRecord) -> bool {
        self.metric == stored.metric
            && self.quantity == stored.quantity
            && (!self.timestamp_given || self.occurred_at == stored.occurred_at)
    }
}

impl UsageDraft {
    /// Places the draft at its timestamp (or `now`), which must lie within
    /// [`MAX_AGE`] before and [`MAX_AHEAD`] after `now`: 422 `TIMESTAMP_TOO_OLD`
    /// or `TIMESTAMP_IN_FUTURE` on `timestamp` otherwise.
    pub fn at(self, now: DateTime<Utc>) -> Result<NewUsageRecord, DomainError> {
        let timestamp_given = self.timestamp.is_some();
        let occurred_at = to_micros(self.timestamp.unwrap_or(now));
        if occurred_at < now - MAX_AGE {
            return Err(DomainError::invalid(
                "timestamp",
                TIMESTAMP_TOO_OLD,
                "timestamp must be at most 35 days old",
            ));
        }
        if occurred_at > now + MAX_AHEAD {
            return Err(DomainError::invalid(
                "timestamp",
                TIMESTAMP_IN_FUTURE,
                "timestamp must be at most 5 minutes ahead of the server's clock",
            ));
        }
        Ok(NewUsageRecord {
            metric: self.metric,
            quantity: self.quantity,
            occurred_at,
            idempotency_key: self.idempotency_key,
            timestamp_given,
        })
    }
}

/// `at` truncated to the microsecond: what PostgreSQL keeps, so that a record
/// reads back (and compares) the same on both databases.
pub fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// The first instant of `at`'s calendar month, in UTC: the period of the
/// monthly counters and the quota.
pub fn month_start(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(at)
}

/// Whether `used` tokens leave room under `quota`: 403 `QUOTA_EXCEEDED` once
/// they reach it.
pub fn ensure_under_quota(used: i64, quota: u64) -> Result<(), DomainError> {
    if u64::try_from(used).unwrap_or(0) < quota {
        Ok(())
    } else {
        Err(DomainError::forbidden(
            QUOTA_EXCEEDED,
            format!("this month's tokens ({used}) reached the plan's quota of {quota}"),
        ))
    }
}

/// A usage record as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateUsageRecordBody))]
#[serde(rename_all = "camelCase")]
pub struct CreateUsageRecordRequest {
    /// What was measured, e.g. `tokens` or `api_calls`.
    #[validate(required(code = "REQUIRED", message = "metric is required"))]
    #[cfg_attr(
        feature = "openapi",
        schema(
            required = true,
            pattern = "^[a-z][a-z0-9_.]{0,63}$",
            example = "tokens"
        )
    )]
    pub metric: Option<String>,
    /// How much, 1 to 10^12.
    #[validate(
        required(code = "REQUIRED", message = "quantity is required"),
        range(
            min = 1,
            max = 1_000_000_000_000_i64,
            code = "OUT_OF_RANGE",
            message = "quantity is 1 to 10^12"
        )
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, minimum = 1, maximum = 1_000_000_000_000_i64)
    )]
    pub quantity: Option<i64>,
    /// When it happened (RFC 3339), at most 35 days ago and 5 minutes ahead;
    /// default now.
    #[validate(custom(function = "crate::validate::timestamp"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub timestamp: Option<String>,
    /// The client's unique key for this record (1 to 255 characters): sending it
    /// again answers the first record, never a second.
    #[validate(
        required(code = "REQUIRED", message = "idempotencyKey is required"),
        length(
            min = 1,
            max = 255,
            code = "TOO_LONG",
            message = "idempotencyKey is 1 to 255 characters"
        )
    )]
    #[cfg_attr(
        feature = "openapi",
        schema(
            required = true,
            min_length = 1,
            max_length = 255,
            example = "run-42-step-3"
        )
    )]
    pub idempotency_key: Option<String>,
}

impl TryFrom<CreateUsageRecordRequest> for UsageDraft {
    type Error = DomainError;

    fn try_from(body: CreateUsageRecordRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let metric = v
            .required("metric", body.metric)
            .and_then(|m| v.check("metric", Metric::parse(&m)));
        let quantity = v.required("quantity", body.quantity);
        let timestamp = match body.timestamp {
            None => Some(None),
            Some(raw) => v
                .check("timestamp", crate::validate::parse_timestamp(&raw))
                .map(Some),
        };
        let key = v.required("idempotencyKey", body.idempotency_key);
        let ((metric, quantity), (timestamp, idempotency_key)) =
            v.finish(metric.zip(quantity).zip(timestamp.zip(key)))?;
        Ok(Self {
            metric,
            quantity,
            timestamp,
            idempotency_key,
        })
    }
}

text_enum! {
    /// The buckets of a summary.
    GroupBy {
        /// UTC calendar days.
        Day => "day",
        /// UTC calendar months.
        Month => "month",
    }
}

/// What a summary covers: one metric's records with `from <= occurredAt < to`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SummaryRequest {
    /// The metric.
    pub metric: Metric,
    /// Inclusive.
    pub from: DateTime<Utc>,
    /// Exclusive.
    pub to: DateTime<Utc>,
    /// Bucket size.
    pub group_by: GroupBy,
}

impl SummaryRequest {
    /// Parses a summary's query: `metric` required; `from` default the start
    /// of `now`'s month, `to` default the start of the next; `groupBy`
    /// default `day`. `from` must be before `to`, and the range at most
    /// [`MAX_DAY_RANGE`] by day or [`MAX_MONTH_RANGE`] by month (422).
    pub fn parse(
        metric: Option<String>,
        from: Option<String>,
        to: Option<String>,
        group_by: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Self, DomainError> {
        let mut v = Validation::default();
        let metric = v
            .required("metric", metric)
            .and_then(|m| v.check("metric", Metric::parse(&m)));
        let this_month = month_start(now);
        let from = match from {
            None => Some(this_month),
            Some(raw) => v.check("from", crate::validate::parse_timestamp(&raw)),
        };
        let to = match to {
            None => Some(next_month(this_month)),
            Some(raw) => v.check("to", crate::validate::parse_timestamp(&raw)),
        };
        let group_by = match group_by {
            None => Some(GroupBy::Day),
            Some(raw) => v.check("groupBy", raw.parse::<GroupBy>()),
        };
        if let (Some(from), Some(to), Some(group_by)) = (from, to, group_by) {
            let longest = match group_by {
                GroupBy::Day => MAX_DAY_RANGE,
                GroupBy::Month => MAX_MONTH_RANGE,
            };
            if from >= to {
                v.push(FieldError::new(
                    "to",
                    "OUT_OF_RANGE",
                    "to must be after from",
                ));
            } else if to - from > longest {
                v.push(FieldError::new(
                    "to",
                    "OUT_OF_RANGE",
                    format!(
                        "a summary by {group_by} covers at most {} days",
                        longest.num_days()
                    ),
                ));
            }
        }
        let ((metric, from), (to, group_by)) = v.finish(metric.zip(from).zip(to.zip(group_by)))?;
        Ok(Self {
            metric,
            from: to_micros(from),
            to: to_micros(to),
            group_by,
        })
    }
}

/// The first instant of the month after the one `month` starts.
fn next_month(month: DateTime<Utc>) -> DateTime<Utc> {
    let (year, month) = if month.month() == 12 {
        (month.year() + 1, 1)
    } else {
        (month.year(), month.month() + 1)
    };
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// One bucket of a summary: the records of one UTC day or month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsageBucket {
    /// The bucket's first instant (midnight UTC; the first of the month).
    pub start: DateTime<Utc>,
    /// The sum of the quantities.
    pub sum: i64,
    /// How many records.
    pub count: i64,
    /// The largest quantity.
    pub max: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn draft(timestamp: Option<DateTime<Utc>>) -> UsageDraft {
        UsageDraft {
            metric: Metric::tokens(),
            quantity: 1,
            timestamp,
            idempotency_key: "k".into(),
        }
    }

    #[test]
    fn metrics_follow_the_pattern() {
        assert!(Metric::parse("tokens").is_ok());
        assert!(Metric::parse("api.calls_v2").is_ok());
        assert_eq!(Metric::parse(""), Err(MetricError::Empty));
        assert_eq!(Metric::parse("Tokens"), Err(MetricError::Format));
        assert_eq!(Metric::parse("2x"), Err(MetricError::Format));
        assert_eq!(Metric::parse("a-b"), Err(MetricError::Format));
        assert_eq!(Metric::parse(&"a".repeat(64)).map(|_| ()), Ok(()));
        assert_eq!(Metric::parse(&"a".repeat(65)), Err(MetricError::TooLong));
    }

    #[test]
    fn the_timestamp_window_is_35_days_back_and_5_minutes_ahead() {
        let now = at("2026-11-30T12:00:00Z");
        assert!(draft(Some(now - MAX_AGE)).at(now).is_ok());
        assert!(draft(Some(now + MAX_AHEAD)).at(now).is_ok());
        let code = |r: Result<NewUsageRecord, DomainError>| match r {
            Err(DomainError::Validation(e)) => e[0].code,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(draft(Some(now - MAX_AGE - TimeDelta::seconds(1))).at(now)),
            TIMESTAMP_TOO_OLD
        );
        assert_eq!(
            code(draft(Some(now + MAX_AHEAD + TimeDelta::seconds(1))).at(now)),
            TIMESTAMP_IN_FUTURE
        );
        assert_eq!(draft(None).at(now).unwrap().occurred_at, now);
    }

    #[test]
    fn months_start_at_midnight_utc_on_the_first() {
        assert_eq!(
            month_start(at("2026-12-31T23:59:59.999Z")),
            at("2026-12-01T00:00:00Z")
        );
        assert_eq!(
            next_month(at("2026-12-01T00:00:00Z")),
            at("2027-01-01T00:00:00Z")
        );
    }

    #[test]
    fn the_quota_stops_at_its_value_not_before() {
        assert!(ensure_under_quota(99, 100).is_ok());
        assert!(matches!(
            ensure_under_quota(100, 100),
            Err(DomainError::Forbidden {
                code: QUOTA_EXCEEDED,
                ..
            })
        ));
    }

    #[test]
    fn a_summary_defaults_to_this_month_by_day_and_bounds_its_range() {
        let now = at("2026-11-30T12:00:00Z");
        let s = SummaryRequest::parse(Some("tokens".into()), None, None, None, now).unwrap();
        assert_eq!(
            (s.from, s.to, s.group_by),
            (
                at("2026-11-01T00:00:00Z"),
                at("2026-12-01T00:00:00Z"),
                GroupBy::Day
            )
        );
        let too_long = SummaryRequest::parse(
            Some("tokens".into()),
            Some("2025-01-01T00:00:00Z".into()),
            Some("2026-11-01T00:00:00Z".into()),
            None,
            now,
        );
        assert!(matches!(too_long, Err(DomainError::Validation(_))));
        let backwards = SummaryRequest::parse(
            Some("tokens".into()),
            Some("2026-11-02T00:00:00Z".into()),
            Some("2026-11-01T00:00:00Z".into()),
            Some("month".into()),
            now,
        );
        assert!(matches!(backwards, Err(DomainError::Validation(_))));
    }
}
