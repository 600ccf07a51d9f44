//! Outgoing webhooks: an organization's subscriptions to its own events (every
//! audited action, finished tasks, test pings), delivered signed per the
//! Standard Webhooks specification, retried on a fixed schedule, and logged per
//! attempt. Here: the types, the event filters, the retry schedule, the
//! `Retry-After` reading and the address classes a delivery may not reach.

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};

use crate::audit::{AuditAction, AuditEntity};
use crate::endpoints::{EndpointUrl, SealedSecret, UrlPolicy};
use crate::error::{DomainError, FieldErrorCode, Validation};
use crate::id::{DeliveryId, EventId, OrganizationId, WebhookId};
use crate::text_enum;

/// 404 for a webhook that is not in the organization (or does not exist).
pub const WEBHOOK_NOT_FOUND: DomainError = DomainError::not_found("webhook", "WEBHOOK_NOT_FOUND");

/// 404 for a delivery that is not in the webhook's log.
pub const DELIVERY_NOT_FOUND: DomainError =
    DomainError::not_found("delivery", "DELIVERY_NOT_FOUND");

/// The 422 code of a URL whose host is, or resolves to, an address a delivery
/// may not reach ([`is_forbidden_address`]).
pub const WEBHOOK_URL_FORBIDDEN: &str = "WEBHOOK_URL_FORBIDDEN";

impl crate::id::ResourceId for WebhookId {
    const NOT_FOUND: DomainError = WEBHOOK_NOT_FOUND;
    const PARAM: &'static str = "webhookId";
}

impl crate::id::ResourceId for DeliveryId {
    const NOT_FOUND: DomainError = DELIVERY_NOT_FOUND;
    const PARAM: &'static str = "deliveryId";
}

/// The event of a task that finished well.
pub const TASK_SUCCEEDED: &str = "task.succeeded";
/// The event of a task that failed (or whose lease ran out).
pub const TASK_FAILED: &str = "task.failed";
/// The event `POST /webhooks/{id}/test` sends.
pub const WEBHOOK_TEST: &str = "webhook.test";

/// Event types that are not audit actions.
const OTHER_EVENTS: [&str; 3] = [TASK_SUCCEEDED, TASK_FAILED, WEBHOOK_TEST];

/// Whether `name` is an event type a webhook may subscribe to: an audit action
/// or one of `task.succeeded`, `task.failed`, `webhook.test`.
pub fn is_known_event(name: &str) -> bool {
    AuditAction::ALL.contains(&name) || OTHER_EVENTS.contains(&name)
}

crate::sort_by! {
    /// `sortBy` of the webhook list.
    WebhookSort {
        /// Creation time (the default).
        CreatedAt => "createdAt",
    }
}

crate::sort_by! {
    /// `sortBy` of a delivery log: creation time only (newest first by default).
    DeliverySort {
        /// Creation time.
        CreatedAt => "createdAt",
    }
}

text_enum! {
    /// How one delivery attempt ended.
    DeliveryStatus {
        /// The receiver answered 2xx.
        Succeeded => "succeeded",
        /// Anything else (see [`DeliveryErrorClass`]).
        Failed => "failed",
    }
}

text_enum! {
    /// Why an attempt failed.
    DeliveryErrorClass {
        /// No answer within `webhooks.timeout_secs`.
        Timeout => "timeout",
        /// The connection could not be made (DNS, refused, reset, ...).
        Connect => "connect",
        /// The TLS handshake failed.
        Tls => "tls",
        /// The host is, or resolved to, a refused address.
        Ssrf => "ssrf",
        /// A status other than 2xx and 3xx.
        HttpStatus => "http_status",
        /// A 3xx: redirects are not followed.
        Redirect => "redirect",
    }
}

text_enum! {
    /// Why the server disabled a webhook.
    DisabledReason {
        /// The receiver answered `410 Gone`.
        Gone => "gone",
        /// Every attempt failed for `webhooks.disable_after_days`.
        Failing => "failing",
    }
}

/// One entry of a webhook's `events`: an event type (`organization.updated`)
/// or every event of an entity (`member.*`, `task.*`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct EventFilter(String);

/// Why a string is not an event filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventFilterError {
    /// Neither a known event type nor `entity.*` of a known entity.
    #[error("unknown event `{0}`: use an event type such as organization.updated, or entity.*")]
    Unknown(String),
}

