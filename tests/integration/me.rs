//! `GET`, `PATCH`, `DELETE /v1/me`.

use domain::{
    Clock, MemberRole, NewMember, NewOrganization, OrganizationId, PersonName, PlanKey, Slug,
    UserId,
};
use groundwork_tests::Backend;
use groundwork_tests::app::{SignedUp, TestApp, spawn_app};
use groundwork_tests::on_both_databases;
use infra::entities::organization_members;
use infra::repositories::{MemberRepository, OrganizationRepository};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::auth::{session_row, sign_in, sign_up_body, user_id, user_row};

async fn me_is_the_signed_in_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.sign_up("ada@example.com").await;

    let res = app.get_as("/v1/me", &signed_up.token).await;

    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["id"], signed_up.user_id.as_str());
    assert_eq!(res.body["email"], "ada@example.com");
    assert_eq!(res.body["type"], "employee");
    assert_eq!(res.body["profession"], "Engineer");
    assert_eq!(res.body["avatarUrl"], Value::Null);
    let anonymous = app.get("/v1/me").await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    assert_eq!(anonymous.code(), "UNAUTHENTICATED");
}

async fn a_verified_email_shows_on_me(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.sign_up("ada@example.com").await;
    let token = crate::auth::emailed_token(&app, "ada@example.com", "email_verification").await;
    let res = app
        .post_json("/v1/auth/verify-email", &json!({ "token": token }))
        .await;
    assert_eq!(res.status, 204);

    let me = app.get_as("/v1/me", &signed_up.token).await;

    assert!(me.body["emailVerifiedAt"].as_str().is_some(), "{}", me.text);
}

async fn a_patch_changes_only_the_fields_sent(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.sign_up("ada@example.com").await;
    let before = app.get_as("/v1/me", &signed_up.token).await.body;

    let res = app
        .patch_as(
            "/v1/me",
            &signed_up.token,
            &json!({"firstName": "  Grace ", "avatarUrl": "https://cdn.example.com/grace.png"}),
        )
        .await;

    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["firstName"], "Grace");
    assert_eq!(res.body["avatarUrl"], "https://cdn.example.com/grace.png");
    for unchanged in ["id", "email", "lastName", "type", "profession", "createdAt"] {
        assert_eq!(res.body[unchanged], before[unchanged], "{unchanged}");
    }
    assert_ne!(res.body["updatedAt"], before["updatedAt"]);
    let after = app.get_as("/v1/me", &signed_up.token).await;
    assert_eq!(after.body, res.body);

    let noop = app.patch_as("/v1/me", &signed_up.token, &json!({})).await;
    assert_eq!(noop.status, 200, "{}", noop.text);
    assert_eq!(noop.body, res.body);
}

async fn null_clears_the_avatar_and_a_non_employee_profession(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut body = sign_up_body("org@example.com");
    body["type"] = json!("organization");
    let res = app.post_json("/v1/auth/sign-up", &body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let token = res.body["token"].as_str().unwrap().to_owned();
    let set = app
        .patch_as(
            "/v1/me",
            &token,
            &json!({"avatarUrl": "http://example.com/a.png"}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);

    let res = app
        .patch_as(
            "/v1/me",
            &token,
            &json!({"avatarUrl": null, "profession": null}),
        )
        .await;

    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["avatarUrl"], Value::Null);
    assert_eq!(res.body["profession"], Value::Null);
}

async fn invalid_patches_name_the_field_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.sign_up("ada@example.com").await;
    let before = app.get_as("/v1/me", &signed_up.token).await.body;
    let long_url = format!("https://example.com/{}", "a".repeat(2040));
    let cases = [
        (json!({"firstName": null}), vec!["firstName"], "REQUIRED"),
        (json!({"firstName": "  "}), vec!["firstName"], "REQUIRED"),
        (
            json!({"lastName": "x".repeat(101)}),
            vec!["lastName"],
            "TOO_LONG",
        ),
        (json!({"profession": null}), vec!["profession"], "REQUIRED"),
        (json!({"profession": ""}), vec!["profession"], "REQUIRED"),
        (
            json!({"avatarUrl": "ftp://example.com/a.png"}),
            vec!["avatarUrl"],
            "INVALID_URL",
        ),
        (
            json!({"avatarUrl": "/a.png"}),
            vec!["avatarUrl"],
            "INVALID_URL",
        ),
        (
            json!({"avatarUrl": "not a url"}),
            vec!["avatarUrl"],
            "INVALID_URL",
        ),
        (
            json!({"avatarUrl": long_url}),
            vec!["avatarUrl"],
            "TOO_LONG",
        ),
        (
            json!({"email": "new@example.com"}),
            vec!["email"],
            "READ_ONLY",
        ),
        (json!({"email": null}), vec!["email"], "READ_ONLY"),
        (json!({"firstName": 5}), vec!["firstName"], "INVALID_TYPE"),
        (
            json!({"email": "new@example.com", "firstName": null, "avatarUrl": "x"}),
            vec!["email", "firstName", "avatarUrl"],
            "READ_ONLY",
        ),
    ];
    for (body, fields, code) in cases {
        let res = app.patch_as("/v1/me", &signed_up.token, &body).await;

        assert_eq!(res.status, 422, "{body}: {}", res.text);
        assert_eq!(res.code(), "VALIDATION_FAILED", "{body}");
        assert_eq!(res.error_fields(), fields, "{body}");
        assert_eq!(res.body["errors"][0]["code"], code, "{body}");
    }
    let after = app.get_as("/v1/me", &signed_up.token).await.body;
    assert_eq!(after, before);
    let anonymous = app
        .request(
            awc::http::Method::PATCH,
            "/v1/me",
            None,
            Some(&json!({"firstName": "X"})),
        )
        .await;
    assert_eq!(anonymous.status, 401);
}

