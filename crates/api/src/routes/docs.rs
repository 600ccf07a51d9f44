//! `GET /openapi.json` and a browsable page at `GET /docs`.

use std::sync::{LazyLock, OnceLock};

use actix_web::http::header::{CONTENT_SECURITY_POLICY, HeaderValue};
use actix_web::{HttpResponse, get};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::openapi;

/// The page: one inline `<style>`, one inline `<script>`, no other resource.
const PAGE: &str = include_str!("docs.html");

/// The page's Content-Security-Policy: its own inline script and style by
/// their SHA-256 (so an injected one would not run), `fetch` of
/// `/openapi.json` from the same origin, and nothing else. Computed from the
/// page itself, so editing the page cannot leave the policy behind.
static CONTENT_SECURITY_POLICY_VALUE: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hashes = |tag: &str| {
        inline_blocks(PAGE, tag)
            .into_iter()
            .map(|block| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(block))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let policy = format!(
        "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        hashes("script"),
        hashes("style"),
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

/// The text of each `<tag>...</tag>` in `html`, exactly as a browser hashes it.
fn inline_blocks<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    html.split(open.as_str())
        .skip(1)
        .filter_map(|rest| rest.split_once(close.as_str()).map(|(block, _)| block))
        .collect()
}

/// The OpenAPI 3.1 document (built once).
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let body = DOCUMENT.get_or_init(|| openapi::document().to_string());
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.as_str())
}

/// A self-contained page (no CDN) that renders `/openapi.json`.
#[get("/docs")]
pub async fn docs_page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((
            CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY_VALUE.clone(),
        ))
        .body(PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_names_the_page_s_one_script_and_one_style() {
        assert_eq!(inline_blocks(PAGE, "script").len(), 1);
        assert_eq!(inline_blocks(PAGE, "style").len(), 1);
        let policy = CONTENT_SECURITY_POLICY_VALUE.to_str().unwrap();
        assert_eq!(policy.matches("'sha256-").count(), 2, "{policy}");
        assert!(policy.contains("connect-src 'self'"), "{policy}");
    }
}
