//! Sessions: created at sign-in, found by the hash of their bearer token,
//! extended at most once a day, revoked at sign-out or when the user loses access.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use domain::auth::{SESSION_REFRESH_AFTER, SessionPolicy, SessionSort};
use domain::{
    DomainError, Member, Organization, OrganizationId, Page, PageRequest, Session, SessionId, User,
    UserId,
};
use sea_orm::sea_query::{
    Alias, Asterisk, CommonTableExpression, Expr, Query, SelectStatement, WithClause, WithQuery,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityName, EntityTrait,
    ExprTrait, IdenStatic, Iterable, JoinType, Order, QueryFilter, QueryResult, QuerySelect,
    QueryTrait, Set, Statement, Value,
};

use super::listing::{self, KeyKind, Listing, SortValue};
use super::soft_delete::SoftDeletable;
use crate::db_error::to_domain;
use crate::entities::organization_members as members;
use crate::entities::positional::{Positional, one_pair};
use crate::entities::sessions::{self, Column, Entity};
use crate::entities::{organizations, users};

/// Where a sign-in came from, kept with the session.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    /// The peer address.
    pub ip: Option<String>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

/// Sessions over a connection or transaction.
#[derive(Debug)]
pub struct SessionRepository<'c, C> {
    conn: &'c C,
    now: DateTime<Utc>,
}

fn to_domain_session(m: sessions::Model) -> Session {
    Session {
        id: SessionId::from(m.id),
        user_id: UserId::from(m.user_id),
        expires_at: m.expires_at,
        last_refreshed_at: m.last_refreshed_at,
        ip: m.ip,
        user_agent: m.user_agent,
        revoked_at: m.revoked_at,
        created_at: m.created_at,
    }
}

/// The select of [`SessionRepository::find_with_user_and_membership`].
fn with_membership(token_hash: &str, organization: OrganizationId) -> SelectStatement {
    let org = organization.as_uuid();
    let mut query = Entity::find()
        .filter(Column::TokenHash.eq(token_hash))
        .find_also_related(users::Entity)
        .limit(1)
        .into_query();
    // Left joins with the conditions in ON: a session without the membership
    // is still found, and tells "not a member" from "not signed in".
    query
        .join(
            JoinType::LeftJoin,
            members::Entity.table_ref(),
            Condition::all()
                .add(
                    Expr::col((members::Entity, members::Column::UserId))
                        .equals((Entity, Column::UserId)),
                )
                .add(members::Column::OrganizationId.eq(org))
                .add(members::Column::DeletedAt.is_null()),
        )
        .join(
            JoinType::LeftJoin,
            organizations::Entity.table_ref(),
            Condition::all()
                .add(
                    Expr::col((organizations::Entity, organizations::Column::Id))
                        .equals((members::Entity, members::Column::OrganizationId)),
                )
                .add(organizations::Column::DeletedAt.is_null()),
        );
    select_prefixed::<members::Entity>(&mut query, "C_");
    select_prefixed::<organizations::Entity>(&mut query, "D_");
    query
}

/// [`with_membership`] built for `backend`: its SQL text is built once per
/// backend, since only the values change (it runs on every organization read,
/// and building its 37 aliased columns cost more than the statement's decoding).
fn with_membership_statement(
    backend: DbBackend,
    token_hash: &str,
    organization: OrganizationId,
) -> Statement {
    static SQL: [OnceLock<String>; 2] = [const { OnceLock::new() }; 2];
    let slot = match backend {
        DbBackend::Postgres => 0,
        DbBackend::Sqlite => 1,
        _ => return backend.build(&with_membership(token_hash, organization)),
    };
    let sql = SQL[slot].get_or_init(|| {
        backend
            .build(&with_membership(
                "",
                OrganizationId::from(uuid::Uuid::nil()),
            ))
            .sql
    });
    // In the order the SQL binds them: the join's organization, the token, LIMIT.
    let values = [
        Value::from(organization.as_uuid()),
        Value::from(token_hash),
        Value::from(1u64),
    ];
    Statement::from_sql_and_values(backend, sql.as_str(), values)
}

/// A session found by its token hash, its user, and the user's live membership
/// of the organization asked about with that (live) organization.
pub type SessionStanding = (Session, User, Option<(Organization, Member)>);

