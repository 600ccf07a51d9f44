//! Plans in the database: seeded from the former `[plans.*]` defaults,
//! managed by platform admins at `/v1/admin/plans`, and read by every cap
//! check, so a change to a plan's caps shows at the next check.

use groundwork_tests::Backend;
use groundwork_tests::app::{TestApp, spawn_app};
use groundwork_tests::on_both_databases;
use serde_json::{Value, json};

const PLANS: &str = "/v1/admin/plans";

/// A platform admin's token.
async fn admin(app: &TestApp) -> String {
    let root = app.create_user("root@example.com").await;
    app.promote_to_platform_admin("root@example.com").await;
    root.token
}

fn team() -> Value {
    json!({
        "key": "team",
        "name": "Team",
        "maxMembers": 20,
        "maxApiKeys": 5,
        "maxJobs": 100,
        "maxConcurrentTasks": 10,
        "monthlyTokenQuota": 10_000_000,
        "priceCents": 1900,
        "providerPriceId": "price_team"
    })
}

async fn the_migration_seeds_free_pro_and_enterprise_with_the_former_defaults(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = admin(&app).await;

    let page = app
        .get_as(&format!("{PLANS}?sortBy=key&sortDirection=asc"), &token)
        .await;

    assert_eq!(page.status, 200, "{}", page.text);
    let caps: Vec<_> = page.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["key"].as_str().unwrap().to_owned(),
                p["maxMembers"].as_u64().unwrap(),
                p["maxApiKeys"].as_u64().unwrap(),
                p["maxJobs"].as_u64().unwrap(),
                p["maxConcurrentTasks"].as_u64().unwrap(),
                p["monthlyTokenQuota"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        caps,
        [
            (
                "enterprise".to_owned(),
                10_000,
                1_000,
                100_000,
                1_000,
                10_000_000_000
            ),
            ("free".to_owned(), 5, 2, 10, 2, 1_000_000),
            ("pro".to_owned(), 100, 25, 1_000, 50, 100_000_000),
        ]
    );
    assert!(
        page.body["items"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("pln_")
    );
}

async fn admins_create_read_list_change_and_delete_plans(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = admin(&app).await;

    let made = app.post_as(PLANS, &token, &team()).await;

    assert_eq!(made.status, 201, "{}", made.text);
    assert!(made.body["id"].as_str().unwrap().starts_with("pln_"));
    assert_eq!(made.body["currency"], "usd");
    assert_eq!(made.body["priceCents"], 1900);
    assert_eq!(
        made.headers.get("location").map(String::as_str),
        Some("/v1/admin/plans/team")
    );
    let one = app.get_as(&format!("{PLANS}/team"), &token).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["providerPriceId"], "price_team");
    let found = app
        .get_as(&format!("{PLANS}?searchQuery=TEA"), &token)
        .await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);

    let changed = app
        .patch_as(
            &format!("{PLANS}/team"),
            &token,
            &json!({"maxMembers": 30, "providerPriceId": null, "currency": "eur"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["maxMembers"], 30);
    assert_eq!(changed.body["maxApiKeys"], 5);
    assert_eq!(changed.body["providerPriceId"], Value::Null);
    assert_eq!(changed.body["currency"], "eur");

    let gone = app.delete_as(&format!("{PLANS}/team"), &token).await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    let again = app.get_as(&format!("{PLANS}/team"), &token).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.code(), "PLAN_NOT_FOUND");

    let actions = app
        .get_as(
            "/v1/admin/audit-logs?entityType=plan&sortDirection=asc",
            &token,
        )
        .await;
    let actions: Vec<_> = actions.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, ["plan.created", "plan.updated", "plan.deleted"]);
}

