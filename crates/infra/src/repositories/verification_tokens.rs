//! Single-use verification tokens (email verification, password reset). Only the
//! token's hash is stored; the plain token travels in the outbox email.

use chrono::{DateTime, Utc};
use domain::{DomainError, Email, VerificationPurpose, VerificationTokenId};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::corrupt;
use crate::db_error::to_domain;
use crate::entities::verification_tokens::{self, Column, Entity};

/// Verification tokens over a connection or transaction.
#[derive(Debug)]
pub struct VerificationTokenRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

impl<'c, C: ConnectionTrait> VerificationTokenRepository<'c, C> {
    /// A repository over `conn` for which "now" is `now`: writes are stamped with
    /// it and expiry is judged at it.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Stores a token for `identifier` that expires after the purpose's lifetime;
    /// returns when it expires. `Conflict` (`TOKEN_COLLISION`) if the hash exists.
    #[tracing::instrument(level = "debug", skip_all, fields(purpose = %purpose))]
    pub async fn create(
        &self,
        identifier: &Email,
        purpose: VerificationPurpose,
        token_hash: String,
    ) -> Result<DateTime<Utc>, DomainError> {
        let now = self.now;
        let expires_at = now + purpose.lifetime();
        let row = verification_tokens::ActiveModel {
            id: Set(VerificationTokenId::new().as_uuid()),
            identifier: Set(identifier.as_str().to_owned()),
            purpose: Set(purpose.as_str().to_owned()),
            token_hash: Set(token_hash),
            expires_at: Set(expires_at),
            consumed_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        row.insert(self.conn).await.map_err(to_domain)?;
        Ok(expires_at)
    }

    /// Uses up the unexpired, unused token with this hash and purpose; returns the
    /// identifier (email) it was issued for. `InvalidToken` when there is no such
    /// token. The checks are in the UPDATE's condition, so of two concurrent uses
    /// only one can succeed; use it in a unit of work so the follow-up read sees
    /// the row it consumed.
    #[tracing::instrument(level = "debug", skip_all, fields(purpose = %purpose))]
    pub async fn consume(
        &self,
        token_hash: &str,
        purpose: VerificationPurpose,
    ) -> Result<Email, DomainError> {
        let now = self.now;
        let result = Entity::update_many()
            .col_expr(Column::ConsumedAt, Expr::value(now))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::TokenHash.eq(token_hash))
            .filter(Column::Purpose.eq(purpose.as_str()))
            .filter(Column::ConsumedAt.is_null())
            .filter(Column::ExpiresAt.gt(now))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        if result.rows_affected == 0 {
            return Err(DomainError::InvalidToken);
        }
        let row = Entity::find()
            .filter(Column::TokenHash.eq(token_hash))
            .one(self.conn)
            .await
            .map_err(to_domain)?
            .ok_or(DomainError::InvalidToken)?;
        Email::parse(&row.identifier).map_err(corrupt("token identifier"))
    }
}
