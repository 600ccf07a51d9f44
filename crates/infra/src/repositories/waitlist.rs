//! The waitlist.

use chrono::{DateTime, Utc};
use domain::{DomainError, Email, NewWaitlistEntry, WaitlistEntry, WaitlistRole};
use sea_orm::{ActiveModelTrait, ConnectionTrait, NotSet, Set};

use super::corrupt;
use crate::db_error::to_domain;
use crate::entities::waitlist_entries;

/// Waitlist entries over a connection or transaction.
#[derive(Debug)]
pub struct WaitlistRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

impl<'c, C: ConnectionTrait> WaitlistRepository<'c, C> {
    /// A repository over `conn`, stamping writes with the system clock.
    pub fn new(conn: &'c C) -> Self {
        Self::at(conn, Utc::now())
    }

    /// A repository over `conn`, stamping writes with `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Adds an entry. `Conflict` (`EMAIL_TAKEN`) when the email is on the list
    /// already: the unique index decides, so concurrent sign-ups cannot both win.
    #[tracing::instrument(skip_all)]
    pub async fn add(&self, new: NewWaitlistEntry) -> Result<WaitlistEntry, DomainError> {
        let now = self.now;
        let row = waitlist_entries::ActiveModel {
            id: NotSet,
            email: Set(new.email.into_inner()),
            role: Set(new.role.as_str().to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let m = row.insert(self.conn).await.map_err(to_domain)?;
        Ok(WaitlistEntry {
            id: m.id,
            email: Email::parse(&m.email).map_err(corrupt("email"))?,
            role: m.role.parse::<WaitlistRole>().map_err(corrupt("role"))?,
            created_at: m.created_at,
        })
    }
}
