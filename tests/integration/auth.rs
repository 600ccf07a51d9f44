//! `/v1/auth/...`: sign-up, sign-in, sign-out, email verification, password reset.
//! Also the row-level helpers the `me` and `sessions` tests share. The
//! per-address rate limits are in `auth/rate_limits.rs`.

mod rate_limits;

use chrono::{DateTime, TimeDelta, Utc};
use domain::{Clock, UserId};
use futures_util::future::join_all;
use groundwork_tests::Backend;
use groundwork_tests::app::{SignedUp, TestApp, spawn_app};
use groundwork_tests::on_both_databases;
use infra::entities::{accounts, outbox_messages, sessions, users, verification_tokens};
use infra::repositories::UserRepository;
use infra::security::hash_token;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

// ---- shared helpers (also used by `me` and `sessions`) ----

/// The application's "now".
pub(crate) fn now(app: &TestApp) -> DateTime<Utc> {
    app.clock.now()
}

/// A sign-up body for an employee with `email`.
pub(crate) fn sign_up_body(email: &str) -> Value {
    json!({
        "email": email,
        "password": SignedUp::PASSWORD,
        "firstName": "Ada",
        "lastName": "Lovelace",
        "type": "employee",
        "profession": "Engineer",
    })
}

/// Signs in with `email` and `password`.
pub(crate) async fn sign_in(
    app: &TestApp,
    email: &str,
    password: &str,
) -> groundwork_tests::app::TestResponse {
    app.post_json(
        "/v1/auth/sign-in",
        &json!({"email": email, "password": password}),
    )
    .await
}

/// The typed ID of a `usr_...` string.
pub(crate) fn user_id(signed_up: &SignedUp) -> UserId {
    UserId::parse(&signed_up.user_id).expect("a user ID")
}

/// The session row of a bearer token.
pub(crate) async fn session_row(app: &TestApp, token: &str) -> sessions::Model {
    sessions::Entity::find()
        .filter(sessions::Column::TokenHash.eq(hash_token(token)))
        .one(app.database.conn())
        .await
        .expect("reading sessions")
        .expect("a session for the token")
}

/// The user row with this ID, deleted or not.
pub(crate) async fn user_row(app: &TestApp, id: UserId) -> users::Model {
    users::Entity::find_by_id(id.as_uuid())
        .one(app.database.conn())
        .await
        .expect("reading users")
        .expect("a user row")
}

/// Sets `is_active` of a user directly in the database (as an admin would).
pub(crate) async fn set_active(app: &TestApp, id: UserId, active: bool) {
    users::Entity::update_many()
        .col_expr(users::Column::IsActive, Expr::value(active))
        .filter(users::Column::Id.eq(id.as_uuid()))
        .exec(app.database.conn())
        .await
        .expect("updating is_active");
}

/// Soft-deletes a user directly in the database.
pub(crate) async fn soft_delete_user(app: &TestApp, id: UserId) {
    UserRepository::at(app.database.conn(), now(app))
        .soft_delete(id)
        .await
        .expect("soft-deleting the user");
}

/// Every outbox row, oldest first.
pub(crate) async fn outbox(app: &TestApp) -> Vec<outbox_messages::Model> {
    outbox_messages::Entity::find()
        .order_by_asc(outbox_messages::Column::CreatedAt)
        .order_by_asc(outbox_messages::Column::Id)
        .all(app.database.conn())
        .await
        .expect("reading the outbox")
}

