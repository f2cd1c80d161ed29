//! One view of a job, whichever service described it.
//!
//! Three shapes are accepted:
//! - the AI Stats (OpenAI-compatible) [`Batch`]: `request_counts`, `progress` as a
//!   **percentage 0–100**, `usage`, `billing`;
//! - the doc-tagging service's job status: `job_id`, `status`, `total_documents`,
//!   `processed_count`, `failed_count`, `progress` as a **fraction 0–1**;
//! - the fact-check service's batch (camelCase): `totalItems`, `processedItems`, `successCount`,
//!   `failureCount`, `validationErrors`, `totalCostCents`, `totalInputTokens`,
//!   `totalOutputTokens`.
//!
//! Progress is always reported as a fraction 0–1, preferring counts over a reported progress
//! value because counts cannot be misread as the wrong scale. "Processed" counts include failed
//! items (the fact-check example has processed 50 = 48 succeeded + 2 failed; doc-tagging is read
//! the same way).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use super::error::ParseError;
use super::lifecycle::LifecycleStatus;
use super::object::Batch;
use super::tolerant::{field_value_by_serde, tolerant_struct};

/// Which service shape a view was built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobSource {
    /// The AI Stats gateway (or OpenAI) batch object.
    AiStatsBatch,
    /// The doc-tagging service's job status.
    DocTagging,
    /// The fact-check service's batch.
    FactCheck,
}

/// Item counts of a job. `processed` = `succeeded` + `failed` when both are known.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCounts {
    /// Items in the job.
    pub total: Option<u64>,
    /// Items finished (succeeded or failed).
    pub processed: Option<u64>,
    /// Items that succeeded.
    pub succeeded: Option<u64>,
    /// Items that failed.
    pub failed: Option<u64>,
}

/// A cost in integer nano-units of a currency (1 cent = 10 000 000 nanos).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cost {
    /// Amount in nano-units.
    pub nanos: i64,
    /// Currency code if the source states it.
    pub currency: Option<String>,
}

field_value_by_serde!(Vec<RowError>);

/// One row-level error of a job's input (fact-check's `validationErrors`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based row number.
    pub row: u64,
    /// What is wrong with the row.
    pub error: String,
}

/// The normalised view of a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    /// The job's id in its own service.
    pub id: Option<String>,
    /// Which shape the view came from.
    pub source: JobSource,
    /// The lifecycle status, if the source gave one.
    pub status: Option<LifecycleStatus>,
    /// The source's own status text.
    pub raw_status: Option<String>,
    /// Item counts.
    pub counts: JobCounts,
    /// Progress as a fraction 0–1.
    pub progress: Option<f64>,
    /// Input tokens.
    pub input_tokens: Option<u64>,
    /// Output tokens.
    pub output_tokens: Option<u64>,
    /// All tokens.
    pub total_tokens: Option<u64>,
    /// Cost, if the source reports one.
    pub cost: Option<Cost>,
    /// A job-level error message.
    pub error_message: Option<String>,
    /// Row-level input errors.
    pub row_errors: Vec<RowError>,
}

tolerant_struct! {
    /// The doc-tagging service's job status (`GET /api/batch/jobs/{id}/status`).
    pub struct DocTaggingJob {
        /// Job id.
        job_id: String = "job_id",
        /// pending, processing, completed, failed, cancelled or paused.
        status: String = "status",
        /// Documents in the job.
        total_documents: u64 = "total_documents",
        /// Documents processed (including failed ones).
        processed_count: u64 = "processed_count",
        /// Documents that failed.
        failed_count: u64 = "failed_count",
        /// Progress as a fraction 0–1.
        progress: Number = "progress",
        /// Start time (as listed by `/api/batch/active`).
        started_at: String = "started_at",
    }
}

tolerant_struct! {
    /// The fact-check service's batch (`GET /v1/batch/:id`).
    pub struct FactCheckBatch {
        /// Batch id.
        id: String = "id",
        /// Batch name.
        name: String = "name",
        /// Status text.
        status: String = "status",
        /// Items in the batch.
        total_items: u64 = "totalItems",
        /// Items processed (succeeded + failed).
        processed_items: u64 = "processedItems",
        /// Items that succeeded.
        success_count: u64 = "successCount",
        /// Items that failed.
        failure_count: u64 = "failureCount",
        /// Cost in cents.
        total_cost_cents: i64 = "totalCostCents",
        /// Input tokens.
        total_input_tokens: u64 = "totalInputTokens",
        /// Output tokens.
        total_output_tokens: u64 = "totalOutputTokens",
        /// Batch-level error.
        error_message: String = "errorMessage",
        /// Row-level validation errors.
        validation_errors: Vec<RowError> = "validationErrors",
        /// Creation time (ISO 8601).
        created_at: String = "createdAt",
        /// Start time (ISO 8601).
        started_at: String = "startedAt",
        /// Completion time (ISO 8601).
        completed_at: String = "completedAt",
        /// Expiry time (ISO 8601).
        expires_at: String = "expiresAt",
    }
}

