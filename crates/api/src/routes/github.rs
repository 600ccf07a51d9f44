//! The GitHub App: `POST /v1/integrations/github/webhook` (GitHub's
//! deliveries, signed), `GET /v1/integrations/github/setup` (the setup
//! callback, proven by its state), and under an organization
//! `POST /github/install-links`, `GET /github/installations`,
//! `GET /github/installations/{installationId}/repositories` and
//! `DELETE /github/installations/{installationId}`.

use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use app::github::{self as service, Received};
use chrono::{DateTime, Utc};
use domain::PageRequest;
use domain::github::{
    GithubInstallation, GithubInstallationSort, GithubRepository, GithubRepositorySort,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::auth::{Anonymous, Caller};
use crate::error::{ApiError, Problem, Result};
use crate::extract::{ListParams, ListQuery, RawJsonBody};
use crate::openapi::{DatabaseProblems, JsonBodyProblems, QueryProblems, SessionProblems};
use crate::paths::{InstallationPath, Org};
use crate::state::AppState;
use crate::views::page_response;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(webhook, setup, create_install_link, list, list_repositories, unlink),
    components(schemas(
        GithubDeliveryAck,
        InstallLinkResponse,
        GithubAccountResponse,
        GithubInstallationResponse,
        GithubRepositoryResponse,
        GithubInstallationPage,
        GithubRepositoryPage
    ))
)]
pub struct Doc;

/// Registers this module's routes under `/v1`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(webhook)
        .service(setup)
        .service(create_install_link)
        .service(list)
        .service(list_repositories)
        .service(unlink);
}

/// GitHub's payloads reach 25 MB; installation events with every repository
/// of a large account are the big ones here.
const WEBHOOK_BODY_KIB: usize = 25 * 1024;

/// What the receiver did.
#[derive(Debug, Serialize, ToSchema)]
pub struct GithubDeliveryAck {
    /// `applied`, `kept` (its installation is not linked yet), `pong`,
    /// `redelivery` (seen before: nothing done) or `ignored` (202).
    pub status: &'static str,
}

/// An install link.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstallLinkResponse {
    /// GitHub's install page for the app, with a signed, expiring `state`.
    #[schema(
        example = "https://github.com/apps/groundwork/installations/new?state=v1.org_01JD6Z3Q9V7X2M4N8P0R5T1W3Y.usr_01JD6Z3Q9V7X2M4N8P0R5T1W3Z.1764480000.4f1c..."
    )]
    pub url: String,
}

/// The GitHub account an installation belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct GithubAccountResponse {
    /// `octo-org`.
    pub login: String,
    /// GitHub's account id.
    pub id: i64,
    /// `User` or `Organization`, as GitHub says.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A linked installation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GithubInstallationResponse {
    /// GitHub's installation id.
    pub id: i64,
    /// The account; `null` until GitHub's first event for it has arrived.
    pub account: Option<GithubAccountResponse>,
    /// `all` or `selected`.
    pub repository_selection: Option<String>,
    /// The permissions granted (`{"contents": "read"}`).
    #[schema(value_type = Option<Object>)]
    pub permissions: Option<Value>,
    /// The events the installation is subscribed to.
    #[schema(value_type = Option<Vec<String>>)]
    pub events: Option<Value>,
    /// Suspended on GitHub since; `null`: not suspended.
    pub suspended_at: Option<DateTime<Utc>>,
    /// When it was linked to this organization.
    pub linked_at: Option<DateTime<Utc>>,
    /// When this server first heard of it.
    pub created_at: DateTime<Utc>,
    /// Last change here.
    pub updated_at: DateTime<Utc>,
}

impl From<GithubInstallation> for GithubInstallationResponse {
    fn from(i: GithubInstallation) -> Self {
        Self {
            id: i.id,
            account: i.account.map(|a| GithubAccountResponse {
                login: a.login,
                id: a.id,
                kind: a.kind,
            }),
            repository_selection: i.repository_selection,
            permissions: i.permissions,
            events: i.events,
            suspended_at: i.suspended_at,
            linked_at: i.linked_at,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

/// A repository of an installation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GithubRepositoryResponse {
    /// GitHub's repository id.
    pub id: i64,
    /// `hello-world`.
    pub name: String,
    /// `octo-org/hello-world`.
    pub full_name: String,
    /// Whether it is private.
    pub private: bool,
    /// When it was removed from the installation; `null`: the installation reaches it.
    pub removed_at: Option<DateTime<Utc>>,
    /// When this server first heard of it.
    pub created_at: DateTime<Utc>,
}

impl From<GithubRepository> for GithubRepositoryResponse {
    fn from(r: GithubRepository) -> Self {
        Self {
            id: r.id,
            name: r.name,
            full_name: r.full_name,
            private: r.private,
            removed_at: r.removed_at,
            created_at: r.created_at,
        }
    }
}

page_response! {
    /// A page of linked installations.
    GithubInstallationPage: GithubInstallationResponse, from GithubInstallation
}

page_response! {
    /// A page of an installation's repositories.
    GithubRepositoryPage: GithubRepositoryResponse, from GithubRepository
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// GitHub's `X-GitHub-Delivery` (a GUID) or `X-GitHub-Event`: 400 when
/// missing or not a short printable token.
fn required_header<'a>(req: &'a HttpRequest, name: &str) -> Result<&'a str> {
    header(req, name)
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 100 && v.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| ApiError::BadRequest(format!("the {name} header is missing or malformed")))
}

