//! Session lifetime: 7-day expiry, sliding refresh at most once a day, an
//! absolute lifetime (`auth.session_max_lifetime_days`, 30) however often a
//! session is used, and losing every session at once when the user is
//! deactivated or deleted. And `/v1/me/sessions`: listing one's live sessions,
//! ending one, or all but the current one.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use domain::SessionId;
use groundwork_tests::Backend;
use groundwork_tests::app::{SignedUp, TestApp, spawn_app, spawn_app_on, spawn_app_with};
use groundwork_tests::on_both_databases;
use infra::entities::audit_logs;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::auth::{now, session_row, set_active, sign_in, soft_delete_user, user_id};

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get_as("/v1/me", token).await.status
}

async fn an_unused_session_expires_after_seven_days(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;
    app.clock
        .advance(TimeDelta::days(7) + TimeDelta::seconds(1));

    let res = app.get_as("/v1/me", &ada.token).await;

    assert_eq!(res.status, 401, "{}", res.text);
    assert_eq!(res.code(), "UNAUTHENTICATED");
}

async fn a_use_within_a_day_does_not_write(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;
    let before = session_row(&app, &ada.token).await;
    app.clock.advance(TimeDelta::hours(23));

    assert_eq!(me_status(&app, &ada.token).await, 200);

    assert_eq!(session_row(&app, &ada.token).await, before);
}

async fn a_use_after_more_than_a_day_extends_the_session_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;
    let signed_up = session_row(&app, &ada.token).await;
    app.clock.advance(TimeDelta::hours(25));
    let used_at = now(&app);

    assert_eq!(me_status(&app, &ada.token).await, 200);

    let refreshed = session_row(&app, &ada.token).await;
    assert!(refreshed.expires_at > signed_up.expires_at);
    assert!((refreshed.last_refreshed_at - used_at).abs() < TimeDelta::seconds(5));
    assert_eq!(
        refreshed.expires_at - refreshed.last_refreshed_at,
        TimeDelta::days(7)
    );

    app.clock.advance(TimeDelta::hours(2));
    assert_eq!(me_status(&app, &ada.token).await, 200);

    let again = session_row(&app, &ada.token).await;
    assert_eq!(again.last_refreshed_at, refreshed.last_refreshed_at);
    assert_eq!(again.expires_at, refreshed.expires_at);
}

async fn a_session_kept_in_use_outlives_seven_days(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;

    for day in (2..=12).step_by(2) {
        app.clock.advance(TimeDelta::days(2));
        assert_eq!(me_status(&app, &ada.token).await, 200, "day {day}");
    }

    app.clock
        .advance(TimeDelta::days(7) + TimeDelta::seconds(1));
    assert_eq!(me_status(&app, &ada.token).await, 401, "unused for 7 days");
}

async fn a_deactivated_user_loses_every_session_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;
    let second = crate::auth::sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;
    let second = second.body["token"].as_str().unwrap().to_owned();
    let grace = app.sign_up("grace@example.com").await;

    set_active(&app, user_id(&ada), false).await;

    assert_eq!(me_status(&app, &ada.token).await, 401);
    assert_eq!(me_status(&app, &second).await, 401);
    assert_eq!(
        me_status(&app, &grace.token).await,
        200,
        "others unaffected"
    );
}

async fn a_deleted_user_loses_every_session_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;

    soft_delete_user(&app, user_id(&ada)).await;

    let res = app.get_as("/v1/me", &ada.token).await;
    assert_eq!(res.status, 401, "{}", res.text);
    assert_eq!(res.code(), "UNAUTHENTICATED");
}

async fn a_session_used_every_day_still_ends_thirty_days_after_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;
    let signed_up = session_row(&app, &ada.token).await;

    for day in (2..=28).step_by(2) {
        app.clock.advance(TimeDelta::days(2));
        assert_eq!(me_status(&app, &ada.token).await, 200, "day {day}");
    }
    app.clock.advance(TimeDelta::days(1));
    assert_eq!(me_status(&app, &ada.token).await, 200, "day 29");
    let capped = session_row(&app, &ada.token).await;
    assert_eq!(
        capped.expires_at,
        signed_up.created_at + TimeDelta::days(30),
        "extended no further than the absolute lifetime"
    );

    app.clock
        .advance(TimeDelta::days(1) + TimeDelta::seconds(1));
    let res = app.get_as("/v1/me", &ada.token).await;
    assert_eq!(
        res.status, 401,
        "used a day ago, but 30 days old: {}",
        res.text
    );
    assert_eq!(res.code(), "UNAUTHENTICATED");
}

