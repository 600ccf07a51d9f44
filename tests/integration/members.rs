//! `/v1/organizations/{orgId}/members[/{memberId}]`: list, role changes, removal
//! and leaving, the last-owner rule and its race.

use awc::http::Method;
use domain::MemberRole;
use futures_util::future::join_all;
use groundwork_tests::Backend;
use groundwork_tests::app::{SignedUp, TestApp, TestResponse, spawn_app};
use groundwork_tests::on_both_databases;
use serde_json::json;

/// An organization owned by ada, with an admin (adam) and a plain member (mo).
struct Team {
    org: String,
    ada: SignedUp,
    ada_member: String,
    adam: SignedUp,
    adam_member: String,
    mo: SignedUp,
    mo_member: String,
}

async fn team(app: &TestApp) -> Team {
    let ada = app.create_user("ada@example.com").await;
    let adam = app.create_user("adam@example.com").await;
    let mo = app.create_user("mo@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let adam_member = app.add_member(&org, &adam.user_id, MemberRole::Admin).await;
    let mo_member = app.add_member(&org, &mo.user_id, MemberRole::Member).await;
    let list = app
        .get_as(
            &format!("/v1/organizations/{org}/members?sortBy=email&sortDirection=asc"),
            &ada.token,
        )
        .await;
    let ada_member = list.body["items"][0]["id"].as_str().unwrap().to_owned();
    Team {
        org,
        ada,
        ada_member,
        adam,
        adam_member,
        mo,
        mo_member,
    }
}

impl Team {
    fn member(&self, id: &str) -> String {
        format!("/v1/organizations/{}/members/{id}", self.org)
    }
}

async fn the_member_list_embeds_each_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = team(&app).await;

    let res = app
        .get_as(
            &format!(
                "/v1/organizations/{}/members?sortBy=email&sortDirection=asc",
                t.org
            ),
            &t.mo.token,
        )
        .await;

    assert_eq!(res.status, 200, "{}", res.text);
    let items = res.body["items"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str)> = items
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap(),
                m["role"].as_str().unwrap(),
                m["user"]["email"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (t.ada_member.as_str(), "owner", "ada@example.com"),
            (t.adam_member.as_str(), "admin", "adam@example.com"),
            (t.mo_member.as_str(), "member", "mo@example.com"),
        ]
    );
    let ada = &items[0];
    assert_eq!(ada["user"]["id"], t.ada.user_id.as_str());
    assert_eq!(ada["user"]["firstName"], "Test");
    assert_eq!(ada["user"]["type"], "employee");
    assert!(ada["createdAt"].as_str().is_some_and(|c| c.ends_with('Z')));
    assert!(ada["user"].get("passwordHash").is_none());

    let role = json!({"role": "admin"});
    for (method, path, body) in [
        (
            Method::GET,
            format!("/v1/organizations/{}/members", t.org),
            None,
        ),
        (Method::PATCH, t.member(&t.mo_member), Some(&role)),
        (Method::DELETE, t.member(&t.mo_member), None),
    ] {
        let res = app.request(method.clone(), &path, None, body).await;
        assert_eq!(res.status, 401, "{method} {path}");
        assert_eq!(res.code(), "UNAUTHENTICATED");
    }
}

