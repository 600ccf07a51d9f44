//! Users: the stored person, what it takes to create one, who may sign up with
//! what, who may sign in, and which profile changes are allowed.

use chrono::{DateTime, Utc};

use crate::error::{DomainError, FieldError, FieldErrorCode, Validation};
use crate::id::UserId;
use crate::text_enum;
use crate::values::{Email, Password, PersonName};

mod avatar;

pub use avatar::{AvatarUrl, AvatarUrlError};

/// A validated sign-up: the user to create and the password for its credential
/// account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignUp {
    /// The user to create (the profession rule already holds).
    pub user: NewUser,
    /// The password, to be hashed before anything is written.
    pub password: Password,
}

/// A sign-in attempt. A password outside the length policy is kept as `None`:
/// it cannot match any stored password, yet the attempt must still cost one
/// password verification so that it is not told apart by its timing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// Who claims to sign in.
    pub email: Email,
    /// The candidate password, when it satisfies the policy at all.
    pub password: Option<Password>,
}

/// Why a profession is missing where it is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProfessionError {
    /// Employees must state a profession.
    #[error("profession is required for employees")]
    Required,
}

impl FieldErrorCode for ProfessionError {
    fn code(&self) -> &'static str {
        match self {
            Self::Required => "REQUIRED",
        }
    }
}

/// The profession rule: an employee has a profession; anyone else may.
pub fn check_profession(
    user_type: UserType,
    profession: Option<&PersonName>,
) -> Result<(), ProfessionError> {
    match (user_type, profession) {
        (UserType::Employee, None) => Err(ProfessionError::Required),
        _ => Ok(()),
    }
}

/// Whether a user whose password just verified may sign in: inactive users may
/// not (`ACCOUNT_INACTIVE`). Deleted users never get this far: they are
/// unknown to sign-in.
pub fn ensure_may_sign_in(user: &User) -> Result<(), DomainError> {
    if user.is_active {
        Ok(())
    } else {
        Err(DomainError::forbidden(
            ACCOUNT_INACTIVE,
            "This account has been deactivated.",
        ))
    }
}

/// The code of a sign-in by a deactivated user.
pub const ACCOUNT_INACTIVE: &str = "ACCOUNT_INACTIVE";

/// Deleting the account of the only owner of a live organization.
pub fn last_owner_conflict() -> DomainError {
    DomainError::state_conflict(
        crate::members::LAST_OWNER,
        "You are the only owner of an organization; transfer ownership or delete it first.",
    )
}

/// A change to one's own profile. Each field is `None` when absent from the
/// request; a clearable field is `Some(None)` when it should be cleared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    /// A new given name.
    pub first_name: Option<PersonName>,
    /// A new family name.
    pub last_name: Option<PersonName>,
    /// A new profession, or `Some(None)` to clear it (refused for employees).
    pub profession: Option<Option<PersonName>>,
    /// A new avatar, or `Some(None)` to remove it.
    pub avatar_url: Option<Option<AvatarUrl>>,
}

impl ProfileChanges {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.first_name.is_none()
            && self.last_name.is_none()
            && self.profession.is_none()
            && self.avatar_url.is_none()
    }

    /// Checks the changes against the user they apply to: clearing an employee's
    /// profession is a validation error on `profession`.
    pub fn check_against(&self, user: &User) -> Result<(), DomainError> {
        match &self.profession {
            Some(profession) => check_profession(user.user_type, profession.as_ref())
                .map_err(|e| DomainError::invalid("profession", e.code(), e.to_string())),
            None => Ok(()),
        }
    }
}

/// A user or an ID that is not a live user's: one answer for both.
pub const USER_NOT_FOUND: DomainError = DomainError::not_found("user", "USER_NOT_FOUND");

impl crate::id::ResourceId for UserId {
    const NOT_FOUND: DomainError = USER_NOT_FOUND;
    const PARAM: &'static str = "userId";
}

crate::sort_by! {
    /// `sortBy` of the (platform admin's) user list.
    UserSort {
        /// Sign-up time (the default).
        CreatedAt => "createdAt",
        /// Email.
        Email => "email",
        /// First name.
        FirstName => "firstName",
        /// Last name.
        LastName => "lastName",
    }
}