/// `part / whole` as a fraction in 0..=1; `None` if `whole` is zero.
fn fraction(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64).clamp(0.0, 1.0))
}

/// A reported progress value on the given scale (1.0 or 100.0) as a fraction in 0..=1.
fn scaled(value: &Number, scale: f64) -> Option<f64> {
    let value = value.as_f64()?;
    value.is_finite().then(|| (value / scale).clamp(0.0, 1.0))
}

fn sum(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    Some(a?.saturating_add(b?))
}

impl JobView {
    /// Builds the view from any of the three shapes, recognising the shape by its fields:
    /// camelCase `totalItems`/`processedItems` → fact-check; `job_id`/`total_documents`/
    /// `processed_count` → doc-tagging; otherwise an AI Stats batch.
    pub fn from_json(bytes: &[u8]) -> Result<JobView, ParseError> {
        ParseError::parse_object(bytes, "job").map(JobView::from_map)
    }

    /// Builds the view from an already parsed value; see [`JobView::from_json`].
    pub fn from_value(value: Value) -> Result<JobView, ParseError> {
        match value {
            Value::Object(map) => Ok(JobView::from_map(map)),
            other => Err(ParseError::not_an_object("job", &other)),
        }
    }

    fn from_map(map: Map<String, Value>) -> JobView {
        let has = |key: &str| map.contains_key(key);
        if has("totalItems") || has("processedItems") || has("successCount") {
            JobView::from_fact_check(&FactCheckBatch::from_map(map))
        } else if has("job_id") || has("total_documents") || has("processed_count") {
            JobView::from_doc_tagging(&DocTaggingJob::from_map(map))
        } else {
            JobView::from_batch(&Batch::from_map(map))
        }
    }

    /// The view of an AI Stats batch. Progress: request counts if their total is non-zero, else
    /// `progress` read as a percentage, else 1.0 for a completed batch. Cost: `billing.cost_nanos`,
    /// else `total_nanos` (in `billing.currency`), else `cost_usd` converted to USD nanos.
    pub fn from_batch(batch: &Batch) -> JobView {
        let status = batch.lifecycle();
        let counts = batch.request_counts.as_ref();
        let succeeded = counts.and_then(|c| c.completed);
        let failed = counts.and_then(|c| c.failed);
        let total = counts.and_then(|c| c.total);
        let processed = sum(succeeded, failed).or(succeeded).or(failed);
        let progress = processed
            .zip(total)
            .and_then(|(processed, total)| fraction(processed, total))
            .or_else(|| batch.progress.as_ref().and_then(|p| scaled(p, 100.0)))
            .or_else(|| (status == Some(LifecycleStatus::Completed)).then_some(1.0));
        let usage = batch.usage.as_ref();
        let billing = batch.billing.as_ref();
        let cost = billing.and_then(|b| {
            let from_usd = || {
                let usd = b.cost_usd.as_ref()?.as_f64()?;
                let nanos = (usd * 1e9).round();
                (nanos.is_finite() && nanos.abs() < i64::MAX as f64).then_some(nanos as i64)
            };
            match b.cost_nanos.or(b.total_nanos) {
                Some(nanos) => Some(Cost {
                    nanos,
                    currency: b.currency.clone(),
                }),
                None => from_usd().map(|nanos| Cost {
                    nanos,
                    currency: Some("USD".to_owned()),
                }),
            }
        });
        let error_message = batch
            .errors
            .as_ref()
            .and_then(|e| e.data.as_ref())
            .and_then(|data| data.first())
            .and_then(|e| e.message.clone());
        JobView {
            id: batch.id.clone(),
            source: JobSource::AiStatsBatch,
            status,
            raw_status: batch.status.clone(),
            counts: JobCounts {
                total,
                processed,
                succeeded,
                failed,
            },
            progress,
            input_tokens: usage.and_then(|u| u.input()),
            output_tokens: usage.and_then(|u| u.output()),
            total_tokens: usage.and_then(|u| u.total()),
            cost,
            error_message,
            row_errors: Vec::new(),
        }
    }

