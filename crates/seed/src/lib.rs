//! A large, realistic dataset for benchmarks (`api seed`): users with password
//! accounts, organizations (one very large), memberships, sessions, API keys and
//! pending invitations, written with multi-row `INSERT`s in one transaction.
//!
//! The rows are deterministic (emails `bench-{n}@seed.example`, slugs
//! `bench-org-{n}`, creation instants one second apart), so a rerun on a fresh
//! database gives the same shape; secrets and IDs' random bits are new each run.
//! What a benchmark needs to address the data (the large organization, a
//! session token of its owner, an API key, sign-in credentials, a cursor deep
//! into its member list) comes back as a [`Manifest`].
//!
//! Every row is its entity's `Model` (`infra::entities`) written out field by
//! field, never with `..Default::default()`: a column added to an entity stops
//! this crate compiling until the seeder says what goes in it, rather than
//! being left out of the `INSERT`s unnoticed.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use domain::auth::{INVITATION_LIFETIME, SESSION_LIFETIME};
use domain::{Cursor, DomainError, MemberId, MemberRole, OrganizationId, Password, UserId};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, Iterable, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;
use uuid::Uuid;

use infra::db_error::to_domain;
use infra::entities::{
    accounts, api_keys, invitations, organization_members, organizations, sessions, users,
};
use infra::repositories::accounts::CREDENTIAL_PROVIDER;
use infra::repositories::listing::{SortValue, cursor_after, timestamp_key};
use infra::security::{IssuedApiKey, hash_token, issue_api_key, issue_token};
use infra::{Database, PasswordHasher, Settings};

/// How much to seed. The defaults are the benchmark's dataset.
#[derive(Clone, Debug)]
pub struct SeedPlan {
    /// Users, each with a credential account (all share one password).
    pub users: u64,
    /// Organizations; the first one is the large one.
    pub organizations: u64,
    /// Members of the large organization.
    pub large_organization_members: u64,
    /// Memberships in total (each user belongs to at most one organization).
    pub memberships: u64,
    /// Sessions, spread round-robin over the users (at least one, for the
    /// manifest's token).
    pub sessions: u64,
    /// API keys, spread round-robin over the organizations (at least one, for
    /// the manifest's key).
    pub api_keys: u64,
    /// Pending invitations, spread round-robin over the organizations.
    pub invitations: u64,
    /// Rows per `INSERT` (capped so a statement stays under the engines'
    /// bind-parameter limits).
    pub batch_rows: usize,
    /// How deep into the large organization's member list (newest first) the
    /// manifest's cursor points.
    pub deep_rows: u64,
    /// Every seeded user's password.
    pub password: String,
}

impl Default for SeedPlan {
    fn default() -> Self {
        Self {
            users: 100_000,
            organizations: 1_000,
            large_organization_members: 50_000,
            memberships: 100_000,
            sessions: 100_000,
            api_keys: 2_000,
            invitations: 10_000,
            batch_rows: 1_000,
            deep_rows: 40_000,
            password: "bench-password".to_owned(),
        }
    }
}

