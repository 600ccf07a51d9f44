//! Invitations end to end: invite (token to the outbox), list, revoke, accept.

use awc::http::Method;
use chrono::TimeDelta;
use domain::MemberRole;
use groundwork_tests::Backend;
use groundwork_tests::app::{SignedUp, TestApp, TestResponse, spawn_app};
use groundwork_tests::on_both_databases;
use infra::entities::invitations;
use infra::repositories::OutboxRepository;
use infra::security::hash_token;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

/// The payload of the newest email in the outbox.
async fn last_email(app: &TestApp) -> Value {
    OutboxRepository::at(app.database.conn(), chrono::Utc::now())
        .pending(1000)
        .await
        .unwrap()
        .pop()
        .expect("an email in the outbox")
        .payload
}

async fn invite(app: &TestApp, org: &str, token: &str, email: &str, role: &str) -> TestResponse {
    app.post_as(
        &format!("/v1/organizations/{org}/invitations"),
        token,
        &json!({"email": email, "role": role}),
    )
    .await
}

/// Invites `email` as a member and returns the token from the outbox.
async fn invited_token(app: &TestApp, org: &str, owner: &SignedUp, email: &str) -> String {
    let res = invite(app, org, &owner.token, email, "member").await;
    assert_eq!(res.status, 201, "{}", res.text);
    last_email(app).await["data"]["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn accept(app: &TestApp, token: &str, invitation_token: &str) -> TestResponse {
    app.post_as(
        "/v1/invitations/accept",
        token,
        &json!({"token": invitation_token}),
    )
    .await
}

async fn an_invitation_queues_its_token_by_email_and_never_returns_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;

    let res = invite(&app, &org, &ada.token, " Grace@Example.com ", "admin").await;

    assert_eq!(res.status, 201, "{}", res.text);
    assert!(res.body["id"].as_str().unwrap().starts_with("inv_"));
    assert_eq!(res.body["email"], "grace@example.com");
    assert_eq!(res.body["role"], "admin");
    assert_eq!(res.body["invitedBy"], ada.user_id.as_str());
    let created =
        chrono::DateTime::parse_from_rfc3339(res.body["createdAt"].as_str().unwrap()).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(res.body["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, TimeDelta::days(7));
    let email = last_email(&app).await;
    let token = email["data"]["token"].as_str().unwrap();
    assert!(
        !res.text.contains(token),
        "the token never appears in a response"
    );
    assert!(res.body.get("token").is_none());
    assert_eq!(email["to"], "grace@example.com");
    assert_eq!(email["template"], "invitation");
    assert_eq!(email["data"]["organizationId"], org.as_str());
    assert_eq!(email["data"]["organizationName"], "Acme");
    assert_eq!(email["data"]["role"], "admin");
    let rows = invitations::Entity::find()
        .all(app.database.conn())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].token_hash, hash_token(token));
}

async fn the_invited_user_accepts_once_and_becomes_a_member(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let token = invited_token(&app, &org, &ada, "grace@example.com").await;
    let grace = app.create_user("grace@example.com").await;

    let res = accept(&app, &grace.token, &token).await;

    assert_eq!(res.status, 200, "{}", res.text);
    assert!(res.body["id"].as_str().unwrap().starts_with("mem_"));
    assert_eq!(res.body["role"], "member");
    assert_eq!(res.body["user"]["id"], grace.user_id.as_str());
    let org_view = app
        .get_as(&format!("/v1/organizations/{org}"), &grace.token)
        .await;
    assert_eq!(org_view.status, 200);
    assert_eq!(org_view.body["role"], "member");
    let pending = app
        .get_as(&format!("/v1/organizations/{org}/invitations"), &ada.token)
        .await;
    assert_eq!(pending.body["items"], json!([]));

    let reused = accept(&app, &grace.token, &token).await;
    assert_eq!(reused.status, 422, "{}", reused.text);
    assert_eq!(reused.code(), "INVALID_TOKEN");
}

async fn an_invitation_for_another_email_is_forbidden_and_stays_pending(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let token = invited_token(&app, &org, &ada, "grace@example.com").await;
    let mallory = app.create_user("mallory@example.com").await;

    let res = accept(&app, &mallory.token, &token).await;

    assert_eq!(res.status, 403, "{}", res.text);
    assert_eq!(res.code(), "INVITATION_EMAIL_MISMATCH");
    assert_eq!(
        app.get_as(&format!("/v1/organizations/{org}"), &mallory.token)
            .await
            .status,
        404
    );
    let grace = app.create_user("grace@example.com").await;
    assert_eq!(accept(&app, &grace.token, &token).await.status, 200);
}

