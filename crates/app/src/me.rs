//! The signed-in user's own account: profile changes and deletion.

use domain::users::{ProfileChanges, last_owner_conflict};
use domain::{AuditAction, AuditEntity, AuditEvent, Changes, DomainError, User};

use infra::Database;
use infra::repositories::{
    ApiKeyRepository, AuditLogRepository, MemberRepository, OrganizationRepository,
    SessionRepository, UserRepository,
};

use crate::Context;

/// Applies `changes` to the caller's live user and returns the whole user.
/// `Validation` when clearing an employee's profession; `NotFound` when the user
/// is gone.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update_profile(
    db: &Database,
    ctx: &Context,
    changes: ProfileChanges,
) -> Result<User, DomainError> {
    let id = ctx.user()?;
    let uow = db.begin().await?;
    let users = UserRepository::at(uow.conn(), ctx.now);
    let before = users.find(id).await?;
    changes.check_against(&before)?;
    if changes.is_empty() {
        return Ok(before);
    }
    let user = users.update_profile(id, changes).await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::UserUpdated, AuditEntity::User, id)
                .with_changes(profile_changes(&before, &user)),
        )
        .await?;
    uow.commit().await?;
    Ok(user)
}

/// What a profile change changed.
pub(crate) fn profile_changes(before: &User, after: &User) -> Changes {
    Changes::new()
        .field("firstName", &before.first_name, &after.first_name)
        .field("lastName", &before.last_name, &after.last_name)
        .field("type", before.user_type.as_str(), after.user_type.as_str())
        .field("profession", &before.profession, &after.profession)
        .field("avatarUrl", &before.avatar_url, &after.avatar_url)
}

/// Soft-deletes the caller's user, revokes all their sessions and the API keys
/// they made (each audited `api_key.revoked`) and ends their live memberships,
/// in one unit of work. `Conflict` (`LAST_OWNER`) when they are the
/// only owner of a live organization; nothing changes then.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_account(db: &Database, ctx: &Context) -> Result<(), DomainError> {
    let (id, now) = (ctx.user()?, ctx.now);
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
    let revoked = ApiKeyRepository::at(conn, now)
        .revoke_all_made_by(id)
        .await?;
    crate::api_keys::record_revoked(conn, ctx, &revoked).await?;
    AuditLogRepository::new(conn)
        .record(
            ctx,
            AuditEvent::new(AuditAction::UserDeleted, AuditEntity::User, id),
        )
        .await?;
    uow.commit().await
}
