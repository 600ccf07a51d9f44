//! The worker's side of the jobs protocol: claim, heartbeat, complete, over
//! HTTP with an API key. Answers are read tolerantly (every field the worker
//! can do without is optional), so a newer server does not break it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use awc::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Secret;

/// Largest answer the worker reads from the API (a claim of 100 runs with
/// their jobs' definitions fits many times over).
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// How an API call went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// 409 `LEASE_LOST`: the lease is not the job's live lease any more.
    #[error("the lease was lost (409 LEASE_LOST)")]
    LeaseLost,
    /// Any other answer than the expected one.
    #[error("the API answered {status} {code}: {detail}")]
    Rejected {
        /// The status code.
        status: u16,
        /// The problem's `code`, if any.
        code: String,
        /// The problem's `detail` (or title), if any.
        detail: String,
    },
    /// No answer: the connection failed or timed out, or the answer was not
    /// readable.
    #[error("the API could not be reached: {0}")]
    Transport(String),
}

impl ClientError {
    /// Whether trying again later may help (a network failure, a 5xx, a 429):
    /// a 4xx otherwise will not go away by itself.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Rejected { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            Self::LeaseLost => false,
        }
    }

    /// The job is gone (deleted: 404), which ends its run as a lost lease does.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Rejected { status: 404, .. })
    }
}

/// A lease's fencing token, kept out of logs.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct LeaseToken(String);

impl LeaseToken {
    /// The token as the API gave it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LeaseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LeaseToken(..)")
    }
}

/// One run a claim handed out.
#[derive(Clone, Debug, Deserialize)]
pub struct ClaimedRun {
    /// The job.
    pub job: ClaimedJob,
    /// The run's task.
    pub task: ClaimedTask,
    /// The lease the run is held under.
    pub lease: ClaimedLease,
    /// The job's endpoint with its secret; `None` when the job has none.
    #[serde(default)]
    pub endpoint: Option<Endpoint>,
}

/// The parts of a claimed job the worker uses.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimedJob {
    /// `job_...`
    pub id: String,
    /// What to do, in natural language (sent to the endpoint).
    #[serde(default)]
    pub definition: String,
    /// Attempts of this run so far, this one included.
    #[serde(default)]
    pub attempt: Option<i64>,
}

/// The parts of a run's task the worker uses.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimedTask {
    /// `tsk_...`
    pub id: String,
    /// The attempt this run is.
    #[serde(default)]
    pub attempt: Option<i64>,
}

/// A lease as the claim gave it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimedLease {
    /// The fencing token.
    pub token: LeaseToken,
    /// When it runs out unless extended.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// A job's endpoint, as the claim hands it out (decrypted secret included).
/// Every field is optional: the worker fails the run, not the claim, when
/// one it needs is missing.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// `ept_...`
    #[serde(default)]
    pub id: Option<String>,
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Where to call.
    #[serde(default)]
    pub url: Option<String>,
    /// The HTTP method (default `POST`).
    #[serde(default)]
    pub method: Option<String>,
    /// Extra request headers; values may be credentials, so they are logged
    /// by name only.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, Secret>>,
    /// Sent as `Authorization: Bearer <secret>` when set.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Why the server could not open the secret (its keys): the run fails
    /// rather than call the endpoint without it.
    #[serde(default)]
    pub secret_error: Option<String>,
}

#[derive(Deserialize)]
struct ClaimAnswer {
    #[serde(default)]
    items: Vec<ClaimedRun>,
}

/// How a run ended, as the worker reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The endpoint answered 2xx.
    Succeeded,
    /// Anything else.
    Failed,
}

/// What the worker reports of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// How it ended.
    pub outcome: Outcome,
    /// What it produced: `{status, body}` of the endpoint's answer.
    pub output: Option<Value>,
    /// Why it failed.
    pub error: Option<String>,
}

impl Report {
    /// A failure with no output.
    pub fn failed(error: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Failed,
            output: None,
            error: Some(error.into()),
        }
    }
}

/// The API, as one organization's worker calls it. Cheap to clone.
#[derive(Clone)]
pub struct ApiClient {
    http: awc::Client,
    /// `{api_url}/v1/organizations/{orgId}`.
    base: String,
    authorization: Secret,
}

