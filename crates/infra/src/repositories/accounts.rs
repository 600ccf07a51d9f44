//! Accounts: how a user proves who they are. Only the `credential` provider
//! (email and password) is used so far; its `provider_account_id` is the user's ID.

use chrono::{DateTime, Utc};
use domain::{AccountId, DomainError, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::db_error::to_domain;
use crate::entities::accounts::{self, Column, Entity};

/// The provider name of email-and-password accounts.
pub const CREDENTIAL_PROVIDER: &str = "credential";

/// Accounts over a connection or transaction.
#[derive(Debug)]
pub struct AccountRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

impl<'c, C: ConnectionTrait> AccountRepository<'c, C> {
    /// A repository over `conn` that stamps every write with `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Creates the credential account of `user_id` with an argon2id PHC string.
    /// `Conflict`: `ACCOUNT_EXISTS` when the user has one already;
    /// `USER_NOT_FOUND` when the user does not exist.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_credential(
        &self,
        user_id: UserId,
        password_hash: String,
    ) -> Result<(), DomainError> {
        let now = self.now;
        let row = accounts::ActiveModel {
            id: Set(AccountId::new().as_uuid()),
            user_id: Set(user_id.as_uuid()),
            provider: Set(CREDENTIAL_PROVIDER.to_owned()),
            provider_account_id: Set(user_id.to_string()),
            password_hash: Set(Some(password_hash)),
            created_at: Set(now),
            updated_at: Set(now),
        };
        row.insert(self.conn).await.map_err(to_domain)?;
        Ok(())
    }

    /// The stored password hash of the user's credential account; `None` when the
    /// user has no credential account (or it has no password).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn credential_password_hash(
        &self,
        user_id: UserId,
    ) -> Result<Option<String>, DomainError> {
        let row = Entity::find()
            .filter(Column::UserId.eq(user_id.as_uuid()))
            .filter(Column::Provider.eq(CREDENTIAL_PROVIDER))
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(row.and_then(|account| account.password_hash))
    }

    /// Sets the password of the user's credential account, creating the account
    /// when the user has none yet (a user who never had a password).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_credential_password(
        &self,
        user_id: UserId,
        password_hash: String,
    ) -> Result<(), DomainError> {
        let result = Entity::update_many()
            .col_expr(Column::PasswordHash, Expr::value(password_hash.clone()))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::UserId.eq(user_id.as_uuid()))
            .filter(Column::Provider.eq(CREDENTIAL_PROVIDER))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        if result.rows_affected == 0 {
            self.create_credential(user_id, password_hash).await?;
        }
        Ok(())
    }
}
