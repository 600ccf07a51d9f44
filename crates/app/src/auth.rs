//! Sign-up, sign-in, sign-out, email verification and password reset.

use chrono::{DateTime, Utc};
use domain::auth::{SessionPolicy, SignInThrottle};
use domain::users::{Credentials, SignUp, ensure_may_sign_in};
use domain::{
    Actor, AuditAction, AuditEntity, AuditEvent, Changes, DomainError, Email, Password, SessionId,
    User, VerificationPurpose,
};
use serde_json::json;

use crate::Context;
use infra::repositories::SignInFailureRepository;
use infra::repositories::accounts::AccountRepository;
use infra::repositories::verification_tokens::VerificationTokenRepository;
use infra::repositories::{AuditLogRepository, UserRepository};
use infra::repositories::{ClientInfo, EmailTemplate, OutboxRepository, SessionRepository};
use infra::security::{hash_token, issue_token};
use infra::{Database, PasswordHasher};

/// A new session: the user, the bearer token (shown to the client once, never
/// stored) and when the session expires unless used.
#[derive(Debug)]
pub struct SignedIn {
    /// The signed-in user.
    pub user: User,
    /// The bearer token.
    pub token: String,
    /// When the session ends unless it is used (and so extended) before.
    pub expires_at: DateTime<Utc>,
}

/// Creates a user with a credential account and a first session, and queues the
/// email-verification email: all in one unit of work. `Conflict` (`EMAIL_TAKEN`)
/// when a live user has the email; the unique index decides, so concurrent
/// sign-ups with one email yield exactly one user.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_up(
    db: &Database,
    passwords: &PasswordHasher,
    sessions: &SessionPolicy,
    ctx: &Context,
    sign_up: SignUp,
    client: ClientInfo,
) -> Result<SignedIn, DomainError> {
    let now = ctx.now;
    // Slow and secret-dependent work before the transaction, so that it holds
    // its locks only for the writes.
    let password_hash = passwords.hash(sign_up.password).await?;
    let session_token = issue_token()?;
    let verification = issue_token()?;
    let first_name = sign_up.user.first_name.as_str().to_owned();

    let uow = db.begin().await?;
    let conn = uow.conn();
    let user = UserRepository::at(conn, now).insert(sign_up.user).await?;
    AccountRepository::at(conn, now)
        .create_credential(user.id, password_hash)
        .await?;
    let session = SessionRepository::at(conn, now)
        .create(user.id, session_token.hash, client, sessions)
        .await?;
    VerificationTokenRepository::at(conn, now)
        .create(
            &user.email,
            VerificationPurpose::EmailVerification,
            verification.hash,
        )
        .await?;
    OutboxRepository::at(conn, now)
        .enqueue_email(
            &user.email,
            EmailTemplate::EmailVerification,
            json!({ "token": verification.token, "firstName": first_name }),
        )
        .await?;
    AuditLogRepository::new(conn)
        .record(
            &ctx.acting_as(Actor::User(user.id)),
            AuditEvent::new(AuditAction::UserSignedUp, AuditEntity::User, user.id)
                .with_changes(user_fields(&user)),
        )
        .await?;
    uow.commit().await?;

    Ok(SignedIn {
        user,
        token: session_token.token,
        expires_at: session.expires_at,
    })
}