text_enum! {
    /// What kind of person a user is.
    UserType {
        /// An individual; must state a profession.
        Employee => "employee",
        /// Someone signing up on behalf of an organization.
        Organization => "organization",
    }
}

/// A person who can sign in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Identity.
    pub id: UserId,
    /// Unique among live users.
    pub email: Email,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// Employee or organization.
    pub user_type: UserType,
    /// Required for employees.
    pub profession: Option<String>,
    /// A picture of the user.
    pub avatar_url: Option<String>,
    /// Inactive users cannot sign in and their sessions stop working.
    pub is_active: bool,
    /// A platform administrator.
    pub is_admin: bool,
    /// When the user proved the email address is theirs.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Set when soft-deleted.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// What it takes to create a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    /// Unique among live users.
    pub email: Email,
    /// Given name.
    pub first_name: PersonName,
    /// Family name.
    pub last_name: PersonName,
    /// Employee or organization.
    pub user_type: UserType,
    /// Required for employees.
    pub profession: Option<PersonName>,
}

/// A sign-up as sent.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = SignUpBody))]
#[serde(rename_all = "camelCase")]
pub struct SignUpRequest {
    /// An email address, unique among live users (compared case-insensitively).
    #[validate(
        required(code = "REQUIRED", message = "email is required"),
        custom(function = "crate::validate::email")
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Email, max_length = 254, required = true, example = "ada@example.com"))]
    pub email: Option<String>,
    /// 8 to 128 characters, any characters.
    #[validate(
        required(code = "REQUIRED", message = "password is required"),
        custom(function = "crate::validate::password")
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 8, max_length = 128, required = true))]
    pub password: Option<String>,
    /// 1 to 100 characters.
    #[validate(
        required(code = "REQUIRED", message = "firstName is required"),
        custom(function = "crate::validate::name")
    )]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::validate::name_schema, required = true, example = "Ada"))]
    pub first_name: Option<String>,
    /// 1 to 100 characters.
    #[validate(
        required(code = "REQUIRED", message = "lastName is required"),
        custom(function = "crate::validate::name")
    )]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::validate::name_schema, required = true, example = "Lovelace"))]
    pub last_name: Option<String>,
    /// `employee` or `organization`.
    #[validate(
        required(code = "REQUIRED", message = "type is required"),
        custom(function = "crate::validate::variant::<UserType>")
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = UserType, inline, required = true, example = "employee"))]
    pub r#type: Option<String>,
    /// Required for employees; 1 to 100 characters.
    #[validate(custom(function = "crate::validate::name"))]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::validate::nullable_name_schema, example = "Engineer"))]
    pub profession: Option<String>,
}

impl TryFrom<SignUpRequest> for SignUp {
    type Error = DomainError;

    fn try_from(body: SignUpRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        let email = v
            .required("email", body.email)
            .and_then(|e| v.check("email", Email::parse(&e)));
        let password = v
            .required("password", body.password)
            .and_then(|p| v.check("password", Password::parse(&p)));
        let first_name = v
            .required("firstName", body.first_name)
            .and_then(|n| v.check("firstName", PersonName::parse(&n)));
        let last_name = v
            .required("lastName", body.last_name)
            .and_then(|n| v.check("lastName", PersonName::parse(&n)));
        let user_type = v
            .required("type", body.r#type)
            .and_then(|t| v.check("type", t.parse::<UserType>()));
        let profession = match body.profession {
            Some(p) => v.check("profession", PersonName::parse(&p)).map(Some),
            None => Some(None),
        };
        if let (Some(user_type), Some(profession)) = (user_type, &profession) {
            v.check(
                "profession",
                check_profession(user_type, profession.as_ref()),
            );
        }
        let (((email, password), (first_name, last_name)), (user_type, profession)) = v.finish(
            email
                .zip(password)
                .zip(first_name.zip(last_name))
                .zip(user_type.zip(profession)),
        )?;
        Ok(Self {
            user: NewUser {
                email,
                first_name,
                last_name,
                user_type,
                profession,
            },
            password,
        })
    }
}

/// A profile change as sent. Absent fields stay as they are.
#[derive(Clone, Debug, Default, serde::Deserialize, validator::Validate)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdateMeBody))]
#[serde(rename_all = "camelCase")]
pub struct UpdateProfileRequest {
    /// 1 to 100 characters; cannot be cleared.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(custom(function = "crate::validate::name"))]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::validate::name_schema, required = false, example = "Ada"))]
    pub first_name: Option<Option<String>>,
    /// 1 to 100 characters; cannot be cleared.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(custom(function = "crate::validate::name"))]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::validate::name_schema, required = false, example = "Lovelace"))]
    pub last_name: Option<Option<String>>,
    /// 1 to 100 characters; `null` clears it, except for employees.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(custom(function = "crate::validate::name"))]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::validate::nullable_name_schema, example = "Engineer"))]
    pub profession: Option<Option<String>>,
    /// An absolute `http`/`https` URL of at most 2048 characters; `null` removes it.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[validate(custom(function = "crate::validate::avatar_url"))]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, max_length = 2048, pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#@]+", example = "https://cdn.example.com/ada.png"))]
    pub avatar_url: Option<Option<String>>,
    /// Read-only: sending it at all is a validation error.
    #[serde(default, deserialize_with = "crate::validate::present")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub email: Option<Option<serde_json::Value>>,
}

impl TryFrom<UpdateProfileRequest> for ProfileChanges {
    type Error = DomainError;

