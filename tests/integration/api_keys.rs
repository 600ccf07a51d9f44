//! `/v1/organizations/{orgId}/api-keys`: a key is shown once, authenticates in
//! its own organization only, and stops at once when revoked, expired or its
//! organization is deleted; its use is written at most once a minute.

use chrono::TimeDelta;
use groundwork_tests::Backend;
use groundwork_tests::app::{
    SignedUp, TestApp, spawn_app, spawn_app_with_free_plan, test_settings,
};
use groundwork_tests::on_both_databases;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

async fn owner_and_org(app: &TestApp) -> (String, String) {
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    (ada.token, org)
}

async fn last_used_at(app: &TestApp, key_id: &str) -> Option<String> {
    let id = domain::ApiKeyId::parse(key_id).unwrap();
    let conn = app.database.conn();
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            match conn.get_database_backend() {
                sea_orm::DbBackend::Postgres => {
                    "SELECT CAST(last_used_at AS text) AS t FROM api_keys WHERE id = $1"
                }
                _ => "SELECT CAST(last_used_at AS text) AS t FROM api_keys WHERE id = ?",
            },
            [id.as_uuid().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<Option<String>>("", "t").unwrap()
}

async fn a_key_is_shown_once_and_lists_never_reveal_it(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;

    // Act
    let created = app
        .post_as(
            &format!("/v1/organizations/{org}/api-keys"),
            &token,
            &json!({"name": "CI deploys", "role": "member"}),
        )
        .await;
    let list = app
        .get_as(&format!("/v1/organizations/{org}/api-keys"), &token)
        .await;

    // Assert
    assert_eq!(created.status, 201, "{}", created.text);
    let key = created.body["key"].as_str().unwrap();
    assert!(key.starts_with("gwk_") && key.len() == 64, "{key}");
    assert!(key.starts_with(created.body["prefix"].as_str().unwrap()));
    assert_eq!(created.body["role"], "member");
    assert_eq!(list.status, 200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert!(list.body["items"][0].get("key").is_none());
    let secret = &key[21..];
    assert!(!list.text.contains(secret));
    let stored = app
        .database
        .conn()
        .query_one_raw(Statement::from_string(
            app.database.conn().get_database_backend(),
            "SELECT secret_hash FROM api_keys",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<String>("", "secret_hash")
        .unwrap();
    assert!(!stored.contains(secret), "the secret is stored only hashed");
}

async fn a_key_calls_its_organization_and_the_call_is_audited(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let (key_id, key) = app.create_api_key(&token, &org, "admin").await;

    // Act
    let read = app.get_as(&format!("/v1/organizations/{org}"), &key).await;
    let members = app
        .get_as(&format!("/v1/organizations/{org}/members"), &key)
        .await;
    let patch = app
        .patch_as(
            &format!("/v1/organizations/{org}"),
            &key,
            &json!({"name": "Acme Robots"}),
        )
        .await;
    let log = app
        .get_as(
            &format!("/v1/organizations/{org}/audit-logs?action=organization.updated"),
            &token,
        )
        .await;

    // Assert
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["role"], "admin");
    assert_eq!(members.status, 200);
    assert_eq!(patch.status, 200, "{}", patch.text);
    let items = log.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", log.text);
    assert_eq!(items[0]["actorType"], "api_key");
    assert_eq!(items[0]["actorId"], key_id.as_str());
    assert_eq!(items[0]["changes"]["name"], json!(["Acme", "Acme Robots"]));
    assert_eq!(
        items[0]["requestId"].as_str(),
        patch.headers.get("x-request-id").map(String::as_str)
    );
}

async fn a_revoked_key_is_refused_at_once(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let (key_id, key) = app.create_api_key(&token, &org, "member").await;
    assert_eq!(
        app.get_as(&format!("/v1/organizations/{org}"), &key)
            .await
            .status,
        200
    );

    // Act
    let revoke = app
        .delete_as(
            &format!("/v1/organizations/{org}/api-keys/{key_id}"),
            &token,
        )
        .await;
    let after = app.get_as(&format!("/v1/organizations/{org}"), &key).await;
    let again = app
        .delete_as(
            &format!("/v1/organizations/{org}/api-keys/{key_id}"),
            &token,
        )
        .await;
    let list = app
        .get_as(&format!("/v1/organizations/{org}/api-keys"), &token)
        .await;
    let log = app
        .get_as(
            &format!("/v1/organizations/{org}/audit-logs?entityId={key_id}"),
            &token,
        )
        .await;

    // Assert
    assert_eq!(revoke.status, 204);
    assert_eq!(after.status, 401);
    assert_eq!(after.code(), "UNAUTHENTICATED");
    assert_eq!(again.status, 404);
    assert_eq!(again.code(), "API_KEY_NOT_FOUND");
    assert_eq!(list.body["items"], json!([]));
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["api_key.revoked", "api_key.created"]);
}

async fn an_expired_key_is_refused(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let expires = (domain::Clock::now(app.clock.as_ref()) + TimeDelta::hours(1)).to_rfc3339();
    let created = app
        .post_as(
            &format!("/v1/organizations/{org}/api-keys"),
            &token,
            &json!({"name": "temporary", "role": "member", "expiresAt": expires}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let key = created.body["key"].as_str().unwrap().to_owned();

    // Act
    let before = app.get_as(&format!("/v1/organizations/{org}"), &key).await;
    app.clock.advance(TimeDelta::hours(2));
    let after = app.get_as(&format!("/v1/organizations/{org}"), &key).await;

    // Assert
    assert_eq!(before.status, 200);
    assert_eq!(after.status, 401);
}

async fn a_deleted_organizations_keys_are_refused_and_stay_revoked(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let (_, key) = app.create_api_key(&token, &org, "admin").await;

    // Act
    let delete = app
        .delete_as(&format!("/v1/organizations/{org}"), &token)
        .await;
    let while_deleted = app.get_as(&format!("/v1/organizations/{org}"), &key).await;
    let restore = app
        .post_as(
            &format!("/v1/organizations/{org}/restore"),
            &token,
            &json!({}),
        )
        .await;
    let after_restore = app.get_as(&format!("/v1/organizations/{org}"), &key).await;

    // Assert
    assert_eq!(delete.status, 204);
    assert_eq!(while_deleted.status, 401);
    assert_eq!(restore.status, 200, "{}", restore.text);
    assert_eq!(after_restore.status, 401, "revoked keys stay revoked");
}

async fn a_key_acts_in_its_own_organization_only(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let other = app.create_organization(&token, "Other").await;
    let (_, key) = app.create_api_key(&token, &org, "admin").await;

    // Act
    let foreign = app
        .get_as(&format!("/v1/organizations/{other}"), &key)
        .await;
    let me = app.get_as("/v1/me", &key).await;
    let list = app.get_as("/v1/organizations", &key).await;
    let new_key = app
        .post_as(
            &format!("/v1/organizations/{org}/api-keys"),
            &key,
            &json!({"name": "child", "role": "member"}),
        )
        .await;
    let invite = app
        .post_as(
            &format!("/v1/organizations/{org}/invitations"),
            &key,
            &json!({"email": "grace@example.com", "role": "member"}),
        )
        .await;

    // Assert
    assert_eq!(foreign.status, 404);
    assert_eq!(foreign.code(), "ORGANIZATION_NOT_FOUND");
    for res in [&me, &list, &new_key, &invite] {
        assert_eq!(res.status, 403, "{}", res.text);
        assert_eq!(res.code(), "USER_REQUIRED");
    }
}

async fn a_keys_role_is_admin_or_member_and_never_above_its_creator(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let mo = app.create_user("mo@example.com").await;
    app.add_member(&org, &mo.user_id, domain::MemberRole::Member)
        .await;
    let path = format!("/v1/organizations/{org}/api-keys");

    // Act
    let owner_key = app
        .post_as(&path, &token, &json!({"name": "x", "role": "owner"}))
        .await;
    let broken = app
        .post_as(
            &path,
            &token,
            &json!({"name": " ", "role": "boss", "expiresAt": "yesterday"}),
        )
        .await;
    let past = app
        .post_as(
            &path,
            &token,
            &json!({"name": "x", "role": "member", "expiresAt": "2000-01-01T00:00:00Z"}),
        )
        .await;
    let by_member = app
        .post_as(&path, &mo.token, &json!({"name": "x", "role": "member"}))
        .await;

    // Assert
    assert_eq!(owner_key.status, 422);
    assert_eq!(owner_key.error_fields(), ["role"]);
    assert_eq!(broken.status, 422);
    assert_eq!(broken.error_fields(), ["name", "role", "expiresAt"]);
    assert_eq!(past.status, 422);
    assert_eq!(past.error_fields(), ["expiresAt"]);
    assert_eq!(by_member.status, 403);
    assert_eq!(by_member.code(), "INSUFFICIENT_ROLE");
}

async fn malformed_or_wrong_keys_are_401(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let (_, key) = app.create_api_key(&token, &org, "member").await;
    let mut tampered = key.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });

    // Act + Assert
    for bad in [tampered.as_str(), &key[..key.len() - 1], "gwk_nothing"] {
        let res = app.get_as(&format!("/v1/organizations/{org}"), bad).await;
        assert_eq!(res.status, 401, "{bad}");
        assert_eq!(res.code(), "UNAUTHENTICATED");
    }
}

async fn last_used_at_is_written_at_most_once_a_minute(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let (key_id, key) = app.create_api_key(&token, &org, "member").await;
    let path = format!("/v1/organizations/{org}");
    assert_eq!(last_used_at(&app, &key_id).await, None);

    // Act
    app.get_as(&path, &key).await;
    let first = last_used_at(&app, &key_id).await;
    app.clock.advance(TimeDelta::seconds(30));
    app.get_as(&path, &key).await;
    let within_a_minute = last_used_at(&app, &key_id).await;
    app.clock.advance(TimeDelta::seconds(31));
    app.get_as(&path, &key).await;
    let after_a_minute = last_used_at(&app, &key_id).await;
    let listed = app
        .get_as(&format!("/v1/organizations/{org}/api-keys"), &token)
        .await;

    // Assert
    assert!(first.is_some());
    assert_eq!(within_a_minute, first, "no write within a minute");
    assert_ne!(after_a_minute, first);
    assert!(listed.body["items"][0]["lastUsedAt"].is_string());
}

// ---------------------------------------------------------------------------
// Offboarding: a key never outlives its creator's standing.

/// Room on the free plan for the three keys of [`offboarding`].
const ROOM_FOR_KEYS: &[(&str, i64)] = &[("max_api_keys", 10)];

/// Ada owns Acme; Adam is its admin and made an admin key and a member key
/// there; Ada made a key of her own.
struct Offboarding {
    ada: SignedUp,
    adam: SignedUp,
    org: String,
    adam_admin_key: (String, String),
    adam_member_key: (String, String),
    ada_key: String,
}

async fn offboarding(app: &TestApp) -> Offboarding {
    let ada = app.create_user("ada@example.com").await;
    let adam = app.create_user("adam@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    app.add_member(&org, &adam.user_id, domain::MemberRole::Admin)
        .await;
    let adam_admin_key = app.create_api_key(&adam.token, &org, "admin").await;
    let adam_member_key = app.create_api_key(&adam.token, &org, "member").await;
    let (_, ada_key) = app.create_api_key(&ada.token, &org, "admin").await;
    for (_, key) in [&adam_admin_key, &adam_member_key] {
        let works = app.get_as(&format!("/v1/organizations/{org}"), key).await;
        assert_eq!(works.status, 200, "{}", works.text);
    }
    Offboarding {
        ada,
        adam,
        org,
        adam_admin_key,
        adam_member_key,
        ada_key,
    }
}

/// The status of a read of the organization with `key`.
async fn status_with(app: &TestApp, org: &str, key: &str) -> u16 {
    app.get_as(&format!("/v1/organizations/{org}"), key)
        .await
        .status
}

/// The keys the organization's trail records as revoked, with who revoked them.
async fn revocations(app: &TestApp, token: &str, org: &str) -> Vec<(String, String)> {
    let log = app
        .get_as(
            &format!("/v1/organizations/{org}/audit-logs?action=api_key.revoked&pageSize=100"),
            token,
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let mut rows: Vec<(String, String)> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["entityId"].as_str().unwrap().to_owned(),
                i["actorId"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn sorted(mut rows: Vec<(String, String)>) -> Vec<(String, String)> {
    rows.sort();
    rows
}

async fn a_removed_members_keys_are_refused_at_once_and_audited(backend: Backend) {
    // Arrange
    let app = spawn_app_with_free_plan(backend, ROOM_FOR_KEYS).await;
    let o = offboarding(&app).await;
    let members = app
        .get_as(
            &format!("/v1/organizations/{}/members?searchQuery=adam", o.org),
            &o.ada.token,
        )
        .await;
    let adam_member = members.body["items"][0]["id"].as_str().unwrap().to_owned();

    // Act
    let removed = app
        .delete_as(
            &format!("/v1/organizations/{}/members/{adam_member}", o.org),
            &o.ada.token,
        )
        .await;

    // Assert
    assert_eq!(removed.status, 204, "{}", removed.text);
    assert_eq!(status_with(&app, &o.org, &o.adam_admin_key.1).await, 401);
    assert_eq!(status_with(&app, &o.org, &o.adam_member_key.1).await, 401);
    assert_eq!(status_with(&app, &o.org, &o.ada_key).await, 200);
    assert_eq!(
        revocations(&app, &o.ada.token, &o.org).await,
        sorted(vec![
            (o.adam_admin_key.0.clone(), o.ada.user_id.clone()),
            (o.adam_member_key.0.clone(), o.ada.user_id.clone()),
        ])
    );
    let keys = app
        .get_as(
            &format!("/v1/organizations/{}/api-keys", o.org),
            &o.ada.token,
        )
        .await;
    assert_eq!(
        keys.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        keys.text
    );
}

async fn a_member_who_leaves_takes_their_keys_along(backend: Backend) {
    // Arrange
    let app = spawn_app_with_free_plan(backend, ROOM_FOR_KEYS).await;
    let o = offboarding(&app).await;
    let members = app
        .get_as(
            &format!("/v1/organizations/{}/members?searchQuery=adam", o.org),
            &o.adam.token,
        )
        .await;
    let adam_member = members.body["items"][0]["id"].as_str().unwrap().to_owned();

    // Act
    let left = app
        .delete_as(
            &format!("/v1/organizations/{}/members/{adam_member}", o.org),
            &o.adam.token,
        )
        .await;

    // Assert
    assert_eq!(left.status, 204, "{}", left.text);
    assert_eq!(status_with(&app, &o.org, &o.adam_admin_key.1).await, 401);
    assert_eq!(status_with(&app, &o.org, &o.adam_member_key.1).await, 401);
    assert_eq!(status_with(&app, &o.org, &o.ada_key).await, 200);
    assert_eq!(revocations(&app, &o.ada.token, &o.org).await.len(), 2);
}

async fn a_demoted_admin_loses_the_keys_above_their_new_role(backend: Backend) {
    // Arrange
    let app = spawn_app_with_free_plan(backend, ROOM_FOR_KEYS).await;
    let o = offboarding(&app).await;
    let members = app
        .get_as(
            &format!("/v1/organizations/{}/members?searchQuery=adam", o.org),
            &o.ada.token,
        )
        .await;
    let adam_member = members.body["items"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/organizations/{}/members/{adam_member}", o.org);

    // Act
    let demoted = app
        .patch_as(&path, &o.ada.token, &json!({"role": "member"}))
        .await;
    let admin_key_after = status_with(&app, &o.org, &o.adam_admin_key.1).await;
    let member_key_after = status_with(&app, &o.org, &o.adam_member_key.1).await;
    let promoted = app
        .patch_as(&path, &o.ada.token, &json!({"role": "admin"}))
        .await;

    // Assert
    assert_eq!(demoted.status, 200, "{}", demoted.text);
    assert_eq!(admin_key_after, 401, "an admin key above a member");
    assert_eq!(
        member_key_after, 200,
        "a member key is within a member's role"
    );
    assert_eq!(promoted.status, 200, "{}", promoted.text);
    assert_eq!(
        status_with(&app, &o.org, &o.adam_admin_key.1).await,
        401,
        "a promotion does not bring a revoked key back"
    );
    assert_eq!(
        revocations(&app, &o.ada.token, &o.org).await,
        [(o.adam_admin_key.0.clone(), o.ada.user_id.clone())]
    );
}

async fn a_deactivated_users_keys_are_refused_at_once_and_stay_revoked(backend: Backend) {
    // Arrange
    let app = spawn_app_with_free_plan(backend, ROOM_FOR_KEYS).await;
    let o = offboarding(&app).await;
    let root = app.create_user("root@example.com").await;
    let settings = test_settings(&app.database_url(), &[]);
    api::commands::set_platform_admin(&settings, "root@example.com", true)
        .await
        .unwrap();
    let user = &o.adam.user_id;

    // Act
    let deactivated = app
        .post_as(
            &format!("/v1/admin/users/{user}/deactivate"),
            &root.token,
            &json!({}),
        )
        .await;
    let admin_key_after = status_with(&app, &o.org, &o.adam_admin_key.1).await;
    let member_key_after = status_with(&app, &o.org, &o.adam_member_key.1).await;
    let reactivated = app
        .post_as(
            &format!("/v1/admin/users/{user}/reactivate"),
            &root.token,
            &json!({}),
        )
        .await;

    // Assert
    assert_eq!(deactivated.status, 200, "{}", deactivated.text);
    assert_eq!(admin_key_after, 401);
    assert_eq!(member_key_after, 401);
    assert_eq!(status_with(&app, &o.org, &o.ada_key).await, 200);
    assert_eq!(reactivated.status, 200, "{}", reactivated.text);
    assert_eq!(
        status_with(&app, &o.org, &o.adam_admin_key.1).await,
        401,
        "reactivation does not bring the keys back"
    );
    assert_eq!(
        revocations(&app, &o.ada.token, &o.org).await,
        sorted(vec![
            (o.adam_admin_key.0.clone(), root.user_id.clone()),
            (o.adam_member_key.0.clone(), root.user_id.clone()),
        ])
    );
}

async fn deleting_ones_account_revokes_the_keys_one_made(backend: Backend) {
    // Arrange
    let app = spawn_app_with_free_plan(backend, ROOM_FOR_KEYS).await;
    let o = offboarding(&app).await;

    // Act
    let deleted = app.delete_as("/v1/me", &o.adam.token).await;

    // Assert
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(status_with(&app, &o.org, &o.adam_admin_key.1).await, 401);
    assert_eq!(status_with(&app, &o.org, &o.adam_member_key.1).await, 401);
    assert_eq!(status_with(&app, &o.org, &o.ada_key).await, 200);
    assert_eq!(
        revocations(&app, &o.ada.token, &o.org).await,
        sorted(vec![
            (o.adam_admin_key.0.clone(), o.adam.user_id.clone()),
            (o.adam_member_key.0.clone(), o.adam.user_id.clone()),
        ])
    );
}

on_both_databases!(
    a_key_is_shown_once_and_lists_never_reveal_it,
    a_key_calls_its_organization_and_the_call_is_audited,
    a_revoked_key_is_refused_at_once,
    an_expired_key_is_refused,
    a_deleted_organizations_keys_are_refused_and_stay_revoked,
    a_key_acts_in_its_own_organization_only,
    a_keys_role_is_admin_or_member_and_never_above_its_creator,
    malformed_or_wrong_keys_are_401,
    last_used_at_is_written_at_most_once_a_minute,
    a_removed_members_keys_are_refused_at_once_and_audited,
    a_member_who_leaves_takes_their_keys_along,
    a_demoted_admin_loses_the_keys_above_their_new_role,
    a_deactivated_users_keys_are_refused_at_once_and_stay_revoked,
    deleting_ones_account_revokes_the_keys_one_made,
);
