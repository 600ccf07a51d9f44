//! The real application, bound to a free port, over a fresh database.
//!
//! ```text
//! let app = spawn_app(backend).await;
//! let res = app.post_json("/v1/waitlist", &json!({"email": "a@b.co", "role": "employee"})).await;
//! assert_eq!(res.status, 201);
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use api::Application;
use awc::http::Method;
use domain::{Email, NewUser, PersonName, ShiftedClock, UserType};
use infra::repositories::{ClientInfo, SessionRepository, UserRepository};
use infra::resolver::{Resolver, SystemResolver};
use infra::security::issue_token;
use infra::{Database, Settings};
use serde_json::{Value, json};

use crate::db::{Backend, TestDb};

/// The workspace's `config/` directory.
pub fn config_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../config"))
}

/// The key ring every test application gets unless its overrides configure
/// `[secrets]` themselves: an explicit key, so that no test generates one
/// into the repository's `data/`.
pub const TEST_SECRETS_KEY: (&str, &str) = (
    "APP__SECRETS__KEYS__TEST",
    "dGVzdC1vbmx5LWtleS1mb3ItZW5kcG9pbnQtc2VjcnQ=",
);

/// Settings as the test environment (`APP_ENV=test`) loads them, for `database_url`,
/// with `overrides` as extra environment variables (`APP__SERVER__...`); with
/// [`TEST_SECRETS_KEY`] unless an override names an `APP__SECRETS__` setting.
pub fn test_settings(database_url: &str, overrides: &[(&str, &str)]) -> Settings {
    let mut env = BTreeMap::from([
        ("APP_ENV".to_owned(), "test".to_owned()),
        ("DATABASE_URL".to_owned(), database_url.to_owned()),
        ("APP__DATABASE__AUTO_MIGRATE".to_owned(), "false".to_owned()),
    ]);
    if !overrides
        .iter()
        .any(|(k, _)| k.starts_with("APP__SECRETS__"))
    {
        env.insert(TEST_SECRETS_KEY.0.to_owned(), TEST_SECRETS_KEY.1.to_owned());
    }
    env.extend(
        overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Settings::load_from(&config_dir(), &env).unwrap_or_else(|e| panic!("test settings: {e}"))
}

/// A running application and its database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The application's pool, for arranging and checking rows directly.
    pub database: Database,
    /// The application's clock: `clock.advance(TimeDelta::days(8))` moves "now".
    pub clock: Arc<ShiftedClock>,
    /// The application's own metrics: `metrics.snapshot(&app.database, now)`
    /// takes a snapshot at the moment a test chooses.
    pub metrics: api::metrics::Metrics,
    handle: ServerHandle,
    client: awc::Client,
    /// Kept so the database lives as long as the app; `None` when the caller owns it.
    _db: Option<TestDb>,
    url: String,
}