/// GitHub's webhook deliveries (no bearer: the signature is the proof).
/// `X-Hub-Signature-256` must be the HMAC-SHA256 of the raw body with
/// `github.webhook_secret`, else 401 and nothing is written. Each
/// `X-GitHub-Delivery` is recorded once (a redelivery is 200, no effect);
/// `installation` (`created`, `deleted`, `suspend`, `unsuspend`,
/// `new_permissions_accepted`) and `installation_repositories` (`added`,
/// `removed`) are applied, in any order, or kept until the installation is
/// linked; `ping` is 200; anything else is recorded and 202.
#[utoipa::path(
    post,
    path = "/v1/integrations/github/webhook",
    tag = "github",
    params(
        ("X-Hub-Signature-256" = String, Header, description = "`sha256=` + hex HMAC-SHA256 of the body"),
        ("X-GitHub-Delivery" = String, Header, description = "The delivery's GUID"),
        ("X-GitHub-Event" = String, Header, description = "`installation`, `installation_repositories`, `ping`, ..."),
    ),
    request_body(content = Object, content_type = "application/json", description = "GitHub's payload"),
    responses(
        (status = 200, body = GithubDeliveryAck, description = "Applied, kept, a ping, or a redelivery"),
        (status = 202, body = GithubDeliveryAck, description = "An event this server does not act on (recorded)"),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "BAD_REQUEST: a GitHub header is missing or the body is not JSON"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "INVALID_SIGNATURE: nothing written"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "GITHUB_DISABLED"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_PAYLOAD): an installation event GitHub would not send"),
        JsonBodyProblems, DatabaseProblems,
    )
)]
#[post("/integrations/github/webhook")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn webhook(
    req: HttpRequest,
    state: web::Data<AppState>,
    Anonymous { ctx, db }: Anonymous,
    RawJsonBody(body): RawJsonBody<WEBHOOK_BODY_KIB>,
) -> Result<HttpResponse> {
    state
        .github
        .verify_signature(&body, header(&req, "x-hub-signature-256"))?;
    let delivery = required_header(&req, "x-github-delivery")?;
    let event = required_header(&req, "x-github-event")?;
    let payload: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    let status = match service::receive(&db, &ctx, delivery, event, &payload).await? {
        Received::Applied => "applied",
        Received::Kept => "kept",
        Received::Pong => "pong",
        Received::Redelivery => "redelivery",
        Received::Ignored => {
            return Ok(HttpResponse::Accepted().json(GithubDeliveryAck { status: "ignored" }));
        }
    };
    Ok(HttpResponse::Ok().json(GithubDeliveryAck { status }))
}

/// The setup callback's query, as GitHub sends it.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SetupQuery {
    /// GitHub's installation id.
    installation_id: i64,
    /// The install link's state, as issued.
    state: String,
    /// `install` or `update` (not needed: the state says what to link).
    #[allow(dead_code, reason = "GitHub sends it; documented, not needed")]
    setup_action: Option<String>,
}