/// Starts a session for the owner of `credentials`. `INVALID_CREDENTIALS`
/// (unauthenticated) for an unknown or deleted user, a user without a password,
/// or a wrong password: one answer for all, after one password verification each,
/// so neither the body nor the timing tells them apart. `Forbidden`
/// (`ACCOUNT_INACTIVE`) only once the password matched. `RateLimited` while the
/// email is paused by `throttle`, before anything else is read or hashed, alike
/// for an email with or without an account; a successful sign-in clears the
/// email's failures.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_in(
    db: &Database,
    passwords: &PasswordHasher,
    throttle: &SignInThrottle,
    sessions: &SessionPolicy,
    ctx: &Context,
    credentials: Credentials,
    client: ClientInfo,
) -> Result<SignedIn, DomainError> {
    let now = ctx.now;
    admit_sign_in(db, throttle, &credentials.email, now).await?;
    let user = match UserRepository::at(db.conn(), now)
        .find_by_email(&credentials.email)
        .await
    {
        Ok(user) => Some(user),
        Err(DomainError::NotFound { .. }) => None,
        Err(err) => return Err(err),
    };
    let stored = match &user {
        Some(user) => {
            AccountRepository::at(db.conn(), now)
                .credential_password_hash(user.id)
                .await?
        }
        None => None,
    };
    let verified = match credentials.password {
        Some(password) => passwords.verify(password, stored).await?,
        None => {
            // Outside the policy, so it matches nothing; verify a stand-in
            // against the dummy hash to take the same time.
            let stand_in = Password::parse(TIMING_STAND_IN)
                .map_err(|e| DomainError::Internal(format!("timing stand-in: {e}")))?;
            passwords.verify(stand_in, None).await?
        }
    };
    let user = match user {
        Some(user) if verified => user,
        user => {
            record_failed_sign_in(db, ctx, user.as_ref()).await?;
            return Err(DomainError::INVALID_CREDENTIALS);
        }
    };
    if let Err(refused) = ensure_may_sign_in(&user) {
        record_failed_sign_in(db, ctx, Some(&user)).await?;
        return Err(refused);
    }

    let token = issue_token()?;
    let uow = db.begin().await?;
    let session = SessionRepository::at(uow.conn(), now)
        .create(user.id, token.hash, client, sessions)
        .await?;
    SignInFailureRepository::at(uow.conn(), now)
        .clear(&credentials.email)
        .await?;
    AuditLogRepository::new(uow.conn())
        .record(
            &ctx.acting_as(Actor::User(user.id)),
            AuditEvent::new(AuditAction::UserSignedIn, AuditEntity::User, user.id),
        )
        .await?;
    uow.commit().await?;
    Ok(SignedIn {
        user,
        token: token.token,
        expires_at: session.expires_at,
    })
}

/// Counts an attempt for `email` as a failure (until it succeeds), or refuses it
/// (`RateLimited`) while the email is paused: in one short transaction holding
/// the email's row, so concurrent attempts cannot together pass the limit.
async fn admit_sign_in(
    db: &Database,
    throttle: &SignInThrottle,
    email: &Email,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    let failures = SignInFailureRepository::at(uow.conn(), now);
    let current = failures.lock(email).await?;
    // Refused: dropping the unit of work rolls back the (no-op) lock.
    let admitted = throttle.admit(&current, now)?;
    failures.save(email, &admitted).await?;
    uow.commit().await
}

/// Appends `user.sign_in_failed` (about the user, when the email is one's).
async fn record_failed_sign_in(
    db: &Database,
    ctx: &Context,
    user: Option<&User>,
) -> Result<(), DomainError> {
    let event = AuditEvent {
        organization_id: None,
        action: AuditAction::UserSignInFailed,
        entity: AuditEntity::User,
        entity_id: user.map(|u| u.id.to_string()),
        changes: Changes::new(),
    };
    AuditLogRepository::new(db.conn())
        .record(ctx, event)
        .await
        .map(|_| ())
}

/// A new user's fields as `[null, value]` changes.
fn user_fields(user: &User) -> Changes {
    Changes::new()
        .created("email", user.email.as_str())
        .created("firstName", &user.first_name)
        .created("lastName", &user.last_name)
        .created("type", user.user_type.as_str())
        .created("profession", &user.profession)
}

/// Verified in place of a password that breaks the length policy.
const TIMING_STAND_IN: &str = "password outside the policy";

/// Ends one session; its token no longer authenticates. Revoking twice is harmless.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_out(db: &Database, ctx: &Context, session: SessionId) -> Result<(), DomainError> {
    let uow = db.begin().await?;
    SessionRepository::at(uow.conn(), ctx.now)
        .revoke(session)
        .await?;
    AuditLogRepository::new(uow.conn())
        .record(
            ctx,
            AuditEvent::new(AuditAction::SessionRevoked, AuditEntity::Session, session),
        )
        .await?;
    uow.commit().await
}

