//! Organization wire types: request bodies (converted once into domain values)
//! and responses.

use crate::views::page_response;
use chrono::{DateTime, Utc};
use domain::organizations::{OrganizationChanges, OrganizationDraft, OrganizationMembership};
use domain::{DomainError, PersonName, Plan, Slug, Validation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new organization as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateOrganizationBody {
    /// Display name, 1 to 100 characters after trimming.
    #[schema(example = "Acme, Inc.")]
    pub name: Option<String>,
    /// `^[a-z0-9]+(-[a-z0-9]+)*$`, 3 to 63 characters; derived from the name when
    /// absent (`acme-inc`, then `acme-inc-2`, ... when taken).
    #[schema(example = "acme")]
    pub slug: Option<String>,
    /// `free` (default), `pro` or `enterprise`.
    #[schema(example = "free")]
    pub plan: Option<String>,
}

impl TryFrom<CreateOrganizationBody> for OrganizationDraft {
    type Error = DomainError;

    fn try_from(body: CreateOrganizationBody) -> Result<Self, DomainError> {
        let mut v = Validation::default();
        let name = v
            .required("name", body.name)
            .and_then(|n| v.check("name", PersonName::parse(&n)));
        // An absent optional field is `Some(None)`; a present one that breaks a
        // rule is `None`, so `finish` fails.
        let slug = match body.slug {
            None => Some(None),
            Some(s) => v.check("slug", Slug::parse(&s)).map(Some),
        };
        let plan = match body.plan {
            None => Some(None),
            Some(p) => v.check("plan", p.parse::<Plan>()).map(Some),
        };
        let (name, (slug, plan)) = v.finish(name.zip(slug.zip(plan)))?;
        Ok(Self {
            name,
            slug,
            plan: plan.unwrap_or_default(),
        })
    }
}

/// A change to an organization as sent; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateOrganizationBody {
    /// Display name, 1 to 100 characters after trimming.
    pub name: Option<String>,
    /// A new slug (409 `SLUG_TAKEN` when a live organization has it).
    pub slug: Option<String>,
    /// `free`, `pro` or `enterprise`.
    pub plan: Option<String>,
}

impl TryFrom<UpdateOrganizationBody> for OrganizationChanges {
    type Error = DomainError;

    fn try_from(body: UpdateOrganizationBody) -> Result<Self, DomainError> {
        let mut v = Validation::default();
        let name = body.name.map(|n| v.check("name", PersonName::parse(&n)));
        let slug = body.slug.map(|s| v.check("slug", Slug::parse(&s)));
        let plan = body.plan.map(|p| v.check("plan", p.parse::<Plan>()));
        let changes = Self {
            name: name.flatten(),
            slug: slug.flatten(),
            plan: plan.flatten(),
        };
        v.finish(Some(changes))
    }
}

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
