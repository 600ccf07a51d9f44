//! Organization wire types: request bodies (converted once into domain values)
//! and responses.

use crate::views::page_response;
use chrono::{DateTime, Utc};
use domain::organizations::OrganizationMembership;
use serde::Serialize;
use utoipa::ToSchema;

/// An organization as one of its members sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationResponse {
    /// `org_...`
    #[schema(example = "org_01JD6Z3Q9V7X2M4N8P0R5T1W3Y")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// Unique among live organizations.
    pub slug: String,
    /// `free`, `pro` or `enterprise`.
    pub plan: String,
    /// The caller's role: `owner`, `admin` or `member`.
    pub role: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<OrganizationMembership> for OrganizationResponse {
    fn from(m: OrganizationMembership) -> Self {
        let org = m.organization;
        Self {
            id: org.id.to_string(),
            name: org.name,
            slug: org.slug.into_inner(),
            plan: org.plan.as_str().to_owned(),
            role: m.role.as_str().to_owned(),
            created_at: org.created_at,
            updated_at: org.updated_at,
        }
    }
}

page_response! {
    /// A page of organizations.
    OrganizationPage: OrganizationResponse, from OrganizationMembership
}
