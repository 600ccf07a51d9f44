//! Organization memberships.

use domain::{DomainError, Member, MemberId, MemberRole, NewMember, OrganizationId, UserId};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use super::corrupt;
use super::references::name_missing_reference;
use super::soft_delete::{SoftDeletable, SoftDeleteRepository, standard_columns};
use crate::db_error::to_domain;
use crate::entities::organization_members::{self, Column, Entity};

/// Memberships, soft-delete aware.
pub type MemberRepository<'c, C> = SoftDeleteRepository<'c, C, Entity>;

impl SoftDeletable for Entity {
    type Id = MemberId;
    type Domain = Member;
    const NOT_FOUND: DomainError = DomainError::not_found("member", "MEMBER_NOT_FOUND");

    standard_columns!();
    fn to_domain(m: organization_members::Model) -> Result<Member, DomainError> {
        Ok(Member {
            id: MemberId::from(m.id),
            organization_id: OrganizationId::from(m.organization_id),
            user_id: UserId::from(m.user_id),
            role: m.role.parse::<MemberRole>().map_err(corrupt("role"))?,
            created_at: m.created_at,
            updated_at: m.updated_at,
            deleted_at: m.deleted_at,
        })
    }
}

impl<C: ConnectionTrait> SoftDeleteRepository<'_, C, Entity> {
    /// Adds a member. `Conflict`: `ALREADY_MEMBER` (unique) when the user is a live
    /// member already; `ORGANIZATION_NOT_FOUND` / `USER_NOT_FOUND` (missing
    /// reference) when either does not exist.
    #[tracing::instrument(skip_all)]
    pub async fn insert(&self, new: NewMember) -> Result<Member, DomainError> {
        let now = self.now;
        let row = organization_members::ActiveModel {
            id: Set(MemberId::new().as_uuid()),
            organization_id: Set(new.organization_id.as_uuid()),
            user_id: Set(new.user_id.as_uuid()),
            role: Set(new.role.as_str().to_owned()),
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
                    (
                        "fk_organization_members_organizations",
                        new.organization_id.as_uuid(),
                    ),
                    ("fk_organization_members_users", new.user_id.as_uuid()),
                ],
            )
            .await),
        }
    }
}