impl FieldErrorCode for EventFilterError {
    fn code(&self) -> &'static str {
        "UNKNOWN_EVENT"
    }
}

impl EventFilter {
    /// Checks `input` (exact, case-sensitive).
    pub fn parse(input: &str) -> Result<Self, EventFilterError> {
        let known = match input.strip_suffix(".*") {
            Some(entity) => {
                entity.parse::<AuditEntity>().is_ok() || entity == "task" || entity == "webhook"
            }
            None => is_known_event(input),
        };
        if known {
            Ok(Self(input.to_owned()))
        } else {
            Err(EventFilterError::Unknown(input.chars().take(100).collect()))
        }
    }

    /// Whether an event of type `event_type` passes this filter.
    pub fn matches(&self, event_type: &str) -> bool {
        match self.0.strip_suffix('*') {
            Some(prefix) => event_type.starts_with(prefix),
            None => self.0 == event_type,
        }
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A webhook's subscriptions: 1 to [`WebhookEvents::MAX`] distinct filters.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct WebhookEvents(Vec<EventFilter>);

/// Why a list is not a webhook's events.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookEventsError {
    /// An empty list.
    #[error("events must name at least one event")]
    Empty,
    /// More than [`WebhookEvents::MAX`].
    #[error("events may name at most 100 events")]
    TooMany,
    /// The same filter twice.
    #[error("events names `{0}` twice")]
    Duplicate(String),
    /// One entry is not a filter.
    #[error(transparent)]
    Unknown(#[from] EventFilterError),
}

impl FieldErrorCode for WebhookEventsError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "REQUIRED",
            Self::TooMany => "TOO_MANY",
            Self::Duplicate(_) => "DUPLICATE_EVENT",
            Self::Unknown(e) => e.code(),
        }
    }
}

impl WebhookEvents {
    /// The most filters a webhook has.
    pub const MAX: usize = 100;

    /// Checks every entry.
    pub fn parse(items: Vec<String>) -> Result<Self, WebhookEventsError> {
        if items.is_empty() {
            return Err(WebhookEventsError::Empty);
        }
        if items.len() > Self::MAX {
            return Err(WebhookEventsError::TooMany);
        }
        let mut out: Vec<EventFilter> = Vec::with_capacity(items.len());
        for item in items {
            let filter = EventFilter::parse(&item)?;
            if out.contains(&filter) {
                return Err(WebhookEventsError::Duplicate(item));
            }
            out.push(filter);
        }
        Ok(Self(out))
    }

    /// Whether an event of type `event_type` goes to the webhook.
    pub fn matches(&self, event_type: &str) -> bool {
        self.0.iter().any(|f| f.matches(event_type))
    }

    /// The filters as written.
    pub fn as_strings(&self) -> Vec<String> {
        self.0.iter().map(|f| f.0.clone()).collect()
    }
}

/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// A stored webhook, its secrets sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    /// Identity.
    pub id: WebhookId,
    /// The organization whose events it receives.
    pub organization_id: OrganizationId,
    /// Where events are posted.
    pub url: String,
    /// Which events.
    pub events: WebhookEvents,
    /// The owner's note.
    pub description: Option<String>,
    /// Whether events are written for it; the server turns it off (see
    /// `disabled_reason`).
    pub enabled: bool,
    /// The signing secret (`whsec_...`), encrypted.
    pub sealed_secret: SealedSecret,
    /// The secret before the last rotation, encrypted, while it still signs.
    pub previous_sealed_secret: Option<SealedSecret>,
    /// Until when the previous secret signs too.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Since when every attempt failed (`None` after a success).
    pub failing_since: Option<DateTime<Utc>>,
    /// Why the server disabled it, when it did.
    pub disabled_reason: Option<DisabledReason>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A validated request for a new webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDraft {
    /// Where events are posted.
    pub url: EndpointUrl,
    /// Which events.
    pub events: WebhookEvents,
    /// A note.
    pub description: Option<String>,
    /// Enabled unless `false`.
    pub enabled: bool,
}

/// A validated partial change; `None` leaves a field alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookChanges {
    /// A new URL.
    pub url: Option<EndpointUrl>,
    /// New filters, replacing the old ones.
    pub events: Option<WebhookEvents>,
    /// A new description, or `Some(None)` to remove it.
    pub description: Option<Option<String>>,
    /// On or off; turning it on clears `failingSince` and `disabledReason`.
    pub enabled: Option<bool>,
}

