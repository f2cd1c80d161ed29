//! One request builder and one response parser per endpoint of the batch API.

use super::error::GatewayError;
use super::files::FileObject;
use super::http::{Method, Request, Response};
use super::multipart::UploadParts;
use crate::batch::{Batch, ListPage, ListQuery};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// The body of `POST /v1/batches`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateBatch {
    /// The uploaded input file (`POST /v1/files`).
    pub input_file_id: String,
    /// The endpoint every input row targets, e.g. `/v1/chat/completions`.
    pub endpoint: String,
    /// How long the batch may run, e.g. `24h`.
    pub completion_window: String,
    /// Up to 16 string pairs to tag the batch with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// Where the gateway should send signed webhooks for this batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookRequest>,
}

/// The webhook part of a create request.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRequest {
    /// The receiver's URL (the worker's `/webhooks/:source`).
    pub url: String,
    /// Event types to send, e.g. `batch.completed`; empty means the gateway's default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// The `whsec_…` signing secret. Never printed by `Debug`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl fmt::Debug for WebhookRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRequest")
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

impl fmt::Debug for CreateBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateBatch")
            .field("input_file_id", &self.input_file_id)
            .field("endpoint", &self.endpoint)
            .field("completion_window", &self.completion_window)
            .field("metadata", &self.metadata)
            .field("webhook", &self.webhook)
            .finish()
    }
}

impl CreateBatch {
    /// A create request with the usual `24h` window and no metadata or webhook.
    pub fn new(input_file_id: &str, endpoint: &str) -> Self {
        CreateBatch {
            input_file_id: input_file_id.to_owned(),
            endpoint: endpoint.to_owned(),
            completion_window: "24h".to_owned(),
            metadata: None,
            webhook: None,
        }
    }

    /// Checks what the gateway would reject, with a message saying what to change.
    pub fn validate(&self) -> Result<(), GatewayError> {
        let bad = |m: String| Err(GatewayError::InvalidArgument(m));
        if self.input_file_id.trim().is_empty() {
            return bad(
                "input_file_id is empty; upload the JSONL file first and pass its id".into(),
            );
        }
        if !self.endpoint.starts_with("/v1/") {
            return bad(format!(
                "endpoint {:?} must be an API path such as /v1/chat/completions",
                self.endpoint
            ));
        }
        if self.completion_window.trim().is_empty() {
            return bad("completion_window is empty; use e.g. \"24h\"".into());
        }
        if let Some(meta) = &self.metadata {
            if meta.len() > 16 {
                return bad(format!(
                    "metadata has {} keys; at most 16 are allowed",
                    meta.len()
                ));
            }
            for (k, v) in meta {
                if k.chars().count() > 64 {
                    return bad(format!("metadata key {k:?} is longer than 64 characters"));
                }
                match v {
                    Value::String(s) if s.chars().count() <= 512 => {}
                    Value::String(_) => {
                        return bad(format!(
                            "metadata value of {k:?} is longer than 512 characters"
                        ))
                    }
                    _ => return bad(format!("metadata value of {k:?} must be a string")),
                }
            }
        }
        if let Some(hook) = &self.webhook {
            if !(hook.url.starts_with("https://") || hook.url.starts_with("http://")) {
                return bad(format!("webhook url {:?} must be an http(s) URL", hook.url));
            }
            if hook.secret.as_deref().is_some_and(str::is_empty) {
                return bad("webhook secret is empty; pass a whsec_… secret or none".into());
            }
        }
        Ok(())
    }
}

