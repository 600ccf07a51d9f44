//! Organization memberships.

use chrono::{DateTime, Utc};
use domain::members::{MEMBER_NOT_FOUND, MemberSort, MemberWithUser};
use domain::{
    DomainError, Email, Member, MemberId, MemberRole, NewMember, OrganizationId, Page, PageRequest,
    UserId,
};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement, Value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType,
    PaginatorTrait, QueryFilter, QuerySelect, QueryTrait, RelationDef, Select, SelectTwo, Set,
};

use super::corrupt;
use super::listing::{self, KeyKind, Listing, SortValue};
use super::references::name_missing_reference;
use super::sessions::{RIDER_COLUMN, Rider, SessionRepository, SessionStanding};
use super::soft_delete::{SoftDeletable, SoftDeleteRepository, standard_columns};
use crate::db_error::to_domain;
use crate::entities::organization_members::{self, Column, Entity};
use crate::entities::positional::{all_pairs, one_pair, pair_at};
use crate::entities::{organizations, users};

/// Memberships, soft-delete aware.
pub type MemberRepository<'c, C> = SoftDeleteRepository<'c, C, Entity>;

impl SoftDeletable for Entity {
    type Id = MemberId;
    type Domain = Member;
    const NOT_FOUND: DomainError = MEMBER_NOT_FOUND;

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

/// `organization_members.user_id = users.id` (the entities carry no relations).
fn to_users() -> RelationDef {
    Entity::belongs_to(users::Entity)
        .from(Column::UserId)
        .to(users::Column::Id)
        .into()
}

/// Live memberships of `organization`.
fn live_in(organization: OrganizationId) -> Select<Entity> {
    Entity::find()
        .filter(Column::DeletedAt.is_null())
        .filter(Column::OrganizationId.eq(organization.as_uuid()))
}

fn with_user(
    (member, user): (organization_members::Model, Option<users::Model>),
) -> Result<MemberWithUser, DomainError> {
    let user = user.ok_or_else(|| DomainError::Internal("inner join without a row".into()))?;
    Ok(MemberWithUser {
        member: Entity::to_domain(member)?,
        user: users::Entity::to_domain(user)?,
    })
}

impl<C: ConnectionTrait> SoftDeleteRepository<'_, C, Entity> {
    /// Adds a member. `Conflict`: `ALREADY_MEMBER` (unique) when the user is a live
    /// member already; `ORGANIZATION_NOT_FOUND` / `USER_NOT_FOUND` (missing
    /// reference) when either does not exist.
    #[tracing::instrument(level = "debug", skip_all)]
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

    /// The live membership `id` of `organization`. `NotFound` (`MEMBER_NOT_FOUND`)
    /// when missing, deleted, or of another organization.
    pub async fn find_in(
        &self,
        organization: OrganizationId,
        id: MemberId,
    ) -> Result<Member, DomainError> {
        let row = live_in(organization)
            .filter(Column::Id.eq(id.as_uuid()))
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        row.map_or(Err(MEMBER_NOT_FOUND), Entity::to_domain)
    }

    /// The live membership `id` with its user. `NotFound` when missing or deleted.
    pub async fn find_with_user(&self, id: MemberId) -> Result<MemberWithUser, DomainError> {
        let select = Self::live()
            .join(JoinType::InnerJoin, to_users())
            .filter(Column::Id.eq(id.as_uuid()))
            .select_also(users::Entity);
        let row = one_pair(self.conn, select).await.map_err(to_domain)?;
        row.map_or(Err(MEMBER_NOT_FOUND), with_user)
    }

    /// How many live owners `organization` has. Read under the organization's lock
    /// (see `OrganizationRepository::lock`) so the answer holds until commit.
    pub async fn count_owners(&self, organization: OrganizationId) -> Result<u64, DomainError> {
        live_in(organization)
            .filter(Column::Role.eq(MemberRole::Owner.as_str()))
            .count(self.conn)
            .await
            .map_err(to_domain)
    }

    /// How many live members `organization` has (for its plan's cap).
    pub async fn count_in(&self, organization: OrganizationId) -> Result<u64, DomainError> {
        live_in(organization)
            .count(self.conn)
            .await
            .map_err(to_domain)
    }

    /// Whether `user` is the only live owner of some live organization: one
    /// grouped read. Call it with the user's organizations locked
    /// ([`OrganizationRepository::lock_all_of_member`](super::OrganizationRepository::lock_all_of_member)),
    /// the lock every membership change takes, so that no concurrent demotion or
    /// departure can change the answer before the unit of work ends.
    pub async fn is_sole_owner_anywhere(&self, user: UserId) -> Result<bool, DomainError> {
        let owner = MemberRole::Owner.as_str();
        let owned_by_user = Query::select()
            .column(Column::OrganizationId)
            .from(Entity)
            .and_where(Column::UserId.eq(user.as_uuid()))
            .and_where(Column::Role.eq(owner))
            .and_where(Column::DeletedAt.is_null())
            .and_where(
                Column::OrganizationId.in_subquery(
                    Query::select()
                        .column(organizations::Column::Id)
                        .from(organizations::Entity)
                        .and_where(organizations::Column::DeletedAt.is_null())
                        .to_owned(),
                ),
            )
            .to_owned();
        let solely_owned = Entity::find()
            .select_only()
            .column(Column::OrganizationId)
            .filter(Column::OrganizationId.in_subquery(owned_by_user))
            .filter(Column::Role.eq(owner))
            .filter(Column::DeletedAt.is_null())
            .group_by(Column::OrganizationId)
            .having(Expr::col(Column::Id).count().eq(1))
            .into_tuple::<uuid::Uuid>()
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(solely_owned.is_some())
    }

