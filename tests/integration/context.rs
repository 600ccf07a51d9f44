//! `/v1/organizations/{orgId}/context`: versioned configuration documents.
//! Every PUT is a new version with `ETag: "<version>"`; `If-Match` /
//! `If-None-Match` make it conditional, and of two writers holding one
//! version exactly one wins, on both engines.

use awc::http::Method;
use domain::MemberRole;
use futures_util::future::join;
use groundwork_tests::app::{SignedUp, TestApp, TestResponse, spawn_app, spawn_app_with};
use groundwork_tests::{Backend, on_both_databases};
use serde_json::{Value, json};

/// An organization with its owner.
struct Org {
    id: String,
    owner: SignedUp,
}

async fn org(app: &TestApp, n: usize) -> Org {
    let owner = app.create_user(&format!("owner{n}@example.com")).await;
    let id = app
        .create_organization(&owner.token, &format!("Org {n}"))
        .await;
    Org { id, owner }
}

fn path(org: &str, key: &str) -> String {
    format!("/v1/organizations/{org}/context/{key}")
}

/// `PUT` of `body` (raw JSON text) with extra headers.
async fn put_raw(
    app: &TestApp,
    token: &str,
    url: &str,
    body: String,
    headers: &[(&str, &str)],
) -> TestResponse {
    let auth = format!("Bearer {token}");
    let mut all = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    all.extend_from_slice(headers);
    app.send(Method::PUT, url, &all, Some(body.into_bytes()))
        .await
}

/// `PUT {"value": value}` with extra headers.
async fn put(
    app: &TestApp,
    token: &str,
    url: &str,
    value: Value,
    headers: &[(&str, &str)],
) -> TestResponse {
    put_raw(
        app,
        token,
        url,
        json!({ "value": value }).to_string(),
        headers,
    )
    .await
}

async fn get_with(app: &TestApp, token: &str, url: &str, headers: &[(&str, &str)]) -> TestResponse {
    let auth = format!("Bearer {token}");
    let mut all = vec![("authorization", auth.as_str())];
    all.extend_from_slice(headers);
    app.send(Method::GET, url, &all, None).await
}

