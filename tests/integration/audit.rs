//! The audit trail: every mutation writes its row in the same transaction,
//! with actor, changes (never secrets), address and request id; it is
//! append-only; `GET .../audit-logs` filters and pages it.

use groundwork_tests::app::{TestApp, spawn_app};
use groundwork_tests::faults::{allow_writes, fail_inserts_into};
use groundwork_tests::{Backend, on_both_databases};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

async fn rows(app: &TestApp) -> Vec<Value> {
    use sea_orm::{EntityTrait, QueryOrder};
    infra::entities::audit_logs::Entity::find()
        .order_by_asc(infra::entities::audit_logs::Column::Id)
        .all(app.database.conn())
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            json!({
                "org": r.organization_id.is_some(),
                "actorType": r.actor_type,
                "action": r.action,
                "entityType": r.entity_type,
                "entityId": r.entity_id,
                "changes": r.changes,
                "ip": r.ip,
                "requestId": r.request_id,
            })
        })
        .collect()
}

fn actions(log: &Value) -> Vec<String> {
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn sign_up_and_sign_ins_are_recorded_without_secrets(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let ada = app.sign_up("ada@example.com").await;
    let sign_in = |password: &'static str| {
        let app = &app;
        async move {
            app.post_json(
                "/v1/auth/sign-in",
                &json!({"email": "ada@example.com", "password": password}),
            )
            .await
        }
    };

    // Act
    let ok = sign_in("correct horse battery").await;
    let wrong = sign_in("wrong horse battery").await;
    let unknown = app
        .post_json(
            "/v1/auth/sign-in",
            &json!({"email": "nobody@example.com", "password": "whatever123"}),
        )
        .await;
    let signed_out = app
        .post_as("/v1/auth/sign-out", &ada.token, &json!({}))
        .await;

    // Assert
    assert_eq!((ok.status, wrong.status, unknown.status), (200, 401, 401));
    assert_eq!(signed_out.status, 204);
    let rows = rows(&app).await;
    let summary: Vec<(String, String, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_owned(),
                r["actorType"].as_str().unwrap().to_owned(),
                r["entityId"].is_string(),
            )
        })
        .collect();
    let expected = [
        ("user.signed_up", "user", true),
        ("user.signed_in", "user", true),
        ("user.sign_in_failed", "anonymous", true),
        ("user.sign_in_failed", "anonymous", false),
        ("session.revoked", "user", true),
    ];
    assert_eq!(
        summary,
        expected.map(|(a, t, e)| (a.to_owned(), t.to_owned(), e))
    );
    assert!(
        rows.iter()
            .all(|r| r["ip"] == "127.0.0.1" && r["requestId"].is_string())
    );
    assert!(rows.iter().all(|r| r["org"] == false));
    assert_eq!(
        rows[0]["changes"]["email"],
        json!([null, "ada@example.com"])
    );
    let text = serde_json::to_string(&rows).unwrap();
    for secret in ["correct horse", "argon2", &ada.token] {
        assert!(!text.contains(secret), "the trail holds {secret}");
    }
}