impl SeedPlan {
    /// Why the sizes cannot be seeded, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        let rule = |ok: bool, problem: &str| if ok { Ok(()) } else { Err(problem.to_owned()) };
        rule(self.users >= 1, "--users must be at least 1")?;
        rule(
            self.organizations >= 1,
            "--organizations must be at least 1",
        )?;
        rule(
            self.large_organization_members >= 1,
            "--large-org-members must be at least 1 (its owner)",
        )?;
        rule(
            self.large_organization_members <= self.memberships,
            "--large-org-members must not exceed --memberships",
        )?;
        rule(
            self.memberships <= self.users,
            "--memberships must not exceed --users (a user joins one organization)",
        )?;
        rule(
            self.organizations >= 2 || self.memberships == self.large_organization_members,
            "memberships beyond the large organization need a second organization",
        )?;
        rule(
            self.deep_rows < self.large_organization_members,
            "--deep-rows must be below --large-org-members",
        )?;
        rule(
            self.deep_rows >= DEEP_PAGE_SIZE && self.deep_rows.is_multiple_of(DEEP_PAGE_SIZE),
            "--deep-rows must be a positive multiple of 10 (the page size)",
        )?;
        rule(self.batch_rows >= 1, "--batch-rows must be at least 1")?;
        Password::parse(&self.password)
            .map(|_| ())
            .map_err(|e| format!("--password: {e}"))
    }

    fn small_organizations(&self) -> u64 {
        self.organizations.saturating_sub(1).max(1)
    }

    /// The organization (index) of membership `m` and whether it is its first.
    fn membership(&self, m: u64) -> (u64, bool) {
        if m < self.large_organization_members {
            (0, m == 0)
        } else {
            let rest = m - self.large_organization_members;
            let small = self.small_organizations();
            (1 + rest % small, rest < small)
        }
    }
}

/// The page size the manifest's deep position assumes (the API's default).
const DEEP_PAGE_SIZE: u64 = 10;

/// The seeded email of user `n`.
pub fn user_email(n: u64) -> String {
    format!("bench-{n}@seed.example")
}

/// Rows written to one table, and how long it took.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableTiming {
    /// The table.
    pub table: &'static str,
    /// Rows inserted.
    pub rows: u64,
    /// Wall time of its inserts, in seconds.
    pub seconds: f64,
}

impl TableTiming {
    /// Rows per second.
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.seconds.max(f64::EPSILON)
    }
}

/// What [`seed`] did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Seeded {
    /// Per table, in insertion order.
    pub tables: Vec<TableTiming>,
    /// Wall time of everything, hashing, commit and `ANALYZE` included.
    pub seconds: f64,
    /// How to address the data.
    pub manifest: Manifest,
}

impl Seeded {
    /// Rows in every table.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// How a benchmark addresses the seeded data. Public IDs as the API shows them,
/// raw values (`sql`) for SQL-level benchmarks and plan checks.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// The large organization (`org_...`).
    pub organization_id: String,
    /// Its live members.
    pub organization_members: u64,
    /// A session bearer token of its owner.
    pub session_token: String,
    /// An admin API key of the large organization.
    pub api_key: String,
    /// Every user's email is `emailPattern` with `{n}` in `0..users`.
    pub email_pattern: String,
    /// How many users there are.
    pub users: u64,
    /// Every user's password.
    pub password: String,
    /// A member list position `deepRows` rows into the large organization
    /// (default order: `createdAt` descending, `pageSize` 10).
    pub deep: DeepPosition,
    /// Raw keys for SQL.
    pub sql: SqlValues,
}

/// A position deep into the large organization's member list.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeepPosition {
    /// Rows before it.
    pub rows: u64,
    /// The `cursor` that starts after `rows` rows.
    pub cursor: String,
    /// The `page` that starts after `rows` rows at `pageSize`.
    pub page: u64,
    /// The page size both assume.
    pub page_size: u64,
}

/// The same keys as stored, for SQL.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SqlValues {
    /// `organizations.id` of the large organization.
    pub organization_id: Uuid,
    /// `users.id` of its owner (the session's user).
    pub user_id: Uuid,
    /// `sessions.token_hash` of the session.
    pub token_hash: String,
    /// `api_keys.prefix` of the key.
    pub api_key_prefix: String,
    /// The deep position's last `created_at` (RFC 3339).
    pub cursor_created_at: String,
    /// The deep position's last `organization_members.id`.
    pub cursor_member_id: Uuid,
    /// A user's email (user 0).
    pub email: String,
}