async fn delete_with(
    app: &TestApp,
    token: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> TestResponse {
    let auth = format!("Bearer {token}");
    let mut all = vec![("authorization", auth.as_str())];
    all.extend_from_slice(headers);
    app.send(Method::DELETE, url, &all, None).await
}

fn etag(res: &TestResponse) -> &str {
    res.headers.get("etag").map_or("", String::as_str)
}

fn field(res: &TestResponse, name: &str) -> Vec<Value> {
    res.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {}", res.text))
        .iter()
        .map(|item| item[name].clone())
        .collect()
}

/// The organization's audit rows of `action`, newest first.
async fn audited(app: &TestApp, org: &Org, action: &str) -> Vec<Value> {
    let res = app
        .get_as(
            &format!(
                "/v1/organizations/{}/audit-logs?action={action}&pageSize=100",
                org.id
            ),
            &org.owner.token,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"].as_array().unwrap().clone()
}

async fn each_put_makes_a_new_version_and_past_ones_stay_readable(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = org(&app, 1).await;
    let token = &org.owner.token;
    let url = path(&org.id, "billing.settings");

    // Act
    let created = put(&app, token, &url, json!({"currency": "EUR"}), &[]).await;
    let updated = put(
        &app,
        token,
        &url,
        json!({"currency": "USD", "vat": true}),
        &[],
    )
    .await;
    let current = app.get_as(&url, token).await;
    let first = app.get_as(&format!("{url}?version=1"), token).await;
    let versions = app.get_as(&format!("{url}/versions"), token).await;

    // Assert
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(etag(&created), "\"1\"");
    assert_eq!(created.headers.get("location"), Some(&url));
    assert_eq!(created.body["version"], 1);
    assert_eq!(created.body["key"], "billing.settings");
    assert!(created.body["id"].as_str().unwrap().starts_with("ctx_"));
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(etag(&updated), "\"2\"");
    assert!(!updated.headers.contains_key("location"));
    assert_eq!(updated.body["id"], created.body["id"]);
    assert_eq!(current.status, 200);
    assert_eq!(etag(&current), "\"2\"");
    assert_eq!(
        current.body["value"],
        json!({"currency": "USD", "vat": true})
    );
    assert_eq!(current.body["createdAt"], created.body["createdAt"]);
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(etag(&first), "\"1\"");
    assert_eq!(first.body["version"], 1);
    assert_eq!(first.body["value"], json!({"currency": "EUR"}));
    assert_eq!(first.body["updatedAt"], created.body["updatedAt"]);
    assert_eq!(versions.status, 200, "{}", versions.text);
    assert_eq!(field(&versions, "version"), [json!(2), json!(1)]);
    assert_eq!(
        field(&versions, "createdBy"),
        [json!(org.owner.user_id), json!(org.owner.user_id)]
    );
    assert_eq!(field(&versions, "value")[1], json!({"currency": "EUR"}));
    let set = audited(&app, &org, "context.set").await;
    assert_eq!(set.len(), 2);
    assert_eq!(set[0]["entityType"], "context");
    assert_eq!(set[0]["entityId"], created.body["id"]);
    assert_eq!(
        set[0]["changes"],
        json!({"key": ["billing.settings", "billing.settings"], "version": [1, 2]})
    );
    assert_eq!(
        set[1]["changes"],
        json!({"key": [null, "billing.settings"], "version": [null, 1]})
    );
}

async fn any_json_is_a_value_null_included_but_none_is_not(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = org(&app, 1).await;
    let token = &org.owner.token;

    // Act
    let mut answers = Vec::new();
    for (key, value) in [
        ("n", json!(null)),
        ("i", json!(42)),
        ("s", json!("text")),
        ("a", json!([1, {"b": [true, 1.5]}])),
    ] {
        let url = path(&org.id, key);
        let written = put(&app, token, &url, value.clone(), &[]).await;
        let read = app.get_as(&url, token).await;
        answers.push((key, value, written.status, read.body["value"].clone()));
    }
    let missing = put_raw(&app, token, &path(&org.id, "m"), "{}".into(), &[]).await;
    let not_an_object = put_raw(&app, token, &path(&org.id, "m"), "[1]".into(), &[]).await;

    // Assert
    for (key, value, status, read) in answers {
        assert_eq!(status, 201, "{key}");
        assert_eq!(read, value, "{key}");
    }
    assert_eq!(missing.status, 422, "{}", missing.text);
    assert_eq!(missing.error_fields(), ["value"]);
    assert_eq!(missing.body["errors"][0]["code"], "REQUIRED");
    assert_eq!(not_an_object.status, 422);
    let absent = app.get_as(&path(&org.id, "m"), token).await;
    assert_eq!(absent.status, 404);
}

async fn an_if_match_that_is_not_the_current_version_is_412_and_writes_nothing(backend: Backend) {
    // Arrange: version 2.
    let app = spawn_app(backend).await;
    let org = org(&app, 1).await;
    let token = &org.owner.token;
    let url = path(&org.id, "flags");
    put(&app, token, &url, json!({"beta": false}), &[]).await;
    put(&app, token, &url, json!({"beta": true}), &[]).await;

    // Act
    let stale = put(
        &app,
        token,
        &url,
        json!({"beta": "stale"}),
        &[("if-match", "\"1\"")],
    )
    .await;
    let weak = put(
        &app,
        token,
        &url,
        json!({"beta": "weak"}),
        &[("if-match", "W/\"2\"")],
    )
    .await;
    let missing = put(
        &app,
        token,
        &path(&org.id, "nothing"),
        json!(1),
        &[("if-match", "*")],
    )
    .await;
    // An empty list (RFC 9110 allows one) names no version.
    let empty = put(
        &app,
        token,
        &url,
        json!({"beta": "empty"}),
        &[("if-match", "")],
    )
    .await;
    let after = app.get_as(&url, token).await;
    let versions = app.get_as(&format!("{url}/versions"), token).await;
    let audited_before = audited(&app, &org, "context.set").await.len();
    let current = put(
        &app,
        token,
        &url,
        json!({"beta": 3}),
        &[("if-match", "\"9\", \"2\"")],
    )
    .await;
    let any = put(&app, token, &url, json!({"beta": 4}), &[("if-match", "*")]).await;

    // Assert
    for res in [&stale, &weak, &missing, &empty] {
        assert_eq!(res.status, 412, "{}", res.text);
        assert_eq!(res.code(), "PRECONDITION_FAILED");
        assert_eq!(res.content_type, "application/problem+json");
    }
    assert_eq!(after.body["value"], json!({"beta": true}));
    assert_eq!(etag(&after), "\"2\"");
    assert_eq!(field(&versions, "version"), [json!(2), json!(1)]);
    assert_eq!(audited_before, 2);
    assert_eq!(
        app.get_as(&path(&org.id, "nothing"), token).await.status,
        404
    );
    assert_eq!(current.status, 200, "{}", current.text);
    assert_eq!(etag(&current), "\"3\"");
    assert_eq!(any.status, 200, "{}", any.text);
    assert_eq!(etag(&any), "\"4\"");
}

async fn if_none_match_star_only_creates(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = org(&app, 1).await;
    let token = &org.owner.token;
    let url = path(&org.id, "once");

    // Act
    let first = put(&app, token, &url, json!("first"), &[("if-none-match", "*")]).await;
    let second = put(
        &app,
        token,
        &url,
        json!("second"),
        &[("if-none-match", "*")],
    )
    .await;
    let not_v1 = put(
        &app,
        token,
        &url,
        json!("third"),
        &[("if-none-match", "W/\"1\"")],
    )
    .await;
    let not_v9 = put(
        &app,
        token,
        &url,
        json!("fourth"),
        &[("if-none-match", "\"9\"")],
    )
    .await;

    // Assert
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(second.status, 412, "{}", second.text);
    assert_eq!(second.code(), "PRECONDITION_FAILED");
    assert_eq!(not_v1.status, 412, "{}", not_v1.text);
    assert_eq!(not_v9.status, 200, "{}", not_v9.text);
    assert_eq!(app.get_as(&url, token).await.body["value"], "fourth");
}

async fn a_malformed_precondition_is_400(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = org(&app, 1).await;
    let token = &org.owner.token;
    let url = path(&org.id, "k");
    put(&app, token, &url, json!(1), &[]).await;

    // Act
    let unquoted = put(&app, token, &url, json!(2), &[("if-match", "1")]).await;
    let star_and_tag = put(
        &app,
        token,
        &url,
        json!(2),
        &[("if-none-match", "*, \"1\"")],
    )
    .await;
    let read = get_with(&app, token, &url, &[("if-none-match", "1")]).await;
    let delete = delete_with(&app, token, &url, &[("if-match", "W/1")]).await;

    // Assert
    for res in [&unquoted, &star_and_tag, &read, &delete] {
        assert_eq!(res.status, 400, "{}", res.text);
        assert_eq!(res.code(), "BAD_REQUEST");
    }
    assert_eq!(app.get_as(&url, token).await.body["version"], 1);
}

async fn a_read_whose_if_none_match_names_its_version_is_304(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = org(&app, 1).await;
    let token = &org.owner.token;
    let url = path(&org.id, "cached");
    put(&app, token, &url, json!("a"), &[]).await;
    put(&app, token, &url, json!("b"), &[]).await;

    // Act
    let fresh = get_with(&app, token, &url, &[("if-none-match", "\"2\"")]).await;
    let weak = get_with(&app, token, &url, &[("if-none-match", "W/\"2\"")]).await;
    let stale = get_with(&app, token, &url, &[("if-none-match", "\"1\"")]).await;
    let past = get_with(
        &app,
        token,
        &format!("{url}?version=1"),
        &[("if-none-match", "\"1\"")],
    )
    .await;

    // Assert
    for res in [&fresh, &weak, &past] {
        assert_eq!(res.status, 304, "{}", res.text);
        assert!(res.text.is_empty());
    }
    assert_eq!(etag(&fresh), "\"2\"");
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body["value"], "b");
}

async fn of_two_writers_holding_one_version_exactly_one_wins(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = org(&app, 1).await;
    let token = &org.owner.token;
    let url = path(&org.id, "contended");
    put(&app, token, &url, json!(0), &[]).await;
    let rounds = 10;

    for round in 1..=rounds {
        // Act: both hold the current version.
        let tag = format!("\"{round}\"");
        let (a, b) = join(
            put(
                &app,
                token,
                &url,
                json!({"by": "a", "round": round}),
                &[("if-match", &tag)],
            ),
            put(
                &app,
                token,
                &url,
                json!({"by": "b", "round": round}),
                &[("if-match", &tag)],
            ),
        )
        .await;

        // Assert
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 412],
            "round {round}: {} / {}",
            a.text,
            b.text
        );
        let winner = if a.status == 200 { &a } else { &b };
        assert_eq!(etag(winner), format!("\"{}\"", round + 1));
    }
    let versions = app
        .get_as(&format!("{url}/versions?pageSize=100"), token)
        .await;
    assert_eq!(field(&versions, "version").len(), rounds + 1);
    assert_eq!(audited(&app, &org, "context.set").await.len(), rounds + 1);
}

