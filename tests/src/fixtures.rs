//! Domain values the tests build again and again.

use domain::{Email, NewUser, PersonName, UserType};

/// Ada Lovelace, an employee engineer, at `email`.
///
/// # Panics
/// When `email` is not a valid address.
pub fn new_user(email: &str) -> NewUser {
    NewUser {
        email: Email::parse(email).unwrap(),
        first_name: PersonName::parse("Ada").unwrap(),
        last_name: PersonName::parse("Lovelace").unwrap(),
        user_type: UserType::Employee,
        profession: Some(PersonName::parse("Engineer").unwrap()),
    }
}
