//! Every mutating request is one transaction: a step that fails late leaves
//! nothing of the request behind, and the same request succeeds once the fault is
//! gone. Faults are injected by a trigger on the real database.

use groundwork_tests::app::{TestApp, spawn_app};
use groundwork_tests::faults::{Write, allow_writes, count_rows, fail_inserts_into, fail_writes};
use groundwork_tests::{Backend, on_both_databases};
use serde_json::json;

async fn create_org(app: &TestApp, token: &str, name: &str) -> String {
    let res = app
        .post_as("/v1/organizations", token, &json!({"name": name}))
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["id"].as_str().unwrap().to_owned()
}

async fn creating_an_organization_leaves_nothing_when_adding_the_owner_fails(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.create_user("owner@example.com").await;
    fail_inserts_into(&app.database, "organization_members").await;

    let res = app
        .post_as("/v1/organizations", &owner.token, &json!({"name": "Acme"}))
        .await;

    assert_eq!(res.status, 500, "{}", res.text);
    assert_eq!(res.code(), "INTERNAL_ERROR");
    assert_eq!(count_rows(&app.database, "organizations").await, 0);
    allow_writes(&app.database, "organization_members").await;
    let retry = app
        .post_as("/v1/organizations", &owner.token, &json!({"name": "Acme"}))
        .await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(
        retry.body["slug"], "acme",
        "the failed attempt kept no slug"
    );
}

async fn inviting_leaves_nothing_when_queueing_the_email_fails(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.create_user("owner@example.com").await;
    let org = create_org(&app, &owner.token, "Acme").await;
    fail_inserts_into(&app.database, "outbox_messages").await;
    let path = format!("/v1/organizations/{org}/invitations");
    let invite = json!({"email": "new@example.com", "role": "member"});

    let res = app.post_as(&path, &owner.token, &invite).await;

    assert_eq!(res.status, 500, "{}", res.text);
    assert_eq!(count_rows(&app.database, "invitations").await, 0);
    allow_writes(&app.database, "outbox_messages").await;
    let retry = app.post_as(&path, &owner.token, &invite).await;
    assert_eq!(retry.status, 201, "not INVITATION_PENDING: {}", retry.text);
}

async fn deleting_an_organization_is_undone_when_the_cascade_fails(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.create_user("owner@example.com").await;
    let org = create_org(&app, &owner.token, "Acme").await;
    let invite = app
        .post_as(
            &format!("/v1/organizations/{org}/invitations"),
            &owner.token,
            &json!({"email": "new@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(invite.status, 201, "{}", invite.text);
    // The organization and its members are marked first; the invitations last.
    fail_writes(&app.database, "invitations", Write::Update).await;

    let res = app
        .delete_as(&format!("/v1/organizations/{org}"), &owner.token)
        .await;

    assert_eq!(res.status, 500, "{}", res.text);
    let still_there = app
        .get_as(&format!("/v1/organizations/{org}"), &owner.token)
        .await;
    assert_eq!(still_there.status, 200, "{}", still_there.text);
    let members = app
        .get_as(&format!("/v1/organizations/{org}/members"), &owner.token)
        .await;
    assert_eq!(members.body["items"].as_array().map(Vec::len), Some(1));
    allow_writes(&app.database, "invitations").await;
    let retry = app
        .delete_as(&format!("/v1/organizations/{org}"), &owner.token)
        .await;
    assert_eq!(retry.status, 204, "{}", retry.text);
}

async fn accepting_an_invitation_keeps_the_token_usable_when_joining_fails(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.create_user("owner@example.com").await;
    let guest = app.create_user("guest@example.com").await;
    let org = create_org(&app, &owner.token, "Acme").await;
    let invite = app
        .post_as(
            &format!("/v1/organizations/{org}/invitations"),
            &owner.token,
            &json!({"email": "guest@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(invite.status, 201, "{}", invite.text);
    let token = invitation_token(&app).await;
    fail_inserts_into(&app.database, "organization_members").await;

    let res = app
        .post_as(
            "/v1/invitations/accept",
            &guest.token,
            &json!({"token": token}),
        )
        .await;

    assert_eq!(res.status, 500, "{}", res.text);
    allow_writes(&app.database, "organization_members").await;
    let retry = app
        .post_as(
            "/v1/invitations/accept",
            &guest.token,
            &json!({"token": token}),
        )
        .await;
    assert_eq!(
        retry.status, 200,
        "the token was not used up: {}",
        retry.text
    );
}

/// The token of the newest invitation email in the outbox.
async fn invitation_token(app: &TestApp) -> String {
    use infra::repositories::OutboxRepository;
    let messages = OutboxRepository::at(app.database.conn(), chrono::Utc::now())
        .pending(100)
        .await
        .unwrap();
    messages
        .iter()
        .rev()
        .find(|m| m.payload["template"] == "invitation")
        .and_then(|m| m.payload["data"]["token"].as_str())
        .expect("an invitation email in the outbox")
        .to_owned()
}

on_both_databases!(
    creating_an_organization_leaves_nothing_when_adding_the_owner_fails,
    inviting_leaves_nothing_when_queueing_the_email_fails,
    deleting_an_organization_is_undone_when_the_cascade_fails,
    accepting_an_invitation_keeps_the_token_usable_when_joining_fails,
);
