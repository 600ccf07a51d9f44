//! The GitHub App: the webhook receiver (signature over the raw bytes,
//! delivery dedupe, every installation and repository action in any order,
//! replay-safe), install links with a signed expiring state, the setup
//! callback, and the organization's reads and unlink. Payloads have the
//! shapes of GitHub's own examples, signed with the test secret
//! (`config/test.toml`) by an implementation independent of the server's.

use awc::http::Method;
use chrono::TimeDelta;
use futures_util::future::join_all;
use groundwork_tests::app::{TestApp, spawn_app};
use groundwork_tests::db::text_column;
use groundwork_tests::{Backend, on_both_databases};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// `github.webhook_secret` in `config/test.toml`.
const SECRET: &str = "test-only-github-webhook-secret";

const WEBHOOK: &str = "/v1/integrations/github/webhook";

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Posts `payload` as GitHub would: these bytes, signed with `secret`.
async fn post_signed(
    app: &TestApp,
    delivery: &str,
    event: &str,
    payload: &Value,
    secret: Option<&str>,
) -> groundwork_tests::app::TestResponse {
    let body = serde_json::to_vec(payload).unwrap();
    let sig = secret.map(|s| signature(s, &body));
    let mut headers = vec![
        ("content-type", "application/json"),
        ("x-github-event", event),
        ("x-github-delivery", delivery),
        ("user-agent", "GitHub-Hookshot/test"),
    ];
    if let Some(sig) = &sig {
        headers.push(("x-hub-signature-256", sig.as_str()));
    }
    app.send(Method::POST, WEBHOOK, &headers, Some(body)).await
}

async fn post(app: &TestApp, delivery: &str, event: &str, payload: &Value) -> String {
    let res = post_signed(app, delivery, event, payload, Some(SECRET)).await;
    assert!(
        res.status == 200 || res.status == 202,
        "{delivery}: {} {}",
        res.status,
        res.text
    );
    res.body["status"].as_str().unwrap_or_default().to_owned()
}

fn account() -> Value {
    json!({
        "login": "octo-org", "id": 6_811_672, "node_id": "MDEyOk9yZ2FuaXphdGlvbjY4MTE2NzI=",
        "avatar_url": "https://avatars.githubusercontent.com/u/6811672?v=4",
        "url": "https://api.github.com/users/octo-org", "type": "Organization", "site_admin": false
    })
}

fn sender() -> Value {
    json!({"login": "octocat", "id": 583_231, "node_id": "MDQ6VXNlcjU4MzIzMQ==", "type": "User", "site_admin": false})
}

/// GitHub's installation object at `updated_at`.
fn installation(
    id: i64,
    updated_at: &str,
    suspended_at: Option<&str>,
    permissions: Value,
) -> Value {
    json!({
        "id": id,
        "client_id": "Iv1.8a61f9b3a7aba766",
        "account": account(),
        "repository_selection": "selected",
        "access_tokens_url": format!("https://api.github.com/app/installations/{id}/access_tokens"),
        "repositories_url": "https://api.github.com/installation/repositories",
        "html_url": format!("https://github.com/organizations/octo-org/settings/installations/{id}"),
        "app_id": 1,
        "app_slug": "groundwork-test",
        "target_id": 6_811_672,
        "target_type": "Organization",
        "permissions": permissions,
        "events": ["push", "pull_request"],
        "created_at": "2026-11-01T10:00:00.000Z",
        "updated_at": updated_at,
        "single_file_name": null,
        "has_multiple_single_files": false,
        "single_file_paths": [],
        "suspended_by": if suspended_at.is_some() { sender() } else { Value::Null },
        "suspended_at": suspended_at,
    })
}

fn repo(id: i64, name: &str, private: bool) -> Value {
    json!({
        "id": id,
        "node_id": format!("R_kgDO{id}"),
        "name": name,
        "full_name": format!("octo-org/{name}"),
        "private": private,
    })
}

