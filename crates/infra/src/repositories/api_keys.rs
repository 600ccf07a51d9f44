//! API keys: created with a secret shown once, found by their public lookup
//! part, touched at most once a minute, revoked one by one or with their
//! organization.

use chrono::{DateTime, Utc};
use domain::api_keys::ApiKeySort;
use domain::api_keys::{ApiKey, ApiKeyDraft, LAST_USED_RESOLUTION};
use domain::{
    ApiKeyId, DomainError, MemberRole, Organization, OrganizationId, Page, PageRequest, UserId,
};
use sea_orm::sea_query::Expr;
use sea_orm::sea_query::Value;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType,
    PaginatorTrait, QueryFilter, QuerySelect, RelationTrait, Set,
};

use super::corrupt;
use super::listing::{self, KeyKind, Listing, SortValue};
use super::soft_delete::SoftDeletable;
use crate::db_error::to_domain;
use crate::entities::api_keys::{self, Column, Entity, Relation};
use crate::entities::organizations;

/// API keys over a connection or transaction.
#[derive(Debug)]
pub struct ApiKeyRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

fn to_domain_key(m: api_keys::Model) -> Result<ApiKey, DomainError> {
    Ok(ApiKey {
        id: ApiKeyId::from(m.id),
        organization_id: OrganizationId::from(m.organization_id),
        created_by: UserId::from(m.created_by),
        name: m.name,
        role: m.role.parse().map_err(corrupt("api key role"))?,
        prefix: m.prefix,
        last_used_at: m.last_used_at,
        expires_at: m.expires_at,
        revoked_at: m.revoked_at,
        created_at: m.created_at,
    })
}

/// Keys that authenticate at `now`: not revoked, not expired.
fn active_at(now: DateTime<Utc>) -> Condition {
    Condition::all().add(Column::RevokedAt.is_null()).add(
        Condition::any()
            .add(Column::ExpiresAt.is_null())
            .add(Column::ExpiresAt.gt(now)),
    )
}