/// The plain token of the latest outbox email with `template` to `email`.
pub(crate) async fn emailed_token(app: &TestApp, email: &str, template: &str) -> String {
    outbox(app)
        .await
        .into_iter()
        .rev()
        .find(|m| m.payload["to"] == email && m.payload["template"] == template)
        .and_then(|m| m.payload["data"]["token"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no {template} email to {email}"))
}

/// Every verification token row.
pub(crate) async fn verification_tokens(app: &TestApp) -> Vec<verification_tokens::Model> {
    verification_tokens::Entity::find()
        .all(app.database.conn())
        .await
        .expect("reading verification tokens")
}

fn close_to(actual: &Value, expected: DateTime<Utc>) -> bool {
    actual
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| (t.with_timezone(&Utc) - expected).abs() < TimeDelta::seconds(30))
}

// ---- sign-up ----

async fn sign_up_creates_the_user_account_session_token_and_email_together(backend: Backend) {
    let app = spawn_app(backend).await;

    let res = app
        .post_json("/v1/auth/sign-up", &sign_up_body("  Ada@Example.COM "))
        .await;

    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(
        res.headers.get("location").map(String::as_str),
        Some("/v1/me")
    );
    let user = &res.body["user"];
    assert!(user["id"].as_str().is_some_and(|id| id.starts_with("usr_")));
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["firstName"], "Ada");
    assert_eq!(user["lastName"], "Lovelace");
    assert_eq!(user["type"], "employee");
    assert_eq!(user["profession"], "Engineer");
    assert_eq!(user["emailVerifiedAt"], Value::Null);
    assert!(user.get("passwordHash").is_none() && user.get("isAdmin").is_none());
    assert!(close_to(
        &res.body["expiresAt"],
        now(&app) + TimeDelta::days(7)
    ));
    let token = res.body["token"].as_str().expect("a token");
    assert!(token.len() >= 32);

    let conn = app.database.conn();
    let id = UserId::parse(user["id"].as_str().unwrap()).unwrap();
    let session = session_row(&app, token).await;
    assert_eq!(session.user_id, id.as_uuid());
    assert_ne!(session.token_hash, token);
    let account = accounts::Entity::find()
        .filter(accounts::Column::UserId.eq(id.as_uuid()))
        .one(conn)
        .await
        .unwrap()
        .expect("a credential account");
    assert_eq!(account.provider, "credential");
    assert_eq!(account.provider_account_id, id.to_string());
    let hash = account.password_hash.expect("a password hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(SignedUp::PASSWORD));

    let [email] = &outbox(&app).await[..] else {
        panic!("expected one outbox row");
    };
    assert_eq!(email.kind, "email");
    assert_eq!(email.payload["to"], "ada@example.com");
    assert_eq!(email.payload["template"], "email_verification");
    assert_eq!(email.payload["data"]["firstName"], "Ada");
    let plain = email.payload["data"]["token"].as_str().expect("a token");
    let [stored] = &verification_tokens(&app).await[..] else {
        panic!("expected one verification token");
    };
    assert_eq!(stored.identifier, "ada@example.com");
    assert_eq!(stored.purpose, "email_verification");
    assert_eq!(stored.token_hash, hash_token(plain));
    assert_ne!(stored.token_hash, plain);
    assert_eq!(stored.consumed_at, None);
    let lifetime = stored.expires_at - stored.created_at;
    assert_eq!(lifetime, TimeDelta::hours(24));
}

async fn an_organization_signs_up_without_a_profession(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = sign_up_body("org@example.com");
    body["type"] = json!("organization");
    body.as_object_mut().unwrap().remove("profession");

    let res = app.post_json("/v1/auth/sign-up", &body).await;

    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["user"]["type"], "organization");
    assert_eq!(res.body["user"]["profession"], Value::Null);
}

async fn a_taken_email_in_any_case_is_a_conflict(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("grace@example.com").await;

    let res = app
        .post_json("/v1/auth/sign-up", &sign_up_body("GRACE@example.com"))
        .await;

    assert_eq!(res.status, 409, "{}", res.text);
    assert_eq!(res.code(), "EMAIL_TAKEN");
    assert_eq!(res.content_type, "application/problem+json");
    assert_eq!(res.error_fields(), ["email"]);
    assert_eq!(outbox(&app).await.len(), 1, "no second email");
}