    /// The view of a doc-tagging job. Progress: `progress` read as a fraction, else
    /// processed/total.
    pub fn from_doc_tagging(job: &DocTaggingJob) -> JobView {
        let total = job.total_documents;
        let processed = job.processed_count;
        let failed = job.failed_count;
        let succeeded = processed.zip(failed).map(|(p, f)| p.saturating_sub(f));
        let progress = job
            .progress
            .as_ref()
            .and_then(|p| scaled(p, 1.0))
            .or_else(|| processed.zip(total).and_then(|(p, t)| fraction(p, t)));
        JobView {
            id: job.job_id.clone(),
            source: JobSource::DocTagging,
            status: job.status.as_deref().map(LifecycleStatus::parse),
            raw_status: job.status.clone(),
            counts: JobCounts {
                total,
                processed,
                succeeded,
                failed,
            },
            progress,
            input_tokens: None,
            output_tokens: None,
            total_tokens: None,
            cost: None,
            error_message: None,
            row_errors: Vec::new(),
        }
    }

    /// The view of a fact-check batch. Progress: processed/total.
    pub fn from_fact_check(batch: &FactCheckBatch) -> JobView {
        let total = batch.total_items;
        let succeeded = batch.success_count;
        let failed = batch.failure_count;
        let processed = batch.processed_items.or_else(|| sum(succeeded, failed));
        let input_tokens = batch.total_input_tokens;
        let output_tokens = batch.total_output_tokens;
        JobView {
            id: batch.id.clone(),
            source: JobSource::FactCheck,
            status: batch.status.as_deref().map(LifecycleStatus::parse),
            raw_status: batch.status.clone(),
            counts: JobCounts {
                total,
                processed,
                succeeded,
                failed,
            },
            progress: processed.zip(total).and_then(|(p, t)| fraction(p, t)),
            input_tokens,
            output_tokens,
            total_tokens: sum(input_tokens, output_tokens),
            cost: batch.total_cost_cents.map(|cents| Cost {
                nanos: cents.saturating_mul(10_000_000),
                currency: None,
            }),
            error_message: batch.error_message.clone(),
            row_errors: batch.validation_errors.clone().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn view(json: &str) -> JobView {
        JobView::from_json(json.as_bytes()).unwrap()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn clamps_a_reported_progress_outside_its_scale() {
        assert_eq!(view(r#"{"progress":250}"#).progress, Some(1.0));
        assert_eq!(view(r#"{"progress":-3}"#).progress, Some(0.0));
        assert_eq!(view(r#"{"job_id":"j","progress":1.7}"#).progress, Some(1.0));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn reads_the_same_number_on_each_source_scale() {
        let gateway = view(r#"{"id":"b","progress":0.5}"#);
        let doc_tagging = view(r#"{"job_id":"j","progress":0.5}"#);
        assert_eq!(
            gateway.progress,
            Some(0.005),
            "gateway progress is a percentage"
        );
        assert_eq!(
            doc_tagging.progress,
            Some(0.5),
            "doc-tagging progress is a fraction"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn never_reports_negative_succeeded_counts() {
        let job = view(r#"{"job_id":"j","processed_count":2,"failed_count":5}"#);
        assert_eq!(job.counts.succeeded, Some(0));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn derives_processed_fact_check_items_from_outcomes() {
        let batch = view(r#"{"id":"f","totalItems":10,"successCount":3,"failureCount":1}"#);
        assert_eq!(batch.source, JobSource::FactCheck);
        assert_eq!(batch.counts.processed, Some(4));
        assert_eq!(batch.progress, Some(0.4));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn an_empty_object_is_an_ai_stats_batch_with_nothing_known() {
        let empty = view("{}");
        assert_eq!(empty.source, JobSource::AiStatsBatch);
        assert_eq!(empty.status, None);
        assert_eq!(empty.progress, None);
        assert_eq!(empty.counts, JobCounts::default());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn falls_back_to_the_cost_in_dollars() {
        let batch = view(r#"{"billing":{"cost_usd":0.25}}"#);
        assert_eq!(
            batch.cost,
            Some(Cost {
                nanos: 250_000_000,
                currency: Some("USD".into())
            })
        );
        assert_eq!(view(r#"{"billing":{"cost_usd":1e300}}"#).cost, None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn takes_the_gateway_cost_in_nanos_with_its_currency() {
        let batch = view(r#"{"billing":{"currency":"USD","cost_nanos":1500,"total_nanos":9}}"#);
        assert_eq!(
            batch.cost,
            Some(Cost {
                nanos: 1500,
                currency: Some("USD".into())
            })
        );
    }
}
