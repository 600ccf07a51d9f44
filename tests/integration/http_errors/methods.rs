//! Methods every route shares: 405 with `Allow`, `HEAD`, `OPTIONS`, and CORS.
//! (`routes.rs` checks `Allow` against every route the source declares.)

use awc::http::Method;
use groundwork_tests::app::{TestResponse, spawn_app, spawn_app_with};
use groundwork_tests::{Backend, on_both_databases};

fn header<'a>(res: &'a TestResponse, name: &str) -> Option<&'a str> {
    res.headers.get(name).map(String::as_str)
}

async fn a_known_path_with_a_method_it_does_not_serve_is_a_405_with_allow(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases = [
        (Method::PUT, "/v1/waitlist", "POST, OPTIONS"),
        (Method::GET, "/v1/waitlist", "POST, OPTIONS"),
        (Method::TRACE, "/health", "GET, HEAD, OPTIONS"),
        (Method::POST, "/health", "GET, HEAD, OPTIONS"),
        (Method::DELETE, "/v1/auth/sign-in", "POST, OPTIONS"),
        (Method::PUT, "/v1/me", "GET, HEAD, PATCH, DELETE, OPTIONS"),
        (
            Method::PUT,
            "/v1/organizations/org_anything",
            "GET, HEAD, PATCH, DELETE, OPTIONS",
        ),
        (
            Method::PATCH,
            "/v1/organizations",
            "GET, HEAD, POST, OPTIONS",
        ),
    ];
    for (method, path, allow) in cases {
        let res = app.send(method.clone(), path, &[], None).await;

        assert_eq!(res.status, 405, "{method} {path}: {}", res.text);
        assert_eq!(res.content_type, "application/problem+json");
        assert_eq!(res.code(), "METHOD_NOT_ALLOWED", "{method} {path}");
        assert_eq!(header(&res, "allow"), Some(allow), "{method} {path}");
        assert!(res.headers.contains_key("x-request-id"));
    }
}

async fn an_unknown_path_is_a_404_whatever_the_method(backend: Backend) {
    let app = spawn_app(backend).await;
    for method in [Method::GET, Method::PUT, Method::OPTIONS, Method::HEAD] {
        for path in ["/v1/nothing-here", "/nothing", "/v1/me/extra", "/v1/"] {
            let res = app.send(method.clone(), path, &[], None).await;

            assert_eq!(res.status, 404, "{method} {path}: {}", res.text);
            assert_eq!(header(&res, "allow"), None, "{method} {path}");
            if method != Method::HEAD {
                assert_eq!(res.code(), "ROUTE_NOT_FOUND", "{method} {path}");
            }
        }
    }
}

async fn head_answers_like_get_without_a_body(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let bearer = format!("Bearer {}", ada.token);
    for (path, auth) in [
        ("/health", None),
        ("/openapi.json", None),
        ("/v1/me", Some(bearer.as_str())),
        ("/v1/organizations?pageSize=1", Some(bearer.as_str())),
        ("/v1/me", None),
    ] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let get = app.send(Method::GET, path, &headers, None).await;

        let head = app.send(Method::HEAD, path, &headers, None).await;

        assert_eq!(head.status, get.status, "HEAD {path}");
        assert_ne!(head.status, 404, "HEAD {path}");
        assert!(
            head.text.is_empty(),
            "HEAD {path} sent a body: {}",
            head.text
        );
        assert_eq!(head.content_type, get.content_type, "HEAD {path}");
        assert_eq!(
            header(&head, "content-length").map(str::to_owned),
            Some(get.text.len().to_string()),
            "HEAD {path}: {:?}",
            head.headers
        );
    }
}

async fn options_is_a_204_with_allow(backend: Backend) {
    let app = spawn_app(backend).await;

    let health = app.send(Method::OPTIONS, "/health", &[], None).await;
    let members = app
        .send(
            Method::OPTIONS,
            "/v1/organizations/org_x/members",
            &[],
            None,
        )
        .await;

    assert_eq!(health.status, 204, "{}", health.text);
    assert_eq!(header(&health, "allow"), Some("GET, HEAD, OPTIONS"));
    assert!(health.text.is_empty());
    assert_eq!(members.status, 204, "{}", members.text);
    assert_eq!(header(&members, "allow"), Some("GET, HEAD, OPTIONS"));
}