    fn try_from(body: UpdateProfileRequest) -> Result<Self, DomainError> {
        let mut v = Validation::of(&body);
        if body.email.is_some() {
            v.push(FieldError::new(
                "email",
                "READ_ONLY",
                "email cannot be changed here",
            ));
        }
        let mut name = |field: &str, value: Option<Option<String>>| match value {
            None => Some(None),
            Some(value) => v
                .required(field, value)
                .and_then(|n| v.check(field, PersonName::parse(&n)))
                .map(Some),
        };
        let first_name = name("firstName", body.first_name);
        let last_name = name("lastName", body.last_name);
        let profession = match body.profession {
            None => Some(None),
            Some(None) => Some(Some(None)),
            Some(Some(p)) => v
                .check("profession", PersonName::parse(&p))
                .map(|p| Some(Some(p))),
        };
        let avatar_url = match body.avatar_url {
            None => Some(None),
            Some(None) => Some(Some(None)),
            Some(Some(url)) => v
                .check("avatarUrl", AvatarUrl::parse(&url))
                .map(|url| Some(Some(url))),
        };
        let ((first_name, last_name), (profession, avatar_url)) =
            v.finish(first_name.zip(last_name).zip(profession.zip(avatar_url)))?;
        Ok(Self {
            first_name,
            last_name,
            profession,
            avatar_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::id::UserId;

    fn user(user_type: UserType, is_active: bool) -> User {
        let now = Utc::now();
        User {
            id: UserId::new(),
            email: Email::parse("ada@example.com").unwrap(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            user_type,
            profession: Some("Engineer".into()),
            avatar_url: None,
            is_active,
            is_admin: false,
            email_verified_at: None,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        }
    }

    #[test]
    fn employees_need_a_profession() {
        let engineer = PersonName::parse("Engineer").unwrap();
        assert_eq!(
            check_profession(UserType::Employee, None),
            Err(ProfessionError::Required)
        );
        assert!(check_profession(UserType::Employee, Some(&engineer)).is_ok());
        assert!(check_profession(UserType::Organization, None).is_ok());
    }

    #[test]
    fn inactive_users_may_not_sign_in() {
        assert!(ensure_may_sign_in(&user(UserType::Employee, true)).is_ok());
        let err = ensure_may_sign_in(&user(UserType::Employee, false)).unwrap_err();
        assert!(matches!(
            err,
            DomainError::Forbidden {
                code: ACCOUNT_INACTIVE,
                ..
            }
        ));
    }

    #[test]
    fn an_employee_cannot_clear_the_profession() {
        let clear = ProfileChanges {
            profession: Some(None),
            ..ProfileChanges::default()
        };
        let Err(DomainError::Validation(errors)) =
            clear.check_against(&user(UserType::Employee, true))
        else {
            panic!("expected a validation error");
        };
        assert_eq!(
            (errors[0].field.as_str(), errors[0].code),
            ("profession", "REQUIRED")
        );
        assert!(
            clear
                .check_against(&user(UserType::Organization, true))
                .is_ok()
        );
        assert!(ProfileChanges::default().is_empty());
        assert!(!clear.is_empty());
    }
}