async fn deleting_me_ends_every_session_and_frees_the_email(backend: Backend) {
    let app = spawn_app(backend).await;
    let signed_up = app.sign_up("ada@example.com").await;
    let second = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;
    let second = second.body["token"].as_str().unwrap().to_owned();

    let res = app.delete_as("/v1/me", &signed_up.token).await;

    assert_eq!(res.status, 204, "{}", res.text);
    assert!(
        user_row(&app, user_id(&signed_up))
            .await
            .deleted_at
            .is_some()
    );
    for token in [&signed_up.token, &second] {
        assert!(session_row(&app, token).await.revoked_at.is_some());
        let probe = app.get_as("/v1/me", token).await;
        assert_eq!(probe.status, 401, "{}", probe.text);
    }
    let deleted = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;
    let unknown = sign_in(&app, "nobody@example.com", SignedUp::PASSWORD).await;
    assert_eq!(deleted.status, 401);
    assert_eq!(deleted.text, unknown.text);
    let again = app.sign_up("ada@example.com").await;
    assert_ne!(again.user_id, signed_up.user_id);
    let signed_in = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;
    assert_eq!(signed_in.status, 200);
    assert_eq!(signed_in.body["user"]["id"], again.user_id.as_str());
}

async fn organization(app: &TestApp, slug: &str) -> OrganizationId {
    OrganizationRepository::at(app.database.conn(), app.clock.now())
        .insert(NewOrganization {
            name: PersonName::parse("Acme").unwrap(),
            slug: Slug::parse(slug).unwrap(),
            plan: PlanKey::free(),
        })
        .await
        .expect("an organization")
        .id
}

async fn join(app: &TestApp, organization_id: OrganizationId, user: UserId, role: MemberRole) {
    MemberRepository::at(app.database.conn(), app.clock.now())
        .insert(NewMember {
            organization_id,
            user_id: user,
            role,
        })
        .await
        .expect("a membership");
}

async fn live_memberships(app: &TestApp, user: UserId) -> usize {
    organization_members::Entity::find()
        .filter(organization_members::Column::UserId.eq(user.as_uuid()))
        .filter(organization_members::Column::DeletedAt.is_null())
        .all(app.database.conn())
        .await
        .unwrap()
        .len()
}

async fn the_only_owner_cannot_delete_their_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;
    let acme = organization(&app, "acme").await;
    join(&app, acme, user_id(&ada), MemberRole::Owner).await;

    let res = app.delete_as("/v1/me", &ada.token).await;

    assert_eq!(res.status, 409, "{}", res.text);
    assert_eq!(res.code(), "LAST_OWNER");
    assert_eq!(app.get_as("/v1/me", &ada.token).await.status, 200);
    assert!(user_row(&app, user_id(&ada)).await.deleted_at.is_none());
    assert_eq!(live_memberships(&app, user_id(&ada)).await, 1);
}

