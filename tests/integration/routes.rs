//! The route registry: one line in [`ROUTES`] for every route the server
//! declares, saying who may call it and what it records in the audit trail.
//!
//! The lines are checked against the handlers' source (`crates/api/src`, read
//! by `groundwork_tests::inventory`), the OpenAPI document, the permission
//! matrix (`domain::access::Operation`, walked by `access.rs`) and the audit
//! vocabulary (`domain::AuditAction`): a new route cannot go undocumented,
//! outside the matrix or unaudited without a test saying what to add.
//!
//! Adding a route: add its line to [`ROUTES`]. Then, if the tests ask: describe
//! it with `#[utoipa::path]` (or say why not with `.undocumented(..)`); for a
//! route under `/v1/organizations/{orgId}`, give it an `Operation` (or say why
//! not with `.outside_the_matrix(..)`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use awc::http::Method;
use domain::AuditAction as A;
use domain::access::Operation;
use groundwork_tests::app::spawn_app;
use groundwork_tests::inventory::{self, DeclaredRoute, Inventory, scan_source};
use groundwork_tests::{Backend, on_both_databases};
use serde_json::Value;

use crate::access::matrix_route;

const GET: &str = "GET";
const POST: &str = "POST";
const PUT: &str = "PUT";
const PATCH: &str = "PATCH";
const DELETE: &str = "DELETE";

/// The scope the API is registered in (`routes::configure`); a route whose
/// line in [`ROUTES`] is outside it is registered at the root.
const V1: &str = "/v1";

/// The organization routes: each must be a row of the permission matrix.
const ORGANIZATION: &str = "/v1/organizations/{orgId}";

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// Anyone, without credentials.
    Public,
    /// The holder of a bearer token (a session, or an API key where the route
    /// takes one); 401 without.
    Bearer,
}

/// What a route records in the audit trail.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Audit {
    /// Nothing: it only reads.
    Reads,
    /// These actions, each in some outcome (a refused sign-in records
    /// `user.sign_in_failed`, a successful one `user.signed_in`).
    Records(&'static [A]),
    /// Nothing, although it writes, for this reason.
    Unrecorded(&'static str),
}

use Audit::{Reads, Records, Unrecorded};
use Caller::{Bearer, Public};

/// One route, as the server serves it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Route {
    /// Upper case.
    pub(crate) method: &'static str,
    /// As served, with actix's placeholders (`/v1/organizations/{orgId}`).
    pub(crate) path: &'static str,
    pub(crate) caller: Caller,
    pub(crate) audit: Audit,
    /// Why it is not in the OpenAPI document, when it is not.
    pub(crate) undocumented: Option<&'static str>,
    /// Why an organization route is no row of the permission matrix, when it is not.
    pub(crate) outside_the_matrix: Option<&'static str>,
}

const fn route(method: &'static str, path: &'static str, caller: Caller, audit: Audit) -> Route {
    Route {
        method,
        path,
        caller,
        audit,
        undocumented: None,
        outside_the_matrix: None,
    }
}

impl Route {
    /// Not in the OpenAPI document, because `why`.
    const fn undocumented(self, why: &'static str) -> Route {
        Route {
            undocumented: Some(why),
            ..self
        }
    }

    /// An organization route without a row in the permission matrix, because `why`.
    #[allow(
        dead_code,
        reason = "no organization route is outside the matrix today"
    )]
    const fn outside_the_matrix(self, why: &'static str) -> Route {
        Route {
            outside_the_matrix: Some(why),
            ..self
        }
    }
}

