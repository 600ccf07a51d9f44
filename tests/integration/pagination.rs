//! Lists: page edges, keyset cursors, sorting, validation of list parameters and
//! literal search, through the organization and member lists.

use std::fmt::Write as _;

use domain::{Cursor, MemberRole};
use groundwork_tests::Backend;
use groundwork_tests::app::{SignedUp, TestApp, TestResponse, spawn_app};
use groundwork_tests::on_both_databases;
use serde_json::{Value, json};

/// Percent-encodes every byte but ASCII letters and digits.
fn encode(raw: &str) -> String {
    raw.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

fn ids(res: &TestResponse) -> Vec<String> {
    res.body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {}", res.text))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Follows `nextCursor` from the first page to the last; every page's ids.
async fn walk(app: &TestApp, token: &str, path_and_query: &str) -> Vec<Vec<String>> {
    walk_from(app, token, path_and_query, None).await
}

/// Like [`walk`], starting at `cursor` when given.
async fn walk_from(
    app: &TestApp,
    token: &str,
    path_and_query: &str,
    cursor: Option<&str>,
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut url = match cursor {
        Some(cursor) => format!("{path_and_query}&cursor={cursor}"),
        None => path_and_query.to_owned(),
    };
    loop {
        let res = app.get_as(&url, token).await;
        assert_eq!(res.status, 200, "{url}: {}", res.text);
        pages.push(ids(&res));
        match res.body["nextCursor"].as_str() {
            Some(cursor) => {
                assert_eq!(res.body["hasNext"], true);
                url = format!("{path_and_query}&cursor={cursor}");
            }
            None => {
                assert_eq!(res.body["hasNext"], false);
                return pages;
            }
        }
    }
}

async fn owner_with_organizations(app: &TestApp, names: &[&str]) -> (SignedUp, Vec<String>) {
    let ada = app.create_user("ada@example.com").await;
    let mut ids = Vec::new();
    for name in names {
        ids.push(app.create_organization(&ada.token, name).await);
    }
    (ada, ids)
}

async fn page_edges_are_exact(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, created) =
        owner_with_organizations(&app, &["a1", "a2", "a3", "a4", "a5", "a6"]).await;
    let base = "/v1/organizations?pageSize=3&sortDirection=asc";

    let first = app.get_as(&format!("{base}&page=1"), &ada.token).await;
    assert_eq!(ids(&first), created[..3]);
    assert_eq!(first.body["hasNext"], true);
    assert!(
        first.body["nextCursor"].is_string(),
        "page mode carries nextCursor too"
    );

    let last = app.get_as(&format!("{base}&page=2"), &ada.token).await;
    assert_eq!(ids(&last), created[3..]);
    assert_eq!(
        last.body["hasNext"], false,
        "an exact multiple has no next page"
    );
    assert!(last.body["nextCursor"].is_null());

    let past = app.get_as(&format!("{base}&page=3"), &ada.token).await;
    assert_eq!(past.status, 200);
    assert_eq!(past.body["items"], Value::Array(vec![]));
    assert_eq!(past.body["hasNext"], false);

    // The page-mode cursor continues where page 1 ended.
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let next = app
        .get_as(&format!("{base}&cursor={cursor}"), &ada.token)
        .await;
    assert_eq!(ids(&next), created[3..]);

    let default = app.get_as("/v1/organizations", &ada.token).await;
    let mut newest_first = created.clone();
    newest_first.reverse();
    assert_eq!(
        ids(&default),
        newest_first,
        "default: createdAt desc, 10 a page"
    );
}

async fn cursors_neither_repeat_nor_skip_rows_when_rows_are_inserted(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, created) = owner_with_organizations(&app, &["b", "d", "f", "h", "j", "l", "n"]).await;

    for (query, inserted) in [
        ("sortBy=createdAt&sortDirection=desc", ["new1", "new2"]),
        ("sortBy=createdAt&sortDirection=asc", ["new3", "new4"]),
        ("sortBy=name&sortDirection=asc", ["a", "i"]),
        ("sortBy=name&sortDirection=desc", ["m", "c"]),
    ] {
        let path = format!("/v1/organizations?pageSize=3&{query}");
        let first = app.get_as(&path, &ada.token).await;
        let mut seen = ids(&first);
        // Rows inserted between pages, before and after the cursor's position.
        for name in inserted {
            app.create_organization(&ada.token, name).await;
        }
        let cursor = first.body["nextCursor"].as_str().unwrap();
        for page in walk_from(&app, &ada.token, &path, Some(cursor)).await {
            seen.extend(page);
        }
        for id in &created {
            assert_eq!(
                seen.iter().filter(|s| *s == id).count(),
                1,
                "{query}: {id} in {seen:?}"
            );
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "{query}: duplicates in {seen:?}");
    }
}

