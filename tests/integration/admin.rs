//! Platform administration: `api admin promote|demote`, and `/v1/admin/...`
//! (users, deactivation, the waitlist, the account-level audit trail).

use awc::http::Method;
use chrono::TimeDelta;
use domain::api_keys::ApiKeyDraft;
use domain::{Clock, MemberRole, OrganizationId, PersonName, UserId};
use groundwork_tests::app::{SignedUp, TestApp, spawn_app, test_settings};
use groundwork_tests::{Backend, on_both_databases};
use infra::entities::sessions;
use infra::repositories::{ApiKeyRepository, UserRepository};
use infra::security::issue_api_key;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::auth::{sign_in, user_id, user_row};

/// `api admin promote|demote <email>` against the app's database.
async fn set_admin(app: &TestApp, email: &str, admin: bool) -> Result<String, String> {
    let settings = test_settings(&app.database_url(), &[]);
    api::commands::set_platform_admin(&settings, email, admin).await
}

/// A user with a session, promoted to platform admin by the CLI's function.
pub(crate) async fn admin(app: &TestApp, email: &str) -> SignedUp {
    let user = app.create_user(email).await;
    set_admin(app, email, true).await.expect("promotion");
    user
}

/// Every item of a list, following `nextCursor` from the first page of `path`
/// (which carries a query string). Panics on anything but 200.
async fn walk(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut url = path.to_owned();
    for _ in 0..50 {
        let res = app.get_as(&url, token).await;
        assert_eq!(res.status, 200, "{url}: {}", res.text);
        items.extend(res.body["items"].as_array().unwrap().iter().cloned());
        match res.body["nextCursor"].as_str() {
            Some(cursor) => {
                assert_eq!(res.body["hasNext"], true);
                url = format!("{path}&cursor={cursor}");
            }
            None => return items,
        }
    }
    panic!("{path}: more than 50 pages");
}

fn field<'a>(items: &'a [Value], name: &str) -> Vec<&'a str> {
    items.iter().map(|i| i[name].as_str().unwrap()).collect()
}

/// The account-level audit rows matching `query`, newest first.
async fn audit(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    walk(
        app,
        token,
        &format!("/v1/admin/audit-logs?pageSize=100&{query}"),
    )
    .await
}

async fn the_cli_promotes_and_demotes_once_and_audits_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;

    let first = set_admin(&app, " Ada@Example.com", true).await;
    let again = set_admin(&app, "ada@example.com", true).await;

    assert_eq!(
        first.as_deref(),
        Ok("ada@example.com is now a platform admin")
    );
    assert!(again.unwrap().contains("already"));
    assert!(user_row(&app, user_id(&ada)).await.is_admin);
    let promoted = audit(&app, &ada.token, "action=user.promoted").await;
    assert_eq!(promoted.len(), 1, "idempotent: {promoted:?}");
    assert_eq!(promoted[0]["actorType"], "system");
    assert_eq!(promoted[0]["actorId"], Value::Null);
    assert_eq!(promoted[0]["entityType"], "user");
    assert_eq!(promoted[0]["entityId"], ada.user_id.as_str());
    assert_eq!(promoted[0]["changes"], json!({"isAdmin": [false, true]}));

    let unknown = set_admin(&app, "nobody@example.com", true).await;
    let malformed = set_admin(&app, "not an email", true).await;
    assert!(unknown.unwrap_err().contains("nobody@example.com"));
    assert!(malformed.is_err());

    let demoted = set_admin(&app, "ada@example.com", false).await;
    assert_eq!(
        demoted.as_deref(),
        Ok("ada@example.com is now not a platform admin")
    );
    assert!(!user_row(&app, user_id(&ada)).await.is_admin);
    let res = app.get_as("/v1/admin/users", &ada.token).await;
    assert_eq!(res.status, 403, "{}", res.text);
    assert_eq!(res.code(), "PLATFORM_ADMIN_REQUIRED");
    let grace = admin(&app, "grace@example.com").await;
    let updates = audit(&app, &grace.token, "action=user.demoted").await;
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0]["changes"], json!({"isAdmin": [true, false]}));
}

/// A key of a fresh organization of `owner` (as the API-key routes would make).
async fn api_key(app: &TestApp, owner: &SignedUp) -> String {
    let org = app.create_organization(&owner.token, "Acme").await;
    let issued = issue_api_key().unwrap();
    ApiKeyRepository::at(app.database.conn(), app.clock.now())
        .insert(
            OrganizationId::parse(&org).unwrap(),
            user_id(owner),
            &ApiKeyDraft {
                name: PersonName::parse("ci").unwrap(),
                role: MemberRole::Admin,
                expires_at: None,
            },
            issued.lookup,
            issued.secret_hash,
        )
        .await
        .unwrap();
    issued.key
}