impl<'c, C: ConnectionTrait> ApiKeyRepository<'c, C> {
    /// A repository over `conn` for which "now" is `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Stores a new key of `organization` made by `creator`: its public `lookup`
    /// part and the salted hash of its secret (never the secret).
    pub async fn insert(
        &self,
        organization: OrganizationId,
        creator: UserId,
        draft: &ApiKeyDraft,
        lookup: String,
        secret_hash: String,
    ) -> Result<ApiKey, DomainError> {
        let now = self.now;
        let row = api_keys::ActiveModel {
            id: Set(ApiKeyId::new().as_uuid()),
            organization_id: Set(organization.as_uuid()),
            created_by: Set(creator.as_uuid()),
            name: Set(draft.name.as_str().to_owned()),
            role: Set(draft.role.as_str().to_owned()),
            prefix: Set(lookup),
            secret_hash: Set(secret_hash),
            last_used_at: Set(None),
            expires_at: Set(draft.expires_at),
            revoked_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(self.conn)
        .await
        .map_err(to_domain)?;
        to_domain_key(row)
    }

    /// The key with public part `lookup`, its secret hash, and its organization
    /// unless that is deleted: one indexed read.
    pub async fn find_for_authentication(
        &self,
        lookup: &str,
    ) -> Result<Option<(ApiKey, String, Option<Organization>)>, DomainError> {
        let row = Entity::find()
            .join(JoinType::InnerJoin, Relation::Organization.def())
            .filter(Column::Prefix.eq(lookup))
            .select_also(organizations::Entity)
            .one(self.conn)
            .await
            .map_err(to_domain)?;
        let Some((key, organization)) = row else {
            return Ok(None);
        };
        let organization = organization
            .filter(|o| o.deleted_at.is_none())
            .map(organizations::Entity::to_domain)
            .transpose()?;
        let secret_hash = key.secret_hash.clone();
        Ok(Some((to_domain_key(key)?, secret_hash, organization)))
    }

    /// Records a use at "now" unless one was recorded within the last minute
    /// (a conditional write, so concurrent requests write once between them).
    pub async fn touch(&self, id: ApiKeyId) -> Result<(), DomainError> {
        let now = self.now;
        Entity::update_many()
            .col_expr(Column::LastUsedAt, Expr::value(now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(
                Condition::any()
                    .add(Column::LastUsedAt.is_null())
                    .add(Column::LastUsedAt.lte(now - LAST_USED_RESOLUTION)),
            )
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(())
    }

    /// One page of the organization's keys that are not revoked (expired ones
    /// included, so they can be seen and revoked); see [`ApiKeyList`].
    pub async fn list(
        &self,
        organization: OrganizationId,
        request: &PageRequest<ApiKeySort>,
    ) -> Result<Page<ApiKey>, DomainError> {
        let query = Entity::find()
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::RevokedAt.is_null());
        listing::page::<ApiKeyList, _, _, _>(query, request, |query| async move {
            query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_domain_key)
                .collect()
        })
        .await
    }

    /// How many of the organization's keys authenticate now (the plan's cap).
    pub async fn count_active(&self, organization: OrganizationId) -> Result<u64, DomainError> {
        Entity::find()
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(active_at(self.now))
            .count(self.conn)
            .await
            .map_err(to_domain)
    }

    /// Revokes key `id` of `organization`; `false` when it is not one of its
    /// keys or was already revoked.
    pub async fn revoke_in(
        &self,
        organization: OrganizationId,
        id: ApiKeyId,
    ) -> Result<bool, DomainError> {
        self.revoke_where(
            Condition::all()
                .add(Column::OrganizationId.eq(organization.as_uuid()))
                .add(Column::Id.eq(id.as_uuid())),
        )
        .await
        .map(|revoked| revoked > 0)
    }

    /// Revokes every key of `organization` (when it is deleted): they stay
    /// revoked if it is restored.
    pub async fn revoke_all_in(&self, organization: OrganizationId) -> Result<u64, DomainError> {
        self.revoke_where(Condition::all().add(Column::OrganizationId.eq(organization.as_uuid())))
            .await
    }

    /// Revokes every key `creator` made, in any organization (their account is
    /// deactivated or deleted); returns the keys revoked.
    pub async fn revoke_all_made_by(&self, creator: UserId) -> Result<Vec<ApiKey>, DomainError> {
        self.revoke_returning(Condition::all().add(Column::CreatedBy.eq(creator.as_uuid())))
            .await
    }

    /// Revokes the keys `creator` made in `organization` whose role is one of
    /// `roles`, or all of them when `roles` is `None` (they left it, or lost the
    /// role the keys had); returns the keys revoked.
    pub async fn revoke_made_by_in(
        &self,
        organization: OrganizationId,
        creator: UserId,
        roles: Option<&[MemberRole]>,
    ) -> Result<Vec<ApiKey>, DomainError> {
        let mut scope = Condition::all()
            .add(Column::OrganizationId.eq(organization.as_uuid()))
            .add(Column::CreatedBy.eq(creator.as_uuid()));
        if let Some(roles) = roles {
            if roles.is_empty() {
                return Ok(Vec::new());
            }
            scope = scope.add(Column::Role.is_in(roles.iter().map(|r| r.as_str())));
        }
        self.revoke_returning(scope).await
    }

    /// Stamps `revoked_at` on the live keys that match `scope` in one
    /// statement (`RETURNING`, so the caller audits exactly those).
    async fn revoke_returning(&self, scope: Condition) -> Result<Vec<ApiKey>, DomainError> {
        let now = self.now;
        Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(now))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(scope)
            .filter(Column::RevokedAt.is_null())
            .exec_with_returning(self.conn)
            .await
            .map_err(to_domain)?
            .into_iter()
            .map(to_domain_key)
            .collect()
    }

    /// Stamps `revoked_at` on the live keys that match `scope`; how many.
    async fn revoke_where(&self, scope: Condition) -> Result<u64, DomainError> {
        let now = self.now;
        let result = Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(now))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(scope)
            .filter(Column::RevokedAt.is_null())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected)
    }
}

/// An organization's keys: sorted by `createdAt` or `name`; `searchQuery`
/// matches the name.
pub struct ApiKeyList;

impl Listing for ApiKeyList {
    type Sort = ApiKeySort;
    type Row = ApiKey;

    fn column(sort: ApiKeySort) -> (Expr, KeyKind) {
        match sort {
            ApiKeySort::CreatedAt => (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp),
            ApiKeySort::Name => (Expr::col((Entity, Column::Name)), KeyKind::Text),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        ApiKeyId::parse(raw).ok().map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![Expr::col((Entity, Column::Name))]
    }

    fn position(row: &ApiKey, sort: ApiKeySort) -> (SortValue, String) {
        let value = match sort {
            ApiKeySort::CreatedAt => SortValue::At(row.created_at),
            ApiKeySort::Name => SortValue::Text(row.name.clone()),
        };
        (value, row.id.to_string())
    }
}
