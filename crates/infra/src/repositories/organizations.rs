//! Organizations.

use chrono::{DateTime, Utc};
use domain::organizations::OrganizationSort;
use domain::organizations::{
    ORGANIZATION_NOT_FOUND, OrganizationChanges, OrganizationMembership, SLUG_TAKEN,
};
use domain::plans::PlanLimits;
use domain::usage::Metric;
use domain::{
    DomainError, Member, NewOrganization, Organization, OrganizationId, Page, PageRequest, PlanKey,
    Slug, UserId,
};
use sea_orm::sea_query::Value;
use sea_orm::sea_query::{Expr, LockType, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, JoinType, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, RelationDef, Set, TryGetable,
};

use super::corrupt;
use super::listing::{self, KeyKind, Listing, SortValue};
use super::soft_delete::{SoftDeletable, SoftDeleteRepository, standard_columns};
use crate::db_error::to_domain;
use crate::entities::organization_members as members;
use crate::entities::organizations::{self, Column, Entity};
use crate::entities::plans;
use crate::entities::positional::{Positional, all_pairs, one_pair};
use crate::repositories::SubscriptionRepository;
use crate::repositories::plans::limits_of;
use crate::repositories::usage::month_total_expr;

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
            plan: PlanKey::parse(&m.plan).map_err(corrupt("plan"))?,
            created_at: m.created_at,
            updated_at: m.updated_at,
            deleted_at: m.deleted_at,
        })
    }
}

/// `organizations.id = organization_members.organization_id`, declared here
/// because the generated entities carry no relations.
fn to_members() -> RelationDef {
    Entity::belongs_to(members::Entity)
        .from(Column::Id)
        .to(members::Column::OrganizationId)
        .into()
}

/// `organizations.plan = plans.key`: an organization's plan.
fn to_plan() -> RelationDef {
    Entity::belongs_to(plans::Entity)
        .from(Column::Plan)
        .to(plans::Column::Key)
        .into()
}

/// The same join, from the plan's side.
fn plan_to_organization() -> RelationDef {
    plans::Entity::belongs_to(Entity)
        .from(plans::Column::Key)
        .to(Column::Plan)
        .into()
}

fn membership_row(
    (org, member): (organizations::Model, Option<members::Model>),
) -> Result<(Organization, Member), DomainError> {
    let member = member.ok_or_else(|| DomainError::Internal("inner join without a row".into()))?;
    Ok((Entity::to_domain(org)?, members::Entity::to_domain(member)?))
}

/// What [`OrganizationRepository::lock_for_claim`] reads under the lock.
#[derive(Clone, Debug)]
pub struct LockedForClaim {
    /// The organization (live).
    pub organization: Organization,
    /// Its plan's caps.
    pub limits: PlanLimits,
    /// Its `tokens` of the current UTC month.
    pub tokens_this_month: i64,
}

