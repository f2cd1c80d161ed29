//! The batch model against fixtures built from the reference pages and real-world shapes.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::batch::{
    Batch, JobCounts, JobSource, JobView, LifecycleStatus, ListPage, ParseError, RowError,
};
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/batch/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn fixture_value(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

#[test]
fn models_every_field_of_the_list_reference_example() {
    let page: ListPage<Batch> =
        serde_json::from_slice(&fixture("ai-stats-list-reference.json")).unwrap();
    assert_eq!(page.object, "list");
    assert!(page.has_more);
    let batch = &page.data[0];
    assert!(
        batch.extra.is_empty(),
        "unmodelled: {:?}",
        batch.extra.keys()
    );
    let webhook = batch.webhook.as_ref().unwrap();
    assert!(webhook.extra.is_empty());
    assert!(webhook.delivery.as_ref().unwrap().extra.is_empty());
    assert!(webhook.attempts.as_ref().unwrap()[0].extra.is_empty());
    assert!(batch.billing.as_ref().unwrap().extra.is_empty());
    assert!(batch.request_counts.as_ref().unwrap().extra.is_empty());
    assert_eq!(batch.progress.as_ref().unwrap().as_u64(), Some(50));
    assert_eq!(webhook.has_secret, Some(true));
    assert_eq!(
        webhook.delivery.as_ref().unwrap().delivered_event_types,
        Some(vec!["video.completed".to_owned()])
    );
}

#[test]
fn writes_every_fixture_back_unchanged() {
    for name in [
        "openai-batch-completed.json",
        "openai-batch-failed-validation.json",
        "gateway-batch-in-progress.json",
    ] {
        let original = fixture_value(name);
        let batch = Batch::from_json(&fixture(name)).unwrap();
        assert_eq!(batch.to_value(), original, "{name}");
    }
    let list = fixture_value("ai-stats-list-reference.json");
    let page: ListPage<Batch> = serde_json::from_value(list.clone()).unwrap();
    assert_eq!(serde_json::to_value(&page).unwrap(), list);
}

#[test]
fn keeps_unknown_fields_of_a_newer_gateway() {
    let batch = Batch::from_json(&fixture("gateway-batch-in-progress.json")).unwrap();
    assert_eq!(batch.extra["queue_priority"], "low");
    assert_eq!(batch.extra["future_block"]["nested"][2]["deep"], true);
}

#[test]
fn prefers_lifecycle_status_over_the_raw_status() {
    let batch = Batch::from_json(&fixture("gateway-batch-in-progress.json")).unwrap();
    assert_eq!(batch.status.as_deref(), Some("finalizing"));
    assert_eq!(batch.lifecycle(), Some(LifecycleStatus::InProgress));
    assert!(!batch.is_terminal());
}

#[test]
fn falls_back_to_the_raw_status_when_lifecycle_status_is_absent() {
    let batch = Batch::from_json(&fixture("openai-batch-completed.json")).unwrap();
    assert_eq!(batch.lifecycle_status, None);
    assert_eq!(batch.lifecycle(), Some(LifecycleStatus::Completed));
    assert!(batch.is_terminal());
}

#[test]
fn keeps_null_timestamps_as_written_without_reading_them_as_values() {
    let batch = Batch::from_json(&fixture("openai-batch-completed.json")).unwrap();
    assert_eq!(batch.failed_at, None);
    assert_eq!(batch.extra["failed_at"], Value::Null);
    assert_eq!(batch.completed_at, Some(1_711_493_163));
}

#[test]
fn a_known_field_with_an_unexpected_type_is_kept_verbatim() {
    let body = br#"{"id":"b","created_at":"2026-01-01T00:00:00Z","request_counts":[1,2],"status":"completed"}"#;
    let batch = Batch::from_json(body).unwrap();
    assert_eq!(batch.created_at, None);
    assert_eq!(batch.request_counts, None);
    assert_eq!(batch.extra["created_at"], "2026-01-01T00:00:00Z");
    let original: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(batch.to_value(), original);
}

#[test]
fn a_value_set_in_code_replaces_the_kept_mistyped_one() {
    let mut batch = Batch::from_json(br#"{"id":"b","completed_at":null}"#).unwrap();
    batch.completed_at = Some(7);
    let text = batch.to_json();
    assert_eq!(text.matches("completed_at").count(), 1, "{text}");
    assert_eq!(batch.to_value()["completed_at"], 7);
}

#[test]
fn rejects_only_non_json_and_non_objects() {
    assert!(matches!(
        Batch::from_json(b"[1]"),
        Err(ParseError::NotAnObject {
            found: "an array",
            ..
        })
    ));
    let err = Batch::from_json(b"{\"id\":").unwrap_err();
    assert!(matches!(err, ParseError::InvalidJson { line: 1, .. }));
    assert!(err.to_string().contains("not valid JSON"));
    assert!(Batch::from_json(b"{}").is_ok());
}

#[test]
fn debug_output_redacts_unknown_secret_fields() {
    let batch = Batch::from_json(
        br#"{"id":"b","webhook":{"url":"https://x","secret":"whsec_c2VjcmV0c2VjcmV0c2VjcmV0"}}"#,
    )
    .unwrap();
    let debug = format!("{batch:?}");
    assert!(!debug.contains("whsec_"), "{debug}");
    assert!(debug.contains("[REDACTED]"));
}

#[test]
fn normalises_an_openai_batch_with_usage() {
    let view = JobView::from_json(&fixture("openai-batch-completed.json")).unwrap();
    assert_eq!(view.source, JobSource::AiStatsBatch);
    assert_eq!(view.status, Some(LifecycleStatus::Completed));
    assert_eq!(
        view.counts,
        JobCounts {
            total: Some(100),
            processed: Some(100),
            succeeded: Some(95),
            failed: Some(5)
        }
    );
    assert_eq!(view.progress, Some(1.0));
    assert_eq!(
        (view.input_tokens, view.output_tokens, view.total_tokens),
        (Some(1500), Some(500), Some(2000))
    );
}

#[test]
fn reads_the_gateway_progress_as_a_percentage_when_counts_are_missing() {
    let view = JobView::from_json(br#"{"id":"b","status":"in_progress","progress":50}"#).unwrap();
    assert_eq!(view.progress, Some(0.5));
    let counted = JobView::from_json(
        br#"{"id":"b","progress":50,"request_counts":{"total":40,"completed":9,"failed":1}}"#,
    )
    .unwrap();
    assert_eq!(
        counted.progress,
        Some(0.25),
        "counts win over the reported value"
    );
}

#[test]
fn normalises_a_failed_openai_batch_with_its_first_error() {
    let view = JobView::from_json(&fixture("openai-batch-failed-validation.json")).unwrap();
    assert_eq!(view.status, Some(LifecycleStatus::Failed));
    assert_eq!(
        view.error_message.as_deref(),
        Some("This line is not parseable as valid JSON.")
    );
    assert_eq!(view.progress, None, "a zero total gives no fraction");
    let batch = Batch::from_json(&fixture("openai-batch-failed-validation.json")).unwrap();
    let errors = batch.errors.unwrap().data.unwrap();
    assert_eq!(errors[0].line, Some(3));
}

#[test]
fn reads_the_doc_tagging_progress_as_a_fraction() {
    let view = JobView::from_json(&fixture("doc-tagging-status-processing.json")).unwrap();
    assert_eq!(view.source, JobSource::DocTagging);
    assert_eq!(view.id.as_deref(), Some("batch-1704454800-abc123"));
    assert_eq!(view.status, Some(LifecycleStatus::InProgress));
    assert_eq!(view.progress, Some(0.45));
    assert_eq!(view.counts.succeeded, Some(42));
    assert_eq!(view.counts.failed, Some(3));
}

#[test]
fn a_paused_doc_tagging_job_derives_progress_from_counts() {
    let view = JobView::from_json(&fixture("doc-tagging-status-paused.json")).unwrap();
    assert_eq!(view.status, Some(LifecycleStatus::Paused));
    assert_eq!(view.progress, Some(0.6));
}

#[test]
fn normalises_every_active_doc_tagging_job() {
    let doc = fixture_value("doc-tagging-active-jobs.json");
    let jobs = doc["jobs"].as_array().unwrap();
    let views: Vec<JobView> = jobs
        .iter()
        .map(|job| JobView::from_value(job.clone()).unwrap())
        .collect();
    assert_eq!(views[0].source, JobSource::DocTagging);
    assert_eq!(views[0].counts.processed, Some(45));
    assert_eq!(views[0].progress, Some(0.45));
    assert_eq!(views[0].counts.succeeded, None, "failed_count unknown");
}

#[test]
fn normalises_a_completed_fact_check_batch_with_cost_and_tokens() {
    let view = JobView::from_json(&fixture("fact-check-completed.json")).unwrap();
    assert_eq!(view.source, JobSource::FactCheck);
    assert_eq!(view.status, Some(LifecycleStatus::Completed));
    assert_eq!(view.counts.succeeded, Some(48));
    assert_eq!(view.counts.failed, Some(2));
    assert_eq!(view.progress, Some(1.0));
    assert_eq!(view.cost.as_ref().unwrap().nanos, 2_500_000_000);
    assert_eq!(view.total_tokens, Some(21_200));
    assert!(view.row_errors.is_empty());
}

#[test]
fn normalises_a_processing_fact_check_batch() {
    let view = JobView::from_json(&fixture("fact-check-processing.json")).unwrap();
    assert_eq!(view.status, Some(LifecycleStatus::InProgress));
    assert_eq!(view.progress, Some(0.45));
}

#[test]
fn keeps_fact_check_validation_errors_per_row() {
    let view = JobView::from_json(&fixture("fact-check-failed-validation.json")).unwrap();
    assert_eq!(view.status, Some(LifecycleStatus::Failed));
    assert_eq!(view.error_message.as_deref(), Some("3 validation error(s)"));
    assert_eq!(view.progress, Some(0.0));
    assert_eq!(
        view.row_errors[1],
        RowError {
            row: 5,
            error: "Content exceeds maximum length".into()
        }
    );
    assert_eq!(view.row_errors.len(), 3);
}