/// Every route the server declares: one line each.
#[rustfmt::skip]
pub(crate) const ROUTES: &[Route] = &[
    // Registered at the root, outside /v1.
    route(GET, "/health", Public, Reads),
    route(GET, "/ready", Public, Reads),
    route(GET, "/openapi.json", Public, Reads).undocumented("the document itself"),
    route(GET, "/docs", Public, Reads).undocumented("an HTML page that renders /openapi.json"),
    // Anyone.
    route(POST, "/v1/waitlist", Public, Unrecorded("an entry is someone's interest, not an account or a tenant's data: no actor to record")),
    route(POST, "/v1/auth/sign-up", Public, Records(&[A::UserSignedUp])),
    route(POST, "/v1/auth/sign-in", Public, Records(&[A::UserSignedIn, A::UserSignInFailed])),
    route(POST, "/v1/auth/verify-email", Public, Records(&[A::UserUpdated])),
    route(POST, "/v1/auth/password-reset/request", Public, Unrecorded("only queues an email, and answers alike whether the address has an account or not; the confirmation records user.updated")),
    route(POST, "/v1/auth/password-reset/confirm", Public, Records(&[A::UserUpdated])),
    // A signed-in user.
    route(POST, "/v1/auth/sign-out", Bearer, Records(&[A::SessionRevoked])),
    route(GET, "/v1/me", Bearer, Reads),
    route(PATCH, "/v1/me", Bearer, Records(&[A::UserUpdated])),
    route(DELETE, "/v1/me", Bearer, Records(&[A::UserDeleted, A::ApiKeyRevoked])),
    route(GET, "/v1/me/sessions", Bearer, Reads),
    route(DELETE, "/v1/me/sessions", Bearer, Records(&[A::SessionRevoked])),
    route(DELETE, "/v1/me/sessions/{sessionId}", Bearer, Records(&[A::SessionRevoked])),
    route(POST, "/v1/invitations/accept", Bearer, Records(&[A::InvitationAccepted, A::MemberUpdated])),
    route(POST, "/v1/organizations", Bearer, Records(&[A::OrganizationCreated, A::MemberUpdated])),
    route(GET, "/v1/organizations", Bearer, Reads),
    // Organization routes: the permission matrix's rows.
    route(GET, "/v1/organizations/{orgId}", Bearer, Reads),
    route(PATCH, "/v1/organizations/{orgId}", Bearer, Records(&[A::OrganizationUpdated])),
    route(DELETE, "/v1/organizations/{orgId}", Bearer, Records(&[A::OrganizationDeleted])),
    route(POST, "/v1/organizations/{orgId}/restore", Bearer, Records(&[A::OrganizationRestored])),
    route(GET, "/v1/organizations/{orgId}/members", Bearer, Reads),
    route(PATCH, "/v1/organizations/{orgId}/members/{memberId}", Bearer, Records(&[A::MemberUpdated, A::ApiKeyRevoked])),
    route(DELETE, "/v1/organizations/{orgId}/members/{memberId}", Bearer, Records(&[A::MemberRemoved, A::ApiKeyRevoked])),
    route(POST, "/v1/organizations/{orgId}/invitations", Bearer, Records(&[A::InvitationCreated])),
    route(GET, "/v1/organizations/{orgId}/invitations", Bearer, Reads),
    route(DELETE, "/v1/organizations/{orgId}/invitations/{invitationId}", Bearer, Records(&[A::InvitationRevoked])),
    route(POST, "/v1/organizations/{orgId}/api-keys", Bearer, Records(&[A::ApiKeyCreated])),
    route(GET, "/v1/organizations/{orgId}/api-keys", Bearer, Reads),
    route(DELETE, "/v1/organizations/{orgId}/api-keys/{keyId}", Bearer, Records(&[A::ApiKeyRevoked])),
    route(GET, "/v1/organizations/{orgId}/audit-logs", Bearer, Reads),
    route(POST, "/v1/organizations/{orgId}/jobs", Bearer, Records(&[A::JobCreated])),
    route(GET, "/v1/organizations/{orgId}/jobs", Bearer, Reads),
    route(GET, "/v1/organizations/{orgId}/jobs/{jobId}", Bearer, Reads),
    route(PATCH, "/v1/organizations/{orgId}/jobs/{jobId}", Bearer, Records(&[A::JobUpdated])),
    route(DELETE, "/v1/organizations/{orgId}/jobs/{jobId}", Bearer, Records(&[A::JobDeleted])),
    route(POST, "/v1/organizations/{orgId}/jobs/{jobId}/restore", Bearer, Records(&[A::JobRestored])),
    route(POST, "/v1/organizations/{orgId}/jobs/{jobId}/run-now", Bearer, Records(&[A::JobUpdated])),
    route(POST, "/v1/organizations/{orgId}/jobs/claim", Bearer, Unrecorded("a claim is recorded as the tasks it opens")),
    route(POST, "/v1/organizations/{orgId}/jobs/{jobId}/heartbeat", Bearer, Unrecorded("a heartbeat only extends a lease; the run is recorded as its task")),
    route(POST, "/v1/organizations/{orgId}/jobs/{jobId}/complete", Bearer, Unrecorded("a completion is recorded as its task")),
    route(GET, "/v1/organizations/{orgId}/jobs/{jobId}/tasks", Bearer, Reads),
    route(GET, "/v1/organizations/{orgId}/jobs/{jobId}/tasks/{taskId}", Bearer, Reads),
    route(POST, "/v1/organizations/{orgId}/jobs/{jobId}/messages", Bearer, Unrecorded("a message is the run's content, kept in its own table")),
    route(GET, "/v1/organizations/{orgId}/jobs/{jobId}/messages", Bearer, Reads),
    route(POST, "/v1/organizations/{orgId}/endpoints", Bearer, Records(&[A::EndpointCreated])),
    route(GET, "/v1/organizations/{orgId}/endpoints", Bearer, Reads),
    route(GET, "/v1/organizations/{orgId}/endpoints/{endpointId}", Bearer, Reads),
    route(PATCH, "/v1/organizations/{orgId}/endpoints/{endpointId}", Bearer, Records(&[A::EndpointUpdated])),
    route(DELETE, "/v1/organizations/{orgId}/endpoints/{endpointId}", Bearer, Records(&[A::EndpointDeleted])),
    route(GET, "/v1/organizations/{orgId}/feature-flags", Bearer, Reads),
    route(GET, "/v1/organizations/{orgId}/context", Bearer, Reads),
    route(GET, "/v1/organizations/{orgId}/context/{key}", Bearer, Reads),
    route(GET, "/v1/organizations/{orgId}/context/{key}/versions", Bearer, Reads),
    route(PUT, "/v1/organizations/{orgId}/context/{key}", Bearer, Records(&[A::ContextSet])),
    route(DELETE, "/v1/organizations/{orgId}/context/{key}", Bearer, Records(&[A::ContextDeleted])),
    route(GET, "/v1/organizations/{orgId}/subscription", Bearer, Reads),
    route(GET, "/v1/organizations/{orgId}/billing-events", Bearer, Reads),
    // A platform admin.
    route(GET, "/v1/admin/users", Bearer, Reads),
    route(POST, "/v1/admin/users/{userId}/deactivate", Bearer, Records(&[A::UserDeactivated, A::ApiKeyRevoked])),
    route(POST, "/v1/admin/users/{userId}/reactivate", Bearer, Records(&[A::UserReactivated])),
    route(PATCH, "/v1/admin/organizations/{orgId}", Bearer, Records(&[A::OrganizationUpdated])),
    route(GET, "/v1/admin/waitlist", Bearer, Reads),
    route(GET, "/v1/admin/audit-logs", Bearer, Reads),
    route(POST, "/v1/admin/feature-flags", Bearer, Records(&[A::FeatureFlagCreated])),
    route(GET, "/v1/admin/feature-flags", Bearer, Reads),
    route(GET, "/v1/admin/feature-flags/{key}", Bearer, Reads),
    route(PATCH, "/v1/admin/feature-flags/{key}", Bearer, Records(&[A::FeatureFlagUpdated])),
    route(DELETE, "/v1/admin/feature-flags/{key}", Bearer, Records(&[A::FeatureFlagDeleted])),
    // Usage (an organization's).
    route(POST, "/v1/organizations/{orgId}/usage", Bearer, Unrecorded("usage records are high-volume facts, each its own record")),
    route(GET, "/v1/organizations/{orgId}/usage/summary", Bearer, Reads),
    // Metrics: /metrics at the root (off by default; a bearer token only when
    // metrics.bearer_token is set), the snapshots for platform admins.
    route(GET, "/metrics", Public, Reads),
    route(GET, "/v1/admin/metrics", Bearer, Reads),
    // The GitHub App: GitHub's signed deliveries, its setup callback (the state is the proof), the organization's routes.
    route(POST, "/v1/integrations/github/webhook", Public, Unrecorded("GitHub's deliveries are kept in github_deliveries, not the audit trail: GitHub, not a person of ours, acts")),
    route(GET, "/v1/integrations/github/setup", Public, Records(&[A::GithubInstallationLinked])),
    route(POST, "/v1/organizations/{orgId}/github/install-links", Bearer, Unrecorded("a link only signs a state; what it leads to is recorded as github_installation.linked")),
    route(GET, "/v1/organizations/{orgId}/github/installations", Bearer, Reads),
    route(GET, "/v1/organizations/{orgId}/github/installations/{installationId}/repositories", Bearer, Reads),
    route(DELETE, "/v1/organizations/{orgId}/github/installations/{installationId}", Bearer, Records(&[A::GithubInstallationUnlinked])),
    // Outgoing webhooks (admin+).
    route(POST, "/v1/organizations/{orgId}/webhooks", Bearer, Records(&[A::WebhookCreated])),
    route(GET, "/v1/organizations/{orgId}/webhooks", Bearer, Reads),
    route(GET, "/v1/organizations/{orgId}/webhooks/{webhookId}", Bearer, Reads),
    route(PATCH, "/v1/organizations/{orgId}/webhooks/{webhookId}", Bearer, Records(&[A::WebhookUpdated])),
    route(DELETE, "/v1/organizations/{orgId}/webhooks/{webhookId}", Bearer, Records(&[A::WebhookDeleted])),
    route(POST, "/v1/organizations/{orgId}/webhooks/{webhookId}/rotate-secret", Bearer, Records(&[A::WebhookSecretRotated])),
    route(GET, "/v1/organizations/{orgId}/webhooks/{webhookId}/deliveries", Bearer, Reads),
    route(POST, "/v1/organizations/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}/replay", Bearer, Unrecorded("queues one more attempt at an event already sent; the attempt is kept in the delivery log")),
    route(POST, "/v1/organizations/{orgId}/webhooks/{webhookId}/test", Bearer, Unrecorded("queues a test event for the webhook alone; the attempt is kept in the delivery log")),
    route(POST, "/v1/admin/plans", Bearer, Records(&[A::PlanCreated])),
    route(GET, "/v1/admin/plans", Bearer, Reads),
    route(GET, "/v1/admin/plans/{planKey}", Bearer, Reads),
    route(PATCH, "/v1/admin/plans/{planKey}", Bearer, Records(&[A::PlanUpdated])),
    route(DELETE, "/v1/admin/plans/{planKey}", Bearer, Records(&[A::PlanDeleted])),
    route(POST, "/v1/admin/organizations/{orgId}/subscription", Bearer, Records(&[A::SubscriptionUpdated])),
    route(GET, "/v1/admin/billing-events", Bearer, Reads),
    // Signed by the billing provider, no bearer.
    route(POST, "/v1/integrations/stripe/webhook", Public, Unrecorded("a provider event is recorded as its billing_events row, with what it did")),
];