async fn admins_change_roles_within_the_policy(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = team(&app).await;

    let promoted = app
        .patch_as(
            &t.member(&t.mo_member),
            &t.adam.token,
            &json!({"role": "admin"}),
        )
        .await;
    assert_eq!(promoted.status, 200, "{}", promoted.text);
    assert_eq!(promoted.body["id"], t.mo_member.as_str());
    assert_eq!(promoted.body["role"], "admin");
    assert_eq!(promoted.body["user"]["email"], "mo@example.com");

    let refused = [
        (
            &t.adam,
            &t.mo_member,
            "owner",
            "an admin cannot grant owner",
        ),
        (
            &t.adam,
            &t.ada_member,
            "admin",
            "an admin cannot demote an owner",
        ),
    ];
    for (actor, target, role, case) in refused {
        let res = app
            .patch_as(&t.member(target), &actor.token, &json!({"role": role}))
            .await;
        assert_eq!(res.status, 403, "{case}: {}", res.text);
        assert_eq!(res.code(), "INSUFFICIENT_ROLE", "{case}");
    }
    let demoted = app
        .patch_as(
            &t.member(&t.mo_member),
            &t.adam.token,
            &json!({"role": "member"}),
        )
        .await;
    assert_eq!(demoted.status, 200);
    let by_member = app
        .patch_as(
            &t.member(&t.adam_member),
            &t.mo.token,
            &json!({"role": "member"}),
        )
        .await;
    assert_eq!(by_member.status, 403, "a plain member changes no role");
    assert_eq!(by_member.code(), "INSUFFICIENT_ROLE");

    let owner = app
        .patch_as(
            &t.member(&t.adam_member),
            &t.ada.token,
            &json!({"role": "owner"}),
        )
        .await;
    assert_eq!(owner.status, 200, "{}", owner.text);
    assert_eq!(owner.body["role"], "owner");

    for (body, field) in [
        (json!({}), "role"),
        (json!({"role": "boss"}), "role"),
        (json!({"role": "Owner"}), "role"),
        (json!({"role": 1}), "role"),
    ] {
        let res = app
            .patch_as(&t.member(&t.mo_member), &t.ada.token, &body)
            .await;
        assert_eq!(res.status, 422, "{body}: {}", res.text);
        assert_eq!(res.error_fields(), [field]);
    }

    let unknown = app
        .patch_as(
            &t.member(&domain::MemberId::new().to_string()),
            &t.ada.token,
            &json!({"role": "admin"}),
        )
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.code(), "MEMBER_NOT_FOUND");
}

async fn a_membership_of_another_organization_is_not_found_here(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = team(&app).await;
    let other = app.create_organization(&t.ada.token, "Other").await;
    let list = app
        .get_as(&format!("/v1/organizations/{other}/members"), &t.ada.token)
        .await;
    let foreign = list.body["items"][0]["id"].as_str().unwrap().to_owned();

    let patch = app
        .patch_as(&t.member(&foreign), &t.ada.token, &json!({"role": "admin"}))
        .await;
    let delete = app.delete_as(&t.member(&foreign), &t.ada.token).await;

    for res in [patch, delete] {
        assert_eq!(res.status, 404, "{}", res.text);
        assert_eq!(res.code(), "MEMBER_NOT_FOUND");
    }
}

async fn members_leave_and_admins_remove_within_the_policy(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = team(&app).await;
    let org_path = format!("/v1/organizations/{}", t.org);

    let by_member = app.delete_as(&t.member(&t.adam_member), &t.mo.token).await;
    assert_eq!(by_member.status, 403, "{}", by_member.text);
    assert_eq!(by_member.code(), "INSUFFICIENT_ROLE");
    let owner_by_admin = app.delete_as(&t.member(&t.ada_member), &t.adam.token).await;
    assert_eq!(owner_by_admin.status, 403);
    assert_eq!(owner_by_admin.code(), "INSUFFICIENT_ROLE");

    let leave = app.delete_as(&t.member(&t.mo_member), &t.mo.token).await;
    assert_eq!(leave.status, 204, "{}", leave.text);
    assert_eq!(app.get_as(&org_path, &t.mo.token).await.status, 404);
    let again = app.delete_as(&t.member(&t.mo_member), &t.ada.token).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.code(), "MEMBER_NOT_FOUND");

    let removed = app.delete_as(&t.member(&t.adam_member), &t.ada.token).await;
    assert_eq!(removed.status, 204);
    assert_eq!(app.get_as(&org_path, &t.adam.token).await.status, 404);
    let list = app
        .get_as(&format!("{org_path}/members"), &t.ada.token)
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

async fn the_last_owner_cannot_be_demoted_removed_or_leave(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = team(&app).await;

    let demote = app
        .patch_as(
            &t.member(&t.ada_member),
            &t.ada.token,
            &json!({"role": "admin"}),
        )
        .await;
    let leave = app.delete_as(&t.member(&t.ada_member), &t.ada.token).await;
    for res in [demote, leave] {
        assert_eq!(res.status, 409, "{}", res.text);
        assert_eq!(res.code(), "LAST_OWNER");
    }

    // With a second owner, the first may step down, and then leave.
    let promoted = app
        .patch_as(
            &t.member(&t.adam_member),
            &t.ada.token,
            &json!({"role": "owner"}),
        )
        .await;
    assert_eq!(promoted.status, 200);
    let removed_owner = app.delete_as(&t.member(&t.adam_member), &t.ada.token).await;
    assert_eq!(
        removed_owner.status, 204,
        "an owner removes an owner: {}",
        removed_owner.text
    );
    app.add_member(&t.org, &t.adam.user_id, MemberRole::Owner)
        .await;
    let stepped_down = app
        .patch_as(
            &t.member(&t.ada_member),
            &t.ada.token,
            &json!({"role": "member"}),
        )
        .await;
    assert_eq!(stepped_down.status, 200, "{}", stepped_down.text);
    let left = app.delete_as(&t.member(&t.ada_member), &t.ada.token).await;
    assert_eq!(left.status, 204);
}