/// How many columns [`with_membership`]'s row has: the session's, the user's,
/// the membership's and the organization's, one after the other.
const STANDING_COLUMNS: usize = sessions::Model::FIELDS.len()
    + users::Model::FIELDS.len()
    + members::Model::FIELDS.len()
    + organizations::Model::FIELDS.len();

/// Where a rider's columns start in the rows of
/// [`SessionRepository::find_with_membership_and`].
pub const RIDER_COLUMN: usize = STANDING_COLUMNS;

/// A read that rides along with a session's credentials: its select, and the
/// order of its rows (key column, ID column, direction) since a join does not
/// keep a subquery's order by itself.
#[derive(Clone, Debug)]
pub struct Rider {
    /// The read, ordered and limited.
    pub query: SelectStatement,
    /// Its order: the sort column, the ID column, and their direction.
    pub order: (Expr, Expr, Order),
}

/// The statement [`with_membership_and_statement`] composes, built whole.
#[cfg(test)]
fn with_membership_and(token_hash: &str, organization: OrganizationId, rider: Rider) -> WithQuery {
    around_caller(with_membership(token_hash, organization), rider)
}

/// `caller_query` (a [`with_membership`] select, or a stand-in for one) as a
/// one-row CTE `caller`, left-joined to the rider, which runs only when the
/// caller is a live member of the live organization:
///
/// ```sql
/// WITH caller AS (<session, user, membership, organization>)
/// SELECT caller.*, rider.* FROM caller
/// LEFT JOIN (<rider> AND EXISTS (SELECT 1 FROM caller WHERE member and organization found)) rider ON TRUE
/// ORDER BY rider.rider_key, rider.rider_id
/// ```
///
/// Any caller row comes back (with NULL rider columns when the rider found
/// nothing or did not run), so "not signed in" and "not a member" stay apart.
fn around_caller(caller_query: SelectStatement, rider: Rider) -> WithQuery {
    let caller = Alias::new("caller");
    let joined = Alias::new("rider");
    let (key, id, order) = rider.order;
    let member_found = Query::select()
        .expr(Expr::val(1))
        .from(caller.clone())
        .and_where(Expr::col((caller.clone(), Alias::new("C_id"))).is_not_null())
        .and_where(Expr::col((caller.clone(), Alias::new("D_id"))).is_not_null())
        .to_owned();
    let mut read = rider.query;
    read.expr_as(key, Alias::new("rider_key"))
        .expr_as(id, Alias::new("rider_id"))
        .and_where(Expr::exists(member_found));
    // Built in place: a builder's `to_owned()` would copy the page's statement.
    let mut select = Query::select();
    select
        .column((caller.clone(), Asterisk))
        .column((joined.clone(), Asterisk))
        .from(caller.clone())
        .join_subquery(JoinType::LeftJoin, read, joined.clone(), Expr::cust("TRUE"))
        .order_by((joined.clone(), Alias::new("rider_key")), order.clone())
        .order_by((joined, Alias::new("rider_id")), order);
    let mut cte = CommonTableExpression::new();
    cte.query(caller_query).table_name(caller);
    let mut with = WithClause::new();
    with.cte(cte);
    select.with(with)
}

/// [`around_caller`] of [`with_membership`] built for `backend`, its credentials' part taken
/// from [`with_membership_statement`]'s text, built once: building those 37
/// aliased columns on every request cost seven times what building the page
/// does. The statement is built around a stand-in for the credentials that binds
/// the same three values in the same order, so every placeholder after it has
/// its final number; then the stand-in's text is swapped for the real one.
fn with_membership_and_statement(
    backend: DbBackend,
    token_hash: &str,
    organization: OrganizationId,
    rider: Rider,
) -> Result<Statement, DomainError> {
    let stand_in = Query::select()
        .expr(Expr::val(organization.as_uuid()))
        .expr(Expr::val(token_hash))
        .expr(Expr::val(1u64))
        .to_owned();
    // Per backend, the text the statement starts with around the stand-in.
    static HEAD: [OnceLock<String>; 2] = [const { OnceLock::new() }; 2];
    let slot = usize::from(backend == DbBackend::Sqlite);
    let head =
        HEAD[slot].get_or_init(|| format!("WITH \"caller\" AS ({})", backend.build(&stand_in).sql));
    let built = backend.build(&around_caller(stand_in, rider));
    let rest = built.sql.strip_prefix(head.as_str()).ok_or_else(|| {
        DomainError::Internal(format!("a rider statement that does not start with {head}"))
    })?;
    // The stand-in binds the credentials' values in their order: `built`'s
    // values are already the composed statement's.
    let credentials = with_membership_statement(backend, token_hash, organization);
    Ok(Statement {
        sql: format!("WITH \"caller\" AS ({}){rest}", credentials.sql),
        ..built
    })
}

