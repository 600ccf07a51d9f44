//! Organizations, the tenants: the stored organization, what it takes to create or
//! change one, its plan, and how a member sees it.

use chrono::{DateTime, Utc};

use crate::admin::PlatformAdmin;
use crate::error::{DomainError, Validation};
use crate::id::OrganizationId;
use crate::members::MemberRole;
use crate::plans::PlanKey;
use crate::values::{PersonName, Slug};

/// An organization not found, deleted, or not the caller's: one answer for all
/// three, so existence is not leaked across tenants.
pub const ORGANIZATION_NOT_FOUND: DomainError =
    DomainError::not_found("organization", "ORGANIZATION_NOT_FOUND");

impl crate::id::ResourceId for OrganizationId {
    const NOT_FOUND: DomainError = ORGANIZATION_NOT_FOUND;
    const PARAM: &'static str = "orgId";
}

/// The machine code of a 409 for a slug a live organization has.
pub const SLUG_TAKEN: &str = "SLUG_TAKEN";

/// The machine code of a 403 for a plan set by someone who is not a platform admin.
pub const PLAN_CHANGE_FORBIDDEN: &str = "PLAN_CHANGE_FORBIDDEN";

/// `Ok` when an organization whose plan is `from` (a new one's is `free`) may get
/// the plan `to` from this caller: keeping the plan is anyone's to do, changing
/// it a platform admin's (`by`), else 403 `PLAN_CHANGE_FORBIDDEN`. The plan is
/// what the organization pays for, so its own admins do not choose it.
pub fn may_set_plan(
    from: &PlanKey,
    to: &PlanKey,
    by: Option<PlatformAdmin>,
) -> Result<(), DomainError> {
    if from == to || by.is_some() {
        Ok(())
    } else {
        Err(DomainError::forbidden(
            PLAN_CHANGE_FORBIDDEN,
            format!("only a platform admin sets an organization's plan (it is {from}, not {to})"),
        ))
    }
}

crate::sort_by! {
    /// `sortBy` of the organization list.
    OrganizationSort {
        /// Creation time (the default).
        CreatedAt => "createdAt",
        /// Name, alphabetically.
        Name => "name",
    }
}

/// A tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// Identity.
    pub id: OrganizationId,
    /// Display name.
    pub name: String,
    /// Unique among live organizations.
    pub slug: Slug,
    /// The plan of its subscription, by key.
    pub plan: PlanKey,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Set when soft-deleted.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// What it takes to create an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrganization {
    /// Display name.
    pub name: PersonName,
    /// Unique among live organizations.
    pub slug: Slug,
    /// The plan its subscription starts on (it must exist).
    pub plan: PlanKey,
}

/// A validated request to create an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationDraft {
    /// Display name, 1 to 100 characters.
    pub name: PersonName,
    /// The slug asked for; `None` derives one from the name (with a free suffix).
    pub slug: Option<Slug>,
    /// The plan (`free` unless given).
    pub plan: PlanKey,
}

/// A validated partial change of an organization; `None` leaves a field alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationChanges {
    /// A new display name.
    pub name: Option<PersonName>,
    /// A new slug (409 `SLUG_TAKEN` when a live organization has it).
    pub slug: Option<Slug>,
    /// A new plan.
    pub plan: Option<PlanKey>,
}

/// An organization as one of its members sees it: with the member's role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrganizationMembership {
    /// The organization.
    pub organization: Organization,
    /// The caller's role there.
    pub role: MemberRole,
}

/// A new organization as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateOrganizationBody))]
#[serde(rename_all = "camelCase")]
pub struct CreateOrganizationRequest {
    /// Display name, 1 to 100 characters after trimming.
    #[validate(
        required(code = "REQUIRED", message = "name is required"),
        custom(function = "crate::validate::name")
    )]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::validate::name_schema, required = true, example = "Acme, Inc."))]
    pub name: Option<String>,
    /// `^[a-z0-9]+(-[a-z0-9]+)*$`, 3 to 63 characters; derived from the name when
    /// absent (`acme-inc`, then `acme-inc-2`, ... when taken).
    #[validate(custom(function = "crate::validate::slug"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, min_length = 3, max_length = 63, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$", example = "acme"))]
    pub slug: Option<String>,
    /// A plan's key, `free` by default; another plan than `free` is a platform
    /// admin's to give (403 `PLAN_CHANGE_FORBIDDEN`); one that names no plan is
    /// 422 `UNKNOWN_PLAN`.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[a-z][a-z0-9-]{0,49}$", example = "free")
    )]
    pub plan: Option<String>,
}