async fn only_a_platform_admin_may_call_the_admin_routes(backend: Backend) {
    let app = spawn_app(backend).await;
    let grace = app.create_user("grace@example.com").await;
    let key = api_key(&app, &grace).await;
    let target = &grace.user_id;
    let routes = [
        (Method::GET, "/v1/admin/users".to_owned()),
        (Method::POST, format!("/v1/admin/users/{target}/deactivate")),
        (Method::POST, format!("/v1/admin/users/{target}/reactivate")),
        (Method::GET, "/v1/admin/waitlist".to_owned()),
        (Method::GET, "/v1/admin/audit-logs".to_owned()),
    ];

    for (method, path) in &routes {
        let anonymous = app.request(method.clone(), path, None, None).await;
        assert_eq!(anonymous.status, 401, "{method} {path}: {}", anonymous.text);
        assert_eq!(anonymous.code(), "UNAUTHENTICATED");
        for token in [&grace.token, &key] {
            let res = app.request(method.clone(), path, Some(token), None).await;
            assert_eq!(res.status, 403, "{method} {path}: {}", res.text);
            assert_eq!(res.code(), "PLATFORM_ADMIN_REQUIRED");
            assert_eq!(res.content_type, "application/problem+json");
        }
    }
    assert!(user_row(&app, user_id(&grace)).await.is_active);

    let root = admin(&app, "root@example.com").await;
    for path in [
        "/v1/admin/users",
        "/v1/admin/waitlist",
        "/v1/admin/audit-logs",
    ] {
        let res = app.get_as(path, &root.token).await;
        assert_eq!(res.status, 200, "{path}: {}", res.text);
    }
}

async fn sign_in_token(app: &TestApp, email: &str) -> Option<String> {
    let res = sign_in(app, email, SignedUp::PASSWORD).await;
    res.body["token"].as_str().map(str::to_owned)
}