/// Connects with `settings` and seeds `plan` at `now`. Refused in production
/// and on a database that already has users; `Err` carries a readable message.
pub async fn run(settings: &Settings, plan: &SeedPlan) -> Result<Seeded, String> {
    if settings.is_production() {
        return Err("`api seed` writes bulk test data and is refused in production".to_owned());
    }
    plan.check()?;
    let db = Database::connect(&settings.database)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let hasher = PasswordHasher::new(&settings.auth).map_err(|e| e.to_string())?;
    let seeded = seed(&db, &hasher, plan, Utc::now())
        .await
        .map_err(|e| format!("seeding failed: {e}"));
    let _ = db.close().await;
    seeded
}

/// Seeds `plan` into `db` in one unit of work (all or nothing), then refreshes
/// the planner's statistics.
pub async fn seed(
    db: &Database,
    hasher: &PasswordHasher,
    plan: &SeedPlan,
    now: DateTime<Utc>,
) -> Result<Seeded, DomainError> {
    let started = Instant::now();
    let existing = users::Entity::find()
        .count(db.conn())
        .await
        .map_err(to_domain)?;
    if existing > 0 {
        return Err(DomainError::Internal(format!(
            "the database already has {existing} users: seed a fresh one"
        )));
    }
    let password = Password::parse(&plan.password)
        .map_err(|e| DomainError::Internal(format!("password: {e}")))?;
    // One argon2id hash shared by every account: seeding stays fast and signing
    // in still verifies a real hash at the configured cost.
    let password_hash = hasher.hash(password).await?;
    let mut seeder = Seeder::new(plan, now);

    let uow = db.begin().await?;
    let conn = uow.conn();
    let mut tables = Vec::new();
    tables.push(seeder.users(conn).await?);
    tables.push(seeder.accounts(conn, &password_hash).await?);
    tables.push(seeder.organizations(conn).await?);
    tables.push(seeder.members(conn).await?);
    let (timing, session_token) = seeder.sessions(conn).await?;
    tables.push(timing);
    let (timing, api_key) = seeder.api_keys(conn).await?;
    tables.push(timing);
    tables.push(seeder.invitations(conn).await?);
    let deep = seeder.deep_position(conn).await?;
    uow.commit().await?;

    // Fresh statistics, so the planner sees the data as a long-running
    // database would (autovacuum would get there later by itself).
    db.conn()
        .execute_unprepared("ANALYZE")
        .await
        .map_err(to_domain)?;

    let organization = seeder.organization_ids[0];
    let manifest = Manifest {
        organization_id: OrganizationId::from(organization).to_string(),
        organization_members: plan.large_organization_members,
        session_token: session_token.clone(),
        api_key: api_key.key,
        email_pattern: user_email(0).replacen('0', "{n}", 1),
        users: plan.users,
        password: plan.password.clone(),
        deep: deep.position,
        sql: SqlValues {
            organization_id: organization,
            user_id: seeder.user_ids[0],
            token_hash: hash_token(&session_token),
            api_key_prefix: api_key.lookup,
            cursor_created_at: timestamp_key(deep.created_at),
            cursor_member_id: deep.member_id,
            email: user_email(0),
        },
    };
    Ok(Seeded {
        tables,
        seconds: started.elapsed().as_secs_f64(),
        manifest,
    })
}

/// Deterministic pseudo-random bits (SplitMix64) for the IDs' random part.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A ULID (as stored) whose time part is `at`, like the IDs the API makes.
    fn ulid_at(&mut self, at: DateTime<Utc>) -> Uuid {
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or_default();
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
        bytes[6..14].copy_from_slice(&self.next().to_be_bytes());
        bytes[14..].copy_from_slice(&self.next().to_be_bytes()[..2]);
        Uuid::from_bytes(bytes)
    }
}

const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Dennis",
    "Radia",
    "Tim",
    "Hedy",
    "Linus",
    "Katherine",
    "John",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Torvalds",
    "Johnson",
    "McCarthy",
];

struct DeepRow {
    position: DeepPosition,
    created_at: DateTime<Utc>,
    member_id: Uuid,
}

