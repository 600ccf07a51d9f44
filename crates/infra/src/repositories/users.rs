//! Users.

use domain::users::ProfileChanges;
use domain::users::UserSort;
use domain::{DomainError, Email, NewUser, Page, PageRequest, User, UserId, UserType};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::Value;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::corrupt;
use super::listing::{self, KeyKind, Listing, SortValue};
use super::soft_delete::{SoftDeletable, SoftDeleteRepository, standard_columns};
use crate::db_error::to_domain;
use crate::entities::users::{self, Column, Entity};

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
    #[tracing::instrument(level = "debug", skip_all)]
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
}

/// Platform administration: every live user (active or not), and the two flags
/// only an admin or an operator sets.
impl<C: ConnectionTrait> SoftDeleteRepository<'_, C, Entity> {
    /// One page of the live users, inactive ones included (see [`UserList`]).
    /// `Validation` (`INVALID_CURSOR`) for a cursor of another order.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list(&self, request: &PageRequest<UserSort>) -> Result<Page<User>, DomainError> {
        listing::page::<UserList, _, _, _>(Self::live(), request, |query| async move {
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

    /// Sets `is_active` of the live user `id`, if it is not already `active`.
    /// Returns whether it changed: one conditional write, so of two concurrent
    /// identical changes exactly one reports `true` (and writes the audit row).
    /// A user who is not live changes nothing (`false`).
    pub async fn set_active(&self, id: UserId, active: bool) -> Result<bool, DomainError> {
        self.set_flag(id, Column::IsActive, active).await
    }

    /// Sets `is_admin` of the live user `id`, if it is not already `admin`;
    /// returns whether it changed (as [`Self::set_active`]).
    pub async fn set_admin(&self, id: UserId, admin: bool) -> Result<bool, DomainError> {
        self.set_flag(id, Column::IsAdmin, admin).await
    }

    async fn set_flag(&self, id: UserId, flag: Column, value: bool) -> Result<bool, DomainError> {
        let result = Entity::update_many()
            .col_expr(flag, Expr::value(value))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::DeletedAt.is_null())
            .filter(flag.ne(value))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected > 0)
    }
}

/// The platform admin's user list: sorted by `createdAt`, `email`, `firstName`
/// or `lastName`; `searchQuery` matches email, first or last name.
pub struct UserList;

impl Listing for UserList {
    type Sort = UserSort;
    type Row = User;

    fn column(sort: UserSort) -> (Expr, KeyKind) {
        match sort {
            UserSort::CreatedAt => (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp),
            UserSort::Email => (Expr::col((Entity, Column::Email)), KeyKind::Text),
            UserSort::FirstName => (Expr::col((Entity, Column::FirstName)), KeyKind::Text),
            UserSort::LastName => (Expr::col((Entity, Column::LastName)), KeyKind::Text),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        UserId::parse(raw).ok().map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![
            Expr::col((Entity, Column::Email)),
            Expr::col((Entity, Column::FirstName)),
            Expr::col((Entity, Column::LastName)),
        ]
    }

    fn position(row: &User, sort: UserSort) -> (SortValue, String) {
        let value = match sort {
            UserSort::CreatedAt => SortValue::At(row.created_at),
            UserSort::Email => SortValue::Text(row.email.as_str().to_owned()),
            UserSort::FirstName => SortValue::Text(row.first_name.clone()),
            UserSort::LastName => SortValue::Text(row.last_name.clone()),
        };
        (value, row.id.to_string())
    }
}
