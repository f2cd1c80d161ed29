//! `GET /v1/batches/{id}` as the ledger answers it: the stored batch object plus a `batchhook`
//! block with what batchhook itself knows (timeline, deliveries, polling, signals,
//! classification). The operator API builds on this shape.

use crate::batch::WebhookDelivery;
use crate::ledger::LedgerState;
use crate::worker::errors::ApiError;
use crate::worker::{apply, store};
use serde_json::{json, Map, Value};
use worker::{Response, SqlStorage};

/// The batch view, or `404` when this ledger never saw its batch.
pub fn batch(sql: &SqlStorage, alarm_pending: Option<i64>) -> Result<Response, ApiError> {
    let Some(row) = store::batch(sql)? else {
        return Err(ApiError::BatchNotFound);
    };
    let mut object: Map<String, Value> = serde_json::from_str(&row.object)
        .map_err(|e| ApiError::Unavailable(format!("the stored batch is unreadable: {e}")))?;
    let batch = apply::stored_batch(sql)?.unwrap_or_default();
    let deliveries = store::deliveries(sql)?;
    let poll = apply::poll_state(sql)?;
    let polled_delivery: Option<WebhookDelivery> = batch
        .webhook
        .as_ref()
        .and_then(|w| w.delivery.clone())
        .or(store::meta(sql, "webhook_delivery")?);
    let ledger: Option<LedgerState> = store::meta(sql, "ledger")?;
    let gateway_delivery = match &ledger {
        Some(l) => l.facts.freshest_report(polled_delivery.as_ref()),
        None => polled_delivery,
    };
    let count = |outcome: &str| deliveries.iter().filter(|d| d.outcome == outcome).count();
    let last_delivery = deliveries.iter().max_by_key(|d| d.received_at);
    let cancel: Option<Value> = store::meta(sql, "cancel_request")?;
    let classification: Value = store::meta(sql, "classification")?.unwrap_or(json!([]));
    let signals = json!({
        "lifecycle_status": row.status,
        "provider": batch.provider,
        "native_batch_id": batch.native_batch_id,
        "request_id": batch.request_id,
        "last_gateway_request_id": poll.last_request_id,
        "webhooks_received": deliveries.len(),
        "webhooks_applied": count("applied"),
        "webhook_duplicates": deliveries.iter().map(|d| d.duplicates).sum::<i64>(),
        "webhooks_stale": count("stale"),
        "delivery_facts": ledger.map(|l| l.facts),
        "last_webhook_at": last_delivery.map(|d| d.received_at),
        "gateway_delivery": gateway_delivery,
        "last_delivery_http_status": gateway_delivery.as_ref().and_then(|d| d.last_response_status),
        "last_failure_at": gateway_delivery.as_ref().and_then(|d| d.last_failure_at.clone()),
        "last_failure_message": gateway_delivery.as_ref().and_then(|d| d.last_error_message.clone()),
        "cancel_url_available_at_cancel": cancel.as_ref().and_then(|c| c.get("cancel_url_available").cloned()),
    });
    object.insert(
        "batchhook".into(),
        json!({
            "status": row.status,
            "updated_at": row.updated_at,
            "updated_by": row.updated_by,
            "timeline": store::events(sql)?,
            "deliveries": deliveries,
            "polling": {
                "active": poll.next_at.is_some(),
                "next_poll_at": poll.next_at,
                "alarm_pending": alarm_pending,
                "attempt": poll.attempt,
                "polls": poll.polls,
                "consecutive_failures": poll.consecutive_failures,
                "last_error": poll.last_error,
                "last_poll_at": poll.last_poll_at,
                "last_http_status": poll.last_http_status,
                "log": store::polls(sql)?,
            },
            "signals": signals,
            "classification": classification,
        }),
    );
    Ok(Response::from_json(&Value::Object(object))?)
}