/// Writes the tables in dependency order, remembering the IDs later tables
/// refer to.
struct Seeder<'p> {
    plan: &'p SeedPlan,
    now: DateTime<Utc>,
    /// Rows are created one second apart from here (30 days ago).
    epoch: DateTime<Utc>,
    bits: SplitMix,
    user_ids: Vec<Uuid>,
    organization_ids: Vec<Uuid>,
    /// Each organization's owner (its first member).
    owners: Vec<Uuid>,
}

impl<'p> Seeder<'p> {
    fn new(plan: &'p SeedPlan, now: DateTime<Utc>) -> Self {
        let now = whole_millis(now);
        Self {
            plan,
            now,
            epoch: now - TimeDelta::days(30),
            bits: SplitMix(0x6772_6f75_6e64_776b),
            user_ids: Vec::new(),
            organization_ids: Vec::new(),
            owners: Vec::new(),
        }
    }

    fn at(&self, n: u64) -> DateTime<Utc> {
        self.epoch + TimeDelta::seconds(i64::try_from(n).unwrap_or(i64::MAX / 2_000))
    }

    async fn users<C: ConnectionTrait>(&mut self, conn: &C) -> Result<TableTiming, DomainError> {
        let mut rows = Vec::new();
        for n in 0..self.plan.users {
            let at = self.at(n);
            let id = self.bits.ulid_at(at);
            self.user_ids.push(id);
            let index = usize::try_from(n).unwrap_or_default();
            let employee = n % 4 != 3;
            rows.push(users::Model {
                id,
                email: user_email(n),
                first_name: FIRST_NAMES[index % FIRST_NAMES.len()].to_owned(),
                last_name: LAST_NAMES[(index / FIRST_NAMES.len()) % LAST_NAMES.len()].to_owned(),
                user_type: if employee { "employee" } else { "organization" }.to_owned(),
                profession: employee.then(|| "Engineer".to_owned()),
                avatar_url: None,
                is_active: true,
                is_admin: false,
                email_verified_at: Some(at),
                created_at: at,
                updated_at: at,
                deleted_at: None,
            });
        }
        insert::<_, users::Entity>(conn, rows, self.plan.batch_rows).await
    }

    async fn accounts<C: ConnectionTrait>(
        &mut self,
        conn: &C,
        password_hash: &str,
    ) -> Result<TableTiming, DomainError> {
        let mut rows = Vec::new();
        for (n, user) in (0u64..).zip(self.user_ids.clone()) {
            let at = self.at(n);
            rows.push(accounts::Model {
                id: self.bits.ulid_at(at),
                user_id: user,
                provider: CREDENTIAL_PROVIDER.to_owned(),
                provider_account_id: UserId::from(user).to_string(),
                password_hash: Some(password_hash.to_owned()),
                created_at: at,
                updated_at: at,
            });
        }
        insert::<_, accounts::Entity>(conn, rows, self.plan.batch_rows).await
    }

    async fn organizations<C: ConnectionTrait>(
        &mut self,
        conn: &C,
    ) -> Result<TableTiming, DomainError> {
        let plans = ["free", "pro", "enterprise"];
        let mut rows = Vec::new();
        for n in 0..self.plan.organizations {
            let at = self.at(n);
            let id = self.bits.ulid_at(at);
            self.organization_ids.push(id);
            let plan = if n == 0 {
                "enterprise"
            } else {
                plans[usize::try_from(n).unwrap_or_default() % plans.len()]
            };
            rows.push(organizations::Model {
                id,
                name: format!("Bench Organization {n}"),
                slug: format!("bench-org-{n}"),
                plan: plan.to_owned(),
                created_at: at,
                updated_at: at,
                deleted_at: None,
            });
        }
        let timing = insert::<_, organizations::Entity>(conn, rows, self.plan.batch_rows).await?;
        // Each organization's subscription (its ID the organization's, as the
        // migration backfills them), in one statement.
        conn.execute_unprepared(
            "INSERT INTO subscriptions (id, organization_id, plan_id, status, created_at, updated_at) \
             SELECT o.id, o.id, p.id, 'active', o.created_at, o.created_at \
             FROM organizations o JOIN plans p ON p.key = o.plan \
             WHERE NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.organization_id = o.id)",
        )
        .await
        .map_err(to_domain)?;
        Ok(timing)
    }

