//! `/v1/organizations/{orgId}/endpoints`: create, read, list, change and delete
//! an organization's endpoints; every rule on every field is a 422; other
//! tenants see nothing and members only read. (The secret's life at rest is
//! `endpoint_secrets.rs`.)

use groundwork_tests::Backend;
use groundwork_tests::app::{TestApp, TestResponse, spawn_app, spawn_app_with};
use groundwork_tests::on_both_databases;
use serde_json::{Value, json};

/// An owner and their organization.
async fn owner_and_org(app: &TestApp) -> (String, String) {
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    (ada.token, org)
}

fn endpoints(org: &str) -> String {
    format!("/v1/organizations/{org}/endpoints")
}

async fn create(app: &TestApp, token: &str, org: &str, body: &Value) -> TestResponse {
    app.post_as(&endpoints(org), token, body).await
}

/// Creates an endpoint named `name` and returns its ID. Panics unless 201.
async fn created(app: &TestApp, token: &str, org: &str, name: &str, url: &str) -> String {
    let res = create(app, token, org, &json!({"name": name, "url": url})).await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["id"].as_str().unwrap().to_owned()
}

async fn an_endpoint_is_created_read_listed_changed_and_deleted(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;

    // Act: create
    let made = create(
        &app,
        &token,
        &org,
        &json!({
            "name": " Billing API ",
            "url": "https://api.example.com/v1/run",
            "headers": {"X-Api-Version": "2024-06-01"},
            "secret": "sk_live_0123456789abcdWXYZ",
        }),
    )
    .await;

    // Assert
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ept_"), "{id}");
    assert_eq!(
        made.headers.get("location").map(String::as_str),
        Some(format!("{}/{id}", endpoints(&org)).as_str())
    );
    assert_eq!(made.body["name"], "Billing API");
    assert_eq!(made.body["method"], "POST");
    assert_eq!(made.body["headers"], json!({"X-Api-Version": "2024-06-01"}));
    assert_eq!(made.body["hasSecret"], true);
    assert_eq!(made.body["secretHint"], "WXYZ");
    assert!(made.body.get("secret").is_none());

    // Act / Assert: read, list
    let one = app
        .get_as(&format!("{}/{id}", endpoints(&org)), &token)
        .await;
    assert_eq!(one.status, 200, "{}", one.text);
    assert_eq!(one.body, made.body);
    let list = app.get_as(&endpoints(&org), &token).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["items"], json!([made.body]));

    // Act / Assert: change (the whole resource comes back)
    let changed = app
        .patch_as(
            &format!("{}/{id}", endpoints(&org)),
            &token,
            &json!({"name": "Billing", "method": "PUT", "headers": {}, "secret": null}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["name"], "Billing");
    assert_eq!(changed.body["method"], "PUT");
    assert_eq!(changed.body["url"], "https://api.example.com/v1/run");
    assert_eq!(changed.body["headers"], json!({}));
    assert_eq!(changed.body["hasSecret"], false);
    assert_eq!(changed.body["secretHint"], Value::Null);
    let untouched = app
        .patch_as(&format!("{}/{id}", endpoints(&org)), &token, &json!({}))
        .await;
    assert_eq!(untouched.status, 200);
    assert_eq!(untouched.body, changed.body);

    // Act / Assert: delete, then it is gone
    let deleted = app
        .delete_as(&format!("{}/{id}", endpoints(&org)), &token)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    for res in [
        app.get_as(&format!("{}/{id}", endpoints(&org)), &token)
            .await,
        app.delete_as(&format!("{}/{id}", endpoints(&org)), &token)
            .await,
        app.patch_as(
            &format!("{}/{id}", endpoints(&org)),
            &token,
            &json!({"name": "x"}),
        )
        .await,
    ] {
        assert_eq!(
            (res.status, res.code()),
            (404, "ENDPOINT_NOT_FOUND"),
            "{}",
            res.text
        );
    }
    let log = app
        .get_as(
            &format!("/v1/organizations/{org}/audit-logs?entityId={id}&sortDirection=asc"),
            &token,
        )
        .await;
    let actions: Vec<&str> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["endpoint.created", "endpoint.updated", "endpoint.deleted"]
    );
    assert_eq!(
        log.body["items"][1]["changes"]["method"],
        json!(["POST", "PUT"])
    );
}

