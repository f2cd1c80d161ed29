//! `BatchClientCore`: the wasm half of the npm `BatchClient`.
//!
//! Each method builds its request with the core ([`crate::gateway`]), sends it through
//! `FetchTransport` and parses the answer with the core, then hands JSON to JavaScript. The
//! handwritten `client.js` adds what is idiomatic there and awkward here: async iterators over
//! pages, timers and `AbortSignal`, the WebSocket watcher and the `BatchhookError` class.
//!
//! Methods return `Promise`s built from owned copies of the client, so a JavaScript caller may
//! run several at once and drop the client while they are in flight.
//!
//! The worker's API extends the gateway's with `/pause`, `/resume`, `/results` and `/events`
//! under a batch. Their paths are derived from the core's `get_batch` path, so batch ids are
//! encoded in one place.

use super::errors::ClientError;
use super::transport::FetchTransport;
use crate::batch::{Batch, JobView, LifecycleStatus, ListQuery};
use crate::gateway::{self, CreateBatch, Gateway, Method, Request, Transport};
use crate::jsonl;
use crate::reconcile::{wait_for_terminal, Schedule, Sleeper, WaitError, WaitEvent, WaitOptions};
use js_sys::{Function, Promise};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::future::Future;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// JSON-serialisable Rust value → plain JavaScript value (via `JSON.parse`, which keeps the
/// wasm small compared with a structural serializer).
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    match serde_json::to_string(value) {
        Ok(text) => js_sys::JSON::parse(&text).unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    }
}

fn invalid_argument(message: impl Into<String>) -> ClientError {
    ClientError::Api(Box::new(gateway::GatewayError::InvalidArgument(
        message.into(),
    )))
}

/// The options of `createBatch`, as the JavaScript wrapper passes them (camelCase JSON).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateOptions {
    input_file_id: Option<String>,
    endpoint: Option<String>,
    completion_window: Option<String>,
    #[serde(default)]
    metadata: Map<String, Value>,
}

/// The client's state: a gateway over the fetch transport. Cheap to clone (one `Rc`).
struct Inner {
    transport: FetchTransport,
    schedule: Schedule,
}

impl Inner {
    fn gateway(&self) -> Gateway<&FetchTransport> {
        Gateway::new(&self.transport)
    }

    /// A worker-only request under a batch: `{method} /v1/batches/{id}{suffix}`.
    fn batch_request(
        &self,
        method: Method,
        id: &str,
        suffix: &str,
    ) -> Result<Request, ClientError> {
        let mut request = gateway::get_batch(id)?;
        request.method = method;
        request.path.push_str(suffix);
        Ok(request)
    }

    /// Sends a request built by the core and returns the answer's JSON as the server wrote it
    /// (unknown fields included), or the core's classified error. Every method goes through
    /// here, so the send-and-check code exists once in the wasm.
    async fn send_json(&self, request: Request) -> Result<JsValue, ClientError> {
        let response = self
            .transport
            .send(request)
            .await
            .map_err(gateway::GatewayError::from)?;
        let body = gateway::success(&response)?;
        let text =
            std::str::from_utf8(body).map_err(|_| gateway::GatewayError::InvalidResponse {
                status: response.status,
                detail: "the body is not UTF-8 JSON".to_owned(),
            })?;
        js_sys::JSON::parse(text).map_err(|_| {
            ClientError::from(gateway::GatewayError::InvalidResponse {
                status: response.status,
                detail: "the body is not JSON".to_owned(),
            })
        })
    }

    async fn batch_action(&self, id: &str, suffix: &str) -> Result<JsValue, ClientError> {
        self.send_json(self.batch_request(Method::Post, id, suffix)?)
            .await
    }

    /// Result rows from the worker's `/results`, or, where that route does not exist (a plain
    /// gateway), from the batch's output file in one page.
    async fn results_page(&self, id: &str, query: String) -> Result<JsValue, ClientError> {
        let request = self.batch_request(Method::Get, id, &format!("/results{query}"))?;
        match self.send_json(request).await {
            Err(ClientError::Api(e)) if matches!(e.status(), Some(404 | 405)) => {
                let batch = self.gateway().get_batch(id).await?;
                self.results_from_files(&batch).await
            }
            other => other,
        }
    }

