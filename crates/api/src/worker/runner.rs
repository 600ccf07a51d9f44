//! One run: call the job's endpoint, heartbeat the lease while it works, and
//! report what it answered. A lease lost on the way (409 `LEASE_LOST`, or the
//! job deleted) drops the endpoint call and reports nothing: someone else may
//! hold the job by now.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use awc::http::Method;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::Secret;
use super::client::{ApiClient, ClaimedRun, ClientError, Outcome, Report};

/// Most of an endpoint's answer the worker reads; past it the body is
/// text, cut (the task's output holds at most 256 KiB of JSON).
pub const MAX_BODY_BYTES: usize = 192 * 1024;
/// Most of a body that is not JSON that is kept, as text.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// The error of a run whose job has no endpoint.
pub const NO_ENDPOINT: &str = "the job has no endpoint";
/// Attempts at reporting a run when the API cannot be reached.
const COMPLETE_ATTEMPTS: u32 = 3;

/// An HTTP call to a job's endpoint.
#[derive(Clone, Debug)]
pub struct EndpointCall {
    /// Where to call.
    pub url: String,
    /// The method, e.g. `POST`.
    pub method: String,
    /// Extra headers (values kept out of logs).
    pub headers: BTreeMap<String, Secret>,
    /// Sent as `Authorization: Bearer <secret>` when set.
    pub secret: Option<Secret>,
    /// The JSON body.
    pub body: Value,
}

impl EndpointCall {
    /// The call `run` makes: its endpoint's method, URL, headers and secret,
    /// and the body `{jobId, taskId, definition, attempt}`. The error when
    /// the job has no endpoint, or one without a URL.
    pub fn for_run(run: &ClaimedRun) -> Result<Self, String> {
        let endpoint = run
            .endpoint
            .as_ref()
            .ok_or_else(|| NO_ENDPOINT.to_owned())?;
        let url = endpoint
            .url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| "the job's endpoint has no URL".to_owned())?;
        if let Some(why) = &endpoint.secret_error {
            return Err(format!("the endpoint's secret is not available: {why}"));
        }
        Ok(Self {
            url,
            method: endpoint.method.clone().unwrap_or_else(|| "POST".to_owned()),
            headers: endpoint.headers.clone().unwrap_or_default(),
            secret: endpoint.secret.clone(),
            body: json!({
                "jobId": run.job.id,
                "taskId": run.task.id,
                "definition": run.job.definition,
                "attempt": run.task.attempt.or(run.job.attempt),
            }),
        })
    }
}

/// The client for endpoint calls: no redirects followed (a 3xx is the
/// endpoint's answer), no timeout of its own ([`call_endpoint`] has one).
pub fn endpoint_client() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(24 * 3600))
        .finish()
}

/// Calls the endpoint and reads its answer, within `timeout` for the whole
/// exchange: 2xx succeeds, anything else fails; the output is `{status,
/// body}`, the body as JSON when it is JSON, else as text cut to 64 KiB.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn call_endpoint(client: &awc::Client, call: &EndpointCall, timeout: Duration) -> Report {
    let method = match Method::from_bytes(call.method.trim().to_ascii_uppercase().as_bytes()) {
        Ok(method) => method,
        Err(_) => return Report::failed(format!("invalid endpoint method `{}`", call.method)),
    };
    let mut request = client.request(method, call.url.as_str()).timeout(timeout);
    for (name, value) in &call.headers {
        request = request.insert_header((name.as_str(), value.expose()));
    }
    if let Some(secret) = &call.secret {
        request = request.insert_header(("authorization", format!("Bearer {}", secret.expose())));
    }
    let exchange = async {
        let mut response = request.send_json(&call.body).await.map_err(|e| match e {
            awc::error::SendRequestError::Timeout => None,
            e => Some(format!("cannot call the endpoint: {e}")),
        })?;
        let mut body = Vec::new();
        let mut cut = false;
        while let Some(chunk) = response.next().await {
            let chunk =
                chunk.map_err(|e| Some(format!("cannot read the endpoint's answer: {e}")))?;
            let room = MAX_BODY_BYTES - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                cut = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok::<_, Option<String>>((response.status(), body, cut))
    };
    let (status, body, cut) = match actix_web::rt::time::timeout(timeout, exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(Some(error))) => return Report::failed(error),
        Ok(Err(None)) | Err(_) => {
            return Report::failed(format!(
                "endpoint timed out after {} s",
                timeout.as_secs_f64()
            ));
        }
    };
    let output = json!({"status": status.as_u16(), "body": body_value(&body, cut)});
    if status.is_success() {
        Report {
            outcome: Outcome::Succeeded,
            output: Some(output),
            error: None,
        }
    } else {
        Report {
            outcome: Outcome::Failed,
            output: Some(output),
            error: Some(format!("endpoint answered {}", status.as_u16())),
        }
    }
}