async fn concurrent_demotions_never_leave_an_organization_without_an_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.create_user("owner0@example.com").await;
    let org = app.create_organization(&first.token, "Race").await;
    let list = app
        .get_as(&format!("/v1/organizations/{org}/members"), &first.token)
        .await;
    let mut owners = vec![(
        first,
        list.body["items"][0]["id"].as_str().unwrap().to_owned(),
    )];
    for n in 1..5 {
        let user = app.create_user(&format!("owner{n}@example.com")).await;
        let member = app.add_member(&org, &user.user_id, MemberRole::Owner).await;
        owners.push((user, member));
    }

    // Every owner steps down at once: the organization lock lets all but one do so.
    let paths: Vec<String> = owners
        .iter()
        .map(|(_, member)| format!("/v1/organizations/{org}/members/{member}"))
        .collect();
    let body = json!({"role": "member"});
    let responses = join_all(
        owners
            .iter()
            .zip(&paths)
            .map(|((user, _), path)| app.patch_as(path, &user.token, &body)),
    )
    .await;

    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        1,
        "{statuses:?}"
    );
    let remaining = app
        .get_as(
            &format!("/v1/organizations/{org}/members?pageSize=100"),
            &owners[0].0.token,
        )
        .await;
    let owner_count = remaining.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "owner")
        .count();
    assert_eq!(owner_count, 1);
}

