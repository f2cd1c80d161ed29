//! Webhook deliveries: one Standard-Webhooks-signed POST per subscribed event, sent in order
//! per batch, retried with exponential backoff on non-2xx or timeout (same `webhook-id`, same
//! body), every attempt recorded on the batch. Delivery faults (drop, duplicate, reorder,
//! delay, wrong secret) are applied here from the batch's own knobs or the global ones.

use std::time::Duration;

use batchhook::batch::Batch;
use batchhook::event::{Event, EventType};
use batchhook::signature::{Secret, Signer};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::clock::real_unix_s;
use crate::faults::Faults;
use crate::model::fnv1a;
use crate::render;
use crate::state::{App, Attempt, BatchRecord};

/// Event types a batch may subscribe to.
pub const EVENT_TYPES: &[&str] = &[
    "batch.in_progress",
    "batch.progress",
    "batch.finalizing",
    "batch.cancelling",
    "batch.completed",
    "batch.failed",
    "batch.cancelled",
    "batch.expired",
];

/// Subscribed when a webhook names no events: the terminal ones.
pub const DEFAULT_EVENTS: &[&str] = &[
    "batch.completed",
    "batch.failed",
    "batch.cancelled",
    "batch.expired",
];

/// How many bytes of a receiver's answer an attempt keeps.
const PREVIEW_BYTES: usize = 256;

/// One message to deliver; its id and body never change across retries and duplicates.
#[derive(Clone)]
pub struct Delivery {
    /// The batch it is about.
    pub batch_id: String,
    /// e.g. `batch.completed`.
    pub event_type: String,
    /// `event_type`, or `batch.progress:<percent>`.
    pub delivery_key: String,
    /// The `webhook-id` header.
    pub msg_id: String,
    /// The exact bytes signed and sent.
    pub body: Bytes,
    /// Destination.
    pub url: String,
}

/// Whether `b`'s webhook subscribes to `event_type`.
pub fn subscribes(b: &BatchRecord, event_type: &str) -> bool {
    b.webhook
        .as_ref()
        .is_some_and(|w| w.events.iter().any(|e| e == event_type))
}

/// Records and sends `event_type` for `b` if its webhook subscribes to it.
pub fn emit(app: &App, b: &mut BatchRecord, global: &Faults, event_type: &str, step: Option<u32>) {
    let Some(w) = &b.webhook else { return };
    if !subscribes(b, event_type) {
        return;
    }
    let delivery_key = match step {
        Some(p) => format!("{event_type}:{p}"),
        None => event_type.to_string(),
    };
    let now = app.0.clock.now_s();
    b.deliveries.last_dispatched_at = Some(now);
    let digest = fnv1a(format!("{}/{}/{}", app.0.seed, b.id, delivery_key).as_bytes());
    let msg_id = format!(
        "msg_{digest:016x}{:08x}",
        fnv1a(delivery_key.as_bytes()) as u32
    );
    let thin = b.effective_faults(global).thin_events();
    let body = payload(b, &app.0.base_url, event_type, &msg_id, now, thin);
    let d = Delivery {
        batch_id: b.id.clone(),
        event_type: event_type.to_string(),
        delivery_key,
        msg_id,
        body: Bytes::from(body),
        url: w.url.clone(),
    };
    b.touch();
    if b.effective_faults(global).reorder() {
        b.deliveries.held.push(d);
        return;
    }
    dispatch(app, b, global, vec![d]);
}

/// Sends the deliveries the `reorder` fault held back, newest first.
pub fn flush_held(app: &App, b: &mut BatchRecord, global: &Faults) {
    let mut held = std::mem::take(&mut b.deliveries.held);
    held.reverse();
    if !held.is_empty() {
        dispatch(app, b, global, held);
    }
}