/// GitHub's setup URL (no bearer: the install link's signed state is the
/// proof): links the installation to the state's organization, as the
/// person who created the link (still an admin or owner there), and applies
/// the events kept for it. Redirects (303) to `github.setup_redirect_url`
/// when set, else answers the installation.
#[utoipa::path(
    get,
    path = "/v1/integrations/github/setup",
    tag = "github",
    params(SetupQuery),
    responses(
        (status = 200, body = GithubInstallationResponse, description = "Linked (or already linked to this organization)"),
        (status = 303, description = "Linked; on to `github.setup_redirect_url?installation_id=...&organization_id=...`"),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "BAD_REQUEST: installation_id or state missing or malformed"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "INVALID_STATE (not signed by this server), STATE_EXPIRED: nothing written"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE: the link's creator is no longer an admin or owner"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "ORGANIZATION_NOT_FOUND, GITHUB_DISABLED"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "GITHUB_INSTALLATION_LINKED_ELSEWHERE, GITHUB_INSTALLATION_DELETED"),
        QueryProblems, DatabaseProblems,
    )
)]
#[get("/integrations/github/setup")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn setup(
    state: web::Data<AppState>,
    Anonymous { ctx, db }: Anonymous,
    query: web::Query<SetupQuery>,
) -> Result<HttpResponse> {
    let query = query.into_inner();
    let linked = service::link(
        &db,
        &ctx,
        &state.github,
        query.installation_id,
        &query.state,
    )
    .await?;
    match (&state.github.setup_redirect_url, linked.organization_id) {
        (Some(url), Some(org)) => {
            let separator = if url.contains('?') { '&' } else { '?' };
            let to = format!(
                "{url}{separator}installation_id={}&organization_id={org}",
                linked.id
            );
            Ok(HttpResponse::SeeOther()
                .insert_header((LOCATION, to))
                .finish())
        }
        _ => Ok(HttpResponse::Ok().json(GithubInstallationResponse::from(linked))),
    }
}

/// An install link for the organization (a signed-in admin or owner): GitHub's
/// install page with a `state` that binds the organization and the caller and
/// expires after `github.state_ttl_secs`.
#[utoipa::path(
    post,
    path = "/v1/organizations/{orgId}/github/install-links",
    tag = "github",
    params(Org),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = InstallLinkResponse),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE, USER_REQUIRED (an API key cannot link)"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "GITHUB_DISABLED"),
        SessionProblems, DatabaseProblems,
    )
)]
#[post("/organizations/{orgId}/github/install-links")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_install_link(
    state: web::Data<AppState>,
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
) -> Result<HttpResponse> {
    let url = service::create_install_link(&db, &ctx, &state.github, org).await?;
    Ok(HttpResponse::Ok().json(InstallLinkResponse { url }))
}

/// The installations linked to the organization (any member), not those
/// uninstalled on GitHub. `sortBy`: `createdAt`; `searchQuery` matches the
/// account's login.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/github/installations",
    tag = "github",
    params(Org, ListParams<GithubInstallationSort>),
    security(("bearer" = [])),
    responses(
        Org,
        (status = 200, body = GithubInstallationPage),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/github/installations")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    Caller { ctx, db, .. }: Caller,
    Org(org): Org,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::<GithubInstallationSort>::parse(&raw)?;
    let page = service::list(&db, &ctx, org, &request).await?;
    Ok(HttpResponse::Ok().json(GithubInstallationPage::from(page)))
}

/// A linked installation's repositories (any member), those removed from it
/// included with `removedAt`. `sortBy`: `createdAt` or `fullName`;
/// `searchQuery` matches the full name.
#[utoipa::path(
    get,
    path = "/v1/organizations/{orgId}/github/installations/{installationId}/repositories",
    tag = "github",
    params(InstallationPath, ListParams<GithubRepositorySort>),
    security(("bearer" = [])),
    responses(
        InstallationPath,
        (status = 200, body = GithubRepositoryPage),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "VALIDATION_FAILED (INVALID_CURSOR, OUT_OF_RANGE, INVALID_VALUE, CONFLICTING_PARAMETERS)"),
        QueryProblems, SessionProblems, DatabaseProblems,
    )
)]
#[get("/organizations/{orgId}/github/installations/{installationId}/repositories")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_repositories(
    Caller { ctx, db, .. }: Caller,
    InstallationPath(org, installation): InstallationPath,
    ListQuery(raw): ListQuery,
) -> Result<HttpResponse> {
    let request = PageRequest::<GithubRepositorySort>::parse(&raw)?;
    let page = service::list_repositories(&db, &ctx, org, installation, &request).await?;
    Ok(HttpResponse::Ok().json(GithubRepositoryPage::from(page)))
}

/// Unlinks an installation from the organization (admin+). It stays
/// installed on GitHub; a new install link can link it again.
#[utoipa::path(
    delete,
    path = "/v1/organizations/{orgId}/github/installations/{installationId}",
    tag = "github",
    params(InstallationPath),
    security(("bearer" = [])),
    responses(
        InstallationPath,
        (status = 204, description = "Unlinked"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "INSUFFICIENT_ROLE"),
        SessionProblems, DatabaseProblems,
    )
)]
#[delete("/organizations/{orgId}/github/installations/{installationId}")]
#[tracing::instrument(level = "debug", skip_all)]
pub async fn unlink(
    Caller { ctx, db, .. }: Caller,
    InstallationPath(org, installation): InstallationPath,
) -> Result<HttpResponse> {
    service::unlink(&db, &ctx, org, installation).await?;
    Ok(HttpResponse::NoContent().finish())
}