async fn the_user_list_shows_inactive_users_searches_and_pages_by_cursor(backend: Backend) {
    let app = spawn_app(backend).await;
    let root = admin(&app, "root@example.com").await;
    let mut live = vec!["root@example.com".to_owned()];
    for (email, first, last) in [
        ("ada@example.com", "Ada", "Lovelace"),
        ("grace@example.com", "Grace", "Hopper"),
        ("alan@example.com", "Alan", "Turing"),
        ("love@example.com", "Edsger", "Dijkstra"),
        ("barbara@example.com", "Barbara", "Liskov"),
    ] {
        app.clock.advance(TimeDelta::seconds(1));
        app.create_user_named(email, first, last).await;
        live.push(email.to_owned());
    }
    app.clock.advance(TimeDelta::seconds(1));
    let gone = app.create_user("gone@example.com").await;
    UserRepository::at(app.database.conn(), app.clock.now())
        .soft_delete(user_id(&gone))
        .await
        .unwrap();
    let grace = UserRepository::at(app.database.conn(), app.clock.now())
        .find_by_email(&domain::Email::parse("grace@example.com").unwrap())
        .await
        .unwrap();
    let res = app
        .post_as(
            &format!("/v1/admin/users/{}/deactivate", grace.id),
            &root.token,
            &json!({}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);

    // Newest first by default, inactive included, deleted excluded.
    let newest_first = walk(&app, &root.token, "/v1/admin/users?pageSize=2").await;
    let mut expected: Vec<&str> = live.iter().map(String::as_str).rev().collect();
    assert_eq!(field(&newest_first, "email"), expected);
    let listed_grace = newest_first
        .iter()
        .find(|u| u["email"] == "grace@example.com")
        .unwrap();
    assert_eq!(listed_grace["isActive"], false);
    assert_eq!(listed_grace["isAdmin"], false);
    assert_eq!(listed_grace["firstName"], "Grace");
    assert_eq!(newest_first.last().unwrap()["isAdmin"], true);

    // By email, ascending, one cursor page at a time.
    let by_email = walk(
        &app,
        &root.token,
        "/v1/admin/users?pageSize=2&sortBy=email&sortDirection=asc",
    )
    .await;
    expected.sort_unstable();
    assert_eq!(field(&by_email, "email"), expected);
    let by_last_name = walk(
        &app,
        &root.token,
        "/v1/admin/users?sortBy=lastName&sortDirection=asc",
    )
    .await;
    assert_eq!(by_last_name[0]["lastName"], "Dijkstra");

    // Search over email and both names, case-insensitively.
    let love = walk(&app, &root.token, "/v1/admin/users?searchQuery=LOVE").await;
    let mut found = field(&love, "email");
    found.sort_unstable();
    assert_eq!(found, ["ada@example.com", "love@example.com"]);
    let hopper = walk(&app, &root.token, "/v1/admin/users?searchQuery=hopp").await;
    assert_eq!(field(&hopper, "email"), ["grace@example.com"]);

    let bad = app
        .get_as("/v1/admin/users?sortBy=role&pageSize=0", &root.token)
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    let mut fields = bad.error_fields();
    fields.sort_unstable();
    assert_eq!(fields, ["pageSize", "sortBy"]);
}

async fn deactivation_ends_sessions_at_once_and_reactivation_allows_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let root = admin(&app, "root@example.com").await;
    let ada = app.sign_up("ada@example.com").await;
    let second_session = sign_in_token(&app, "ada@example.com").await.unwrap();
    assert_eq!(app.get_as("/v1/me", &ada.token).await.status, 200);
    let deactivate = format!("/v1/admin/users/{}/deactivate", ada.user_id);
    let reactivate = format!("/v1/admin/users/{}/reactivate", ada.user_id);

    let res = app.post_as(&deactivate, &root.token, &json!({})).await;

    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["id"], ada.user_id.as_str());
    assert_eq!(res.body["isActive"], false);
    for token in [&ada.token, &second_session] {
        let me = app.get_as("/v1/me", token).await;
        assert_eq!(me.status, 401, "{}", me.text);
        assert_eq!(me.code(), "UNAUTHENTICATED");
    }
    let open_sessions = sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(user_id(&ada).as_uuid()))
        .filter(sessions::Column::RevokedAt.is_null())
        .all(app.database.conn())
        .await
        .unwrap();
    assert!(open_sessions.is_empty(), "{open_sessions:?}");
    let refused = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.code(), "ACCOUNT_INACTIVE");

    // Again: 200, unchanged, no second audit row.
    let again = app.post_as(&deactivate, &root.token, &json!({})).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["isActive"], false);
    let filter = format!("entityType=user&entityId={}", ada.user_id);
    let rows = audit(
        &app,
        &root.token,
        &format!("action=user.deactivated&{filter}"),
    )
    .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["actorType"], "user");
    assert_eq!(rows[0]["actorId"], root.user_id.as_str());
    assert_eq!(rows[0]["changes"], json!({"isActive": [true, false]}));
    assert_eq!(rows[0]["organizationId"], Value::Null);

    let back = app.post_as(&reactivate, &root.token, &json!({})).await;
    assert_eq!(back.status, 200, "{}", back.text);
    assert_eq!(back.body["isActive"], true);
    let twice = app.post_as(&reactivate, &root.token, &json!({})).await;
    assert_eq!(twice.status, 200, "{}", twice.text);
    let fresh = sign_in_token(&app, "ada@example.com").await;
    assert!(fresh.is_some(), "sign-in works again");
    assert_eq!(app.get_as("/v1/me", &fresh.unwrap()).await.status, 200);
    assert_eq!(app.get_as("/v1/me", &ada.token).await.status, 401);
    let rows = audit(
        &app,
        &root.token,
        &format!("action=user.reactivated&{filter}"),
    )
    .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["changes"], json!({"isActive": [false, true]}));
    let all = audit(&app, &root.token, &filter).await;
    assert_eq!(
        field(&all, "action"),
        [
            "user.signed_in",
            "user.reactivated",
            "user.sign_in_failed",
            "user.deactivated",
            "user.signed_in",
            "user.signed_up",
        ]
    );
}

async fn an_admin_cannot_deactivate_themself(backend: Backend) {
    let app = spawn_app(backend).await;
    let root = admin(&app, "root@example.com").await;

    let res = app
        .post_as(
            &format!("/v1/admin/users/{}/deactivate", root.user_id),
            &root.token,
            &json!({}),
        )
        .await;

    assert_eq!(res.status, 409, "{}", res.text);
    assert_eq!(res.code(), "CANNOT_DEACTIVATE_SELF");
    assert!(user_row(&app, user_id(&root)).await.is_active);
    assert_eq!(app.get_as("/v1/me", &root.token).await.status, 200);
    let other = admin(&app, "other@example.com").await;
    let res = app
        .post_as(
            &format!("/v1/admin/users/{}/deactivate", root.user_id),
            &other.token,
            &json!({}),
        )
        .await;
    assert_eq!(res.status, 200, "another admin may: {}", res.text);
}

