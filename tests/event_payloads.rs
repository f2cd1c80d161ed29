//! The webhook event payload against fixtures, and the shape our emulator sends.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::batch::{Batch, LifecycleStatus, WebhookDelivery};
use batchhook::event::{Claim, Event, EventAction, EventError, EventType};
use proptest::prelude::*;
use serde_json::Value;

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

#[test]
fn thin_openai_events_name_the_batch_and_ask_for_a_poll() {
    for (name, implied) in [
        (
            "openai-thin-batch-completed.json",
            LifecycleStatus::Completed,
        ),
        (
            "openai-thin-batch-cancelled.json",
            LifecycleStatus::Cancelled,
        ),
    ] {
        let event = Event::from_json(&fixture("event", name)).unwrap();
        assert_eq!(event.batch_id(), Some("batch_abc123"));
        assert_eq!(
            event.claim(),
            Claim::Thin {
                implied: Some(implied)
            }
        );
        assert!(event.batch().is_none());
        assert_eq!(event.signing_enabled(), None);
    }
}

#[test]
fn a_full_gateway_event_carries_status_delivery_and_attempts() {
    let event = Event::from_json(&fixture("event", "gateway-full-batch-completed.json")).unwrap();
    assert_eq!(event.batch_id(), Some("batch_gw_7"));
    assert_eq!(event.claim(), Claim::Status(LifecycleStatus::Completed));
    assert_eq!(event.job_kind.as_deref(), Some("batch"));
    assert_eq!(event.signing_enabled(), Some(true));
    let delivery = event.delivery_summary().unwrap();
    assert_eq!(delivery.pending_retries, Some(1));
    assert_eq!(delivery.last_response_status, Some(503));
    let attempts = event.recent_attempts();
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        attempts[1].next_retry_at.as_deref(),
        Some("2026-01-01T01:05:00Z")
    );
    let batch = event.batch().unwrap();
    assert_eq!(batch.output_file_id.as_deref(), Some("file_out_7"));
    assert!(event.extra.is_empty());
}

#[test]
fn reads_delivery_state_nested_in_the_webhook_config() {
    let event = Event::from_json(&fixture("event", "gateway-nested-delivery-failed.json")).unwrap();
    assert_eq!(
        event.batch_id(),
        Some("batch_gw_8"),
        "job_id alone names the batch"
    );
    assert_eq!(event.claim(), Claim::Status(LifecycleStatus::Failed));
    assert_eq!(
        event.delivery_summary().unwrap().last_response_status,
        Some(410)
    );
    assert_eq!(event.recent_attempts()[0].id.as_deref(), Some("att_9"));
    assert_eq!(event.signing_enabled(), Some(false));
    assert_eq!(event.extra["trace"]["region"], "eu");
}

#[test]
fn every_event_fixture_writes_back_unchanged() {
    for name in [
        "openai-thin-batch-completed.json",
        "openai-thin-batch-cancelled.json",
        "gateway-full-batch-completed.json",
        "gateway-nested-delivery-failed.json",
    ] {
        let bytes = fixture("event", name);
        let original: Value = serde_json::from_slice(&bytes).unwrap();
        let event = Event::from_json(&bytes).unwrap();
        assert_eq!(serde_json::to_value(&event).unwrap(), original, "{name}");
    }
}

#[test]
fn the_emulator_event_is_built_from_a_batch_without_its_secret() {
    let mut batch = Batch::from_json(&fixture("batch", "gateway-batch-in-progress.json")).unwrap();
    batch.status = Some("completed".into());
    batch.lifecycle_status = Some(LifecycleStatus::Completed);
    batch
        .webhook
        .as_mut()
        .unwrap()
        .extra
        .insert("secret".into(), "whsec_c2VjcmV0".into());
    let event = Event::for_batch(
        "evt_1",
        EventType::for_status(&LifecycleStatus::Completed),
        9,
        &batch,
    );
    let json: Value = serde_json::from_str(&event.to_json()).unwrap();
    assert_eq!(json["type"], "batch.completed");
    assert_eq!(json["job_id"], "batch_gw_7");
    assert_eq!(json["job_kind"], "batch");
    assert_eq!(json["lifecycle_status"], "completed");
    assert_eq!(json["signing_enabled"], true);
    assert_eq!(
        json["webhook"],
        serde_json::json!({"url":"https://example.com/api/batch-webhook","events":["batch.completed","batch.failed"],"has_secret":true})
    );
    assert_eq!(json["delivery"]["total_attempts"], 0);
    assert_eq!(json["data"]["id"], "batch_gw_7");
    let parsed = Event::from_json(event.to_json().as_bytes()).unwrap();
    assert_eq!(parsed.claim(), Claim::Status(LifecycleStatus::Completed));
}

#[test]
fn a_thin_event_built_for_tests_matches_openai_shape() {
    let event = Event::thin(
        "evt_2",
        EventType::batch(&EventAction::Status(LifecycleStatus::Expired)),
        3,
        "batch_1",
    );
    assert_eq!(
        serde_json::from_str::<Value>(&event.to_json()).unwrap(),
        serde_json::json!({"id":"evt_2","object":"event","type":"batch.expired","created_at":3,"data":{"id":"batch_1"}})
    );
}

#[test]
fn an_unknown_lifecycle_status_falls_back_to_the_batch_then_to_a_poll() {
    let with_batch = Event::from_json(
        br#"{"lifecycle_status":"hibernating","data":{"id":"b","status":"failed"}}"#,
    )
    .unwrap();
    assert_eq!(with_batch.claim(), Claim::Status(LifecycleStatus::Failed));
    let without = Event::from_json(
        br#"{"type":"batch.weird","lifecycle_status":"hibernating","job_id":"b"}"#,
    )
    .unwrap();
    assert_eq!(without.claim(), Claim::Thin { implied: None });
}

#[test]
fn errors_say_how_to_fix_the_payload() {
    let missing = Event::from_json(br#"{"type":"batch.completed"}"#).unwrap_err();
    assert_eq!(missing, EventError::MissingBatchId);
    assert!(missing.to_string().contains("data.id"));
    let not_object = Event::from_json(b"\"batch_1\"").unwrap_err();
    assert_eq!(not_object.code(), "invalid_event_payload");
    assert!(not_object.to_string().contains("must be a JSON object"));
}

#[test]
fn a_mistyped_delivery_summary_is_kept_but_not_read() {
    let event = Event::from_json(
        br#"{"job_id":"b","delivery":"n/a","webhook":{"delivery":{"total_attempts":3}}}"#,
    )
    .unwrap();
    assert_eq!(
        event.delivery_summary(),
        Some(&WebhookDelivery {
            total_attempts: Some(3),
            ..Default::default()
        })
    );
    assert_eq!(event.extra["delivery"], "n/a");
}

proptest! {
    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Event::from_json(&bytes);
        let _ = Batch::from_json(&bytes);
    }
}