/// `(body, field, code)`: one broken rule each.
fn bad_creations() -> Vec<(Value, &'static str, &'static str)> {
    let ok = |patch: Value| {
        let mut body = json!({"name": "Hook", "url": "https://example.com/hook"});
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                body.as_object_mut().unwrap().remove(k);
            } else {
                body[k] = v.clone();
            }
        }
        body
    };
    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("X-{i}"), json!("v"))).collect();
    let mut cases = vec![
        (ok(json!({"name": null})), "name", "REQUIRED"),
        (ok(json!({"name": "  "})), "name", "REQUIRED"),
        (ok(json!({"name": "n".repeat(201)})), "name", "TOO_LONG"),
        (ok(json!({"name": "a\u{7}b"})), "name", "INVALID_FORMAT"),
        (ok(json!({"url": null})), "url", "REQUIRED"),
        (ok(json!({"url": "example.com/hook"})), "url", "INVALID_URL"),
        (
            ok(json!({"url": "ftp://example.com/"})),
            "url",
            "INVALID_URL",
        ),
        (ok(json!({"url": "https:///no-host"})), "url", "INVALID_URL"),
        (
            ok(json!({"url": "https://exa mple.com"})),
            "url",
            "INVALID_URL",
        ),
        (
            ok(json!({"url": format!("https://example.com/{}", "a".repeat(2030))})),
            "url",
            "TOO_LONG",
        ),
        (ok(json!({"method": "TRACE"})), "method", "INVALID_VALUE"),
        (ok(json!({"method": "post"})), "method", "INVALID_VALUE"),
        (ok(json!({"headers": many})), "headers", "TOO_MANY"),
        (
            ok(json!({"headers": {"X-Big": "v".repeat(8 * 1024)}})),
            "headers",
            "TOO_LONG",
        ),
        (
            ok(json!({"headers": {"X Bad": "v"}})),
            "headers",
            "INVALID_HEADER_NAME",
        ),
        (
            ok(json!({"headers": {"X-A": "a\r\nX-Injected: 1"}})),
            "headers",
            "INVALID_HEADER_VALUE",
        ),
        (
            ok(json!({"headers": {"X-A": "1", "x-a": "2"}})),
            "headers",
            "DUPLICATE_HEADER",
        ),
        (ok(json!({"secret": ""})), "secret", "TOO_SHORT"),
        (
            ok(json!({"secret": "s".repeat(4097)})),
            "secret",
            "TOO_LONG",
        ),
    ];
    for name in [
        "Host",
        "content-length",
        "Connection",
        "KEEP-ALIVE",
        "Proxy-Authenticate",
        "proxy-authorization",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "upgrade",
    ] {
        cases.push((
            ok(json!({"headers": {name: "x"}})),
            "headers",
            "FORBIDDEN_HEADER",
        ));
    }
    // Wrong JSON types: the body's shape.
    cases.push((ok(json!({"headers": ["X-A"]})), "headers", "INVALID_TYPE"));
    cases.push((
        ok(json!({"headers": {"X-A": 1}})),
        "headers.X-A",
        "INVALID_TYPE",
    ));
    cases.push((ok(json!({"secret": 42})), "secret", "INVALID_TYPE"));
    cases
}

