//! `/v1/organizations[/{orgId}[/restore]]`: create, list, read, change, delete
//! with its cascade, restore; tenant isolation on every organization route.

use awc::http::Method;
use domain::{MemberRole, OrganizationId, UserId};
use futures_util::future::join_all;
use groundwork_tests::Backend;
use groundwork_tests::app::{TestApp, spawn_app};
use groundwork_tests::on_both_databases;
use infra::entities::{invitations, organization_members, organizations};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

async fn org_row(app: &TestApp, id: &str) -> organizations::Model {
    organizations::Entity::find_by_id(OrganizationId::parse(id).unwrap().as_uuid())
        .one(app.database.conn())
        .await
        .unwrap()
        .unwrap()
}

async fn member_rows(app: &TestApp, org: &str) -> Vec<organization_members::Model> {
    organization_members::Entity::find()
        .filter(
            organization_members::Column::OrganizationId
                .eq(OrganizationId::parse(org).unwrap().as_uuid()),
        )
        .all(app.database.conn())
        .await
        .unwrap()
}

async fn invitation_rows(app: &TestApp, org: &str) -> Vec<invitations::Model> {
    invitations::Entity::find()
        .filter(
            invitations::Column::OrganizationId.eq(OrganizationId::parse(org).unwrap().as_uuid()),
        )
        .all(app.database.conn())
        .await
        .unwrap()
}