/// A [`with_membership`] row (the first [`STANDING_COLUMNS`] columns) decoded:
/// `None` when the session has no (live or dead) user row.
fn decode_standing(row: &QueryResult) -> Result<Option<SessionStanding>, DomainError> {
    let at_user = sessions::Model::FIELDS.len();
    let at_member = at_user + users::Model::FIELDS.len();
    let at_org = at_member + members::Model::FIELDS.len();
    let session = sessions::Model::decode_at(row, 0).map_err(to_domain)?;
    let Some(user) = users::Model::decode_optional_at(row, at_user).map_err(to_domain)? else {
        return Ok(None);
    };
    let member = members::Model::decode_optional_at(row, at_member).map_err(to_domain)?;
    let org = organizations::Model::decode_optional_at(row, at_org).map_err(to_domain)?;
    let membership = match (org, member) {
        (Some(org), Some(member)) => Some((
            organizations::Entity::to_domain(org)?,
            members::Entity::to_domain(member)?,
        )),
        _ => None,
    };
    Ok(Some((
        to_domain_session(session),
        users::Entity::to_domain(user)?,
        membership,
    )))
}

/// Selects every column of `E` as `<prefix><column>`, the way SeaORM names the
/// models of a multi-entity select.
fn select_prefixed<E: EntityTrait>(query: &mut SelectStatement, prefix: &str) {
    for col in E::Column::iter() {
        query.expr_as(
            col.select_as(Expr::col((E::default(), col))),
            Alias::new(format!("{prefix}{}", col.as_str())),
        );
    }
}

impl<'c, C: ConnectionTrait> SessionRepository<'c, C> {
    /// A repository over `conn` for which "now" is `now` (the caller's clock): the
    /// instant writes are stamped with and expiry is judged at.
    pub fn at(conn: &'c C, now: DateTime<Utc>) -> Self {
        Self { conn, now }
    }

    /// Starts a session for `user_id` that expires when `policy` says (7 days
    /// from now, unless the absolute lifetime is shorter). Only `token_hash` is
    /// stored.
    pub async fn create(
        &self,
        user_id: UserId,
        token_hash: String,
        client: ClientInfo,
        policy: &SessionPolicy,
    ) -> Result<Session, DomainError> {
        let now = self.now;
        let row = sessions::ActiveModel {
            id: Set(SessionId::new().as_uuid()),
            user_id: Set(user_id.as_uuid()),
            token_hash: Set(token_hash),
            expires_at: Set(policy.expires_at(now, now)),
            last_refreshed_at: Set(now),
            ip: Set(client.ip),
            user_agent: Set(client.user_agent),
            revoked_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let model = row.insert(self.conn).await.map_err(to_domain)?;
        Ok(to_domain_session(model))
    }

    /// The session with this token hash and its user, in one indexed read; `None`
    /// when no session has that hash. Validity is the caller's to judge.
    pub async fn find_with_user(
        &self,
        token_hash: &str,
    ) -> Result<Option<(Session, User)>, DomainError> {
        let select = Entity::find()
            .filter(Column::TokenHash.eq(token_hash))
            .find_also_related(users::Entity);
        match one_pair(self.conn, select).await.map_err(to_domain)? {
            Some((session, Some(user))) => Ok(Some((
                to_domain_session(session),
                users::Entity::to_domain(user)?,
            ))),
            _ => Ok(None),
        }
    }

    /// [`find_with_user`](Self::find_with_user), and in the same statement the
    /// user's live membership of live organization `organization`: `None` in the
    /// third place when there is none.
    pub async fn find_with_user_and_membership(
        &self,
        token_hash: &str,
        organization: OrganizationId,
    ) -> Result<Option<SessionStanding>, DomainError> {
        let statement =
            with_membership_statement(self.conn.get_database_backend(), token_hash, organization);
        let Some(row) = self
            .conn
            .query_one_raw(statement)
            .await
            .map_err(to_domain)?
        else {
            return Ok(None);
        };
        decode_standing(&row)
    }

    /// [`find_with_user_and_membership`](Self::find_with_user_and_membership) and,
    /// in the same statement, `rider`'s rows when the user is a live member of
    /// live `organization` (the rider does not run otherwise): one round trip for
    /// a read of one organization's data. The rider's rows are returned whole;
    /// their columns start at [`RIDER_COLUMN`], all NULL in the one row left when
    /// the rider found nothing or did not run. `None` as the session finds nothing.
    pub async fn find_with_membership_and(
        &self,
        token_hash: &str,
        organization: OrganizationId,
        rider: Rider,
    ) -> Result<(Option<SessionStanding>, Vec<QueryResult>), DomainError> {
        let backend = self.conn.get_database_backend();
        let statement = with_membership_and_statement(backend, token_hash, organization, rider)?;
        let rows = self
            .conn
            .query_all_raw(statement)
            .await
            .map_err(to_domain)?;
        let Some(first) = rows.first() else {
            return Ok((None, Vec::new()));
        };
        Ok((decode_standing(first)?, rows))
    }

    /// Extends the session to `expires_at` (see `SessionPolicy::refreshed_expiry`)
    /// if it was last refreshed more than [`SESSION_REFRESH_AFTER`] ago and is
    /// still usable. The condition is in the UPDATE, so concurrent requests write
    /// at most once. Returns whether it wrote.
    pub async fn refresh(
        &self,
        id: SessionId,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, DomainError> {
        let now = self.now;
        let result = Entity::update_many()
            .col_expr(Column::ExpiresAt, Expr::value(expires_at))
            .col_expr(Column::LastRefreshedAt, Expr::value(now))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::RevokedAt.is_null())
            .filter(Column::ExpiresAt.gt(now))
            .filter(Column::LastRefreshedAt.lt(now - SESSION_REFRESH_AFTER))
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected > 0)
    }

