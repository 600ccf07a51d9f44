//! The permission matrix (`domain::access`), walked over HTTP: every
//! organization route for every way of acting in an organization; and
//! isolation: every organization route as an outsider, by session and by key,
//! is 404, as is an ID of the wrong kind in a path.

use awc::http::Method;
use domain::MemberRole;
use domain::access::{AccessRole, Operation, Permission, permission};
use groundwork_tests::Backend;
use groundwork_tests::app::{TestApp, spawn_app_with_free_plan};
use groundwork_tests::on_both_databases;
use serde_json::{Value, json};

/// Room for every fixture's keys and invitations on the free plan.
const ROOMY_PLANS: &[(&str, i64)] = &[("max_members", 50), ("max_api_keys", 50)];

/// An organization with one actor of each kind and a target of each kind.
struct Fixture {
    org: String,
    owner: String,
    admin: String,
    member: String,
    admin_key: String,
    member_key: String,
    /// A plain member to change or remove.
    target_member: String,
    /// A pending invitation to revoke.
    invitation: String,
    /// A key to revoke.
    target_key: String,
    /// An active job, claimed: its lease token and task.
    job: String,
    lease: String,
    task: String,
    /// A deleted job to restore.
    deleted_job: String,
    /// An endpoint to read, change or delete.
    endpoint: String,
    /// A context entry's key, to read, write and delete.
    context_key: String,
    /// A GitHub installation linked to the organization (GitHub's numeric id).
    installation: String,
    /// A webhook, and an attempt in its delivery log to replay.
    webhook: String,
    delivery: String,
}

async fn fixture(app: &TestApp, n: usize) -> Fixture {
    let owner = app.create_user(&format!("owner{n}@example.com")).await;
    let admin = app.create_user(&format!("admin{n}@example.com")).await;
    let member = app.create_user(&format!("member{n}@example.com")).await;
    let target = app.create_user(&format!("target{n}@example.com")).await;
    let org = app
        .create_organization(&owner.token, &format!("Org {n}"))
        .await;
    app.add_member(&org, &admin.user_id, MemberRole::Admin)
        .await;
    app.add_member(&org, &member.user_id, MemberRole::Member)
        .await;
    let target_member = app
        .add_member(&org, &target.user_id, MemberRole::Member)
        .await;
    let (_, admin_key) = app.create_api_key(&owner.token, &org, "admin").await;
    let (_, member_key) = app.create_api_key(&owner.token, &org, "member").await;
    let (target_key, _) = app.create_api_key(&owner.token, &org, "member").await;
    let invited = app
        .post_as(
            &format!("/v1/organizations/{org}/invitations"),
            &owner.token,
            &json!({"email": format!("invitee{n}@example.com"), "role": "member"}),
        )
        .await;
    assert_eq!(invited.status, 201, "{}", invited.text);
    let jobs = format!("/v1/organizations/{org}/jobs");
    let job = app
        .post_as(
            &jobs,
            &owner.token,
            &json!({"name": "j", "definition": "d", "status": "active"}),
        )
        .await;
    assert_eq!(job.status, 201, "{}", job.text);
    let claimed = app
        .post_as(
            &format!("{jobs}/claim"),
            &owner.token,
            &json!({"worker": "w"}),
        )
        .await;
    assert_eq!(claimed.status, 200, "{}", claimed.text);
    let run = &claimed.body["items"][0];
    let gone = app
        .post_as(
            &jobs,
            &owner.token,
            &json!({"name": "gone", "definition": "d"}),
        )
        .await;
    let deleted_job = gone.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.delete_as(&format!("{jobs}/{deleted_job}"), &owner.token)
            .await
            .status,
        204
    );
    let endpoint = app
        .post_as(
            &format!("/v1/organizations/{org}/endpoints"),
            &owner.token,
            &json!({"name": "Hook", "url": "https://example.com/hook", "secret": "fixture-secret-0001"}),
        )
        .await;
    assert_eq!(endpoint.status, 201, "{}", endpoint.text);
    let webhook = app
        .post_as(
            &format!("/v1/organizations/{org}/webhooks"),
            &owner.token,
            &json!({"url": "https://example.com/events", "events": ["task.*"]}),
        )
        .await;
    assert_eq!(webhook.status, 201, "{}", webhook.text);
    let webhook = webhook.body["id"].as_str().unwrap().to_owned();
    let delivery = logged_delivery(app, &org, &webhook).await;
    let context_key = "app.settings".to_owned();
    let context = app
        .request(
            Method::PUT,
            &format!("/v1/organizations/{org}/context/{context_key}"),
            Some(&owner.token),
            Some(&json!({"value": {"theme": "dark"}})),
        )
        .await;
    assert_eq!(context.status, 201, "{}", context.text);
    // GitHub ids are global: one installation per fixture.
    let installation = (7_000_000_000_u64 + n as u64).to_string();
    let link = app
        .post_as(
            &format!("/v1/organizations/{org}/github/install-links"),
            &owner.token,
            &json!({}),
        )
        .await;
    assert_eq!(link.status, 200, "{}", link.text);
    let url = link.body["url"].as_str().unwrap();
    let state = url.split_once("state=").unwrap().1;
    let linked = app
        .get(&format!(
            "/v1/integrations/github/setup?installation_id={installation}&state={state}"
        ))
        .await;
    assert_eq!(linked.status, 200, "{}", linked.text);
    Fixture {
        installation,
        job: job.body["id"].as_str().unwrap().to_owned(),
        lease: run["lease"]["token"].as_str().unwrap().to_owned(),
        task: run["task"]["id"].as_str().unwrap().to_owned(),
        deleted_job,
        endpoint: endpoint.body["id"].as_str().unwrap().to_owned(),
        context_key,
        webhook,
        delivery,
        invitation: invited.body["id"].as_str().unwrap().to_owned(),
        org,
        owner: owner.token,
        admin: admin.token,
        member: member.token,
        admin_key,
        member_key,
        target_member,
        target_key,
    }
}