async fn list_parameters_are_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, orgs) = owner_with_organizations(&app, &["Acme"]).await;
    let members = format!("/v1/organizations/{}/members", orgs[0]);
    let cursor = Cursor::new("createdAt:desc:2024-01-01T00:00:00Z", &orgs[0]).encode();
    let cases = [
        ("sortBy=password", "sortBy"),
        ("sortBy=email", "sortBy"),
        ("sortBy=created_at", "sortBy"),
        ("pageSize=0", "pageSize"),
        ("pageSize=101", "pageSize"),
        ("pageSize=abc", "pageSize"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("sortDirection=up", "sortDirection"),
        (&format!("page=1&cursor={cursor}") as &str, "cursor"),
        ("cursor=zz", "cursor"),
        ("cursor=not-hex-at-all", "cursor"),
    ];
    for (query, field) in cases {
        let res = app
            .get_as(&format!("/v1/organizations?{query}"), &ada.token)
            .await;
        assert_eq!(res.status, 422, "{query}: {}", res.text);
        assert_eq!(res.code(), "VALIDATION_FAILED", "{query}");
        assert_eq!(res.error_fields(), [field], "{query}");
    }
    let members_sort = app
        .get_as(&format!("{members}?sortBy=password"), &ada.token)
        .await;
    assert_eq!(members_sort.status, 422);
    assert_eq!(members_sort.error_fields(), ["sortBy"]);
    let invitations = format!("/v1/organizations/{}/invitations?sortBy=role", orgs[0]);
    assert_eq!(app.get_as(&invitations, &ada.token).await.status, 422);

    let unreadable = app
        .get_as("/v1/organizations?page=1&page=2", &ada.token)
        .await;
    assert_eq!(unreadable.status, 400, "{}", unreadable.text);
}

async fn a_cursor_only_works_for_the_order_it_was_made_for(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, orgs) = owner_with_organizations(&app, &["a", "b", "c"]).await;
    let first = app
        .get_as("/v1/organizations?pageSize=1&sortBy=createdAt", &ada.token)
        .await;
    let cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
    let other_orders = [
        "sortBy=name",
        "sortBy=createdAt&sortDirection=asc",
        "sortBy=name&sortDirection=desc",
    ];
    for order in other_orders {
        let res = app
            .get_as(
                &format!("/v1/organizations?{order}&cursor={cursor}"),
                &ada.token,
            )
            .await;
        assert_eq!(res.status, 422, "{order}: {}", res.text);
        assert_eq!(res.body["errors"][0]["code"], "INVALID_CURSOR", "{order}");
    }
    let forged = [
        Cursor::new("createdAt:desc:yesterday", &orgs[0]),
        Cursor::new(
            "createdAt:desc:2024-01-01T00:00:00Z",
            "usr_01JD6Z3Q9V7X2M4N8P0R5T1W3Y",
        ),
        Cursor::new("createdAt:desc:2024-01-01T00:00:00Z", "garbage"),
        Cursor::new("2024-01-01T00:00:00Z", &orgs[0]),
    ];
    for cursor in forged {
        let res = app
            .get_as(
                &format!("/v1/organizations?cursor={}", cursor.encode()),
                &ada.token,
            )
            .await;
        assert_eq!(res.status, 422, "{cursor:?}: {}", res.text);
        assert_eq!(
            res.body["errors"][0]["code"], "INVALID_CURSOR",
            "{cursor:?}"
        );
    }
    let garbage = app.get_as("/v1/organizations?cursor=zz", &ada.token).await;
    assert_eq!(garbage.body["errors"][0]["code"], "INVALID_CURSOR");
}