async fn organization_changes_are_recorded_filtered_and_paged(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let mo = app.create_user("mo@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    let member = app
        .add_member(&org, &mo.user_id, domain::MemberRole::Member)
        .await;
    let base = format!("/v1/organizations/{org}");
    app.patch_as(
        &base,
        &ada.token,
        &json!({"name": "Acme Inc", "slug": "acme"}),
    )
    .await;
    app.patch_as(
        &format!("{base}/members/{member}"),
        &ada.token,
        &json!({"role": "admin"}),
    )
    .await;
    let invited = app
        .post_as(
            &format!("{base}/invitations"),
            &ada.token,
            &json!({"email": "grace@example.com", "role": "member"}),
        )
        .await;
    let invitation = invited.body["id"].as_str().unwrap();
    app.delete_as(&format!("{base}/invitations/{invitation}"), &ada.token)
        .await;
    app.delete_as(&format!("{base}/members/{member}"), &ada.token)
        .await;

    // Act
    let all = app.get_as(&format!("{base}/audit-logs"), &ada.token).await;
    let updated = app
        .get_as(
            &format!("{base}/audit-logs?action=organization.updated"),
            &ada.token,
        )
        .await;
    let of_member = app
        .get_as(
            &format!("{base}/audit-logs?entityType=member&entityId={member}"),
            &ada.token,
        )
        .await;
    let first = app
        .get_as(&format!("{base}/audit-logs?pageSize=3"), &ada.token)
        .await;
    let cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
    let second = app
        .get_as(
            &format!("{base}/audit-logs?pageSize=3&cursor={cursor}"),
            &ada.token,
        )
        .await;
    let bad = app
        .get_as(
            &format!("{base}/audit-logs?action=organization.exploded&entityType=planet"),
            &ada.token,
        )
        .await;

    // Assert
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(
        actions(&all.body),
        [
            "member.removed",
            "invitation.revoked",
            "invitation.created",
            "member.updated",
            "organization.updated",
            "member.updated",
            "organization.created",
        ]
    );
    let change = &updated.body["items"][0];
    assert_eq!(
        change["changes"],
        json!({"name": ["Acme", "Acme Inc"]}),
        "unchanged slug omitted"
    );
    assert_eq!(change["actorType"], "user");
    assert_eq!(change["actorId"], ada.user_id.as_str());
    assert_eq!(change["entityId"], org.as_str());
    assert_eq!(
        actions(&of_member.body),
        ["member.removed", "member.updated"]
    );
    assert_eq!(
        of_member.body["items"][1]["changes"],
        json!({"role": ["member", "admin"]})
    );
    let mut paged = actions(&first.body);
    paged.extend(actions(&second.body));
    assert_eq!(paged, actions(&all.body)[..6]);
    assert_eq!(bad.status, 422);
    assert_eq!(bad.error_fields(), ["action", "entityType"]);
}

async fn the_row_commits_with_the_change_or_neither_does(backend: Backend) {
    // Arrange
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    fail_inserts_into(&app.database, "audit_logs").await;

    // Act
    let failed = app
        .patch_as(
            &format!("/v1/organizations/{org}"),
            &ada.token,
            &json!({"name": "Lost"}),
        )
        .await;
    allow_writes(&app.database, "audit_logs").await;
    let after = app
        .get_as(&format!("/v1/organizations/{org}"), &ada.token)
        .await;

    // Assert
    assert_eq!(failed.status, 500);
    assert_eq!(
        after.body["name"], "Acme",
        "the change rolled back with its audit row"
    );
}

async fn members_cannot_read_the_trail(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app.create_user("ada@example.com").await;
    let mo = app.create_user("mo@example.com").await;
    let org = app.create_organization(&ada.token, "Acme").await;
    app.add_member(&org, &mo.user_id, domain::MemberRole::Member)
        .await;
    let res = app
        .get_as(&format!("/v1/organizations/{org}/audit-logs"), &mo.token)
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.code(), "INSUFFICIENT_ROLE");
}

on_both_databases!(
    sign_up_and_sign_ins_are_recorded_without_secrets,
    organization_changes_are_recorded_filtered_and_paged,
    the_row_commits_with_the_change_or_neither_does,
    members_cannot_read_the_trail,
);

#[actix_web::test]
async fn postgres_refuses_to_update_delete_or_truncate_the_trail() {
    // Arrange
    let app = spawn_app(Backend::Postgres).await;
    app.sign_up("ada@example.com").await;
    let conn = app.database.conn();

    // Act + Assert
    for sql in [
        "UPDATE audit_logs SET action = 'user.deleted'",
        "DELETE FROM audit_logs",
        "TRUNCATE audit_logs",
    ] {
        let err = conn
            .execute_raw(Statement::from_string(conn.get_database_backend(), sql))
            .await
            .expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(rows(&app).await.len(), 1);
}