async fn unknown_revoked_expired_and_orphaned_tokens_are_invalid(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let grace = app.create_user("grace@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;

    let unknown = accept(&app, &grace.token, "no-such-token").await;
    assert_eq!(unknown.status, 422);
    assert_eq!(unknown.code(), "INVALID_TOKEN");

    let revoked = invited_token(&app, &org, &ada, "grace@example.com").await;
    let id = app
        .get_as(&format!("/v1/organizations/{org}/invitations"), &ada.token)
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoke = app
        .delete_as(
            &format!("/v1/organizations/{org}/invitations/{id}"),
            &ada.token,
        )
        .await;
    assert_eq!(revoke.status, 204, "{}", revoke.text);
    let res = accept(&app, &grace.token, &revoked).await;
    assert_eq!(res.status, 422, "revoked: {}", res.text);
    assert_eq!(res.code(), "INVALID_TOKEN");

    let orphan_org = app.create_organization(&ada.token, "Orphan").await;
    let orphaned = invited_token(&app, &orphan_org, &ada, "orphan@example.com").await;
    let deleted = app
        .delete_as(&format!("/v1/organizations/{orphan_org}"), &ada.token)
        .await;
    assert_eq!(deleted.status, 204);
    let orphan = app.create_user("orphan@example.com").await;
    let res = accept(&app, &orphan.token, &orphaned).await;
    assert_eq!(res.status, 422, "organization deleted: {}", res.text);
    assert_eq!(res.code(), "INVALID_TOKEN");

    for body in [json!({}), json!({"token": ""}), json!({"token": 5})] {
        let res = app
            .post_as("/v1/invitations/accept", &ada.token, &body)
            .await;
        assert_eq!(res.status, 422, "{body}");
        assert_eq!(res.code(), "VALIDATION_FAILED");
        assert_eq!(res.error_fields(), ["token"]);
    }

    let expired = invited_token(&app, &org, &ada, "late@example.com").await;
    app.clock.advance(TimeDelta::days(8));
    // Signed up after the jump, so the session is fresh.
    let late = app.create_user("late@example.com").await;
    let res = accept(&app, &late.token, &expired).await;
    assert_eq!(res.status, 422, "expired: {}", res.text);
    assert_eq!(res.code(), "INVALID_TOKEN");
}

async fn accepting_when_already_a_member_is_a_conflict(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let token = invited_token(&app, &org, &ada, "grace@example.com").await;
    let grace = app.create_user("grace@example.com").await;
    app.add_member(&org, &grace.user_id, MemberRole::Admin)
        .await;

    let res = accept(&app, &grace.token, &token).await;

    assert_eq!(res.status, 409, "{}", res.text);
    assert_eq!(res.code(), "ALREADY_MEMBER");
    let row = invitations::Entity::find()
        .one(app.database.conn())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.accepted_at, None,
        "nothing of the refused acceptance is kept"
    );
}