async fn creating_an_organization_makes_the_caller_its_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;

    let res = app
        .post_as(
            "/v1/organizations",
            &ada.token,
            &json!({"name": "  Acme, Inc. "}),
        )
        .await;

    assert_eq!(res.status, 201, "{}", res.text);
    let id = res.body["id"].as_str().unwrap();
    assert!(id.starts_with("org_"));
    assert_eq!(res.headers["location"], format!("/v1/organizations/{id}"));
    assert_eq!(res.body["name"], "Acme, Inc.");
    assert_eq!(res.body["slug"], "acme-inc");
    assert_eq!(res.body["plan"], "free");
    assert_eq!(res.body["role"], "owner");
    assert!(
        res.body["createdAt"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert!(res.body["updatedAt"].is_string());
    let members = member_rows(&app, id).await;
    assert_eq!(members.len(), 1);
    assert_eq!(
        members[0].user_id,
        UserId::parse(&ada.user_id).unwrap().as_uuid()
    );
    assert_eq!(members[0].role, "owner");

    let fetched = app
        .get_as(&format!("/v1/organizations/{id}"), &ada.token)
        .await;
    assert_eq!(fetched.status, 200, "{}", fetched.text);
    assert_eq!(fetched.body, res.body);
}

async fn an_explicit_slug_and_plan_are_kept_and_a_taken_slug_is_a_conflict(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    // Another plan than free is a platform admin's to give.
    app.promote_to_platform_admin("ada@example.com").await;

    let res = app
        .post_as(
            "/v1/organizations",
            &ada.token,
            &json!({"name": "Acme", "slug": "acme-corp", "plan": "pro"}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["slug"], "acme-corp");
    assert_eq!(res.body["plan"], "pro");

    let taken = app
        .post_as(
            "/v1/organizations",
            &ada.token,
            &json!({"name": "Other", "slug": "acme-corp"}),
        )
        .await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    assert_eq!(taken.code(), "SLUG_TAKEN");
    assert_eq!(taken.error_fields(), ["slug"]);
    // Nothing of the refused organization is left behind.
    let count = organizations::Entity::find()
        .all(app.database.conn())
        .await
        .unwrap()
        .len();
    assert_eq!(count, 1);
}

async fn a_derived_slug_that_is_taken_gets_the_next_free_suffix(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let mut slugs = Vec::new();
    for _ in 0..3 {
        let res = app
            .post_as("/v1/organizations", &ada.token, &json!({"name": "Acme"}))
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
        slugs.push(res.body["slug"].as_str().unwrap().to_owned());
    }
    assert_eq!(slugs, ["acme", "acme-2", "acme-3"]);

    // The slug of a deleted organization is free again.
    let first = app.create_organization(&ada.token, "Beta").await;
    let deleted = app
        .delete_as(&format!("/v1/organizations/{first}"), &ada.token)
        .await;
    assert_eq!(deleted.status, 204);
    let again = app
        .post_as("/v1/organizations", &ada.token, &json!({"name": "Beta"}))
        .await;
    assert_eq!(again.body["slug"], "beta");
}

async fn invalid_organizations_are_rejected_with_every_field_named(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let cases = [
        (json!({}), vec!["name"]),
        (json!({"name": "   "}), vec!["name"]),
        (json!({"name": "x".repeat(101)}), vec!["name"]),
        (json!({"name": "Acme", "slug": "Acme Corp"}), vec!["slug"]),
        (json!({"name": "Acme", "slug": "ab"}), vec!["slug"]),
        // Plans are data now: a malformed key is a 422 here, a well-formed one
        // no plan has is 422 UNKNOWN_PLAN (or 403 for a non-admin, below).
        (json!({"name": "Acme", "plan": "Gold"}), vec!["plan"]),
        (
            json!({"name": "", "slug": "-x-", "plan": "Gold"}),
            vec!["name", "slug", "plan"],
        ),
        (json!({"name": 5}), vec!["name"]),
    ];
    for (body, fields) in cases {
        let res = app.post_as("/v1/organizations", &ada.token, &body).await;
        assert_eq!(res.status, 422, "{body}: {}", res.text);
        assert_eq!(res.code(), "VALIDATION_FAILED");
        assert_eq!(res.error_fields(), fields, "{body}");
    }
}

async fn organization_routes_require_a_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let body = json!({"name": "X"});
    let routes = [
        (Method::POST, "/v1/organizations".to_owned(), Some(&body)),
        (Method::GET, "/v1/organizations".to_owned(), None),
        (Method::GET, format!("/v1/organizations/{org}"), None),
        (
            Method::PATCH,
            format!("/v1/organizations/{org}"),
            Some(&body),
        ),
        (Method::DELETE, format!("/v1/organizations/{org}"), None),
        (
            Method::POST,
            format!("/v1/organizations/{org}/restore"),
            None,
        ),
    ];
    for (method, path, body) in routes {
        for token in [None, Some("not-a-token")] {
            let res = app.request(method.clone(), &path, token, body).await;
            assert_eq!(res.status, 401, "{method} {path}: {}", res.text);
            assert_eq!(res.code(), "UNAUTHENTICATED");
        }
    }
}

async fn the_list_shows_only_the_callers_live_organizations_with_their_role(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let mine = app.create_organization(&ada.token, "Mine").await;
    let shared = app.create_organization(&bob.token, "Shared").await;
    app.add_member(&shared, &ada.user_id, MemberRole::Member)
        .await;
    let _foreign = app.create_organization(&bob.token, "Foreign").await;
    let gone = app.create_organization(&ada.token, "Gone").await;
    app.delete_as(&format!("/v1/organizations/{gone}"), &ada.token)
        .await;

    let res = app
        .get_as(
            "/v1/organizations?sortBy=name&sortDirection=asc",
            &ada.token,
        )
        .await;

    assert_eq!(res.status, 200, "{}", res.text);
    let items = res.body["items"].as_array().unwrap();
    let seen: Vec<(&str, &str)> = items
        .iter()
        .map(|o| (o["id"].as_str().unwrap(), o["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        [(mine.as_str(), "owner"), (shared.as_str(), "member")]
    );
    assert_eq!(res.body["hasNext"], false);
    assert!(res.body["nextCursor"].is_null());
}

async fn updating_needs_an_admin_and_answers_with_the_whole_organization(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let adam = app.create_user("adam@example.com").await;
    let mo = app.create_user("mo@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    app.create_organization(&ada.token, "Taken").await;
    app.add_member(&org, &adam.user_id, MemberRole::Admin).await;
    app.add_member(&org, &mo.user_id, MemberRole::Member).await;
    let path = format!("/v1/organizations/{org}");

    let forbidden = app
        .patch_as(&path, &mo.token, &json!({"name": "Mine"}))
        .await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.text);
    assert_eq!(forbidden.code(), "INSUFFICIENT_ROLE");

    // The plan is a platform admin's (see only_a_platform_admin_changes_a_plan);
    // sending the current one is no change.
    let res = app
        .patch_as(
            &path,
            &adam.token,
            &json!({"name": "Acme 2", "plan": "free"}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["id"], org.as_str());
    assert_eq!(res.body["name"], "Acme 2");
    assert_eq!(res.body["slug"], "acme");
    assert_eq!(res.body["plan"], "free");
    assert_eq!(res.body["role"], "admin");

    let taken = app
        .patch_as(&path, &ada.token, &json!({"slug": "taken"}))
        .await;
    assert_eq!(taken.status, 409, "{}", taken.text);
    assert_eq!(taken.code(), "SLUG_TAKEN");

    let invalid = app
        .patch_as(
            &path,
            &ada.token,
            &json!({"name": "", "slug": "NO", "plan": "X"}),
        )
        .await;
    assert_eq!(invalid.status, 422, "{}", invalid.text);
    assert_eq!(invalid.error_fields(), ["name", "slug", "plan"]);

    let renamed = app
        .patch_as(&path, &ada.token, &json!({"slug": "acme-two"}))
        .await;
    assert_eq!(renamed.status, 200);
    assert_eq!(renamed.body["slug"], "acme-two");
    assert_eq!(renamed.body["name"], "Acme 2");
}

async fn deleting_needs_the_owner_and_cascades_with_one_timestamp(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let adam = app.create_user("adam@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    app.add_member(&org, &adam.user_id, MemberRole::Admin).await;
    let invited = app
        .post_as(
            &format!("/v1/organizations/{org}/invitations"),
            &ada.token,
            &json!({"email": "new@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text);
    let path = format!("/v1/organizations/{org}");

    let forbidden = app.delete_as(&path, &adam.token).await;
    assert_eq!(forbidden.status, 403, "{}", forbidden.text);
    assert_eq!(forbidden.code(), "INSUFFICIENT_ROLE");

    let res = app.delete_as(&path, &ada.token).await;
    assert_eq!(res.status, 204, "{}", res.text);

    let deleted_at = org_row(&app, &org).await.deleted_at.expect("deleted");
    let members = member_rows(&app, &org).await;
    assert_eq!(members.len(), 2);
    assert!(members.iter().all(|m| m.deleted_at == Some(deleted_at)));
    let invitations = invitation_rows(&app, &org).await;
    assert_eq!(invitations.len(), 1);
    assert_eq!(invitations[0].deleted_at, Some(deleted_at));

    for token in [&ada.token, &adam.token] {
        let gone = app.get_as(&path, token).await;
        assert_eq!(gone.status, 404);
        assert_eq!(gone.code(), "ORGANIZATION_NOT_FOUND");
        let list = app.get_as("/v1/organizations", token).await;
        assert_eq!(list.body["items"], json!([]));
    }
    assert_eq!(app.delete_as(&path, &ada.token).await.status, 404);
}

async fn restoring_brings_back_exactly_what_the_deletion_removed(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let adam = app.create_user("adam@example.com").await;
    let mo = app.create_user("mo@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    app.add_member(&org, &adam.user_id, MemberRole::Admin).await;
    let removed = app.add_member(&org, &mo.user_id, MemberRole::Member).await;
    let removal = app
        .delete_as(
            &format!("/v1/organizations/{org}/members/{removed}"),
            &ada.token,
        )
        .await;
    assert_eq!(removal.status, 204, "{}", removal.text);
    let invited = app
        .post_as(
            &format!("/v1/organizations/{org}/invitations"),
            &ada.token,
            &json!({"email": "new@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(invited.status, 201);
    let restore = format!("/v1/organizations/{org}/restore");

    let live = app
        .request(Method::POST, &restore, Some(&ada.token), None)
        .await;
    assert_eq!(live.status, 404, "a live organization is not restored");
    assert_eq!(live.code(), "ORGANIZATION_NOT_FOUND");

    app.clock.advance(chrono::TimeDelta::seconds(5));
    assert_eq!(
        app.delete_as(&format!("/v1/organizations/{org}"), &ada.token)
            .await
            .status,
        204
    );

    // An admin at deletion time hears the matrix's 403; mo, removed before the
    // deletion, cannot tell the organization exists.
    for (who, status) in [(&adam.token, 403), (&mo.token, 404)] {
        let res = app.request(Method::POST, &restore, Some(who), None).await;
        assert_eq!(
            res.status, status,
            "only a former owner restores: {}",
            res.text
        );
    }

    let res = app
        .request(Method::POST, &restore, Some(&ada.token), None)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["id"], org.as_str());
    assert_eq!(res.body["role"], "owner");

    let members = app
        .get_as(
            &format!("/v1/organizations/{org}/members?sortBy=email&sortDirection=asc"),
            &ada.token,
        )
        .await;
    let emails: Vec<&str> = members.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["ada@example.com", "adam@example.com"]);
    let invitations = app
        .get_as(&format!("/v1/organizations/{org}/invitations"), &ada.token)
        .await;
    assert_eq!(invitations.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get_as(&format!("/v1/organizations/{org}"), &adam.token)
            .await
            .status,
        200
    );
    assert_eq!(
        app.get_as(&format!("/v1/organizations/{org}"), &mo.token)
            .await
            .status,
        404
    );
}

async fn restoring_is_refused_when_a_live_organization_took_the_slug(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    assert_eq!(
        app.delete_as(&format!("/v1/organizations/{org}"), &ada.token)
            .await
            .status,
        204
    );
    let usurper = app.create_organization(&ada.token, "Acme").await;
    assert_ne!(usurper, org);

    let res = app
        .request(
            Method::POST,
            &format!("/v1/organizations/{org}/restore"),
            Some(&ada.token),
            None,
        )
        .await;

    assert_eq!(res.status, 409, "{}", res.text);
    assert_eq!(res.code(), "SLUG_TAKEN");
    assert!(org_row(&app, &org).await.deleted_at.is_some());
    assert!(
        member_rows(&app, &org)
            .await
            .iter()
            .all(|m| m.deleted_at.is_some())
    );
}

async fn every_route_of_another_tenants_organization_is_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let _mine = app.create_organization(&ada.token, "Mine").await;
    let theirs = app.create_organization(&bob.token, "Theirs").await;
    let their_member = member_rows(&app, &theirs).await[0].id;
    let their_member = domain::MemberId::from(their_member).to_string();
    let invited = app
        .post_as(
            &format!("/v1/organizations/{theirs}/invitations"),
            &bob.token,
            &json!({"email": "x@example.com", "role": "member"}),
        )
        .await;
    let their_invitation = invited.body["id"].as_str().unwrap().to_owned();
    let base = format!("/v1/organizations/{theirs}");
    let role = json!({"role": "member"});
    let patch = json!({"name": "Hacked"});
    let invite = json!({"email": "y@example.com", "role": "member"});
    let routes = [
        (Method::GET, base.clone(), None),
        (Method::PATCH, base.clone(), Some(&patch)),
        (Method::DELETE, base.clone(), None),
        (Method::POST, format!("{base}/restore"), None),
        (Method::GET, format!("{base}/members"), None),
        (
            Method::PATCH,
            format!("{base}/members/{their_member}"),
            Some(&role),
        ),
        (
            Method::DELETE,
            format!("{base}/members/{their_member}"),
            None,
        ),
        (Method::POST, format!("{base}/invitations"), Some(&invite)),
        (Method::GET, format!("{base}/invitations"), None),
        (
            Method::DELETE,
            format!("{base}/invitations/{their_invitation}"),
            None,
        ),
    ];
    for (method, path, body) in routes {
        let res = app
            .request(method.clone(), &path, Some(&ada.token), body)
            .await;
        assert_eq!(res.status, 404, "{method} {path}: {}", res.text);
        assert_eq!(res.code(), "ORGANIZATION_NOT_FOUND", "{method} {path}");
    }
    // Nothing changed on their side.
    let theirs_now = app.get_as(&base, &bob.token).await;
    assert_eq!(theirs_now.body["name"], "Theirs");
    assert_eq!(member_rows(&app, &theirs).await[0].deleted_at, None);
}

async fn garbage_and_wrong_kind_ids_in_paths_are_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let body = json!({"name": "X"});
    for bad in [
        ada.user_id.clone(),
        "garbage".to_owned(),
        org.to_lowercase(),
        "org_".to_owned(),
        "%27%20OR%201%3D1".to_owned(),
        OrganizationId::new().to_string(),
    ] {
        for (method, path) in [
            (Method::GET, format!("/v1/organizations/{bad}")),
            (Method::PATCH, format!("/v1/organizations/{bad}")),
            (Method::DELETE, format!("/v1/organizations/{bad}")),
            (Method::POST, format!("/v1/organizations/{bad}/restore")),
            (Method::GET, format!("/v1/organizations/{bad}/members")),
        ] {
            let body = (method == Method::PATCH).then_some(&body);
            let res = app
                .request(method.clone(), &path, Some(&ada.token), body)
                .await;
            assert_eq!(res.status, 404, "{method} {path}: {}", res.text);
            assert_eq!(res.code(), "ORGANIZATION_NOT_FOUND", "{method} {path}");
        }
    }
    for (method, path) in [
        (
            Method::PATCH,
            format!("/v1/organizations/{org}/members/{}", ada.user_id),
        ),
        (
            Method::DELETE,
            format!("/v1/organizations/{org}/members/nope"),
        ),
    ] {
        let role = json!({"role": "admin"});
        let body = (method == Method::PATCH).then_some(&role);
        let res = app
            .request(method.clone(), &path, Some(&ada.token), body)
            .await;
        assert_eq!(res.status, 404, "{method} {path}: {}", res.text);
        assert_eq!(res.code(), "MEMBER_NOT_FOUND");
    }
    let res = app
        .delete_as(
            &format!("/v1/organizations/{org}/invitations/{org}"),
            &ada.token,
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.code(), "INVITATION_NOT_FOUND");
}

async fn the_openapi_document_describes_the_tenancy_routes(backend: Backend) {
    let app = spawn_app(backend).await;

    let doc = app.get("/openapi.json").await;

    let paths = &doc.body["paths"];
    let operations = [
        ("/v1/organizations", "post", "201"),
        ("/v1/organizations", "get", "200"),
        ("/v1/organizations/{orgId}", "get", "200"),
        ("/v1/organizations/{orgId}", "patch", "200"),
        ("/v1/organizations/{orgId}", "delete", "204"),
        ("/v1/organizations/{orgId}/restore", "post", "200"),
        ("/v1/organizations/{orgId}/members", "get", "200"),
        (
            "/v1/organizations/{orgId}/members/{memberId}",
            "patch",
            "200",
        ),
        (
            "/v1/organizations/{orgId}/members/{memberId}",
            "delete",
            "204",
        ),
        ("/v1/organizations/{orgId}/invitations", "post", "201"),
        ("/v1/organizations/{orgId}/invitations", "get", "200"),
        (
            "/v1/organizations/{orgId}/invitations/{invitationId}",
            "delete",
            "204",
        ),
        ("/v1/invitations/accept", "post", "200"),
    ];
    for (path, method, success) in operations {
        let op = &paths[path][method];
        assert!(op["responses"][success].is_object(), "{method} {path}");
        assert!(op["responses"]["401"].is_object(), "{method} {path}: 401");
        assert_eq!(op["security"][0]["bearer"], json!([]), "{method} {path}");
    }
    let params: Vec<&str> = paths["/v1/organizations/{orgId}/members"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        params,
        [
            "orgId",
            "page",
            "pageSize",
            "sortBy",
            "sortDirection",
            "searchQuery",
            "cursor"
        ]
    );
}

async fn only_a_platform_admin_changes_a_plan(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let adam = app.create_user("adam@example.com").await;
    let root = app.create_user("root@example.com").await;
    app.promote_to_platform_admin("root@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    app.add_member(&org, &adam.user_id, MemberRole::Admin).await;
    app.add_member(&org, &root.user_id, MemberRole::Admin).await;
    let (_, key) = app.create_api_key(&ada.token, &org, "admin").await;
    let path = format!("/v1/organizations/{org}");
    let upgrade = json!({"name": "Acme Gold", "plan": "enterprise"});

    // Act
    let by_owner = app.patch_as(&path, &ada.token, &upgrade).await;
    let by_admin = app.patch_as(&path, &adam.token, &upgrade).await;
    let by_key = app.patch_as(&path, &key, &upgrade).await;
    let unchanged = app.get_as(&path, &ada.token).await;
    let by_platform_admin = app
        .patch_as(&path, &root.token, &json!({"plan": "pro"}))
        .await;
    let log = app
        .get_as(
            &format!("{path}/audit-logs?action=organization.updated"),
            &ada.token,
        )
        .await;

    // Assert
    for res in [&by_owner, &by_admin, &by_key] {
        assert_eq!(res.status, 403, "{}", res.text);
        assert_eq!(res.code(), "PLAN_CHANGE_FORBIDDEN");
    }
    assert_eq!(unchanged.body["plan"], "free");
    assert_eq!(
        unchanged.body["name"], "Acme",
        "nothing of a refused change is kept"
    );
    assert_eq!(by_platform_admin.status, 200, "{}", by_platform_admin.text);
    assert_eq!(by_platform_admin.body["plan"], "pro");
    let items = log.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", log.text);
    assert_eq!(items[0]["actorId"], root.user_id.as_str());
    assert_eq!(items[0]["changes"], json!({"plan": ["free", "pro"]}));
    // Now pro: the owner may send pro again, not go back to free.
    let same = app
        .patch_as(&path, &ada.token, &json!({"plan": "pro"}))
        .await;
    assert_eq!(same.status, 200, "{}", same.text);
    let downgrade = app
        .patch_as(&path, &ada.token, &json!({"plan": "free"}))
        .await;
    assert_eq!(downgrade.status, 403, "{}", downgrade.text);
    assert_eq!(downgrade.code(), "PLAN_CHANGE_FORBIDDEN");
}

async fn a_new_organization_is_free_unless_a_platform_admin_chooses(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let root = app.create_user("root@example.com").await;
    app.promote_to_platform_admin("root@example.com").await;

    // Act
    let self_granted = app
        .post_as(
            "/v1/organizations",
            &ada.token,
            &json!({"name": "Acme", "plan": "enterprise"}),
        )
        .await;
    let free = app
        .post_as(
            "/v1/organizations",
            &ada.token,
            &json!({"name": "Acme", "plan": "free"}),
        )
        .await;
    let chosen = app
        .post_as(
            "/v1/organizations",
            &root.token,
            &json!({"name": "Big Co", "plan": "enterprise"}),
        )
        .await;

    // Assert
    assert_eq!(self_granted.status, 403, "{}", self_granted.text);
    assert_eq!(self_granted.code(), "PLAN_CHANGE_FORBIDDEN");
    assert_eq!(free.status, 201, "{}", free.text);
    assert_eq!(free.body["plan"], "free");
    assert_eq!(
        free.body["slug"], "acme",
        "the refused creation left nothing"
    );
    assert_eq!(chosen.status, 201, "{}", chosen.text);
    assert_eq!(chosen.body["plan"], "enterprise");
}

async fn concurrent_creations_with_one_name_all_get_a_slug(backend: Backend) {
    // Arrange: ten people create "Acme" at once (one taken already), so every
    // request's first free candidate is another's too.
    let app = spawn_app(backend).await;
    let mut tokens = Vec::new();
    for i in 0..10 {
        tokens.push(app.create_user(&format!("user{i}@example.com")).await.token);
    }
    app.create_organization(&tokens[0], "Acme").await;

    // Act
    let body = json!({"name": "Acme"});
    let created = join_all(
        tokens
            .iter()
            .map(|token| app.post_as("/v1/organizations", token, &body)),
    )
    .await;

    // Assert
    let mut slugs: Vec<String> = created
        .iter()
        .map(|res| {
            assert_eq!(res.status, 201, "{}", res.text);
            res.body["slug"].as_str().unwrap().to_owned()
        })
        .collect();
    slugs.sort_by_key(|s| s.trim_start_matches("acme-").parse::<u32>().unwrap_or(0));
    let expected: Vec<String> = (2..=11).map(|n| format!("acme-{n}")).collect();
    assert_eq!(slugs, expected, "all distinct, the next free suffixes");
}

async fn restoring_never_revives_the_membership_of_a_deleted_account(backend: Backend) {
    // Arrange: Ada and Bob own Acme, Mo is a member; Ada deletes it, then Bob and
    // Mo delete their accounts (Bob may: Acme is not live, he is no sole owner).
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let bob = app.create_user("bob@example.com").await;
    let mo = app.create_user("mo@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let bob_member = app.add_member(&org, &bob.user_id, MemberRole::Owner).await;
    let mo_member = app.add_member(&org, &mo.user_id, MemberRole::Member).await;
    let path = format!("/v1/organizations/{org}");
    assert_eq!(app.delete_as(&path, &ada.token).await.status, 204);
    for token in [&bob.token, &mo.token] {
        let gone = app.delete_as("/v1/me", token).await;
        assert_eq!(gone.status, 204, "{}", gone.text);
    }

    // Act
    let restored = app
        .request(
            Method::POST,
            &format!("{path}/restore"),
            Some(&ada.token),
            None,
        )
        .await;

    // Assert: Ada is back as owner, the deleted accounts' memberships stay gone.
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(restored.body["role"], "owner");
    let rows = member_rows(&app, &org).await;
    for gone in [&bob_member, &mo_member] {
        let id = domain::MemberId::parse(gone).unwrap().as_uuid();
        let row = rows.iter().find(|m| m.id == id).unwrap();
        assert!(row.deleted_at.is_some(), "{gone} was revived");
    }
    let live_owners: Vec<_> = rows
        .iter()
        .filter(|m| m.deleted_at.is_none() && m.role == "owner")
        .map(|m| UserId::from(m.user_id).to_string())
        .collect();
    assert_eq!(live_owners, [ada.user_id.as_str()]);
    // So Ada is its last owner, and cannot leave it ownerless.
    let members = app.get_as(&format!("{path}/members"), &ada.token).await;
    let items = members.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", members.text);
    let ada_member = items[0]["id"].as_str().unwrap();
    let leave = app
        .delete_as(&format!("{path}/members/{ada_member}"), &ada.token)
        .await;
    assert_eq!(leave.status, 409, "{}", leave.text);
    assert_eq!(leave.code(), "LAST_OWNER");
}

on_both_databases!(
    the_openapi_document_describes_the_tenancy_routes,
    creating_an_organization_makes_the_caller_its_owner,
    an_explicit_slug_and_plan_are_kept_and_a_taken_slug_is_a_conflict,
    a_derived_slug_that_is_taken_gets_the_next_free_suffix,
    invalid_organizations_are_rejected_with_every_field_named,
    organization_routes_require_a_session,
    the_list_shows_only_the_callers_live_organizations_with_their_role,
    updating_needs_an_admin_and_answers_with_the_whole_organization,
    deleting_needs_the_owner_and_cascades_with_one_timestamp,
    restoring_brings_back_exactly_what_the_deletion_removed,
    restoring_is_refused_when_a_live_organization_took_the_slug,
    every_route_of_another_tenants_organization_is_not_found,
    garbage_and_wrong_kind_ids_in_paths_are_not_found,
    only_a_platform_admin_changes_a_plan,
    a_new_organization_is_free_unless_a_platform_admin_chooses,
    concurrent_creations_with_one_name_all_get_a_slug,
    restoring_never_revives_the_membership_of_a_deleted_account,
);
