//! Plan limits (the organization's plan row in `plans`): members plus pending invitations, and active
//! API keys; going over is 403 `PLAN_LIMIT_REACHED`, also under concurrency.

use futures_util::future::join_all;
use groundwork_tests::Backend;
use groundwork_tests::app::{TestApp, spawn_app_with_free_plan};
use groundwork_tests::on_both_databases;
use serde_json::json;

/// A free plan of 3 members and 2 keys.
const SMALL_FREE_PLAN: &[(&str, i64)] = &[("max_members", 3), ("max_api_keys", 2)];

async fn invite(
    app: &TestApp,
    token: &str,
    org: &str,
    email: &str,
) -> groundwork_tests::app::TestResponse {
    app.post_as(
        &format!("/v1/organizations/{org}/invitations"),
        token,
        &json!({"email": email, "role": "member"}),
    )
    .await
}

/// The token of the newest email to `email` in the outbox.
async fn outbox_token_for(app: &TestApp, email: &str) -> String {
    use sea_orm::EntityTrait;
    infra::entities::outbox_messages::Entity::find()
        .all(app.database.conn())
        .await
        .unwrap()
        .into_iter()
        .rev()
        .find(|m| m.payload["to"] == email)
        .and_then(|m| m.payload["data"]["token"].as_str().map(str::to_owned))
        .expect("an email with a token")
}

async fn a_free_organization_stops_at_its_member_cap(backend: Backend) {
    // Arrange: the owner plus two invitations fill a cap of 3.
    let app = spawn_app_with_free_plan(backend, SMALL_FREE_PLAN).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    assert_eq!(
        invite(&app, &ada.token, &org, "b@example.com").await.status,
        201
    );
    assert_eq!(
        invite(&app, &ada.token, &org, "c@example.com").await.status,
        201
    );

    // Act
    let over = invite(&app, &ada.token, &org, "d@example.com").await;
    // Accepting does not count twice: still full, not over.
    let bob = app.create_user("b@example.com").await;
    let token = outbox_token_for(&app, "b@example.com").await;
    let accepted = app
        .post_as(
            "/v1/invitations/accept",
            &bob.token,
            &json!({"token": token}),
        )
        .await;
    let still_over = invite(&app, &ada.token, &org, "d@example.com").await;
    // Upgrading the plan (a platform admin's doing) makes room.
    let root = app.create_user("root@example.com").await;
    app.promote_to_platform_admin("root@example.com").await;
    let upgraded = app
        .patch_as(
            &format!("/v1/admin/organizations/{org}"),
            &root.token,
            &json!({"plan": "pro"}),
        )
        .await;
    let after_upgrade = invite(&app, &ada.token, &org, "d@example.com").await;

    // Assert
    assert_eq!(over.status, 403);
    assert_eq!(over.code(), "PLAN_LIMIT_REACHED");
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(still_over.code(), "PLAN_LIMIT_REACHED");
    assert_eq!(upgraded.status, 200, "{}", upgraded.text);
    assert_eq!(after_upgrade.status, 201);
}

async fn active_api_keys_are_capped_and_a_revoked_one_frees_its_place(backend: Backend) {
    // Arrange
    let app = spawn_app_with_free_plan(backend, SMALL_FREE_PLAN).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let (first, _) = app.create_api_key(&ada.token, &org, "member").await;
    app.create_api_key(&ada.token, &org, "member").await;
    let path = format!("/v1/organizations/{org}/api-keys");
    let body = json!({"name": "third", "role": "member"});

    // Act
    let over = app.post_as(&path, &ada.token, &body).await;
    let revoked = app.delete_as(&format!("{path}/{first}"), &ada.token).await;
    let after = app.post_as(&path, &ada.token, &body).await;

    // Assert
    assert_eq!(over.status, 403);
    assert_eq!(over.code(), "PLAN_LIMIT_REACHED");
    assert_eq!(revoked.status, 204);
    assert_eq!(after.status, 201, "{}", after.text);
}

async fn concurrent_requests_cannot_together_exceed_a_cap(backend: Backend) {
    // Arrange
    let app = spawn_app_with_free_plan(backend, SMALL_FREE_PLAN).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;

    // Act: 8 invitations and 8 keys at once, against room for 2 of each.
    let invitations = join_all((0..8).map(|i| {
        let (app, token, org) = (&app, &ada.token, &org);
        async move { invite(app, token, org, &format!("u{i}@example.com")).await }
    }));
    let keys = join_all((0..8).map(|i| {
        let (app, token, org) = (&app, &ada.token, &org);
        async move {
            app.post_as(
                &format!("/v1/organizations/{org}/api-keys"),
                token,
                &json!({"name": format!("k{i}"), "role": "member"}),
            )
            .await
        }
    }));
    let (invitations, keys) = futures_util::future::join(invitations, keys).await;

    // Assert
    for responses in [&invitations, &keys] {
        let created = responses.iter().filter(|r| r.status == 201).count();
        let refused = responses
            .iter()
            .filter(|r| r.status == 403 && r.code() == "PLAN_LIMIT_REACHED")
            .count();
        assert_eq!(
            (created, refused),
            (2, 6),
            "{:?}",
            responses.iter().map(|r| &r.text).collect::<Vec<_>>()
        );
    }
}

on_both_databases!(
    a_free_organization_stops_at_its_member_cap,
    active_api_keys_are_capped_and_a_revoked_one_frees_its_place,
    concurrent_requests_cannot_together_exceed_a_cap,
);