async fn invalid_sign_ups_name_every_broken_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let with = |key: &str, value: Value| {
        let mut body = sign_up_body("ada@example.com");
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = sign_up_body("ada@example.com");
        body.as_object_mut().unwrap().remove(key);
        body
    };
    let cases = [
        (
            json!({}),
            vec!["email", "password", "firstName", "lastName", "type"],
            "REQUIRED",
            "empty object",
        ),
        (without("email"), vec!["email"], "REQUIRED", "no email"),
        (
            without("password"),
            vec!["password"],
            "REQUIRED",
            "no password",
        ),
        (
            without("firstName"),
            vec!["firstName"],
            "REQUIRED",
            "no first name",
        ),
        (
            without("lastName"),
            vec!["lastName"],
            "REQUIRED",
            "no last name",
        ),
        (without("type"), vec!["type"], "REQUIRED", "no type"),
        (
            without("profession"),
            vec!["profession"],
            "REQUIRED",
            "employee without profession",
        ),
        (
            with("profession", json!("  ")),
            vec!["profession"],
            "REQUIRED",
            "blank profession",
        ),
        (
            with("email", json!("not-an-email")),
            vec!["email"],
            "INVALID_EMAIL",
            "bad email",
        ),
        (
            with("email", json!(format!("{}@example.com", "a".repeat(250)))),
            vec!["email"],
            "TOO_LONG",
            "long email",
        ),
        (
            with("password", json!("1234567")),
            vec!["password"],
            "TOO_SHORT",
            "short password",
        ),
        (
            with("password", json!("x".repeat(129))),
            vec!["password"],
            "TOO_LONG",
            "long password",
        ),
        (
            with("firstName", json!("   ")),
            vec!["firstName"],
            "REQUIRED",
            "blank first name",
        ),
        (
            with("lastName", json!("x".repeat(101))),
            vec!["lastName"],
            "TOO_LONG",
            "long last name",
        ),
        (
            with("type", json!("admin")),
            vec!["type"],
            "INVALID_VALUE",
            "unknown type",
        ),
        (
            with("type", json!("Employee")),
            vec!["type"],
            "INVALID_VALUE",
            "type is case-sensitive",
        ),
        (
            with("email", json!(42)),
            vec!["email"],
            "INVALID_TYPE",
            "email of the wrong type",
        ),
    ];
    for (body, fields, code, case) in cases {
        let res = app.post_json("/v1/auth/sign-up", &body).await;

        assert_eq!(res.status, 422, "{case}: {}", res.text);
        assert_eq!(res.code(), "VALIDATION_FAILED", "{case}");
        assert_eq!(res.error_fields(), fields, "{case}");
        assert_eq!(res.body["errors"][0]["code"], code, "{case}");
    }
    assert!(
        users::Entity::find()
            .all(app.database.conn())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_sign_up_that_is_not_json_is_400_or_415(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = sign_up_body("ada@example.com").to_string().into_bytes();

    let not_json = app
        .post_raw(
            "/v1/auth/sign-up",
            Some("application/json"),
            b"{\"email\": ".to_vec(),
        )
        .await;
    let wrong_type = app
        .post_raw("/v1/auth/sign-up", Some("text/plain"), body)
        .await;

    assert_eq!(not_json.status, 400, "{}", not_json.text);
    assert_eq!(not_json.code(), "BAD_REQUEST");
    assert_eq!(wrong_type.status, 415, "{}", wrong_type.text);
    assert_eq!(wrong_type.code(), "UNSUPPORTED_MEDIA_TYPE");
}

async fn twenty_concurrent_sign_ups_with_one_email_create_one_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = sign_up_body("race@example.com");

    let responses = join_all((0..20).map(|_| app.post_json("/v1/auth/sign-up", &body))).await;

    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    assert!(
        responses
            .iter()
            .filter(|r| r.status == 409)
            .all(|r| r.code() == "EMAIL_TAKEN")
    );
    let conn = app.database.conn();
    assert_eq!(users::Entity::find().all(conn).await.unwrap().len(), 1);
    assert_eq!(accounts::Entity::find().all(conn).await.unwrap().len(), 1);
    assert_eq!(sessions::Entity::find().all(conn).await.unwrap().len(), 1);
    assert_eq!(verification_tokens(&app).await.len(), 1);
    assert_eq!(outbox(&app).await.len(), 1);
}

// ---- sign-in ----

