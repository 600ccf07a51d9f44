//! Organizations.

use domain::{DomainError, NewOrganization, Organization, OrganizationId, Plan, Slug};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use super::corrupt;
use super::soft_delete::{SoftDeletable, SoftDeleteRepository, standard_columns};
use crate::db_error::to_domain;
use crate::entities::organizations::{self, Column, Entity};

/// Organizations, soft-delete aware.
pub type OrganizationRepository<'c, C> = SoftDeleteRepository<'c, C, Entity>;

impl SoftDeletable for Entity {
    type Id = OrganizationId;
    type Domain = Organization;
    const NOT_FOUND: DomainError = DomainError::not_found("organization", "ORGANIZATION_NOT_FOUND");

    standard_columns!();
    fn to_domain(m: organizations::Model) -> Result<Organization, DomainError> {
        Ok(Organization {
            id: OrganizationId::from(m.id),
            name: m.name,
            slug: Slug::parse(&m.slug).map_err(corrupt("slug"))?,
            plan: m.plan.parse::<Plan>().map_err(corrupt("plan"))?,
            created_at: m.created_at,
            updated_at: m.updated_at,
            deleted_at: m.deleted_at,
        })
    }
}

impl<C: ConnectionTrait> SoftDeleteRepository<'_, C, Entity> {
    /// Creates an organization. `Conflict` (`SLUG_TAKEN`) when a live organization
    /// has the slug.
    #[tracing::instrument(skip_all)]
    pub async fn insert(&self, new: NewOrganization) -> Result<Organization, DomainError> {
        let now = self.now;
        let row = organizations::ActiveModel {
            id: Set(OrganizationId::new().as_uuid()),
            name: Set(new.name.into_inner()),
            slug: Set(new.slug.into_inner()),
            plan: Set(new.plan.as_str().to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        };
        let model = row.insert(self.conn).await.map_err(to_domain)?;
        Entity::to_domain(model)
    }
}