/// Percent-encodes an id for use as one path segment; empty ids are refused.
fn segment(what: &str, id: &str) -> Result<String, GatewayError> {
    if id.is_empty() {
        return Err(GatewayError::InvalidArgument(format!(
            "the {what} id is empty"
        )));
    }
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

/// `POST /v1/files` with `purpose=batch` and `content` as the file, in one body.
pub fn upload_file(
    filename: &str,
    content: &[u8],
    boundary: &str,
) -> Result<Request, GatewayError> {
    let parts = UploadParts::new(filename, boundary)?;
    parts.check_content(content)?;
    let mut req = Request::new(Method::Post, "/v1/files".to_owned());
    req.headers
        .push(("content-type".to_owned(), parts.content_type.clone()));
    req.body = parts.body(content);
    Ok(req)
}

/// `POST /v1/batches`. An `idempotency_key` lets a retried create return the first batch
/// instead of starting a second one (sent as `idempotency-key`).
pub fn create_batch(
    create: &CreateBatch,
    idempotency_key: Option<&str>,
) -> Result<Request, GatewayError> {
    create.validate()?;
    let mut req = Request::new(Method::Post, "/v1/batches".to_owned());
    req.headers
        .push(("content-type".to_owned(), "application/json".to_owned()));
    if let Some(key) = idempotency_key {
        req.headers
            .push(("idempotency-key".to_owned(), key.to_owned()));
    }
    req.body =
        serde_json::to_vec(create).map_err(|e| GatewayError::InvalidArgument(e.to_string()))?;
    Ok(req)
}

/// `GET /v1/batches/{id}`.
pub fn get_batch(batch_id: &str) -> Result<Request, GatewayError> {
    Ok(Request::new(
        Method::Get,
        format!("/v1/batches/{}", segment("batch", batch_id)?),
    ))
}

/// `GET /v1/batches?…`.
pub fn list_batches(query: &ListQuery) -> Request {
    let qs = query.to_query_string();
    let path = if qs.is_empty() {
        "/v1/batches".to_owned()
    } else {
        format!("/v1/batches?{qs}")
    };
    Request::new(Method::Get, path)
}

/// `POST /v1/batches/{id}/cancel`.
pub fn cancel_batch(batch_id: &str) -> Result<Request, GatewayError> {
    Ok(Request::new(
        Method::Post,
        format!("/v1/batches/{}/cancel", segment("batch", batch_id)?),
    ))
}

/// `GET /v1/files/{id}`.
pub fn get_file(file_id: &str) -> Result<Request, GatewayError> {
    Ok(Request::new(
        Method::Get,
        format!("/v1/files/{}", segment("file", file_id)?),
    ))
}

/// `GET /v1/files/{id}/content`.
pub fn file_content(file_id: &str) -> Result<Request, GatewayError> {
    let mut req = Request::new(
        Method::Get,
        format!("/v1/files/{}/content", segment("file", file_id)?),
    );
    req.headers[0].1 = "application/jsonl, application/octet-stream, */*".to_owned();
    Ok(req)
}

/// The body of a 2xx response, or the classified error.
pub fn success(response: &Response) -> Result<&[u8], GatewayError> {
    if (200..300).contains(&response.status) {
        Ok(&response.body)
    } else {
        Err(GatewayError::from_response(response))
    }
}

fn json<T: DeserializeOwned>(response: &Response, what: &str) -> Result<T, GatewayError> {
    let body = success(response)?;
    serde_json::from_slice(body).map_err(|e| GatewayError::InvalidResponse {
        status: response.status,
        detail: format!("expected {what}: {e}"),
    })
}

/// Parses a batch from create, get or cancel.
pub fn parse_batch(response: &Response) -> Result<Batch, GatewayError> {
    let body = success(response)?;
    Batch::from_json(body).map_err(|e| GatewayError::InvalidResponse {
        status: response.status,
        detail: format!("expected a batch object: {e}"),
    })
}

/// Parses the list envelope.
pub fn parse_list(response: &Response) -> Result<ListPage<Batch>, GatewayError> {
    json(response, "a list envelope")
}

/// Parses a file object from upload or file metadata.
pub fn parse_file(response: &Response) -> Result<FileObject, GatewayError> {
    json(response, "a file object")
}

/// The raw bytes of a file's content.
pub fn parse_content(response: Response) -> Result<Vec<u8>, GatewayError> {
    success(&response)?;
    Ok(response.body)
}