/// An organization whose members have distinct and repeated names and roles.
async fn populated_team(app: &TestApp) -> (SignedUp, String) {
    let owner = app
        .create_user_named("owner@example.com", "Olga", "Zed")
        .await;
    let org = app.create_organization(&owner.token, "Team").await;
    let people = [
        ("dan@example.com", "dan", "baker", MemberRole::Member),
        ("amy@example.com", "amy", "young", MemberRole::Admin),
        ("cat@example.com", "cat", "baker", MemberRole::Member),
        ("bob@example.com", "bob", "adams", MemberRole::Owner),
        ("eve@example.com", "amy", "cole", MemberRole::Member),
    ];
    for (email, first, last, role) in people {
        let user = app.create_user_named(email, first, last).await;
        app.add_member(&org, &user.user_id, role).await;
    }
    (owner, org)
}

fn sort_value(item: &Value, field: &str) -> String {
    match field {
        "email" => item["user"]["email"].as_str().unwrap().to_owned(),
        "firstName" => item["user"]["firstName"].as_str().unwrap().to_owned(),
        "lastName" => item["user"]["lastName"].as_str().unwrap().to_owned(),
        "role" => item["role"].as_str().unwrap().to_owned(),
        _ => {
            let at = item["createdAt"].as_str().unwrap();
            chrono::DateTime::parse_from_rfc3339(at)
                .unwrap()
                .timestamp_nanos_opt()
                .unwrap()
                .to_string()
        }
    }
}

async fn every_member_sort_field_orders_both_ways_in_pages_and_cursors(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, org) = populated_team(&app).await;
    let base = format!("/v1/organizations/{org}/members");

    for field in ["createdAt", "email", "firstName", "lastName", "role"] {
        for direction in ["asc", "desc"] {
            let query = format!("{base}?sortBy={field}&sortDirection={direction}");
            let all = app
                .get_as(&format!("{query}&pageSize=100"), &owner.token)
                .await;
            assert_eq!(all.status, 200, "{query}: {}", all.text);
            let items = all.body["items"].as_array().unwrap();
            assert_eq!(items.len(), 6);
            let keys: Vec<(String, String)> = items
                .iter()
                .map(|i| {
                    let value = sort_value(i, field);
                    // createdAt values are nanosecond counts: compare them as numbers.
                    let value = if field == "createdAt" {
                        format!("{value:0>24}")
                    } else {
                        value
                    };
                    (value, i["id"].as_str().unwrap().to_owned())
                })
                .collect();
            let mut expected = keys.clone();
            expected.sort();
            if direction == "desc" {
                expected.reverse();
            }
            assert_eq!(keys, expected, "{query}");

            let walked: Vec<String> = walk(&app, &owner.token, &format!("{query}&pageSize=2"))
                .await
                .concat();
            assert_eq!(walked, ids(&all), "{query}: cursor pages");
            let mut paged = Vec::new();
            for page in 1..=3 {
                let res = app
                    .get_as(&format!("{query}&pageSize=2&page={page}"), &owner.token)
                    .await;
                paged.extend(ids(&res));
            }
            assert_eq!(paged, ids(&all), "{query}: numbered pages");
        }
    }
}

