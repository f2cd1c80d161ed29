//! The `/v1` handlers in the stateless worker: they call the gateway and the Durable Objects.

use super::Caller;
use super::{dead_letters, V1Error};
use crate::gateway::{self, CreateBatch, Transport, WebhookRequest};
use crate::idempotency;
use crate::jsonl::{Limits, Validator};
use crate::worker::{config, stubs};
use serde_json::{json, Value};
use worker::{Env, Method, Request, Response};

/// The header carrying the caller's workspace to the Durable Objects.
pub const WORKSPACE_HEADER: &str = "x-batchhook-workspace";

/// The API's public origin, so the Durable Objects can point batch URLs at it.
pub const BASE_HEADER: &str = "x-batchhook-base";

/// Set when the caller is the operator workspace, which also sees batches no workspace owns
/// (first seen through a webhook, never created through the API).
pub const OPERATOR_HEADER: &str = "x-batchhook-operator";

type Answer = Result<Response, V1Error>;

/// Routes an authenticated request.
pub async fn dispatch(req: Request, env: &Env, workspace: &Caller) -> Answer {
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method();
    match (method, segments.as_slice()) {
        (Method::Post, ["v1", "files"]) => upload(req, env).await,
        (Method::Get, ["v1", "files", id, "content"]) => file_content(env, id).await,
        (Method::Post, ["v1", "batches"]) => create(req, env, workspace).await,
        (Method::Get, ["v1", "batches"]) => {
            let query = req.url()?.query().unwrap_or("").to_owned();
            index_call(
                env,
                Method::Get,
                &format!("/api/list?{query}"),
                workspace,
                None,
            )
            .await
        }
        (Method::Get, ["v1", "batches", id]) => {
            ledger_call(env, id, Method::Get, "/api/state", workspace, None, &[]).await
        }
        (Method::Post, ["v1", "batches", id, action @ ("cancel" | "pause" | "resume")]) => {
            let mut req = req;
            let body = req.bytes().await.unwrap_or_default();
            let path = format!("/api/{action}");
            ledger_call(env, id, Method::Post, &path, workspace, Some(body), &[]).await
        }
        (Method::Get, ["v1", "batches", id, "results"]) => {
            let query = req.url()?.query().unwrap_or("").to_owned();
            let path = format!("/api/results?{query}");
            ledger_call(env, id, Method::Get, &path, workspace, None, &[]).await
        }
        (Method::Get, ["v1", "batches", id, "events"]) => {
            let query = req.url()?.query().unwrap_or("").to_owned();
            let path = format!("/api/events?{query}");
            let mut pass = Vec::new();
            for name in ["upgrade", "sec-websocket-protocol"] {
                if let Some(value) = req.headers().get(name)? {
                    pass.push((name, value));
                }
            }
            let pass: Vec<(&str, &str)> = pass.iter().map(|(n, v)| (*n, v.as_str())).collect();
            ledger_call(env, id, Method::Get, &path, workspace, None, &pass).await
        }
        (Method::Get, ["v1", "dead-letters"]) => dead_letters::list(env, workspace).await,
        (Method::Post, ["v1", "dead-letters", seq, "replay"]) => {
            dead_letters::replay(req, env, workspace, seq).await
        }
        (_, ["v1", "files"] | ["v1", "batches"] | ["v1", "dead-letters"])
        | (_, ["v1", "files", _, "content"] | ["v1", "batches", _])
        | (_, ["v1", "batches", _, "cancel" | "pause" | "resume" | "results" | "events"])
        | (_, ["v1", "dead-letters", _, "replay"]) => Err(V1Error::Method),
        _ => Err(V1Error::NotFound(
            "not_found",
            "no /v1 route matches this path".into(),
        )),
    }
}

/// The headers that tell a Durable Object who is calling: workspace, API origin and, for the
/// operator workspace, the operator flag.
fn caller_headers(workspace: &Caller) -> Vec<(&'static str, &str)> {
    let mut headers = vec![
        (WORKSPACE_HEADER, workspace.as_str()),
        (BASE_HEADER, workspace.base.as_str()),
    ];
    if workspace.operator {
        headers.push((OPERATOR_HEADER, "1"));
    }
    headers
}

/// Calls the caller's view of one batch's ledger.
pub async fn ledger_call(
    env: &Env,
    batch_id: &str,
    method: Method,
    path: &str,
    workspace: &Caller,
    body: Option<Vec<u8>>,
    extra: &[(&str, &str)],
) -> Answer {
    if batch_id.is_empty() {
        return Err(V1Error::NotFound(
            "batch_not_found",
            "the batch id is empty".into(),
        ));
    }
    let mut headers = caller_headers(workspace);
    headers.extend_from_slice(extra);
    let stub = stubs::ledger(env, batch_id)?;
    Ok(stubs::call(&stub, method, path, &headers, body).await?)
}

