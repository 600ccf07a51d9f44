//! Security headers on every response; no caching of `/v1`; the docs page's
//! Content-Security-Policy; HSTS when configured.

use awc::http::Method;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use groundwork_tests::app::{SignedUp, TestResponse, spawn_app, spawn_app_with};
use groundwork_tests::{Backend, on_both_databases};
use serde_json::json;
use sha2::{Digest, Sha256};

fn header<'a>(res: &'a TestResponse, name: &str) -> Option<&'a str> {
    res.headers.get(name).map(String::as_str)
}

async fn every_response_carries_the_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    let sign_in = json!({"email": "ada@example.com", "password": SignedUp::PASSWORD})
        .to_string()
        .into_bytes();
    app.sign_up("ada@example.com").await;
    let json = [("content-type", "application/json")];
    let responses = [
        (
            "GET /health",
            app.send(Method::GET, "/health", &[], None).await,
        ),
        ("GET /docs", app.send(Method::GET, "/docs", &[], None).await),
        (
            "GET /nothing",
            app.send(Method::GET, "/nothing", &[], None).await,
        ),
        (
            "PUT /health",
            app.send(Method::PUT, "/health", &[], None).await,
        ),
        (
            "OPTIONS /v1/me",
            app.send(Method::OPTIONS, "/v1/me", &[], None).await,
        ),
        (
            "GET /v1/me",
            app.send(Method::GET, "/v1/me", &[], None).await,
        ),
        (
            "POST /v1/auth/sign-in",
            app.send(Method::POST, "/v1/auth/sign-in", &json, Some(sign_in))
                .await,
        ),
        (
            "POST /v1/waitlist (422)",
            app.send(Method::POST, "/v1/waitlist", &json, Some(b"{}".to_vec()))
                .await,
        ),
    ];
    for (what, res) in &responses {
        assert_eq!(
            header(res, "x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(
            header(res, "referrer-policy"),
            Some("no-referrer"),
            "{what}"
        );
        assert!(header(res, "content-security-policy").is_some(), "{what}");
        assert_eq!(header(res, "strict-transport-security"), None, "{what}");
        if what.contains(" /v1/") {
            assert_eq!(header(res, "cache-control"), Some("no-store"), "{what}");
        }
    }
    let (_, sign_in) = &responses[6];
    assert_eq!(sign_in.status, 200, "{}", sign_in.text);
    assert!(sign_in.body["token"].is_string());
    let (_, health) = &responses[0];
    assert_eq!(
        header(health, "content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
}

/// The text between `<tag>` and `</tag>`.
fn inline(page: &str, tag: &str) -> String {
    let start = page.find(&format!("<{tag}>")).expect("an inline block") + tag.len() + 2;
    let end = page.find(&format!("</{tag}>")).expect("its end");
    page[start..end].to_owned()
}

async fn the_docs_page_may_run_its_own_script_and_style_only(backend: Backend) {
    let app = spawn_app(backend).await;

    let page = app.get("/docs").await;

    let csp = header(&page, "content-security-policy").expect("a policy");
    let hash = |text: String| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(text)));
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {csp}"))
            .to_owned()
    };
    assert_eq!(
        directive("script-src"),
        format!("script-src {}", hash(inline(&page.text, "script")))
    );
    assert_eq!(
        directive("style-src"),
        format!("style-src {}", hash(inline(&page.text, "style")))
    );
    assert_eq!(directive("default-src"), "default-src 'none'");
    assert_eq!(directive("connect-src"), "connect-src 'self'");
    assert!(page.text.contains(r#"fetch("/openapi.json")"#));
}

async fn hsts_is_sent_when_configured(backend: Backend) {
    let app = spawn_app_with(backend, &[("APP__SERVER__HSTS", "true")]).await;

    let health = app.get("/health").await;
    let missing = app.get("/v1/nothing").await;

    for res in [&health, &missing] {
        assert_eq!(
            header(res, "strict-transport-security"),
            Some("max-age=63072000; includeSubDomains")
        );
    }
}

on_both_databases!(
    every_response_carries_the_security_headers,
    the_docs_page_may_run_its_own_script_and_style_only,
    hsts_is_sent_when_configured,
);
