//! Subscriptions: every organization has one (new ones `active` on `free`,
//! existing ones backfilled by the migration); its plan is the organization's
//! plan; members read it, platform admins set it, organization admins cannot.

use groundwork_tests::app::{TestApp, spawn_app};
use groundwork_tests::db::text_rows;
use groundwork_tests::{Backend, TestDb, on_both_databases};
use migration::{Command, Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};

/// A platform admin's token.
async fn admin(app: &TestApp) -> String {
    let root = app.create_user("root@example.com").await;
    app.promote_to_platform_admin("root@example.com").await;
    root.token
}

fn set_path(org: &str) -> String {
    format!("/v1/admin/organizations/{org}/subscription")
}

async fn subscription_actions(app: &TestApp, token: &str, org: &str) -> Vec<Value> {
    let log = app
        .get_as(
            &format!("/v1/organizations/{org}/audit-logs?action=subscription.updated"),
            token,
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    log.body["items"].as_array().unwrap().clone()
}

async fn a_new_organization_is_active_on_free_and_members_read_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let (_, member_key) = app.create_api_key(&ada.token, &org, "member").await;
    let eve = app.create_user("eve@example.com").await;
    let path = format!("/v1/organizations/{org}/subscription");

    let by_owner = app.get_as(&path, &ada.token).await;
    let by_key = app.get_as(&path, &member_key).await;
    let by_outsider = app.get_as(&path, &eve.token).await;

    assert_eq!(by_owner.status, 200, "{}", by_owner.text);
    assert!(by_owner.body["id"].as_str().unwrap().starts_with("sub_"));
    assert_eq!(by_owner.body["organizationId"], org.as_str());
    assert_eq!(by_owner.body["plan"], "free");
    assert_eq!(by_owner.body["status"], "active");
    assert_eq!(by_owner.body["cancelAtPeriodEnd"], false);
    assert_eq!(by_key.status, 200, "{}", by_key.text);
    assert_eq!(by_outsider.status, 404);
    assert_eq!(by_outsider.code(), "ORGANIZATION_NOT_FOUND");
}

async fn a_platform_admin_sets_the_subscription_and_the_caps_follow(backend: Backend) {
    let app = spawn_app(backend).await;
    let root = admin(&app).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let keys = format!("/v1/organizations/{org}/api-keys");
    let key = |n: u32| json!({"name": format!("k{n}"), "role": "member"});
    for n in 0..2 {
        assert_eq!(app.post_as(&keys, &ada.token, &key(n)).await.status, 201);
    }
    assert_eq!(app.post_as(&keys, &ada.token, &key(2)).await.status, 403);
    let body = json!({"plan": "pro", "status": "past_due",
                      "currentPeriodEnd": "2027-01-01T00:00:00Z", "cancelAtPeriodEnd": true});

    let set = app.post_as(&set_path(&org), &root, &body).await;
    let again = app.post_as(&set_path(&org), &root, &body).await;

    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.body["plan"], "pro");
    assert_eq!(set.body["status"], "past_due");
    assert_eq!(set.body["currentPeriodEnd"], "2027-01-01T00:00:00Z");
    assert_eq!(set.body["cancelAtPeriodEnd"], true);
    assert_eq!(again.status, 200, "{}", again.text);
    let org_view = app
        .get_as(&format!("/v1/organizations/{org}"), &ada.token)
        .await;
    assert_eq!(org_view.body["plan"], "pro");
    assert_eq!(app.post_as(&keys, &ada.token, &key(2)).await.status, 201);
    let actions = subscription_actions(&app, &ada.token, &org).await;
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["entityId"], set.body["id"]);
    assert_eq!(actions[0]["changes"]["plan"], json!(["free", "pro"]));
    assert_eq!(
        actions[0]["changes"]["status"],
        json!(["active", "past_due"])
    );

    // Back to free: the cap of 2 holds again for the next key.
    let back = app
        .post_as(&set_path(&org), &root, &json!({"plan": "free"}))
        .await;
    assert_eq!(back.status, 200, "{}", back.text);
    assert_eq!(back.body["status"], "past_due");
    let refused = app.post_as(&keys, &ada.token, &key(3)).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.code(), "PLAN_LIMIT_REACHED");
}

