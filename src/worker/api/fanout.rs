//! Fan-out: every stored result row of a batch is forwarded to a Cloudflare Queue when the
//! producer binding `RESULTS_QUEUE` is configured (absent binding: no fan-out, nothing else
//! changes).
//!
//! Rows are sent from the ledger's alarm, right after the ingestion step that stored them, in
//! `sendBatch` calls of at most [`MAX_MESSAGES`] messages and about [`MAX_BATCH_BYTES`] bytes
//! (the Queues limits are 100 messages and 256 KB per batch). The fan-out cursor
//! (`api.fanout` in `meta`) is the storage sequence `n` of the last row whose `sendBatch`
//! resolved; it is written right after each successful send. So:
//! - a row is never sent before it is stored, and rows go out in storage order;
//! - a row whose send was acknowledged is not sent again: the cursor moved past it before the
//!   next batch is built — except if the Durable Object dies in the instant between the
//!   acknowledgement and that cursor write, when that one batch is sent again on restart;
//! - a failed send leaves the cursor where it was and is retried from the same row.
//!
//! Delivery downstream is therefore at-least-once (which is also all Cloudflare Queues promise
//! to consumers): every message carries a stable `id`, `<batch_id>/<result id>`, the same on
//! every send, for consumers to dedupe on.
//!
//! [`Control::may_fan_out`](crate::control::Control::may_fan_out) is checked before every
//! batch: a pause stops fan-out after the batch in flight and resume continues from the
//! cursor; a cancel stops it for good.

use super::ledger::{control, ResultRow};
use crate::worker::{config, store};
use serde_json::{json, Value};
use worker::{Env, Queue, QueueContentType, RawMessageBuilder, SendMessage, SqlStorage, State};

/// The producer binding's name.
pub const BINDING: &str = "RESULTS_QUEUE";
/// Most messages per `sendBatch` (the Queues limit).
pub const MAX_MESSAGES: usize = 100;
/// Body bytes per `sendBatch`, kept under the Queues limit of 256 KB with room for overhead.
pub const MAX_BATCH_BYTES: usize = 200 * 1024;
/// Batches sent per alarm run before yielding (the alarm comes back at once for the rest).
const BATCHES_PER_STEP: usize = 20;
/// Delay before retrying a failed send (ms).
const RETRY_MS: i64 = 5_000;

/// The producer binding, when configured.
pub fn queue(env: &Env) -> Option<Queue> {
    env.queue(BINDING).ok()
}

/// Storage sequence of the last row whose send was acknowledged (0: none).
pub fn cursor(sql: &SqlStorage) -> worker::Result<i64> {
    Ok(store::meta(sql, "api.fanout")?.unwrap_or(0))
}

/// Rows stored but not yet acknowledged by the queue.
pub fn pending(sql: &SqlStorage) -> worker::Result<i64> {
    #[derive(serde::Deserialize)]
    struct Row {
        n: i64,
    }
    Ok(store::first::<Row>(
        sql,
        "SELECT COUNT(*) AS n FROM api_rows WHERE n > ?",
        vec![cursor(sql)?.into()],
    )?
    .map(|r| r.n)
    .unwrap_or(0))
}

/// Whether fan-out has rows to send and may send them now.
pub fn waiting(env: &Env, sql: &SqlStorage) -> worker::Result<bool> {
    Ok(queue(env).is_some() && control(sql)?.may_fan_out() && pending(sql)? > 0)
}

/// The `fanout` part of the batch's `batchhook` block.
pub fn status(env: &Env, sql: &SqlStorage) -> worker::Result<Value> {
    if queue(env).is_none() {
        return Ok(json!({"configured": false}));
    }
    let control = control(sql)?;
    let pending = pending(sql)?;
    let state = if control.cancel.is_some() {
        "stopped"
    } else if control.paused {
        "paused"
    } else if pending > 0 {
        "running"
    } else {
        "idle"
    };
    Ok(json!({
        "configured": true,
        "state": state,
        "sent_through": cursor(sql)?,
        "pending": pending,
    }))
}

/// The message body of one row: the row as the results API shows it, its id there moved to
/// `result_id`, plus `batch_id` and the stable message `id` (`<batch_id>/<result id>`).
fn message(batch_id: &str, row: &ResultRow) -> Value {
    let mut body = row.public();
    if let Some(o) = body.as_object_mut() {
        let result_id = row.public_id();
        o.insert("id".into(), json!(format!("{batch_id}/{result_id}")));
        o.insert("result_id".into(), json!(result_id));
        o.insert("batch_id".into(), json!(batch_id));
    }
    body
}

/// Sends stored rows past the cursor, batch by batch, while fan-out is allowed; returns when
/// the alarm should come back (`None`: nothing left, paused, or no binding).
pub async fn step(state: &State, env: &Env, batch_id: &str) -> worker::Result<Option<i64>> {
    let Some(queue) = queue(env) else {
        return Ok(None);
    };
    let sql = state.storage().sql();
    // Knobs for tests that need fan-out slow enough to interrupt: messages per batch, and a
    // pause between batches (then one batch per alarm run).
    let size = config::number(env, "FANOUT_BATCH_MESSAGES", MAX_MESSAGES as u64)
        .clamp(1, MAX_MESSAGES as u64) as i64;
    let interval = config::number(env, "FANOUT_INTERVAL_MS", 0) as i64;
    let batches = if interval > 0 { 1 } else { BATCHES_PER_STEP };
    for _ in 0..batches {
        if !control(&sql)?.may_fan_out() {
            return Ok(None);
        }
        let after = cursor(&sql)?;
        let rows: Vec<ResultRow> = store::rows(
            &sql,
            "SELECT * FROM api_rows WHERE n > ? ORDER BY n LIMIT ?",
            vec![after.into(), size.into()],
        )?;
        let mut messages: Vec<SendMessage<wasm_bindgen::JsValue>> = Vec::new();
        let mut bytes = 0;
        let mut last = after;
        for row in &rows {
            let body = message(batch_id, row).to_string();
            if !messages.is_empty() && bytes + body.len() > MAX_BATCH_BYTES {
                break;
            }
            bytes += body.len();
            let value = js_sys::JSON::parse(&body)
                .map_err(|_| worker::Error::RustError("a row message is not JSON".into()))?;
            messages.push(
                RawMessageBuilder::new(value).build_with_content_type(QueueContentType::Json),
            );
            last = row.n;
        }
        if messages.is_empty() {
            return Ok(None);
        }
        if let Err(e) = queue.send_raw_batch(messages).await {
            worker::console_warn!("batchhook: fan-out sendBatch failed, will retry: {e}");
            return Ok(Some(js_sys::Date::now() as i64 + RETRY_MS));
        }
        store::set_meta(&sql, "api.fanout", &last)?;
    }
    Ok(Some(js_sys::Date::now() as i64 + interval))
}
