//! Wire shapes shared by several route modules.

use chrono::{DateTime, Utc};
use domain::User;
use serde::Serialize;
use utoipa::ToSchema;

/// A user as the API shows it (to the user, and embedded in member lists).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    /// `usr_...`
    #[schema(example = "usr_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// Lower-cased.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// `employee` or `organization`.
    #[serde(rename = "type")]
    pub user_type: String,
    /// Set for employees.
    pub profession: Option<String>,
    /// A picture of the user.
    pub avatar_url: Option<String>,
    /// When the email address was verified; null until then.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email.into_inner(),
            first_name: user.first_name,
            last_name: user.last_name,
            user_type: user.user_type.as_str().to_owned(),
            profession: user.profession,
            avatar_url: user.avatar_url,
            email_verified_at: user.email_verified_at,
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

/// Declares a list's wire type: `{items, hasNext, nextCursor}` of `$item`s, built
/// from a domain `Page<$domain>` (each item through `From`). Every list answers in
/// this one shape.
macro_rules! page_response {
    ($(#[$doc:meta])* $page:ident: $item:ty, from $domain:ty) => {
        $(#[$doc])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $page {
            /// This page's items.
            pub items: Vec<$item>,
            /// Whether another page follows.
            pub has_next: bool,
            /// Pass as `cursor` to get the next page (keyset, same order).
            pub next_cursor: Option<String>,
        }

        impl From<domain::Page<$domain>> for $page {
            fn from(page: domain::Page<$domain>) -> Self {
                let page = page.map(<$item>::from);
                Self {
                    items: page.items,
                    has_next: page.has_next,
                    next_cursor: page.next_cursor,
                }
            }
        }
    };
}
pub(crate) use page_response;