const ORIGIN: &str = "https://app.example.com";

fn preflight(origin: &str) -> [(&str, &str); 3] {
    [
        ("origin", origin),
        ("access-control-request-method", "POST"),
        (
            "access-control-request-headers",
            "authorization, content-type",
        ),
    ]
}

async fn without_configured_origins_no_cors_header_is_sent(backend: Backend) {
    let app = spawn_app(backend).await;

    let pre = app
        .send(
            Method::OPTIONS,
            "/v1/organizations",
            &preflight(ORIGIN),
            None,
        )
        .await;
    let get = app
        .send(Method::GET, "/health", &[("origin", ORIGIN)], None)
        .await;

    assert_eq!(pre.status, 204, "{}", pre.text);
    assert_eq!(get.status, 200, "{}", get.text);
    for res in [&pre, &get] {
        let cors: Vec<&String> = res
            .headers
            .keys()
            .filter(|name| name.starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "{cors:?}");
    }
}

async fn a_configured_origin_gets_its_preflight_and_cors_headers(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[(
            "APP__SERVER__CORS_ALLOWED_ORIGINS",
            "https://app.example.com,http://localhost:3000",
        )],
    )
    .await;

    let pre = app
        .send(
            Method::OPTIONS,
            "/v1/organizations",
            &preflight(ORIGIN),
            None,
        )
        .await;
    let get = app
        .send(Method::GET, "/health", &[("origin", ORIGIN)], None)
        .await;
    let unknown_path = app
        .send(Method::OPTIONS, "/v1/nothing", &preflight(ORIGIN), None)
        .await;

    assert_eq!(pre.status, 204, "{}", pre.text);
    assert_eq!(header(&pre, "access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(
        header(&pre, "access-control-allow-methods"),
        Some("GET, HEAD, POST, OPTIONS")
    );
    assert_eq!(
        header(&pre, "access-control-allow-headers"),
        Some("authorization, content-type")
    );
    assert!(header(&pre, "access-control-max-age").is_some());
    assert!(header(&pre, "vary").is_some_and(|v| v.contains("Origin") || v.contains("origin")));
    assert_eq!(get.status, 200);
    assert_eq!(header(&get, "access-control-allow-origin"), Some(ORIGIN));
    assert!(
        header(&get, "access-control-expose-headers").is_some_and(|h| h.contains("x-request-id")),
        "{:?}",
        get.headers
    );
    assert_eq!(unknown_path.status, 404);
    assert_eq!(header(&unknown_path, "access-control-allow-methods"), None);
}

async fn another_origin_is_answered_without_cors_headers(backend: Backend) {
    let app = spawn_app_with(backend, &[("APP__SERVER__CORS_ALLOWED_ORIGINS", ORIGIN)]).await;
    let other = "https://evil.example.net";

    let pre = app
        .send(
            Method::OPTIONS,
            "/v1/organizations",
            &preflight(other),
            None,
        )
        .await;
    let get = app
        .send(Method::GET, "/health", &[("origin", other)], None)
        .await;

    assert_eq!(pre.status, 204, "{}", pre.text);
    assert_eq!(get.status, 200, "{}", get.text);
    for res in [&pre, &get] {
        assert_eq!(header(res, "access-control-allow-origin"), None);
        assert_eq!(header(res, "access-control-allow-methods"), None);
    }
}

on_both_databases!(
    a_known_path_with_a_method_it_does_not_serve_is_a_405_with_allow,
    an_unknown_path_is_a_404_whatever_the_method,
    head_answers_like_get_without_a_body,
    options_is_a_204_with_allow,
    without_configured_origins_no_cors_header_is_sent,
    a_configured_origin_gets_its_preflight_and_cors_headers,
    another_origin_is_answered_without_cors_headers,
);