impl ApiClient {
    /// A client of the API at `api_url` for `organization`, with `api_key`;
    /// each call gives up after `timeout`.
    pub fn new(
        api_url: &str,
        organization: domain::OrganizationId,
        api_key: &Secret,
        timeout: Duration,
    ) -> Self {
        let http = awc::Client::builder()
            .timeout(timeout)
            .disable_redirects()
            .finish();
        Self {
            http,
            base: format!(
                "{}/v1/organizations/{organization}",
                api_url.trim_end_matches('/')
            ),
            authorization: Secret::new(format!("Bearer {}", api_key.expose())),
        }
    }

    /// Claims up to `limit` due jobs for `worker`, each leased for
    /// `lease_seconds`.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn claim(
        &self,
        worker: &str,
        limit: u32,
        lease_seconds: u32,
    ) -> Result<Vec<ClaimedRun>, ClientError> {
        let body = json!({"worker": worker, "limit": limit, "leaseSeconds": lease_seconds});
        let answer: ClaimAnswer = self.post("/jobs/claim", &body).await?;
        Ok(answer.items)
    }

    /// Extends the lease `token` on job `job` to `lease_seconds` from now.
    #[tracing::instrument(level = "debug", skip(self, token))]
    pub async fn heartbeat(
        &self,
        job: &str,
        token: &LeaseToken,
        lease_seconds: u32,
    ) -> Result<(), ClientError> {
        let body = json!({"leaseToken": token.expose(), "leaseSeconds": lease_seconds});
        let _: Value = self.post(&format!("/jobs/{job}/heartbeat"), &body).await?;
        Ok(())
    }

    /// Records the run held by `token` on job `job`.
    #[tracing::instrument(level = "debug", skip(self, token, report))]
    pub async fn complete(
        &self,
        job: &str,
        token: &LeaseToken,
        report: &Report,
    ) -> Result<(), ClientError> {
        let mut body = json!({"leaseToken": token.expose(), "outcome": report.outcome});
        if let Some(output) = &report.output {
            body["output"] = output.clone();
        }
        if let Some(error) = &report.error {
            body["error"] = Value::String(error.clone());
        }
        let _: Value = self.post(&format!("/jobs/{job}/complete"), &body).await?;
        Ok(())
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
    ) -> Result<T, ClientError> {
        let mut res = self
            .http
            .post(format!("{}{path}", self.base))
            .insert_header(("authorization", self.authorization.expose()))
            .send_json(body)
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let bytes = res
            .body()
            .limit(MAX_ANSWER_BYTES)
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = res.status();
        if status == StatusCode::OK {
            return serde_json::from_slice(&bytes)
                .map_err(|e| ClientError::Transport(format!("unreadable answer: {e}")));
        }
        let problem: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let text = |key: &str| problem[key].as_str().unwrap_or_default().to_owned();
        if status == StatusCode::CONFLICT && problem["code"] == "LEASE_LOST" {
            return Err(ClientError::LeaseLost);
        }
        let detail = match text("detail") {
            d if d.is_empty() => text("title"),
            d => d,
        };
        Err(ClientError::Rejected {
            status: status.as_u16(),
            code: text("code"),
            detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_answer_is_read_with_or_without_an_endpoint() {
        let answer: ClaimAnswer = serde_json::from_value(json!({"items": [
            {"job": {"id": "job_1", "definition": "d", "attempt": 1, "extra": true},
             "task": {"id": "tsk_1", "attempt": 1},
             "lease": {"token": "abc", "expiresAt": "2026-01-01T00:00:00Z"},
             "endpoint": null},
            {"job": {"id": "job_2"}, "task": {"id": "tsk_2"}, "lease": {"token": "lease-tok-9f"},
             "endpoint": {"id": "ept_1", "name": "n", "url": "https://x.example/run",
                          "method": "PUT", "headers": {"X-A": "1"}, "secret": "s3cret",
                          "hasSecret": true}},
            {"job": {"id": "job_3"}, "task": {"id": "tsk_3"}, "lease": {"token": "ghi"},
             "endpoint": {"url": "https://x.example/run", "secret": null,
                          "secretError": "cannot be opened"}}
        ]}))
        .unwrap();
        assert!(answer.items[0].endpoint.is_none());
        let endpoint = answer.items[1].endpoint.clone().unwrap();
        assert_eq!(endpoint.method.as_deref(), Some("PUT"));
        assert_eq!(endpoint.secret.as_ref().map(Secret::expose), Some("s3cret"));
        let shown = format!("{:?}", answer.items[1]);
        assert!(
            !shown.contains("s3cret") && !shown.contains("lease-tok-9f"),
            "{shown}"
        );
        let unopened = answer.items[2].endpoint.clone().unwrap();
        assert_eq!(unopened.secret_error.as_deref(), Some("cannot be opened"));
    }
}