fn read() -> Value {
    json!({"contents": "read", "metadata": "read"})
}

/// An `installation` event.
fn installation_event(action: &str, inst: Value, repositories: Option<Value>) -> Value {
    let mut event =
        json!({"action": action, "installation": inst, "requester": null, "sender": sender()});
    if let Some(repositories) = repositories {
        event["repositories"] = repositories;
    }
    event
}

/// An `installation_repositories` event.
fn repositories_event(action: &str, inst: Value, added: Value, removed: Value) -> Value {
    json!({
        "action": action,
        "installation": inst,
        "repository_selection": "selected",
        "repositories_added": added,
        "repositories_removed": removed,
        "requester": null,
        "sender": sender(),
    })
}

/// created (two repositories), added, removed, suspend, unsuspend,
/// new_permissions_accepted: `(delivery id, event, payload)`, each an hour
/// after the one before.
fn sequence(id: i64) -> Vec<(String, &'static str, Value)> {
    let at = |h: u32| format!("2026-11-02T{h:02}:00:00Z");
    vec![
        (
            "installation",
            installation_event(
                "created",
                installation(id, &at(1), None, read()),
                Some(json!([
                    repo(1_296_269, "hello-world", false),
                    repo(1_300_192, "spoon-knife", true)
                ])),
            ),
        ),
        (
            "installation_repositories",
            repositories_event(
                "added",
                installation(id, &at(2), None, read()),
                json!([repo(2_001, "octo-app", true)]),
                json!([]),
            ),
        ),
        (
            "installation_repositories",
            repositories_event(
                "removed",
                installation(id, &at(3), None, read()),
                json!([]),
                json!([repo(1_296_269, "hello-world", false)]),
            ),
        ),
        (
            "installation",
            installation_event(
                "suspend",
                installation(id, &at(4), Some(&at(4)), read()),
                None,
            ),
        ),
        (
            "installation",
            installation_event("unsuspend", installation(id, &at(5), None, read()), None),
        ),
        (
            "installation",
            installation_event(
                "new_permissions_accepted",
                // With an offset, as GitHub also writes times.
                installation(
                    id,
                    "2026-11-02T07:00:00+01:00",
                    None,
                    json!({"contents": "write", "metadata": "read"}),
                ),
                None,
            ),
        ),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (event, payload))| (format!("{id}-{i}-delivery"), event, payload))
    .collect()
}

fn deleted(id: i64) -> (String, &'static str, Value) {
    (
        format!("{id}-deleted"),
        "installation",
        installation_event(
            "deleted",
            installation(id, "2026-11-02T09:00:00Z", None, read()),
            None,
        ),
    )
}

struct Org {
    id: String,
    owner: String,
}

async fn organization(app: &TestApp, n: usize) -> Org {
    let owner = app.create_user(&format!("gh-owner{n}@example.com")).await;
    let id = app
        .create_organization(&owner.token, &format!("GitHub org {n}"))
        .await;
    Org {
        id,
        owner: owner.token,
    }
}