    /// Membership `m` is user `m`'s: the first `large_organization_members`
    /// join the large organization, the rest the others in turn. Each
    /// organization's first member owns it; one in fifty is an admin.
    async fn members<C: ConnectionTrait>(&mut self, conn: &C) -> Result<TableTiming, DomainError> {
        self.owners = vec![Uuid::nil(); self.organization_ids.len()];
        let mut rows = Vec::new();
        for m in 0..self.plan.memberships {
            let (organization, first) = self.plan.membership(m);
            let organization = usize::try_from(organization).unwrap_or_default();
            let user = self.user_ids[usize::try_from(m).unwrap_or_default()];
            let role = if first {
                self.owners[organization] = user;
                MemberRole::Owner
            } else if m % 50 == 0 {
                MemberRole::Admin
            } else {
                MemberRole::Member
            };
            let at = self.at(m);
            rows.push(organization_members::Model {
                id: self.bits.ulid_at(at),
                organization_id: self.organization_ids[organization],
                user_id: user,
                role: role.as_str().to_owned(),
                created_at: at,
                updated_at: at,
                deleted_at: None,
            });
        }
        // An organization no membership reached is owned by the first user, so
        // its keys and invitations have a creator.
        for owner in &mut self.owners {
            if owner.is_nil() {
                *owner = self.user_ids[0];
            }
        }
        insert::<_, organization_members::Entity>(conn, rows, self.plan.batch_rows).await
    }

    /// Session `s` belongs to user `s mod users`; session 0's token (user 0, the
    /// large organization's owner) is returned. Every session was refreshed
    /// just now, so using one writes nothing for a day.
    async fn sessions<C: ConnectionTrait>(
        &mut self,
        conn: &C,
    ) -> Result<(TableTiming, String), DomainError> {
        let mut first_token = String::new();
        let mut rows = Vec::new();
        let users = self.user_ids.len();
        // At least one: the manifest hands the benchmark session 0's token.
        for s in 0..self.plan.sessions.max(1) {
            let token = issue_token()?;
            if s == 0 {
                first_token = token.token;
            }
            let user = self.user_ids[usize::try_from(s).unwrap_or_default() % users];
            rows.push(sessions::Model {
                id: self.bits.ulid_at(self.now),
                user_id: user,
                token_hash: token.hash,
                expires_at: self.now + SESSION_LIFETIME,
                last_refreshed_at: self.now,
                ip: Some("127.0.0.1".to_owned()),
                user_agent: Some("groundwork-seed".to_owned()),
                revoked_at: None,
                created_at: self.now,
                updated_at: self.now,
            });
        }
        let timing = insert::<_, sessions::Entity>(conn, rows, self.plan.batch_rows).await?;
        Ok((timing, first_token))
    }

    /// Key `k` belongs to organization `k mod organizations`, made by its
    /// owner; key 0 (the large organization's, an admin key) is returned.
    async fn api_keys<C: ConnectionTrait>(
        &mut self,
        conn: &C,
    ) -> Result<(TableTiming, IssuedApiKey), DomainError> {
        let mut first = None;
        let mut rows = Vec::new();
        let organizations = self.organization_ids.len();
        for k in 0..self.plan.api_keys.max(1) {
            let key = issue_api_key()?;
            let organization = usize::try_from(k).unwrap_or_default() % organizations;
            let at = self.at(k);
            rows.push(api_keys::Model {
                id: self.bits.ulid_at(at),
                organization_id: self.organization_ids[organization],
                created_by: self.owners[organization],
                name: format!("bench key {k}"),
                role: if k % 2 == 0 { "admin" } else { "member" }.to_owned(),
                prefix: key.lookup.clone(),
                secret_hash: key.secret_hash.clone(),
                last_used_at: None,
                expires_at: None,
                revoked_at: None,
                created_at: at,
                updated_at: at,
            });
            if k == 0 {
                first = Some(key);
            }
        }
        let key = first.ok_or_else(|| DomainError::Internal("no API key issued".into()))?;
        let timing = insert::<_, api_keys::Entity>(conn, rows, self.plan.batch_rows).await?;
        Ok((timing, key))
    }

