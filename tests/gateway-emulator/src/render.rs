//! Renders a batch record as the gateway's public batch object (every field of the
//! list-batches reference the emulator can know; absent facts are `null`).

use serde_json::{json, Value};

use crate::clock::rfc3339;
use crate::model::{INPUT_NANOS_PER_TOKEN, OUTPUT_NANOS_PER_TOKEN};
use crate::state::{Attempt, BatchRecord, Status};

/// How many recent attempts the object shows.
pub const RECENT_ATTEMPTS: usize = 20;

/// The emulated upstream provider's name.
pub const PROVIDER: &str = "emulator";

/// The public batch object.
pub fn batch_json(b: &BatchRecord, base_url: &str) -> Value {
    let lifecycle = batchhook::batch::LifecycleStatus::parse(b.status.as_str());
    let cancel_url = b
        .status
        .is_cancellable()
        .then(|| format!("{base_url}/v1/batches/{}/cancel", b.id));
    let ws_base = base_url.replacen("http://", "ws://", 1);
    json!({
        "id": b.id,
        "native_batch_id": format!("emu_{}", b.id.trim_start_matches("batch_")),
        "object": "batch",
        "endpoint": b.endpoint,
        "errors": b.errors,
        "input_file_id": b.input_file_id,
        "completion_window": b.completion_window,
        "status": b.status.as_str(),
        "lifecycle_status": lifecycle.as_str(),
        "progress": b.progress(),
        "polling_url": format!("{base_url}/v1/batches/{}", b.id),
        "websocket_url": format!("{ws_base}/v1/batches/{}/ws", b.id),
        "cancel_url": cancel_url,
        "output_file_id": b.output_file_id,
        "error_file_id": b.error_file_id,
        "created_at": b.created_at,
        "in_progress_at": b.in_progress_at,
        "expires_at": b.expires_at,
        "finalizing_at": b.finalizing_at,
        "completed_at": b.completed_at,
        "failed_at": b.failed_at,
        "expired_at": b.expired_at,
        "cancelling_at": b.cancelling_at,
        "cancelled_at": b.cancelled_at,
        "request_counts": {
            "total": b.rows.len(),
            "completed": b.completed,
            "failed": b.failed,
        },
        "usage": b.usage.to_json(),
        "metadata": b.metadata,
        "request_id": b.request_id,
        "provider": PROVIDER,
        "session_id": b.session_id,
        "webhook": b.webhook.as_ref().map(|_| webhook_json(b)),
        "next_webhook_retry_at": next_retry(b).map(rfc3339),
        "last_webhook_progress": b.deliveries.last_progress.map(|(p, _)| p),
        "last_webhook_progress_at": b.deliveries.last_progress.map(|(_, t)| rfc3339(t)),
        "last_webhook_dispatched_at": b.deliveries.last_dispatched_at.map(rfc3339),
        "finalized_at": finished_at(b).map(rfc3339),
        "pricing_lines": pricing_lines(b),
        "billing": billing(b),
    })
}

/// The sanitised webhook block: configuration (never the secret), delivery summary, attempts.
pub fn webhook_json(b: &BatchRecord) -> Value {
    let Some(w) = &b.webhook else {
        return Value::Null;
    };
    let d = &b.deliveries;
    let last = d.attempts.last();
    let last_delivered = d.attempts.iter().rev().find_map(|a| a.delivered_at);
    let last_failure = d.attempts.iter().rev().find(|a| a.delivered_at.is_none());
    let mut types: Vec<&str> = Vec::new();
    for (_, t) in &d.delivered {
        if !types.contains(&t.as_str()) {
            types.push(t);
        }
    }
    let recent = d.attempts.len().saturating_sub(RECENT_ATTEMPTS);
    json!({
        "url": w.url,
        "events": w.events,
        "has_secret": w.secret.is_some(),
        "delivery": {
            "total_attempts": d.attempts.len(),
            "delivered_events": d.delivered.len(),
            "delivered_event_types": types,
            "pending_retries": d.pending.len(),
            "next_retry_at": next_retry(b).map(rfc3339),
            "last_attempt_at": last.map(|a| rfc3339(a.tried_at)),
            "last_response_status": last.and_then(|a| a.response_status),
            "last_delivered_at": last_delivered.map(rfc3339),
            "last_failure_at": last_failure.map(|a| rfc3339(a.tried_at)),
            "last_error_message": last_failure.and_then(|a| a.error_message.clone()),
        },
        "attempts": d.attempts[recent..].iter().map(attempt_json).collect::<Vec<_>>(),
    })
}