async fn unknown_malformed_or_deleted_user_ids_are_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let root = admin(&app, "root@example.com").await;
    let gone = app.create_user("gone@example.com").await;
    UserRepository::at(app.database.conn(), app.clock.now())
        .soft_delete(user_id(&gone))
        .await
        .unwrap();
    let org = app.create_organization(&root.token, "Acme").await;

    for id in [
        UserId::new().to_string(),
        gone.user_id.clone(),
        org,
        "usr_not-a-ulid".to_owned(),
        "garbage".to_owned(),
    ] {
        for verb in ["deactivate", "reactivate"] {
            let path = format!("/v1/admin/users/{id}/{verb}");
            let res = app.post_as(&path, &root.token, &json!({})).await;
            assert_eq!(res.status, 404, "{path}: {}", res.text);
            assert_eq!(res.code(), "USER_NOT_FOUND");
        }
    }
    assert!(user_row(&app, user_id(&gone)).await.is_active);
}

async fn the_waitlist_lists_filters_by_role_and_rejects_unknown_roles(backend: Backend) {
    let app = spawn_app(backend).await;
    let root = admin(&app, "root@example.com").await;
    let entries = [
        ("ada@example.com", "employee"),
        ("acme@example.com", "organization"),
        ("grace@example.com", "employee"),
        ("initech@example.com", "organization"),
        ("alan@example.com", "employee"),
    ];
    for (email, role) in entries {
        app.clock.advance(TimeDelta::seconds(1));
        let res = app
            .post_json("/v1/waitlist", &json!({"email": email, "role": role}))
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
    }

    let all = walk(&app, &root.token, "/v1/admin/waitlist?pageSize=2").await;
    let newest_first: Vec<&str> = entries.iter().rev().map(|(e, _)| *e).collect();
    assert_eq!(field(&all, "email"), newest_first);
    assert!(all[0]["id"].as_i64().is_some());
    assert!(all[0]["createdAt"].as_str().is_some());

    let organizations = walk(
        &app,
        &root.token,
        "/v1/admin/waitlist?role=organization&pageSize=1&sortDirection=asc",
    )
    .await;
    assert_eq!(
        field(&organizations, "email"),
        ["acme@example.com", "initech@example.com"]
    );
    assert!(organizations.iter().all(|e| e["role"] == "organization"));
    let by_email = walk(
        &app,
        &root.token,
        "/v1/admin/waitlist?role=employee&sortBy=email&sortDirection=asc&pageSize=2",
    )
    .await;
    assert_eq!(
        field(&by_email, "email"),
        ["ada@example.com", "alan@example.com", "grace@example.com"]
    );
    let search = walk(&app, &root.token, "/v1/admin/waitlist?searchQuery=ACM").await;
    assert_eq!(field(&search, "email"), ["acme@example.com"]);

    let unknown = app
        .get_as("/v1/admin/waitlist?role=admin", &root.token)
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.text);
    assert_eq!(unknown.code(), "VALIDATION_FAILED");
    assert_eq!(unknown.error_fields(), ["role"]);
    let both = app
        .get_as("/v1/admin/waitlist?role=Employee&pageSize=500", &root.token)
        .await;
    assert_eq!(both.status, 422, "{}", both.text);
    assert_eq!(both.error_fields(), ["pageSize", "role"]);
    let first = app
        .get_as("/v1/admin/waitlist?pageSize=2", &root.token)
        .await;
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let foreign = app
        .get_as(
            &format!("/v1/admin/waitlist?sortBy=email&cursor={cursor}"),
            &root.token,
        )
        .await;
    assert_eq!(foreign.status, 422, "{}", foreign.text);
    assert_eq!(foreign.error_fields(), ["cursor"]);
    assert_eq!(foreign.body["errors"][0]["code"], "INVALID_CURSOR");
}

