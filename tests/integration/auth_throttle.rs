//! The per-email sign-in limit (`auth.max_failed_sign_ins`, 10): counted in the
//! database, the same for an email with or without an account, answered 429
//! `RATE_LIMITED` with `Retry-After` before any password is hashed, for a pause
//! that grows with each further failure; a successful sign-in clears it.

use chrono::TimeDelta;
use futures_util::future::join_all;
use groundwork_tests::Backend;
use groundwork_tests::app::{SignedUp, TestApp, TestResponse, spawn_app, spawn_app_on};
use groundwork_tests::on_both_databases;
use infra::entities::{accounts, audit_logs};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::auth::sign_in;

/// `auth.max_failed_sign_ins` in `config/default.toml` (the tests do not change it).
const MAX: usize = 10;

/// The `Retry-After` of a 429, after checking it is one.
fn retry_after(res: &TestResponse) -> u64 {
    assert_eq!(res.status, 429, "{}", res.text);
    assert_eq!(res.code(), "RATE_LIMITED");
    assert_eq!(res.content_type, "application/problem+json");
    res.headers
        .get("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After in {:?}", res.headers))
}

/// `n` wrong-password sign-ins for `email`, each asserted 401.
async fn fail(app: &TestApp, email: &str, n: usize) {
    for i in 1..=n {
        let res = sign_in(app, email, "wrong password").await;
        assert_eq!(res.status, 401, "{email}, failure {i}: {}", res.text);
    }
}

async fn sign_in_failed_rows(app: &TestApp) -> u64 {
    audit_logs::Entity::find()
        .filter(audit_logs::Column::Action.eq("user.sign_in_failed"))
        .count(app.database.conn())
        .await
        .unwrap()
}

async fn the_eleventh_attempt_after_ten_failures_is_429_with_retry_after(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("ada@example.com").await;
    fail(&app, "ada@example.com", MAX).await;

    let refused = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;

    let wait = retry_after(&refused);
    assert!((55..=60).contains(&wait), "Retry-After {wait}");
    assert!(refused.body.get("token").is_none());

    app.clock.advance(TimeDelta::seconds(61));
    let after_the_pause = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;
    assert_eq!(after_the_pause.status, 200, "{}", after_the_pause.text);
}

async fn an_unknown_email_is_limited_exactly_like_a_known_one(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("ada@example.com").await;

    let mut answers = Vec::new();
    for email in ["ada@example.com", "nobody@example.com"] {
        let mut statuses = Vec::new();
        for _ in 0..=MAX {
            statuses.push(sign_in(&app, email, "wrong password").await.status);
        }
        let refused = sign_in(&app, email, SignedUp::PASSWORD).await;
        statuses.push(refused.status);
        let paused = retry_after(&refused) > 50;
        answers.push((statuses, refused.text, paused));
    }

    let expected: Vec<u16> = [vec![401; MAX], vec![429, 429]].concat();
    assert_eq!(answers[0].0, expected, "a known email");
    assert_eq!(answers[0], answers[1], "known and unknown answer alike");
}

async fn each_further_failure_doubles_the_pause(backend: Backend) {
    let app = spawn_app(backend).await;
    fail(&app, "nobody@example.com", MAX).await;

    let mut pauses = Vec::new();
    for _ in 0..3 {
        let wait = retry_after(&sign_in(&app, "nobody@example.com", "wrong password").await);
        pauses.push(wait);
        app.clock.advance(TimeDelta::seconds(wait as i64 + 1));
        fail(&app, "nobody@example.com", 1).await;
    }
    let last = retry_after(&sign_in(&app, "nobody@example.com", "wrong password").await);
    pauses.push(last);

    let minutes: Vec<u64> = pauses.iter().map(|s| s.div_ceil(60)).collect();
    assert_eq!(minutes, [1, 2, 4, 8], "pauses in seconds: {pauses:?}");
}

async fn failures_are_forgotten_after_fifteen_quiet_minutes(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("ada@example.com").await;
    fail(&app, "ada@example.com", MAX - 1).await;

    app.clock.advance(TimeDelta::minutes(15));

    fail(&app, "ada@example.com", MAX).await;
    retry_after(&sign_in(&app, "ada@example.com", "wrong password").await);
}

async fn a_successful_sign_in_clears_the_count(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("ada@example.com").await;
    fail(&app, "ada@example.com", MAX - 1).await;

    let ok = sign_in(&app, "ADA@example.com ", SignedUp::PASSWORD).await;
    assert_eq!(ok.status, 200, "{}", ok.text);

    fail(&app, "ada@example.com", MAX).await;
    retry_after(&sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await);
}

async fn a_paused_email_is_refused_before_its_password_is_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("ada@example.com").await;
    fail(&app, "ada@example.com", MAX).await;
    let failures_recorded = sign_in_failed_rows(&app).await;
    // A stored hash that cannot be parsed: checking the password now would be a 500.
    accounts::Entity::update_many()
        .col_expr(
            accounts::Column::PasswordHash,
            Expr::value("not a PHC string"),
        )
        .exec(app.database.conn())
        .await
        .unwrap();

    let refused = sign_in(&app, "ada@example.com", SignedUp::PASSWORD).await;

    retry_after(&refused);
    assert_eq!(
        sign_in_failed_rows(&app).await,
        failures_recorded,
        "nothing past the limit ran"
    );
}

async fn other_emails_are_not_limited(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("ada@example.com").await;
    app.sign_up("grace@example.com").await;
    fail(&app, "ada@example.com", MAX).await;

    let grace = sign_in(&app, "grace@example.com", SignedUp::PASSWORD).await;

    assert_eq!(grace.status, 200, "{}", grace.text);
    fail(&app, "grace@example.com", 1).await;
}

async fn the_count_holds_across_servers_on_one_database(backend: Backend) {
    let first = spawn_app(backend).await;
    let second = spawn_app_on(&first.database_url(), &[]).await;
    first.sign_up("ada@example.com").await;

    fail(&first, "ada@example.com", MAX / 2).await;
    fail(&second, "ada@example.com", MAX - MAX / 2).await;

    retry_after(&sign_in(&first, "ada@example.com", SignedUp::PASSWORD).await);
    retry_after(&sign_in(&second, "ada@example.com", SignedUp::PASSWORD).await);
}

async fn concurrent_attempts_cannot_pass_the_limit_together(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_up("ada@example.com").await;

    let attempts = (0..2 * MAX).map(|_| sign_in(&app, "ada@example.com", "wrong password"));
    let mut statuses: Vec<u16> = join_all(attempts)
        .await
        .iter()
        .map(|res| res.status)
        .collect();

    statuses.sort_unstable();
    let expected: Vec<u16> = [vec![401; MAX], vec![429; MAX]].concat();
    assert_eq!(statuses, expected);
}

on_both_databases!(
    the_eleventh_attempt_after_ten_failures_is_429_with_retry_after,
    an_unknown_email_is_limited_exactly_like_a_known_one,
    each_further_failure_doubles_the_pause,
    failures_are_forgotten_after_fifteen_quiet_minutes,
    a_successful_sign_in_clears_the_count,
    a_paused_email_is_refused_before_its_password_is_checked,
    other_emails_are_not_limited,
    the_count_holds_across_servers_on_one_database,
    concurrent_attempts_cannot_pass_the_limit_together,
);