    /// Invitation `i` is pending in organization `i mod organizations`.
    async fn invitations<C: ConnectionTrait>(
        &mut self,
        conn: &C,
    ) -> Result<TableTiming, DomainError> {
        let mut rows = Vec::new();
        let organizations = self.organization_ids.len();
        for i in 0..self.plan.invitations {
            let organization = usize::try_from(i).unwrap_or_default() % organizations;
            let at = self.now - TimeDelta::seconds(i64::try_from(i).unwrap_or_default() % 86_400);
            rows.push(invitations::Model {
                id: self.bits.ulid_at(at),
                organization_id: self.organization_ids[organization],
                email: format!("invitee-{i}@seed.example"),
                role: MemberRole::Member.as_str().to_owned(),
                token_hash: issue_token()?.hash,
                invited_by: self.owners[organization],
                expires_at: at + INVITATION_LIFETIME,
                accepted_at: None,
                revoked_at: None,
                created_at: at,
                updated_at: at,
                deleted_at: None,
            });
        }
        insert::<_, invitations::Entity>(conn, rows, self.plan.batch_rows).await
    }

    /// The large organization's member `deep_rows` rows into its list (newest
    /// first), read back so the cursor matches what the API would hand out.
    async fn deep_position<C: ConnectionTrait>(&self, conn: &C) -> Result<DeepRow, DomainError> {
        use organization_members::Column as C_;
        let (member_id, created_at) = organization_members::Entity::find()
            .select_only()
            .column(C_::Id)
            .column(C_::CreatedAt)
            .filter(C_::OrganizationId.eq(self.organization_ids[0]))
            .filter(C_::DeletedAt.is_null())
            .order_by_desc(C_::CreatedAt)
            .order_by_desc(C_::Id)
            .offset(self.plan.deep_rows - 1)
            .limit(1)
            .into_tuple::<(Uuid, DateTime<Utc>)>()
            .one(conn)
            .await
            .map_err(to_domain)?
            .ok_or_else(|| DomainError::Internal("the large organization is too small".into()))?;
        let request = domain::PageRequest {
            page_size: DEEP_PAGE_SIZE,
            sort_by: domain::members::MemberSort::CreatedAt,
            direction: domain::SortDirection::Desc,
            search: None,
            position: domain::PagePosition::Number(1),
        };
        let cursor: Cursor = cursor_after(
            &request,
            SortValue::At(created_at),
            MemberId::from(member_id).to_string(),
        );
        Ok(DeepRow {
            position: DeepPosition {
                rows: self.plan.deep_rows,
                cursor: cursor.encode(),
                page: self.plan.deep_rows / DEEP_PAGE_SIZE + 1,
                page_size: DEEP_PAGE_SIZE,
            },
            created_at,
            member_id,
        })
    }
}

/// `at` without its sub-millisecond part (ULIDs keep milliseconds; PostgreSQL
/// microseconds), so stored and remembered instants agree.
fn whole_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at)
}

/// Bind parameters one `INSERT` may carry here: PostgreSQL allows 65,535,
/// SQLite 32,766.
const MAX_BIND_PARAMETERS: usize = 30_000;