async fn inviting_follows_the_role_policy_and_refuses_duplicates(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let adam = app.create_user("adam@example.com").await;
    let mo = app.create_user("mo@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    app.add_member(&org, &adam.user_id, MemberRole::Admin).await;
    app.add_member(&org, &mo.user_id, MemberRole::Member).await;

    let by_member = invite(&app, &org, &mo.token, "a@example.com", "member").await;
    assert_eq!(by_member.status, 403);
    assert_eq!(by_member.code(), "INSUFFICIENT_ROLE");
    let owner_by_admin = invite(&app, &org, &adam.token, "a@example.com", "owner").await;
    assert_eq!(owner_by_admin.status, 403);
    assert_eq!(owner_by_admin.code(), "INSUFFICIENT_ROLE");
    assert_eq!(
        invite(&app, &org, &adam.token, "a@example.com", "admin")
            .await
            .status,
        201
    );
    assert_eq!(
        invite(&app, &org, &ada.token, "b@example.com", "owner")
            .await
            .status,
        201
    );

    let member = invite(&app, &org, &ada.token, "MO@example.com", "member").await;
    assert_eq!(member.status, 409, "{}", member.text);
    assert_eq!(member.code(), "ALREADY_MEMBER");
    let pending = invite(&app, &org, &ada.token, "A@Example.com", "member").await;
    assert_eq!(pending.status, 409, "{}", pending.text);
    assert_eq!(pending.code(), "INVITATION_PENDING");

    // Once the pending one expires, the email may be invited again.
    app.clock.advance(TimeDelta::days(8));
    // Sessions made before the jump have expired too: act as a fresh owner.
    let fresh_owner = app.create_user("owner2@example.com").await;
    app.add_member(&org, &fresh_owner.user_id, MemberRole::Owner)
        .await;
    assert_eq!(
        invite(&app, &org, &fresh_owner.token, "a@example.com", "member")
            .await
            .status,
        201
    );

    for (body, fields) in [
        (json!({}), vec!["email", "role"]),
        (
            json!({"email": "nope", "role": "boss"}),
            vec!["email", "role"],
        ),
        (json!({"email": "c@example.com"}), vec!["role"]),
    ] {
        let res = app
            .post_as(
                &format!("/v1/organizations/{org}/invitations"),
                &fresh_owner.token,
                &body,
            )
            .await;
        assert_eq!(res.status, 422, "{body}: {}", res.text);
        assert_eq!(res.error_fields(), fields);
    }
}

async fn the_pending_list_and_revocation_are_for_admins(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let mo = app.create_user("mo@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    app.add_member(&org, &mo.user_id, MemberRole::Member).await;
    let accepted = invited_token(&app, &org, &ada, "grace@example.com").await;
    let grace = app.create_user("grace@example.com").await;
    let accepted_member = accept(&app, &grace.token, &accepted).await;
    assert_eq!(accepted_member.status, 200);
    invited_token(&app, &org, &ada, "b@example.com").await;
    invited_token(&app, &org, &ada, "a@example.com").await;
    let list_path = format!("/v1/organizations/{org}/invitations");

    let res = app
        .get_as(
            &format!("{list_path}?sortBy=email&sortDirection=asc"),
            &ada.token,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let emails: Vec<&str> = res.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["a@example.com", "b@example.com"]);
    let first = res.body["items"][0]["id"].as_str().unwrap().to_owned();

    let by_member = app.get_as(&list_path, &mo.token).await;
    assert_eq!(by_member.status, 403);
    assert_eq!(by_member.code(), "INSUFFICIENT_ROLE");
    let revoke_path = format!("{list_path}/{first}");
    let revoke_by_member = app.delete_as(&revoke_path, &mo.token).await;
    assert_eq!(revoke_by_member.status, 403);

    assert_eq!(app.delete_as(&revoke_path, &ada.token).await.status, 204);
    let again = app.delete_as(&revoke_path, &ada.token).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.code(), "INVITATION_NOT_FOUND");
    let after = app.get_as(&list_path, &ada.token).await;
    assert_eq!(after.body["items"].as_array().unwrap().len(), 1);

    let accepted_id = invitations::Entity::find()
        .all(app.database.conn())
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.accepted_at.is_some())
        .map(|i| domain::InvitationId::from(i.id).to_string())
        .unwrap();
    let used = app
        .delete_as(&format!("{list_path}/{accepted_id}"), &ada.token)
        .await;
    assert_eq!(used.status, 404, "an accepted invitation is not pending");
}

async fn invitation_routes_require_a_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let body = json!({"email": "a@example.com", "role": "member", "token": "x"});
    let inv = domain::InvitationId::new();
    for (method, path, body) in [
        (
            Method::POST,
            format!("/v1/organizations/{org}/invitations"),
            Some(&body),
        ),
        (
            Method::GET,
            format!("/v1/organizations/{org}/invitations"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/organizations/{org}/invitations/{inv}"),
            None,
        ),
        (
            Method::POST,
            "/v1/invitations/accept".to_owned(),
            Some(&body),
        ),
    ] {
        let res = app.request(method.clone(), &path, None, body).await;
        assert_eq!(res.status, 401, "{method} {path}");
    }
}

on_both_databases!(
    an_invitation_queues_its_token_by_email_and_never_returns_it,
    the_invited_user_accepts_once_and_becomes_a_member,
    an_invitation_for_another_email_is_forbidden_and_stays_pending,
    unknown_revoked_expired_and_orphaned_tokens_are_invalid,
    accepting_when_already_a_member_is_a_conflict,
    inviting_follows_the_role_policy_and_refuses_duplicates,
    the_pending_list_and_revocation_are_for_admins,
    invitation_routes_require_a_session,
);