async fn every_broken_rule_is_422_naming_its_field(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let id = created(&app, &token, &org, "Hook", "https://example.com/hook").await;
    let mut failures = Vec::new();

    for (body, field, code) in bad_creations() {
        // Act
        let res = create(&app, &token, &org, &body).await;

        // Assert
        let found: Vec<(String, String)> = res.body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                (
                    e["field"].as_str().unwrap_or_default().to_owned(),
                    e["code"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        if res.status != 422 || found != [(field.to_owned(), code.to_owned())] {
            failures.push(format!("{body}: {} {}", res.status, res.text));
        }
    }
    for (body, field, code) in [
        (json!({"name": null}), "name", "REQUIRED"),
        (json!({"url": null}), "url", "REQUIRED"),
        (json!({"method": null}), "method", "REQUIRED"),
        (json!({"headers": null}), "headers", "REQUIRED"),
        (
            json!({"headers": {"Host": "evil"}}),
            "headers",
            "FORBIDDEN_HEADER",
        ),
        (json!({"url": "mailto:a@example.com"}), "url", "INVALID_URL"),
        (json!({"secret": ""}), "secret", "TOO_SHORT"),
    ] {
        let res = app
            .patch_as(&format!("{}/{id}", endpoints(&org)), &token, &body)
            .await;
        if res.status != 422
            || res.error_fields() != [field]
            || res.body["errors"][0]["code"] != code
        {
            failures.push(format!("PATCH {body}: {} {}", res.status, res.text));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing was created or changed by any of them.
    let list = app.get_as(&endpoints(&org), &token).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["name"], "Hook");
}

async fn http_urls_are_accepted_outside_production_only(backend: Backend) {
    // Arrange: a development-like server, and one as production runs.
    let test = spawn_app(backend).await;
    let production = spawn_app_with(
        backend,
        &[
            ("APP_ENV", "production"),
            ("APP__SERVER__HOST", "127.0.0.1"),
            ("APP__SERVER__PORT", "0"),
            ("APP__OUTBOX__WORKER", "false"),
            groundwork_tests::app::TEST_SECRETS_KEY,
        ],
    )
    .await;
    let body = json!({"name": "Local", "url": "http://localhost:3000/hook"});
    let mut answers = Vec::new();

    // Act
    for app in [&test, &production] {
        let (token, org) = owner_and_org(app).await;
        let created = create(app, &token, &org, &body).await;
        let secure = create(
            app,
            &token,
            &org,
            &json!({"name": "Remote", "url": "https://example.com/hook"}),
        )
        .await;
        let id = secure.body["id"].as_str().unwrap_or_default().to_owned();
        let patched = app
            .patch_as(
                &format!("{}/{id}", endpoints(&org)),
                &token,
                &json!({"url": "http://example.com/hook"}),
            )
            .await;
        answers.push((created, secure, patched));
    }

    // Assert
    let (created, secure, patched) = &answers[0];
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        (secure.status, patched.status),
        (201, 200),
        "{}",
        patched.text
    );
    let (created, secure, patched) = &answers[1];
    assert_eq!(secure.status, 201, "{}", secure.text);
    for res in [created, patched] {
        assert_eq!(res.status, 422, "{}", res.text);
        assert_eq!(res.body["errors"][0]["field"], "url");
        assert_eq!(res.body["errors"][0]["code"], "HTTPS_REQUIRED");
    }
}

async fn other_tenants_see_nothing_and_members_only_read(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let id = created(&app, &token, &org, "Hook", "https://example.com/hook").await;
    let member = app.create_user("member@example.com").await;
    app.add_member(&org, &member.user_id, domain::MemberRole::Member)
        .await;
    let (_, member_key) = app.create_api_key(&token, &org, "member").await;
    let (_, admin_key) = app.create_api_key(&token, &org, "admin").await;
    let outsider = app.create_user("outsider@example.com").await;
    let theirs = app.create_organization(&outsider.token, "Other").await;
    let item = format!("{}/{id}", endpoints(&org));

    // Act / Assert: another organization's owner, at our path and at theirs.
    for res in [
        app.get_as(&item, &outsider.token).await,
        app.get_as(&endpoints(&org), &outsider.token).await,
        app.patch_as(&item, &outsider.token, &json!({"name": "x"}))
            .await,
        app.delete_as(&item, &outsider.token).await,
    ] {
        assert_eq!(
            (res.status, res.code()),
            (404, "ORGANIZATION_NOT_FOUND"),
            "{}",
            res.text
        );
    }
    let via_theirs = format!("{}/{id}", endpoints(&theirs));
    for res in [
        app.get_as(&via_theirs, &outsider.token).await,
        app.patch_as(&via_theirs, &outsider.token, &json!({"name": "x"}))
            .await,
        app.delete_as(&via_theirs, &outsider.token).await,
    ] {
        assert_eq!(
            (res.status, res.code()),
            (404, "ENDPOINT_NOT_FOUND"),
            "{}",
            res.text
        );
    }
    assert_eq!(
        app.get_as(&endpoints(&theirs), &outsider.token).await.body["items"],
        json!([])
    );

    // Members and member keys read, and may not write.
    for reader in [member.token.as_str(), member_key.as_str()] {
        assert_eq!(app.get_as(&item, reader).await.status, 200);
        assert_eq!(app.get_as(&endpoints(&org), reader).await.status, 200);
        for res in [
            create(
                &app,
                reader,
                &org,
                &json!({"name": "x", "url": "https://e.com"}),
            )
            .await,
            app.patch_as(&item, reader, &json!({"name": "x"})).await,
            app.delete_as(&item, reader).await,
        ] {
            assert_eq!(
                (res.status, res.code()),
                (403, "INSUFFICIENT_ROLE"),
                "{}",
                res.text
            );
        }
    }
    // An admin key writes.
    let by_key = create(
        &app,
        &admin_key,
        &org,
        &json!({"name": "k", "url": "https://e.com"}),
    )
    .await;
    assert_eq!(by_key.status, 201, "{}", by_key.text);
    assert_eq!(app.get_as(&item, &token).await.body["name"], "Hook");
}

async fn the_list_pages_sorts_and_searches_name_and_url(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    for (name, url) in [
        ("Charlie", "https://c.example.com/run"),
        ("Alpha", "https://a.example.com/run"),
        ("Bravo", "https://billing.example.net/v1"),
    ] {
        created(&app, &token, &org, name, url).await;
        app.clock.advance(chrono::TimeDelta::seconds(1));
    }
    let names = |res: &TestResponse| -> Vec<String> {
        res.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };

    // Act
    let newest = app.get_as(&endpoints(&org), &token).await;
    let first = app
        .get_as(
            &format!(
                "{}?sortBy=name&sortDirection=asc&pageSize=2",
                endpoints(&org)
            ),
            &token,
        )
        .await;
    let cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
    let second = app
        .get_as(
            &format!(
                "{}?sortBy=name&sortDirection=asc&pageSize=2&cursor={cursor}",
                endpoints(&org)
            ),
            &token,
        )
        .await;
    let by_url = app
        .get_as(
            &format!("{}?searchQuery=EXAMPLE.NET", endpoints(&org)),
            &token,
        )
        .await;
    let by_name = app
        .get_as(&format!("{}?searchQuery=ALPH", endpoints(&org)), &token)
        .await;
    let bad_sort = app
        .get_as(&format!("{}?sortBy=url", endpoints(&org)), &token)
        .await;

    // Assert
    assert_eq!(names(&newest), ["Bravo", "Alpha", "Charlie"]);
    assert_eq!(first.body["hasNext"], true);
    assert_eq!(names(&first).len() + names(&second).len(), 3);
    assert_eq!(second.body["hasNext"], false);
    let mut all = names(&first);
    all.extend(names(&second));
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "ordered by name");
    assert_eq!(names(&by_url), ["Bravo"]);
    assert_eq!(names(&by_name), ["Alpha"]);
    assert_eq!(bad_sort.status, 422, "{}", bad_sort.text);
}

on_both_databases!(
    an_endpoint_is_created_read_listed_changed_and_deleted,
    every_broken_rule_is_422_naming_its_field,
    http_urls_are_accepted_outside_production_only,
    other_tenants_see_nothing_and_members_only_read,
    the_list_pages_sorts_and_searches_name_and_url,
);