async fn taken_keys_and_prices_are_409_and_bad_values_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = admin(&app).await;
    assert_eq!(app.post_as(PLANS, &token, &team()).await.status, 201);

    let mut again = team();
    again["providerPriceId"] = json!("price_other");
    let same_key = app.post_as(PLANS, &token, &again).await;
    let mut other = team();
    other["key"] = json!("team-2");
    let same_price = app.post_as(PLANS, &token, &other).await;
    let pro_takes_price = app
        .patch_as(
            &format!("{PLANS}/pro"),
            &token,
            &json!({"providerPriceId": "price_team"}),
        )
        .await;
    let bad = app
        .post_as(
            PLANS,
            &token,
            &json!({"key": "Team!", "name": "T", "maxMembers": 0, "maxApiKeys": -1,
                    "maxJobs": 1, "maxConcurrentTasks": 1, "currency": "US"}),
        )
        .await;

    assert_eq!(same_key.status, 409, "{}", same_key.text);
    assert_eq!(same_key.code(), "PLAN_KEY_TAKEN");
    assert_eq!(same_price.status, 409, "{}", same_price.text);
    assert_eq!(same_price.code(), "PROVIDER_PRICE_TAKEN");
    assert_eq!(pro_takes_price.status, 409, "{}", pro_takes_price.text);
    assert_eq!(pro_takes_price.code(), "PROVIDER_PRICE_TAKEN");
    assert_eq!(bad.status, 422, "{}", bad.text);
    assert_eq!(
        bad.error_fields(),
        [
            "key",
            "maxMembers",
            "maxApiKeys",
            "monthlyTokenQuota",
            "currency"
        ]
    );
}

async fn the_free_plan_and_plans_in_use_cannot_be_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = admin(&app).await;
    let owner = app.create_user("ada@example.com").await;
    let org = app.create_organization(&owner.token, "Acme").await;
    let moved = app
        .patch_as(
            &format!("/v1/admin/organizations/{org}"),
            &token,
            &json!({"plan": "pro"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);

    let free = app.delete_as(&format!("{PLANS}/free"), &token).await;
    let pro = app.delete_as(&format!("{PLANS}/pro"), &token).await;
    let enterprise = app.delete_as(&format!("{PLANS}/enterprise"), &token).await;

    assert_eq!(free.status, 409, "{}", free.text);
    assert_eq!(free.code(), "PLAN_REQUIRED");
    assert_eq!(pro.status, 409, "{}", pro.text);
    assert_eq!(pro.code(), "PLAN_IN_USE");
    assert_eq!(enterprise.status, 204, "{}", enterprise.text);
    assert_eq!(
        app.get_as(&format!("{PLANS}/pro"), &token).await.status,
        200
    );
}

async fn only_platform_admins_manage_plans(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;

    let create = app.post_as(PLANS, &ada.token, &team()).await;
    let list = app.get_as(PLANS, &ada.token).await;
    let change = app
        .patch_as(
            &format!("{PLANS}/free"),
            &ada.token,
            &json!({"maxMembers": 1000}),
        )
        .await;
    let delete = app.delete_as(&format!("{PLANS}/pro"), &ada.token).await;
    let anonymous = app.get(PLANS).await;

    for res in [&create, &list, &change, &delete] {
        assert_eq!(res.status, 403, "{}", res.text);
        assert_eq!(res.code(), "PLATFORM_ADMIN_REQUIRED");
    }
    assert_eq!(anonymous.status, 401);
}

async fn a_change_to_a_plan_s_caps_applies_at_the_next_check(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = admin(&app).await;
    let owner = app.create_user("ada@example.com").await;
    let org = app.create_organization(&owner.token, "Acme").await;
    let keys = format!("/v1/organizations/{org}/api-keys");
    let key = |n: u32| json!({"name": format!("k{n}"), "role": "member"});
    for n in 0..2 {
        assert_eq!(app.post_as(&keys, &owner.token, &key(n)).await.status, 201);
    }
    let third = app.post_as(&keys, &owner.token, &key(2)).await;
    assert_eq!(third.status, 403, "{}", third.text);
    assert_eq!(third.code(), "PLAN_LIMIT_REACHED");

    let raised = app
        .patch_as(&format!("{PLANS}/free"), &token, &json!({"maxApiKeys": 3}))
        .await;
    assert_eq!(raised.status, 200, "{}", raised.text);

    assert_eq!(app.post_as(&keys, &owner.token, &key(3)).await.status, 201);
    let fourth = app.post_as(&keys, &owner.token, &key(4)).await;
    assert_eq!(fourth.status, 403, "{}", fourth.text);
}

on_both_databases!(
    the_migration_seeds_free_pro_and_enterprise_with_the_former_defaults,
    admins_create_read_list_change_and_delete_plans,
    taken_keys_and_prices_are_409_and_bad_values_422,
    the_free_plan_and_plans_in_use_cannot_be_deleted,
    only_platform_admins_manage_plans,
    a_change_to_a_plan_s_caps_applies_at_the_next_check,
);