    /// Revokes one session (sign-out). Revoking twice is harmless.
    pub async fn revoke(&self, id: SessionId) -> Result<(), DomainError> {
        let now = self.now;
        Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(now))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::Id.eq(id.as_uuid()))
            .filter(Column::RevokedAt.is_null())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(())
    }

    /// One page of `user_id`'s live sessions (not revoked, not expired, younger
    /// than `policy`'s absolute lifetime), by sign-in time; `searchQuery` matches
    /// the user agent and the address.
    pub async fn list_live(
        &self,
        user_id: UserId,
        policy: &SessionPolicy,
        request: &PageRequest<SessionSort>,
    ) -> Result<Page<Session>, DomainError> {
        let query = Entity::find()
            .filter(Column::UserId.eq(user_id.as_uuid()))
            .filter(self.live(policy));
        listing::page::<SessionList, _, _, _>(query, request, |query| async move {
            Ok(query
                .all(self.conn)
                .await
                .map_err(to_domain)?
                .into_iter()
                .map(to_domain_session)
                .collect())
        })
        .await
    }

    /// Revokes session `id` if it is a live session of `user_id`; `false` when
    /// it is another user's, unknown, or has already ended.
    pub async fn revoke_of_user(
        &self,
        user_id: UserId,
        id: SessionId,
        policy: &SessionPolicy,
    ) -> Result<bool, DomainError> {
        let revoked = self
            .revoke_live_where(
                Condition::all()
                    .add(Column::UserId.eq(user_id.as_uuid()))
                    .add(Column::Id.eq(id.as_uuid())),
                policy,
            )
            .await?;
        Ok(!revoked.is_empty())
    }

    /// Revokes every live session of `user_id` but `keep`; returns their IDs.
    pub async fn revoke_others_of_user(
        &self,
        user_id: UserId,
        keep: SessionId,
        policy: &SessionPolicy,
    ) -> Result<Vec<SessionId>, DomainError> {
        self.revoke_live_where(
            Condition::all()
                .add(Column::UserId.eq(user_id.as_uuid()))
                .add(Column::Id.ne(keep.as_uuid())),
            policy,
        )
        .await
    }

    /// Sessions that still authenticate now under `policy`.
    fn live(&self, policy: &SessionPolicy) -> Condition {
        Condition::all()
            .add(Column::RevokedAt.is_null())
            .add(Column::ExpiresAt.gt(self.now))
            .add(Column::CreatedAt.gt(self.now - policy.max_lifetime()))
    }

    /// Revokes the live sessions matching `condition`, in one statement; returns
    /// their IDs.
    async fn revoke_live_where(
        &self,
        condition: Condition,
        policy: &SessionPolicy,
    ) -> Result<Vec<SessionId>, DomainError> {
        let now = self.now;
        let revoked = Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(now))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(condition)
            .filter(self.live(policy))
            .exec_with_returning(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(revoked.into_iter().map(|m| SessionId::from(m.id)).collect())
    }

    /// Revokes every live session of a user (password reset, deactivation,
    /// deletion); returns how many.
    pub async fn revoke_all_for_user(&self, user_id: UserId) -> Result<u64, DomainError> {
        let now = self.now;
        let result = Entity::update_many()
            .col_expr(Column::RevokedAt, Expr::value(now))
            .col_expr(Column::UpdatedAt, Expr::value(now))
            .filter(Column::UserId.eq(user_id.as_uuid()))
            .filter(Column::RevokedAt.is_null())
            .exec(self.conn)
            .await
            .map_err(to_domain)?;
        Ok(result.rows_affected)
    }
}