/// Which URLs a webhook may have: `https` always, `http` too where private
/// networks are allowed (`webhooks.allow_private_networks`: development and
/// tests, whose receivers are local).
pub const fn url_policy(allow_private_networks: bool) -> UrlPolicy {
    if allow_private_networks {
        UrlPolicy::HttpAllowed
    } else {
        UrlPolicy::HttpsOnly
    }
}

#[derive(Debug, thiserror::Error)]
#[error("description must be at most 500 characters")]
struct DescriptionTooLong;

impl FieldErrorCode for DescriptionTooLong {
    fn code(&self) -> &'static str {
        "TOO_LONG"
    }
}

fn description(input: Option<String>) -> Result<Option<String>, DescriptionTooLong> {
    let Some(text) = input else { return Ok(None) };
    let text = text.trim();
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(DescriptionTooLong);
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// A webhook as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateWebhookBody))]
#[serde(rename_all = "camelCase")]
pub struct CreateWebhookRequest {
    /// An absolute `https` URL (`http` too where private networks are
    /// allowed) whose host is no private, loopback or link-local address.
    #[validate(required(code = "REQUIRED", message = "url is required"))]
    #[cfg_attr(feature = "openapi", schema(value_type = String, max_length = 2048, required = true, example = "https://hooks.example.com/groundwork"))]
    pub url: Option<String>,
    /// Event types (`organization.updated`) or `entity.*` (`member.*`,
    /// `task.*`), 1 to 100.
    #[validate(required(code = "REQUIRED", message = "events is required"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, required = true, example = json!(["organization.updated", "task.*"])))]
    pub events: Option<Vec<String>>,
    /// At most 500 characters.
    #[cfg_attr(feature = "openapi", schema(max_length = 500))]
    pub description: Option<String>,
    /// `true` unless given.
    pub enabled: Option<bool>,
}

impl CreateWebhookRequest {
    /// The draft, URLs checked under `policy` (see [`url_policy`]).
    pub fn into_draft(self, policy: UrlPolicy) -> Result<WebhookDraft, DomainError> {
        let mut v = Validation::of(&self);
        let url = v
            .required("url", self.url)
            .and_then(|u| v.check("url", EndpointUrl::parse(&u, policy)));
        let events = v
            .required("events", self.events)
            .and_then(|e| v.check("events", WebhookEvents::parse(e)));
        let description = v.check("description", description(self.description));
        let enabled = self.enabled.unwrap_or(true);
        let ((url, events), description) = v.finish(url.zip(events).zip(description))?;
        Ok(WebhookDraft {
            url,
            events,
            description,
            enabled,
        })
    }
}

/// A change to a webhook as sent; absent fields stay as they are.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdateWebhookBody))]
#[serde(rename_all = "camelCase")]
pub struct UpdateWebhookRequest {
    /// A new URL; cannot be `null`.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, max_length = 2048, required = false))]
    pub url: Option<Option<String>>,
    /// New filters, replacing the old ones; cannot be `null`.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, required = false))]
    pub events: Option<Option<Vec<String>>>,
    /// A new description; `null` removes it.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 500, required = false))]
    pub description: Option<Option<String>>,
    /// On or off; cannot be `null`. Turning a disabled webhook on clears
    /// `failingSince` and `disabledReason`.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "openapi", schema(value_type = bool, required = false))]
    pub enabled: Option<Option<bool>>,
}

impl UpdateWebhookRequest {
    /// The changes, URLs checked under `policy`.
    pub fn into_changes(self, policy: UrlPolicy) -> Result<WebhookChanges, DomainError> {
        let mut v = Validation::of(&self);
        let url = match self.url {
            None => Some(None),
            Some(u) => v
                .required("url", u)
                .and_then(|u| v.check("url", EndpointUrl::parse(&u, policy)))
                .map(Some),
        };
        let events = match self.events {
            None => Some(None),
            Some(e) => v
                .required("events", e)
                .and_then(|e| v.check("events", WebhookEvents::parse(e)))
                .map(Some),
        };
        let description = match self.description {
            None => Some(None),
            Some(d) => v.check("description", description(d)).map(Some),
        };
        let enabled = match self.enabled {
            None => Some(None),
            Some(e) => v.required("enabled", e).map(Some),
        };
        let ((url, events), (description, enabled)) =
            v.finish(url.zip(events).zip(description.zip(enabled)))?;
        Ok(WebhookChanges {
            url,
            events,
            description,
            enabled,
        })
    }
}

/// One logged attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookDelivery {
    /// Identity.
    pub id: DeliveryId,
    /// The webhook.
    pub webhook_id: WebhookId,
    /// Its organization.
    pub organization_id: OrganizationId,
    /// The event (`webhook-id`).
    pub event_id: EventId,
    /// The event's type.
    pub event_type: String,
    /// 1 for the first attempt at the event, 2 for the first retry, ...
    pub attempt: i32,
    /// How it ended.
    pub status: DeliveryStatus,
    /// The receiver's status code, if it answered.
    pub response_code: Option<i32>,
    /// From sending to the end of the answer (or the failure), in ms.
    pub latency_ms: i64,
    /// The first 4 KiB of the answer's body.
    pub response_body: Option<String>,
    /// Why it failed.
    pub error_class: Option<DeliveryErrorClass>,
    /// More about the failure (the connect error, ...).
    pub error: Option<String>,
    /// The body that was posted (`{type, timestamp, data}`): what a replay sends.
    pub payload: serde_json::Value,
    /// When the attempt was made.
    pub created_at: DateTime<Utc>,
}