async fn search_is_literal_and_case_insensitive(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app
        .create_user_named("owner@example.com", "Olga", "Zed")
        .await;
    let org = app.create_organization(&owner.token, "Team").await;
    let people = [
        ("pct@example.com", "100%", "Sure"),
        ("pcx@example.com", "100x", "Sure"),
        ("und@example.com", "A_B", "Under"),
        ("unx@example.com", "AxB", "Under"),
        ("quo@example.com", "Sean", "O'Brien"),
        ("qux@example.com", "Sean", "OBrien"),
        ("bsl@example.com", "Back\\slash", "Slash"),
        ("bsx@example.com", "Backslash", "Slash"),
        ("mail_box@example.com", "Mail", "Box"),
        ("mailxbox@example.com", "Mail", "Box"),
    ];
    for (email, first, last) in people {
        let user = app.create_user_named(email, first, last).await;
        app.add_member(&org, &user.user_id, MemberRole::Member)
            .await;
    }
    let cases: [(&str, &[&str]); 9] = [
        ("%", &["pct@example.com"]),
        ("0%", &["pct@example.com"]),
        ("_", &["und@example.com", "mail_box@example.com"]),
        ("a_b", &["und@example.com"]),
        ("o'brien", &["quo@example.com"]),
        ("'", &["quo@example.com"]),
        ("\\", &["bsl@example.com"]),
        ("K\\S", &["bsl@example.com"]),
        ("L_BOX", &["mail_box@example.com"]),
    ];
    for (search, expected) in cases {
        let res = app
            .get_as(
                &format!(
                    "/v1/organizations/{org}/members?pageSize=100&sortBy=email&sortDirection=asc&searchQuery={}",
                    encode(search)
                ),
                &owner.token,
            )
            .await;
        assert_eq!(res.status, 200, "{search}: {}", res.text);
        let mut emails: Vec<&str> = res.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["user"]["email"].as_str().unwrap())
            .collect();
        emails.sort_unstable();
        let mut expected = expected.to_vec();
        expected.sort_unstable();
        assert_eq!(emails, expected, "searchQuery={search:?}");
    }

    for name in ["50% off", "50x off", "Big_Co", "BigXCo"] {
        app.create_organization(&owner.token, name).await;
    }
    for (search, expected) in [("% O", vec!["50% off"]), ("g_c", vec!["Big_Co"])] {
        let res = app
            .get_as(
                &format!("/v1/organizations?searchQuery={}", encode(search)),
                &owner.token,
            )
            .await;
        let names: Vec<&str> = res.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, expected, "{search:?}");
    }
}

async fn pages_deeper_than_a_million_rows_are_a_422(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, _) = owner_with_organizations(&app, &["Acme"]).await;
    let cases = [
        // The one that dropped the connection (a panic converting the offset).
        ("page=1000000000000000000", 422),
        ("page=18446744073709551615&pageSize=100", 422),
        ("page=100001", 422),
        ("page=10001&pageSize=100", 422),
        ("page=1000001&pageSize=1", 422),
        ("page=10000&pageSize=100", 200),
        ("page=100000", 200),
    ];
    for (query, status) in cases {
        let res = app
            .get_as(&format!("/v1/organizations?{query}"), &ada.token)
            .await;

        assert_eq!(res.status, status, "{query}: {}", res.text);
        if status == 422 {
            assert_eq!(res.error_fields(), ["page"], "{query}");
            assert_eq!(res.body["errors"][0]["code"], "OUT_OF_RANGE", "{query}");
        } else {
            assert_eq!(res.body["items"], Value::Array(vec![]), "{query}");
        }
    }
}

async fn a_search_is_at_most_200_characters(backend: Backend) {
    let app = spawn_app(backend).await;
    let (ada, orgs) = owner_with_organizations(&app, &["Acme"]).await;
    let members = format!("/v1/organizations/{}/members", orgs[0]);
    // `%` and `_` are escaped in the pattern, which doubles its length: the
    // longest search still fits SQLite's limit on a LIKE pattern.
    let longest = "%_".repeat(100);
    let too_long = "a".repeat(201);
    let huge = "x".repeat(60_000);

    let fits = app
        .get_as(
            &format!("{members}?searchQuery={}", encode(&longest)),
            &ada.token,
        )
        .await;
    let refused = app
        .get_as(&format!("{members}?searchQuery={too_long}"), &ada.token)
        .await;
    let refused_huge = app
        .get_as(&format!("/v1/organizations?searchQuery={huge}"), &ada.token)
        .await;

    assert_eq!(fits.status, 200, "{}", fits.text);
    for res in [&refused, &refused_huge] {
        assert_eq!(res.status, 422, "{}", res.text);
        assert_eq!(res.error_fields(), ["searchQuery"]);
        assert_eq!(res.body["errors"][0]["code"], "TOO_LONG");
    }
}

