//! Where a failure is: upstream execution, cancellation (and by whom), expiry, webhook delivery
//! after the batch had finished, or our own reconciliation (recipe §6–7).

use crate::batch::{Batch, LifecycleStatus};
use serde::{Deserialize, Serialize};

/// Who asked for a cancellation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CancelRequester {
    /// A person, through the operator API.
    Operator,
    /// batchhook or another program acting on a policy (deadline, superseded job).
    Automation,
    /// Not through batchhook: the batch was seen cancelled without our request.
    Unknown,
}

/// A cancellation batchhook requested, as recorded at request time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    /// Who asked.
    pub by: CancelRequester,
    /// When (Unix seconds).
    pub at: i64,
    /// Whether the stored batch still had a `cancel_url` at that moment (recipe §7).
    pub cancel_url_available: bool,
}

/// One classified failure. A batch can have several (e.g. it failed upstream and the webhook
/// announcing it was never delivered).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Failure {
    /// The provider failed the batch, or some of its requests.
    UpstreamExecution {
        /// The batch failed as a whole (else: completed with failed requests).
        whole_batch: bool,
        /// The first batch-level error message, or a summary.
        message: String,
        /// Failed requests, when counted.
        failed_requests: Option<u64>,
        /// All requests, when counted.
        total_requests: Option<u64>,
    },
    /// The batch was cancelled.
    Cancelled {
        /// Who asked (unknown when batchhook did not).
        by: CancelRequester,
        /// Whether `cancel_url` was still available when batchhook asked; `None` when it did not.
        cancel_url_available: Option<bool>,
    },
    /// The batch did not finish inside its completion window.
    Expired {
        /// Requests finished before expiry.
        completed_requests: Option<u64>,
        /// All requests.
        total_requests: Option<u64>,
    },
    /// The batch finished but the gateway reports that its webhook was not delivered.
    WebhookDelivery {
        /// The terminal status whose event failed to arrive.
        after: LifecycleStatus,
        /// HTTP status of the last attempt (absent: no response).
        last_response_status: Option<u16>,
        /// Time of the last failure, as the gateway reports it.
        last_failure_at: Option<String>,
        /// The last error message.
        message: Option<String>,
        /// Retries the gateway still has scheduled (0: it gave up).
        pending_retries: u64,
    },
    /// batchhook could not learn the batch's state: polling keeps failing.
    Reconciliation {
        /// Polls failed in a row.
        consecutive_failures: u32,
        /// The last poll error.
        last_error: String,
    },
}

/// What batchhook knows beside the batch object, to classify it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureContext {
    /// The cancellation batchhook requested, if any.
    pub cancel: Option<CancelRequest>,
    /// Polls failed in a row.
    pub consecutive_poll_failures: u32,
    /// The last poll error.
    pub last_poll_error: Option<String>,
}

/// Consecutive failed polls from which reconciliation counts as failing.
pub const RECONCILIATION_FAILURE_THRESHOLD: u32 = 5;

/// Classifies a batch; empty when nothing failed.
pub fn classify(batch: &Batch, context: &FailureContext) -> Vec<Failure> {
    let mut out = Vec::new();
    let counts = batch.request_counts.as_ref();
    let total = counts.and_then(|c| c.total);
    let status = batch.lifecycle();
    match &status {
        Some(LifecycleStatus::Failed) => out.push(Failure::UpstreamExecution {
            whole_batch: true,
            message: first_error(batch)
                .unwrap_or_else(|| "the provider failed the batch without a message".to_owned()),
            failed_requests: counts.and_then(|c| c.failed),
            total_requests: total,
        }),
        Some(LifecycleStatus::Completed) => {
            if let Some(failed) = counts.and_then(|c| c.failed).filter(|f| *f > 0) {
                out.push(Failure::UpstreamExecution {
                    whole_batch: false,
                    message: format!("{failed} request(s) failed; see the batch's error file"),
                    failed_requests: Some(failed),
                    total_requests: total,
                });
            }
        }
        Some(LifecycleStatus::Cancelled) => out.push(match &context.cancel {
            Some(c) => Failure::Cancelled {
                by: c.by.clone(),
                cancel_url_available: Some(c.cancel_url_available),
            },
            None => Failure::Cancelled {
                by: CancelRequester::Unknown,
                cancel_url_available: None,
            },
        }),
        Some(LifecycleStatus::Expired) => out.push(Failure::Expired {
            completed_requests: counts.and_then(|c| c.completed),
            total_requests: total,
        }),
        _ => {}
    }
    if let Some(after) = status.filter(LifecycleStatus::is_terminal) {
        if let Some(f) = delivery_failure(batch, after) {
            out.push(f);
        }
    }
    if context.consecutive_poll_failures >= RECONCILIATION_FAILURE_THRESHOLD {
        out.push(Failure::Reconciliation {
            consecutive_failures: context.consecutive_poll_failures,
            last_error: context.last_poll_error.clone().unwrap_or_default(),
        });
    }
    out
}

fn first_error(batch: &Batch) -> Option<String> {
    let error = batch.errors.as_ref()?.data.as_ref()?.first()?;
    let message = error.message.clone().or_else(|| error.code.clone())?;
    Some(match error.line {
        Some(line) => format!("{message} (input line {line})"),
        None => message,
    })
}

/// The terminal event was not delivered and the last attempt failed.
fn delivery_failure(batch: &Batch, after: LifecycleStatus) -> Option<Failure> {
    let webhook = batch.webhook.as_ref()?;
    let delivery = webhook.delivery.as_ref()?;
    let event_type = format!("batch.{}", after.as_str());
    let subscribed = webhook
        .events
        .as_ref()
        .is_none_or(|e| e.is_empty() || e.contains(&event_type));
    let delivered = delivery
        .delivered_event_types
        .as_ref()
        .is_some_and(|t| t.contains(&event_type));
    let last_failed = delivery.last_failure_at.is_some()
        || delivery
            .last_response_status
            .is_some_and(|s| !(200..300).contains(&s));
    if !subscribed || delivered || !last_failed {
        return None;
    }
    Some(Failure::WebhookDelivery {
        after,
        last_response_status: delivery.last_response_status,
        last_failure_at: delivery.last_failure_at.clone(),
        message: delivery.last_error_message.clone(),
        pending_retries: delivery.pending_retries.unwrap_or(0),
    })
}
