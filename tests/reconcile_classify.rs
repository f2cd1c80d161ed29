//! Payload-versus-state decisions and failure classification.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::batch::{Batch, LifecycleStatus as S};
use batchhook::event::Event;
use batchhook::reconcile::{
    classify, on_payload, on_status, CancelRequest, CancelRequester, Failure, FailureContext,
    IgnoreReason, PayloadAction, PollReason,
};

fn batch(json: &str) -> Batch {
    Batch::from_json(json.as_bytes()).unwrap()
}

fn event(json: &str) -> Event {
    Event::from_json(json.as_bytes()).unwrap()
}

#[test]
fn polls_on_a_thin_event_unless_the_batch_is_already_final() {
    let thin = event(r#"{"id":"evt_1","type":"batch.completed","data":{"id":"batch_1"}}"#);
    assert_eq!(
        on_payload(Some(&S::InProgress), &thin),
        PayloadAction::PollNow {
            reason: PollReason::Thin
        }
    );
    assert_eq!(
        on_payload(None, &thin),
        PayloadAction::PollNow {
            reason: PollReason::Thin
        }
    );
    assert_eq!(
        on_payload(Some(&S::Completed), &thin),
        PayloadAction::Ignore {
            reason: IgnoreReason::Terminal
        }
    );
}

#[test]
fn applies_a_full_event_and_polls_only_when_a_bare_status_reaches_the_end() {
    let full = event(
        r#"{"type":"batch.completed","lifecycle_status":"completed","data":{"id":"b","status":"completed","output_file_id":"f","request_counts":{"total":1,"completed":1,"failed":0}}}"#,
    );
    assert_eq!(
        on_payload(Some(&S::InProgress), &full),
        PayloadAction::Apply {
            status: S::Completed,
            poll: false
        }
    );
    let bare = event(r#"{"type":"batch.completed","job_id":"b","lifecycle_status":"completed"}"#);
    assert_eq!(
        on_payload(Some(&S::InProgress), &bare),
        PayloadAction::Apply {
            status: S::Completed,
            poll: true
        }
    );
}

#[test]
fn ignores_stale_repeated_and_post_terminal_statuses() {
    assert_eq!(
        on_status(Some(&S::InProgress), &S::Pending, true),
        PayloadAction::Ignore {
            reason: IgnoreReason::Stale
        }
    );
    assert_eq!(
        on_status(Some(&S::InProgress), &S::InProgress, true),
        PayloadAction::Ignore {
            reason: IgnoreReason::Unchanged
        }
    );
    assert_eq!(
        on_status(Some(&S::Cancelled), &S::Completed, true),
        PayloadAction::Ignore {
            reason: IgnoreReason::Terminal
        }
    );
}

#[test]
fn polls_when_the_status_is_unknown_to_this_version() {
    assert_eq!(
        on_status(Some(&S::InProgress), &S::parse("hibernating"), true),
        PayloadAction::PollNow {
            reason: PollReason::UnknownStatus
        }
    );
}

#[test]
fn classifies_an_upstream_failure_with_the_first_batch_error() {
    let b = batch(
        r#"{"id":"b","status":"failed","errors":{"object":"list","data":[{"code":"invalid_json","message":"Line is not valid JSON","line":3}]},"request_counts":{"total":10,"completed":0,"failed":0}}"#,
    );
    let f = classify(&b, &FailureContext::default());
    assert_eq!(f.len(), 1);
    let Failure::UpstreamExecution {
        whole_batch,
        message,
        total_requests,
        ..
    } = &f[0]
    else {
        panic!("{f:?}")
    };
    assert!(whole_batch);
    assert_eq!(message, "Line is not valid JSON (input line 3)");
    assert_eq!(*total_requests, Some(10));
}

#[test]
fn classifies_failed_requests_of_a_completed_batch_as_partial_upstream_failure() {
    let b = batch(
        r#"{"id":"b","status":"completed","request_counts":{"total":10,"completed":8,"failed":2}}"#,
    );
    let f = classify(&b, &FailureContext::default());
    assert!(
        matches!(
            f.as_slice(),
            [Failure::UpstreamExecution {
                whole_batch: false,
                failed_requests: Some(2),
                ..
            }]
        ),
        "{f:?}"
    );
    let clean = batch(
        r#"{"id":"b","status":"completed","request_counts":{"total":10,"completed":10,"failed":0}}"#,
    );
    assert!(classify(&clean, &FailureContext::default()).is_empty());
}

#[test]
fn names_who_cancelled_and_whether_cancel_url_was_still_there() {
    let b = batch(r#"{"id":"b","status":"cancelled"}"#);
    let ctx = FailureContext {
        cancel: Some(CancelRequest {
            by: CancelRequester::Operator,
            at: 5,
            cancel_url_available: false,
        }),
        ..FailureContext::default()
    };
    assert_eq!(
        classify(&b, &ctx),
        vec![Failure::Cancelled {
            by: CancelRequester::Operator,
            cancel_url_available: Some(false)
        }]
    );
    assert_eq!(
        classify(&b, &FailureContext::default()),
        vec![Failure::Cancelled {
            by: CancelRequester::Unknown,
            cancel_url_available: None
        }]
    );
}

#[test]
fn classifies_expiry_with_the_work_done() {
    let b = batch(
        r#"{"id":"b","status":"expired","request_counts":{"total":10,"completed":4,"failed":0}}"#,
    );
    assert_eq!(
        classify(&b, &FailureContext::default()),
        vec![Failure::Expired {
            completed_requests: Some(4),
            total_requests: Some(10)
        }]
    );
}

#[test]
fn flags_a_webhook_that_failed_after_the_batch_finished() {
    let b = batch(
        r#"{"id":"b","status":"completed","request_counts":{"total":1,"completed":1,"failed":0},
            "webhook":{"url":"https://x","events":["batch.completed","batch.failed"],"has_secret":true,
              "delivery":{"total_attempts":5,"delivered_events":0,"delivered_event_types":[],"pending_retries":0,
                "last_response_status":500,"last_failure_at":"2026-01-01T00:10:00Z","last_error_message":"HTTP 500"}}}"#,
    );
    let f = classify(&b, &FailureContext::default());
    let [Failure::WebhookDelivery {
        after,
        last_response_status,
        pending_retries,
        message,
        ..
    }] = f.as_slice()
    else {
        panic!("{f:?}")
    };
    assert_eq!(
        (after, *last_response_status, *pending_retries),
        (&S::Completed, Some(500), 0)
    );
    assert_eq!(message.as_deref(), Some("HTTP 500"));
}

#[test]
fn does_not_flag_delivery_when_the_terminal_event_got_through_or_was_not_subscribed() {
    let delivered = batch(
        r#"{"id":"b","status":"completed","webhook":{"events":["batch.completed"],
            "delivery":{"delivered_event_types":["batch.completed"],"last_failure_at":"2026-01-01T00:00:00Z"}}}"#,
    );
    assert!(classify(&delivered, &FailureContext::default()).is_empty());
    let unsubscribed = batch(
        r#"{"id":"b","status":"expired","webhook":{"events":["batch.completed"],
            "delivery":{"last_response_status":500}}}"#,
    );
    assert_eq!(
        classify(&unsubscribed, &FailureContext::default()).len(),
        1,
        "only the expiry"
    );
}

#[test]
fn flags_reconciliation_when_polls_keep_failing_even_while_running() {
    let b = batch(r#"{"id":"b","status":"in_progress"}"#);
    let ctx = FailureContext {
        consecutive_poll_failures: 6,
        last_poll_error: Some("HTTP 503".into()),
        ..FailureContext::default()
    };
    assert_eq!(
        classify(&b, &ctx),
        vec![Failure::Reconciliation {
            consecutive_failures: 6,
            last_error: "HTTP 503".into()
        }]
    );
    let ok = FailureContext {
        consecutive_poll_failures: 2,
        ..FailureContext::default()
    };
    assert!(classify(&b, &ok).is_empty());
}
