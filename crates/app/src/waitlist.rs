//! The waitlist: anyone may join it once.

use domain::{DomainError, NewWaitlistEntry, WaitlistEntry};
use infra::Database;
use infra::repositories::WaitlistRepository;

use crate::Context;

/// Adds `new` to the waitlist. `Conflict` (`EMAIL_TAKEN`) when the email, in any
/// case, is on it already.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn join(
    db: &Database,
    ctx: &Context,
    new: NewWaitlistEntry,
) -> Result<WaitlistEntry, DomainError> {
    WaitlistRepository::at(db.conn(), ctx.now).add(new).await
}
