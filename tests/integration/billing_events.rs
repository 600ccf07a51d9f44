//! The Stripe webhook: signed over the raw body, each event applied once
//! (even delivered 10 times at once), never rolled back by an older event,
//! and nothing written for a bad signature or a stale timestamp.

use awc::http::Method;
use futures_util::future::join_all;
use groundwork_tests::Backend;
use groundwork_tests::app::{TestApp, TestResponse, spawn_app};
use groundwork_tests::faults::count_rows;
use groundwork_tests::on_both_databases;
use infra::security::stripe::stripe_signature;
use serde_json::{Value, json};

const WEBHOOK: &str = "/v1/integrations/stripe/webhook";
/// `billing.stripe_webhook_secret` in config/test.toml.
const SECRET: &str = "whsec_test_secret";

struct Billing {
    app: TestApp,
    root: String,
    owner: String,
    org: String,
}

/// An organization on `free`, and `pro` mapped to Stripe's `price_pro`.
async fn billing(backend: Backend) -> Billing {
    let app = spawn_app(backend).await;
    let root = app.create_user("root@example.com").await;
    app.promote_to_platform_admin("root@example.com").await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let priced = app
        .patch_as(
            "/v1/admin/plans/pro",
            &root.token,
            &json!({"providerPriceId": "price_pro"}),
        )
        .await;
    assert_eq!(priced.status, 200, "{}", priced.text);
    Billing {
        app,
        root: root.token,
        owner: ada.token,
        org,
    }
}

fn now(app: &TestApp) -> i64 {
    domain::Clock::now(app.clock.as_ref()).timestamp()
}

fn subscription_event(id: &str, kind: &str, created: i64, org: &str, status: &str) -> Value {
    json!({
        "id": id, "object": "event", "type": kind, "created": created,
        "data": {"object": {
            "id": "sub_stripe_1", "object": "subscription", "customer": "cus_1",
            "status": status, "cancel_at_period_end": false,
            "metadata": {"organization_id": org},
            "items": {"data": [{"price": {"id": "price_pro"},
                "current_period_start": created, "current_period_end": created + 2_592_000}]}
        }}
    })
}

/// Posts `event` signed at `at` with `secret`.
async fn post_signed(app: &TestApp, event: &Value, at: i64, secret: &str) -> TestResponse {
    let body = serde_json::to_vec(event).unwrap();
    let header = format!("t={at},v1={}", stripe_signature(secret, at, &body));
    app.send(
        Method::POST,
        WEBHOOK,
        &[
            ("content-type", "application/json"),
            ("stripe-signature", &header),
        ],
        Some(body),
    )
    .await
}

async fn post(app: &TestApp, event: &Value) -> TestResponse {
    post_signed(app, event, now(app), SECRET).await
}

async fn subscription(b: &Billing) -> Value {
    let res = b
        .app
        .get_as(
            &format!("/v1/organizations/{}/subscription", b.org),
            &b.owner,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
}

async fn a_signed_event_moves_the_organization_to_pro_and_a_redelivery_changes_nothing(
    backend: Backend,
) {
    let b = billing(backend).await;
    let app = &b.app;
    let keys = format!("/v1/organizations/{}/api-keys", b.org);
    let key = |n: u32| json!({"name": format!("k{n}"), "role": "member"});
    for n in 0..2 {
        assert_eq!(app.post_as(&keys, &b.owner, &key(n)).await.status, 201);
    }
    assert_eq!(app.post_as(&keys, &b.owner, &key(2)).await.status, 403);
    let event = subscription_event(
        "evt_1",
        "customer.subscription.updated",
        now(app),
        &b.org,
        "active",
    );

    let first = post(app, &event).await;
    let sub = subscription(&b).await;
    let third_key = app.post_as(&keys, &b.owner, &key(2)).await;
    let again = post(app, &event).await;

    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["duplicate"], false);
    assert_eq!(first.body["applied"], true, "{}", first.text);
    assert_eq!(sub["plan"], "pro");
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["provider"], "stripe");
    assert_eq!(sub["providerSubscriptionId"], "sub_stripe_1");
    assert_eq!(sub["providerCustomerId"], "cus_1");
    assert_eq!(third_key.status, 201, "{}", third_key.text);
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["duplicate"], true);
    assert_eq!(subscription(&b).await, sub);
    assert_eq!(count_rows(&app.database, "billing_events").await, 1);
}

