//! `/v1/organizations/{orgId}/jobs`: jobs and their schedules (member reads,
//! admin+ writes), soft delete and restore, the plan's `max_jobs`, and a job's
//! messages.

use groundwork_tests::Backend;
use groundwork_tests::app::{TestApp, spawn_app, spawn_app_with_free_plan};
use groundwork_tests::on_both_databases;
use serde_json::{Value, json};

async fn owner_and_org(app: &TestApp) -> (String, String) {
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    (ada.token, org)
}

async fn create_job(app: &TestApp, token: &str, org: &str, body: Value) -> Value {
    let res = app
        .post_as(&format!("/v1/organizations/{org}/jobs"), token, &body)
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body
}

async fn a_job_is_created_paused_read_changed_deleted_and_restored(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let jobs = format!("/v1/organizations/{org}/jobs");

    let created = app
        .post_as(
            &jobs,
            &token,
            &json!({"name": " Digest ", "definition": "Summarise the week", "intervalSeconds": 3600}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let job = &created.body;
    let id = job["id"].as_str().unwrap();
    assert!(id.starts_with("job_"));
    assert_eq!(
        created.headers.get("location").map(String::as_str),
        Some(format!("{jobs}/{id}").as_str())
    );
    assert_eq!(job["name"], "Digest");
    assert_eq!(job["status"], "paused");
    assert_eq!(job["intervalSeconds"], 3600);
    assert_eq!(job["maxAttempts"], 3);
    assert_eq!(job["timezone"], "UTC");
    assert_eq!(job["locked"], false);
    assert_eq!(job["tokensUsed"], 0);
    assert!(job["createdBy"].as_str().unwrap().starts_with("usr_"));
    assert!(job["nextRunAt"].is_string());

    let read = app.get_as(&format!("{jobs}/{id}"), &token).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["definition"], "Summarise the week");

    let patched = app
        .patch_as(
            &format!("{jobs}/{id}"),
            &token,
            &json!({"cron": "0 9 * * MON", "timezone": "Europe/Paris", "status": "active"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["cron"], "0 9 * * MON");
    assert_eq!(patched.body["intervalSeconds"], Value::Null);
    assert_eq!(patched.body["status"], "active");
    let next: chrono::DateTime<chrono::Utc> =
        patched.body["nextRunAt"].as_str().unwrap().parse().unwrap();
    // 09:00 in Paris is 07:00 or 08:00 UTC, on a Monday.
    assert_eq!(chrono::Datelike::weekday(&next), chrono::Weekday::Mon);
    assert!([7, 8].contains(&chrono::Timelike::hour(&next)), "{next}");

    assert_eq!(
        app.delete_as(&format!("{jobs}/{id}"), &token).await.status,
        204
    );
    assert_eq!(
        app.get_as(&format!("{jobs}/{id}"), &token).await.status,
        404
    );
    let listed = app.get_as(&jobs, &token).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 0);
    let restored = app
        .post_as(&format!("{jobs}/{id}/restore"), &token, &json!({}))
        .await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(
        app.get_as(&format!("{jobs}/{id}"), &token).await.status,
        200
    );
    assert_eq!(
        app.post_as(&format!("{jobs}/{id}/restore"), &token, &json!({}))
            .await
            .status,
        404
    );

    let audit = app
        .get_as(
            &format!("/v1/organizations/{org}/audit-logs?entityType=job"),
            &token,
        )
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["job.restored", "job.deleted", "job.updated", "job.created"]
    );
}

async fn bad_jobs_are_422_with_every_broken_rule(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let jobs = format!("/v1/organizations/{org}/jobs");
    for (body, field, code) in [
        (json!({"definition": "x"}), "name", "REQUIRED"),
        (json!({"name": "  ", "definition": "x"}), "name", "REQUIRED"),
        (
            json!({"name": "x".repeat(201), "definition": "x"}),
            "name",
            "TOO_LONG",
        ),
        (
            json!({"name": "n", "definition": "x".repeat(10_001)}),
            "definition",
            "TOO_LONG",
        ),
        (
            json!({"name": "n", "definition": "x", "intervalSeconds": 59}),
            "intervalSeconds",
            "OUT_OF_RANGE",
        ),
        (
            json!({"name": "n", "definition": "x", "cron": "61 * * * *"}),
            "cron",
            "INVALID_CRON",
        ),
        (
            json!({"name": "n", "definition": "x", "cron": "0 0 9 * * *"}),
            "cron",
            "INVALID_CRON",
        ),
        (
            json!({"name": "n", "definition": "x", "cron": "0 9 * * *", "timezone": "Mars/Base"}),
            "timezone",
            "INVALID_TIMEZONE",
        ),
        (
            json!({"name": "n", "definition": "x", "cron": "0 9 * * *", "intervalSeconds": 60}),
            "cron",
            "CONFLICTING_SCHEDULE",
        ),
        (
            json!({"name": "n", "definition": "x", "maxAttempts": 26}),
            "maxAttempts",
            "OUT_OF_RANGE",
        ),
        (
            json!({"name": "n", "definition": "x", "status": "running"}),
            "status",
            "INVALID_VALUE",
        ),
        (
            json!({"name": "n", "definition": "x", "nextRunAt": "tomorrow"}),
            "nextRunAt",
            "INVALID_FORMAT",
        ),
        (
            json!({"name": "n", "definition": "x", "endpointId": "job_nope"}),
            "endpointId",
            "INVALID_ID",
        ),
    ] {
        let res = app.post_as(&jobs, &token, &body).await;
        assert_eq!(res.status, 422, "{body}: {}", res.text);
        let errors = res.body["errors"].as_array().unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e["field"] == field && e["code"] == code),
            "{body}: expected {field} {code}, got {}",
            res.text
        );
    }
    let res = app.get_as(&format!("{jobs}?status=running"), &token).await;
    assert_eq!(res.status, 422, "{}", res.text);
}

