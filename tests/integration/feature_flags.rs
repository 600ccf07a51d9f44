//! Feature flags: platform admins manage them at `/v1/admin/feature-flags`,
//! members read their organization's values with a reason, the same on every
//! server over the same database. (The bucketing's statistics are unit tests
//! in `domain::feature_flags`.)

use groundwork_tests::Backend;
use groundwork_tests::app::{TestApp, spawn_app, spawn_app_on};
use groundwork_tests::on_both_databases;
use serde_json::{Value, json};

const FLAGS: &str = "/v1/admin/feature-flags";

/// A platform admin's token.
async fn admin(app: &TestApp) -> String {
    let root = app.create_user("root@example.com").await;
    app.promote_to_platform_admin("root@example.com").await;
    root.token
}

async fn create_flag(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app.post_as(FLAGS, token, &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body
}

async fn admins_create_read_list_change_and_delete_flags(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let token = admin(&app).await;

    // Act: create
    let made = app
        .post_as(
            FLAGS,
            &token,
            &json!({"key": "new-dashboard", "description": "The new UI", "rolloutPercent": 30}),
        )
        .await;

    // Assert
    assert_eq!(made.status, 201, "{}", made.text);
    assert!(made.body["id"].as_str().unwrap().starts_with("flg_"));
    assert_eq!(made.body["enabled"], false);
    assert_eq!(made.body["rolloutPercent"], 30);
    assert_eq!(made.body["allowOrganizations"], json!([]));
    assert_eq!(
        made.headers.get("location").map(String::as_str),
        Some("/v1/admin/feature-flags/new-dashboard")
    );
    let one = app.get_as(&format!("{FLAGS}/new-dashboard"), &token).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["key"], "new-dashboard");

    create_flag(
        &app,
        &token,
        json!({"key": "beta.search", "description": "Search"}),
    )
    .await;
    let page = app.get_as(&format!("{FLAGS}?sortBy=key"), &token).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let keys: Vec<_> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].clone())
        .collect();
    // Newest-first by default; by key, descending.
    assert_eq!(keys, [json!("new-dashboard"), json!("beta.search")]);
    let found = app
        .get_as(&format!("{FLAGS}?searchQuery=new%20UI"), &token)
        .await;
    assert_eq!(
        found.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        found.text
    );

    let changed = app
        .patch_as(
            &format!("{FLAGS}/new-dashboard"),
            &token,
            &json!({"enabled": true, "description": null}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["enabled"], true);
    assert_eq!(changed.body["description"], Value::Null);
    assert_eq!(changed.body["rolloutPercent"], 30);

    let gone = app
        .delete_as(&format!("{FLAGS}/new-dashboard"), &token)
        .await;
    assert_eq!(gone.status, 204);
    let missing = app.get_as(&format!("{FLAGS}/new-dashboard"), &token).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.code(), "FEATURE_FLAG_NOT_FOUND");
    assert_eq!(
        app.delete_as(&format!("{FLAGS}/new-dashboard"), &token)
            .await
            .status,
        404
    );

    let trail = app
        .get_as("/v1/admin/audit-logs?action=feature_flag.created", &token)
        .await;
    assert_eq!(trail.status, 200, "{}", trail.text);
    let actions: Vec<_> = app.get_as("/v1/admin/audit-logs", &token).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .filter(|a| a.starts_with("feature_flag."))
        .collect();
    for action in [
        "feature_flag.created",
        "feature_flag.updated",
        "feature_flag.deleted",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

async fn only_platform_admins_manage_flags(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = admin(&app).await;
    create_flag(&app, &token, json!({"key": "k"})).await;
    let ada = app.create_user("ada@example.com").await;

    for res in [
        app.post_as(FLAGS, &ada.token, &json!({"key": "x"})).await,
        app.get_as(FLAGS, &ada.token).await,
        app.get_as(&format!("{FLAGS}/k"), &ada.token).await,
        app.patch_as(&format!("{FLAGS}/k"), &ada.token, &json!({"enabled": true}))
            .await,
        app.delete_as(&format!("{FLAGS}/k"), &ada.token).await,
    ] {
        assert_eq!(res.status, 403, "{}", res.text);
        assert_eq!(res.code(), "PLATFORM_ADMIN_REQUIRED");
    }
    assert_eq!(
        app.get_as(&format!("{FLAGS}/k"), &token).await.body["enabled"],
        false
    );
}

async fn a_taken_key_is_409_and_bad_values_are_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = admin(&app).await;
    create_flag(&app, &token, json!({"key": "dup"})).await;

    let again = app.post_as(FLAGS, &token, &json!({"key": "dup"})).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.code(), "FLAG_KEY_TAKEN");

    let bad = app
        .post_as(
            FLAGS,
            &token,
            &json!({"key": "Bad Key", "rolloutPercent": 101}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(bad.error_fields(), ["key", "rolloutPercent"]);
    let bad = app
        .patch_as(
            &format!("{FLAGS}/dup"),
            &token,
            &json!({"rolloutPercent": -1}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(bad.error_fields(), ["rolloutPercent"]);
    let bad = app
        .post_as(
            FLAGS,
            &token,
            &json!({"key": "x", "denyOrganizations": ["usr_nope"]}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);
}

/// The values `token`'s caller reads for `org`.
async fn values(app: &TestApp, token: &str, org: &str) -> Value {
    let res = app
        .get_as(&format!("/v1/organizations/{org}/feature-flags"), token)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["flags"].clone()
}

async fn members_read_each_flag_s_value_and_reason(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let token = admin(&app).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let bob = app.create_user("bob@example.com").await;
    app.add_member(&org, &bob.user_id, domain::MemberRole::Member)
        .await;
    let on = |key: &str, extra: Value| {
        let mut body = json!({"key": key, "enabled": true});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    create_flag(&app, &token, json!({"key": "off", "rolloutPercent": 100})).await;
    create_flag(
        &app,
        &token,
        on(
            "denied",
            json!({"rolloutPercent": 100, "allowOrganizations": [org], "denyOrganizations": [org]}),
        ),
    )
    .await;
    create_flag(
        &app,
        &token,
        on(
            "allowed",
            json!({"rolloutPercent": 0, "allowOrganizations": [org]}),
        ),
    )
    .await;
    create_flag(&app, &token, on("everyone", json!({"rolloutPercent": 100}))).await;
    create_flag(&app, &token, on("nobody", json!({"rolloutPercent": 0}))).await;

    // Act
    let flags = values(&app, &bob.token, &org).await;

    // Assert
    assert_eq!(
        flags,
        json!({
            "allowed": {"enabled": true, "reason": "TARGETING_MATCH"},
            "denied": {"enabled": false, "reason": "DISABLED"},
            "everyone": {"enabled": true, "reason": "SPLIT"},
            "nobody": {"enabled": false, "reason": "DEFAULT"},
            "off": {"enabled": false, "reason": "DISABLED"},
        })
    );
    let stranger = app.create_user("eve@example.com").await;
    let res = app
        .get_as(
            &format!("/v1/organizations/{org}/feature-flags"),
            &stranger.token,
        )
        .await;
    assert_eq!(res.status, 404, "{}", res.text);
}

async fn two_servers_on_one_database_agree(backend: Backend) {
    // Arrange: 20 organizations and a flag at 30%.
    let app = spawn_app(backend).await;
    let token = admin(&app).await;
    let ada = app.create_user("ada@example.com").await;
    let mut orgs = Vec::new();
    for i in 0..20 {
        orgs.push(
            app.create_organization(&ada.token, &format!("Org {i}"))
                .await,
        );
    }
    create_flag(
        &app,
        &token,
        json!({"key": "rollout", "enabled": true, "rolloutPercent": 30}),
    )
    .await;
    let other = spawn_app_on(&app.database_url(), &[]).await;

    // Act, Assert
    let mut on = 0;
    for org in &orgs {
        let first = values(&app, &ada.token, org).await;
        let second = values(&other, &ada.token, org).await;
        assert_eq!(first, second, "{org}");
        let id = domain::OrganizationId::parse(org).unwrap();
        let key = domain::feature_flags::FlagKey::parse("rollout").unwrap();
        let expected = domain::feature_flags::bucket(&key, id) <= 30;
        assert_eq!(first["rollout"]["enabled"], expected, "{org}");
        on += usize::from(expected);
    }
    assert!(on < orgs.len(), "30% reached all 20");
}

on_both_databases!(
    admins_create_read_list_change_and_delete_flags,
    only_platform_admins_manage_flags,
    a_taken_key_is_409_and_bad_values_are_422,
    members_read_each_flag_s_value_and_reason,
    two_servers_on_one_database_agree,
);
