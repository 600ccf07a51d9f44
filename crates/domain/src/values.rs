//! Validated values: built by a fallible `parse`, read through `AsRef<str>` / `Display`.

mod email;
mod name;
mod password;
mod slug;

pub use email::{Email, EmailError};
pub use name::{NameError, PersonName};
pub use password::{Password, PasswordError};
pub use slug::{Slug, SlugError};

/// Declares the read-only accessors every string value shares.
macro_rules! string_value {
    ($name:ident) => {
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl $name {
            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value as an owned string.
            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}
pub(crate) use string_value;