/// The body as JSON when all of it is JSON, else as text of at most 64 KiB
/// (cut at a character boundary); an empty body is `null`.
fn body_value(body: &[u8], cut: bool) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    if !cut && let Ok(value) = serde_json::from_slice::<Value>(body) {
        return value;
    }
    let text = String::from_utf8_lossy(body);
    let mut end = text.len().min(MAX_TEXT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Value::String(text[..end].to_owned())
}

/// How a run ended for the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// Reported to the API with this outcome.
    Reported(Outcome),
    /// The lease was lost (or the job deleted) before the report: nothing
    /// was recorded by this worker.
    LeaseLost,
    /// The report could not be delivered; the lease runs out on the server
    /// and the job comes back.
    Unreported(String),
}

/// The pace of a run.
#[derive(Clone, Copy, Debug)]
pub struct RunPace {
    /// The lease's length, asked again by each heartbeat.
    pub lease_seconds: u32,
    /// Time between heartbeats.
    pub heartbeat_every: Duration,
    /// The endpoint call's timeout.
    pub endpoint_timeout: Duration,
}

/// Runs `run` to its end: calls its endpoint (a job without one fails at
/// once), heartbeats meanwhile, and reports the outcome.
#[tracing::instrument(level = "debug", skip_all, fields(job = %run.job.id, task = %run.task.id))]
pub async fn execute(
    api: &ApiClient,
    http: &awc::Client,
    run: &ClaimedRun,
    pace: RunPace,
) -> RunEnd {
    let started = Instant::now();
    let report = match EndpointCall::for_run(run) {
        Err(error) => Report::failed(error),
        Ok(call) => {
            let calling = call_endpoint(http, &call, pace.endpoint_timeout);
            let beating = keep_lease(api, run, pace);
            tokio::select! {
                report = calling => report,
                () = beating => {
                    tracing::warn!(job = %run.job.id, task = %run.task.id,
                        "lease lost while the endpoint worked: the call is dropped and nothing is reported");
                    return RunEnd::LeaseLost;
                }
            }
        }
    };
    let end = report_run(api, run, &report).await;
    tracing::info!(
        job = %run.job.id,
        task = %run.task.id,
        endpoint = run.endpoint.as_ref().and_then(|e| e.id.as_deref()).unwrap_or("none"),
        outcome = ?report.outcome,
        error = report.error.as_deref().unwrap_or(""),
        ms = started.elapsed().as_millis() as u64,
        end = ?end,
        "run finished"
    );
    end
}

/// Heartbeats every `pace.heartbeat_every`; returns only when the lease is
/// lost (409) or the job gone (404). Other failures are logged and the next
/// beat tries again: the lease has two more beats' worth of time.
async fn keep_lease(api: &ApiClient, run: &ClaimedRun, pace: RunPace) {
    loop {
        actix_web::rt::time::sleep(pace.heartbeat_every).await;
        match api
            .heartbeat(&run.job.id, &run.lease.token, pace.lease_seconds)
            .await
        {
            Ok(()) => {}
            Err(ClientError::LeaseLost) => return,
            Err(e) if e.is_not_found() => return,
            Err(e) => {
                tracing::warn!(job = %run.job.id, error = %e, "heartbeat failed; trying again at the next beat")
            }
        }
    }
}

/// Reports `report`, trying again a little later when the API cannot be
/// reached or answers 5xx.
async fn report_run(api: &ApiClient, run: &ClaimedRun, report: &Report) -> RunEnd {
    let mut attempt = 1;
    loop {
        match api.complete(&run.job.id, &run.lease.token, report).await {
            Ok(()) => return RunEnd::Reported(report.outcome),
            Err(ClientError::LeaseLost) => {
                tracing::warn!(job = %run.job.id, "lease lost before the report: nothing recorded");
                return RunEnd::LeaseLost;
            }
            Err(e) if e.is_not_found() => return RunEnd::LeaseLost,
            Err(e) if e.is_transient() && attempt < COMPLETE_ATTEMPTS => {
                tracing::warn!(job = %run.job.id, error = %e, attempt, "cannot report the run yet; trying again");
                actix_web::rt::time::sleep(Duration::from_secs(u64::from(attempt))).await;
                attempt += 1;
            }
            Err(e) => {
                tracing::error!(job = %run.job.id, error = %e,
                    "cannot report the run; its lease runs out on the server and the job comes back");
                return RunEnd::Unreported(e.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_body_stays_json_and_other_bodies_become_cut_text() {
        assert_eq!(body_value(br#"{"a": [1]}"#, false), json!({"a": [1]}));
        assert_eq!(body_value(b"plain words", false), json!("plain words"));
        assert_eq!(body_value(b"", false), Value::Null);
        // A JSON body cut by the read limit is no longer JSON.
        assert_eq!(body_value(br#"{"a": 1}"#, true), json!(r#"{"a": 1}"#));
        let long = "é".repeat(MAX_TEXT_BYTES);
        let Value::String(kept) = body_value(long.as_bytes(), false) else {
            panic!("not text")
        };
        assert!(kept.len() <= MAX_TEXT_BYTES && kept.len() >= MAX_TEXT_BYTES - 1);
    }
}