/// One user's sessions: sorted by `createdAt`; `searchQuery` matches the user
/// agent and the address.
pub struct SessionList;

impl Listing for SessionList {
    type Sort = SessionSort;
    type Row = Session;

    fn column(sort: SessionSort) -> (Expr, KeyKind) {
        match sort {
            SessionSort::CreatedAt => (Expr::col((Entity, Column::CreatedAt)), KeyKind::Timestamp),
        }
    }

    fn id_column() -> Expr {
        Expr::col((Entity, Column::Id))
    }

    fn parse_id(raw: &str) -> Option<Value> {
        SessionId::parse(raw).ok().map(|id| id.as_uuid().into())
    }

    fn search_columns() -> Vec<Expr> {
        vec![
            Expr::col((Entity, Column::UserAgent)),
            Expr::col((Entity, Column::Ip)),
        ]
    }

    fn position(row: &Session, sort: SessionSort) -> (SortValue, String) {
        let value = match sort {
            SessionSort::CreatedAt => SortValue::At(row.created_at),
        };
        (value, row.id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cached_membership_statement_is_the_built_one() {
        let organization = OrganizationId::new();
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            let built = backend.build(&with_membership("a-token-hash", organization));
            let cached = with_membership_statement(backend, "a-token-hash", organization);
            assert_eq!(cached.sql, built.sql, "{backend:?}");
            assert_eq!(cached.values, built.values, "{backend:?}");
        }
    }

    #[test]
    fn the_composed_rider_statement_is_the_built_one() {
        let organization = OrganizationId::new();
        let rider = Rider {
            query: Query::select()
                .column(Alias::new("x"))
                .from(Alias::new("t"))
                .and_where(Expr::col(Alias::new("y")).eq("v"))
                .limit(3)
                .offset(4)
                .to_owned(),
            order: (
                Expr::col(Alias::new("x")),
                Expr::col(Alias::new("id")),
                Order::Asc,
            ),
        };
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            let built = backend.build(&with_membership_and("h", organization, rider.clone()));
            let composed =
                with_membership_and_statement(backend, "h", organization, rider.clone()).unwrap();
            assert_eq!(composed.sql, built.sql, "{backend:?}");
            assert_eq!(composed.values, built.values, "{backend:?}");
        }
    }

    #[test]
    fn a_rider_runs_only_for_a_member_and_keeps_its_order() {
        let rider = Rider {
            query: Query::select()
                .column(Alias::new("x"))
                .from(Alias::new("t"))
                .order_by(Alias::new("x"), Order::Desc)
                .limit(3)
                .to_owned(),
            order: (
                Expr::col(Alias::new("x")),
                Expr::col(Alias::new("id")),
                Order::Desc,
            ),
        };
        let statement =
            DbBackend::Postgres.build(&with_membership_and("h", OrganizationId::new(), rider));
        let sql = statement.sql;
        assert!(sql.starts_with(r#"WITH "caller" AS (SELECT"#), "{sql}");
        assert!(
            sql.contains(r#"FROM "caller" LEFT JOIN (SELECT "x", "x" AS "rider_key", "id" AS "rider_id" FROM "t" WHERE EXISTS(SELECT $4 FROM "caller" WHERE "caller"."C_id" IS NOT NULL AND "caller"."D_id" IS NOT NULL) ORDER BY "x" DESC LIMIT $5) AS "rider" ON TRUE"#),
            "{sql}"
        );
        assert!(
            sql.ends_with(r#"ORDER BY "rider"."rider_key" DESC, "rider"."rider_id" DESC"#),
            "{sql}"
        );
    }
}