fn attempt_json(a: &Attempt) -> Value {
    json!({
        "id": a.id,
        "delivery_key": a.delivery_key,
        "event_type": a.event_type,
        "attempt_number": a.attempt_number,
        "max_attempts": a.max_attempts,
        "tried_at": rfc3339(a.tried_at),
        "delivered_at": a.delivered_at.map(rfc3339),
        "next_retry_at": a.next_retry_at.map(rfc3339),
        "response_status": a.response_status,
        "error_message": a.error_message,
        "response_body_preview": a.response_body_preview,
    })
}

fn next_retry(b: &BatchRecord) -> Option<i64> {
    b.deliveries.pending.values().min().copied()
}

fn finished_at(b: &BatchRecord) -> Option<i64> {
    b.completed_at
        .or(b.failed_at)
        .or(b.expired_at)
        .or(b.cancelled_at)
}

fn usd(nanos: u64) -> String {
    format!("{}.{:09}", nanos / 1_000_000_000, nanos % 1_000_000_000)
}

/// Held estimate while running (all rows, an assumed 28 output tokens each); settled cost of
/// the rows actually answered once terminal.
fn billing(b: &BatchRecord) -> Value {
    let estimated = b.prompt_tokens_total * INPUT_NANOS_PER_TOKEN
        + b.rows.len() as u64 * 28 * OUTPUT_NANOS_PER_TOKEN;
    let settled = b.status.is_terminal().then(|| b.usage.cost_nanos());
    json!({
        "currency": "USD",
        "billed": settled.is_some(),
        "charged": settled.is_some_and(|n| n > 0),
        "reason": if settled.is_some() { "settled" } else { "estimate_held" },
        "reservation_id": format!("resv_{}", b.id.trim_start_matches("batch_")),
        "reservation_status": if settled.is_some() { "settled" } else { "held" },
        "estimated_provider_cost": usd(estimated / 2),
        "estimated_user_cost": usd(estimated),
        "settled_provider_cost": settled.map(|n| usd(n / 2)),
        "settled_user_cost": settled.map(usd),
        "estimated_nanos": estimated,
        "reserved_nanos": estimated,
        "estimation_truncated": false,
        "estimation_sample_size": b.rows.len(),
        "estimation_total_rows": b.rows.len(),
        "total_nanos": settled,
        "cost_nanos": settled,
        "cost_usd": settled.map(|n| n as f64 / 1e9),
        "finalized_at": if settled.is_some() { finished_at(b).map(rfc3339) } else { None },
        "pricing_breakdown": {
            "input_nanos_per_token": INPUT_NANOS_PER_TOKEN,
            "output_nanos_per_token": OUTPUT_NANOS_PER_TOKEN,
        },
    })
}