async fn sign_in_starts_a_new_session_with_the_client_recorded(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.sign_up("ada@example.com").await;

    // The harness sends no User-Agent; this request does.
    let mut res = awc::Client::default()
        .post(format!("{}/v1/auth/sign-in", app.address))
        .insert_header(("user-agent", "groundwork-tests/1.0"))
        .send_json(&json!({"email": "ADA@example.com", "password": SignedUp::PASSWORD}))
        .await
        .expect("sign-in request");
    let body: Value = res.json().await.expect("a JSON body");

    assert_eq!(res.status().as_u16(), 200, "{body}");
    assert_eq!(body["user"]["id"], signed_up.user_id.as_str());
    assert!(close_to(&body["expiresAt"], now(&app) + TimeDelta::days(7)));
    let token = body["token"].as_str().expect("a token");
    assert_ne!(token, signed_up.token);
    let session = session_row(&app, token).await;
    assert_eq!(session.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(session.user_agent.as_deref(), Some("groundwork-tests/1.0"));
    assert_eq!(session.revoked_at, None);
    let other = app
        .post_as("/v1/auth/sign-out", &signed_up.token, &json!({}))
        .await;
    assert_eq!(other.status, 204, "the sign-up session still works");
}

async fn sign_up_and_sign_in_answers_are_never_cached(backend: Backend) {
    let app = spawn_app(backend).await;

    let signed_up = app
        .post_json("/v1/auth/sign-up", &sign_up_body("ada@example.com"))
        .await;
    let signed_in = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;

    for (what, res) in [("sign-up", signed_up), ("sign-in", signed_in)] {
        assert!(res.body["token"].is_string(), "{what}: {}", res.text);
        assert_eq!(
            res.headers.get("cache-control").map(String::as_str),
            Some("no-store"),
            "{what}: a bearer token in the body"
        );
    }
}

async fn unknown_wrong_deleted_and_passwordless_sign_ins_get_the_same_401(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("ada@example.com").await;
    let deleted = app.sign_up("gone@example.com").await;
    soft_delete_user(&app, user_id(&deleted)).await;
    app.create_user("nopassword@example.com").await;

    let attempts = [
        ("ada@example.com", "wrong password", "wrong password"),
        ("ada@example.com", "short", "password outside the policy"),
        ("nobody@example.com", SignedUp::PASSWORD, "unknown email"),
        ("gone@example.com", SignedUp::PASSWORD, "deleted user"),
        (
            "nopassword@example.com",
            SignedUp::PASSWORD,
            "no credential account",
        ),
    ];
    let mut bodies = Vec::new();
    for (email, password, case) in attempts {
        let res = sign_in(&app, email, password).await;

        assert_eq!(res.status, 401, "{case}: {}", res.text);
        assert_eq!(res.code(), "INVALID_CREDENTIALS", "{case}");
        assert_eq!(
            res.headers.get("www-authenticate").map(String::as_str),
            Some("Bearer")
        );
        bodies.push(res.text);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:#?}");
}

async fn an_inactive_user_is_403_with_the_right_password_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.sign_up("ada@example.com").await;
    set_active(&app, user_id(&signed_up), false).await;

    let right = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;
    let wrong = sign_in(&app, "ada@example.com", "wrong password").await;

    assert_eq!(right.status, 403, "{}", right.text);
    assert_eq!(right.code(), "ACCOUNT_INACTIVE");
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    assert_eq!(wrong.code(), "INVALID_CREDENTIALS");
}

async fn a_sign_in_with_missing_or_malformed_fields_is_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases = [
        (json!({}), vec!["email", "password"]),
        (json!({"email": "ada@example.com"}), vec!["password"]),
        (json!({"password": "whatever123"}), vec!["email"]),
        (
            json!({"email": "not an email", "password": "whatever123"}),
            vec!["email"],
        ),
        (
            json!({"email": "ada@example.com", "password": 12345678}),
            vec!["password"],
        ),
    ];
    for (body, fields) in cases {
        let res = app.post_json("/v1/auth/sign-in", &body).await;

        assert_eq!(res.status, 422, "{body}: {}", res.text);
        assert_eq!(res.code(), "VALIDATION_FAILED");
        assert_eq!(res.error_fields(), fields, "{body}");
    }
}

// ---- sign-out and bearer tokens ----

async fn signing_out_revokes_that_session_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.sign_up("ada@example.com").await;
    let second = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;
    let second = second.body["token"].as_str().unwrap().to_owned();

    let res = app
        .post_as("/v1/auth/sign-out", &first.token, &json!({}))
        .await;

    assert_eq!(res.status, 204, "{}", res.text);
    assert!(session_row(&app, &first.token).await.revoked_at.is_some());
    let again = app
        .post_as("/v1/auth/sign-out", &first.token, &json!({}))
        .await;
    assert_eq!(again.status, 401);
    assert_eq!(again.code(), "UNAUTHENTICATED");
    let other = app.post_as("/v1/auth/sign-out", &second, &json!({})).await;
    assert_eq!(other.status, 204, "{}", other.text);
}

