//! Per-client-address rate limits (`[rate_limits]`): 429 `RATE_LIMITED` with
//! `Retry-After` past each limit, refilled with time, keyed by the address a
//! trusted proxy names, off when disabled.

use awc::http::Method;
use chrono::TimeDelta;
use groundwork_tests::app::{TestApp, TestResponse, spawn_app_with};
use groundwork_tests::{Backend, on_both_databases};
use serde_json::{Value, json};

/// Every limit at 2 a minute (one request back every 30 s).
const TWO_A_MINUTE: &[(&str, &str)] = &[
    ("APP__RATE_LIMITS__ENABLED", "true"),
    ("APP__RATE_LIMITS__SIGN_IN_PER_MINUTE", "2"),
    ("APP__RATE_LIMITS__SIGN_UP_PER_MINUTE", "2"),
    ("APP__RATE_LIMITS__PASSWORD_RESET_PER_MINUTE", "2"),
    ("APP__RATE_LIMITS__VERIFY_EMAIL_PER_MINUTE", "2"),
    ("APP__RATE_LIMITS__INVITATION_ACCEPT_PER_MINUTE", "2"),
    ("APP__RATE_LIMITS__WAITLIST_PER_MINUTE", "2"),
];

async fn post(app: &TestApp, path: &str, body: &Value, headers: &[(&str, &str)]) -> TestResponse {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    app.send(
        Method::POST,
        path,
        &all,
        Some(body.to_string().into_bytes()),
    )
    .await
}

fn assert_limited(res: &TestResponse, what: &str) {
    assert_eq!(res.status, 429, "{what}: {}", res.text);
    assert_eq!(res.content_type, "application/problem+json", "{what}");
    assert_eq!(res.code(), "RATE_LIMITED", "{what}");
    assert_eq!(
        res.headers.get("retry-after").map(String::as_str),
        Some("30"),
        "{what}"
    );
}