async fn members_read_jobs_admins_write_them_and_other_tenants_see_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let jobs = format!("/v1/organizations/{org}/jobs");
    let job = create_job(&app, &token, &org, json!({"name": "n", "definition": "d"})).await;
    let id = job["id"].as_str().unwrap();
    let bob = app.create_user("bob@example.com").await;
    app.add_member(&org, &bob.user_id, domain::MemberRole::Member)
        .await;
    let eve = app.create_user("eve@example.com").await;

    assert_eq!(
        app.get_as(&format!("{jobs}/{id}"), &bob.token).await.status,
        200
    );
    assert_eq!(app.get_as(&jobs, &bob.token).await.status, 200);
    let refused = app
        .post_as(&jobs, &bob.token, &json!({"name": "n", "definition": "d"}))
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.code(), "INSUFFICIENT_ROLE");
    assert_eq!(
        app.patch_as(&format!("{jobs}/{id}"), &bob.token, &json!({"name": "m"}))
            .await
            .status,
        403
    );
    assert_eq!(
        app.delete_as(&format!("{jobs}/{id}"), &bob.token)
            .await
            .status,
        403
    );
    for res in [
        app.get_as(&format!("{jobs}/{id}"), &eve.token).await,
        app.get_as(&jobs, &eve.token).await,
        app.delete_as(&format!("{jobs}/{id}"), &eve.token).await,
    ] {
        assert_eq!(res.status, 404, "{}", res.text);
        assert_eq!(res.code(), "ORGANIZATION_NOT_FOUND");
    }
    let res = app
        .get_as(&format!("{jobs}/job_01JD6Z3Q9V7X2M4N8P0R5T1W3Y"), &token)
        .await;
    assert_eq!(res.code(), "JOB_NOT_FOUND");
}