async fn organization_admins_cannot_set_the_plan(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;

    let patch = app
        .patch_as(
            &format!("/v1/organizations/{org}"),
            &ada.token,
            &json!({"plan": "pro"}),
        )
        .await;
    let post = app
        .post_as(&set_path(&org), &ada.token, &json!({"plan": "pro"}))
        .await;

    assert_eq!(patch.status, 403, "{}", patch.text);
    assert_eq!(patch.code(), "PLAN_CHANGE_FORBIDDEN");
    assert_eq!(post.status, 403, "{}", post.text);
    assert_eq!(post.code(), "PLATFORM_ADMIN_REQUIRED");
    let sub = app
        .get_as(&format!("/v1/organizations/{org}/subscription"), &ada.token)
        .await;
    assert_eq!(sub.body["plan"], "free");
}

async fn bad_plans_statuses_and_transitions_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let root = admin(&app).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let post = async |body: Value| app.post_as(&set_path(&org), &root, &body).await;

    let unknown = post(json!({"plan": "platinum"})).await;
    let malformed =
        post(json!({"plan": "Pro!", "status": "paused", "currentPeriodEnd": "soon"})).await;
    let canceled = post(json!({"plan": "free", "status": "canceled"})).await;
    let revived_past_due = post(json!({"plan": "free", "status": "past_due"})).await;
    let revived = post(json!({"plan": "free", "status": "active"})).await;
    let trial_again = post(json!({"plan": "free", "status": "trialing"})).await;
    let nowhere = app
        .post_as(
            &set_path("org_01JD6Z3Q9V7X2M4N8P0R5T1W3Y"),
            &root,
            &json!({"plan": "pro"}),
        )
        .await;

    assert_eq!(unknown.status, 422, "{}", unknown.text);
    assert_eq!(unknown.body["errors"][0]["code"], "UNKNOWN_PLAN");
    assert_eq!(malformed.status, 422, "{}", malformed.text);
    assert_eq!(
        malformed.error_fields(),
        ["plan", "status", "currentPeriodEnd"]
    );
    assert_eq!(canceled.status, 200, "{}", canceled.text);
    assert_eq!(revived_past_due.status, 409, "{}", revived_past_due.text);
    assert_eq!(revived_past_due.code(), "INVALID_SUBSCRIPTION_TRANSITION");
    assert_eq!(revived.status, 200, "{}", revived.text);
    assert_eq!(trial_again.status, 409, "{}", trial_again.text);
    assert_eq!(nowhere.status, 404, "{}", nowhere.text);
    assert_eq!(nowhere.code(), "ORGANIZATION_NOT_FOUND");
}

async fn the_migration_backfills_a_subscription_for_every_organization(backend: Backend) {
    // Arrange: before subscriptions, two organizations (one deleted) on
    // different plans.
    let db = TestDb::migrated(backend).await;
    let conn = db.connect().await;
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let position = names
        .iter()
        .position(|n| n == "m20261201_000002_create_subscriptions")
        .unwrap();
    let steps = u32::try_from(names.len() - position).unwrap();
    migration::run::<Migrator>(&conn, Command::Down { steps }, "test")
        .await
        .unwrap();
    let insert = match conn.get_database_backend() {
        DbBackend::Postgres => {
            "INSERT INTO organizations (id, name, slug, plan, deleted_at) VALUES ($1, $2, $3, $4, $5)"
        }
        _ => "INSERT INTO organizations (id, name, slug, plan, deleted_at) VALUES (?, ?, ?, ?, ?)",
    };
    let acme = domain::OrganizationId::new();
    let gone = domain::OrganizationId::new();
    for (id, slug, plan, deleted) in [
        (acme, "acme", "pro", None),
        (gone, "gone", "enterprise", Some(chrono::Utc::now())),
    ] {
        conn.execute_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            insert,
            [
                id.as_uuid().into(),
                slug.into(),
                slug.into(),
                plan.into(),
                deleted.into(),
            ],
        ))
        .await
        .unwrap();
    }

    // Act
    migration::run::<Migrator>(&conn, Command::Up { steps: None }, "test")
        .await
        .unwrap();

    // Assert
    let rows = text_rows(
        &conn,
        "SELECT o.slug, p.key, s.status FROM subscriptions s \
         JOIN organizations o ON o.id = s.organization_id \
         JOIN plans p ON p.id = s.plan_id ORDER BY o.slug",
    )
    .await;
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        rows,
        [
            vec![some("acme"), some("pro"), some("active")],
            vec![some("gone"), some("enterprise"), some("active")],
        ]
    );
}

on_both_databases!(
    a_new_organization_is_active_on_free_and_members_read_it,
    a_platform_admin_sets_the_subscription_and_the_caps_follow,
    organization_admins_cannot_set_the_plan,
    bad_plans_statuses_and_transitions_are_refused,
    the_migration_backfills_a_subscription_for_every_organization,
);