/// Walks `query` by `page=1, 2, ...` until a page says there is no next one;
/// every page's ids.
async fn walk_numbered(app: &TestApp, token: &str, query: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    for page in 1..=50 {
        let url = format!("{query}&page={page}");
        let res = app.get_as(&url, token).await;
        assert_eq!(res.status, 200, "{url}: {}", res.text);
        pages.push(ids(&res));
        if res.body["hasNext"] == false {
            return pages;
        }
    }
    panic!("{query}: more than 50 pages")
}

/// For every sort field, both directions, two page sizes and each search:
/// walking `list` by `page=N` gives the same pages as walking it by cursor,
/// and together they are the whole list (one page of 100) in order. Returns
/// how many items the unsearched walks saw.
async fn numbered_pages_match_cursor_pages(
    app: &TestApp,
    token: &str,
    list: &str,
    fields: &[&str],
    searches: &[&str],
) -> usize {
    let mut seen = 0;
    for field in fields {
        for direction in ["asc", "desc"] {
            for search in std::iter::once("").chain(searches.iter().copied()) {
                let filter = if search.is_empty() {
                    String::new()
                } else {
                    format!("&searchQuery={}", encode(search))
                };
                let order = format!("{list}?sortBy={field}&sortDirection={direction}{filter}");
                let all = app.get_as(&format!("{order}&pageSize=100"), token).await;
                assert_eq!(all.status, 200, "{order}: {}", all.text);
                for size in [2, 3] {
                    let query = format!("{order}&pageSize={size}");
                    let by_cursor = walk(app, token, &query).await;
                    let by_number = walk_numbered(app, token, &query).await;
                    assert_eq!(
                        by_number, by_cursor,
                        "{query}: numbered against cursor pages"
                    );
                    assert_eq!(by_cursor.concat(), ids(&all), "{query}: the whole list");
                }
                if search.is_empty() {
                    seen = ids(&all).len();
                }
            }
        }
    }
    seen
}

/// Gives the rows of `table` keyed `keys` one `created_at` and `updated_at`:
/// ties in the time sorts.
async fn same_times(app: &TestApp, table: &str, keys: Vec<sea_orm::Value>) {
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let at = domain::Clock::now(app.clock.as_ref()) - chrono::TimeDelta::hours(1);
    let count = keys.len() as u64;
    let update = Query::update()
        .table(Alias::new(table))
        .value(Alias::new("created_at"), at)
        .value(Alias::new("updated_at"), at)
        .and_where(Expr::col(Alias::new("id")).is_in(keys))
        .to_owned();
    let result = app.database.conn().execute(&update).await.unwrap();
    assert_eq!(result.rows_affected(), count, "{table}");
}

