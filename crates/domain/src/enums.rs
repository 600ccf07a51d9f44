//! Closed sets of values, stored as text with a CHECK constraint: the macro that
//! declares one, and the sets that belong to no single resource.

/// A string that names no variant of the enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not one of: {}", allowed.join(", "))]
pub struct UnknownVariant {
    /// The rejected input.
    pub value: String,
    /// The accepted spellings.
    pub allowed: &'static [&'static str],
}

/// Declares a closed set of values stored as text: the enum, its spellings
/// (`ALL`, `as_str`), `FromStr`, `Display` and serde. Exported (hidden) for
/// [`sort_by!`](crate::sort_by).
#[doc(hidden)]
#[macro_export]
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

        impl ::std::str::FromStr for $name {
            type Err = $crate::enums::UnknownVariant;
            fn from_str(s: &str) -> Result<Self, $crate::enums::UnknownVariant> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err($crate::enums::UnknownVariant { value: s.to_owned(), allowed: Self::ALL }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        // The OpenAPI schema of the request fields that take it: a string enum.
        #[cfg(feature = "openapi")]
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                ::utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(::utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::ALL.iter().copied()))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl ::utoipa::ToSchema for $name {}

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                raw.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
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
    use crate::members::MemberRole;
    use crate::waitlist::WaitlistRole;

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