/// Inserts `rows` into `E`'s table with multi-row `INSERT`s of at most
/// `batch_rows` rows (fewer when its columns would pass
/// [`MAX_BIND_PARAMETERS`]). Every column of the entity is written: each
/// row is a whole `Model`, so none is left to a default by omission.
async fn insert<C, E>(
    conn: &C,
    rows: Vec<E::Model>,
    batch_rows: usize,
) -> Result<TableTiming, DomainError>
where
    C: ConnectionTrait,
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel>,
{
    let name = E::default().table_name();
    let started = Instant::now();
    let per_statement = rows_per_statement(batch_rows, E::Column::iter().count());
    let count = rows.len();
    let mut rows = rows.into_iter();
    loop {
        let chunk: Vec<E::ActiveModel> = rows
            .by_ref()
            .take(per_statement)
            .map(IntoActiveModel::into_active_model)
            .collect();
        if chunk.is_empty() {
            break;
        }
        E::insert_many(chunk)
            .exec_without_returning(conn)
            .await
            .map_err(to_domain)?;
    }
    Ok(TableTiming {
        table: name,
        rows: u64::try_from(count).unwrap_or_default(),
        seconds: elapsed(started),
    })
}

/// Rows in one `INSERT` of `columns` columns: `batch_rows`, fewer if that
/// would pass [`MAX_BIND_PARAMETERS`], at least one.
fn rows_per_statement(batch_rows: usize, columns: usize) -> usize {
    batch_rows.min(MAX_BIND_PARAMETERS / columns.max(1)).max(1)
}