/// The webhook event body: the core's full event (`batchhook::event::Event::for_batch`, recipe
/// §5) built from the batch object as `GET /v1/batches/{id}` would return it right now, or with
/// the `thin_events` knob OpenAI's thin event (`Event::thin`, only `data.id`).
fn payload(
    b: &BatchRecord,
    base_url: &str,
    event_type: &str,
    msg_id: &str,
    now: i64,
    thin: bool,
) -> Vec<u8> {
    let event_id = format!("evt_{}", msg_id.trim_start_matches("msg_"));
    let event_type = EventType::new(event_type);
    let event = if thin {
        Event::thin(&event_id, event_type, now, &b.id)
    } else {
        let object = render::batch_json(b, base_url);
        let batch = Batch::from_value(object).expect("the emulator renders a JSON object");
        Event::for_batch(&event_id, event_type, now, &batch)
    };
    event.to_json().into_bytes()
}

/// Drops (per the `drop_rate` fault) or queues deliveries on the batch's ordered sender.
fn dispatch(app: &App, b: &mut BatchRecord, global: &Faults, list: Vec<Delivery>) {
    let faults = b.effective_faults(global);
    let mut keep = Vec::new();
    for d in list {
        if b.rng.chance(faults.drop_rate()) {
            log(
                app,
                &d,
                json!({ "outcome": "dropped", "attempt": 0, "copy": 0 }),
            );
        } else {
            keep.push(d);
        }
    }
    if keep.is_empty() {
        return;
    }
    let queue = b.deliveries.queue.get_or_insert_with(|| {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(ordered_sender(app.clone(), rx));
        tx
    });
    let _ = queue.send(keep);
}

/// Sends first attempts in order; failed ones continue on their own retry task.
async fn ordered_sender(app: App, mut rx: mpsc::UnboundedReceiver<Vec<Delivery>>) {
    while let Some(list) = rx.recv().await {
        for d in list {
            if let Some(next_ms) = attempt(&app, &d, 1).await {
                tokio::spawn(retry_loop(app.clone(), d, 2, next_ms));
            }
        }
    }
}

async fn retry_loop(app: App, d: Delivery, mut n: u32, mut at_ms: i64) {
    loop {
        app.0.clock.sleep_until(at_ms).await;
        match attempt(&app, &d, n).await {
            Some(next) => {
                n += 1;
                at_ms = next;
            }
            None => return,
        }
    }
}