/// Audit actions something other than a route records, and what.
#[rustfmt::skip]
const RECORDED_OUTSIDE_ROUTES: &[(A, &str)] = &[
    (A::UserPromoted, "the operator's `api admin promote <email>` (api::commands::set_platform_admin)"),
    (A::UserDemoted, "the operator's `api admin demote <email>` (api::commands::set_platform_admin)"),
    (A::WebhookDisabled, "the webhook delivery worker, when a receiver answers 410 or fails for webhooks.disable_after_days (app::webhook_delivery::finish)"),
];

// ---------------------------------------------------------------------------
// The routes the source declares, as served

/// A declared route with the method and path it is served at.
struct Served {
    method: String,
    path: String,
    declared: DeclaredRoute,
}

fn scan() -> Inventory {
    let dir = inventory::api_source_dir();
    let inventory = inventory::scan_dir(&dir);
    assert!(
        inventory.routes.len() >= 10,
        "the scan of {} found only {} routes: is the scanner broken? {:#?}",
        dir.display(),
        inventory.routes.len(),
        inventory.routes
    );
    inventory
}

/// Where each declared route is served: at the root when [`ROUTES`] has a line
/// for its path as written (outside [`V1`]), else under [`V1`]. Wrong guesses
/// do not pass unnoticed: the OpenAPI document's paths and the running server
/// (`every_route_without_parameters_answers_where_it_is_served`) disagree.
fn served(inventory: &Inventory) -> Vec<Served> {
    inventory
        .routes
        .iter()
        .map(|declared| {
            let at_root = ROUTES.iter().any(|line| line.path == declared.path);
            let path = if at_root {
                declared.path.clone()
            } else {
                format!("{V1}{}", declared.path)
            };
            Served {
                method: declared.method.clone(),
                path,
                declared: declared.clone(),
            }
        })
        .collect()
}

