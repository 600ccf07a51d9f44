//! Lists: page edges, keyset cursors, sorting, validation of list parameters and
//! literal search, through the organization and member lists.

use std::fmt::Write as _;

use domain::{Cursor, MemberRole};
use groundwork_tests::Backend;
use groundwork_tests::app::{SignedUp, TestApp, TestResponse, spawn_app};
use groundwork_tests::on_both_databases;
use serde_json::Value;

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

on_both_databases!(
    pages_deeper_than_a_million_rows_are_a_422,
    a_search_is_at_most_200_characters,
    page_edges_are_exact,
    cursors_neither_repeat_nor_skip_rows_when_rows_are_inserted,
    list_parameters_are_validated,
    a_cursor_only_works_for_the_order_it_was_made_for,
    every_member_sort_field_orders_both_ways_in_pages_and_cursors,
    search_is_literal_and_case_insensitive,
);