/// One attempt (sent `duplicate` times); returns the emulated time of the next retry if one
/// is due.
async fn attempt(app: &App, d: &Delivery, n: u32) -> Option<i64> {
    let (faults, secret, wrong) = {
        let mut st = app.lock();
        let global = st.faults.clone();
        let b = st.batches.get_mut(&d.batch_id)?;
        let faults = b.effective_faults(&global);
        let secret = b.webhook.as_ref().and_then(|w| w.secret.clone());
        let wrong = b.rng.chance(faults.wrong_secret_rate());
        // Not `whsec_`: the raw text itself is the (wrong) key, no encoding needed.
        let wrong = wrong.then(|| format!("emulator-wrong-secret-{}", b.rng.hex(16)));
        (faults, secret, wrong)
    };
    if faults.delay_ms() > 0 {
        tokio::time::sleep(Duration::from_millis(faults.delay_ms())).await;
    }
    let ts = real_unix_s();
    // `webhook-id` is always sent (receivers dedupe on it); the rest is the scheme's own.
    let mut headers = vec![("webhook-id".to_string(), d.msg_id.clone())];
    let scheme = faults.scheme();
    let signer = wrong
        .as_ref()
        .or(secret.as_ref())
        .and_then(|text| Secret::parse(scheme, text).ok())
        .and_then(|s| Signer::new(scheme, [s]).ok());
    match signer {
        Some(signer) => headers.extend(
            signer
                .headers(&d.msg_id, ts, &d.body)
                .into_iter()
                .filter(|(name, _)| *name != "webhook-id")
                .map(|(name, value)| (name.to_string(), value)),
        ),
        None => headers.push(("webhook-timestamp".to_string(), ts.to_string())),
    }
    let signature = match (&wrong, &secret) {
        (Some(_), _) => "wrong_secret",
        (None, Some(_)) => "valid",
        (None, None) => "unsigned",
    };
    let tried_at = app.0.clock.now_s();
    let timeout = Duration::from_millis(faults.webhook_timeout_ms());
    let mut first = None;
    for copy in 0..faults.duplicate() {
        let result = post(&d.url, &headers, d.body.clone(), timeout).await;
        let (status, error) = match &result {
            Ok((s, _)) => (Some(*s), None),
            Err(e) => (None, Some(e.clone())),
        };
        log(
            app,
            d,
            json!({
                "outcome": "sent", "attempt": n, "copy": copy, "signature": signature,
                "response_status": status, "error": error,
            }),
        );
        first.get_or_insert(result);
    }
    let result = first.expect("at least one copy is sent");
    let now_ms = app.0.clock.now_ms();
    let mut st = app.lock();
    let b = st.batches.get_mut(&d.batch_id)?;
    let max = faults.max_attempts();
    let delivered = matches!(result, Ok((s, _)) if (200..300).contains(&s));
    let next = (!delivered && n < max)
        .then(|| now_ms + (faults.retry_base_s() * 1000.0 * 4f64.powi(n as i32 - 1)) as i64);
    let (status, preview, error) = match result {
        Ok((s, p)) => (
            Some(s),
            Some(p),
            (!delivered).then(|| format!("the receiver answered HTTP {s}")),
        ),
        Err(e) => (None, None, Some(e)),
    };
    let attempt_id = format!(
        "whatt_{:016x}",
        fnv1a(format!("{}#{n}", d.msg_id).as_bytes())
    );
    b.deliveries.attempts.push(Attempt {
        id: attempt_id,
        delivery_key: d.delivery_key.clone(),
        event_type: d.event_type.clone(),
        attempt_number: n,
        max_attempts: max,
        tried_at,
        delivered_at: delivered.then_some(now_ms / 1000),
        next_retry_at: next.map(|t| t / 1000),
        response_status: status,
        error_message: error,
        response_body_preview: preview,
    });
    if delivered {
        b.deliveries
            .delivered
            .push((d.delivery_key.clone(), d.event_type.clone()));
    }
    match next {
        Some(t) => b
            .deliveries
            .pending
            .insert(d.delivery_key.clone(), t / 1000),
        None => b.deliveries.pending.remove(&d.delivery_key),
    };
    b.touch();
    next
}

fn log(app: &App, d: &Delivery, mut entry: Value) {
    entry["batch_id"] = d.batch_id.clone().into();
    entry["webhook_id"] = d.msg_id.clone().into();
    entry["event_type"] = d.event_type.clone().into();
    entry["delivery_key"] = d.delivery_key.clone().into();
    let mut log = app.delivery_log();
    entry["seq"] = log.len().into();
    log.push(entry);
}

/// POSTs `body` to a plain-http URL; `(status, body preview)` or why it failed.
async fn post(
    url: &str,
    headers: &[(String, String)],
    body: Bytes,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("the emulator delivers webhooks over plain http:// only")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let send = async {
        let stream = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|e| format!("connection to {authority} failed: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake failed: {e}"))?;
        tokio::spawn(conn);
        let mut req = Request::post(path)
            .header("host", authority)
            .header("content-type", "application/json")
            .header("user-agent", "batchhook-gateway-emulator");
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| format!("bad request: {e}"))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("sending failed: {e}"))?;
        let status = resp.status().as_u16();
        let bytes = Limited::new(resp.into_body(), 64 * 1024)
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let mut preview = String::from_utf8_lossy(&bytes).into_owned();
        if preview.len() > PREVIEW_BYTES {
            let mut end = PREVIEW_BYTES;
            while !preview.is_char_boundary(end) {
                end -= 1;
            }
            preview.truncate(end);
        }
        Ok((status, preview))
    };
    tokio::time::timeout(timeout, send)
        .await
        .map_err(|_| format!("timed out after {} ms", timeout.as_millis()))?
}