/// Uses an email-verification token and marks its live user's email verified.
/// `InvalidToken` when the token is unknown, expired or used, or its user is gone.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn verify_email(db: &Database, ctx: &Context, token: &str) -> Result<(), DomainError> {
    let now = ctx.now;
    let uow = db.begin().await?;
    let conn = uow.conn();
    let email = VerificationTokenRepository::at(conn, now)
        .consume(&hash_token(token), VerificationPurpose::EmailVerification)
        .await?;
    let users = UserRepository::at(conn, now);
    let user = live_user_of_token(&users, &email).await?;
    users.mark_email_verified(user.id).await?;
    AuditLogRepository::new(conn)
        .record(
            &ctx.acting_as(Actor::User(user.id)),
            AuditEvent::new(AuditAction::UserUpdated, AuditEntity::User, user.id).with_changes(
                Changes::new().field("emailVerifiedAt", user.email_verified_at, Some(now)),
            ),
        )
        .await?;
    uow.commit().await
}

/// Queues a password-reset email for the live user with `email`, if there is one.
/// Succeeds either way, so that the answer does not reveal who has an account.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn request_password_reset(
    db: &Database,
    ctx: &Context,
    email: &Email,
) -> Result<(), DomainError> {
    let now = ctx.now;
    match UserRepository::at(db.conn(), now)
        .find_by_email(email)
        .await
    {
        Ok(_) => {}
        Err(DomainError::NotFound { .. }) => return Ok(()),
        Err(err) => return Err(err),
    }
    let token = issue_token()?;
    let uow = db.begin().await?;
    let conn = uow.conn();
    VerificationTokenRepository::at(conn, now)
        .create(email, VerificationPurpose::PasswordReset, token.hash)
        .await?;
    OutboxRepository::at(conn, now)
        .enqueue_email(
            email,
            EmailTemplate::PasswordReset,
            json!({ "token": token.token }),
        )
        .await?;
    uow.commit().await
}

/// Uses a password-reset token: sets the new password (creating the credential
/// account if the user had none) and revokes every session of the user, in one
/// unit of work. `InvalidToken` when the token is unknown, expired or used, or
/// its user is gone.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn confirm_password_reset(
    db: &Database,
    passwords: &PasswordHasher,
    ctx: &Context,
    token: &str,
    new_password: Password,
) -> Result<(), DomainError> {
    let now = ctx.now;
    let password_hash = passwords.hash(new_password).await?;
    let uow = db.begin().await?;
    let conn = uow.conn();
    let email = VerificationTokenRepository::at(conn, now)
        .consume(&hash_token(token), VerificationPurpose::PasswordReset)
        .await?;
    let user = live_user_of_token(&UserRepository::at(conn, now), &email).await?;
    AccountRepository::at(conn, now)
        .set_credential_password(user.id, password_hash)
        .await?;
    SessionRepository::at(conn, now)
        .revoke_all_for_user(user.id)
        .await?;
    // The password itself is never recorded, only that it changed.
    AuditLogRepository::new(conn)
        .record(
            &ctx.acting_as(Actor::User(user.id)),
            AuditEvent::new(AuditAction::UserUpdated, AuditEntity::User, user.id)
                .with_changes(Changes::new().field("password", None::<&str>, "reset")),
        )
        .await?;
    uow.commit().await
}

/// The live user a token was issued to; a token whose user has since been
/// deleted is as good as unknown.
async fn live_user_of_token<C: sea_orm::ConnectionTrait>(
    users: &UserRepository<'_, C>,
    email: &Email,
) -> Result<User, DomainError> {
    match users.find_by_email(email).await {
        Err(DomainError::NotFound { .. }) => Err(DomainError::InvalidToken),
        other => other,
    }
}