async fn a_missing_or_garbage_token_is_401_with_a_bearer_challenge(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("ada@example.com").await;

    let missing = app
        .request(awc::http::Method::POST, "/v1/auth/sign-out", None, None)
        .await;
    let garbage = app
        .post_as("/v1/auth/sign-out", "not-a-real-token", &json!({}))
        .await;

    for res in [missing, garbage] {
        assert_eq!(res.status, 401, "{}", res.text);
        assert_eq!(res.code(), "UNAUTHENTICATED");
        assert_eq!(res.content_type, "application/problem+json");
        assert_eq!(
            res.headers.get("www-authenticate").map(String::as_str),
            Some("Bearer")
        );
    }
}

// ---- email verification ----

async fn the_emailed_token_verifies_the_email_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.sign_up("ada@example.com").await;
    let token = emailed_token(&app, "ada@example.com", "email_verification").await;

    let res = app
        .post_json("/v1/auth/verify-email", &json!({ "token": token }))
        .await;

    assert_eq!(res.status, 204, "{}", res.text);
    let user = user_row(&app, user_id(&signed_up)).await;
    assert!(user.email_verified_at.is_some());
    assert!(verification_tokens(&app).await[0].consumed_at.is_some());
    let again = app
        .post_json("/v1/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(again.status, 422, "{}", again.text);
    assert_eq!(again.code(), "INVALID_TOKEN");
    assert_eq!(again.error_fields(), ["token"]);
}

async fn concurrent_uses_of_one_verification_token_succeed_once(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("ada@example.com").await;
    let token = emailed_token(&app, "ada@example.com", "email_verification").await;
    let body = json!({ "token": token });

    let responses = join_all((0..8).map(|_| app.post_json("/v1/auth/verify-email", &body))).await;

    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 204).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        7,
        "{statuses:?}"
    );
}

async fn an_expired_verification_token_is_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.sign_up("ada@example.com").await;
    let token = emailed_token(&app, "ada@example.com", "email_verification").await;
    app.clock.advance(TimeDelta::hours(25));

    let res = app
        .post_json("/v1/auth/verify-email", &json!({ "token": token }))
        .await;

    assert_eq!(res.status, 422, "{}", res.text);
    assert_eq!(res.code(), "INVALID_TOKEN");
    assert_eq!(
        user_row(&app, user_id(&signed_up)).await.email_verified_at,
        None
    );
}

async fn unknown_missing_or_misused_verification_tokens_are_422(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("ada@example.com").await;
    let reset = app
        .post_json(
            "/v1/auth/password-reset/request",
            &json!({"email": "ada@example.com"}),
        )
        .await;
    assert_eq!(reset.status, 202);
    let reset_token = emailed_token(&app, "ada@example.com", "password_reset").await;

    for token in ["not-a-token", "", reset_token.as_str()] {
        let res = app
            .post_json("/v1/auth/verify-email", &json!({ "token": token }))
            .await;

        assert_eq!(res.status, 422, "{token:?}: {}", res.text);
        assert_eq!(res.code(), "INVALID_TOKEN", "{token:?}");
    }
    let missing = app.post_json("/v1/auth/verify-email", &json!({})).await;
    assert_eq!(missing.status, 422, "{}", missing.text);
    assert_eq!(missing.code(), "VALIDATION_FAILED");
    assert_eq!(missing.error_fields(), ["token"]);
}

// ---- password reset ----

async fn a_reset_request_is_202_whether_or_not_the_email_exists(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("ada@example.com").await;
    let before = (
        outbox(&app).await.len(),
        verification_tokens(&app).await.len(),
    );

    let unknown = app
        .post_json(
            "/v1/auth/password-reset/request",
            &json!({"email": "nobody@example.com"}),
        )
        .await;

    assert_eq!(unknown.status, 202, "{}", unknown.text);
    assert_eq!(
        (
            outbox(&app).await.len(),
            verification_tokens(&app).await.len()
        ),
        before,
        "nothing is written for an unknown email"
    );

    let known = app
        .post_json(
            "/v1/auth/password-reset/request",
            &json!({"email": "ADA@example.com"}),
        )
        .await;

    assert_eq!(known.status, 202, "{}", known.text);
    assert_eq!(known.text, unknown.text, "the same answer");
    let plain = emailed_token(&app, "ada@example.com", "password_reset").await;
    let stored = verification_tokens(&app)
        .await
        .into_iter()
        .find(|t| t.purpose == "password_reset")
        .expect("a password-reset token");
    assert_eq!(stored.identifier, "ada@example.com");
    assert_eq!(stored.token_hash, hash_token(&plain));
    assert_eq!(stored.expires_at - stored.created_at, TimeDelta::hours(1));

    let malformed = app
        .post_json("/v1/auth/password-reset/request", &json!({"email": "nope"}))
        .await;
    assert_eq!(malformed.status, 422, "{}", malformed.text);
    assert_eq!(malformed.error_fields(), ["email"]);
}

