//! Decoding models by column position, for the selects that join several
//! entities on hot paths (a session with its user, a page of members with
//! theirs). SeaORM decodes a joined model by name, formatting `{prefix}{column}`
//! and looking it up for every value of every row; by position, a value is one
//! index into the row. The columns come in the order SeaORM selects them
//! (`Column::iter()`, the model's field order), which a test checks.

use sea_orm::{DbErr, EntityTrait, QueryResult, SelectTwo, TryGetError, TryGetable};

use super::{organization_members, organizations, plans, sessions, subscriptions, users};

/// A model that decodes from consecutive columns of a row.
pub trait Positional: Sized {
    /// The model's fields in declaration order: one column each.
    const FIELDS: &'static [&'static str];

    /// The model from the columns starting at `at`; `Null` when a required
    /// column is NULL (as in the missing side of a left join).
    fn try_decode_at(row: &QueryResult, at: usize) -> Result<Self, TryGetError>;

    /// The model from the columns starting at `at`.
    fn decode_at(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
        Self::try_decode_at(row, at).map_err(DbErr::from)
    }

    /// The model from the columns starting at `at`, `None` when they are the
    /// NULLs of a left join that matched nothing.
    fn decode_optional_at(row: &QueryResult, at: usize) -> Result<Option<Self>, DbErr> {
        match Self::try_decode_at(row, at) {
            Ok(model) => Ok(Some(model)),
            Err(TryGetError::Null(_)) => Ok(None),
            Err(TryGetError::DbErr(err)) => Err(err),
        }
    }
}

/// Decodes one value and moves on to the next column.
fn next<T: TryGetable>(row: &QueryResult, at: &mut usize) -> Result<T, TryGetError> {
    let value = T::try_get_by_index(row, *at);
    *at += 1;
    value
}

macro_rules! positional {
    ($($model:path { $($field:ident),+ $(,)? })+) => {$(
        impl Positional for $model {
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),+];

            fn try_decode_at(row: &QueryResult, mut at: usize) -> Result<Self, TryGetError> {
                Ok(Self {
                    $($field: next(row, &mut at)?,)+
                })
            }
        }
    )+};
}

positional! {
    sessions::Model {
        id, user_id, token_hash, expires_at, last_refreshed_at, ip, user_agent, revoked_at,
        created_at, updated_at,
    }
    users::Model {
        id, email, first_name, last_name, user_type, profession, avatar_url, is_active,
        is_admin, email_verified_at, created_at, updated_at, deleted_at,
    }
    organization_members::Model {
        id, organization_id, user_id, role, created_at, updated_at, deleted_at,
    }
    organizations::Model {
        id, name, slug, plan, created_at, updated_at, deleted_at,
    }
    plans::Model {
        id, key, name, max_members, max_api_keys, max_jobs, max_concurrent_tasks,
        monthly_token_quota, price_cents, currency, provider_price_id, created_at, updated_at,
    }
    subscriptions::Model {
        id, organization_id, plan_id, status, current_period_start, current_period_end,
        cancel_at_period_end, provider, provider_customer_id, provider_subscription_id,
        last_event_at, created_at, updated_at,
    }
}

/// A [`SelectTwo`]'s query, decoded by position: every row's first model, and
/// its second unless the join left it NULL.
pub async fn all_pairs<C, E, F>(
    conn: &C,
    select: SelectTwo<E, F>,
) -> Result<Vec<(E::Model, Option<F::Model>)>, DbErr>
where
    C: sea_orm::ConnectionTrait,
    E: EntityTrait,
    F: EntityTrait,
    E::Model: Positional,
    F::Model: Positional,
{
    use sea_orm::QueryTrait;
    let rows = conn.query_all(&select.into_query()).await?;
    rows.iter().map(pair::<E::Model, F::Model>).collect()
}

/// The first row of a [`SelectTwo`]'s query (`LIMIT 1`), decoded by position
/// (see [`all_pairs`]).
pub async fn one_pair<C, E, F>(
    conn: &C,
    select: SelectTwo<E, F>,
) -> Result<Option<(E::Model, Option<F::Model>)>, DbErr>
where
    C: sea_orm::ConnectionTrait,
    E: EntityTrait,
    F: EntityTrait,
    E::Model: Positional,
    F::Model: Positional,
{
    use sea_orm::QuerySelect;
    Ok(all_pairs(conn, select.limit(1)).await?.pop())
}

/// The pair whose columns start at `at` (see [`all_pairs`]); `None` when the
/// first model's columns are the NULLs of a left join that matched nothing.
pub fn pair_at<M: Positional, N: Positional>(
    row: &QueryResult,
    at: usize,
) -> Result<Option<(M, Option<N>)>, DbErr> {
    let Some(first) = M::decode_optional_at(row, at)? else {
        return Ok(None);
    };
    Ok(Some((
        first,
        N::decode_optional_at(row, at + M::FIELDS.len())?,
    )))
}

fn pair<M: Positional, N: Positional>(row: &QueryResult) -> Result<(M, Option<N>), DbErr> {
    Ok((
        M::decode_at(row, 0)?,
        N::decode_optional_at(row, M::FIELDS.len())?,
    ))
}

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, Iterable};

    use super::*;

    /// `Column::iter()` is the order SeaORM selects in; its variants are the
    /// fields' names in CamelCase.
    fn field_names<E: EntityTrait>() -> Vec<String> {
        E::Column::iter()
            .map(|c| {
                let variant = format!("{c:?}");
                let mut snake = String::new();
                for (i, ch) in variant.char_indices() {
                    if ch.is_ascii_uppercase() && i > 0 {
                        snake.push('_');
                    }
                    snake.push(ch.to_ascii_lowercase());
                }
                snake
            })
            .collect()
    }

    fn fields_of<M: Positional>() -> Vec<String> {
        M::FIELDS.iter().map(|f| (*f).to_owned()).collect()
    }

    #[test]
    fn positional_models_list_every_column_in_select_order() {
        assert_eq!(
            fields_of::<sessions::Model>(),
            field_names::<sessions::Entity>()
        );
        assert_eq!(fields_of::<users::Model>(), field_names::<users::Entity>());
        assert_eq!(
            fields_of::<organization_members::Model>(),
            field_names::<organization_members::Entity>()
        );
        assert_eq!(
            fields_of::<organizations::Model>(),
            field_names::<organizations::Entity>()
        );
    }
}