fn elapsed(started: Instant) -> f64 {
    let elapsed: Duration = started.elapsed();
    elapsed.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use domain::{PageRequest, RawPageRequest};
    use migration::sea_orm_migration::MigratorTrait;

    use super::*;
    use app::sessions::authenticate;
    use infra::config::{AuthSettings, DatabaseSettings};
    use infra::repositories::MemberRepository;

    async fn migrated_sqlite() -> Database {
        let db = Database::connect(&DatabaseSettings {
            url: "sqlite::memory:".to_owned(),
            // One connection: each in-memory connection is its own database.
            max_connections: 1,
            min_connections: 1,
            connect_timeout_secs: 5,
            acquire_timeout_secs: 5,
            idle_timeout_secs: 30,
            auto_migrate: false,
            log_statements: false,
            plan_cache_mode: Default::default(),
        })
        .await
        .unwrap();
        migration::Migrator::up(db.pool(), None).await.unwrap();
        db
    }

    fn members_page(raw: RawPageRequest) -> PageRequest<domain::members::MemberSort> {
        PageRequest::parse(&raw).unwrap()
    }

    #[tokio::test]
    async fn a_small_seed_is_addressable_through_its_manifest() {
        // Arrange
        let db = migrated_sqlite().await;
        let hasher = PasswordHasher::new(&AuthSettings {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            argon2_parallelism: 1,
            ..AuthSettings::default()
        })
        .unwrap();
        let plan = SeedPlan {
            users: 60,
            organizations: 4,
            large_organization_members: 30,
            memberships: 45,
            sessions: 70,
            api_keys: 5,
            invitations: 8,
            batch_rows: 7,
            deep_rows: 20,
            ..SeedPlan::default()
        };
        let now = Utc::now();

        // Act
        let seeded = seed(&db, &hasher, &plan, now).await.unwrap();

        // Assert: every row, in every table.
        let rows: Vec<(&str, u64)> = seeded.tables.iter().map(|t| (t.table, t.rows)).collect();
        assert_eq!(
            rows,
            vec![
                ("users", 60),
                ("accounts", 60),
                ("organizations", 4),
                ("organization_members", 45),
                ("sessions", 70),
                ("api_keys", 5),
                ("invitations", 8),
            ]
        );
        let manifest = &seeded.manifest;
        // The token is a live session of the large organization's owner.
        let caller = authenticate(&db, &manifest.session_token, now, &Default::default())
            .await
            .unwrap();
        assert_eq!(caller.user.id, UserId::from(manifest.sql.user_id));
        let organization = OrganizationId::parse(&manifest.organization_id).unwrap();
        // The cursor and the page number land on the same row, `deep_rows` in.
        let members = MemberRepository::at(db.conn(), now);
        let by_cursor = members
            .list(
                organization,
                &members_page(RawPageRequest {
                    cursor: Some(manifest.deep.cursor.clone()),
                    ..RawPageRequest::default()
                }),
            )
            .await
            .unwrap();
        let by_page = members
            .list(
                organization,
                &members_page(RawPageRequest {
                    page: Some(manifest.deep.page.to_string()),
                    ..RawPageRequest::default()
                }),
            )
            .await
            .unwrap();
        assert_eq!(by_cursor.items.len(), 10);
        assert_eq!(by_cursor.items, by_page.items);
        let first = members
            .list(organization, &members_page(RawPageRequest::default()))
            .await
            .unwrap();
        assert_eq!(first.items[0].user.email.as_str(), user_email(29));
        // Everyone signs in with the one password.
        let stored = infra::repositories::accounts::AccountRepository::at(db.conn(), now)
            .credential_password_hash(UserId::from(manifest.sql.user_id))
            .await
            .unwrap();
        let password = Password::parse(&manifest.password).unwrap();
        assert!(hasher.verify(password, stored).await.unwrap());
        // A second seed would collide with the first: refused up front.
        let again = seed(&db, &hasher, &plan, now).await.unwrap_err();
        assert!(
            again.to_string().contains("already has 60 users"),
            "{again}"
        );
    }

    #[test]
    fn the_default_plan_is_the_benchmarks_dataset_and_valid() {
        let plan = SeedPlan::default();
        assert_eq!(plan.check(), Ok(()));
        assert_eq!(
            (
                plan.users,
                plan.organizations,
                plan.large_organization_members
            ),
            (100_000, 1_000, 50_000)
        );
        assert_eq!(plan.memberships, 100_000);
    }

    #[test]
    fn memberships_fill_the_large_organization_then_the_others_in_turn() {
        let plan = SeedPlan {
            users: 10,
            organizations: 3,
            large_organization_members: 4,
            memberships: 9,
            deep_rows: 10,
            ..SeedPlan::default()
        };
        let layout: Vec<(u64, bool)> = (0..9).map(|m| plan.membership(m)).collect();
        assert_eq!(
            layout,
            vec![
                (0, true),
                (0, false),
                (0, false),
                (0, false),
                (1, true),
                (2, true),
                (1, false),
                (2, false),
                (1, false),
            ]
        );
    }

    #[test]
    fn impossible_sizes_are_refused_with_the_flag_named() {
        let too_many = SeedPlan {
            memberships: 200_000,
            ..SeedPlan::default()
        };
        assert!(too_many.check().unwrap_err().contains("--memberships"));
        let too_deep = SeedPlan {
            deep_rows: 50_000,
            ..SeedPlan::default()
        };
        assert!(too_deep.check().unwrap_err().contains("--deep-rows"));
    }

    #[test]
    fn a_statement_stays_under_the_bind_parameter_limit() {
        // 13 columns (users today): 1,000 rows fit, 100,000 are cut to 2,307.
        assert_eq!(rows_per_statement(1_000, 13), 1_000);
        assert_eq!(rows_per_statement(100_000, 13), 2_307);
        assert_eq!(rows_per_statement(0, 13), 1);
        for columns in 1..=100 {
            assert!(rows_per_statement(usize::MAX, columns) * columns <= MAX_BIND_PARAMETERS);
        }
    }

    #[test]
    fn seeded_ids_carry_their_creation_millisecond() {
        let at = DateTime::parse_from_rfc3339("2024-05-06T07:08:09.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = SplitMix(1).ulid_at(at);
        let ulid_millis = u64::from_be_bytes([
            0,
            0,
            id.as_bytes()[0],
            id.as_bytes()[1],
            id.as_bytes()[2],
            id.as_bytes()[3],
            id.as_bytes()[4],
            id.as_bytes()[5],
        ]);
        assert_eq!(ulid_millis, u64::try_from(at.timestamp_millis()).unwrap());
    }
}