/// The member list checks the credentials in the statement that reads the page
/// (`app::members::list_as`): every way of not being allowed still refuses.
async fn the_member_list_refuses_what_its_credentials_do_not_allow(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = team(&app).await;
    let list = format!("/v1/organizations/{}/members", t.org);
    let eve = app.create_user("eve@example.com").await;
    let (_, key) = app.create_api_key(&t.ada.token, &t.org, "member").await;
    let other_org = app.create_organization(&eve.token, "Other").await;

    let by_session = app.get_as(&list, &t.mo.token).await;
    let by_key = app.get_as(&list, &key).await;
    let by_stranger = app.get_as(&list, &eve.token).await;
    let elsewhere = app
        .get_as(
            &format!("/v1/organizations/{other_org}/members"),
            &t.mo.token,
        )
        .await;
    let unknown_token = app.get_as(&list, "not-a-session").await;
    let bad_query_unknown_token = app
        .get_as(&format!("{list}?pageSize=0"), "not-a-session")
        .await;
    let bad_query = app.get_as(&format!("{list}?pageSize=0"), &t.mo.token).await;
    // A cursor made for another order is refused inside the one-statement read.
    let by_email = app
        .get_as(&format!("{list}?pageSize=1&sortBy=email"), &t.mo.token)
        .await;
    let cursor = by_email.body["nextCursor"].as_str().unwrap().to_owned();
    let wrong_cursor = format!("{list}?cursor={cursor}");
    let bad_cursor_unknown_token = app.get_as(&wrong_cursor, "not-a-session").await;
    let bad_cursor = app.get_as(&wrong_cursor, &t.mo.token).await;

    let ids = |res: &TestResponse| -> Vec<String> {
        res.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(by_session.status, 200, "{}", by_session.text);
    assert_eq!(ids(&by_session).len(), 3);
    assert_eq!(by_key.status, 200, "{}", by_key.text);
    assert_eq!(ids(&by_key), ids(&by_session));
    for res in [&by_stranger, &elsewhere] {
        assert_eq!(res.status, 404, "{}", res.text);
        assert_eq!(res.code(), "ORGANIZATION_NOT_FOUND");
    }
    for res in [
        &unknown_token,
        &bad_query_unknown_token,
        &bad_cursor_unknown_token,
    ] {
        assert_eq!(res.status, 401, "{}", res.text);
        assert_eq!(res.code(), "UNAUTHENTICATED");
    }
    assert_eq!(bad_query.status, 422, "{}", bad_query.text);
    assert_eq!(bad_cursor.status, 422, "{}", bad_cursor.text);
    assert_eq!(bad_cursor.error_fields(), ["cursor"]);

    // A signed-out session, then a member removed, then a deleted organization.
    let out = app
        .post_as("/v1/auth/sign-out", &t.adam.token, &json!({}))
        .await;
    assert!(out.status < 300, "{}", out.text);
    let signed_out = app.get_as(&list, &t.adam.token).await;
    assert_eq!(signed_out.status, 401, "{}", signed_out.text);
    let removed = app.delete_as(&t.member(&t.mo_member), &t.ada.token).await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    let former = app.get_as(&list, &t.mo.token).await;
    assert_eq!(former.status, 404, "{}", former.text);
    let deleted = app
        .delete_as(&format!("/v1/organizations/{}", t.org), &t.ada.token)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    let gone = app.get_as(&list, &t.ada.token).await;
    assert_eq!(gone.status, 404, "{}", gone.text);
    assert_eq!(gone.code(), "ORGANIZATION_NOT_FOUND");

    // A session past its lifetime.
    app.clock.advance(chrono::TimeDelta::days(400));
    let expired = app.get_as(&list, &eve.token).await;
    assert_eq!(expired.status, 401, "{}", expired.text);
}

/// On PostgreSQL a member list page read with a session is one statement: the
/// session, the user, the membership, the organization and the page together.
async fn a_member_page_read_with_a_session_is_one_statement(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = team(&app).await;
    let org = domain::OrganizationId::parse(&t.org).unwrap();
    let policy = domain::auth::SessionPolicy::new(chrono::TimeDelta::days(30));
    let now = domain::Clock::now(app.clock.as_ref());
    let http = app
        .get_as(
            &format!("/v1/organizations/{}/members?pageSize=2", t.org),
            &t.mo.token,
        )
        .await;
    let cursor = http.body["nextCursor"].as_str().unwrap().to_owned();

    for query in [
        vec![("pageSize", "2")],
        vec![("pageSize", "2"), ("cursor", cursor.as_str())],
        vec![("searchQuery", "ada"), ("sortBy", "email")],
        vec![("page", "2"), ("pageSize", "1")],
    ] {
        let raw: domain::RawPageRequest = serde_json::from_value(
            query
                .iter()
                .map(|(k, v)| ((*k).to_owned(), json!(v)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        )
        .unwrap();
        let request = domain::PageRequest::<domain::members::MemberSort>::parse(&raw).unwrap();
        let db = app.database.pinned().await.unwrap();
        let ctx = app::Context::new(now, domain::Actor::Anonymous);
        let page = app::members::list_as(&db, &t.mo.token, ctx, &policy, org, &request)
            .await
            .unwrap();
        assert!(!page.items.is_empty(), "{query:?}");
        match backend {
            Backend::Postgres => assert_eq!(db.statements_sent(), Some(1), "{query:?}"),
            Backend::Sqlite => assert_eq!(db.statements_sent(), None),
        }
        let encoded: String = query
            .iter()
            .map(|(k, v)| format!("{k}={}&", urlencoding(v)))
            .collect();
        let res = app
            .get_as(
                &format!("/v1/organizations/{}/members?{encoded}", t.org),
                &t.mo.token,
            )
            .await;
        let http_ids: Vec<&str> = res.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        let ids: Vec<String> = page.items.iter().map(|m| m.member.id.to_string()).collect();
        assert_eq!(ids, http_ids, "{query:?}");
    }
}

/// Percent-encodes a query value (cursors hold `=`, `+`, `/`).
fn urlencoding(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

on_both_databases!(
    the_member_list_refuses_what_its_credentials_do_not_allow,
    a_member_page_read_with_a_session_is_one_statement,
    the_member_list_embeds_each_user,
    admins_change_roles_within_the_policy,
    a_membership_of_another_organization_is_not_found_here,
    members_leave_and_admins_remove_within_the_policy,
    the_last_owner_cannot_be_demoted_removed_or_leave,
    concurrent_demotions_never_leave_an_organization_without_an_owner,
);
