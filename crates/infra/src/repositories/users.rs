//! Users.

use std::collections::HashMap;

use domain::identity::ProfileChanges;
use domain::{DomainError, Email, MemberRole, NewUser, User, UserId, UserType};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

use super::corrupt;
use super::soft_delete::{SoftDeletable, SoftDeleteRepository, standard_columns};
use crate::db_error::to_domain;
use crate::entities::users::{self, Column, Entity};
use crate::entities::{organization_members as members, organizations};

/// Users, soft-delete aware.
pub type UserRepository<'c, C> = SoftDeleteRepository<'c, C, Entity>;

impl SoftDeletable for Entity {
    type Id = UserId;
    type Domain = User;
    const NOT_FOUND: DomainError = DomainError::not_found("user", "USER_NOT_FOUND");

    standard_columns!();
    fn to_domain(m: users::Model) -> Result<User, DomainError> {
        Ok(User {
            id: UserId::from(m.id),
            email: Email::parse(&m.email).map_err(corrupt("email"))?,
            first_name: m.first_name,
            last_name: m.last_name,
            user_type: m
                .user_type
                .parse::<UserType>()
                .map_err(corrupt("user type"))?,
            profession: m.profession,
            avatar_url: m.avatar_url,
            is_active: m.is_active,
            is_admin: m.is_admin,
            email_verified_at: m.email_verified_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
            deleted_at: m.deleted_at,
        })
    }
}

impl<C: ConnectionTrait> SoftDeleteRepository<'_, C, Entity> {
    /// Creates a user. `Conflict` (`EMAIL_TAKEN`) when a live user has the email.
    #[tracing::instrument(skip_all)]
    pub async fn insert(&self, new: NewUser) -> Result<User, DomainError> {
        let now = self.now;
        let row = users::ActiveModel {
            id: Set(UserId::new().as_uuid()),
            email: Set(new.email.into_inner()),
            first_name: Set(new.first_name.into_inner()),
            last_name: Set(new.last_name.into_inner()),
            user_type: Set(new.user_type.as_str().to_owned()),
            profession: Set(new.profession.map(|p| p.into_inner())),
            avatar_url: Set(None),
            is_active: Set(true),
            is_admin: Set(false),
            email_verified_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        };
        let model = row.insert(self.conn).await.map_err(to_domain)?;
        Entity::to_domain(model)
    }

    /// The live user with this email. `NotFound` otherwise.
    pub async fn find_by_email(&self, email: &Email) -> Result<User, DomainError> {
        let row = Self::live()
            .filter(Column::Email.eq(email.as_str()))
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        row.map_or(Err(Entity::NOT_FOUND), Entity::to_domain)
    }

    /// Records that the live user `id` proved their email address, unless that
    /// was recorded already (the first proof is kept). `NotFound` when the user
    /// is not live.
    pub async fn mark_email_verified(&self, id: UserId) -> Result<User, DomainError> {
        Entity::update_many()
            .col_expr(Column::EmailVerifiedAt, Expr::value(self.now))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::DeletedAt.is_null())
            .filter(Column::EmailVerifiedAt.is_null())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        self.find(id).await
    }

    /// Applies profile changes to the live user `id` and returns the user.
    /// `NotFound` when the user is not live. The changes must have been checked
    /// against the user ([`ProfileChanges::check_against`]).
    pub async fn update_profile(
        &self,
        id: UserId,
        changes: ProfileChanges,
    ) -> Result<User, DomainError> {
        let mut update = Entity::update_many()
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::DeletedAt.is_null());
        if let Some(first_name) = changes.first_name {
            update = update.col_expr(Column::FirstName, Expr::value(first_name.into_inner()));
        }
        if let Some(last_name) = changes.last_name {
            update = update.col_expr(Column::LastName, Expr::value(last_name.into_inner()));
        }
        if let Some(profession) = changes.profession {
            let value = profession.map(|p| p.into_inner());
            update = update.col_expr(Column::Profession, Expr::value(value));
        }
        if let Some(avatar_url) = changes.avatar_url {
            let value = avatar_url.map(|a| a.into_inner());
            update = update.col_expr(Column::AvatarUrl, Expr::value(value));
        }
        let result = update.exec(self.conn).await.map_err(to_domain)?;
        if result.rows_affected == 0 {
            return Err(Entity::NOT_FOUND);
        }
        self.find(id).await
    }

    /// Whether `user_id` is the only live owner of some live organization. Call it
    /// with the user's organizations locked
    /// ([`OrganizationRepository::lock_all_of_member`](super::OrganizationRepository::lock_all_of_member)),
    /// the lock every membership change takes, so that no concurrent demotion or
    /// departure can change the answer before the unit of work ends.
    pub async fn is_sole_owner_anywhere(&self, user_id: UserId) -> Result<bool, DomainError> {
        let owner = MemberRole::Owner.as_str();
        let live_organizations = Query::select()
            .column(organizations::Column::Id)
            .from(organizations::Entity)
            .and_where(organizations::Column::DeletedAt.is_null())
            .to_owned();
        let owned_by_me = Query::select()
            .column(members::Column::OrganizationId)
            .from(members::Entity)
            .and_where(members::Column::UserId.eq(user_id.as_uuid()))
            .and_where(members::Column::Role.eq(owner))
            .and_where(members::Column::DeletedAt.is_null())
            .and_where(members::Column::OrganizationId.in_subquery(live_organizations))
            .to_owned();
        let owned: Vec<Uuid> = members::Entity::find()
            .select_only()
            .column(members::Column::OrganizationId)
            .filter(members::Column::OrganizationId.in_subquery(owned_by_me))
            .filter(members::Column::Role.eq(owner))
            .filter(members::Column::DeletedAt.is_null())
            .into_tuple()
            .all(self.conn)
            .await
            .map_err(to_domain)?;
        let mut owners_per_organization: HashMap<Uuid, usize> = HashMap::new();
        for organization_id in owned {
            *owners_per_organization.entry(organization_id).or_default() += 1;
        }
        Ok(owners_per_organization.values().any(|&count| count == 1))
    }

    /// Soft-deletes every live membership of `user_id`; returns how many.
    pub async fn soft_delete_memberships(&self, user_id: UserId) -> Result<u64, DomainError> {
        let result = members::Entity::update_many()
            .col_expr(members::Column::DeletedAt, Expr::value(self.now))
            .col_expr(members::Column::UpdatedAt, Expr::value(self.now))
            .filter(members::Column::UserId.eq(user_id.as_uuid()))
            .filter(members::Column::DeletedAt.is_null())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected)
    }
}