async fn request_reset(app: &TestApp, email: &str) -> String {
    let res = app
        .post_json(
            "/v1/auth/password-reset/request",
            &json!({ "email": email }),
        )
        .await;
    assert_eq!(res.status, 202, "{}", res.text);
    emailed_token(app, email, "password_reset").await
}

async fn a_confirmed_reset_changes_the_password_and_revokes_every_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.sign_up("ada@example.com").await;
    let second = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;
    let second = second.body["token"].as_str().unwrap().to_owned();
    let token = request_reset(&app, "ada@example.com").await;

    let res = app
        .post_json(
            "/v1/auth/password-reset/confirm",
            &json!({"token": token, "newPassword": "a brand new secret"}),
        )
        .await;

    assert_eq!(res.status, 204, "{}", res.text);
    for old in [&first.token, &second] {
        assert!(session_row(&app, old).await.revoked_at.is_some());
        let probe = app.post_as("/v1/auth/sign-out", old, &json!({})).await;
        assert_eq!(probe.status, 401, "an old session still works");
    }
    let old_password = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;
    assert_eq!(old_password.status, 401, "{}", old_password.text);
    let new_password = sign_in(&app, "ada@example.com", "a brand new secret").await;
    assert_eq!(new_password.status, 200, "{}", new_password.text);
    let reuse = app
        .post_json(
            "/v1/auth/password-reset/confirm",
            &json!({"token": token, "newPassword": "yet another secret"}),
        )
        .await;
    assert_eq!(reuse.status, 422, "{}", reuse.text);
    assert_eq!(reuse.code(), "INVALID_TOKEN");
}

async fn a_reset_gives_a_password_to_a_user_who_had_none(backend: Backend) {
    let app = spawn_app(backend).await;
    app.create_user("nopassword@example.com").await;
    let token = request_reset(&app, "nopassword@example.com").await;

    let res = app
        .post_json(
            "/v1/auth/password-reset/confirm",
            &json!({"token": token, "newPassword": "my first password"}),
        )
        .await;

    assert_eq!(res.status, 204, "{}", res.text);
    let signed_in = sign_in(&app, "nopassword@example.com", "my first password").await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
}

async fn a_reset_with_a_bad_token_or_password_is_422_and_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("ada@example.com").await;
    let token = request_reset(&app, "ada@example.com").await;
    let confirm = |token: &str, password: &str| json!({"token": token, "newPassword": password});

    let unknown = app
        .post_json(
            "/v1/auth/password-reset/confirm",
            &confirm("garbage", "long enough"),
        )
        .await;
    let short = app
        .post_json("/v1/auth/password-reset/confirm", &confirm(&token, "short"))
        .await;
    let missing = app
        .post_json("/v1/auth/password-reset/confirm", &json!({}))
        .await;

    assert_eq!(unknown.status, 422, "{}", unknown.text);
    assert_eq!(unknown.code(), "INVALID_TOKEN");
    assert_eq!(short.status, 422, "{}", short.text);
    assert_eq!(short.code(), "VALIDATION_FAILED");
    assert_eq!(short.error_fields(), ["newPassword"]);
    assert_eq!(missing.error_fields(), ["token", "newPassword"]);
    let still = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;
    assert_eq!(still.status, 200, "the password is unchanged");

    app.clock.advance(TimeDelta::hours(2));
    let expired = app
        .post_json(
            "/v1/auth/password-reset/confirm",
            &confirm(&token, "long enough"),
        )
        .await;
    assert_eq!(expired.status, 422, "{}", expired.text);
    assert_eq!(expired.code(), "INVALID_TOKEN");
    let unchanged = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;
    assert_eq!(unchanged.status, 200, "{}", unchanged.text);
}

// ---- one unit of work ----

