//! Session lifetime: 7-day expiry, sliding refresh at most once a day, and losing
//! every session at once when the user is deactivated or deleted.

use chrono::TimeDelta;
use groundwork_tests::Backend;
use groundwork_tests::app::{SignedUp, TestApp, spawn_app};
use groundwork_tests::on_both_databases;

use crate::auth::{now, session_row, set_active, soft_delete_user, user_id};

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

on_both_databases!(
    an_unused_session_expires_after_seven_days,
    a_use_within_a_day_does_not_write,
    a_use_after_more_than_a_day_extends_the_session_once,
    a_session_kept_in_use_outlives_seven_days,
    a_deactivated_user_loses_every_session_at_once,
    a_deleted_user_loses_every_session_at_once,
);
