//! What a service needs to know about the request it serves, besides its input:
//! the instant, who acts, and where from (for the audit trail).

use chrono::{DateTime, Utc};
use domain::{Actor, DomainError, UserId};

/// One request's context. Every write of the request is stamped with `now`, and
/// every audit row with the actor, address and request id.
#[derive(Clone, Debug, PartialEq)]
pub struct Context {
    /// The request's instant (from the application's clock).
    pub now: DateTime<Utc>,
    /// Who acts.
    pub actor: Actor,
    /// The caller's address (the peer address, never a forwarded header).
    pub ip: Option<String>,
    /// The request's id (`x-request-id`).
    pub request_id: Option<String>,
}

impl Context {
    /// `actor` acting at `now`, from nowhere in particular.
    pub fn new(now: DateTime<Utc>, actor: Actor) -> Self {
        Self {
            now,
            actor,
            ip: None,
            request_id: None,
        }
    }

    /// The server or an operator's command acting at `now`.
    pub fn system(now: DateTime<Utc>) -> Self {
        Self::new(now, Actor::System)
    }

    /// The signed-in user, or 403 `USER_REQUIRED` for an API key.
    pub fn user(&self) -> Result<UserId, DomainError> {
        self.actor.user()
    }

    /// The same request, acted by `actor` (after sign-in, the new user).
    pub fn acting_as(&self, actor: Actor) -> Self {
        Self {
            actor,
            ..self.clone()
        }
    }
}