async fn concurrent_first_writes_of_a_key_never_fail(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = org(&app, 1).await;
    let token = &org.owner.token;

    for round in 0..10 {
        // Act: two first writes of a new key, then two create-only ones.
        let plain = path(&org.id, &format!("plain-{round}"));
        let (a, b) = join(
            put(&app, token, &plain, json!("a"), &[]),
            put(&app, token, &plain, json!("b"), &[]),
        )
        .await;
        let only = path(&org.id, &format!("create-only-{round}"));
        let (c, d) = join(
            put(&app, token, &only, json!("c"), &[("if-none-match", "*")]),
            put(&app, token, &only, json!("d"), &[("if-none-match", "*")]),
        )
        .await;

        // Assert
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 201],
            "round {round}: {} / {}",
            a.text,
            b.text
        );
        let mut versions = [a.body["version"].clone(), b.body["version"].clone()];
        versions.sort_by_key(|v| v.as_u64());
        assert_eq!(versions, [json!(1), json!(2)]);
        let mut statuses = [c.status, d.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [201, 412],
            "round {round}: {} / {}",
            c.text,
            d.text
        );
    }
}

async fn a_value_over_64_kib_is_refused(backend: Backend) {
    // Arrange: the default body limit (64 KiB), and a raised one.
    let app = spawn_app(backend).await;
    let roomy = spawn_app_with(backend, &[("APP__SERVER__JSON_BODY_LIMIT_BYTES", "200000")]).await;
    let org_a = org(&app, 1).await;
    let org_b = org(&roomy, 1).await;
    // As compact JSON, a string of n characters takes n + 2 bytes.
    let largest = json!("x".repeat(64 * 1024 - 2));
    let over = json!("x".repeat(64 * 1024 - 1));

    // Act
    let body_too_large = put(
        &app,
        &org_a.owner.token,
        &path(&org_a.id, "big"),
        over.clone(),
        &[],
    )
    .await;
    let value_too_large = put(
        &roomy,
        &org_b.owner.token,
        &path(&org_b.id, "big"),
        over,
        &[],
    )
    .await;
    let fits = put(
        &roomy,
        &org_b.owner.token,
        &path(&org_b.id, "big"),
        largest,
        &[],
    )
    .await;

    // Assert
    assert_eq!(body_too_large.status, 413, "{}", body_too_large.text);
    assert_eq!(body_too_large.code(), "PAYLOAD_TOO_LARGE");
    assert_eq!(value_too_large.status, 422, "{}", value_too_large.text);
    assert_eq!(value_too_large.error_fields(), ["value"]);
    assert_eq!(value_too_large.body["errors"][0]["code"], "TOO_LARGE");
    assert_eq!(fits.status, 201, "{}", fits.text);
    assert_eq!(fits.body["version"], 1);
}

