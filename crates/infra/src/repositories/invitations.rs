//! Invitations to join an organization: stored with the hash of their token,
//! pending until accepted, revoked, expired or deleted with their organization.

use chrono::{DateTime, Utc};
use domain::auth::INVITATION_LIFETIME;
use domain::invitations::InvitationSort;
use domain::invitations::{INVITATION_NOT_FOUND, Invitation, InvitationDraft};
use domain::{
    DomainError, Email, InvitationId, MemberRole, OrganizationId, Page, PageRequest, UserId,
};
use sea_orm::sea_query::Value;
use sea_orm::sea_query::{Condition, Expr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

use super::corrupt;
use super::listing::{self, KeyKind, Listing, SortValue};
use super::references::name_missing_reference;
use super::soft_delete::{SoftDeletable, SoftDeleteRepository, standard_columns};
use crate::db_error::to_domain;
use crate::entities::invitations::{self, Column, Entity};

/// Invitations, soft-delete aware.
pub type InvitationRepository<'c, C> = SoftDeleteRepository<'c, C, Entity>;

impl SoftDeletable for Entity {
    type Id = InvitationId;
    type Domain = Invitation;
    const NOT_FOUND: DomainError = INVITATION_NOT_FOUND;

    standard_columns!();
    fn to_domain(m: invitations::Model) -> Result<Invitation, DomainError> {
        Ok(Invitation {
            id: InvitationId::from(m.id),
            organization_id: OrganizationId::from(m.organization_id),
            email: Email::parse(&m.email).map_err(corrupt("email"))?,
            role: m.role.parse::<MemberRole>().map_err(corrupt("role"))?,
            invited_by: UserId::from(m.invited_by),
            expires_at: m.expires_at,
            accepted_at: m.accepted_at,
            revoked_at: m.revoked_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
            deleted_at: m.deleted_at,
        })
    }
}

/// Not accepted, revoked, deleted, nor expired at `now`.
fn pending_at(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(Column::AcceptedAt.is_null())
        .add(Column::RevokedAt.is_null())
        .add(Column::DeletedAt.is_null())
        .add(Column::ExpiresAt.gt(now))
}

impl<C: ConnectionTrait> SoftDeleteRepository<'_, C, Entity> {
    /// Stores an invitation by `invited_by` into `organization`, expiring
    /// [`INVITATION_LIFETIME`] from now; only `token_hash` is kept. `Conflict`
    /// (missing reference) when the organization or inviter does not exist.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert(
        &self,
        organization: OrganizationId,
        invited_by: UserId,
        draft: InvitationDraft,
        token_hash: String,
    ) -> Result<Invitation, DomainError> {
        let now = self.now;
        let row = invitations::ActiveModel {
            id: Set(InvitationId::new().as_uuid()),
            organization_id: Set(organization.as_uuid()),
            email: Set(draft.email.into_inner()),
            role: Set(draft.role.as_str().to_owned()),
            token_hash: Set(token_hash),
            invited_by: Set(invited_by.as_uuid()),
            expires_at: Set(now + INVITATION_LIFETIME),
            accepted_at: Set(None),
            revoked_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        };
        match row.insert(self.conn).await {
            Ok(model) => Entity::to_domain(model),
            Err(err) => Err(name_missing_reference(
                self.conn,
                to_domain(err),
                &[
                    ("fk_invitations_organizations", organization.as_uuid()),
                    ("fk_invitations_users", invited_by.as_uuid()),
                ],
            )
            .await),
        }
    }

    /// Whether `organization` has a pending invitation for `email`.
    pub async fn has_pending(
        &self,
        organization: OrganizationId,
        email: &Email,
    ) -> Result<bool, DomainError> {
        let found = Entity::find()
            .filter(pending_at(self.now))
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::Email.eq(email.as_str()))
            .count(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(found > 0)
    }

    /// How many invitations of `organization` are pending (for its plan's cap).
    pub async fn count_pending(&self, organization: OrganizationId) -> Result<u64, DomainError> {
        Entity::find()
            .filter(pending_at(self.now))
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .count(self.conn)
            .await
            .map_err(to_domain)
    }

    /// Revokes the pending invitation `id` of `organization`. `NotFound`
    /// (`INVITATION_NOT_FOUND`) when it is missing, of another organization, or no
    /// longer pending.
    pub async fn revoke_pending(
        &self,
        organization: OrganizationId,
        id: InvitationId,
    ) -> Result<(), DomainError> {
        let result = Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(self.now))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(pending_at(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        if result.rows_affected == 0 {
            return Err(INVITATION_NOT_FOUND);
        }
        Ok(())
    }

    /// The invitation whose token hashes to `token_hash`, in whatever state.
    pub async fn find_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<Invitation>, DomainError> {
        Entity::find()
            .filter(Column::TokenHash.eq(token_hash))
            .one(self.conn)
            .await
            .map_err(to_domain)?
            .map(Entity::to_domain)
            .transpose()
    }

    /// Marks the invitation accepted if it is still pending; the condition is in
    /// the UPDATE, so a token is used once even by concurrent requests. Returns
    /// whether it did.
    pub async fn mark_accepted(&self, id: InvitationId) -> Result<bool, DomainError> {
        let result = Entity::update_many()
            .col_expr(Column::AcceptedAt, Expr::value(self.now))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(pending_at(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected > 0)
    }

    /// Soft-deletes the pending invitations of `organization` at this repository's
    /// `now` (the organization's cascade); returns how many.
    pub async fn soft_delete_pending_in(
        &self,
        organization: OrganizationId,
    ) -> Result<u64, DomainError> {
        self.soft_delete_where(
            pending_at(self.now).add(Column::OrganizationId.eq(organization.as_uuid())),
        )
        .await
    }

    /// Brings back the invitations of `organization` deleted at exactly
    /// `deleted_at` (its cascade); returns how many.
    pub async fn restore_all_in(
        &self,
        organization: OrganizationId,
        deleted_at: DateTime<Utc>,
    ) -> Result<u64, DomainError> {
        self.restore_deleted_at(
            Column::OrganizationId.eq(organization.as_uuid()),
            deleted_at,
        )
        .await
    }

    /// One page of `organization`'s pending invitations (see [`InvitationList`]).
    /// `Validation` (`INVALID_CURSOR`) for a cursor of another order.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_pending(
        &self,
        organization: OrganizationId,
        request: &PageRequest<InvitationSort>,
    ) -> Result<Page<Invitation>, DomainError> {
        let query = Entity::find()
            .filter(pending_at(self.now))
            .filter(Column::OrganizationId.eq(organization.as_uuid()));
        listing::page::<InvitationList, _, _, _>(query, request, |query| async move {
            query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(Entity::to_domain)
                .collect()
        })
        .await
    }
}

/// An organization's pending invitations: sorted by `createdAt` or `email`;
/// `searchQuery` matches the email.
pub struct InvitationList;

impl Listing for InvitationList {
    type Sort = InvitationSort;
    type Row = Invitation;

    fn column(sort: InvitationSort) -> (Expr, KeyKind) {
        match sort {
            InvitationSort::CreatedAt => {
                (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp)
            }
            InvitationSort::Email => (Expr::col((Entity, Column::Email)), KeyKind::Text),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        InvitationId::parse(raw).ok().map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![Expr::col((Entity, Column::Email))]
    }

    fn position(row: &Invitation, sort: InvitationSort) -> (SortValue, String) {
        let value = match sort {
            InvitationSort::CreatedAt => SortValue::At(row.created_at),
            InvitationSort::Email => SortValue::Text(row.email.as_str().to_owned()),
        };
        (value, row.id.to_string())
    }
}
