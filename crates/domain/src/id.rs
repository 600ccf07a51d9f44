//! Typed, prefixed, time-ordered identifiers.
//!
//! Every ID is a ULID (128 bits, time-ordered), stored as a `uuid` and shown to the
//! world as `{prefix}_{ULID}` (`usr_01JD6...`). Parsing is strict: the prefix must be
//! the type's own and the ULID must be 26 upper-case Crockford base32 characters, so
//! a user ID can never be mistaken for an organization ID.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;
use uuid::Uuid;

/// Why a string is not an ID of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string does not start with the expected `prefix_`.
    #[error("expected an ID starting with `{expected}_`")]
    WrongPrefix {
        /// The prefix the ID type requires.
        expected: &'static str,
    },
    /// The part after the prefix is not a canonical ULID.
    #[error("`{value}` is not a valid ID")]
    Malformed {
        /// The rejected input.
        value: String,
    },
}

const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Parses the canonical 26-character upper-case ULID (no lower case, no I/L/O/U,
/// no overflow past 2^128).
fn parse_ulid(body: &str) -> Option<Ulid> {
    let bytes = body.as_bytes();
    let canonical =
        bytes.len() == 26 && bytes[0] <= b'7' && bytes.iter().all(|b| CROCKFORD.contains(b));
    if canonical {
        Ulid::from_string(body).ok()
    } else {
        None
    }
}

/// One generator for the process: within a millisecond it increments the random
/// part instead of drawing a new one.
static GENERATOR: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());

// `Ulid::default()` is the nil ULID, not a new one: clippy's suggestion would be wrong.
#[allow(clippy::unwrap_or_default)]
fn monotonic_ulid() -> Ulid {
    GENERATOR
        .lock()
        .ok()
        .and_then(|mut generator| generator.generate().ok())
        // A poisoned lock or 2^80 IDs in one millisecond: fall back to a plain ULID.
        .unwrap_or_else(Ulid::new)
}

/// Shared behaviour of every typed ID.
pub trait TypedId: Sized + Copy {
    /// The public prefix, without the underscore (`usr`).
    const PREFIX: &'static str;
    /// Wraps a raw ULID.
    fn from_ulid(ulid: Ulid) -> Self;
    /// The raw ULID.
    fn ulid(&self) -> Ulid;

    /// A new ID for the current instant, greater than every ID this process
    /// made before (so rows written in one request, at one timestamp, keep the
    /// order they were written in).
    fn generate() -> Self {
        Self::from_ulid(monotonic_ulid())
    }

    /// The storage form.
    fn to_uuid(&self) -> Uuid {
        Uuid::from(self.ulid())
    }

    /// Wraps a stored `uuid`.
    fn from_uuid(uuid: Uuid) -> Self {
        Self::from_ulid(Ulid::from(uuid))
    }

    /// Parses `{prefix}_{ULID}` strictly.
    fn parse_str(input: &str) -> Result<Self, IdError> {
        let body = input
            .strip_prefix(Self::PREFIX)
            .and_then(|rest| rest.strip_prefix('_'))
            .ok_or(IdError::WrongPrefix {
                expected: Self::PREFIX,
            })?;
        parse_ulid(body)
            .map(Self::from_ulid)
            .ok_or_else(|| IdError::Malformed {
                value: input.to_owned(),
            })
    }
}

/// The ID of a resource a client names in a path: [`ResourceId::NOT_FOUND`] is
/// the one answer for an ID that is malformed, of another kind, missing, deleted
/// or in another tenant, so existence is not leaked.
pub trait ResourceId: TypedId {
    /// The 404 with the resource's `*_NOT_FOUND` code.
    const NOT_FOUND: crate::error::DomainError;
    /// How clients name it in a path (`memberId` in `/members/{memberId}`).
    const PARAM: &'static str;
}