async fn numbered_member_pages_hold_the_cursor_pages_items(backend: Backend) {
    let app = spawn_app(backend).await;
    let (owner, org) = populated_team(&app).await;
    let base = format!("/v1/organizations/{org}/members");
    let mut added = Vec::new();
    for (email, first, last, role) in [
        ("fay@example.com", "amy", "baker", MemberRole::Member),
        ("gus@example.com", "gus", "baker", MemberRole::Admin),
        ("hal@example.com", "amy", "young", MemberRole::Member),
    ] {
        let user = app.create_user_named(email, first, last).await;
        added.push(app.add_member(&org, &user.user_id, role).await);
    }
    // Ties: three members created at the same instant, two of them with one role.
    let keys = added
        .iter()
        .map(|id| domain::MemberId::parse(id).unwrap().as_uuid().into())
        .collect();
    same_times(&app, "organization_members", keys).await;
    // A member whose account was deleted, and one removed from the team.
    let gone = app
        .create_user_named("gone@example.com", "amy", "baker")
        .await;
    let gone_member = app
        .add_member(&org, &gone.user_id, MemberRole::Member)
        .await;
    assert_eq!(app.delete_as("/v1/me", &gone.token).await.status, 204);
    let left = app
        .create_user_named("left@example.com", "amy", "cole")
        .await;
    let left_member = app
        .add_member(&org, &left.user_id, MemberRole::Member)
        .await;
    let removed = app
        .delete_as(&format!("{base}/{left_member}"), &owner.token)
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text);

    let seen = numbered_pages_match_cursor_pages(
        &app,
        &owner.token,
        &base,
        &["createdAt", "email", "firstName", "lastName", "role"],
        &["amy", "BAKER"],
    )
    .await;

    assert_eq!(seen, 9, "the owner, five, three more; not the deleted two");
    let everyone = app
        .get_as(&format!("{base}?pageSize=100&page=1"), &owner.token)
        .await;
    for gone in [&gone_member, &left_member] {
        assert!(!ids(&everyone).contains(gone), "{gone} is listed");
    }
}

async fn numbered_job_pages_hold_the_cursor_pages_items(backend: Backend) {
    let app = spawn_app(backend).await;
    app.set_plan_caps("free", &[("max_jobs", 100)]).await;
    let (ada, orgs) = owner_with_organizations(&app, &["Acme"]).await;
    let jobs = format!("/v1/organizations/{}/jobs", orgs[0]);
    let next_run = (domain::Clock::now(app.clock.as_ref()) + chrono::TimeDelta::days(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut created = Vec::new();
    for (name, definition, schedule) in [
        (
            "digest",
            "summarise the week",
            json!({"nextRunAt": next_run}),
        ),
        (
            "digest",
            "summarise the day",
            json!({"nextRunAt": next_run}),
        ),
        (
            "alerts",
            "watch the queue",
            json!({"intervalSeconds": 3600}),
        ),
        ("backup", "copy the week", json!({})),
        (
            "digest",
            "summarise the month",
            json!({"nextRunAt": next_run}),
        ),
        (
            "cleanup",
            "delete old rows",
            json!({"intervalSeconds": 600}),
        ),
        ("alerts", "watch the disk", json!({})),
        (
            "report",
            "the week in numbers",
            json!({"nextRunAt": next_run}),
        ),
    ] {
        let mut body = json!({"name": name, "definition": definition});
        body.as_object_mut()
            .unwrap()
            .extend(schedule.as_object().unwrap().clone());
        let res = app.post_as(&jobs, &ada.token, &body).await;
        assert_eq!(res.status, 201, "{}", res.text);
        created.push(res.body["id"].as_str().unwrap().to_owned());
    }
    let keys = [0, 2, 4, 6]
        .iter()
        .map(|&i| domain::JobId::parse(&created[i]).unwrap().as_uuid().into())
        .collect();
    same_times(&app, "jobs", keys).await;
    let deleted = app
        .delete_as(&format!("{jobs}/{}", created[3]), &ada.token)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);

    let seen = numbered_pages_match_cursor_pages(
        &app,
        &ada.token,
        &jobs,
        &["createdAt", "updatedAt", "name", "nextRunAt"],
        &["week"],
    )
    .await;

    assert_eq!(seen, 7, "eight jobs, one deleted");
}

on_both_databases!(
    pages_deeper_than_a_million_rows_are_a_422,
    a_search_is_at_most_200_characters,
    page_edges_are_exact,
    cursors_neither_repeat_nor_skip_rows_when_rows_are_inserted,
    list_parameters_are_validated,
    a_cursor_only_works_for_the_order_it_was_made_for,
    every_member_sort_field_orders_both_ways_in_pages_and_cursors,
    search_is_literal_and_case_insensitive,
    numbered_member_pages_hold_the_cursor_pages_items,
    numbered_job_pages_hold_the_cursor_pages_items,
);