/// Filters of a delivery log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// Only attempts that ended so.
    pub status: Option<DeliveryStatus>,
}

/// The waits after the 1st, 2nd, ... failed attempt (Standard Webhooks' and
/// Svix's schedule): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. After the 8th
/// attempt the event is given up on.
pub const RETRY_SCHEDULE_SECS: [i64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

/// The longest `Retry-After` honoured: the schedule's longest step.
pub const MAX_RETRY_AFTER_SECS: i64 = 36_000;

/// The wait before the next attempt after the `attempt`-th failed (1 for the
/// first), spread by `jitter` (in [-0.1, 0.1]); at least `retry_after` (the
/// receiver's `Retry-After`, capped at [`MAX_RETRY_AFTER_SECS`]). `None` when
/// the schedule is used up.
pub fn next_retry(attempt: u32, jitter: f64, retry_after: Option<TimeDelta>) -> Option<TimeDelta> {
    let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
    let base = *RETRY_SCHEDULE_SECS.get(index)?;
    #[allow(clippy::cast_possible_truncation)]
    let spread = (base as f64 * 1000.0 * (1.0 + jitter.clamp(-0.1, 0.1))) as i64;
    let scheduled = TimeDelta::milliseconds(spread);
    let asked = retry_after
        .map(|d| d.min(TimeDelta::seconds(MAX_RETRY_AFTER_SECS)))
        .unwrap_or_default();
    Some(scheduled.max(asked))
}

/// A `Retry-After` value (RFC 9110: delay seconds or an HTTP date) as a wait
/// from `now`; `None` when it is neither or lies in the past.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<TimeDelta> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u32>() {
        return Some(TimeDelta::seconds(i64::from(secs)));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&Utc) - now;
    (wait > TimeDelta::zero()).then_some(wait)
}

/// Whether a delivery may not connect to `ip`: loopback, private (RFC 1918),
/// link-local (169.254/16, fe80::/10: cloud metadata lives there), CGNAT
/// (100.64/10), unique-local (fc00::/7), IPv4-mapped or -compatible IPv6,
/// unspecified, multicast, broadcast, and the documentation and benchmarking
/// ranges no public service uses.
pub fn is_forbidden_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                // ::ffff:0:0/96 (mapped) and ::/96 (compatible): an IPv4
                // address in disguise, whatever it is.
                || v6.to_ipv4().is_some()
                || first == 0x2001 && v6.segments()[1] == 0x0db8
        }
    }
}