impl<C: ConnectionTrait> SoftDeleteRepository<'_, C, Entity> {
    /// Creates an organization with its `active` subscription to `new.plan`
    /// (call it in a unit of work: two statements). `Conflict` (`SLUG_TAKEN`)
    /// when a live organization has the slug; `Validation` (`UNKNOWN_PLAN`)
    /// when no plan has the key.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert(&self, new: NewOrganization) -> Result<Organization, DomainError> {
        let now = self.now;
        let plan = new.plan.clone();
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
        let organization = Entity::to_domain(model)?;
        SubscriptionRepository::at(self.conn, now)
            .open(organization.id, &plan)
            .await?;
        Ok(organization)
    }

    /// Creates an organization unless a live one has its slug: `Ok(None)` then,
    /// decided by the unique index (a slug looked up as free can be taken by a
    /// concurrent creation before this insert), and the unit of work stays
    /// usable: the insert runs in a savepoint, rolled back on the violation
    /// (PostgreSQL would otherwise abort the whole transaction). Call it inside
    /// a unit of work. Other errors as [`Self::insert`].
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_unless_slug_taken(
        &self,
        new: NewOrganization,
    ) -> Result<Option<Organization>, DomainError> {
        self.execute("SAVEPOINT organization_slug").await?;
        match self.insert(new).await {
            Ok(organization) => {
                self.execute("RELEASE SAVEPOINT organization_slug").await?;
                Ok(Some(organization))
            }
            Err(DomainError::Conflict(c)) if c.code == SLUG_TAKEN => {
                self.execute("ROLLBACK TO SAVEPOINT organization_slug")
                    .await?;
                self.execute("RELEASE SAVEPOINT organization_slug").await?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Runs a statement of transaction control (the same SQL on both backends).
    async fn execute(&self, sql: &str) -> Result<(), DomainError> {
        self.conn
            .execute_unprepared(sql)
            .await
            .map(drop)
            .map_err(to_domain)
    }

    /// Locks the live organization's row until the transaction ends, so that
    /// checks over its members (the last owner, pending invitations) and the writes
    /// that follow them are serialised. PostgreSQL: `SELECT ... FOR UPDATE`;
    /// SQLite's `BEGIN IMMEDIATE` already serialises writers, and it has no
    /// `FOR UPDATE`. `NotFound` (`ORGANIZATION_NOT_FOUND`) when missing or deleted.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn lock(&self, id: OrganizationId) -> Result<(), DomainError> {
        let mut query = Self::live()
            .select_only()
            .column(Column::Id)
            .filter(Column::Id.eq(id.as_uuid()));
        if self.conn.get_database_backend() == DbBackend::Postgres {
            query = query.lock_exclusive();
        }
        match query.into_tuple::<uuid::Uuid>().one(self.conn).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(ORGANIZATION_NOT_FOUND),
            Err(e) => Err(to_domain(e)),
        }
    }

    /// [`Self::lock`] for a claim, returning in the locking statement what the
    /// claim checks under the lock: the organization, its plan's caps, and the
    /// `tokens` of the current UTC month (0 when none were recorded).
    ///
    /// On PostgreSQL the counter is read with the statement's snapshot, taken
    /// before any wait for the lock: tokens committed during that wait are
    /// not seen. The lock does not order them anyway (completions record
    /// tokens without it), so the quota check is as exact either way.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn lock_for_claim(&self, id: OrganizationId) -> Result<LockedForClaim, DomainError> {
        let mut query = Self::live()
            .join(JoinType::InnerJoin, to_plan())
            .filter(Column::Id.eq(id.as_uuid()))
            .select_also(plans::Entity)
            .expr_as(
                month_total_expr(id, &Metric::tokens(), self.now),
                "tokens_this_month",
            )
            .limit(1);
        if self.conn.get_database_backend() == DbBackend::Postgres {
            // Only the organization's row: the plan is shared by many.
            QueryTrait::query(&mut query).lock_with_tables(LockType::Update, [Entity]);
        }
        let rows = self
            .conn
            .query_all(&query.into_query())
            .await
            .map_err(to_domain)?;
        let Some(row) = rows.first() else {
            return Err(ORGANIZATION_NOT_FOUND);
        };
        let orgs = organizations::Model::FIELDS.len();
        let tokens_at = orgs + plans::Model::FIELDS.len();
        let organization = organizations::Model::decode_at(row, 0).map_err(to_domain)?;
        let plan = plans::Model::decode_at(row, orgs).map_err(to_domain)?;
        let tokens: Option<i64> =
            Option::<i64>::try_get_by_index(row, tokens_at).map_err(|e| to_domain(e.into()))?;
        Ok(LockedForClaim {
            organization: Entity::to_domain(organization)?,
            limits: limits_of(&plan),
            tokens_this_month: tokens.unwrap_or(0),
        })
    }

    /// [`Self::lock`], returning the caps of the organization's plan, read in
    /// the locking statement: what a write that checks a cap needs, for no
    /// extra round trip.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn lock_with_limits(&self, id: OrganizationId) -> Result<PlanLimits, DomainError> {
        let mut query = plans::Entity::find()
            .join(JoinType::InnerJoin, plan_to_organization())
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::DeletedAt.is_null());
        if self.conn.get_database_backend() == DbBackend::Postgres {
            QueryTrait::query(&mut query).lock_with_tables(LockType::Update, [Entity]);
        }
        match query.one(self.conn).await {
            Ok(Some(plan)) => Ok(limits_of(&plan)),
            Ok(None) => Err(ORGANIZATION_NOT_FOUND),
            Err(e) => Err(to_domain(e)),
        }
    }

    /// Locks, as [`Self::lock`] does, every live organization `user` is a live
    /// member of, in ID order (so two callers locking overlapping sets cannot
    /// deadlock): for changes to a user that touch all their memberships at once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn lock_all_of_member(&self, user: UserId) -> Result<(), DomainError> {
        if self.conn.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let memberships = Query::select()
            .column(members::Column::OrganizationId)
            .from(members::Entity)
            .and_where(members::Column::UserId.eq(user.as_uuid()))
            .and_where(members::Column::DeletedAt.is_null())
            .to_owned();
        Self::live()
            .select_only()
            .column(Column::Id)
            .filter(Column::Id.in_subquery(memberships))
            .order_by_asc(Column::Id)
            .lock_exclusive()
            .into_tuple::<uuid::Uuid>()
            .all(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(())
    }

    /// The live organization and `user`'s live membership of it, in one read.
    /// `NotFound` (`ORGANIZATION_NOT_FOUND`) when either is missing: a
    /// non-member cannot tell a foreign organization from a missing one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn membership(
        &self,
        id: OrganizationId,
        user: UserId,
    ) -> Result<(Organization, Member), DomainError> {
        let select = Self::live()
            .join(JoinType::InnerJoin, to_members())
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(members::Column::UserId.eq(user.as_uuid()))
            .filter(members::Column::DeletedAt.is_null())
            .select_also(members::Entity);
        let row = one_pair(self.conn, select).await.map_err(to_domain)?;
        row.map_or(Err(ORGANIZATION_NOT_FOUND), membership_row)
    }

    /// Which of `candidates` live organizations already use.
    pub async fn taken_slugs(&self, candidates: &[Slug]) -> Result<Vec<String>, DomainError> {
        Self::live()
            .select_only()
            .column(Column::Slug)
            .filter(Column::Slug.is_in(candidates.iter().map(Slug::as_str)))
            .into_tuple::<String>()
            .all(self.conn)
            .await
            .map_err(to_domain)
    }

    /// Applies `changes` to the live organization and returns it. `NotFound` when
    /// missing or deleted; `Conflict` (`SLUG_TAKEN`) when a live organization has
    /// the new slug. The plan is not changed here but with the subscription
    /// ([`SubscriptionRepository::save`]), which keeps `plan` in step.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update(
        &self,
        id: OrganizationId,
        changes: OrganizationChanges,
    ) -> Result<Organization, DomainError> {
        let OrganizationChanges { name, slug, .. } = changes;
        if name.is_none() && slug.is_none() {
            return self.find(id).await;
        }
        let mut update = Entity::update_many().col_expr(Column::UpdatedAt, Expr::value(self.now));
        if let Some(name) = name {
            update = update.col_expr(Column::Name, Expr::value(name.into_inner()));
        }
        if let Some(slug) = slug {
            update = update.col_expr(Column::Slug, Expr::value(slug.into_inner()));
        }
        let result = update
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::DeletedAt.is_null())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        if result.rows_affected == 0 {
            return Err(ORGANIZATION_NOT_FOUND);
        }
        self.find(id).await
    }

    /// Brings back the organization deleted at exactly `deleted_at` (the instant
    /// its cascade shares). `NotFound` when it is live or was deleted at another
    /// instant; `Conflict` (`SLUG_TAKEN`) when a live organization took its slug
    /// meanwhile — the unique index decides.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn restore_from_cascade(
        &self,
        id: OrganizationId,
        deleted_at: DateTime<Utc>,
    ) -> Result<Organization, DomainError> {
        match self
            .restore_deleted_at(Column::Id.eq(id.as_uuid()), deleted_at)
            .await?
        {
            0 => Err(ORGANIZATION_NOT_FOUND),
            _ => self.find(id).await,
        }
    }

    /// One page of the live organizations `user` is a live member of, with the
    /// user's role there (see [`OrganizationList`]). `Validation`
    /// (`INVALID_CURSOR`) for a cursor of another order.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_for_member(
        &self,
        user: UserId,
        request: &PageRequest<OrganizationSort>,
    ) -> Result<Page<OrganizationMembership>, DomainError> {
        let query = Self::live()
            .join(JoinType::InnerJoin, to_members())
            .filter(members::Column::UserId.eq(user.as_uuid()))
            .filter(members::Column::DeletedAt.is_null())
            .select_also(members::Entity);
        listing::page::<OrganizationList, _, _, _>(query, request, |query| async move {
            all_pairs(self.conn, query)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(|row| {
                    membership_row(row).map(|(organization, member)| OrganizationMembership {
                        organization,
                        role: member.role,
                    })
                })
                .collect()
        })
        .await
    }
}

/// A user's organizations: sorted by `createdAt` or `name`; `searchQuery`
/// matches the name.
pub struct OrganizationList;

impl Listing for OrganizationList {
    type Sort = OrganizationSort;
    type Row = OrganizationMembership;

    fn column(sort: OrganizationSort) -> (Expr, KeyKind) {
        match sort {
            OrganizationSort::CreatedAt => {
                (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp)
            }
            OrganizationSort::Name => (Expr::col((Entity, Column::Name)), KeyKind::Text),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        OrganizationId::parse(raw)
            .ok()
            .map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![Expr::col((Entity, Column::Name))]
    }

    fn position(row: &OrganizationMembership, sort: OrganizationSort) -> (SortValue, String) {
        let org = &row.organization;
        let value = match sort {
            OrganizationSort::CreatedAt => SortValue::At(org.created_at),
            OrganizationSort::Name => SortValue::Text(org.name.clone()),
        };
        (value, org.id.to_string())
    }
}
