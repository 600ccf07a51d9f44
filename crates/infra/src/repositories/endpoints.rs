//! Endpoints: stored with their secret already sealed (by
//! `security::secrets`), listed, changed whole, deleted for good. Nothing here
//! sees a secret in plain text.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::endpoints::{
    ENDPOINT_NOT_FOUND, Endpoint, EndpointDraft, EndpointHeaders, EndpointSort, SealedSecret,
};
use domain::{DomainError, EndpointId, OrganizationId, Page, PageRequest};
use sea_orm::sea_query::{Expr, LikeExpr, Value};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use super::corrupt;
use super::listing::{self, KeyKind, Listing, SortValue};
use crate::db_error::to_domain;
use crate::entities::endpoints::{self, Column, Entity};

/// Endpoints over a connection or transaction.
#[derive(Debug)]
pub struct EndpointRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

fn to_domain_endpoint(m: endpoints::Model) -> Result<Endpoint, DomainError> {
    let headers: BTreeMap<String, String> =
        serde_json::from_value(m.headers).map_err(corrupt("endpoint headers"))?;
    Ok(Endpoint {
        id: EndpointId::from(m.id),
        organization_id: OrganizationId::from(m.organization_id),
        name: m.name,
        url: m.url,
        method: m.method.parse().map_err(corrupt("endpoint method"))?,
        headers: EndpointHeaders::parse(headers).map_err(corrupt("endpoint headers"))?,
        sealed_secret: m.secret_ciphertext.map(SealedSecret::new),
        secret_hint: m.secret_hint,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn headers_json(headers: &EndpointHeaders) -> serde_json::Value {
    serde_json::to_value(headers.as_map()).unwrap_or_default()
}

impl<'c, C: ConnectionTrait> EndpointRepository<'c, C> {
    /// A repository over `conn` for which "now" is `now`.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Stores endpoint `id` of `organization` as `draft` says, with its secret
    /// already sealed (for this `id` and `organization`) and its hint.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert(
        &self,
        id: EndpointId,
        organization: OrganizationId,
        draft: &EndpointDraft,
        sealed: Option<SealedSecret>,
        hint: Option<String>,
    ) -> Result<Endpoint, DomainError> {
        let now = self.now;
        let row = endpoints::ActiveModel {
            id: Set(id.as_uuid()),
            organization_id: Set(organization.as_uuid()),
            name: Set(draft.name.as_str().to_owned()),
            url: Set(draft.url.as_str().to_owned()),
            method: Set(draft.method.as_str().to_owned()),
            headers: Set(headers_json(&draft.headers)),
            secret_ciphertext: Set(sealed.map(SealedSecret::into_inner)),
            secret_hint: Set(hint),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(self.conn)
        .await
        .map_err(to_domain)?;
        to_domain_endpoint(row)
    }

    /// Endpoint `id` of `organization`. `NotFound` (`ENDPOINT_NOT_FOUND`) when
    /// it is not one of its endpoints.
    pub async fn find(
        &self,
        organization: OrganizationId,
        id: EndpointId,
    ) -> Result<Endpoint, DomainError> {
        self.find_in(organization, id, false).await
    }

    /// As [`Self::find`], and locks the row until the transaction ends
    /// (PostgreSQL: `FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` already serialises
    /// writers), so a change is computed from the state it replaces.
    pub async fn find_for_update(
        &self,
        organization: OrganizationId,
        id: EndpointId,
    ) -> Result<Endpoint, DomainError> {
        self.find_in(organization, id, true).await
    }

    async fn find_in(
        &self,
        organization: OrganizationId,
        id: EndpointId,
        lock: bool,
    ) -> Result<Endpoint, DomainError> {
        let mut query = Entity::find()
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::Id.eq(id.as_uuid()));
        if lock && self.conn.get_database_backend() == DbBackend::Postgres {
            query = query.lock_exclusive();
        }
        let row = query.one(self.conn).await.map_err(to_domain)?;
        row.map_or(Err(ENDPOINT_NOT_FOUND), to_domain_endpoint)
    }

    /// The endpoints of `organization` among `ids`, in ID order; IDs that name
    /// none of its endpoints are left out (so another organization's never
    /// come back). Secrets stay sealed: `security::secrets::reveal` opens one.
    pub async fn find_many(
        &self,
        organization: OrganizationId,
        ids: &[EndpointId],
    ) -> Result<Vec<Endpoint>, DomainError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Entity::find()
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .order_by_asc(Column::Id)
            .all(self.conn)
            .await
            .map_err(to_domain)?
            .into_iter()
            .map(to_domain_endpoint)
            .collect()
    }

    /// One page of the organization's endpoints; see [`EndpointList`].
    pub async fn list(
        &self,
        organization: OrganizationId,
        request: &PageRequest<EndpointSort>,
    ) -> Result<Page<Endpoint>, DomainError> {
        let query = Entity::find().filter(Column::OrganizationId.eq(organization.as_uuid()));
        listing::page::<EndpointList, _, _, _>(query, request, |query| async move {
            query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_domain_endpoint)
                .collect()
        })
        .await
    }

    /// Writes `endpoint` (as changed from the row it was read from) with
    /// `updated_at` at "now"; returns it as stored. `NotFound` when it is gone.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn save(&self, endpoint: &Endpoint) -> Result<Endpoint, DomainError> {
        let result = Entity::update_many()
            .col_expr(Column::Name, Expr::value(endpoint.name.clone()))
            .col_expr(Column::Url, Expr::value(endpoint.url.clone()))
            .col_expr(Column::Method, Expr::value(endpoint.method.as_str()))
            .col_expr(
                Column::Headers,
                Expr::value(headers_json(&endpoint.headers)),
            )
            .col_expr(
                Column::SecretCiphertext,
                Expr::value(
                    endpoint
                        .sealed_secret
                        .as_ref()
                        .map(|s| s.as_str().to_owned()),
                ),
            )
            .col_expr(
                Column::SecretHint,
                Expr::value(endpoint.secret_hint.clone()),
            )
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::OrganizationId.eq(endpoint.organization_id.as_uuid()))
            .filter(Column::Id.eq(endpoint.id.as_uuid()))
            .exec_with_returning(self.conn)
            .await
            .map_err(to_domain)?;
        result
            .into_iter()
            .next()
            .map_or(Err(ENDPOINT_NOT_FOUND), to_domain_endpoint)
    }

    /// Deletes endpoint `id` of `organization` for good; `false` when it is not
    /// one of its endpoints.
    pub async fn delete(
        &self,
        organization: OrganizationId,
        id: EndpointId,
    ) -> Result<bool, DomainError> {
        let result = Entity::delete_many()
            .filter(Column::OrganizationId.eq(organization.as_uuid()))
            .filter(Column::Id.eq(id.as_uuid()))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected > 0)
    }

    /// Up to `limit` endpoints, in ID order after `after`, whose secret is
    /// sealed under another key than `key_id` (every organization): what
    /// `api secrets rewrap` moves, a batch at a time.
    pub async fn sealed_under_other_keys(
        &self,
        key_id: &str,
        after: Option<EndpointId>,
        limit: u64,
    ) -> Result<Vec<Endpoint>, DomainError> {
        let mut query = Entity::find()
            .filter(Column::SecretCiphertext.is_not_null())
            .filter(Column::SecretCiphertext.not_like(key_prefix_pattern(key_id)));
        if let Some(after) = after {
            query = query.filter(Column::Id.gt(after.as_uuid()));
        }
        query
            .order_by_asc(Column::Id)
            .limit(limit)
            .all(self.conn)
            .await
            .map_err(to_domain)?
            .into_iter()
            .map(to_domain_endpoint)
            .collect()
    }

    /// Replaces endpoint `id`'s sealed secret with `new` if it still is `old`
    /// (a change meanwhile wins, and this is a no-op); whether it did.
    /// `updated_at` moves to "now", as PostgreSQL's trigger moves it on every
    /// update anyway: the same on both engines.
    pub async fn replace_sealed_secret(
        &self,
        id: EndpointId,
        old: &SealedSecret,
        new: &SealedSecret,
    ) -> Result<bool, DomainError> {
        let result = Entity::update_many()
            .col_expr(Column::SecretCiphertext, Expr::value(new.as_str()))
            .col_expr(Column::UpdatedAt, Expr::value(self.now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::SecretCiphertext.eq(old.as_str()))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected > 0)
    }
}

