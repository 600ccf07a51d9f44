//! What a service needs to know about the request it serves, besides its input:
//! the instant, who acts, where from (for the audit trail), and for a read, how
//! the actor stands in the organization it addresses.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::{Actor, DomainError, OrganizationAccess, OrganizationId, UserId};

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
    /// For a read of an organization's resources, the actor's standing there, read
    /// in the same statement as its credentials (see [`Standing`]).
    pub standing: Option<Arc<Standing>>,
}

/// How `actor` stood in organization `organization_id` when the request's
/// credentials were read: in the same statement, so a read request checks its
/// access without another round trip. Only reads carry one (the server sets it for
/// `GET` and `HEAD`): a unit of work reads the standing again, under its locks.
#[derive(Clone, Debug, PartialEq)]
pub struct Standing {
    /// Whom it is about.
    pub actor: Actor,
    /// Where.
    pub organization_id: OrganizationId,
    /// `None` when the organization is missing or deleted, or the actor is not in it.
    pub access: Option<OrganizationAccess>,
}

impl Context {
    /// `actor` acting at `now`, from nowhere in particular.
    pub fn new(now: DateTime<Utc>, actor: Actor) -> Self {
        Self {
            now,
            actor,
            ip: None,
            request_id: None,
            standing: None,
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

    /// The same request, acted by what its credentials stand for, with their
    /// standing in the organization asked about.
    pub fn authenticated(self, auth: crate::sessions::Authentication) -> Self {
        Self {
            actor: auth.principal.actor(),
            standing: auth.standing.map(Arc::new),
            ..self
        }
    }

    /// What [`Standing`] says of the actor in organization `id`, if it is about
    /// them: `Some(None)` when it found no access there.
    pub fn standing_in(&self, id: OrganizationId) -> Option<Option<&OrganizationAccess>> {
        self.standing
            .as_deref()
            .filter(|s| s.organization_id == id && s.actor == self.actor)
            .map(|s| s.access.as_ref())
    }
}

impl infra::repositories::Attribution for Context {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }

    fn actor(&self) -> &Actor {
        &self.actor
    }

    fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }

    fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}
