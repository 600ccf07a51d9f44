//! The named constraints a client can run into, and what each means to it.
//!
//! PostgreSQL reports a violated constraint by name; SQLite reports a unique
//! violation as `table.column` list (or `index 'name'`) and a foreign-key
//! violation with no detail at all. This registry answers both, so a violation is
//! mapped by what the database says, never by guessing.

use domain::error::ConflictKind;

/// A unique index or foreign key the application relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Constraint {
    /// Its name in the schema.
    pub name: &'static str,
    /// Its table.
    pub table: &'static str,
    /// Its columns, in order.
    pub columns: &'static [&'static str],
    /// For a foreign key, the referenced table.
    pub references: Option<&'static str>,
    /// The field a client sent (camelCase).
    pub field: &'static str,
    /// The problem's machine code.
    pub code: &'static str,
    /// Unique or missing reference.
    pub kind: ConflictKind,
}

const fn unique(
    name: &'static str,
    table: &'static str,
    columns: &'static [&'static str],
    field: &'static str,
    code: &'static str,
) -> Constraint {
    Constraint {
        name,
        table,
        columns,
        references: None,
        field,
        code,
        kind: ConflictKind::Unique,
    }
}

const fn foreign(
    name: &'static str,
    table: &'static str,
    column: &'static [&'static str],
    references: &'static str,
    field: &'static str,
    code: &'static str,
) -> Constraint {
    Constraint {
        name,
        table,
        columns: column,
        references: Some(references),
        field,
        code,
        kind: ConflictKind::MissingReference,
    }
}

/// Every constraint with a meaning for clients.
pub const CONSTRAINTS: &[Constraint] = &[
    unique(
        "idx_users_email",
        "users",
        &["email"],
        "email",
        "EMAIL_TAKEN",
    ),
    unique(
        "waitlist_email_idx",
        "waitlist_entries",
        &["email"],
        "email",
        "EMAIL_TAKEN",
    ),
    unique(
        "idx_organizations_slug",
        "organizations",
        &["slug"],
        "slug",
        domain::organizations::SLUG_TAKEN,
    ),
    unique(
        "idx_organization_members_organization_id_user_id",
        "organization_members",
        &["organization_id", "user_id"],
        "userId",
        "ALREADY_MEMBER",
    ),
    unique(
        "idx_accounts_provider_provider_account_id",
        "accounts",
        &["provider", "provider_account_id"],
        "providerAccountId",
        "ACCOUNT_EXISTS",
    ),
    unique(
        "idx_sessions_token_hash",
        "sessions",
        &["token_hash"],
        "token",
        "TOKEN_COLLISION",
    ),
    unique(
        "idx_verification_tokens_token_hash",
        "verification_tokens",
        &["token_hash"],
        "token",
        "TOKEN_COLLISION",
    ),
    unique(
        "idx_invitations_token_hash",
        "invitations",
        &["token_hash"],
        "token",
        "TOKEN_COLLISION",
    ),
    unique(
        "idx_feature_flags_key",
        "feature_flags",
        &["key"],
        "key",
        domain::feature_flags::FLAG_KEY_TAKEN,
    ),
    unique(
        "idx_plans_key",
        "plans",
        &["key"],
        "key",
        domain::plans::PLAN_KEY_TAKEN,
    ),
    unique(
        "idx_plans_provider_price_id",
        "plans",
        &["provider_price_id"],
        "providerPriceId",
        domain::plans::PROVIDER_PRICE_TAKEN,
    ),
    unique(
        "idx_billing_events_provider_event_id",
        "billing_events",
        &["provider", "event_id"],
        "id",
        domain::billing::EVENT_ALREADY_RECEIVED,
    ),
    foreign(
        "fk_accounts_users",
        "accounts",
        &["user_id"],
        "users",
        "userId",
        "USER_NOT_FOUND",
    ),
    foreign(
        "fk_sessions_users",
        "sessions",
        &["user_id"],
        "users",
        "userId",
        "USER_NOT_FOUND",
    ),
    foreign(
        "fk_organization_members_organizations",
        "organization_members",
        &["organization_id"],
        "organizations",
        "organizationId",
        "ORGANIZATION_NOT_FOUND",
    ),
    foreign(
        "fk_organization_members_users",
        "organization_members",
        &["user_id"],
        "users",
        "userId",
        "USER_NOT_FOUND",
    ),
    foreign(
        "fk_invitations_organizations",
        "invitations",
        &["organization_id"],
        "organizations",
        "organizationId",
        "ORGANIZATION_NOT_FOUND",
    ),
    foreign(
        "fk_invitations_users",
        "invitations",
        &["invited_by"],
        "users",
        "invitedBy",
        "USER_NOT_FOUND",
    ),
    unique(
        "idx_github_deliveries_delivery_id",
        "github_deliveries",
        &["delivery_id"],
        "deliveryId",
        domain::github::GITHUB_DELIVERY_SEEN,
    ),
];

/// The constraint with this name.
pub fn by_name(name: &str) -> Option<&'static Constraint> {
    CONSTRAINTS.iter().find(|c| c.name == name)
}

/// The unique constraint on exactly these columns of `table`.
pub fn unique_on(table: &str, columns: &[&str]) -> Option<&'static Constraint> {
    CONSTRAINTS
        .iter()
        .find(|c| c.kind == ConflictKind::Unique && c.table == table && c.columns == columns)
}

/// Parses SQLite's unique-violation message: `UNIQUE constraint failed: t.a, t.b`
/// or `UNIQUE constraint failed: index 'name'`.
pub fn sqlite_unique_target(message: &str) -> Option<&'static Constraint> {
    let detail = message.split_once("UNIQUE constraint failed: ")?.1.trim();
    if let Some(name) = detail
        .strip_prefix("index '")
        .and_then(|d| d.strip_suffix('\''))
    {
        return by_name(name);
    }
    let mut table = None;
    let mut columns = Vec::new();
    for qualified in detail.split(", ") {
        let (t, column) = qualified.split_once('.')?;
        if table.is_some_and(|seen| seen != t) {
            return None;
        }
        table = Some(t);
        columns.push(column);
    }
    unique_on(table?, &columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_messages_name_their_constraint() {
        let c = sqlite_unique_target("UNIQUE constraint failed: users.email").unwrap();
        assert_eq!(c.name, "idx_users_email");
        let c = sqlite_unique_target(
            "UNIQUE constraint failed: organization_members.organization_id, organization_members.user_id",
        )
        .unwrap();
        assert_eq!(c.code, "ALREADY_MEMBER");
        let c = sqlite_unique_target("UNIQUE constraint failed: index 'idx_organizations_slug'")
            .unwrap();
        assert_eq!(c.field, "slug");
        assert!(sqlite_unique_target("UNIQUE constraint failed: users.id").is_none());
        assert!(sqlite_unique_target("something else").is_none());
    }

    #[test]
    fn constraint_names_are_unique() {
        for (i, a) in CONSTRAINTS.iter().enumerate() {
            assert!(
                CONSTRAINTS[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
        }
    }
}