    async fn results_from_files(&self, batch: &Batch) -> Result<JsValue, ClientError> {
        if !batch.is_terminal() {
            return Err(invalid_argument(
                "the batch has not finished yet; results are available once it is completed",
            ));
        }
        let mut rows = Vec::new();
        for file in [&batch.output_file_id, &batch.error_file_id]
            .into_iter()
            .flatten()
        {
            let content = self.gateway().file_content(file).await?;
            for line in content.split(|b| *b == b'\n') {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let row: Value = serde_json::from_slice(line).map_err(|e| {
                    gateway::GatewayError::InvalidResponse {
                        status: 200,
                        detail: format!("a row of file {file} is not JSON: {e}"),
                    }
                })?;
                rows.push(row);
            }
        }
        let last_id = rows
            .last()
            .and_then(|r| r.get("custom_id"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(to_js(&serde_json::json!({
            "object": "list",
            "data": rows,
            "last_id": last_id,
            "has_more": false,
        })))
    }
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: f64) -> JsValue;
}

/// `Date.now()` and `setTimeout` for the core's wait driver. Once `signal` has fired, a sleep
/// never ends: the JavaScript wrapper has already rejected with the signal's reason, and the
/// abandoned future is collected with its promise.
struct JsSleeper {
    signal: Option<web_sys::AbortSignal>,
}

impl Sleeper for JsSleeper {
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    async fn sleep(&self, duration: std::time::Duration) {
        if self.signal.as_ref().is_some_and(|s| s.aborted()) {
            std::future::pending::<()>().await;
        }
        let ms = duration.as_millis() as f64;
        let timer = Promise::new(&mut |resolve, _reject| {
            set_timeout(&resolve, ms);
        });
        let _ = wasm_bindgen_futures::JsFuture::from(timer).await;
        if self.signal.as_ref().is_some_and(|s| s.aborted()) {
            std::future::pending::<()>().await;
        }
    }
}

fn wait_error(e: WaitError) -> ClientError {
    match e {
        WaitError::Gateway(e) | WaitError::GaveUp { last: e, .. } => ClientError::Api(Box::new(e)),
        deadline => ClientError::Timeout(deadline.to_string()),
    }
}

/// `host[:port]` of an absolute URL, ignoring the scheme (http and ws share an origin here).
fn origin(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?', '#']).next().unwrap_or(rest))
}

fn promise<F>(future: F) -> Promise
where
    F: Future<Output = Result<JsValue, ClientError>> + 'static,
{
    future_to_promise(async move { future.await.map_err(JsValue::from) })
}

/// A random multipart boundary. It only has to be absent from the file (checked by the core),
/// not secret, so `Math.random` is enough.
fn boundary() -> String {
    let mut out = String::from("batchhook-");
    for _ in 0..4 {
        let n = (js_sys::Math::random() * 4_294_967_296.0) as u32;
        out.push_str(&format!("{n:08x}"));
    }
    out
}

/// The wasm core of `BatchClient`; use `BatchClient` from the npm package instead.
#[wasm_bindgen]
pub struct BatchClientCore {
    inner: Rc<Inner>,
}

#[wasm_bindgen]
impl BatchClientCore {
    /// A client of the API at `base_url` with bearer `token`, sending through `fetch` if given.
    /// Polls (wait, watch fallback) back off from `poll_min_ms` (default 1 s) to `poll_max_ms`
    /// (default 30 s).
    #[wasm_bindgen(constructor)]
    pub fn new(
        base_url: String,
        token: String,
        fetch: Option<Function>,
        poll_min_ms: Option<u32>,
        poll_max_ms: Option<u32>,
    ) -> Result<BatchClientCore, JsValue> {
        let trimmed = base_url.trim();
        if !(trimmed.starts_with("https://") || trimmed.starts_with("http://")) {
            return Err(invalid_argument(format!(
                "baseUrl {trimmed:?} must be an absolute http(s) URL, e.g. https://batches.example.com"
            ))
            .into());
        }
        Ok(BatchClientCore {
            inner: Rc::new(Inner {
                transport: FetchTransport::new(trimmed.to_owned(), token, fetch),
                schedule: Schedule::from_millis(
                    u64::from(poll_min_ms.unwrap_or(1_000)),
                    u64::from(poll_max_ms.unwrap_or(30_000)),
                ),
            }),
        })
    }

