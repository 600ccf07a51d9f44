//! Operational metrics: the gauges a scrape reads from the database, and the
//! periodic snapshots of every metric kept in `system_metrics` for platform
//! admins (`GET /v1/admin/metrics`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::error::{DomainError, FieldError, FieldErrorCode, Validation};
use crate::validate::parse_timestamp;

crate::sort_by! {
    /// `sortBy` of the metric snapshots.
    SystemMetricSort {
        /// When the snapshot was taken (the default).
        RecordedAt => "recordedAt",
        /// The metric's name.
        Name => "name",
    }
}

/// One sample of one metric: a Prometheus series (`name{labels}`) and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSample {
    /// The series' name, e.g. `http_requests_total`.
    pub name: String,
    /// Its labels, e.g. `{"method": "GET", "route": "/health", "status": "200"}`.
    pub labels: BTreeMap<String, String>,
    /// Its value at the time of the snapshot.
    pub value: f64,
}

/// A stored sample: one row of `system_metrics`.
#[derive(Clone, Debug, PartialEq)]
pub struct SystemMetric {
    /// A sequential number.
    pub id: i64,
    /// The series' name.
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its value.
    pub value: f64,
    /// When the snapshot was taken.
    pub recorded_at: DateTime<Utc>,
}

/// A metric's name as Prometheus spells them: `[a-zA-Z_:][a-zA-Z0-9_:]*`, at
/// most 200 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricName(String);

/// Why a metric name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "must be a metric name: letters, digits, `_` and `:`, not starting with a digit, at most 200 characters"
)]
pub struct MetricNameError;

impl FieldErrorCode for MetricNameError {
    fn code(&self) -> &'static str {
        "INVALID_FORMAT"
    }
}

impl MetricName {
    /// Parses a name; it never reaches a query otherwise.
    pub fn parse(raw: &str) -> Result<Self, MetricNameError> {
        let mut chars = raw.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
        let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        if first_ok && rest_ok && raw.len() <= 200 {
            Ok(Self(raw.to_owned()))
        } else {
            Err(MetricNameError)
        }
    }
}

impl AsRef<str> for MetricName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Which snapshots a list shows; all optional, combined with AND.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SystemMetricFilter {
    /// Only this metric.
    pub name: Option<MetricName>,
    /// Taken at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Taken before this instant.
    pub to: Option<DateTime<Utc>>,
}

impl SystemMetricFilter {
    /// The filter from the query as sent: every broken rule in one 422
    /// (`name`, `from`, `to`: `INVALID_FORMAT`; `to` before `from`: `OUT_OF_RANGE`).
    pub fn parse(
        name: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Self, DomainError> {
        let mut v = Validation::default();
        let name = name.and_then(|n| v.check("name", MetricName::parse(n)));
        let from = from.and_then(|f| v.check("from", parse_timestamp(f)));
        let to = to.and_then(|t| v.check("to", parse_timestamp(t)));
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            v.push(FieldError::new(
                "to",
                "OUT_OF_RANGE",
                "must not be before from",
            ));
        }
        v.finish(Some(Self { name, from, to }))
    }
}

/// Whether an outbox row is waiting for its first attempt or for a retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BacklogState {
    /// Never tried yet.
    Pending,
    /// Tried and failed, waiting for its next attempt.
    Retrying,
}

impl BacklogState {
    /// The label value: `pending` or `retrying`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Retrying => "retrying",
        }
    }
}

/// The outbox rows still to deliver of one kind in one state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxBacklog {
    /// `email`, `webhook`, ...
    pub kind: String,
    /// Pending or retrying.
    pub state: BacklogState,
    /// How many rows.
    pub count: u64,
}

/// What a scrape reads from the database.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkGauges {
    /// Jobs a claim would hand out now: active, due, without a live lease.
    pub jobs_due: u64,
    /// How long the oldest of them has been due, in seconds (0 when none is).
    pub oldest_due_lag_seconds: f64,
    /// The outbox rows still to deliver, by kind and state (only those with rows).
    pub outbox_backlog: Vec<OutboxBacklog>,
}

/// How long the oldest due job has waited at `now`; 0 when none is due (or
/// its time is, by clock skew, still ahead).
pub fn due_lag_seconds(oldest_due: Option<DateTime<Utc>>, now: DateTime<Utc>) -> f64 {
    oldest_due.map_or(0.0, |at| {
        let lag = now.signed_duration_since(at);
        (lag.num_milliseconds().max(0) as f64) / 1000.0
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn metric_names_follow_prometheus() {
        for ok in ["http_requests_total", "a", "_x", "ns:sub_total", "x1"] {
            assert!(MetricName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1abc", "a-b", "a b", "é", &"a".repeat(201)] {
            assert!(MetricName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_filter_reports_every_broken_rule() {
        let Err(DomainError::Validation(errors)) =
            SystemMetricFilter::parse(Some("a-b"), Some("yesterday"), Some("2026-01-01T00:00:00Z"))
        else {
            panic!("expected a validation error");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "from"]);
        let Err(DomainError::Validation(errors)) = SystemMetricFilter::parse(
            None,
            Some("2026-01-02T00:00:00Z"),
            Some("2026-01-01T00:00:00Z"),
        ) else {
            panic!("expected a validation error");
        };
        assert_eq!(errors[0].code, "OUT_OF_RANGE");
    }

    #[test]
    fn the_lag_is_that_of_the_oldest_due_job_and_never_negative() {
        let now = Utc::now();
        assert!((due_lag_seconds(None, now) - 0.0).abs() < f64::EPSILON);
        assert!((due_lag_seconds(Some(now - TimeDelta::seconds(90)), now) - 90.0).abs() < 1e-9);
        assert!(
            (due_lag_seconds(Some(now + TimeDelta::seconds(5)), now) - 0.0).abs() < f64::EPSILON
        );
    }
}