/// A limit's name, three requests (path and body) that count against it, and
/// the headers to send them with.
type Limited<'a> = (&'a str, [(&'a str, Value); 3], &'a [(&'a str, &'a str)]);

async fn every_limited_route_answers_429_with_retry_after_past_its_limit(backend: Backend) {
    let app = spawn_app_with(backend, TWO_A_MINUTE).await;
    let ada = app.create_user("ada@example.com").await;
    let bearer = format!("Bearer {}", ada.token);
    let email = json!({"email": "someone@example.com"});
    let token = json!({"token": "not-a-real-token"});
    // Two requests of each limit pass (whatever they answer), the third is refused;
    // the password-reset request and confirmation share one bucket.
    let limits: [Limited; 6] = [
        (
            "sign-in",
            [
                (
                    "/v1/auth/sign-in",
                    json!({"email": "a@example.com", "password": "wrong password"}),
                ),
                (
                    "/v1/auth/sign-in",
                    json!({"email": "a@example.com", "password": "wrong password"}),
                ),
                (
                    "/v1/auth/sign-in",
                    json!({"email": "a@example.com", "password": "wrong password"}),
                ),
            ],
            &[],
        ),
        (
            "sign-up",
            [
                ("/v1/auth/sign-up", json!({})),
                ("/v1/auth/sign-up", json!({})),
                ("/v1/auth/sign-up", json!({})),
            ],
            &[],
        ),
        (
            "password reset",
            [
                ("/v1/auth/password-reset/request", email.clone()),
                (
                    "/v1/auth/password-reset/confirm",
                    json!({"token": "x", "newPassword": "a long new password"}),
                ),
                ("/v1/auth/password-reset/request", email.clone()),
            ],
            &[],
        ),
        (
            "verify-email",
            [
                ("/v1/auth/verify-email", token.clone()),
                ("/v1/auth/verify-email", token.clone()),
                ("/v1/auth/verify-email", token.clone()),
            ],
            &[],
        ),
        (
            "invitation accept",
            [
                ("/v1/invitations/accept", token.clone()),
                ("/v1/invitations/accept", token.clone()),
                ("/v1/invitations/accept", token.clone()),
            ],
            &[("authorization", bearer.as_str())],
        ),
        (
            "waitlist",
            [
                (
                    "/v1/waitlist",
                    json!({"email": "w1@example.com", "role": "employee"}),
                ),
                (
                    "/v1/waitlist",
                    json!({"email": "w2@example.com", "role": "employee"}),
                ),
                (
                    "/v1/waitlist",
                    json!({"email": "w3@example.com", "role": "employee"}),
                ),
            ],
            &[],
        ),
    ];
    for (what, [first, second, third], headers) in &limits {
        let first = post(&app, first.0, &first.1, headers).await;
        let second = post(&app, second.0, &second.1, headers).await;
        let third = post(&app, third.0, &third.1, headers).await;

        assert_ne!(first.status, 429, "{what}: {}", first.text);
        assert_ne!(second.status, 429, "{what}: {}", second.text);
        assert_limited(&third, what);
    }
    let me = app.get_as("/v1/me", &ada.token).await;
    assert_eq!(me.status, 200, "an unlimited route is not refused");
}

async fn a_limit_refills_with_time(backend: Backend) {
    let app = spawn_app_with(backend, TWO_A_MINUTE).await;
    let join = |n: u32| json!({"email": format!("w{n}@example.com"), "role": "employee"});
    for n in 0..2 {
        assert_eq!(post(&app, "/v1/waitlist", &join(n), &[]).await.status, 201);
    }
    assert_limited(&post(&app, "/v1/waitlist", &join(2), &[]).await, "third");

    app.clock.advance(TimeDelta::seconds(29));
    let early = post(&app, "/v1/waitlist", &join(3), &[]).await;
    app.clock.advance(TimeDelta::seconds(1));
    let on_time = post(&app, "/v1/waitlist", &join(4), &[]).await;
    let again = post(&app, "/v1/waitlist", &join(5), &[]).await;

    assert_eq!(early.status, 429, "{}", early.text);
    assert_eq!(
        early.headers.get("retry-after").map(String::as_str),
        Some("1")
    );
    assert_eq!(on_time.status, 201, "{}", on_time.text);
    assert_limited(&again, "after the refill");
}

async fn a_trusted_proxy_s_forwarded_for_names_the_client(backend: Backend) {
    let mut settings = TWO_A_MINUTE.to_vec();
    settings.push(("APP__SERVER__TRUSTED_PROXIES", "127.0.0.0/8"));
    let behind_proxy = spawn_app_with(backend, &settings).await;
    let direct = spawn_app_with(backend, TWO_A_MINUTE).await;
    let body = json!({"email": "a@example.com", "password": "wrong password"});
    let from = |ip: &'static str| [("x-forwarded-for", ip)];

    // Behind the proxy: one client's bucket is its own.
    for _ in 0..2 {
        post(
            &behind_proxy,
            "/v1/auth/sign-in",
            &body,
            &from("203.0.113.1"),
        )
        .await;
    }
    let first_client = post(
        &behind_proxy,
        "/v1/auth/sign-in",
        &body,
        &from("203.0.113.1"),
    )
    .await;
    let other_client = post(
        &behind_proxy,
        "/v1/auth/sign-in",
        &body,
        &from("203.0.113.2"),
    )
    .await;
    let forged_left = post(
        &behind_proxy,
        "/v1/auth/sign-in",
        &body,
        &from("198.51.100.9, 203.0.113.1"),
    )
    .await;
    // From an untrusted peer the header is ignored: changing it does not help.
    for n in 0..2 {
        let ip = ["203.0.113.10", "203.0.113.11"][n];
        post(&direct, "/v1/auth/sign-in", &body, &from(ip)).await;
    }
    let spoofing = post(&direct, "/v1/auth/sign-in", &body, &from("203.0.113.12")).await;

    assert_limited(&first_client, "the same client behind the proxy");
    assert_eq!(other_client.status, 401, "{}", other_client.text);
    assert_limited(&forged_left, "a client prepending addresses");
    assert_limited(&spoofing, "a forged X-Forwarded-For from an untrusted peer");
}

async fn disabled_limits_never_refuse(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("APP__RATE_LIMITS__ENABLED", "false"),
            ("APP__RATE_LIMITS__SIGN_IN_PER_MINUTE", "1"),
        ],
    )
    .await;
    let body = json!({"email": "a@example.com", "password": "wrong password"});

    for n in 0..5 {
        let res = post(&app, "/v1/auth/sign-in", &body, &[]).await;

        assert_eq!(res.status, 401, "attempt {n}: {}", res.text);
    }
}

on_both_databases!(
    every_limited_route_answers_429_with_retry_after_past_its_limit,
    a_limit_refills_with_time,
    a_trusted_proxy_s_forwarded_for_names_the_client,
    disabled_limits_never_refuse,
);