impl TryFrom<CreateOrganizationRequest> for OrganizationDraft {
    type Error = DomainError;

    fn try_from(body: CreateOrganizationRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
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
            Some(p) => v.check("plan", PlanKey::parse(&p)).map(Some),
        };
        let (name, (slug, plan)) = v.finish(name.zip(slug.zip(plan)))?;
        Ok(Self {
            name,
            slug,
            plan: plan.unwrap_or_else(PlanKey::free),
        })
    }
}

/// A change to an organization as sent; absent fields stay as they are.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdateOrganizationBody))]
#[serde(rename_all = "camelCase")]
pub struct UpdateOrganizationRequest {
    /// Display name, 1 to 100 characters after trimming.
    #[validate(custom(function = "crate::validate::name"))]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::validate::nullable_name_schema))]
    pub name: Option<String>,
    /// A new slug (409 `SLUG_TAKEN` when a live organization has it).
    #[validate(custom(function = "crate::validate::slug"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, min_length = 3, max_length = 63, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$"))]
    pub slug: Option<String>,
    /// A plan's key: only a platform admin changes it (403
    /// `PLAN_CHANGE_FORBIDDEN`; the current plan again is a no-op).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z][a-z0-9-]{0,49}$"))]
    pub plan: Option<String>,
}

impl TryFrom<UpdateOrganizationRequest> for OrganizationChanges {
    type Error = DomainError;

    fn try_from(body: UpdateOrganizationRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let name = body.name.map(|n| v.check("name", PersonName::parse(&n)));
        let slug = body.slug.map(|s| v.check("slug", Slug::parse(&s)));
        let plan = body.plan.map(|p| v.check("plan", PlanKey::parse(&p)));
        let changes = Self {
            name: name.flatten(),
            slug: slug.flatten(),
            plan: plan.flatten(),
        };
        v.finish(Some(changes))
    }
}

/// A platform admin's change of an organization's plan, as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SetPlanBody))]
#[serde(rename_all = "camelCase")]
pub struct SetPlanRequest {
    /// A plan's key (422 `UNKNOWN_PLAN` when no plan has it).
    #[validate(required(code = "REQUIRED", message = "plan is required"))]
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[a-z][a-z0-9-]{0,49}$", example = "pro")
    )]
    pub plan: Option<String>,
}

impl TryFrom<SetPlanRequest> for PlanKey {
    type Error = DomainError;

    fn try_from(body: SetPlanRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let plan = v
            .required("plan", body.plan)
            .and_then(|p| v.check("plan", PlanKey::parse(&p)));
        v.finish(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_platform_admin_changes_a_plan() {
        let key = |k: &str| PlanKey::parse(k).unwrap();
        let (free, pro, enterprise) = (key("free"), key("pro"), key("enterprise"));
        assert!(may_set_plan(&free, &free, None).is_ok());
        assert!(may_set_plan(&pro, &pro, None).is_ok());
        for (from, to) in [(&free, &enterprise), (&pro, &free), (&free, &pro)] {
            assert!(matches!(
                may_set_plan(from, to, None),
                Err(DomainError::Forbidden {
                    code: PLAN_CHANGE_FORBIDDEN,
                    ..
                })
            ));
        }
        let now = Utc::now();
        let root = crate::users::User {
            id: crate::id::UserId::new(),
            email: crate::values::Email::parse("root@example.com").unwrap(),
            first_name: "Root".into(),
            last_name: "Admin".into(),
            user_type: crate::users::UserType::Organization,
            profession: None,
            avatar_url: None,
            is_active: true,
            is_admin: true,
            email_verified_at: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let admin = PlatformAdmin::verify(&root).unwrap();
        assert!(may_set_plan(&free, &enterprise, Some(admin)).is_ok());
        assert!(may_set_plan(&enterprise, &free, Some(admin)).is_ok());
    }
}
