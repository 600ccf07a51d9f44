//! Inputs that used to break the server: a NUL character in any text input
//! (query or body) is 422 `INVALID_CHARACTER`, never a 500 from PostgreSQL.
//! (Deep pages and long searches: `pagination.rs`.)

use awc::http::Method;
use domain::Cursor;
use groundwork_tests::app::{TestResponse, spawn_app};
use groundwork_tests::{Backend, on_both_databases};

fn assert_invalid_character(res: &TestResponse, field: &str, what: &str) {
    assert_eq!(res.status, 422, "{what}: {}", res.text);
    assert_eq!(res.code(), "VALIDATION_FAILED", "{what}");
    assert_eq!(res.error_fields(), [field], "{what}");
    assert_eq!(res.body["errors"][0]["code"], "INVALID_CHARACTER", "{what}");
}

async fn a_nul_in_a_query_parameter_is_a_422_naming_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let root = crate::admin::admin(&app, "root@example.com").await;
    let cases = [
        (
            &ada.token,
            "/v1/organizations?searchQuery=%00".to_owned(),
            "searchQuery",
        ),
        (
            &ada.token,
            "/v1/organizations?searchQuery=acme%00".to_owned(),
            "searchQuery",
        ),
        (
            &ada.token,
            format!("/v1/organizations/{org}/members?searchQuery=%00"),
            "searchQuery",
        ),
        (
            &ada.token,
            format!("/v1/organizations/{org}/audit-logs?entityId=%00"),
            "entityId",
        ),
        (
            &ada.token,
            "/v1/organizations?sortBy=%00".to_owned(),
            "sortBy",
        ),
        (
            &root.token,
            "/v1/admin/audit-logs?entityId=usr_%00".to_owned(),
            "entityId",
        ),
        (
            &root.token,
            "/v1/admin/waitlist?searchQuery=%00&role=employee".to_owned(),
            "searchQuery",
        ),
        (
            &root.token,
            "/v1/admin/users?searchQuery=%00".to_owned(),
            "searchQuery",
        ),
    ];
    for (token, path, field) in cases {
        let res = app.get_as(&path, token).await;

        assert_invalid_character(&res, field, &path);
    }
    let literal = app
        .get_as("/v1/organizations?searchQuery=%2500", &ada.token)
        .await;
    assert_eq!(
        literal.status, 200,
        "%2500 is the text %00: {}",
        literal.text
    );
}

async fn a_cursor_that_decodes_to_a_nul_is_an_invalid_cursor(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    // A text sort value goes into the statement as it is.
    let cursor = Cursor::new("name:desc:Ac\0me", &org).encode();

    let res = app
        .get_as(
            &format!("/v1/organizations?sortBy=name&cursor={cursor}"),
            &ada.token,
        )
        .await;

    assert_eq!(res.status, 422, "{}", res.text);
    assert_eq!(res.error_fields(), ["cursor"]);
    assert_eq!(res.body["errors"][0]["code"], "INVALID_CURSOR");
}

async fn a_nul_in_a_json_string_is_a_422_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let cases = [
        (
            Method::POST,
            "/v1/waitlist".to_owned(),
            None,
            r#"{"email": "a\u0000@example.com", "role": "employee"}"#,
            "email",
        ),
        (
            Method::POST,
            "/v1/auth/sign-in".to_owned(),
            None,
            r#"{"email": "a@example.com", "password": "x\u0000y"}"#,
            "password",
        ),
        (
            Method::PATCH,
            "/v1/me".to_owned(),
            Some(&ada.token),
            r#"{"firstName": "Ada\u0000"}"#,
            "firstName",
        ),
        (
            Method::POST,
            "/v1/organizations".to_owned(),
            Some(&ada.token),
            r#"{"name": "\u0000"}"#,
            "name",
        ),
        (
            Method::PATCH,
            format!("/v1/organizations/{org}"),
            Some(&ada.token),
            r#"{"name": "A", "slug": "a\u0000"}"#,
            "slug",
        ),
        (
            Method::POST,
            format!("/v1/organizations/{org}/api-keys"),
            Some(&ada.token),
            r#"{"name": "bot\u0000", "role": "member"}"#,
            "name",
        ),
    ];
    for (method, path, token, body, field) in cases {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer.as_str()));
        }

        let res = app
            .send(
                method.clone(),
                &path,
                &headers,
                Some(body.as_bytes().to_vec()),
            )
            .await;

        assert_invalid_character(&res, field, &format!("{method} {path} {body}"));
    }
    let escaped_backslash = app
        .post_raw(
            "/v1/waitlist",
            Some("application/json"),
            br#"{"email": "a\\u0000@example.com", "role": "employee"}"#.to_vec(),
        )
        .await;
    assert_eq!(escaped_backslash.code(), "VALIDATION_FAILED");
    assert_eq!(
        escaped_backslash.body["errors"][0]["code"], "INVALID_EMAIL",
        "{}",
        escaped_backslash.text
    );
}

on_both_databases!(
    a_nul_in_a_query_parameter_is_a_422_naming_it,
    a_cursor_that_decodes_to_a_nul_is_an_invalid_cursor,
    a_nul_in_a_json_string_is_a_422_naming_the_field,
);