/// `v1:<key_id>:%`, with `LIKE`'s wildcards in the id (`_`) escaped.
fn key_prefix_pattern(key_id: &str) -> LikeExpr {
    let mut pattern = String::from("v1:");
    for c in key_id.chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push_str(":%");
    LikeExpr::new(pattern).escape('\\')
}

/// An organization's endpoints: sorted by `createdAt` or `name`; `searchQuery`
/// matches the name and the URL.
pub struct EndpointList;

impl Listing for EndpointList {
    type Sort = EndpointSort;
    type Row = Endpoint;

    fn column(sort: EndpointSort) -> (Expr, KeyKind) {
        match sort {
            EndpointSort::CreatedAt => (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp),
            EndpointSort::Name => (Expr::col((Entity, Column::Name)), KeyKind::Text),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        EndpointId::parse(raw).ok().map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![
            Expr::col((Entity, Column::Name)),
            Expr::col((Entity, Column::Url)),
        ]
    }

    fn position(row: &Endpoint, sort: EndpointSort) -> (SortValue, String) {
        let value = match sort {
            EndpointSort::CreatedAt => SortValue::At(row.created_at),
            EndpointSort::Name => SortValue::Text(row.name.clone()),
        };
        (value, row.id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{DbBackend, QueryTrait};

    use super::*;

    #[test]
    fn a_key_id_s_underscore_is_no_wildcard() {
        let sql = Entity::find()
            .filter(Column::SecretCiphertext.not_like(key_prefix_pattern("k_1")))
            .build(DbBackend::Sqlite)
            .to_string();
        assert!(sql.contains(r"NOT LIKE 'v1:k\_1:%' ESCAPE '\'"), "{sql}");
    }
}