/// Calls the index on behalf of the caller's workspace.
pub async fn index_call(
    env: &Env,
    method: Method,
    path: &str,
    workspace: &Caller,
    body: Option<Vec<u8>>,
) -> Answer {
    let stub = stubs::index(env)?;
    let headers = caller_headers(workspace);
    Ok(stubs::call(&stub, method, path, &headers, body).await?)
}

/// The API's public origin: `PUBLIC_URL` when set, else the request's own origin.
pub fn api_base(env: &Env, req: &Request) -> Result<String, V1Error> {
    Ok(
        match config::text(env, "PUBLIC_URL").filter(|u| !u.is_empty()) {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => req.url()?.origin().ascii_serialization(),
        },
    )
}

/// A random hex string (multipart boundaries).
fn random_hex(len: usize) -> String {
    (0..len)
        .map(|_| format!("{:x}", (js_sys::Math::random() * 16.0) as u8 & 15))
        .collect()
}

/// `POST /v1/files`: validates the JSONL, then uploads it.
async fn upload(mut req: Request, env: &Env) -> Answer {
    let form = req.form_data().await.map_err(|e| {
        V1Error::Invalid(
            "invalid_upload",
            format!("expected multipart/form-data with purpose=batch and a `file` part: {e}"),
        )
    })?;
    let (filename, content) = match form.get("file") {
        Some(worker::FormEntry::File(file)) => (file.name(), file.bytes().await?),
        Some(worker::FormEntry::Field(text)) => ("input.jsonl".to_owned(), text.into_bytes()),
        None => {
            return Err(V1Error::Invalid(
                "invalid_upload",
                "the form has no `file` part; send the JSONL as `file`".into(),
            ))
        }
    };
    if let Some(worker::FormEntry::Field(purpose)) = form.get("purpose") {
        if purpose != "batch" {
            return Err(V1Error::Invalid(
                "invalid_upload",
                format!("purpose must be `batch`, got {purpose:?}"),
            ));
        }
    }
    let endpoint = match form.get("endpoint") {
        Some(worker::FormEntry::Field(endpoint)) => endpoint,
        _ => first_row_endpoint(&content).unwrap_or_else(|| "/v1/chat/completions".into()),
    };
    let mut validator = Validator::with_limits(&endpoint, Limits::default());
    validator.feed(&content);
    let report = validator.finish();
    if !report.is_valid() {
        let report = serde_json::to_value(&report).unwrap_or(Value::Null);
        return Err(V1Error::InvalidFile(report));
    }
    let request = gateway::upload_file(&filename, &content, &random_hex(32))?;
    let response = config::gateway(env)
        .send(request)
        .await
        .map_err(gateway::GatewayError::from)?;
    let file = gateway::parse_file(&response)?;
    Ok(Response::from_json(&file)?)
}

/// The `url` of the first non-blank row: the endpoint the whole file must target.
fn first_row_endpoint(content: &[u8]) -> Option<String> {
    let line = content
        .split(|b| *b == b'\n')
        .find(|l| l.iter().any(|b| !b.is_ascii_whitespace()))?;
    let row: Value = serde_json::from_slice(line).ok()?;
    row.get("url")?.as_str().map(str::to_owned)
}

/// `GET /v1/files/{id}/content`: the gateway's bytes, unchanged.
async fn file_content(env: &Env, id: &str) -> Answer {
    let request = gateway::file_content(id)?;
    let response = config::gateway(env)
        .send(request)
        .await
        .map_err(gateway::GatewayError::from)?;
    gateway::success(&response)?;
    let content_type = response
        .header("content-type")
        .unwrap_or("application/octet-stream")
        .to_owned();
    let mut out = Response::from_bytes(response.body)?;
    out.headers_mut().set("content-type", &content_type)?;
    Ok(out)
}

