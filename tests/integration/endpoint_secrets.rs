//! Endpoint secrets at rest: never in a response, an audit row, a log line or
//! `Debug` output; bound to their row (a copied ciphertext does not open);
//! readable across a key rotation; moved to the primary key by the rewrap; and
//! the server does not start in production without keys.

use std::collections::BTreeMap;
use std::sync::Arc;

use domain::endpoints::{CreateEndpointRequest, UrlPolicy};
use domain::{EndpointId, OrganizationId, ShiftedClock};
use groundwork_tests::app::{
    TEST_SECRETS_KEY, TestApp, TestResponse, spawn_app, spawn_app_on, spawn_app_with, test_settings,
};
use groundwork_tests::{Backend, TestDb, logs, on_both_databases};
use infra::Database;
use infra::repositories::EndpointRepository;
use infra::security::secrets::{Keyring, SecretError};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "HxwdHhsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=";
const ONLY_A: &[(&str, &str)] = &[("APP__SECRETS__KEYS__A", KEY_A)];
const A_AND_B: &[(&str, &str)] = &[
    ("APP__SECRETS__KEYS__A", KEY_A),
    ("APP__SECRETS__KEYS__B", KEY_B),
    ("APP__SECRETS__PRIMARY", "b"),
];
const ONLY_B: &[(&str, &str)] = &[("APP__SECRETS__KEYS__B", KEY_B)];

/// A secret no other test uses, long enough for a hint.
fn fresh_secret(label: &str) -> String {
    format!("sk_{label}_{}", ulid::Ulid::new())
}

/// The key ring an application on `app`'s database with `overrides` uses.
fn keyring(app: &TestApp, overrides: &[(&str, &str)]) -> Keyring {
    Keyring::from_settings(
        &test_settings(&app.database_url(), overrides).secrets,
        false,
    )
    .unwrap()
}

async fn owner_and_org(app: &TestApp, email: &str) -> (String, String) {
    let owner = app.create_user(email).await;
    let org = app.create_organization(&owner.token, "Acme").await;
    (owner.token, org)
}

/// Creates an endpoint with `secret` (if any) and returns its ID.
async fn endpoint_with(app: &TestApp, token: &str, org: &str, secret: Option<&str>) -> String {
    let mut body = json!({"name": "Hook", "url": "https://example.com/hook"});
    if let Some(secret) = secret {
        body["secret"] = json!(secret);
    }
    let res = app
        .post_as(&format!("/v1/organizations/{org}/endpoints"), token, &body)
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["id"].as_str().unwrap().to_owned()
}