async fn lists_filter_by_status_sort_by_next_run_and_search(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let jobs = format!("/v1/organizations/{org}/jobs");
    for (name, status, at) in [
        ("later", "active", "2030-01-01T00:00:00Z"),
        ("sooner", "active", "2029-01-01T00:00:00Z"),
        ("kept", "paused", "2031-01-01T00:00:00Z"),
    ] {
        create_job(
            &app,
            &token,
            &org,
            json!({"name": name, "definition": format!("{name} work"), "status": status, "nextRunAt": at}),
        )
        .await;
    }
    let names = |res: &groundwork_tests::app::TestResponse| -> Vec<String> {
        res.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let res = app
        .get_as(
            &format!("{jobs}?status=active&sortBy=nextRunAt&sortDirection=asc"),
            &token,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(names(&res), ["sooner", "later"]);
    let first = app
        .get_as(
            &format!("{jobs}?sortBy=nextRunAt&sortDirection=asc&pageSize=2"),
            &token,
        )
        .await;
    assert_eq!(names(&first), ["sooner", "later"]);
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let next = app
        .get_as(
            &format!("{jobs}?sortBy=nextRunAt&sortDirection=asc&pageSize=2&cursor={cursor}"),
            &token,
        )
        .await;
    assert_eq!(next.status, 200, "{}", next.text);
    assert_eq!(names(&next), ["kept"]);
    let found = app
        .get_as(&format!("{jobs}?searchQuery=SOONER%20W"), &token)
        .await;
    assert_eq!(names(&found), ["sooner"]);
}

async fn the_plan_caps_jobs_even_under_concurrent_creates(backend: Backend) {
    let app = spawn_app_with_free_plan(backend, &[("max_jobs", 2)]).await;
    let (token, org) = owner_and_org(&app).await;
    let jobs = format!("/v1/organizations/{org}/jobs");
    let body = json!({"name": "n", "definition": "d"});
    let results =
        futures_util::future::join_all((0..6).map(|_| app.post_as(&jobs, &token, &body))).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    let refused: Vec<_> = results.iter().filter(|r| r.status == 403).collect();
    assert_eq!(
        created,
        2,
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert_eq!(refused.len(), 4);
    assert!(refused.iter().all(|r| r.code() == "PLAN_LIMIT_REACHED"));
    // An archived job does not count: one more fits, and leaving archived is checked.
    let list = app.get_as(&jobs, &token).await;
    let first = list.body["items"][0]["id"].as_str().unwrap().to_owned();
    let archived = app
        .patch_as(
            &format!("{jobs}/{first}"),
            &token,
            &json!({"status": "archived"}),
        )
        .await;
    assert_eq!(archived.status, 200);
    assert_eq!(app.post_as(&jobs, &token, &body).await.status, 201);
    let back = app
        .patch_as(
            &format!("{jobs}/{first}"),
            &token,
            &json!({"status": "paused"}),
        )
        .await;
    assert_eq!(back.status, 403, "{}", back.text);
}

async fn messages_are_listed_oldest_first_and_belong_to_their_job(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, org) = owner_and_org(&app).await;
    let job = create_job(&app, &token, &org, json!({"name": "n", "definition": "d"})).await;
    let other = create_job(&app, &token, &org, json!({"name": "o", "definition": "d"})).await;
    let messages = format!(
        "/v1/organizations/{org}/jobs/{}/messages",
        job["id"].as_str().unwrap()
    );
    for (role, content) in [
        ("system", "be brief"),
        ("user", "hello"),
        ("assistant", "hi"),
    ] {
        let res = app
            .post_as(
                &messages,
                &token,
                &json!({"role": role, "content": content, "metadata": {"n": 1}}),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
        assert!(res.body["id"].as_str().unwrap().starts_with("msg_"));
    }
    let list = app.get_as(&messages, &token).await;
    let contents: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["be brief", "hello", "hi"]);
    let desc = app
        .get_as(&format!("{messages}?sortDirection=desc"), &token)
        .await;
    assert_eq!(desc.body["items"][0]["content"], "hi");
    for (body, field, code) in [
        (
            json!({"role": "robot", "content": "x"}),
            "role",
            "INVALID_VALUE",
        ),
        (json!({"role": "user"}), "content", "REQUIRED"),
        (
            json!({"role": "user", "content": "x", "metadata": [1]}),
            "metadata",
            "INVALID_TYPE",
        ),
        (
            json!({"role": "user", "content": "x", "metadata": {"k": "v".repeat(17 * 1024)}}),
            "metadata",
            "TOO_LARGE",
        ),
        (
            json!({"role": "user", "content": "x", "taskId": "tsk_01JD6Z3Q9V7X2M4N8P0R5T1W3Y"}),
            "taskId",
            "TASK_NOT_FOUND",
        ),
    ] {
        let res = app.post_as(&messages, &token, &body).await;
        assert_eq!(res.status, 422, "{body}: {}", res.text);
        assert!(
            res.body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field && e["code"] == code),
            "{body}: {}",
            res.text
        );
    }
    let elsewhere = format!(
        "/v1/organizations/{org}/jobs/{}/messages",
        other["id"].as_str().unwrap()
    );
    assert_eq!(
        app.get_as(&elsewhere, &token).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

on_both_databases!(
    a_job_is_created_paused_read_changed_deleted_and_restored,
    bad_jobs_are_422_with_every_broken_rule,
    members_read_jobs_admins_write_them_and_other_tenants_see_nothing,
    lists_filter_by_status_sort_by_next_run_and_search,
    the_plan_caps_jobs_even_under_concurrent_creates,
    messages_are_listed_oldest_first_and_belong_to_their_job,
);