async fn ten_concurrent_deliveries_record_one_row_and_apply_once(backend: Backend) {
    let b = billing(backend).await;
    let app = &b.app;
    let event = subscription_event(
        "evt_many",
        "customer.subscription.updated",
        now(app),
        &b.org,
        "active",
    );

    let results = join_all((0..10).map(|_| post(app, &event))).await;

    for res in &results {
        assert_eq!(res.status, 200, "{}", res.text);
    }
    let fresh: Vec<_> = results
        .iter()
        .filter(|r| r.body["duplicate"] == false)
        .collect();
    assert_eq!(
        fresh.len(),
        1,
        "{:?}",
        results.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    assert_eq!(fresh[0].body["applied"], true);
    assert_eq!(count_rows(&app.database, "billing_events").await, 1);
    assert_eq!(subscription(&b).await["plan"], "pro");
}

async fn an_older_event_after_a_newer_one_is_recorded_but_changes_nothing(backend: Backend) {
    let b = billing(backend).await;
    let app = &b.app;
    let t = now(app);
    let newer = subscription_event(
        "evt_new",
        "customer.subscription.updated",
        t,
        &b.org,
        "active",
    );
    let older = subscription_event(
        "evt_old",
        "customer.subscription.deleted",
        t - 60,
        &b.org,
        "canceled",
    );

    let first = post(app, &newer).await;
    let late = post(app, &older).await;

    assert_eq!(first.body["applied"], true, "{}", first.text);
    assert_eq!(late.status, 200, "{}", late.text);
    assert_eq!(late.body["applied"], false, "{}", late.text);
    assert!(
        late.body["outcome"].as_str().unwrap().contains("older"),
        "{}",
        late.text
    );
    let sub = subscription(&b).await;
    assert_eq!(sub["plan"], "pro");
    assert_eq!(sub["status"], "active");
    let listed = app
        .get_as(
            &format!(
                "/v1/organizations/{}/billing-events?sortDirection=asc",
                b.org
            ),
            &b.owner,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let applied: Vec<_> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["eventId"].as_str().unwrap().to_owned(),
                e["applied"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        applied,
        [("evt_new".to_owned(), true), ("evt_old".to_owned(), false)]
    );
}

async fn invoices_move_the_status_and_unknown_types_are_recorded(backend: Backend) {
    let b = billing(backend).await;
    let app = &b.app;
    let t = now(app);
    post(
        app,
        &subscription_event(
            "evt_1",
            "customer.subscription.created",
            t - 10,
            &b.org,
            "active",
        ),
    )
    .await;
    let invoice = |id: &str, kind: &str, at: i64| {
        json!({"id": id, "type": kind, "created": at,
               "data": {"object": {"id": "in_1", "subscription": "sub_stripe_1", "customer": "cus_1"}}})
    };

    let failed = post(app, &invoice("evt_2", "invoice.payment_failed", t - 5)).await;
    let past_due = subscription(&b).await["status"].clone();
    let paid = post(app, &invoice("evt_3", "invoice.paid", t)).await;
    let unknown = post(
        app,
        &json!({"id": "evt_4", "type": "charge.refunded", "created": t,
                                    "data": {"object": {"id": "ch_1"}}}),
    )
    .await;

    assert_eq!(failed.body["applied"], true, "{}", failed.text);
    assert_eq!(past_due, "past_due");
    assert_eq!(paid.body["applied"], true, "{}", paid.text);
    assert_eq!(subscription(&b).await["status"], "active");
    assert_eq!(unknown.status, 200, "{}", unknown.text);
    assert_eq!(unknown.body["applied"], false);
    assert_eq!(count_rows(&app.database, "billing_events").await, 4);
}

async fn a_bad_signature_or_a_stale_timestamp_is_401_and_writes_nothing(backend: Backend) {
    let b = billing(backend).await;
    let app = &b.app;
    let t = now(app);
    let event = subscription_event(
        "evt_bad",
        "customer.subscription.updated",
        t,
        &b.org,
        "active",
    );
    let body = serde_json::to_vec(&event).unwrap();

    let unsigned = app
        .send(
            Method::POST,
            WEBHOOK,
            &[("content-type", "application/json")],
            Some(body.clone()),
        )
        .await;
    let wrong_secret = post_signed(app, &event, t, "whsec_other").await;
    // Each stamp is taken from the clock just before its request, with a margin, so a
    // slow machine cannot carry a stamp across the 300 s line while the test runs.
    let too_old = post_signed(app, &event, now(app) - 310, SECRET).await;
    let too_new = post_signed(app, &event, now(app) + 310, SECRET).await;
    let header = format!("t={t},v1={}", stripe_signature(SECRET, t, &body));
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let altered = app
        .send(
            Method::POST,
            WEBHOOK,
            &[("stripe-signature", &header)],
            Some(tampered),
        )
        .await;

    for res in [&unsigned, &wrong_secret, &too_old, &too_new, &altered] {
        assert_eq!(res.status, 401, "{}", res.text);
        assert_eq!(res.code(), "INVALID_SIGNATURE");
    }
    assert_eq!(count_rows(&app.database, "billing_events").await, 0);
    assert_eq!(subscription(&b).await["plan"], "free");
    // Inside the tolerance, both ways, it is accepted.
    assert_eq!(
        post_signed(app, &event, now(app) - 290, SECRET)
            .await
            .status,
        200
    );
    let later = subscription_event(
        "evt_ahead",
        "customer.subscription.updated",
        t,
        &b.org,
        "active",
    );
    assert_eq!(
        post_signed(app, &later, now(app) + 290, SECRET)
            .await
            .status,
        200
    );
}

async fn owners_and_platform_admins_list_billing_events(backend: Backend) {
    let b = billing(backend).await;
    let app = &b.app;
    post(
        app,
        &subscription_event(
            "evt_1",
            "customer.subscription.updated",
            now(app),
            &b.org,
            "active",
        ),
    )
    .await;
    let bob = app.create_user("bob@example.com").await;
    app.add_member(&b.org, &bob.user_id, domain::MemberRole::Admin)
        .await;
    let path = format!("/v1/organizations/{}/billing-events", b.org);

    let by_owner = app.get_as(&path, &b.owner).await;
    let by_admin = app.get_as(&path, &bob.token).await;
    let all = app.get_as("/v1/admin/billing-events", &b.root).await;
    let all_by_owner = app.get_as("/v1/admin/billing-events", &b.owner).await;

    assert_eq!(by_owner.status, 200, "{}", by_owner.text);
    assert_eq!(
        by_owner.body["items"][0]["type"],
        "customer.subscription.updated"
    );
    assert_eq!(by_owner.body["items"][0]["organizationId"], b.org.as_str());
    assert!(
        by_owner.body["items"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("bev_")
    );
    assert_eq!(by_admin.status, 403, "{}", by_admin.text);
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(all_by_owner.status, 403);
}

on_both_databases!(
    a_signed_event_moves_the_organization_to_pro_and_a_redelivery_changes_nothing,
    ten_concurrent_deliveries_record_one_row_and_apply_once,
    an_older_event_after_a_newer_one_is_recorded_but_changes_nothing,
    invoices_move_the_status_and_unknown_types_are_recorded,
    a_bad_signature_or_a_stale_timestamp_is_401_and_writes_nothing,
    owners_and_platform_admins_list_billing_events,
);