    /// Validates `content` as a batch input for `endpoint`, then uploads it as `filename`.
    #[wasm_bindgen(js_name = uploadFile)]
    pub fn upload_file(&self, content: Vec<u8>, filename: String, endpoint: String) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let report = jsonl::validate(&content, &endpoint);
            if !report.is_valid() {
                return Err(ClientError::InvalidJsonl(Box::new(report)));
            }
            // A boundary that happens to occur in the file is refused by the core: draw again.
            let mut attempt = 0;
            let request = loop {
                match gateway::upload_file(&filename, &content, &boundary()) {
                    Err(gateway::GatewayError::InvalidArgument(_)) if attempt < 3 => attempt += 1,
                    other => break other?,
                }
            };
            inner.send_json(request).await
        })
    }

    /// Creates a batch from the camelCase options JSON, with an `Idempotency-Key`.
    #[wasm_bindgen(js_name = createBatch)]
    pub fn create_batch(&self, options_json: String, idempotency_key: String) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let options: CreateOptions = serde_json::from_str(&options_json)
                .map_err(|e| invalid_argument(format!("createBatch options are not valid: {e}")))?;
            let Some(input_file_id) = options.input_file_id else {
                return Err(invalid_argument(
                    "createBatch needs inputFileId (the id uploadFile returned)",
                ));
            };
            let Some(endpoint) = options.endpoint else {
                return Err(invalid_argument(
                    "createBatch needs endpoint, e.g. \"/v1/chat/completions\"",
                ));
            };
            let mut create = CreateBatch::new(&input_file_id, &endpoint);
            if let Some(window) = options.completion_window {
                create.completion_window = window;
            }
            if !options.metadata.is_empty() {
                create.metadata = Some(options.metadata);
            }
            let key = Some(idempotency_key.as_str()).filter(|k| !k.is_empty());
            inner.send_json(gateway::create_batch(&create, key)?).await
        })
    }

    /// Fetches a batch.
    #[wasm_bindgen(js_name = getBatch)]
    pub fn get_batch(&self, id: String) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.send_json(gateway::get_batch(&id)?).await })
    }

    /// One page of the list; `status` is comma-separated statuses or aliases.
    #[wasm_bindgen(js_name = listBatches)]
    pub fn list_batches(
        &self,
        status: Option<String>,
        limit: Option<u32>,
        after: Option<String>,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let mut raw = Vec::new();
            if let Some(status) = status {
                raw.push(format!("status={}", js_sys::encode_uri_component(&status)));
            }
            if let Some(limit) = limit {
                raw.push(format!("limit={limit}"));
            }
            if let Some(after) = after {
                raw.push(format!("after={}", js_sys::encode_uri_component(&after)));
            }
            let query =
                ListQuery::parse(&raw.join("&")).map_err(|e| invalid_argument(e.to_string()))?;
            inner.send_json(gateway::list_batches(&query)).await
        })
    }

    /// Requests cancellation.
    #[wasm_bindgen(js_name = cancelBatch)]
    pub fn cancel_batch(&self, id: String) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.send_json(gateway::cancel_batch(&id)?).await })
    }

    /// Pauses batchhook's polling and fan-out of the batch (worker API).
    #[wasm_bindgen(js_name = pauseBatch)]
    pub fn pause_batch(&self, id: String) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.batch_action(&id, "/pause").await })
    }

    /// Resumes polling and fan-out (worker API).
    #[wasm_bindgen(js_name = resumeBatch)]
    pub fn resume_batch(&self, id: String) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.batch_action(&id, "/resume").await })
    }

    /// One page of result rows after the cursor `after`.
    #[wasm_bindgen(js_name = resultsPage)]
    pub fn results_page(&self, id: String, after: Option<String>, limit: Option<u32>) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let mut raw = Vec::new();
            if let Some(after) = after {
                raw.push(format!("after={}", js_sys::encode_uri_component(&after)));
            }
            if let Some(limit) = limit {
                raw.push(format!("limit={limit}"));
            }
            let query = if raw.is_empty() {
                String::new()
            } else {
                format!("?{}", raw.join("&"))
            };
            inner.results_page(&id, query).await
        })
    }

    /// The batch's change events after sequence number `since` (worker API, JSON form).
    #[wasm_bindgen(js_name = eventsSince)]
    pub fn events_since(&self, id: String, since: f64) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let request = inner.batch_request(
                Method::Get,
                &id,
                &format!("/events?since={}", since.max(0.0) as u64),
            )?;
            inner.send_json(request).await
        })
    }

    /// The core's delay in milliseconds before the next poll, after `attempt` polls that saw no
    /// change; never below the server's `Retry-After` (`retry_after_ms`).
    #[wasm_bindgen(js_name = pollDelayMs)]
    pub fn poll_delay_ms(&self, attempt: u32, seed: u32, retry_after_ms: Option<f64>) -> f64 {
        let floor = retry_after_ms
            .filter(|ms| ms.is_finite() && *ms > 0.0)
            .map(|ms| std::time::Duration::from_millis(ms as u64));
        self.inner
            .schedule
            .next_delay(attempt, u64::from(seed), floor)
            .as_millis() as f64
    }

    /// Polls the batch on the core's schedule until it is terminal (see
    /// [`wait_for_terminal`]), calling `on_poll(batch)` after every successful poll. Stops at
    /// `deadline_ms` (Unix ms) with a timeout error; `signal` aborts requests in flight.
    #[wasm_bindgen(js_name = waitForBatch)]
    pub fn wait_for_batch(
        &self,
        id: String,
        seed: u32,
        deadline_ms: Option<f64>,
        on_poll: Option<Function>,
        signal: Option<web_sys::AbortSignal>,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let transport = inner.transport.with_signal(signal.clone());
            let gateway = Gateway::new(&transport);
            let options = WaitOptions {
                schedule: inner.schedule,
                seed: u64::from(seed),
                deadline_ms: deadline_ms.map(|ms| ms.max(0.0) as u64),
                ..WaitOptions::default()
            };
            let sleeper = JsSleeper { signal };
            let report = |event: WaitEvent<'_>| {
                if let (WaitEvent::Polled { batch, .. }, Some(f)) = (event, &on_poll) {
                    let _ = f.call1(&JsValue::UNDEFINED, &to_js(batch));
                }
            };
            let batch = wait_for_terminal(&gateway, &id, &options, &sleeper, report)
                .await
                .map_err(wait_error)?;
            Ok(to_js(&batch))
        })
    }

    /// The `ws(s)://` URL of the batch's live updates: the batch's own `websocket_url` when this
    /// API's origin serves it and it is not the worker's `/events` (the gateway's `/ws`, which
    /// takes the token as `?access_token=` since a browser WebSocket cannot send an
    /// `Authorization` header), else the worker's `/events` (no token in the URL: the wrapper
    /// offers it as a subprotocol).
    #[wasm_bindgen(js_name = eventsUrl)]
    pub fn events_url(&self, id: String, websocket_url: Option<String>) -> Result<String, JsValue> {
        let own = self.inner.batch_request(Method::Get, &id, "/events")?;
        let own = self.inner.transport.url(&own.path);
        // The worker advertises its own `/events` as `websocket_url`: that one takes the token
        // as a subprotocol, like the URL built here.
        let gateway_socket = websocket_url.filter(|u| {
            let path = u.split(['?', '#']).next().unwrap_or(u);
            origin(u).is_some() && origin(u) == origin(&own) && !path.ends_with("/events")
        });
        let with_token = gateway_socket.is_some();
        let url = gateway_socket.unwrap_or(own);
        let url = match url.split_once("://") {
            Some(("https" | "wss", rest)) => format!("wss://{rest}"),
            Some((_, rest)) => format!("ws://{rest}"),
            None => url,
        };
        let token = self.inner.transport.token();
        if token.is_empty() || !with_token {
            return Ok(url);
        }
        let joiner = if url.contains('?') { '&' } else { '?' };
        Ok(format!(
            "{url}{joiner}access_token={}",
            js_sys::encode_uri_component(token)
        ))
    }
}