macro_rules! typed_id {
    ($(#[$doc:meta] $name:ident => $prefix:literal),+ $(,)?) => {$(
        #[$doc]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Ulid);

        impl TypedId for $name {
            const PREFIX: &'static str = $prefix;
            fn from_ulid(ulid: Ulid) -> Self {
                Self(ulid)
            }
            fn ulid(&self) -> Ulid {
                self.0
            }
        }

        impl $name {
            /// A new ID for the current instant.
            pub fn new() -> Self {
                <Self as TypedId>::generate()
            }

            /// Parses the public form `prefix_ULID`, strictly.
            pub fn parse(input: &str) -> Result<Self, IdError> {
                <Self as TypedId>::parse_str(input)
            }

            /// The storage form (a `uuid`).
            pub fn as_uuid(&self) -> Uuid {
                <Self as TypedId>::to_uuid(self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                <Self as TypedId>::from_uuid(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.as_uuid()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    )+};
}

typed_id! {
    /// Identifies a user (`usr_`).
    UserId => "usr",
    /// Identifies a sign-in account of a user (`acc_`).
    AccountId => "acc",
    /// Identifies a session (`ses_`).
    SessionId => "ses",
    /// Identifies a verification token (`vtk_`).
    VerificationTokenId => "vtk",
    /// Identifies an organization (`org_`).
    OrganizationId => "org",
    /// Identifies a membership of a user in an organization (`mem_`).
    MemberId => "mem",
    /// Identifies an invitation (`inv_`).
    InvitationId => "inv",
    /// Identifies an API key (`key_`).
    ApiKeyId => "key",
    /// Identifies a scheduled job (`job_`).
    JobId => "job",
    /// Identifies one run of a job (`tsk_`).
    TaskId => "tsk",
    /// Identifies a job message (`msg_`).
    MessageId => "msg",
    /// Identifies an outbound endpoint (`ept_`).
    EndpointId => "ept",
    /// Identifies a context entry (`ctx_`).
    ContextEntryId => "ctx",
    /// Identifies one version of a context entry (`ctv_`; internal: clients name versions by number).
    ContextVersionId => "ctv",
    /// Identifies an organization webhook (`whk_`).
    WebhookId => "whk",
    /// Identifies a webhook delivery (`dlv_`).
    DeliveryId => "dlv",
    /// Identifies an audit log row (`aud_`).
    AuditLogId => "aud",
    /// Identifies a feature flag (`flg_`).
    FeatureFlagId => "flg",
    /// Identifies an outbox message (`obx_`).
    OutboxMessageId => "obx",
    /// Identifies a usage record (`use_`).
    UsageRecordId => "use",
    /// Identifies a recorded GitHub webhook delivery (`ghd_`).
    GithubDeliveryId => "ghd",
    /// Identifies a webhook event (`evt_`): the `webhook-id` of its every delivery attempt.
    EventId => "evt",
    /// Identifies a plan (`pln_`).
    PlanId => "pln",
    /// Identifies an organization's subscription (`sub_`).
    SubscriptionId => "sub",
    /// Identifies a billing provider's event (`bev_`).
    BillingEventId => "bev",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_one_after_another_are_increasing() {
        let ids: Vec<UserId> = (0..1000).map(|_| UserId::new()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn an_id_round_trips_through_its_public_form() {
        let id = UserId::new();
        let text = id.to_string();
        assert!(text.starts_with("usr_"));
        assert_eq!(text.len(), 30);
        assert_eq!(UserId::parse(&text), Ok(id));
    }

    #[test]
    fn an_id_round_trips_through_its_storage_form() {
        let id = OrganizationId::new();
        assert_eq!(OrganizationId::from(id.as_uuid()), id);
    }

    #[test]
    fn ids_are_time_ordered() {
        let first = UserId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = UserId::new();
        assert!(first < second);
        assert!(first.as_uuid() < second.as_uuid());
    }

    #[test]
    fn an_id_of_another_kind_is_rejected() {
        let org = OrganizationId::new().to_string();
        assert_eq!(
            UserId::parse(&org),
            Err(IdError::WrongPrefix { expected: "usr" })
        );
    }

    #[test]
    fn malformed_ids_are_rejected() {
        let valid = UserId::new().to_string();
        let body = &valid[4..];
        let cases = [
            "usr_".to_owned(),
            "usr".to_owned(),
            format!("usr_{}", body.to_lowercase()),
            format!("usr_{}", &body[1..]),
            format!("usr_{body}0"),
            format!("usr_8{}", &body[1..]),
            format!("usr_I{}", &body[1..]),
            format!("usr_{}%", &body[1..]),
            format!("usr-{body}"),
            format!("USR_{body}"),
            format!(" {valid}"),
            "usr_' OR 1=1 --".to_owned(),
        ];
        for case in cases {
            assert!(UserId::parse(&case).is_err(), "{case:?} was accepted");
        }
    }

    #[test]
    fn ids_serialize_as_their_public_form() {
        let id = MemberId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<MemberId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<UserId>(&json).is_err());
    }
}