    /// Soft-deletes every live membership of `user` at this repository's `now`
    /// (the user's account deletion); returns how many.
    pub async fn soft_delete_all_of(&self, user: UserId) -> Result<u64, DomainError> {
        self.soft_delete_where(Column::UserId.eq(user.as_uuid()))
            .await
    }

    /// Whether a live user with `email` is a live member of `organization`.
    pub async fn has_member_with_email(
        &self,
        organization: OrganizationId,
        email: &Email,
    ) -> Result<bool, DomainError> {
        let found = live_in(organization)
            .join(JoinType::InnerJoin, to_users())
            .filter(users::Column::Email.eq(email.as_str()))
            .filter(users::Column::DeletedAt.is_null())
            .count(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(found > 0)
    }

    /// Sets a live member's role. `NotFound` when missing or deleted.
    pub async fn set_role(&self, id: MemberId, role: MemberRole) -> Result<(), DomainError> {
        let result = Entity::update_many()
            .col_expr(Column::Role, Expr::value(role.as_str()))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::DeletedAt.is_null())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        if result.rows_affected == 0 {
            return Err(MEMBER_NOT_FOUND);
        }
        Ok(())
    }

    /// Soft-deletes every live member of `organization` at this repository's
    /// `now` (the organization's cascade); returns how many.
    pub async fn soft_delete_all_in(
        &self,
        organization: OrganizationId,
    ) -> Result<u64, DomainError> {
        self.soft_delete_where(Column::OrganizationId.eq(organization.as_uuid()))
            .await
    }

    /// Brings back the members of `organization` deleted at exactly `deleted_at`
    /// (the ones its cascade removed, not those removed before) whose users are
    /// live: an account deleted meanwhile stays out, or its membership would
    /// count as an owner nobody can act as. Returns how many.
    pub async fn restore_all_in(
        &self,
        organization: OrganizationId,
        deleted_at: DateTime<Utc>,
    ) -> Result<u64, DomainError> {
        let live_users = Query::select()
            .column(users::Column::Id)
            .from(users::Entity)
            .and_where(users::Column::DeletedAt.is_null())
            .to_owned();
        self.restore_deleted_at(
            Condition::all()
                .add(Column::OrganizationId.eq(organization.as_uuid()))
                .add(Column::UserId.in_subquery(live_users)),
            deleted_at,
        )
        .await
    }

    /// `user`'s role in `organization` when it was deleted at `deleted_at`: the
    /// role of their membership deleted at that instant, if any.
    pub async fn role_at_deletion(
        &self,
        organization: OrganizationId,
        user: UserId,
        deleted_at: DateTime<Utc>,
    ) -> Result<Option<MemberRole>, DomainError> {
        Entity::find()
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::UserId.eq(user.as_uuid()))
            .filter(Column::DeletedAt.eq(deleted_at))
            .one(self.conn)
            .await
            .map_err(to_domain)?
            .map(|m| m.role.parse().map_err(corrupt("member role")))
            .transpose()
    }

    /// One page of `organization`'s live members with their (live) users, in one
    /// joined query (see [`MemberList`]). `Validation` (`INVALID_CURSOR`) for a
    /// cursor of another order.
    ///
    /// A deep page picks its members by key on `organization_members` alone
    /// when neither the order nor a search reads `users`: a live membership's
    /// user is live (deleting an account ends its memberships in the same unit
    /// of work, [`Self::soft_delete_all_of`], and [`Self::restore_all_in`]
    /// skips deleted users), so the join would remove no row there; the page's
    /// own rows still join `users` and check it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list(
        &self,
        organization: OrganizationId,
        request: &PageRequest<MemberSort>,
    ) -> Result<Page<MemberWithUser>, DomainError> {
        let (query, keys) = list_query(organization, request);
        listing::page_keyed::<MemberList, _, _, _>(query, keys, request, |query| async move {
            all_pairs(self.conn, query)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(with_user)
                .collect()
        })
        .await
    }
}