/// The state of an install link created by `token` for `org`.
async fn state_for(app: &TestApp, org: &str, token: &str) -> String {
    let res = app
        .post_as(
            &format!("/v1/organizations/{org}/github/install-links"),
            token,
            &json!({}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let url = res.body["url"].as_str().unwrap();
    let prefix = "https://github.com/apps/groundwork-test/installations/new?state=";
    assert!(url.starts_with(prefix), "{url}");
    url[prefix.len()..].to_owned()
}

async fn setup(
    app: &TestApp,
    installation: i64,
    state: &str,
) -> groundwork_tests::app::TestResponse {
    app.get(&format!(
        "/v1/integrations/github/setup?installation_id={installation}&state={state}&setup_action=install"
    ))
    .await
}

async fn link(app: &TestApp, org: &Org, installation: i64) {
    let state = state_for(app, &org.id, &org.owner).await;
    let res = setup(app, installation, &state).await;
    assert_eq!(res.status, 200, "{}", res.text);
}

async fn installations(app: &TestApp, org: &Org) -> Vec<Value> {
    let res = app
        .get_as(
            &format!("/v1/organizations/{}/github/installations", org.id),
            &org.owner,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"].as_array().unwrap().clone()
}

async fn repositories(app: &TestApp, org: &Org, installation: i64) -> Vec<Value> {
    let res = app
        .get_as(
            &format!(
                "/v1/organizations/{}/github/installations/{installation}/repositories?sortBy=fullName&sortDirection=asc",
                org.id
            ),
            &org.owner,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["items"].as_array().unwrap().clone()
}

/// What GitHub's events decide about an installation, without this server's
/// own bookkeeping (ids and times of its rows).
async fn observed(app: &TestApp, org: &Org, installation: i64) -> Value {
    let mut found: Vec<Value> = installations(app, org)
        .await
        .into_iter()
        .filter(|i| i["id"] == installation)
        .collect();
    let Some(mut inst) = found.pop() else {
        return Value::Null;
    };
    for field in ["id", "createdAt", "updatedAt", "linkedAt"] {
        inst.as_object_mut().unwrap().remove(field);
    }
    let repos: Vec<Value> = repositories(app, org, installation)
        .await
        .into_iter()
        .map(|mut r| {
            r.as_object_mut().unwrap().remove("createdAt");
            r
        })
        .collect();
    json!({"installation": inst, "repositories": repos})
}

async fn count(app: &TestApp, table: &str) -> String {
    text_column(
        app.database.pool(),
        &format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table}"),
    )
    .await
    .remove(0)
}

// ---------------------------------------------------------------------------

async fn a_bad_or_missing_signature_is_401_and_nothing_is_written(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let (delivery, event, payload) = sequence(11).remove(0);
    let body = serde_json::to_vec(&payload).unwrap();
    let other_body = signature(SECRET, b"{}");
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("another secret", Some(signature("not-the-secret", &body))),
        ("another body", Some(other_body)),
        (
            "sha1",
            Some(signature(SECRET, &body).replace("sha256=", "sha1=")),
        ),
        ("not hex", Some("sha256=zz".to_owned())),
    ];
    for (why, sig) in cases {
        // Act
        let mut headers = vec![
            ("content-type", "application/json"),
            ("x-github-event", event),
            ("x-github-delivery", delivery.as_str()),
        ];
        if let Some(sig) = &sig {
            headers.push(("x-hub-signature-256", sig.as_str()));
        }
        let res = app
            .send(Method::POST, WEBHOOK, &headers, Some(body.clone()))
            .await;

        // Assert
        assert_eq!(res.status, 401, "{why}: {}", res.text);
        assert_eq!(res.code(), "INVALID_SIGNATURE", "{why}");
    }
    // The same bytes re-serialised (a space added) no longer match.
    let spaced = String::from_utf8(body.clone())
        .unwrap()
        .replacen(':', ": ", 1);
    let sig = signature(SECRET, &body);
    let res = app
        .send(
            Method::POST,
            WEBHOOK,
            &[
                ("content-type", "application/json"),
                ("x-github-event", event),
                ("x-github-delivery", &delivery),
                ("x-hub-signature-256", &sig),
            ],
            Some(spaced.into_bytes()),
        )
        .await;
    assert_eq!(res.status, 401, "{}", res.text);
    assert_eq!(count(&app, "github_deliveries").await, "0");
    assert_eq!(count(&app, "github_installations").await, "0");
    assert_eq!(count(&app, "github_installation_repositories").await, "0");
}

async fn a_linked_installation_follows_every_installation_and_repository_action(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = organization(&app, 1).await;
    link(&app, &org, 4242).await;
    let events = sequence(4242);

    // Act + Assert: created, with its repositories.
    assert_eq!(
        post(&app, &events[0].0, events[0].1, &events[0].2).await,
        "applied"
    );
    let inst = &installations(&app, &org).await[0];
    assert_eq!(inst["id"], 4242);
    assert_eq!(
        inst["account"],
        json!({"login": "octo-org", "id": 6_811_672, "type": "Organization"})
    );
    assert_eq!(inst["repositorySelection"], "selected");
    assert_eq!(inst["permissions"], read());
    assert_eq!(inst["suspendedAt"], Value::Null);
    let names = |repos: &[Value]| -> Vec<(String, bool)> {
        repos
            .iter()
            .map(|r| {
                (
                    r["fullName"].as_str().unwrap().to_owned(),
                    r["removedAt"].is_null(),
                )
            })
            .collect()
    };
    let live = |s: &str| (s.to_owned(), true);
    let removed = |s: &str| (s.to_owned(), false);
    assert_eq!(
        names(&repositories(&app, &org, 4242).await),
        [live("octo-org/hello-world"), live("octo-org/spoon-knife")]
    );

    // added, removed: a removed repository is kept, flagged.
    assert_eq!(
        post(&app, &events[1].0, events[1].1, &events[1].2).await,
        "applied"
    );
    assert_eq!(
        post(&app, &events[2].0, events[2].1, &events[2].2).await,
        "applied"
    );
    let repos = repositories(&app, &org, 4242).await;
    assert_eq!(
        names(&repos),
        [
            removed("octo-org/hello-world"),
            live("octo-org/octo-app"),
            live("octo-org/spoon-knife")
        ]
    );
    assert_eq!(repos[0]["removedAt"], "2026-11-02T03:00:00Z");
    assert_eq!(repos[1]["private"], true);

    // suspend, unsuspend.
    assert_eq!(
        post(&app, &events[3].0, events[3].1, &events[3].2).await,
        "applied"
    );
    assert_eq!(
        installations(&app, &org).await[0]["suspendedAt"],
        "2026-11-02T04:00:00Z"
    );
    assert_eq!(
        post(&app, &events[4].0, events[4].1, &events[4].2).await,
        "applied"
    );
    assert_eq!(
        installations(&app, &org).await[0]["suspendedAt"],
        Value::Null
    );

    // new_permissions_accepted.
    assert_eq!(
        post(&app, &events[5].0, events[5].1, &events[5].2).await,
        "applied"
    );
    assert_eq!(
        installations(&app, &org).await[0]["permissions"]["contents"],
        "write"
    );

    // deleted: gone from the organization's reads.
    let (delivery, event, payload) = deleted(4242);
    assert_eq!(post(&app, &delivery, event, &payload).await, "applied");
    assert!(installations(&app, &org).await.is_empty());
    let res = app
        .get_as(
            &format!(
                "/v1/organizations/{}/github/installations/4242/repositories",
                org.id
            ),
            &org.owner,
        )
        .await;
    assert_eq!(res.status, 404, "{}", res.text);
    assert_eq!(res.code(), "GITHUB_INSTALLATION_NOT_FOUND");
}

async fn the_same_sequence_posted_twice_changes_nothing(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = organization(&app, 1).await;
    link(&app, &org, 4343).await;
    let events = sequence(4343);
    for (delivery, event, payload) in &events {
        post(&app, delivery, event, payload).await;
    }
    let before = observed(&app, &org, 4343).await;
    let recorded = count(&app, "github_deliveries").await;

    // Act: GitHub's redeliveries (same ids), then every payload again as new deliveries.
    for (delivery, event, payload) in &events {
        assert_eq!(post(&app, delivery, event, payload).await, "redelivery");
    }
    for (delivery, event, payload) in &events {
        post(&app, &format!("{delivery}-again"), event, payload).await;
    }

    // Assert
    assert_eq!(observed(&app, &org, 4343).await, before);
    assert_eq!(
        count(&app, "github_deliveries")
            .await
            .parse::<usize>()
            .unwrap(),
        recorded.parse::<usize>().unwrap() + events.len(),
        "a redelivery is not recorded twice"
    );
}

async fn the_sequence_in_reverse_order_ends_in_the_same_state(backend: Backend) {
    // Arrange: two installations of the same account, one told in order, one backwards.
    let app = spawn_app(backend).await;
    let org = organization(&app, 1).await;
    link(&app, &org, 5001).await;
    link(&app, &org, 5002).await;

    // Act
    for (delivery, event, payload) in sequence(5001) {
        post(&app, &delivery, event, &payload).await;
    }
    for (delivery, event, payload) in sequence(5002).into_iter().rev() {
        post(&app, &delivery, event, &payload).await;
    }

    // Assert
    let forward = observed(&app, &org, 5001).await;
    assert_eq!(observed(&app, &org, 5002).await, forward);
    assert_eq!(forward["installation"]["permissions"]["contents"], "write");
    assert_eq!(forward["installation"]["suspendedAt"], Value::Null);
    let removed: Vec<&Value> = forward["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["removedAt"].is_null())
        .collect();
    assert_eq!(removed.len(), 1, "{forward}");
    assert_eq!(removed[0]["name"], "hello-world");

    // Deleted first, then everything older: still deleted.
    for (delivery, event, payload) in
        std::iter::once(deleted(5003)).chain(sequence(5003).into_iter().rev())
    {
        post(&app, &delivery, event, &payload).await;
    }
    let state = state_for(&app, &org.id, &org.owner).await;
    let res = setup(&app, 5003, &state).await;
    assert_eq!(res.status, 409, "{}", res.text);
    assert_eq!(res.code(), "GITHUB_INSTALLATION_DELETED");
    let audit = app
        .get_as(
            &format!(
                "/v1/organizations/{}/audit-logs?action=github_installation.linked",
                org.id
            ),
            &org.owner,
        )
        .await;
    assert_eq!(
        audit.body["items"].as_array().unwrap().len(),
        2,
        "an uninstalled installation is not linked: {}",
        audit.text
    );
}

async fn ten_concurrent_redeliveries_of_one_delivery_apply_once(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = organization(&app, 1).await;
    link(&app, &org, 6060).await;
    let (delivery, event, payload) = sequence(6060).remove(0);

    // Act
    let answers = join_all((0..10).map(|_| post(&app, &delivery, event, &payload))).await;

    // Assert
    let applied = answers.iter().filter(|a| *a == "applied").count();
    let redelivered = answers.iter().filter(|a| *a == "redelivery").count();
    assert_eq!((applied, redelivered), (1, 9), "{answers:?}");
    assert_eq!(count(&app, "github_deliveries").await, "1");
    assert_eq!(repositories(&app, &org, 6060).await.len(), 2);
}

async fn events_before_linking_are_kept_and_applied_at_link_time(backend: Backend) {
    // Arrange: every event arrives before anyone links the installation.
    let app = spawn_app(backend).await;
    let org = organization(&app, 1).await;
    for (delivery, event, payload) in sequence(7070) {
        assert_eq!(post(&app, &delivery, event, &payload).await, "kept");
    }
    assert!(installations(&app, &org).await.is_empty());

    // Act
    link(&app, &org, 7070).await;

    // Assert: as if they had come after.
    let other = organization(&app, 2).await;
    link(&app, &other, 7071).await;
    for (delivery, event, payload) in sequence(7071) {
        assert_eq!(post(&app, &delivery, event, &payload).await, "applied");
    }
    let kept = observed(&app, &org, 7070).await;
    assert_eq!(kept, observed(&app, &other, 7071).await);
    assert_eq!(kept["installation"]["account"]["login"], "octo-org");
    let pending = text_column(
        app.database.pool(),
        "SELECT delivery_id FROM github_deliveries WHERE applied_at IS NULL",
    )
    .await;
    assert!(pending.is_empty(), "{pending:?}");
}

async fn ping_is_200_and_other_events_are_recorded_and_202(backend: Backend) {
    let app = spawn_app(backend).await;
    let ping = json!({"zen": "Design for failure.", "hook_id": 30, "hook": {"type": "App", "id": 30, "events": ["installation"]}});
    assert_eq!(post(&app, "ping-1", "ping", &ping).await, "pong");
    let push = json!({"ref": "refs/heads/main", "installation": {"id": 1, "node_id": "x"}});
    let res = post_signed(&app, "push-1", "push", &push, Some(SECRET)).await;
    assert_eq!(res.status, 202, "{}", res.text);
    assert_eq!(count(&app, "github_deliveries").await, "2");
    // Not JSON (signed all the same), and no delivery id: 400.
    let res = app
        .send(
            Method::POST,
            WEBHOOK,
            &[
                ("content-type", "application/json"),
                ("x-github-event", "ping"),
                ("x-github-delivery", "bad-1"),
                ("x-hub-signature-256", &signature(SECRET, b"{not json")),
            ],
            Some(b"{not json".to_vec()),
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.text);
    let res = app
        .send(
            Method::POST,
            WEBHOOK,
            &[
                ("content-type", "application/json"),
                ("x-github-event", "ping"),
                ("x-hub-signature-256", &signature(SECRET, b"{}")),
            ],
            Some(b"{}".to_vec()),
        )
        .await;
    assert_eq!(res.status, 400, "{}", res.text);
}

async fn an_install_link_links_through_the_setup_callback_and_a_bad_state_is_refused(
    backend: Backend,
) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = organization(&app, 1).await;
    let other = organization(&app, 2).await;
    let state = state_for(&app, &org.id, &org.owner).await;

    // Tampered: another organization's id under this signature.
    let tampered = state.replacen(&org.id, &other.id, 1);
    let res = setup(&app, 8080, &tampered).await;
    assert_eq!(
        (res.status, res.code()),
        (401, "INVALID_STATE"),
        "{}",
        res.text
    );
    let res = setup(&app, 8080, "v1.garbage").await;
    assert_eq!(
        (res.status, res.code()),
        (401, "INVALID_STATE"),
        "{}",
        res.text
    );
    let res = app
        .get(&format!("/v1/integrations/github/setup?state={state}"))
        .await;
    assert_eq!(res.status, 400, "{}", res.text);

    // Expired: a state older than github.state_ttl_secs (600).
    app.clock.advance(TimeDelta::seconds(601));
    let res = setup(&app, 8080, &state).await;
    assert_eq!(
        (res.status, res.code()),
        (401, "STATE_EXPIRED"),
        "{}",
        res.text
    );
    assert_eq!(count(&app, "github_installations").await, "0");

    // Act: a fresh one.
    let state = state_for(&app, &org.id, &org.owner).await;
    let res = setup(&app, 8080, &state).await;

    // Assert
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["id"], 8080);
    assert_eq!(res.body["account"], Value::Null, "no event has come yet");
    assert_eq!(installations(&app, &org).await.len(), 1);
    // The same callback again: still linked, once.
    assert_eq!(setup(&app, 8080, &state).await.status, 200);
    let audit = app
        .get_as(
            &format!(
                "/v1/organizations/{}/audit-logs?action=github_installation.linked",
                org.id
            ),
            &org.owner,
        )
        .await;
    assert_eq!(
        audit.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        audit.text
    );
    assert_eq!(audit.body["items"][0]["entityId"], "8080");
    // Another organization cannot take it.
    let theirs = state_for(&app, &other.id, &other.owner).await;
    let res = setup(&app, 8080, &theirs).await;
    assert_eq!(
        (res.status, res.code()),
        (409, "GITHUB_INSTALLATION_LINKED_ELSEWHERE"),
        "{}",
        res.text
    );
}

async fn members_read_installations_admins_unlink_and_outsiders_see_nothing(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let org = organization(&app, 1).await;
    let member = app.create_user("gh-member@example.com").await;
    app.add_member(&org.id, &member.user_id, domain::MemberRole::Member)
        .await;
    let outsider = organization(&app, 2).await;
    link(&app, &org, 9090).await;
    let (delivery, event, payload) = sequence(9090).remove(0);
    post(&app, &delivery, event, &payload).await;
    let base = format!("/v1/organizations/{}/github", org.id);

    // A member reads, but neither links nor unlinks.
    let res = app
        .get_as(&format!("{base}/installations"), &member.token)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["items"][0]["id"], 9090);
    let res = app
        .get_as(
            &format!("{base}/installations/9090/repositories"),
            &member.token,
        )
        .await;
    assert_eq!(
        res.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        res.text
    );
    let res = app
        .post_as(&format!("{base}/install-links"), &member.token, &json!({}))
        .await;
    assert_eq!(
        (res.status, res.code()),
        (403, "INSUFFICIENT_ROLE"),
        "{}",
        res.text
    );
    let res = app
        .delete_as(&format!("{base}/installations/9090"), &member.token)
        .await;
    assert_eq!(res.status, 403, "{}", res.text);

    // Outsiders: 404, as for anything of another tenant.
    let res = app
        .get_as(&format!("{base}/installations"), &outsider.owner)
        .await;
    assert_eq!(
        (res.status, res.code()),
        (404, "ORGANIZATION_NOT_FOUND"),
        "{}",
        res.text
    );
    let theirs = format!(
        "/v1/organizations/{}/github/installations/9090/repositories",
        outsider.id
    );
    let res = app.get_as(&theirs, &outsider.owner).await;
    assert_eq!(
        (res.status, res.code()),
        (404, "GITHUB_INSTALLATION_NOT_FOUND"),
        "{}",
        res.text
    );
    let res = app
        .get_as(&format!("{base}/installations/x1/repositories"), &org.owner)
        .await;
    assert_eq!(
        (res.status, res.code()),
        (404, "GITHUB_INSTALLATION_NOT_FOUND"),
        "{}",
        res.text
    );

    // Act: the owner unlinks.
    let res = app
        .delete_as(&format!("{base}/installations/9090"), &org.owner)
        .await;

    // Assert
    assert_eq!(res.status, 204, "{}", res.text);
    assert!(installations(&app, &org).await.is_empty());
    assert_eq!(
        app.delete_as(&format!("{base}/installations/9090"), &org.owner)
            .await
            .status,
        404
    );
    let audit = app
        .get_as(
            &format!(
                "/v1/organizations/{}/audit-logs?action=github_installation.unlinked",
                org.id
            ),
            &org.owner,
        )
        .await;
    assert_eq!(audit.body["items"][0]["entityId"], "9090", "{}", audit.text);
    // Unlinked, it follows GitHub still (kept), and can be linked again, to anyone.
    link(&app, &outsider, 9090).await;
    assert_eq!(repositories(&app, &outsider, 9090).await.len(), 2);
}

on_both_databases!(
    a_bad_or_missing_signature_is_401_and_nothing_is_written,
    a_linked_installation_follows_every_installation_and_repository_action,
    the_same_sequence_posted_twice_changes_nothing,
    the_sequence_in_reverse_order_ends_in_the_same_state,
    ten_concurrent_redeliveries_of_one_delivery_apply_once,
    events_before_linking_are_kept_and_applied_at_link_time,
    ping_is_200_and_other_events_are_recorded_and_202,
    an_install_link_links_through_the_setup_callback_and_a_bad_state_is_refused,
    members_read_installations_admins_unlink_and_outsiders_see_nothing,
);