fn pricing_lines(b: &BatchRecord) -> Value {
    if !b.status.is_terminal() || b.status == Status::Failed && b.processed == 0 {
        return json!([]);
    }
    json!([
        {
            "kind": "input_tokens",
            "quantity": b.usage.input_tokens,
            "unit_nanos": INPUT_NANOS_PER_TOKEN,
            "total_nanos": b.usage.input_tokens * INPUT_NANOS_PER_TOKEN,
        },
        {
            "kind": "output_tokens",
            "quantity": b.usage.output_tokens,
            "unit_nanos": OUTPUT_NANOS_PER_TOKEN,
            "total_nanos": b.usage.output_tokens * OUTPUT_NANOS_PER_TOKEN,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::Faults;
    use crate::model::InputRow;
    use crate::rng::Rng;
    use crate::state::{Deliveries, Plan, WebhookConfig};
    use batchhook::batch::Batch;
    use std::sync::Arc;

    fn record(status: Status) -> BatchRecord {
        let line = br#"{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}"#;
        let mut deliveries = Deliveries::default();
        deliveries.attempts.push(Attempt {
            id: "whatt_1".into(),
            delivery_key: "batch.completed".into(),
            event_type: "batch.completed".into(),
            attempt_number: 1,
            max_attempts: 6,
            tried_at: 1_700_000_000,
            delivered_at: None,
            next_retry_at: Some(1_700_000_005),
            response_status: Some(500),
            error_message: Some("the receiver answered HTTP 500".into()),
            response_body_preview: Some("oops".into()),
        });
        deliveries
            .pending
            .insert("batch.completed".into(), 1_700_000_005);
        BatchRecord {
            id: "batch_1".into(),
            input_file_id: "file-1".into(),
            endpoint: "/v1/chat/completions".into(),
            completion_window: "24h".into(),
            metadata: Default::default(),
            webhook: Some(WebhookConfig {
                url: "http://127.0.0.1:1/hook".into(),
                events: vec!["batch.completed".into()],
                secret: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
            }),
            rows: Arc::new(vec![InputRow::from_line(line).unwrap()]),
            prompt_tokens_total: 20,
            faults: Faults::default(),
            plan: Plan {
                start_at_ms: 0,
                run_ms: 0,
                fail: None,
                stall_until_expiry: false,
            },
            status,
            created_at: 1_700_000_000,
            in_progress_at: Some(1_700_000_002),
            finalizing_at: None,
            completed_at: None,
            failed_at: None,
            expired_at: None,
            cancelling_at: None,
            cancelled_at: None,
            expires_at: 1_700_086_400,
            processed: 0,
            completed: 0,
            failed: 0,
            usage: Default::default(),
            output_file_id: None,
            error_file_id: None,
            errors: None,
            request_id: "req_1".into(),
            session_id: "sess_1".into(),
            deliveries,
            rng: Rng::new(1),
            version: tokio::sync::watch::channel(0).0,
        }
    }

    /// Every non-null field lands in a field the core models (nothing in `extra`), so the
    /// emulator and the core agree on names and types.
    #[test]
    fn the_core_batch_model_knows_every_field_the_emulator_renders() {
        let json = batch_json(&record(Status::InProgress), "http://127.0.0.1:9");
        let batch = Batch::from_value(json.clone()).unwrap();
        let unknown: Vec<_> = batch.extra.iter().filter(|(_, v)| !v.is_null()).collect();
        assert!(unknown.is_empty(), "not modelled by the core: {unknown:?}");
        let non_null = |m: &serde_json::Map<String, Value>| m.values().all(Value::is_null);
        let webhook = batch.webhook.as_ref().unwrap();
        assert!(non_null(&webhook.extra), "{:?}", webhook.extra);
        let delivery = webhook.delivery.as_ref().unwrap();
        assert!(non_null(&delivery.extra), "{:?}", delivery.extra);
        let attempt = &webhook.attempts.as_ref().unwrap()[0];
        assert!(non_null(&attempt.extra), "{:?}", attempt.extra);
        let billing = batch.billing.as_ref().unwrap();
        assert!(non_null(&billing.extra), "{:?}", billing.extra);
        assert_eq!(
            batch.lifecycle(),
            Some(batchhook::batch::LifecycleStatus::InProgress)
        );
        assert!(batch.cancel_url.is_some());
    }

    #[test]
    fn the_secret_never_appears_in_the_object() {
        let json = batch_json(&record(Status::Completed), "http://127.0.0.1:9").to_string();
        assert!(!json.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        assert!(json.contains("\"has_secret\":true"));
    }

    #[test]
    fn cancel_url_is_offered_only_while_cancellable() {
        for (status, offered) in [
            (Status::Validating, true),
            (Status::Finalizing, true),
            (Status::Cancelling, false),
            (Status::Completed, false),
        ] {
            let json = batch_json(&record(status), "http://127.0.0.1:9");
            assert_eq!(json["cancel_url"].is_string(), offered, "{status:?}");
        }
    }
}