async fn deleting_me_leaves_every_organization_that_keeps_an_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;
    let grace = app.create_user("grace@example.com").await;
    let shared = organization(&app, "shared").await;
    join(&app, shared, user_id(&ada), MemberRole::Owner).await;
    join(&app, shared, user_id(&grace), MemberRole::Owner).await;
    let other = organization(&app, "other").await;
    join(&app, other, user_id(&grace), MemberRole::Owner).await;
    join(&app, other, user_id(&ada), MemberRole::Member).await;
    // Owning a deleted organization alone does not block.
    let gone = organization(&app, "gone").await;
    join(&app, gone, user_id(&ada), MemberRole::Owner).await;
    OrganizationRepository::at(app.database.conn(), app.clock.now())
        .soft_delete(gone)
        .await
        .unwrap();

    let res = app.delete_as("/v1/me", &ada.token).await;

    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(live_memberships(&app, user_id(&ada)).await, 0);
    assert_eq!(live_memberships(&app, user_id(&grace)).await, 2);
    let grace_deletes = app.delete_as("/v1/me", &grace.token).await;
    assert_eq!(grace_deletes.status, 409, "now the only owner of two");
    assert_eq!(grace_deletes.code(), "LAST_OWNER");
}

/// Two owners: one demotes themself while the other deletes their account, at the
/// same moment, in several organizations at once. Both check "another owner
/// remains" and both would succeed unless the checks are serialised: exactly one
/// of each pair must win, and every organization must keep an owner.
async fn a_demotion_racing_an_account_deletion_still_leaves_an_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut pairs = Vec::new();
    for i in 0..6 {
        let stays = app.create_user(&format!("stays{i}@example.com")).await;
        let leaves = app.create_user(&format!("leaves{i}@example.com")).await;
        let org = app
            .create_organization(&stays.token, &format!("Race {i}"))
            .await;
        let member = owner_member_id(&app, &org, &stays.token).await;
        app.add_member(&org, &leaves.user_id, MemberRole::Owner)
            .await;
        pairs.push((org, member, stays, leaves));
    }

    let app = &app;
    let demotion = json!({"role": "admin"});
    let demotion = &demotion;
    let races = pairs.iter().map(|(org, member, stays, leaves)| async move {
        let path = format!("/v1/organizations/{org}/members/{member}");
        let demote = app.patch_as(&path, &stays.token, demotion);
        let delete = app.delete_as("/v1/me", &leaves.token);
        let (demoted, deleted) = futures_util::future::join(demote, delete).await;
        (demoted.status, deleted.status)
    });
    let outcomes = futures_util::future::join_all(races).await;

    for ((org, ..), (demoted, deleted)) in pairs.iter().zip(outcomes) {
        let won = [demoted == 200, deleted == 204];
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "{org}: demotion {demoted}, deletion {deleted}"
        );
        let owners = organization_members::Entity::find()
            .filter(
                organization_members::Column::OrganizationId
                    .eq(OrganizationId::parse(org).unwrap().as_uuid()),
            )
            .filter(organization_members::Column::Role.eq("owner"))
            .filter(organization_members::Column::DeletedAt.is_null())
            .all(app.database.conn())
            .await
            .unwrap();
        assert_eq!(owners.len(), 1, "{org} must keep exactly one owner");
    }
}

/// The `mem_...` ID of the caller's own membership, read from the member list.
async fn owner_member_id(app: &TestApp, org: &str, token: &str) -> String {
    let list = app
        .get_as(&format!("/v1/organizations/{org}/members"), token)
        .await;
    list.body["items"][0]["id"].as_str().unwrap().to_owned()
}

on_both_databases!(
    a_demotion_racing_an_account_deletion_still_leaves_an_owner,
    me_is_the_signed_in_user,
    a_verified_email_shows_on_me,
    a_patch_changes_only_the_fields_sent,
    null_clears_the_avatar_and_a_non_employee_profession,
    invalid_patches_name_the_field_and_change_nothing,
    deleting_me_ends_every_session_and_frees_the_email,
    the_only_owner_cannot_delete_their_account,
    deleting_me_leaves_every_organization_that_keeps_an_owner,
);