/// Makes every insert into `outbox_messages` fail (`true`), or stops that.
async fn refuse_outbox_inserts(app: &TestApp, refuse: bool) {
    let statements: &[&str] = match (app.database.backend(), refuse) {
        (DbBackend::Postgres, true) => &[
            "CREATE FUNCTION refuse_outbox() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'boom'; END; $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox_messages \
             FOR EACH ROW EXECUTE FUNCTION refuse_outbox()",
        ],
        (DbBackend::Postgres, false) => &[
            "DROP TRIGGER refuse_outbox ON outbox_messages",
            "DROP FUNCTION refuse_outbox()",
        ],
        (_, true) => &[
            "CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox_messages \
                        BEGIN SELECT RAISE(ABORT, 'boom'); END",
        ],
        (_, false) => &["DROP TRIGGER refuse_outbox"],
    };
    for sql in statements {
        app.database
            .conn()
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

async fn a_sign_up_whose_last_step_fails_leaves_nothing_behind(backend: Backend) {
    let app = spawn_app(backend).await;
    refuse_outbox_inserts(&app, true).await;

    let res = app
        .post_json("/v1/auth/sign-up", &sign_up_body("ada@example.com"))
        .await;

    assert_eq!(res.status, 500, "{}", res.text);
    assert_eq!(res.code(), "INTERNAL_ERROR");
    assert!(
        !res.text.contains("boom"),
        "no internal detail: {}",
        res.text
    );
    let conn = app.database.conn();
    assert!(users::Entity::find().all(conn).await.unwrap().is_empty());
    assert!(accounts::Entity::find().all(conn).await.unwrap().is_empty());
    assert!(sessions::Entity::find().all(conn).await.unwrap().is_empty());
    assert!(verification_tokens(&app).await.is_empty());

    refuse_outbox_inserts(&app, false).await;
    let retry = app
        .post_json("/v1/auth/sign-up", &sign_up_body("ada@example.com"))
        .await;

    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(outbox(&app).await.len(), 1);
}

// ---- documentation ----

async fn the_openapi_document_describes_the_auth_and_me_operations(backend: Backend) {
    let app = spawn_app(backend).await;

    let doc = app.get("/openapi.json").await.body;

    let paths = &doc["paths"];
    for (path, method) in [
        ("/v1/auth/sign-up", "post"),
        ("/v1/auth/sign-in", "post"),
        ("/v1/auth/sign-out", "post"),
        ("/v1/auth/verify-email", "post"),
        ("/v1/auth/password-reset/request", "post"),
        ("/v1/auth/password-reset/confirm", "post"),
        ("/v1/me", "get"),
        ("/v1/me", "patch"),
        ("/v1/me", "delete"),
    ] {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} is missing"
        );
    }
    assert!(
        paths["/v1/auth/sign-up"]["post"]["responses"]["201"]["headers"]["Location"].is_object()
    );
    assert_eq!(paths["/v1/me"]["get"]["security"][0]["bearer"], json!([]));
    assert!(paths["/v1/auth/sign-in"]["post"]["security"].is_null());
    let patch = &doc["components"]["schemas"]["UpdateMeBody"]["properties"];
    assert!(
        patch["avatarUrl"].is_object() && patch["email"].is_null(),
        "{patch}"
    );
}

on_both_databases!(
    sign_up_creates_the_user_account_session_token_and_email_together,
    an_organization_signs_up_without_a_profession,
    a_taken_email_in_any_case_is_a_conflict,
    invalid_sign_ups_name_every_broken_field,
    a_sign_up_that_is_not_json_is_400_or_415,
    twenty_concurrent_sign_ups_with_one_email_create_one_user,
    sign_in_starts_a_new_session_with_the_client_recorded,
    sign_up_and_sign_in_answers_are_never_cached,
    unknown_wrong_deleted_and_passwordless_sign_ins_get_the_same_401,
    an_inactive_user_is_403_with_the_right_password_only,
    a_sign_in_with_missing_or_malformed_fields_is_422,
    signing_out_revokes_that_session_only,
    a_missing_or_garbage_token_is_401_with_a_bearer_challenge,
    the_emailed_token_verifies_the_email_once,
    concurrent_uses_of_one_verification_token_succeed_once,
    an_expired_verification_token_is_422,
    unknown_missing_or_misused_verification_tokens_are_422,
    a_reset_request_is_202_whether_or_not_the_email_exists,
    a_confirmed_reset_changes_the_password_and_revokes_every_session,
    a_reset_gives_a_password_to_a_user_who_had_none,
    a_reset_with_a_bad_token_or_password_is_422_and_changes_nothing,
    a_sign_up_whose_last_step_fails_leaves_nothing_behind,
    the_openapi_document_describes_the_auth_and_me_operations,
);