async fn a_short_absolute_lifetime_caps_a_new_session(backend: Backend) {
    let app = spawn_app_with(backend, &[("APP__AUTH__SESSION_MAX_LIFETIME_DAYS", "1")]).await;
    app.sign_up("ada@example.com").await;

    let res = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;

    assert_eq!(res.status, 200, "{}", res.text);
    let expires_at: DateTime<Utc> = res.body["expiresAt"].as_str().unwrap().parse().unwrap();
    let in_a_day = now(&app) + TimeDelta::days(1);
    assert!(
        (expires_at - in_a_day).abs() < TimeDelta::seconds(30),
        "{expires_at}"
    );
    let token = res.body["token"].as_str().unwrap();
    app.clock.advance(TimeDelta::hours(23));
    assert_eq!(me_status(&app, token).await, 200);
    app.clock
        .advance(TimeDelta::hours(1) + TimeDelta::seconds(1));
    assert_eq!(me_status(&app, token).await, 401);
}

async fn lowering_the_absolute_lifetime_ends_older_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;
    for _ in 0..5 {
        app.clock.advance(TimeDelta::days(2));
        assert_eq!(me_status(&app, &ada.token).await, 200);
    }

    // The same database, served with a 7-day limit, 10 days after sign-in.
    let stricter = spawn_app_on(
        &app.database_url(),
        &[("APP__AUTH__SESSION_MAX_LIFETIME_DAYS", "7")],
    )
    .await;
    stricter.clock.advance(app.clock.offset());

    assert_eq!(me_status(&stricter, &ada.token).await, 401);
    assert_eq!(
        me_status(&app, &ada.token).await,
        200,
        "still fine under 30 days"
    );
}

// ---- /v1/me/sessions ----

/// The public ID (`ses_...`) of a bearer token's session.
async fn session_id(app: &TestApp, token: &str) -> String {
    SessionId::from(session_row(app, token).await.id).to_string()
}

/// Signs in as `email` and returns the new session's token.
async fn new_session(app: &TestApp, email: &str) -> String {
    let res = sign_in(app, email, SignedUp::PASSWORD).await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["token"].as_str().unwrap().to_owned()
}

/// The `session.revoked` audit rows: (actor, entity) IDs, oldest first.
async fn revocations(app: &TestApp) -> Vec<(Option<sea_orm::prelude::Uuid>, Option<String>)> {
    audit_logs::Entity::find()
        .filter(audit_logs::Column::Action.eq("session.revoked"))
        .order_by_asc(audit_logs::Column::Id)
        .all(app.database.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.actor_id, row.entity_id))
        .collect()
}

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_list_shows_ones_live_sessions_and_marks_the_current_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;
    app.clock.advance(TimeDelta::days(6));
    let second = new_session(&app, "ada@example.com").await;
    let signed_out = new_session(&app, "ada@example.com").await;
    assert_eq!(
        app.post_as("/v1/auth/sign-out", &signed_out, &json!({}))
            .await
            .status,
        204
    );
    app.clock.advance(TimeDelta::days(2));
    let fourth = new_session(&app, "ada@example.com").await;
    let grace = app.sign_up("grace@example.com").await;

    let res = app.get_as("/v1/me/sessions", &second).await;

    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        ids(&res.body),
        [
            session_id(&app, &fourth).await,
            session_id(&app, &second).await
        ],
        "newest first; not the expired, the signed-out, nor another user's"
    );
    let items = res.body["items"].as_array().unwrap();
    let current: Vec<bool> = items
        .iter()
        .map(|i| i["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current, [false, true]);
    let fields: BTreeSet<&str> = items[1]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from([
            "id",
            "current",
            "createdAt",
            "lastRefreshedAt",
            "expiresAt",
            "ip",
            "userAgent"
        ]),
        "never a token or its hash"
    );
    assert!(
        !res.text
            .contains(&session_row(&app, &second).await.token_hash)
    );
    assert_eq!(items[1]["ip"], "127.0.0.1");
    assert_eq!(res.body["hasNext"], false);
    let _ = (ada, grace);

    let paged = app.get_as("/v1/me/sessions?pageSize=1", &second).await;
    assert_eq!(paged.status, 200, "{}", paged.text);
    assert_eq!(ids(&paged.body), [session_id(&app, &fourth).await]);
    assert_eq!(paged.body["hasNext"], true);
}