/// A response, read whole.
#[derive(Debug)]
pub struct TestResponse {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`.
    pub content_type: String,
    /// Response headers (lower-case names).
    pub headers: BTreeMap<String, String>,
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub body: Value,
    /// The body as text.
    pub text: String,
}

impl TestResponse {
    /// The problem's machine `code`, if the body is a problem document.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    /// The `field`s of a 422's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Starts the application over a fresh migrated database on `backend`.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Like [`spawn_app`], with extra settings (`("APP__SERVER__JSON_BODY_LIMIT_BYTES", "100")`).
/// [`spawn_app`], with the caps of the `free` plan set as `caps` (column
/// name, value) in its row: see [`TestApp::set_plan_caps`].
pub async fn spawn_app_with_free_plan(backend: Backend, caps: &[(&str, i64)]) -> TestApp {
    let app = spawn_app(backend).await;
    app.set_plan_caps("free", caps).await;
    app
}

pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    let db = TestDb::migrated(backend).await;
    let mut app = spawn_app_on(db.url(), overrides).await;
    app._db = Some(db);
    app
}

/// Starts the application over an existing database URL (already migrated).
pub async fn spawn_app_on(database_url: &str, overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_resolving_on(database_url, overrides, Arc::new(SystemResolver)).await
}

/// Like [`spawn_app_with`], resolving webhook hosts through `resolver` (a
/// [`infra::resolver::StaticResolver`] maps names to chosen addresses).
pub async fn spawn_app_resolving(
    backend: Backend,
    overrides: &[(&str, &str)],
    resolver: Arc<dyn Resolver>,
) -> TestApp {
    let db = TestDb::migrated(backend).await;
    let mut app = spawn_app_resolving_on(db.url(), overrides, resolver).await;
    app._db = Some(db);
    app
}

/// Like [`spawn_app_on`], resolving webhook hosts through `resolver`.
pub async fn spawn_app_resolving_on(
    database_url: &str,
    overrides: &[(&str, &str)],
    resolver: Arc<dyn Resolver>,
) -> TestApp {
    let settings = test_settings(database_url, overrides);
    let database = Database::connect(&settings.database)
        .await
        .unwrap_or_else(|e| panic!("cannot connect the application: {e}"));
    let clock = Arc::new(ShiftedClock::default());
    let app = Application::with_resolver(&settings, database.clone(), clock.clone(), resolver)
        .unwrap_or_else(|e| panic!("cannot build the application: {e}"));
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let metrics = app.metrics();
    actix_web::rt::spawn(app.run_until_stopped());
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .disable_redirects()
        .finish();
    TestApp {
        address,
        database,
        clock,
        metrics,
        handle,
        client,
        _db: None,
        url: database_url.to_owned(),
    }
}

impl TestApp {
    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> TestResponse {
        self.post_raw(
            path,
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await
    }

    /// `POST path` with these bytes and this `Content-Type` (none when `None`).
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> TestResponse {
        let mut req = self.client.post(format!("{}{path}", self.address));
        if let Some(ct) = content_type {
            req = req.insert_header(("content-type", ct));
        }
        read(req.send_body(body).await).await
    }

    /// `POST path` with a JSON body by a client that gives up after `patience`
    /// and closes its connection: `None` when it gave up.
    pub async fn post_json_giving_up(
        &self,
        path: &str,
        body: &Value,
        patience: Duration,
    ) -> Option<TestResponse> {
        let sent = self
            .client
            .post(format!("{}{path}", self.address))
            .timeout(patience)
            .send_json(body)
            .await;
        match sent {
            Err(awc::error::SendRequestError::Timeout) => None,
            other => Some(read(other).await),
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        read(
            self.client
                .get(format!("{}{path}", self.address))
                .send()
                .await,
        )
        .await
    }

    /// The URL of the application's database.
    pub fn database_url(&self) -> String {
        self.url.clone()
    }

    /// `method path` with an optional bearer token and an optional JSON body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> TestResponse {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            req = req.insert_header(("authorization", format!("Bearer {token}")));
        }
        match body {
            Some(body) => read(req.send_json(body).await).await,
            None => read(req.send().await).await,
        }
    }

    /// `method path` with these headers and, when given, this body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address));
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        match body {
            Some(body) => read(req.send_body(body).await).await,
            None => read(req.send().await).await,
        }
    }

    /// `GET path` as the holder of `token`.
    pub async fn get_as(&self, path: &str, token: &str) -> TestResponse {
        self.request(Method::GET, path, Some(token), None).await
    }

    /// `POST path` with a JSON body as the holder of `token`.
    pub async fn post_as(&self, path: &str, token: &str, body: &Value) -> TestResponse {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    /// `PATCH path` with a JSON body as the holder of `token`.
    pub async fn patch_as(&self, path: &str, token: &str, body: &Value) -> TestResponse {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// `DELETE path` as the holder of `token`.
    pub async fn delete_as(&self, path: &str, token: &str) -> TestResponse {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// Signs up an employee with `email` (password `correct horse battery`) and
    /// returns the session token and the user's ID. Panics unless it is a 201.
    pub async fn sign_up(&self, email: &str) -> SignedUp {
        let res = self
            .post_json(
                "/v1/auth/sign-up",
                &json!({
                    "email": email,
                    "password": SignedUp::PASSWORD,
                    "firstName": "Test",
                    "lastName": email.split('@').next().unwrap_or("User"),
                    "type": "employee",
                    "profession": "Engineer",
                }),
            )
            .await;
        assert_eq!(res.status, 201, "sign-up of {email}: {}", res.text);
        SignedUp {
            token: res.body["token"].as_str().unwrap_or_default().to_owned(),
            user_id: res.body["user"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    /// Arranges a live, active employee with `email` and a session directly in the
    /// database (no HTTP, no password account): for tests about something else.
    pub async fn create_user(&self, email: &str) -> SignedUp {
        let now = domain::Clock::now(self.clock.as_ref());
        let conn = self.database.conn();
        let user = UserRepository::at(conn, now)
            .insert(NewUser {
                email: Email::parse(email).unwrap_or_else(|e| panic!("{email}: {e}")),
                first_name: PersonName::parse("Test").unwrap(),
                last_name: PersonName::parse(email.split('@').next().unwrap_or("User")).unwrap(),
                user_type: UserType::Employee,
                profession: Some(PersonName::parse("Engineer").unwrap()),
            })
            .await
            .unwrap_or_else(|e| panic!("creating {email}: {e}"));
        let token = issue_token().unwrap();
        SessionRepository::at(conn, now)
            .create(
                user.id,
                token.hash,
                ClientInfo::default(),
                &domain::auth::SessionPolicy::default(),
            )
            .await
            .unwrap_or_else(|e| panic!("session for {email}: {e}"));
        SignedUp {
            token: token.token,
            user_id: user.id.to_string(),
        }
    }

    /// Stops the server gracefully: no new connections, in-flight requests finish.
    pub fn stop(&self) -> impl std::future::Future<Output = ()> + use<> {
        self.handle.stop(true)
    }

    /// The `host:port` the server listens on.
    pub fn socket_address(&self) -> &str {
        self.address.trim_start_matches("http://")
    }
}

/// A user made by [`TestApp::sign_up`].
#[derive(Clone, Debug)]
pub struct SignedUp {
    /// The session's bearer token.
    pub token: String,
    /// `usr_...`.
    pub user_id: String,
}

impl SignedUp {
    /// The password every test user signs up with.
    pub const PASSWORD: &'static str = "correct horse battery";
}

async fn read<S>(res: Result<awc::ClientResponse<S>, awc::error::SendRequestError>) -> TestResponse
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, awc::error::PayloadError>> + Unpin,
{
    let mut res = res.unwrap_or_else(|e| panic!("request failed: {e}"));
    let status = res.status().as_u16();
    let headers: BTreeMap<String, String> = res
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let content_type = headers.get("content-type").cloned().unwrap_or_default();
    let bytes = res
        .body()
        .limit(16 * 1024 * 1024)
        .await
        .unwrap_or_else(|e| panic!("cannot read the body: {e}"));
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    TestResponse {
        status,
        content_type,
        headers,
        body,
        text,
    }
}

/// Tenancy arrangements for the organization, member and invitation tests.
impl TestApp {
    /// Like [`TestApp::create_user`], with the given first and last names.
    pub async fn create_user_named(&self, email: &str, first: &str, last: &str) -> SignedUp {
        let signed_up = self.create_user(email).await;
        let now = domain::Clock::now(self.clock.as_ref());
        let id = domain::UserId::parse(&signed_up.user_id).unwrap();
        use sea_orm::{ActiveModelTrait, Set};
        infra::entities::users::ActiveModel {
            id: Set(id.as_uuid()),
            first_name: Set(first.to_owned()),
            last_name: Set(last.to_owned()),
            updated_at: Set(now),
            ..Default::default()
        }
        .update(self.database.conn())
        .await
        .unwrap_or_else(|e| panic!("naming {email}: {e}"));
        signed_up
    }

    /// Makes the live user with `email` a platform admin, as the operator's
    /// `api admin promote <email>` does. Panics unless it succeeds.
    pub async fn promote_to_platform_admin(&self, email: &str) {
        let settings = test_settings(&self.url, &[]);
        api::commands::set_platform_admin(&settings, email, true)
            .await
            .unwrap_or_else(|e| panic!("promoting {email}: {e}"));
    }

    /// Creates an organization over HTTP as the holder of `token` and returns its
    /// `org_...` ID. Panics unless it is a 201.
    pub async fn create_organization(&self, token: &str, name: &str) -> String {
        let res = self
            .post_as("/v1/organizations", token, &json!({ "name": name }))
            .await;
        assert_eq!(res.status, 201, "creating {name}: {}", res.text);
        res.body["id"].as_str().unwrap_or_default().to_owned()
    }

    /// Makes `user_id` a member of `org_id` with `role` directly in the database
    /// and returns the `mem_...` ID.
    pub async fn add_member(
        &self,
        org_id: &str,
        user_id: &str,
        role: domain::MemberRole,
    ) -> String {
        let now = domain::Clock::now(self.clock.as_ref());
        infra::repositories::MemberRepository::at(self.database.conn(), now)
            .insert(domain::NewMember {
                organization_id: domain::OrganizationId::parse(org_id).unwrap(),
                user_id: domain::UserId::parse(user_id).unwrap(),
                role,
            })
            .await
            .unwrap_or_else(|e| panic!("adding {user_id} to {org_id}: {e}"))
            .id
            .to_string()
    }

    /// Sets caps of plan `key` directly in its row (`caps`: column name,
    /// value), as a platform admin's `PATCH /v1/admin/plans/{key}` would: what
    /// tests that need a small or roomy plan use. Panics unless the plan exists.
    pub async fn set_plan_caps(&self, key: &str, caps: &[(&str, i64)]) {
        use sea_orm::ConnectionTrait;
        use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
        let mut update = Query::update();
        update
            .table(Alias::new("plans"))
            .and_where(Expr::col(Alias::new("key")).eq(key));
        for (column, value) in caps {
            update.value(Alias::new(*column), *value);
        }
        let conn = self.database.conn();
        let result = conn
            .execute(&update)
            .await
            .unwrap_or_else(|e| panic!("setting the caps of {key}: {e}"));
        assert_eq!(result.rows_affected(), 1, "no plan {key}");
    }

    /// Creates an API key over HTTP as the holder of `token` in `org_id` with
    /// `role` (`admin` or `member`) and returns its `key_...` ID and whole key.
    /// Panics unless it is a 201.
    pub async fn create_api_key(&self, token: &str, org_id: &str, role: &str) -> (String, String) {
        let res = self
            .post_as(
                &format!("/v1/organizations/{org_id}/api-keys"),
                token,
                &json!({ "name": format!("{role} key"), "role": role }),
            )
            .await;
        assert_eq!(res.status, 201, "creating a {role} key: {}", res.text);
        (
            res.body["id"].as_str().unwrap_or_default().to_owned(),
            res.body["key"].as_str().unwrap_or_default().to_owned(),
        )
    }
}