async fn a_malformed_key_is_422_to_write_and_404_to_read(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = org(&app, 1).await;
    let token = &org.owner.token;
    let long = "k".repeat(129);

    // Act / Assert
    for (key, code) in [
        ("_underscore-first", "INVALID_FORMAT"),
        ("plus+sign", "INVALID_FORMAT"),
        ("-dash-first", "INVALID_FORMAT"),
        ("sp%20ace", "INVALID_FORMAT"),
        (long.as_str(), "TOO_LONG"),
    ] {
        let url = path(&org.id, key);
        let write = put(&app, token, &url, json!(1), &[]).await;
        assert_eq!(write.status, 422, "{key}: {}", write.text);
        assert_eq!(write.error_fields(), ["key"], "{key}");
        assert_eq!(write.body["errors"][0]["code"], code, "{key}");
        for res in [
            app.get_as(&url, token).await,
            app.get_as(&format!("{url}/versions"), token).await,
            app.delete_as(&url, token).await,
        ] {
            assert_eq!(res.status, 404, "{key}: {}", res.text);
            assert_eq!(res.code(), "CONTEXT_ENTRY_NOT_FOUND", "{key}");
        }
    }
    let longest = path(&org.id, &"k".repeat(128));
    assert_eq!(put(&app, token, &longest, json!(1), &[]).await.status, 201);
    let bad_version = app.get_as(&format!("{longest}?version=0"), token).await;
    assert_eq!(bad_version.status, 422, "{}", bad_version.text);
    assert_eq!(bad_version.error_fields(), ["version"]);
    let no_such_version = app.get_as(&format!("{longest}?version=2"), token).await;
    assert_eq!(no_such_version.status, 404);
    assert_eq!(no_such_version.code(), "CONTEXT_VERSION_NOT_FOUND");
}