async fn ending_one_session_refuses_its_token_and_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;
    let other = new_session(&app, "ada@example.com").await;
    let other_id = session_id(&app, &other).await;

    let res = app
        .delete_as(&format!("/v1/me/sessions/{other_id}"), &ada.token)
        .await;

    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(me_status(&app, &other).await, 401);
    assert_eq!(me_status(&app, &ada.token).await, 200);
    assert_eq!(
        revocations(&app).await,
        [(Some(user_id(&ada).as_uuid()), Some(other_id.clone()))]
    );
    let again = app
        .delete_as(&format!("/v1/me/sessions/{other_id}"), &ada.token)
        .await;
    assert_eq!(again.status, 404, "{}", again.text);
    assert_eq!(again.code(), "SESSION_NOT_FOUND");

    // The current one too: then it is a sign-out.
    let current = session_id(&app, &ada.token).await;
    let res = app
        .delete_as(&format!("/v1/me/sessions/{current}"), &ada.token)
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(me_status(&app, &ada.token).await, 401);
}

async fn another_users_unknown_or_malformed_session_is_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;
    let grace = app.sign_up("grace@example.com").await;
    let graces = session_id(&app, &grace.token).await;

    for id in [
        graces.as_str(),
        &SessionId::new().to_string(),
        "ses_nope",
        &ada.user_id,
    ] {
        let res = app
            .delete_as(&format!("/v1/me/sessions/{id}"), &ada.token)
            .await;
        assert_eq!(res.status, 404, "{id}: {}", res.text);
        assert_eq!(res.code(), "SESSION_NOT_FOUND", "{id}");
    }
    assert_eq!(me_status(&app, &grace.token).await, 200);
    assert!(revocations(&app).await.is_empty());
}

async fn ending_every_other_session_keeps_the_current_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;
    let current = new_session(&app, "ada@example.com").await;
    let third = new_session(&app, "ada@example.com").await;
    let grace = app.sign_up("grace@example.com").await;

    let res = app.delete_as("/v1/me/sessions", &current).await;

    assert_eq!(res.status, 204, "{}", res.text);
    assert_eq!(me_status(&app, &ada.token).await, 401);
    assert_eq!(me_status(&app, &third).await, 401);
    assert_eq!(me_status(&app, &current).await, 200);
    assert_eq!(me_status(&app, &grace.token).await, 200, "another user's");
    let ada_id = Some(user_id(&ada).as_uuid());
    let mut revoked = revocations(&app).await;
    revoked.sort();
    let mut expected = vec![
        (ada_id, Some(session_id(&app, &ada.token).await)),
        (ada_id, Some(session_id(&app, &third).await)),
    ];
    expected.sort();
    assert_eq!(revoked, expected);
    let list = app.get_as("/v1/me/sessions", &current).await;
    assert_eq!(ids(&list.body), [session_id(&app, &current).await]);

    let again = app.delete_as("/v1/me/sessions", &current).await;
    assert_eq!(again.status, 204, "nothing left to end is fine");
    assert_eq!(revocations(&app).await.len(), 2);
}

async fn an_api_key_has_no_sessions_to_manage(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let (_, key) = app.create_api_key(&ada.token, &org, "admin").await;

    for res in [
        app.get_as("/v1/me/sessions", &key).await,
        app.delete_as("/v1/me/sessions", &key).await,
    ] {
        assert_eq!(res.status, 403, "{}", res.text);
        assert_eq!(res.code(), "USER_REQUIRED");
    }
    assert_eq!(me_status(&app, &ada.token).await, 200);
}

on_both_databases!(
    an_unused_session_expires_after_seven_days,
    a_use_within_a_day_does_not_write,
    a_use_after_more_than_a_day_extends_the_session_once,
    a_session_kept_in_use_outlives_seven_days,
    a_deactivated_user_loses_every_session_at_once,
    a_deleted_user_loses_every_session_at_once,
    a_session_used_every_day_still_ends_thirty_days_after_sign_in,
    a_short_absolute_lifetime_caps_a_new_session,
    lowering_the_absolute_lifetime_ends_older_sessions,
    the_list_shows_ones_live_sessions_and_marks_the_current_one,
    ending_one_session_refuses_its_token_and_is_audited,
    another_users_unknown_or_malformed_session_is_404,
    ending_every_other_session_keeps_the_current_one,
    an_api_key_has_no_sessions_to_manage,
);