/// The host (a name, or an IP literal without brackets) and port of `url`.
pub fn host_and_port(url: &str) -> Option<(String, u16)> {
    let parsed = url::Url::parse(url).ok()?;
    let port = parsed.port_or_known_default()?;
    let host = match parsed.host()? {
        url::Host::Domain(name) => name.to_owned(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => ip.to_string(),
    };
    Some((host, port))
}

/// A webhook's URL refused because its host is (or resolves to) `ip`.
pub fn forbidden_url(ip: IpAddr) -> DomainError {
    DomainError::invalid(
        "url",
        WEBHOOK_URL_FORBIDDEN,
        format!(
            "url must not point at a private, loopback or link-local address (it resolves to {ip})"
        ),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn filters_match_exact_names_and_whole_entities() {
        let events = WebhookEvents::parse(vec![
            "organization.updated".into(),
            "member.*".into(),
            "task.failed".into(),
        ])
        .unwrap();
        assert!(events.matches("organization.updated"));
        assert!(events.matches("member.removed"));
        assert!(events.matches("task.failed"));
        assert!(!events.matches("organization.deleted"));
        assert!(!events.matches("task.succeeded"));
        assert!(!events.matches("memberx.removed"));
    }

    #[test]
    fn unknown_or_repeated_filters_are_refused() {
        let code = |items: &[&str]| {
            WebhookEvents::parse(items.iter().map(|s| (*s).to_owned()).collect())
                .unwrap_err()
                .code()
        };
        assert_eq!(code(&[]), "REQUIRED");
        assert_eq!(code(&["organization.renamed"]), "UNKNOWN_EVENT");
        assert_eq!(code(&["nothing.*"]), "UNKNOWN_EVENT");
        assert_eq!(code(&["*"]), "UNKNOWN_EVENT");
        assert_eq!(code(&["task.*", "task.*"]), "DUPLICATE_EVENT");
        assert!(EventFilter::parse("webhook.test").is_ok());
        assert!(EventFilter::parse("webhook.*").is_ok());
    }

    #[test]
    fn a_draft_reports_every_broken_rule() {
        let draft = |body| {
            serde_json::from_value::<CreateWebhookRequest>(body)
                .unwrap()
                .into_draft(UrlPolicy::HttpsOnly)
        };
        match draft(
            json!({"url": "http://example.com", "events": ["x.y"], "description": "d".repeat(501)}),
        ) {
            Err(DomainError::Validation(errors)) => {
                let codes: Vec<_> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
                assert_eq!(
                    codes,
                    [
                        ("url", "HTTPS_REQUIRED"),
                        ("events", "UNKNOWN_EVENT"),
                        ("description", "TOO_LONG")
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        let ok = draft(
            json!({"url": "https://example.com/h", "events": ["task.*"], "description": "  "}),
        )
        .unwrap();
        assert!(ok.enabled);
        assert_eq!(ok.description, None);
    }

    #[test]
    fn the_schedule_runs_out_after_seven_retries_and_honours_retry_after() {
        let secs = |a, r| next_retry(a, 0.0, r).map(|d: TimeDelta| d.num_seconds());
        let all: Vec<_> = (1..=8).map(|a| secs(a, None)).collect();
        assert_eq!(
            all,
            [
                Some(5),
                Some(300),
                Some(1_800),
                Some(7_200),
                Some(18_000),
                Some(36_000),
                Some(36_000),
                None
            ]
        );
        assert_eq!(secs(0, None), None);
        assert_eq!(secs(1, Some(TimeDelta::seconds(120))), Some(120));
        assert_eq!(secs(2, Some(TimeDelta::seconds(120))), Some(300));
        assert_eq!(secs(1, Some(TimeDelta::days(30))), Some(36_000));
        let jittered = next_retry(2, 0.1, None).unwrap().num_seconds();
        assert_eq!(jittered, 330);
        assert_eq!(next_retry(2, -0.5, None).unwrap().num_seconds(), 270);
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = DateTime::parse_from_rfc3339("2026-11-30T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("120", now), Some(TimeDelta::seconds(120)));
        assert_eq!(
            parse_retry_after("Mon, 30 Nov 2026 08:10:00 GMT", now),
            Some(TimeDelta::minutes(10))
        );
        assert_eq!(
            parse_retry_after("Mon, 30 Nov 2026 07:10:00 GMT", now),
            None
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn every_refused_address_class_is_refused_and_public_ones_pass() {
        for refused in [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.1",
            "172.16.5.4",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:8.8.8.8",
            "ff02::1",
        ] {
            assert!(is_forbidden_address(refused.parse().unwrap()), "{refused}");
        }
        for allowed in [
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
        ] {
            assert!(!is_forbidden_address(allowed.parse().unwrap()), "{allowed}");
        }
    }
}