fn line_of(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|line| line.method == method && line.path == path)
}

fn writes(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// The line to add for a route that has none.
fn line_to_add(method: &str, path: &str) -> String {
    let method_constant = if [GET, POST, PUT, PATCH, DELETE].contains(&method) {
        method.to_owned()
    } else {
        format!("{method:?}")
    };
    let audit = if writes(method) {
        "Records(&[A::...the actions it records]) or Unrecorded(\"why it records none\")"
    } else {
        "Reads"
    };
    let mut line = format!("route({method_constant}, \"{path}\", Bearer or Public, {audit})");
    if let Some(as_written) = path.strip_prefix(V1) {
        line.push_str(&format!(
            " (with the path \"{as_written}\" if it is registered outside web::scope(\"{V1}\"))"
        ));
    }
    line
}

/// Fails listing every problem at once.
fn assert_none(problems: &[String], rule: &str) {
    assert!(
        problems.is_empty(),
        "{rule}; {} problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

// ---------------------------------------------------------------------------
// Pure: the source against the registry

#[test]
fn every_declared_route_has_one_line_in_the_registry_and_every_line_a_route() {
    // Arrange
    let inventory = scan();

    // Act
    let served = served(&inventory);

    // Assert
    let mut problems = Vec::new();
    for scope in &inventory.scopes {
        if scope.prefix != V1 {
            problems.push(format!(
                "{}:{}: web::scope(\"{}\"): the registry serves routes under {V1} or at the \
                 root only; teach `served` (tests/integration/routes.rs) this scope",
                scope.file.display(),
                scope.line,
                scope.prefix
            ));
        }
    }
    for (i, route) in served.iter().enumerate() {
        let (method, path) = (&route.method, &route.path);
        if let Some(first) = served[..i]
            .iter()
            .find(|other| other.method == *method && other.path == *path)
        {
            problems.push(format!(
                "{method} {path} is declared twice: {} and {}",
                first.declared.location(),
                route.declared.location()
            ));
        }
        if line_of(method, path).is_none() {
            problems.push(format!(
                "{method} {path} ({}) has no line in ROUTES (tests/integration/routes.rs): add {}",
                route.declared.location(),
                line_to_add(method, path)
            ));
        }
    }
    for (i, line) in ROUTES.iter().enumerate() {
        if ROUTES[..i]
            .iter()
            .any(|other| other.method == line.method && other.path == line.path)
        {
            problems.push(format!(
                "ROUTES has two lines for {} {}: keep one",
                line.method, line.path
            ));
        }
        if !served
            .iter()
            .any(|route| route.method == line.method && route.path == line.path)
        {
            problems.push(format!(
                "ROUTES has a line for {} {}, but no handler under crates/api/src declares it: \
                 remove the line, or correct its method or path",
                line.method, line.path
            ));
        }
    }
    assert_none(
        &problems,
        "every route the server declares has exactly one line in ROUTES, and every line is a route",
    );
}

#[test]
fn every_organization_route_is_a_row_of_the_permission_matrix_or_says_why_not() {
    // Arrange
    let served = served(&scan());
    let matrix: Vec<(Operation, String, String)> = Operation::ALL
        .into_iter()
        .map(|operation| {
            let (method, path) = matrix_route(operation);
            (operation, method.to_string(), path)
        })
        .collect();
    let is_organization_route =
        |path: &str| path == ORGANIZATION || path.starts_with(&format!("{ORGANIZATION}/"));

    // Act
    let organization_routes: Vec<&Served> = served
        .iter()
        .filter(|route| is_organization_route(&route.path))
        .collect();

    // Assert
    assert!(
        !organization_routes.is_empty(),
        "no route under {ORGANIZATION} was found"
    );
    let mut problems = Vec::new();
    for route in &organization_routes {
        let (method, path) = (&route.method, &route.path);
        let row = matrix
            .iter()
            .find(|(_, m, p)| m == method && p == path)
            .map(|(operation, _, _)| operation);
        let exemption = line_of(method, path).and_then(|line| line.outside_the_matrix);
        match (row, exemption) {
            (None, None) => problems.push(format!(
                "{method} {path} ({}) is an organization route outside the permission matrix: \
                 add a domain::access::Operation for it (to Operation::ALL, with its route() and \
                 its cells in permission(); access.rs then walks it as every role), or mark its \
                 line in ROUTES .outside_the_matrix(\"why\")",
                route.declared.location()
            )),
            (Some(operation), Some(_)) => problems.push(format!(
                "{method} {path} is the matrix's {operation:?}, yet its line in ROUTES says \
                 .outside_the_matrix(..): remove that"
            )),
            _ => {}
        }
    }
    for (operation, method, path) in &matrix {
        if !served
            .iter()
            .any(|route| route.method == *method && route.path == *path)
        {
            problems.push(format!(
                "Operation::{operation:?} is walked as {method} {path}, which no handler \
                 declares: correct Operation::route() or the handler"
            ));
        }
    }
    for line in ROUTES {
        if line.outside_the_matrix.is_some() && !is_organization_route(line.path) {
            problems.push(format!(
                "{} {} is no organization route: drop its .outside_the_matrix(..)",
                line.method, line.path
            ));
        }
    }
    assert_none(
        &problems,
        "every route under /v1/organizations/{orgId} is a row of the permission matrix, or \
         its line says why not",
    );
}

#[test]
fn every_route_that_writes_names_its_audit_actions_or_why_it_records_none() {
    // Arrange
    let served = served(&scan());

    // Act
    let writing: Vec<&Served> = served
        .iter()
        .filter(|route| writes(&route.method))
        .collect();

    // Assert
    assert!(!writing.is_empty(), "no route that writes was found");
    let mut problems = Vec::new();
    for route in &writing {
        let (method, path) = (&route.method, &route.path);
        match line_of(method, path).map(|line| line.audit) {
            None => problems.push(format!(
                "{method} {path} ({}) writes and has no line in ROUTES: add {}",
                route.declared.location(),
                line_to_add(method, path)
            )),
            Some(Reads) => problems.push(format!(
                "{method} {path} ({}) writes, yet its line in ROUTES says Reads: name the \
                 audit actions it records, Records(&[A::...]), or why it records none, \
                 Unrecorded(\"why\")",
                route.declared.location()
            )),
            Some(Records([])) => problems.push(format!(
                "{method} {path}: Records(&[]) names no action; say Unrecorded(\"why\") instead"
            )),
            Some(Unrecorded(why)) if why.trim().is_empty() => {
                problems.push(format!("{method} {path}: Unrecorded(\"\") gives no reason"))
            }
            Some(_) => {}
        }
    }
    for line in ROUTES {
        if !writes(line.method) && matches!(line.audit, Unrecorded(_)) {
            problems.push(format!(
                "{} {} only reads: say Reads, not Unrecorded(..)",
                line.method, line.path
            ));
        }
    }
    assert_none(
        &problems,
        "every route that writes names the audit actions it records, or why it records none",
    );
}

#[test]
fn every_audit_action_is_recorded_by_some_route_or_a_named_source() {
    // Arrange
    let mut recorders: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for line in ROUTES {
        if let Records(actions) = line.audit {
            for action in actions {
                recorders
                    .entry(action.as_str())
                    .or_default()
                    .push(format!("{} {}", line.method, line.path));
            }
        }
    }
    for (action, source) in RECORDED_OUTSIDE_ROUTES {
        recorders
            .entry(action.as_str())
            .or_default()
            .push((*source).to_owned());
    }

    // Act
    let unclaimed: Vec<String> = A::ALL
        .iter()
        .filter(|action| !recorders.contains_key(*action))
        .map(|action| {
            format!(
                "\"{action}\" is recorded by no line: add it to the Records(..) of the route \
                 that records it in ROUTES, or to RECORDED_OUTSIDE_ROUTES with what records it \
                 (tests/integration/routes.rs)"
            )
        })
        .collect();

    // Assert
    assert!(!A::ALL.is_empty(), "AuditAction has no variants");
    assert_none(
        &unclaimed,
        "every domain::AuditAction is recorded by some route or a named source",
    );
    for (action, source) in RECORDED_OUTSIDE_ROUTES {
        assert!(!source.trim().is_empty(), "{action} names no source");
    }
}

// ---------------------------------------------------------------------------
// On both databases: the registry against the running server

/// `(METHOD, path)` of every operation in an OpenAPI document.
fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
    const METHODS: &[&str] = &[
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let paths = doc["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("the document has no paths: {doc}"));
    paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|item| item.keys())
                .filter(|key| METHODS.contains(&key.as_str()))
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

async fn every_route_is_documented_and_every_documented_operation_is_a_route(backend: Backend) {
    // Arrange
    let served = served(&scan());
    let app = spawn_app(backend).await;

    // Act
    let doc = app.get("/openapi.json").await.body;
    let documented = documented_operations(&doc);

    // Assert
    assert!(!documented.is_empty(), "the document has no operations");
    let mut problems = Vec::new();
    for route in &served {
        let (method, path) = (&route.method, &route.path);
        let is_documented = documented.contains(&(method.clone(), path.clone()));
        let exemption = line_of(method, path).and_then(|line| line.undocumented);
        match (is_documented, exemption) {
            (false, None) => problems.push(format!(
                "{method} {path} ({}) is a route but not in /openapi.json: describe it with \
                 #[utoipa::path({}, path = \"{path}\", ...)] and list it in its module's Doc \
                 (crates/api/src/openapi.rs merges them), or mark its line in ROUTES \
                 .undocumented(\"why\")",
                route.declared.location(),
                method.to_lowercase()
            )),
            (true, Some(_)) => problems.push(format!(
                "{method} {path} is in /openapi.json, yet its line in ROUTES says \
                 .undocumented(..): remove that"
            )),
            _ => {}
        }
    }
    for (method, path) in &documented {
        if !served
            .iter()
            .any(|route| route.method == *method && route.path == *path)
        {
            problems.push(format!(
                "{method} {path} is in /openapi.json, but no handler under crates/api/src \
                 declares it: correct the #[utoipa::path]'s method or path (placeholders as \
                 the route writes them) or remove it"
            ));
        }
    }
    assert_none(
        &problems,
        &format!(
            "every route is in the OpenAPI document, and every documented operation is a \
             route ({backend})"
        ),
    );
}

async fn every_route_without_parameters_answers_where_it_is_served(backend: Backend) {
    // Arrange: the routes whose path needs no value (a made-up ID could be
    // refused as no route at all, which would prove nothing here).
    let served = served(&scan());
    let app = spawn_app(backend).await;
    let literal: Vec<&Served> = served
        .iter()
        .filter(|route| !route.path.contains('{') && route.method != "*")
        .collect();
    assert!(!literal.is_empty(), "no route without parameters");

    // Act: each, without credentials or body.
    let mut problems = Vec::new();
    for route in literal {
        let method: Method = route.method.parse().expect("an HTTP method");
        let res = app.request(method, &route.path, None, None).await;

        // Assert: the router found it (whatever the handler then answers).
        if res.status == 404 && res.code() == "ROUTE_NOT_FOUND" {
            problems.push(format!(
                "{} {} ({}) is not served there: if it is registered outside \
                 web::scope(\"{V1}\"), its line in ROUTES must give its path as written",
                route.method,
                route.path,
                route.declared.location()
            ));
        }
    }
    assert_none(
        &problems,
        &format!("every route is served where the registry says ({backend})"),
    );
}

/// `path` with each `{placeholder}` replaced by a made-up value: routing
/// matches any segment there (the handler would then refuse it, but `OPTIONS`
/// and a 405 are answered before any handler runs).
fn with_made_up_parameters(path: &str) -> String {
    let mut out = String::new();
    let mut name: Option<String> = None;
    for c in path.chars() {
        match c {
            '{' => name = Some(String::new()),
            '}' => {
                // A parameter whose route has a pattern of its own (`{jobId}`
                // takes `job_...` only, so that `/jobs/claim` is no job) gets a
                // value of its kind.
                let made_up = match name.take().as_deref() {
                    Some("jobId") => "job_made_up",
                    _ => "x_made_up",
                };
                out.push_str(made_up);
            }
            _ if name.is_some() => name.as_mut().map_or((), |n| n.push(c)),
            _ => out.push(c),
        }
    }
    out
}

async fn every_path_answers_options_and_405_with_the_methods_its_routes_declare(backend: Backend) {
    // Arrange: the methods each served path is declared with in the source.
    let served = served(&scan());
    let mut declared: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for route in &served {
        declared
            .entry(route.path.clone())
            .or_default()
            .insert(route.method.clone());
    }
    let app = spawn_app(backend).await;

    // Act / Assert: OPTIONS says those methods, HEAD for GET, and OPTIONS; a
    // method none of them serves is 405 with the same Allow.
    let mut problems = Vec::new();
    for (path, methods) in &declared {
        let mut expected: BTreeSet<String> = methods.clone();
        if methods.contains(GET) {
            expected.insert("HEAD".to_owned());
        }
        expected.insert("OPTIONS".to_owned());
        let url = with_made_up_parameters(path);
        let options = app.request(Method::OPTIONS, &url, None, None).await;
        let trace = app.request(Method::TRACE, &url, None, None).await;
        for (what, res) in [("OPTIONS", &options), ("TRACE", &trace)] {
            let allow: BTreeSet<String> = res
                .headers
                .get("allow")
                .map(|allow| allow.split(", ").map(str::to_owned).collect())
                .unwrap_or_default();
            let status = if what == "OPTIONS" { 204 } else { 405 };
            if res.status != status || allow != expected {
                problems.push(format!(
                    "{what} {url}: {} with Allow {allow:?}, expected {status} with {expected:?}",
                    res.status
                ));
            }
        }
    }
    assert_none(
        &problems,
        &format!("every path answers OPTIONS and 405 with its declared methods ({backend})"),
    );
}

on_both_databases!(
    every_route_is_documented_and_every_documented_operation_is_a_route,
    every_route_without_parameters_answers_where_it_is_served,
    every_path_answers_options_and_405_with_the_methods_its_routes_declare,
);

// ---------------------------------------------------------------------------
// Pure: the scanner reads what actix reads, and only that

fn scanned(source: &str) -> Vec<(String, String, Option<String>, usize)> {
    scan_source(source, Path::new("test.rs"))
        .routes
        .into_iter()
        .map(|route| (route.method, route.path, route.handler, route.line))
        .collect()
}

fn expected(
    routes: &[(&str, &str, Option<&str>, usize)],
) -> Vec<(String, String, Option<String>, usize)> {
    routes
        .iter()
        .map(|(method, path, handler, line)| {
            (
                (*method).to_owned(),
                (*path).to_owned(),
                handler.map(str::to_owned),
                *line,
            )
        })
        .collect()
}

#[test]
fn the_scanner_reads_route_attributes_however_they_are_formatted() {
    // Arrange
    let source = r##"
#[get("/a")]
async fn a() {}

#[
    actix_web::post(
        "/b/{id}",
        name = "b"
    )
]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn b(path: web::Path<String>) -> HttpResponse { HttpResponse::Ok().finish() }

#[utoipa::path(get, path = "/documented-only")]
#[route("/c", method = "GET", method = "HEAD")]
pub(crate) async fn c() {}

#[patch(r#"/d"#)] async fn d() {}
"##;

    // Act
    let routes = scanned(source);

    // Assert
    assert_eq!(
        routes,
        expected(&[
            ("GET", "/a", Some("a"), 2),
            ("POST", "/b/{id}", Some("b"), 5),
            ("GET", "/c", Some("c"), 15),
            ("HEAD", "/c", Some("c"), 15),
            ("PATCH", "/d", Some("d"), 18),
        ])
    );
}

#[test]
fn the_scanner_ignores_comments_strings_and_test_modules() {
    // Arrange
    let source = r###"
// #[get("/commented-out")]
/* #[post("/in-a-block")] /* nested #[get("/nested")] */ still #[get("/comment")] */
/// ```
/// #[get("/in-a-doc-comment")]
/// ```
const TEXT: &str = "#[get(\"/in-a-string\")]";
const RAW: &str = r#"#[get("/in-a-raw-string")]"#;
fn quote<'a>(text: &'a str) -> char { '"' }
#[cfg(test)]
mod tests {
    #[get("/test-only")]
    async fn test_only() {}
}
#[delete("/real")]
async fn real() {}
"###;

    // Act
    let routes = scanned(source);

    // Assert
    assert_eq!(routes, expected(&[("DELETE", "/real", Some("real"), 15)]));
}

#[test]
fn the_scanner_reads_resources_scopes_and_route_registrations() {
    // Arrange
    let source = r#"
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/v2")
            .service(
                web::resource("/items")
                    .route(web::get().to(list))
                    .route(web::post().to(create)),
            )
            .route("/ping", web::head().to(ping))
            .service(web::resource(["/x", "/y"]).guard(guard::Put()).to(put)),
    )
    .service(web::redirect("/old", "/new"));
}
"#;

    // Act
    let found = scan_source(source, Path::new("test.rs"));

    // Assert
    let routes: Vec<(String, String)> = found
        .routes
        .into_iter()
        .map(|route| (route.method, route.path))
        .collect();
    let expected: Vec<(String, String)> = [
        ("GET", "/items"),
        ("POST", "/items"),
        ("HEAD", "/ping"),
        ("PUT", "/x"),
        ("PUT", "/y"),
        ("*", "/old"),
    ]
    .map(|(method, path)| (method.to_owned(), path.to_owned()))
    .into();
    assert_eq!(routes, expected);
    let scopes: Vec<&str> = found.scopes.iter().map(|s| s.prefix.as_str()).collect();
    assert_eq!(scopes, ["/v2"]);
}