/// `sql` with PostgreSQL's `$n` placeholders, as `backend` spells them.
fn statement(backend: DbBackend, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => sql.to_owned(),
        _ => sql.replace("$1", "?").replace("$2", "?"),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn uuid(id: &str) -> sea_orm::Value {
    EndpointId::parse(id).unwrap().as_uuid().into()
}

/// The raw `secret_ciphertext` of endpoint `id`.
async fn stored(app: &TestApp, id: &str) -> Option<String> {
    let conn = app.database.conn();
    conn.query_one_raw(statement(
        conn.get_database_backend(),
        "SELECT secret_ciphertext AS s FROM endpoints WHERE id = $1",
        vec![uuid(id)],
    ))
    .await
    .unwrap()
    .expect("the endpoint's row")
    .try_get::<Option<String>>("", "s")
    .unwrap()
}

/// Every audit row as text (action, entity and changes).
async fn audit_rows(app: &TestApp) -> Vec<String> {
    let conn = app.database.conn();
    conn.query_all_raw(Statement::from_string(
        conn.get_database_backend(),
        "SELECT action, entity_id, CAST(changes AS TEXT) AS c FROM audit_logs ORDER BY id",
    ))
    .await
    .unwrap()
    .into_iter()
    .map(|row| {
        let action: String = row.try_get("", "action").unwrap();
        let entity: Option<String> = row.try_get("", "entity_id").unwrap();
        let changes: Option<String> = row.try_get("", "c").unwrap();
        format!(
            "{action} {} {}",
            entity.unwrap_or_default(),
            changes.unwrap_or_default()
        )
    })
    .collect()
}

async fn the_secret_is_in_no_response_audit_row_log_line_or_debug_output(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app, "ada@example.com").await;
    let (first, second) = (fresh_secret("first"), fresh_secret("second"));
    let secret_lines = logs::watch(&[&first, &second]);
    let request_lines = logs::watch(&[&org]);
    let base = format!("/v1/organizations/{org}/endpoints");
    let mut responses: Vec<TestResponse> = Vec::new();

    // Act: every route, and refusals that carry the secret too.
    let created = app
        .post_as(
            &base,
            &token,
            &json!({"name": "Hook", "url": "https://e.com/x", "secret": first}),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let item = format!("{base}/{id}");
    responses.push(created);
    responses.push(
        app.post_as(
            &base,
            &token,
            &json!({"name": " ", "url": "https://e.com", "secret": first}),
        )
        .await,
    );
    responses.push(
        app.post_as(
            &base,
            &token,
            &json!({"name": "x", "headers": "h", "secret": first}),
        )
        .await,
    );
    responses.push(app.get_as(&item, &token).await);
    responses.push(app.get_as(&base, &token).await);
    responses.push(
        app.patch_as(&item, &token, &json!({"secret": second}))
            .await,
    );
    responses.push(
        app.patch_as(&item, &token, &json!({"name": "Renamed"}))
            .await,
    );
    responses.push(
        app.patch_as(&item, &token, &json!({"secret": second.repeat(200)}))
            .await,
    );
    responses.push(app.get_as(&item, &token).await);
    responses.push(
        app.get_as(&format!("/v1/organizations/{org}/audit-logs"), &token)
            .await,
    );

    // Assert: responses
    assert_eq!(
        responses.iter().map(|r| r.status).collect::<Vec<_>>(),
        [201, 422, 422, 200, 200, 200, 200, 422, 200, 200]
    );
    for res in &responses {
        for secret in [&first, &second] {
            assert!(
                !res.text.contains(secret.as_str()),
                "a response: {}",
                res.text
            );
        }
    }
    assert_eq!(responses[8].body["hasSecret"], true);
    assert_eq!(
        responses[8].body["secretHint"].as_str(),
        Some(&second[second.len() - 4..])
    );

    // Assert: the stored column and the audit rows, read raw.
    let column = stored(&app, &id).await.expect("a stored secret");
    assert!(column.starts_with("v1:test:"), "{column}");
    assert!(!column.contains(&second) && !column.contains(&first));
    let rows = audit_rows(&app).await;
    for row in &rows {
        assert!(!row.contains(&first) && !row.contains(&second), "{row}");
    }
    let endpoint_rows: Vec<&String> = rows.iter().filter(|r| r.contains(&id)).collect();
    assert_eq!(endpoint_rows.len(), 3, "{rows:#?}");
    let changes =
        |row: &str| -> Value { serde_json::from_str(row.splitn(3, ' ').nth(2).unwrap()).unwrap() };
    assert_eq!(
        changes(endpoint_rows[0])["secret"],
        json!([null, "[redacted]"])
    );
    assert_eq!(
        changes(endpoint_rows[1])["secret"],
        json!(["[redacted]", "[redacted]"])
    );

    // Assert: Debug of every type the secret passes through.
    let conn = app.database.conn();
    let now = chrono::Utc::now();
    let organization = OrganizationId::parse(&org).unwrap();
    let endpoint_id = EndpointId::parse(&id).unwrap();
    let keys = keyring(&app, &[]);
    let stored_endpoint = EndpointRepository::at(conn, now)
        .find(organization, endpoint_id)
        .await
        .unwrap();
    let revealed = app::endpoints::reveal_many(conn, &keys, now, organization, &[endpoint_id])
        .await
        .unwrap();
    let secret = revealed[0].secret.as_ref().unwrap().as_ref().unwrap();
    assert_eq!(secret.expose(), second, "the secret itself opens");
    let request: CreateEndpointRequest =
        serde_json::from_value(json!({"name": "Hook", "url": "https://e.com", "secret": second}))
            .unwrap();
    let draft = request.clone().into_draft(UrlPolicy::HttpsOnly).unwrap();
    let settings = test_settings(&app.database_url(), &[]);
    for shown in [
        format!("{stored_endpoint:?}"),
        format!("{revealed:?}"),
        format!("{secret:?} {secret}"),
        format!("{request:?}"),
        format!("{draft:#?}"),
        format!("{keys:?}"),
        format!("{settings:?}"),
    ] {
        assert!(!shown.contains(&second), "Debug shows the secret: {shown}");
        assert!(
            !shown.contains(TEST_SECRETS_KEY.1),
            "Debug shows a key: {shown}"
        );
    }

    // Assert: the log saw the requests, and never a secret.
    assert!(
        !request_lines.lines().is_empty(),
        "the log capture saw none of the requests: it proves nothing"
    );
    assert_eq!(secret_lines.lines(), Vec::<String>::new());
}

async fn a_ciphertext_copied_to_another_row_does_not_decrypt(backend: Backend) {
    // Arrange: two endpoints of one organization and one of another.
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app, "ada@example.com").await;
    let (other_token, other_org) = owner_and_org(&app, "grace@example.com").await;
    let (one, two) = (fresh_secret("one"), fresh_secret("two"));
    let first = endpoint_with(&app, &token, &org, Some(&one)).await;
    let second = endpoint_with(&app, &token, &org, Some(&two)).await;
    let foreign = endpoint_with(&app, &other_token, &other_org, Some(&fresh_secret("x"))).await;
    let log = logs::watch(&[&second]);

    // Act: the first's ciphertext into the second's row and the foreign one.
    let conn = app.database.conn();
    for target in [&second, &foreign] {
        conn.execute_raw(statement(
            conn.get_database_backend(),
            "UPDATE endpoints SET secret_ciphertext = \
             (SELECT secret_ciphertext FROM endpoints WHERE id = $1) WHERE id = $2",
            vec![uuid(&first), uuid(target)],
        ))
        .await
        .unwrap();
    }
    let keys = keyring(&app, &[]);
    let now = chrono::Utc::now();
    let ours = OrganizationId::parse(&org).unwrap();
    let ids: Vec<EndpointId> = [&first, &second, &foreign]
        .iter()
        .map(|id| EndpointId::parse(id).unwrap())
        .collect();
    let revealed = app::endpoints::reveal_many(conn, &keys, now, ours, &ids)
        .await
        .unwrap();
    let theirs = app::endpoints::reveal_many(
        conn,
        &keys,
        now,
        OrganizationId::parse(&other_org).unwrap(),
        &ids[2..],
    )
    .await
    .unwrap();

    // Assert: only the first opens; the foreign one is not even ours to load.
    let by_id: BTreeMap<String, &Result<_, SecretError>> = revealed
        .iter()
        .map(|r| (r.endpoint.id.to_string(), &r.secret))
        .collect();
    assert_eq!(by_id.len(), 2, "another organization's endpoint came back");
    let opened = by_id[&first].as_ref().unwrap().as_ref().unwrap();
    assert_eq!(opened.expose(), one);
    let undecryptable = SecretError::Undecryptable {
        key_id: "test".into(),
    };
    assert_eq!(by_id[&second].as_ref().unwrap_err(), &undecryptable);
    assert_eq!(theirs[0].secret.as_ref().unwrap_err(), &undecryptable);
    let logged = log.lines();
    assert!(
        logged.iter().any(|l| l.contains("does not decrypt")),
        "the failure is logged: {logged:#?}"
    );
    assert!(
        logged
            .iter()
            .all(|l| !l.contains(&one) && !l.contains(&two))
    );
    // Clients never see a 500 for it: the API does not decrypt.
    let item = format!("/v1/organizations/{org}/endpoints/{second}");
    let read = app.get_as(&item, &token).await;
    assert_eq!((read.status, &read.body["hasSecret"]), (200, &json!(true)));
    let renamed = app
        .patch_as(&item, &token, &json!({"name": "Still fine"}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    // The rewrap leaves both where they are and says under which key.
    let rotated = Keyring::new(
        "b",
        [("test".to_owned(), test_key()), ("b".to_owned(), [1u8; 32])],
    )
    .unwrap();
    let report = app::endpoints::rewrap_secrets(&app.database, &rotated, now, 10)
        .await
        .unwrap();
    assert_eq!(report.moved, 1);
    assert_eq!(report.remaining, BTreeMap::from([("test".to_owned(), 2)]));
    assert!(stored(&app, &first).await.unwrap().starts_with("v1:b:"));
    assert!(stored(&app, &second).await.unwrap().starts_with("v1:test:"));
}

/// The bytes of the test suite's key ([`TEST_SECRETS_KEY`]).
fn test_key() -> [u8; 32] {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(TEST_SECRETS_KEY.1)
        .unwrap()
        .try_into()
        .unwrap()
}

async fn a_rotated_key_keeps_reading_until_the_rewrap_moves_every_secret(backend: Backend) {
    // Arrange: secrets written under key a.
    let before = spawn_app_with(backend, ONLY_A).await;
    let (token, org) = owner_and_org(&before, "ada@example.com").await;
    let (one, two, four) = (
        fresh_secret("one"),
        fresh_secret("two"),
        fresh_secret("four"),
    );
    let first = endpoint_with(&before, &token, &org, Some(&one)).await;
    let second = endpoint_with(&before, &token, &org, Some(&two)).await;
    let bare = endpoint_with(&before, &token, &org, None).await;
    for id in [&first, &second] {
        assert!(stored(&before, id).await.unwrap().starts_with("v1:a:"));
    }

    // Act: b becomes the primary, a stays.
    let url = before.database_url();
    let after = spawn_app_on(&url, A_AND_B).await;
    let read = after
        .get_as(
            &format!("/v1/organizations/{org}/endpoints/{first}"),
            &token,
        )
        .await;
    let fourth = endpoint_with(&after, &token, &org, Some(&four)).await;

    // Assert: old secrets still read and open; new ones are under b.
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["hasSecret"], true);
    assert_eq!(
        read.body["secretHint"].as_str(),
        Some(&one[one.len() - 4..])
    );
    assert!(stored(&after, &fourth).await.unwrap().starts_with("v1:b:"));
    let organization = OrganizationId::parse(&org).unwrap();
    let ids: Vec<EndpointId> = [&first, &second, &bare, &fourth]
        .iter()
        .map(|id| EndpointId::parse(id).unwrap())
        .collect();
    let now = chrono::Utc::now();
    let secrets =
        |revealed: Vec<app::endpoints::RevealedEndpoint>| -> BTreeMap<String, Option<String>> {
            revealed
                .into_iter()
                .map(|r| {
                    let secret = r.secret.expect("it opens").map(|s| s.expose().to_owned());
                    (r.endpoint.id.to_string(), secret)
                })
                .collect()
        };
    let expected = BTreeMap::from([
        (first.clone(), Some(one.clone())),
        (second.clone(), Some(two.clone())),
        (bare.clone(), None),
        (fourth.clone(), Some(four.clone())),
    ]);
    let both = keyring(&after, A_AND_B);
    let conn = after.database.conn();
    let revealed = app::endpoints::reveal_many(conn, &both, now, organization, &ids)
        .await
        .unwrap();
    assert_eq!(secrets(revealed), expected);
    // Without a, the old ones would not open: why a stays until the rewrap.
    let only_b = keyring(&after, ONLY_B);
    let early = app::endpoints::reveal_many(conn, &only_b, now, organization, &ids[..1])
        .await
        .unwrap();
    assert!(matches!(
        early[0].secret,
        Err(SecretError::UnknownKey { .. })
    ));

    // Act: the rewrap, one row per batch, twice.
    let rewrapped = app::endpoints::rewrap_secrets(&after.database, &both, now, 1)
        .await
        .unwrap();
    let again = app::endpoints::rewrap_secrets(&after.database, &both, now, 1)
        .await
        .unwrap();
    let (lines, done) = api::commands::rewrap_secrets(&test_settings(&url, A_AND_B), 1)
        .await
        .unwrap();

    // Assert: every secret moved to b; the second run moves nothing.
    assert_eq!((rewrapped.moved, rewrapped.remaining.len()), (2, 0));
    assert_eq!(rewrapped.primary, "b");
    assert_eq!((again.moved, again.remaining.len()), (0, 0));
    assert!(done, "{lines:?}");
    assert_eq!(
        lines,
        [
            "moved 0 endpoint secret(s) to key `b`",
            "remaining under other keys: none"
        ]
    );
    for id in [&first, &second, &fourth] {
        let column = stored(&after, id).await.unwrap();
        assert!(column.starts_with("v1:b:"), "{column}");
    }
    assert_eq!(stored(&after, &bare).await, None);

    // Assert: a can go now; everything still opens and serves.
    let revealed = app::endpoints::reveal_many(conn, &only_b, now, organization, &ids)
        .await
        .unwrap();
    assert_eq!(secrets(revealed), expected);
    let without_a = spawn_app_on(&url, ONLY_B).await;
    let renamed = without_a
        .patch_as(
            &format!("/v1/organizations/{org}/endpoints/{first}"),
            &token,
            &json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["hasSecret"], true);
}

async fn the_server_refuses_to_start_in_production_without_keys(backend: Backend) {
    // Arrange
    let db = TestDb::migrated(backend).await;
    let scratch = std::env::temp_dir().join(format!("groundwork-keys-{}", ulid::Ulid::new()));
    let key_file = scratch.join("secrets.key");
    let key_file_setting = key_file.to_string_lossy().into_owned();
    let production = test_settings(
        db.url(),
        &[
            ("APP_ENV", "production"),
            ("APP__SERVER__HOST", "127.0.0.1"),
            ("APP__SERVER__PORT", "0"),
            ("APP__OUTBOX__WORKER", "false"),
            ("APP__SECRETS__GENERATED_KEY_FILE", &key_file_setting),
        ],
    );
    let development = test_settings(
        db.url(),
        &[("APP__SECRETS__GENERATED_KEY_FILE", &key_file_setting)],
    );
    let start = |settings: &infra::Settings| {
        let settings = settings.clone();
        async move {
            let database = Database::connect(&settings.database).await.unwrap();
            api::Application::with_clock(&settings, database, Arc::new(ShiftedClock::default()))
        }
    };

    // Act
    let refused = start(&production).await;
    let key_after_refusal = key_file.exists();
    let started = start(&development).await;

    // Assert: production names what to set; development generates a key, once.
    let err = match refused {
        Ok(_) => panic!("production started without keys"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("secrets.keys") && err.contains("production"),
        "{err}"
    );
    assert!(!key_after_refusal, "production generated a key");
    assert!(started.is_ok(), "development starts without keys");
    let generated = std::fs::read_to_string(&key_file).unwrap();
    let restarted = Keyring::from_settings(&development.secrets, false).unwrap();
    assert_eq!(restarted.primary_id(), "local");
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap(),
        generated,
        "reused"
    );
    let _ = std::fs::remove_dir_all(scratch);
}

on_both_databases!(
    the_secret_is_in_no_response_audit_row_log_line_or_debug_output,
    a_ciphertext_copied_to_another_row_does_not_decrypt,
    a_rotated_key_keeps_reading_until_the_rewrap_moves_every_secret,
    the_server_refuses_to_start_in_production_without_keys,
);