async fn another_organization_s_context_is_404(backend: Backend) {
    // Arrange: the same key in two organizations.
    let app = spawn_app(backend).await;
    let ours = org(&app, 1).await;
    let theirs = org(&app, 2).await;
    let (_, their_key) = app
        .create_api_key(&theirs.owner.token, &theirs.id, "admin")
        .await;
    let url = path(&ours.id, "shared.name");
    put(&app, &ours.owner.token, &url, json!("ours"), &[]).await;

    // Act
    let mut answers = Vec::new();
    for token in [theirs.owner.token.as_str(), their_key.as_str()] {
        answers.push(app.get_as(&url, token).await);
        answers.push(app.get_as(&format!("{url}/versions"), token).await);
        answers.push(
            app.get_as(&format!("/v1/organizations/{}/context", ours.id), token)
                .await,
        );
        answers.push(put(&app, token, &url, json!("theirs"), &[]).await);
        answers.push(app.delete_as(&url, token).await);
    }
    let their_own = put(
        &app,
        &theirs.owner.token,
        &path(&theirs.id, "shared.name"),
        json!("theirs"),
        &[],
    )
    .await;

    // Assert
    for res in &answers {
        assert_eq!(res.status, 404, "{}", res.text);
        assert_eq!(res.code(), "ORGANIZATION_NOT_FOUND");
    }
    assert_eq!(their_own.status, 201, "{}", their_own.text);
    assert_eq!(their_own.body["version"], 1);
    let still = app.get_as(&url, &ours.owner.token).await;
    assert_eq!(still.body["value"], "ours");
    assert_eq!(still.body["version"], 1);
}

async fn members_read_and_admins_write(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = org(&app, 1).await;
    let member = app.create_user("member@example.com").await;
    app.add_member(&org.id, &member.user_id, MemberRole::Member)
        .await;
    let (_, member_key) = app
        .create_api_key(&org.owner.token, &org.id, "member")
        .await;
    let (admin_key_id, admin_key) = app.create_api_key(&org.owner.token, &org.id, "admin").await;
    let url = path(&org.id, "app");
    put(&app, &org.owner.token, &url, json!(1), &[]).await;

    // Act
    let read = app.get_as(&url, &member.token).await;
    let list = app
        .get_as(
            &format!("/v1/organizations/{}/context", org.id),
            &member_key,
        )
        .await;
    let member_write = put(&app, &member.token, &url, json!(2), &[]).await;
    let member_delete = app.delete_as(&url, &member.token).await;
    let member_key_write = put(&app, &member_key, &url, json!(2), &[]).await;
    let admin_key_write = put(&app, &admin_key, &url, json!(3), &[]).await;
    let versions = app.get_as(&format!("{url}/versions"), &member.token).await;

    // Assert
    assert_eq!(read.status, 200);
    assert_eq!(list.status, 200);
    for res in [&member_write, &member_delete, &member_key_write] {
        assert_eq!(res.status, 403, "{}", res.text);
        assert_eq!(res.code(), "INSUFFICIENT_ROLE");
    }
    assert_eq!(admin_key_write.status, 200, "{}", admin_key_write.text);
    assert_eq!(admin_key_write.body["version"], 2);
    assert_eq!(field(&versions, "createdBy")[0], json!(admin_key_id));
    assert_eq!(app.get_as(&url, &member.token).await.body["value"], 3);
}