impl<C: ConnectionTrait> SoftDeleteRepository<'_, C, Entity> {
    /// The session with `token_hash`, its user's standing in `organization`, and
    /// when that user is a live member there, one page of its members ([`list`](Self::list)),
    /// all in one statement (see `SessionRepository::find_with_membership_and`).
    /// The page is `None` when the statement did not read it (no session, or not
    /// a member): whether the caller may see it is the caller's to judge.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_with_session(
        &self,
        token_hash: &str,
        organization: OrganizationId,
        request: &PageRequest<MemberSort>,
    ) -> Result<(Option<SessionStanding>, Option<Page<MemberWithUser>>), DomainError> {
        let (query, keys) = list_query(organization, request);
        let rider = Rider {
            query: listing::page_query_keyed::<MemberList, _>(query, keys, request)?.into_query(),
            order: listing::order_keys::<MemberList>(request),
        };
        let (standing, rows) = SessionRepository::at(self.conn, self.now)
            .find_with_membership_and(token_hash, organization, rider)
            .await?;
        if !standing.as_ref().is_some_and(|(_, _, m)| m.is_some()) {
            return Ok((standing, None));
        }
        let mut members = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(pair) = pair_at(row, RIDER_COLUMN).map_err(to_domain)? {
                members.push(with_user(pair)?);
            }
        }
        Ok((standing, Some(listing::cut::<MemberList>(members, request))))
    }
}

/// The member list's query for `request` and, when its order and search read
/// no column of `users`, the narrower statement a deep page picks its keys
/// from (see [`SoftDeleteRepository::list`]).
fn list_query(
    organization: OrganizationId,
    request: &PageRequest<MemberSort>,
) -> (SelectTwo<Entity, users::Entity>, Option<SelectStatement>) {
    let query = live_in(organization)
        .join(JoinType::InnerJoin, to_users())
        .filter(users::Column::DeletedAt.is_null())
        .select_also(users::Entity);
    let on_members = matches!(request.sort_by, MemberSort::CreatedAt | MemberSort::Role);
    let keys = (on_members && request.search.is_none()).then(|| live_in(organization).into_query());
    (query, keys)
}

/// The member list: sorted by `createdAt`, `email`, `firstName`, `lastName` or
/// `role` (alphabetically); `searchQuery` matches first name, last name or email.
pub struct MemberList;

impl Listing for MemberList {
    type Sort = MemberSort;
    type Row = MemberWithUser;

    fn column(sort: MemberSort) -> (Expr, KeyKind) {
        let user = |column| (Expr::col((users::Entity, column)), KeyKind::Text);
        match sort {
            MemberSort::CreatedAt => (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp),
            MemberSort::Email => user(users::Column::Email),
            MemberSort::FirstName => user(users::Column::FirstName),
            MemberSort::LastName => user(users::Column::LastName),
            MemberSort::Role => (Expr::col((Entity, Column::Role)), KeyKind::Text),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        MemberId::parse(raw).ok().map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![
            Expr::col((users::Entity, users::Column::FirstName)),
            Expr::col((users::Entity, users::Column::LastName)),
            Expr::col((users::Entity, users::Column::Email)),
        ]
    }

    fn position(row: &MemberWithUser, sort: MemberSort) -> (SortValue, String) {
        let value = match sort {
            MemberSort::CreatedAt => SortValue::At(row.member.created_at),
            MemberSort::Email => SortValue::Text(row.user.email.as_str().to_owned()),
            MemberSort::FirstName => SortValue::Text(row.user.first_name.clone()),
            MemberSort::LastName => SortValue::Text(row.user.last_name.clone()),
            MemberSort::Role => SortValue::Text(row.member.role.as_str().to_owned()),
        };
        (value, row.member.id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use domain::{PagePosition, SortDirection};
    use sea_orm::DbBackend;

    use super::*;

    /// The member list's statement for a page of 10 at `position`, as
    /// PostgreSQL gets it.
    fn sql(sort_by: MemberSort, search: Option<&str>, position: PagePosition) -> String {
        let request = PageRequest {
            position,
            page_size: 10,
            sort_by,
            direction: SortDirection::Desc,
            search: search.map(str::to_owned),
        };
        let (query, keys) = list_query(OrganizationId::new(), &request);
        listing::page_query_keyed::<MemberList, _>(query, keys, &request)
            .unwrap()
            .build(DbBackend::Postgres)
            .sql
    }

    #[test]
    fn a_deep_page_picks_its_keys_on_the_memberships_alone_when_it_can() {
        let deep = sql(MemberSort::CreatedAt, None, PagePosition::Number(4001));
        let (outer, keys) = deep.split_once(" IN (SELECT ").expect(&deep);
        assert!(outer.contains(r#"INNER JOIN "users""#), "{deep}");
        assert!(!keys.contains(r#""users""#), "{deep}");
        assert!(keys.contains("LIMIT $3 OFFSET $4)"), "{deep}");
        let (_, outer_tail) = deep.rsplit_once(')').expect(&deep);
        assert!(!outer_tail.contains("OFFSET"), "{deep}");

        for (sort, search) in [
            (MemberSort::Email, None),
            (MemberSort::CreatedAt, Some("ada")),
        ] {
            let deep = sql(sort, search, PagePosition::Number(2));
            let (_, keys) = deep.split_once(" IN (SELECT ").expect(&deep);
            assert!(keys.contains(r#"INNER JOIN "users""#), "{deep}");
        }

        let first = sql(MemberSort::CreatedAt, None, PagePosition::Number(1));
        assert!(!first.contains(" IN (SELECT "), "{first}");
        assert!(first.ends_with("OFFSET $3"), "{first}");
    }
}
