//! The signed-in user's own account: profile changes and deletion.

use chrono::{DateTime, Utc};
use domain::identity::{ProfileChanges, last_owner_conflict};
use domain::{DomainError, User, UserId};

use crate::Database;
use crate::repositories::{
    MemberRepository, OrganizationRepository, SessionRepository, UserRepository,
};

/// Applies `changes` to the live user `id` and returns the whole user.
/// `Validation` when clearing an employee's profession; `NotFound` when the user
/// is gone.
#[tracing::instrument(skip_all)]
pub async fn update_profile(
    db: &Database,
    id: UserId,
    changes: ProfileChanges,
    now: DateTime<Utc>,
) -> Result<User, DomainError> {
    let uow = db.begin().await?;
    let users = UserRepository::at(uow.conn(), now);
    let user = users.find(id).await?;
    changes.check_against(&user)?;
    if changes.is_empty() {
        return Ok(user);
    }
    let user = users.update_profile(id, changes).await?;
    uow.commit().await?;
    Ok(user)
}

/// Soft-deletes the user `id`, revokes all their sessions and ends their live
/// memberships, in one unit of work. `Conflict` (`LAST_OWNER`) when they are the
/// only owner of a live organization; nothing changes then.
#[tracing::instrument(skip_all)]
pub async fn delete_account(
    db: &Database,
    id: UserId,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    let conn = uow.conn();
    OrganizationRepository::at(conn, now)
        .lock_all_of_member(id)
        .await?;
    let members = MemberRepository::at(conn, now);
    if members.is_sole_owner_anywhere(id).await? {
        return Err(last_owner_conflict());
    }
    UserRepository::at(conn, now).soft_delete(id).await?;
    members.soft_delete_all_of(id).await?;
    SessionRepository::at(conn, now)
        .revoke_all_for_user(id)
        .await?;
    uow.commit().await
}