/// An attempt in `webhook`'s log, arranged directly (no worker runs here).
async fn logged_delivery(app: &TestApp, org: &str, webhook: &str) -> String {
    use sea_orm::{ActiveModelTrait, Set};
    let id = domain::DeliveryId::new();
    let now = domain::Clock::now(app.clock.as_ref());
    infra::entities::webhook_deliveries::ActiveModel {
        id: Set(id.as_uuid()),
        webhook_id: Set(domain::WebhookId::parse(webhook).unwrap().as_uuid()),
        organization_id: Set(domain::OrganizationId::parse(org).unwrap().as_uuid()),
        event_id: Set(domain::EventId::new().as_uuid()),
        event_type: Set("task.failed".to_owned()),
        attempt: Set(1),
        status: Set("failed".to_owned()),
        response_code: Set(Some(500)),
        latency_ms: Set(12),
        response_body: Set(None),
        error_class: Set(Some("http_status".to_owned())),
        error: Set(None),
        payload: Set(json!({"type": "task.failed", "timestamp": now, "data": {}})),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(app.database.conn())
    .await
    .unwrap();
    id.to_string()
}

impl Fixture {
    fn token(&self, role: AccessRole) -> &str {
        match role {
            AccessRole::Owner => &self.owner,
            AccessRole::Admin => &self.admin,
            AccessRole::Member => &self.member,
            AccessRole::AdminKey => &self.admin_key,
            AccessRole::MemberKey => &self.member_key,
        }
    }

    /// The operation's request against `org`: method, path and body.
    fn request(&self, operation: Operation, org: &str) -> (Method, String, Option<Value>) {
        let (method, template) = matrix_route(operation);
        let path = template
            .replace("{orgId}", org)
            .replace("{memberId}", &self.target_member)
            .replace("{invitationId}", &self.invitation)
            .replace("{keyId}", &self.target_key)
            .replace(
                "{jobId}",
                if operation == Operation::RestoreJob {
                    &self.deleted_job
                } else {
                    &self.job
                },
            )
            .replace("{taskId}", &self.task)
            .replace("{endpointId}", &self.endpoint)
            .replace("{key}", &self.context_key)
            .replace("{installationId}", &self.installation)
            .replace("{webhookId}", &self.webhook)
            .replace("{deliveryId}", &self.delivery);
        let path = match operation {
            Operation::ReadUsageSummary => format!("{path}?metric=tokens"),
            _ => path,
        };
        let body = match operation {
            Operation::UpdateOrganization => Some(json!({"name": "Renamed"})),
            Operation::UpdateMember => Some(json!({"role": "admin"})),
            Operation::CreateInvitation => {
                Some(json!({"email": "new@example.com", "role": "member"}))
            }
            Operation::CreateApiKey => Some(json!({"name": "new", "role": "member"})),
            Operation::RestoreOrganization | Operation::RestoreJob | Operation::RunJobNow => {
                Some(json!({}))
            }
            Operation::CreateJob => Some(json!({"name": "new", "definition": "d"})),
            Operation::UpdateJob => Some(json!({"name": "Renamed"})),
            Operation::ClaimJobs => Some(json!({"worker": "w"})),
            Operation::HeartbeatJob => Some(json!({"leaseToken": self.lease})),
            Operation::CompleteJob => {
                Some(json!({"leaseToken": self.lease, "outcome": "succeeded"}))
            }
            Operation::CreateMessage => Some(json!({"role": "user", "content": "hi"})),
            Operation::CreateEndpoint => {
                Some(json!({"name": "New hook", "url": "https://example.com/new"}))
            }
            Operation::UpdateEndpoint => Some(json!({"name": "Renamed hook"})),
            Operation::SetContextEntry => Some(json!({"value": {"theme": "light"}})),
            Operation::RecordUsage => {
                Some(json!({"metric": "api_calls", "quantity": 1, "idempotencyKey": "k1"}))
            }
            Operation::CreateWebhook => {
                Some(json!({"url": "https://example.com/new-events", "events": ["organization.*"]}))
            }
            Operation::UpdateWebhook => Some(json!({"description": "Renamed"})),
            Operation::RotateWebhookSecret
            | Operation::ReplayWebhookDelivery
            | Operation::TestWebhook => Some(json!({})),
            _ => None,
        };
        (method, path, body)
    }
}

/// The route the matrix's tests send `operation` to: its method and its path
/// as a template (`/v1/organizations/{orgId}/members/{memberId}`). The route
/// registry (`routes.rs`) checks every organization route is one of these.
pub(crate) fn matrix_route(operation: Operation) -> (Method, String) {
    let (method, template) = operation.route();
    let method = method
        .parse()
        .unwrap_or_else(|_| panic!("{operation:?} has no HTTP method: {method}"));
    (method, format!("/v1/organizations/{{orgId}}{template}"))
}

/// What an allowed operation answers.
fn success(operation: Operation) -> u16 {
    match operation {
        Operation::DeleteOrganization
        | Operation::RemoveMember
        | Operation::RevokeInvitation
        | Operation::RevokeApiKey
        | Operation::DeleteJob
        | Operation::DeleteEndpoint
        | Operation::DeleteContextEntry
        | Operation::UnlinkGithubInstallation
        | Operation::DeleteWebhook => 204,
        Operation::CreateInvitation
        | Operation::CreateApiKey
        | Operation::CreateJob
        | Operation::CreateMessage
        | Operation::CreateEndpoint
        | Operation::RecordUsage
        | Operation::CreateWebhook => 201,
        Operation::ReplayWebhookDelivery | Operation::TestWebhook => 202,
        _ => 200,
    }
}

async fn every_cell_of_the_permission_matrix_holds(backend: Backend) {
    let app = spawn_app_with_free_plan(backend, ROOMY_PLANS).await;
    let mut n = 0;
    let mut failures = Vec::new();
    for operation in Operation::ALL {
        for role in AccessRole::ALL {
            // Arrange: a fresh organization per cell, since cells change state.
            n += 1;
            let f = fixture(&app, n).await;
            if operation == Operation::RestoreOrganization {
                let deleted = app
                    .delete_as(&format!("/v1/organizations/{}", f.org), &f.owner)
                    .await;
                assert_eq!(deleted.status, 204);
            }
            let (method, path, body) = f.request(operation, &f.org);

            // Act
            let res = app
                .request(method.clone(), &path, Some(f.token(role)), body.as_ref())
                .await;

            // Assert
            let expected = match permission(role, operation) {
                Permission::Allowed => success(operation),
                // Deleting an organization revoked its keys.
                _ if operation == Operation::RestoreOrganization && role.is_key() => 401,
                // OwnOnly: the target is someone else's membership.
                Permission::OwnOnly | Permission::Denied => 403,
            };
            if res.status != expected {
                failures.push(format!(
                    "{operation:?} as {}: {method} {path} -> {} (expected {expected}): {}",
                    role.label(),
                    res.status,
                    res.text
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn a_member_may_remove_their_own_membership(backend: Backend) {
    let app = spawn_app_with_free_plan(backend, ROOMY_PLANS).await;
    let f = fixture(&app, 1).await;
    let list = app
        .get_as(
            &format!("/v1/organizations/{}/members?searchQuery=member1@", f.org),
            &f.member,
        )
        .await;
    let own = list.body["items"][0]["id"].as_str().unwrap();
    let res = app
        .delete_as(
            &format!("/v1/organizations/{}/members/{own}", f.org),
            &f.member,
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.text);
}

async fn every_organization_route_is_404_to_outsiders(backend: Backend) {
    // Arrange: two organizations; the outsiders belong to the second.
    let app = spawn_app_with_free_plan(backend, ROOMY_PLANS).await;
    let ours = fixture(&app, 1).await;
    let theirs = fixture(&app, 2).await;
    let outsiders = [
        ("owner of another organization", theirs.owner.as_str()),
        (
            "admin key of another organization",
            theirs.admin_key.as_str(),
        ),
        (
            "member key of another organization",
            theirs.member_key.as_str(),
        ),
    ];
    let mut failures = Vec::new();
    for operation in Operation::ALL {
        for (who, token) in outsiders {
            let (method, path, body) = ours.request(operation, &ours.org);

            // Act
            let res = app
                .request(method.clone(), &path, Some(token), body.as_ref())
                .await;

            // Assert
            if res.status != 404 || res.code() != "ORGANIZATION_NOT_FOUND" {
                failures.push(format!(
                    "{who}: {method} {path} -> {}: {}",
                    res.status, res.text
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nothing of ours changed.
    let org = app
        .get_as(&format!("/v1/organizations/{}", ours.org), &ours.owner)
        .await;
    assert_eq!(org.body["name"], "Org 1");
}

async fn an_id_of_the_wrong_kind_in_a_path_is_404(backend: Backend) {
    // Arrange
    let app = spawn_app_with_free_plan(backend, ROOMY_PLANS).await;
    let f = fixture(&app, 1).await;
    let user = app.create_user("someone@example.com").await;
    let mut failures = Vec::new();
    for operation in Operation::ALL {
        for wrong in [user.user_id.as_str(), "org_not-a-ulid", "42"] {
            // Act: the wrong ID where the organization's belongs...
            let (method, path, body) = f.request(operation, wrong);
            let res = app
                .request(method.clone(), &path, Some(&f.owner), body.as_ref())
                .await;
            if res.status != 404 {
                failures.push(format!("{method} {path} -> {}: {}", res.status, res.text));
            }
            // ...and where a member's, invitation's or key's belongs (a context
            // entry is named by its key, no ID: `context.rs` covers malformed keys).
            let (_, template) = operation.route();
            if template.contains('{') {
                let (method, path, body) = f.request(operation, &f.org);
                let with_id = path.clone();
                let path = path
                    .replace(&f.target_member, wrong)
                    .replace(&f.invitation, wrong)
                    .replace(&f.target_key, wrong)
                    .replace(&f.job, wrong)
                    .replace(&f.deleted_job, wrong)
                    .replace(&f.task, wrong)
                    .replace(&f.endpoint, wrong)
                    .replace(&f.installation, wrong)
                    .replace(&f.webhook, wrong)
                    .replace(&f.delivery, wrong);
                if path == with_id {
                    continue;
                }
                let res = app
                    .request(method.clone(), &path, Some(&f.owner), body.as_ref())
                    .await;
                if res.status != 404 {
                    failures.push(format!("{method} {path} -> {}: {}", res.status, res.text));
                }
            }
        }
    }
    // Assert
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_readme_prints_the_matrix_as_the_code_defines_it() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let table = domain::access::matrix_markdown();
    assert!(
        readme.contains(&table),
        "the README's permission matrix differs from domain::access; paste this:\n{table}"
    );
}

on_both_databases!(
    every_cell_of_the_permission_matrix_holds,
    a_member_may_remove_their_own_membership,
    every_organization_route_is_404_to_outsiders,
    an_id_of_the_wrong_kind_in_a_path_is_404,
);