async fn a_deleted_key_is_gone_and_written_again_its_numbering_goes_on(backend: Backend) {
    // Arrange: versions 1 and 2.
    let app = spawn_app(backend).await;
    let org = org(&app, 1).await;
    let token = &org.owner.token;
    let url = path(&org.id, "theme");
    let first = put(&app, token, &url, json!("light"), &[]).await;
    put(&app, token, &url, json!("dark"), &[]).await;

    // Act
    let stale_delete = delete_with(&app, token, &url, &[("if-match", "\"1\"")]).await;
    let deleted = delete_with(&app, token, &url, &[("if-match", "\"2\"")]).await;
    let gone = [
        app.get_as(&url, token).await,
        app.get_as(&format!("{url}/versions"), token).await,
        app.delete_as(&url, token).await,
    ];
    let list = app
        .get_as(&format!("/v1/organizations/{}/context", org.id), token)
        .await;
    let stale_write = put(&app, token, &url, json!("stale"), &[("if-match", "\"2\"")]).await;
    let again = put(&app, token, &url, json!("blue"), &[]).await;
    let versions = app.get_as(&format!("{url}/versions"), token).await;
    let old_version = app.get_as(&format!("{url}?version=1"), token).await;

    // Assert
    assert_eq!(stale_delete.status, 412, "{}", stale_delete.text);
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    for res in &gone {
        assert_eq!(res.status, 404, "{}", res.text);
        assert_eq!(res.code(), "CONTEXT_ENTRY_NOT_FOUND");
    }
    assert_eq!(list.body["items"], json!([]));
    assert_eq!(stale_write.status, 412, "{}", stale_write.text);
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(etag(&again), "\"3\"");
    assert_ne!(again.body["id"], first.body["id"]);
    assert_eq!(field(&versions, "version"), [json!(3)]);
    assert_eq!(old_version.status, 404);
    assert_eq!(old_version.code(), "CONTEXT_VERSION_NOT_FOUND");
    let deletions = audited(&app, &org, "context.deleted").await;
    assert_eq!(deletions.len(), 1);
    assert_eq!(deletions[0]["entityId"], first.body["id"]);
    assert_eq!(
        deletions[0]["changes"],
        json!({"key": ["theme", null], "version": [2, null]})
    );
}