async fn the_audit_log_holds_the_account_events_only_and_filters_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let root = admin(&app, "root@example.com").await;
    let ada = app.sign_up("ada@example.com").await;
    let wrong = sign_in(&app, "ada@example.com", "wrong password!").await;
    assert_eq!(wrong.status, 401);
    sign_in_token(&app, "ada@example.com").await.unwrap();
    app.create_organization(&ada.token, "Acme").await;

    let all = audit(&app, &root.token, "").await;

    assert!(all.iter().all(|r| r["organizationId"].is_null()), "{all:?}");
    let actions = field(&all, "action");
    for expected in [
        "user.promoted",
        "user.signed_up",
        "user.sign_in_failed",
        "user.signed_in",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    assert!(!actions.contains(&"organization.created"), "{actions:?}");
    let failed = audit(&app, &root.token, "action=user.sign_in_failed").await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    let ada_rows = audit(&app, &root.token, &format!("entityId={}", ada.user_id)).await;
    assert_eq!(
        field(&ada_rows, "action"),
        ["user.signed_in", "user.sign_in_failed", "user.signed_up"]
    );
    let none = audit(&app, &root.token, "entityType=organization").await;
    assert!(none.is_empty(), "{none:?}");

    // One row per page, oldest first, by cursor: the same rows, reversed.
    let paged = walk(
        &app,
        &root.token,
        "/v1/admin/audit-logs?pageSize=1&sortDirection=asc",
    )
    .await;
    let mut ids = field(&all, "id");
    ids.reverse();
    assert_eq!(field(&paged, "id"), ids);

    let bad = app
        .get_as(
            "/v1/admin/audit-logs?action=user.exploded&entityType=planet&sortBy=action",
            &root.token,
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    let mut fields = bad.error_fields();
    fields.sort_unstable();
    assert_eq!(fields, ["action", "entityType", "sortBy"]);
}

async fn a_platform_admin_sets_an_organizations_plan(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let root = admin(&app, "root@example.com").await;
    let key = api_key(&app, &ada).await;
    let org = app.create_organization(&ada.token, "Beta").await;
    let deleted = app.create_organization(&ada.token, "Gone").await;
    assert_eq!(
        app.delete_as(&format!("/v1/organizations/{deleted}"), &ada.token)
            .await
            .status,
        204
    );
    let path = format!("/v1/admin/organizations/{org}");
    let pro = json!({"plan": "pro"});

    // Act
    let anonymous = app.request(Method::PATCH, &path, None, Some(&pro)).await;
    let by_owner = app.patch_as(&path, &ada.token, &pro).await;
    let by_key = app.patch_as(&path, &key, &pro).await;
    let set = app.patch_as(&path, &root.token, &pro).await;
    let again = app.patch_as(&path, &root.token, &pro).await;
    let missing = app.patch_as(&path, &root.token, &json!({})).await;
    let unknown = app
        .patch_as(&path, &root.token, &json!({"plan": "platinum"}))
        .await;
    let gone = app
        .patch_as(
            &format!("/v1/admin/organizations/{deleted}"),
            &root.token,
            &pro,
        )
        .await;
    let malformed = app
        .patch_as("/v1/admin/organizations/usr_nope", &root.token, &pro)
        .await;
    let seen_by_owner = app
        .get_as(&format!("/v1/organizations/{org}"), &ada.token)
        .await;
    let log = app
        .get_as(
            &format!("/v1/organizations/{org}/audit-logs?action=organization.updated"),
            &ada.token,
        )
        .await;

    // Assert
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    for res in [&by_owner, &by_key] {
        assert_eq!(res.status, 403, "{}", res.text);
        assert_eq!(res.code(), "PLATFORM_ADMIN_REQUIRED");
    }
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.body["id"], org.as_str());
    assert_eq!(set.body["plan"], "pro");
    assert_eq!(set.body["slug"], "beta");
    assert!(set.body.get("role").is_none(), "{}", set.text);
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(missing.status, 422, "{}", missing.text);
    assert_eq!(missing.error_fields(), ["plan"]);
    assert_eq!(unknown.status, 422, "{}", unknown.text);
    assert_eq!(unknown.error_fields(), ["plan"]);
    for res in [&gone, &malformed] {
        assert_eq!(res.status, 404, "{}", res.text);
        assert_eq!(res.code(), "ORGANIZATION_NOT_FOUND");
    }
    assert_eq!(seen_by_owner.body["plan"], "pro");
    let items = log.body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "the same plan again records nothing: {}",
        log.text
    );
    assert_eq!(items[0]["actorType"], "user");
    assert_eq!(items[0]["actorId"], root.user_id.as_str());
    assert_eq!(items[0]["entityId"], org.as_str());
    assert_eq!(items[0]["changes"], json!({"plan": ["free", "pro"]}));
}

on_both_databases!(
    the_cli_promotes_and_demotes_once_and_audits_it,
    only_a_platform_admin_may_call_the_admin_routes,
    the_user_list_shows_inactive_users_searches_and_pages_by_cursor,
    deactivation_ends_sessions_at_once_and_reactivation_allows_sign_in,
    an_admin_cannot_deactivate_themself,
    unknown_malformed_or_deleted_user_ids_are_404,
    the_waitlist_lists_filters_by_role_and_rejects_unknown_roles,
    the_audit_log_holds_the_account_events_only_and_filters_them,
    a_platform_admin_sets_an_organizations_plan,
);
