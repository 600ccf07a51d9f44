//! Closed sets of values, stored as text with a CHECK constraint.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A string that names no variant of the enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not one of: {}", allowed.join(", "))]
pub struct UnknownVariant {
    /// The rejected input.
    pub value: String,
    /// The accepted spellings.
    pub allowed: &'static [&'static str],
}

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every spelling, in declaration order.
            pub const ALL: &'static [&'static str] = &[$($text),+];

            /// The stored and serialized spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;
            fn from_str(s: &str) -> Result<Self, UnknownVariant> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(UnknownVariant { value: s.to_owned(), allowed: Self::ALL }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use text_enum;

text_enum! {
    /// What kind of person a user is.
    UserType {
        /// An individual; must state a profession.
        Employee => "employee",
        /// Someone signing up on behalf of an organization.
        Organization => "organization",
    }
}

text_enum! {
    /// A member's role in an organization, from most to least powerful.
    MemberRole {
        /// Full control, including deletion; an organization keeps at least one.
        Owner => "owner",
        /// Manages members, invitations, keys and settings.
        Admin => "admin",
        /// Uses the organization's resources.
        Member => "member",
    }
}

impl MemberRole {
    /// Whether this role may do what `required` may.
    pub fn at_least(self, required: MemberRole) -> bool {
        self.rank() >= required.rank()
    }

    fn rank(self) -> u8 {
        match self {
            Self::Owner => 2,
            Self::Admin => 1,
            Self::Member => 0,
        }
    }
}

text_enum! {
    /// An organization's subscription plan; `free` unless given.
    #[derive(Default)]
    Plan {
        /// The default plan.
        #[default]
        Free => "free",
        /// The paid plan.
        Pro => "pro",
        /// The contract plan.
        Enterprise => "enterprise",
    }
}

text_enum! {
    /// What a waitlist sign-up is interested as.
    WaitlistRole {
        /// An individual.
        Employee => "employee",
        /// An organization.
        Organization => "organization",
    }
}

text_enum! {
    /// What a verification token proves.
    VerificationPurpose {
        /// Ownership of the email address.
        EmailVerification => "email_verification",
        /// The right to set a new password.
        PasswordReset => "password_reset",
    }
}

text_enum! {
    /// What an outbox message asks to be delivered.
    OutboxKind {
        /// An email to send.
        Email => "email",
        /// A webhook to call.
        Webhook => "webhook",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_their_spelling() {
        for text in MemberRole::ALL {
            assert_eq!(text.parse::<MemberRole>().unwrap().as_str(), *text);
        }
        assert_eq!(
            "password_reset".parse::<VerificationPurpose>(),
            Ok(VerificationPurpose::PasswordReset)
        );
    }

    #[test]
    fn an_unknown_spelling_lists_the_allowed_ones() {
        let err = "Employee".parse::<WaitlistRole>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "`Employee` is not one of: employee, organization"
        );
    }

    #[test]
    fn roles_are_ordered() {
        assert!(MemberRole::Owner.at_least(MemberRole::Admin));
        assert!(MemberRole::Admin.at_least(MemberRole::Admin));
        assert!(!MemberRole::Member.at_least(MemberRole::Admin));
    }
}