async fn the_list_filters_by_prefix_and_pages_in_key_order(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = org(&app, 1).await;
    let token = &org.owner.token;
    for key in [
        "app.b", "App.c", "app.a", "apq", "app_z", "app", "app-x", "billing", "app.a.z",
    ] {
        let res = put(&app, token, &path(&org.id, key), json!(key), &[]).await;
        assert_eq!(res.status, 201, "{key}");
    }
    let list = format!("/v1/organizations/{}/context", org.id);

    // Act
    let prefixed = app
        .get_as(
            &format!("{list}?prefix=app.&sortBy=key&sortDirection=asc"),
            token,
        )
        .await;
    let mut keys = Vec::new();
    let mut url = format!("{list}?sortBy=key&sortDirection=asc&pageSize=3");
    let mut pages = 0;
    loop {
        let page = app.get_as(&url, token).await;
        assert_eq!(page.status, 200, "{}", page.text);
        pages += 1;
        keys.extend(field(&page, "key"));
        match page.body["nextCursor"].as_str() {
            Some(cursor) => {
                url = format!("{list}?sortBy=key&sortDirection=asc&pageSize=3&cursor={cursor}")
            }
            None => break,
        }
    }
    let second = app
        .get_as(
            &format!("{list}?sortBy=key&sortDirection=asc&pageSize=3&page=2"),
            token,
        )
        .await;
    let newest = app.get_as(&format!("{list}?pageSize=1"), token).await;
    let searched = app
        .get_as(
            &format!("{list}?searchQuery=APP.A&sortBy=key&sortDirection=asc"),
            token,
        )
        .await;
    let bad_prefix = app.get_as(&format!("{list}?prefix=a%2Bb"), token).await;
    let bad_sort = app.get_as(&format!("{list}?sortBy=value"), token).await;

    // Assert
    assert_eq!(prefixed.status, 200, "{}", prefixed.text);
    assert_eq!(
        field(&prefixed, "key"),
        [json!("app.a"), json!("app.a.z"), json!("app.b")]
    );
    assert_eq!(field(&prefixed, "value")[0], "app.a");
    assert_eq!(
        keys,
        [
            "App.c", "app", "app-x", "app.a", "app.a.z", "app.b", "app_z", "apq", "billing"
        ]
        .map(|k| json!(k))
    );
    assert_eq!(pages, 3);
    assert_eq!(
        field(&second, "key"),
        [json!("app.a"), json!("app.a.z"), json!("app.b")]
    );
    assert_eq!(field(&newest, "key"), [json!("app.a.z")]);
    assert_eq!(newest.body["hasNext"], true);
    assert_eq!(field(&searched, "key"), [json!("app.a"), json!("app.a.z")]);
    assert_eq!(bad_prefix.status, 422, "{}", bad_prefix.text);
    assert_eq!(bad_prefix.error_fields(), ["prefix"]);
    assert_eq!(bad_sort.status, 422);
}

async fn versions_page_newest_first_by_cursor(backend: Backend) {
    // Arrange: five versions.
    let app = spawn_app(backend).await;
    let org = org(&app, 1).await;
    let token = &org.owner.token;
    let url = path(&org.id, "history");
    for n in 1..=5 {
        put(&app, token, &url, json!(n), &[]).await;
    }

    // Act
    let mut pages = Vec::new();
    let mut next = format!("{url}/versions?pageSize=2");
    loop {
        let page = app.get_as(&next, token).await;
        assert_eq!(page.status, 200, "{}", page.text);
        pages.push(field(&page, "version"));
        match page.body["nextCursor"].as_str() {
            Some(cursor) => next = format!("{url}/versions?pageSize=2&cursor={cursor}"),
            None => break,
        }
    }
    let oldest_first = app
        .get_as(
            &format!("{url}/versions?sortDirection=asc&pageSize=2"),
            token,
        )
        .await;
    let foreign_cursor = app
        .get_as(
            &format!(
                "{url}/versions?cursor={}",
                domain::Cursor::new("version:desc:x", "1").encode()
            ),
            token,
        )
        .await;

    // Assert
    assert_eq!(
        pages,
        [
            vec![json!(5), json!(4)],
            vec![json!(3), json!(2)],
            vec![json!(1)]
        ]
    );
    assert_eq!(field(&oldest_first, "version"), [json!(1), json!(2)]);
    assert_eq!(field(&oldest_first, "value"), [json!(1), json!(2)]);
    assert_eq!(foreign_cursor.status, 422, "{}", foreign_cursor.text);
    assert_eq!(foreign_cursor.body["errors"][0]["code"], "INVALID_CURSOR");
}

on_both_databases!(
    each_put_makes_a_new_version_and_past_ones_stay_readable,
    any_json_is_a_value_null_included_but_none_is_not,
    an_if_match_that_is_not_the_current_version_is_412_and_writes_nothing,
    if_none_match_star_only_creates,
    a_malformed_precondition_is_400,
    a_read_whose_if_none_match_names_its_version_is_304,
    of_two_writers_holding_one_version_exactly_one_wins,
    concurrent_first_writes_of_a_key_never_fail,
    a_value_over_64_kib_is_refused,
    a_malformed_key_is_422_to_write_and_404_to_read,
    another_organization_s_context_is_404,
    members_read_and_admins_write,
    a_deleted_key_is_gone_and_written_again_its_numbering_goes_on,
    the_list_filters_by_prefix_and_pages_in_key_order,
    versions_page_newest_first_by_cursor,
);