/// Validates a JSONL batch input for `endpoint`: the core's report plus `valid`.
#[wasm_bindgen(js_name = validateJsonl)]
pub fn validate_jsonl(text: &str, endpoint: &str) -> JsValue {
    let report = jsonl::validate(text.as_bytes(), endpoint);
    let mut value = serde_json::to_value(&report).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("valid".to_owned(), Value::Bool(report.is_valid()));
    }
    to_js(&value)
}

/// Where the batch's failures are, by the core's classification (without batchhook's own
/// context, which the worker adds in its `batchhook` block): a list of `{kind, …}`.
#[wasm_bindgen(js_name = classifyFailures)]
pub fn classify_failures(json: &str) -> Result<JsValue, JsValue> {
    let batch = Batch::from_json(json.as_bytes())
        .map_err(|e| JsValue::from(invalid_argument(e.to_string())))?;
    Ok(to_js(&crate::reconcile::classify(
        &batch,
        &Default::default(),
    )))
}

/// Whether a status or alias is terminal.
#[wasm_bindgen(js_name = isTerminalStatus)]
pub fn is_terminal_status(status: &str) -> bool {
    LifecycleStatus::parse(status).is_terminal()
}

/// The normalised view of a batch (JSON text): status, counts, progress fraction, tokens,
/// cost, error message. Only the gateway/worker batch shape: the other services' shapes never
/// reach a browser client, and their parsers would only add weight.
#[wasm_bindgen(js_name = jobView)]
pub fn job_view(json: &str) -> Result<JsValue, JsValue> {
    Batch::from_json(json.as_bytes())
        .map(|batch| to_js(&JobView::from_batch(&batch)))
        .map_err(|e| invalid_argument(e.to_string()).into())
}