/// `POST /v1/batches`.
async fn create(mut req: Request, env: &Env, workspace: &Caller) -> Answer {
    let header_key = req.headers().get("idempotency-key")?;
    let body: Value = req.json().await.map_err(|e| {
        V1Error::Invalid(
            "invalid_json",
            format!("the body must be a JSON object: {e}"),
        )
    })?;
    let mut create: CreateBatch = serde_json::from_value(body.clone()).map_err(|e| {
        V1Error::Invalid(
            "invalid_request",
            format!("expected input_file_id, endpoint and completion_window: {e}"),
        )
    })?;
    let key = idempotency::key(workspace, header_key.as_deref(), create.metadata.as_ref())
        .map_err(|e| V1Error::Invalid("invalid_idempotency_key", e.to_string()))?;
    let fingerprint = idempotency::fingerprint(&body);
    if let Some(key) = &key {
        let decision = index_json(
            env,
            "/api/idempotency/reserve",
            workspace,
            json!({"key": key.storage_key, "fingerprint": fingerprint}),
        )
        .await?;
        match decision["decision"].as_str() {
            Some("replay") => {
                let id = decision["batch_id"].as_str().unwrap_or_default().to_owned();
                let resp =
                    ledger_call(env, &id, Method::Get, "/api/public", workspace, None, &[]).await?;
                let replayed = [("idempotent-replayed".to_owned(), "true".to_owned())];
                return Ok(super::with_headers(resp, &replayed).await?);
            }
            Some("in_flight") => {
                return Err(V1Error::ConflictOther(
                    "idempotency_in_progress",
                    "a create with this idempotency key is still in progress; retry shortly".into(),
                ))
            }
            Some("mismatch") => {
                return Err(V1Error::ConflictOther(
                    "idempotency_key_reused",
                    "this idempotency key was already used for a different request".into(),
                ))
            }
            _ => {}
        }
    }
    create.webhook = Some(webhook(env, &req)?);
    let result = create_upstream(env, &create, key.as_ref().map(|k| k.value.as_str())).await;
    let batch = match result {
        Ok(batch) => batch,
        Err(err) => {
            if let Some(key) = &key {
                let release = json!({"key": key.storage_key});
                let _ = index_json(env, "/api/idempotency/release", workspace, release).await;
            }
            return Err(err);
        }
    };
    let id = batch.id.clone().unwrap_or_default();
    let register = serde_json::to_vec(&json!({"batch": batch.to_value()}))
        .map_err(|e| V1Error::Unavailable(e.to_string()))?;
    let registered = ledger_call(
        env,
        &id,
        Method::Post,
        "/api/register",
        workspace,
        Some(register),
        &[],
    )
    .await?;
    if registered.status_code() >= 300 {
        return Ok(registered);
    }
    index_json(
        env,
        "/api/register",
        workspace,
        json!({"id": id, "status": batch.lifecycle(), "object": crate::public::batch(batch.to_value(), None)}),
    )
    .await?;
    if let Some(key) = &key {
        index_json(
            env,
            "/api/idempotency/commit",
            workspace,
            json!({"key": key.storage_key, "batch_id": id}),
        )
        .await?;
    }
    let shown = crate::public::batch(batch.to_value(), Some(&workspace.base));
    Ok(Response::from_json(&shown)?)
}

async fn create_upstream(
    env: &Env,
    create: &CreateBatch,
    key: Option<&str>,
) -> Result<crate::batch::Batch, V1Error> {
    let request = gateway::create_batch(create, key)?;
    let response = config::gateway(env)
        .send(request)
        .await
        .map_err(gateway::GatewayError::from)?;
    Ok(gateway::parse_batch(&response)?)
}

/// The webhook the worker attaches: its own `/webhooks/aistats` (or `PUBLIC_URL`), the first
/// secret of `WEBHOOK_SECRETS`, and `WEBHOOK_EVENTS` when set.
fn webhook(env: &Env, req: &Request) -> Result<WebhookRequest, V1Error> {
    let base = api_base(env, req)?;
    let secret = config::text(env, "WEBHOOK_SECRETS")
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .ok_or_else(|| {
            V1Error::Misconfigured("WEBHOOK_SECRETS is not set, so batches cannot be signed".into())
        })?;
    let events = config::text(env, "WEBHOOK_EVENTS")
        .map(|e| e.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    Ok(WebhookRequest {
        url: format!("{base}/webhooks/aistats"),
        events,
        secret: Some(secret),
    })
}

/// POSTs JSON to an index route and returns its JSON answer (errors passed on).
async fn index_json(
    env: &Env,
    path: &str,
    workspace: &Caller,
    body: Value,
) -> Result<Value, V1Error> {
    let bytes = serde_json::to_vec(&body).map_err(|e| V1Error::Unavailable(e.to_string()))?;
    let mut resp = index_call(env, Method::Post, path, workspace, Some(bytes)).await?;
    if resp.status_code() >= 300 {
        return Err(V1Error::Unavailable(format!(
            "the index answered {} to {path}",
            resp.status_code()
        )));
    }
    Ok(resp.json().await?)
}
