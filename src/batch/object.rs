//! The gateway's batch object, with every field of the list-batches reference.
//!
//! All fields are optional and unknown ones are kept (see [`super::tolerant`]), so a partial
//! object (a thin webhook's `{"id": …}`), an OpenAI batch and a newer gateway's batch all parse,
//! and writing a parsed batch back yields the same JSON. Non-integer numbers are kept as
//! [`Number`] so `50` is written back as `50`, not `50.0`.

use serde_json::{Map, Number, Value};

use super::error::ParseError;
use super::lifecycle::LifecycleStatus;
use super::tolerant::{field_value_by_serde, tolerant_struct};

field_value_by_serde!(LifecycleStatus, Vec<BatchError>, Vec<WebhookAttempt>);

tolerant_struct! {
    /// A batch job as returned by `POST /v1/batches`, `GET /v1/batches/{id}` and in the list
    /// envelope's `data`. Timestamps named `*_at` with integer values are Unix seconds; the
    /// webhook bookkeeping timestamps are strings as the gateway sends them.
    pub struct Batch {
        /// Gateway-owned id, used for polling, cancelling and websocket subscriptions.
        id: String = "id",
        /// The provider's own id when it differs from `id` (correlation only).
        native_batch_id: String = "native_batch_id",
        /// Object type, `"batch"`.
        object: String = "object",
        /// The endpoint every request line targets, e.g. `/v1/chat/completions`.
        endpoint: String = "endpoint",
        /// The model, when the provider reports one per batch (OpenAI does).
        model: String = "model",
        /// Batch-level errors (e.g. input validation failures).
        errors: BatchErrors = "errors",
        /// The uploaded JSONL input file.
        input_file_id: String = "input_file_id",
        /// The completion window, e.g. `24h`.
        completion_window: String = "completion_window",
        /// The raw provider status (any spelling); see [`Batch::lifecycle`].
        status: String = "status",
        /// The gateway's normalised, cross-job status; preferred over `status`.
        lifecycle_status: LifecycleStatus = "lifecycle_status",
        /// Progress as a **percentage** 0–100, derived from request counts by the gateway.
        progress: Number = "progress",
        /// The canonical status endpoint.
        polling_url: String = "polling_url",
        /// Live updates endpoint.
        websocket_url: String = "websocket_url",
        /// Present only while the batch can still be cancelled through the gateway.
        cancel_url: String = "cancel_url",
        /// Results file, once completed.
        output_file_id: String = "output_file_id",
        /// Per-request error file, once completed.
        error_file_id: String = "error_file_id",
        /// Creation time (Unix seconds).
        created_at: i64 = "created_at",
        /// Time execution started (Unix seconds).
        in_progress_at: i64 = "in_progress_at",
        /// Time the completion window ends (Unix seconds).
        expires_at: i64 = "expires_at",
        /// Time finalizing started (Unix seconds).
        finalizing_at: i64 = "finalizing_at",
        /// Completion time (Unix seconds).
        completed_at: i64 = "completed_at",
        /// Failure time (Unix seconds).
        failed_at: i64 = "failed_at",
        /// Expiry time (Unix seconds).
        expired_at: i64 = "expired_at",
        /// Time a cancel was accepted (Unix seconds).
        cancelling_at: i64 = "cancelling_at",
        /// Time the batch stopped after a cancel (Unix seconds).
        cancelled_at: i64 = "cancelled_at",
        /// Request totals.
        request_counts: RequestCounts = "request_counts",
        /// Caller-supplied metadata.
        metadata: Map<String, Value> = "metadata",
        /// Gateway request correlation id.
        request_id: String = "request_id",
        /// Upstream provider name.
        provider: String = "provider",
        /// Gateway session correlation id.
        session_id: String = "session_id",
        /// Sanitised webhook configuration and delivery state (never the secret).
        webhook: WebhookInfo = "webhook",
        /// When the gateway will retry the webhook next.
        next_webhook_retry_at: String = "next_webhook_retry_at",
        /// The progress value last announced by webhook.
        last_webhook_progress: Number = "last_webhook_progress",
        /// When progress was last announced by webhook.
        last_webhook_progress_at: String = "last_webhook_progress_at",
        /// When a webhook was last dispatched.
        last_webhook_dispatched_at: String = "last_webhook_dispatched_at",
        /// When the gateway finalised the batch (billing settled).
        finalized_at: String = "finalized_at",
        /// Settlement lines, when available (shape not specified by the reference).
        pricing_lines: Vec<Value> = "pricing_lines",
        /// Billing reservation and settlement state.
        billing: Billing = "billing",
        /// Token usage totals (OpenAI batches carry them).
        usage: Usage = "usage",
    }
}

tolerant_struct! {
    /// Request totals of a batch.
    pub struct RequestCounts {
        /// Requests in the input file.
        total: u64 = "total",
        /// Requests that succeeded.
        completed: u64 = "completed",
        /// Requests that failed.
        failed: u64 = "failed",
    }
}

tolerant_struct! {
    /// Token usage; both the chat (`prompt_tokens`/`completion_tokens`) and the responses
    /// (`input_tokens`/`output_tokens`) spellings are modelled.
    pub struct Usage {
        /// Input tokens, chat spelling.
        prompt_tokens: u64 = "prompt_tokens",
        /// Output tokens, chat spelling.
        completion_tokens: u64 = "completion_tokens",
        /// Input tokens, responses spelling.
        input_tokens: u64 = "input_tokens",
        /// Output tokens, responses spelling.
        output_tokens: u64 = "output_tokens",
        /// All tokens.
        total_tokens: u64 = "total_tokens",
    }
}

impl Usage {
    /// Input tokens in either spelling.
    pub fn input(&self) -> Option<u64> {
        self.prompt_tokens.or(self.input_tokens)
    }

    /// Output tokens in either spelling.
    pub fn output(&self) -> Option<u64> {
        self.completion_tokens.or(self.output_tokens)
    }

    /// Total tokens, or input + output when no total is given.
    pub fn total(&self) -> Option<u64> {
        self.total_tokens
            .or_else(|| match (self.input(), self.output()) {
                (None, None) => None,
                (input, output) => Some(input.unwrap_or(0).saturating_add(output.unwrap_or(0))),
            })
    }
}

tolerant_struct! {
    /// Batch-level errors (OpenAI shape: `{"object":"list","data":[…]}`).
    pub struct BatchErrors {
        /// `"list"`.
        object: String = "object",
        /// The errors.
        data: Vec<BatchError> = "data",
    }
}

tolerant_struct! {
    /// One batch-level error.
    pub struct BatchError {
        /// Machine-readable code.
        code: String = "code",
        /// Human-readable message.
        message: String = "message",
        /// The offending parameter, if any.
        param: String = "param",
        /// The input line, if the error concerns one.
        line: u64 = "line",
    }
}

tolerant_struct! {
    /// Sanitised webhook configuration of a batch: the secret is never included, only whether
    /// one is set.
    pub struct WebhookInfo {
        /// Delivery URL.
        url: String = "url",
        /// Subscribed event types, e.g. `batch.completed`.
        events: Vec<String> = "events",
        /// Whether deliveries are signed.
        has_secret: bool = "has_secret",
        /// Delivery summary.
        delivery: WebhookDelivery = "delivery",
        /// Recent delivery attempts.
        attempts: Vec<WebhookAttempt> = "attempts",
    }
}

tolerant_struct! {
    /// Webhook delivery summary of a batch.
    pub struct WebhookDelivery {
        /// Attempts made so far.
        total_attempts: u64 = "total_attempts",
        /// Events delivered successfully.
        delivered_events: u64 = "delivered_events",
        /// Types of the delivered events.
        delivered_event_types: Vec<String> = "delivered_event_types",
        /// Retries still scheduled.
        pending_retries: u64 = "pending_retries",
        /// Next retry time.
        next_retry_at: String = "next_retry_at",
        /// Last attempt time.
        last_attempt_at: String = "last_attempt_at",
        /// HTTP status of the last attempt.
        last_response_status: u16 = "last_response_status",
        /// Last successful delivery time.
        last_delivered_at: String = "last_delivered_at",
        /// Last failed attempt time.
        last_failure_at: String = "last_failure_at",
        /// Error of the last failed attempt.
        last_error_message: String = "last_error_message",
    }
}

tolerant_struct! {
    /// One webhook delivery attempt.
    pub struct WebhookAttempt {
        /// Attempt id.
        id: String = "id",
        /// Idempotency key of the delivery (stable across retries).
        delivery_key: String = "delivery_key",
        /// Event type delivered.
        event_type: String = "event_type",
        /// 1-based attempt number.
        attempt_number: u32 = "attempt_number",
        /// Attempts allowed.
        max_attempts: u32 = "max_attempts",
        /// Attempt time.
        tried_at: String = "tried_at",
        /// Delivery time, if delivered.
        delivered_at: String = "delivered_at",
        /// Next retry time, if any.
        next_retry_at: String = "next_retry_at",
        /// HTTP status received.
        response_status: u16 = "response_status",
        /// Error, if the attempt failed.
        error_message: String = "error_message",
        /// Start of the receiver's response body.
        response_body_preview: String = "response_body_preview",
    }
}

tolerant_struct! {
    /// Billing reservation and settlement state. Costs are decimal strings as sent; `*_nanos`
    /// are integer nano-units of `currency`.
    pub struct Billing {
        /// Currency code.
        currency: String = "currency",
        /// Whether the batch was billed.
        billed: bool = "billed",
        /// Whether the charge was taken.
        charged: bool = "charged",
        /// Why (not) billed.
        reason: String = "reason",
        /// Reservation id.
        reservation_id: String = "reservation_id",
        /// Reservation state.
        reservation_status: String = "reservation_status",
        /// Estimated provider cost.
        estimated_provider_cost: String = "estimated_provider_cost",
        /// Estimated user cost.
        estimated_user_cost: String = "estimated_user_cost",
        /// Settled provider cost.
        settled_provider_cost: String = "settled_provider_cost",
        /// Settled user cost.
        settled_user_cost: String = "settled_user_cost",
        /// Estimate in nanos.
        estimated_nanos: i64 = "estimated_nanos",
        /// Reservation in nanos.
        reserved_nanos: i64 = "reserved_nanos",
        /// Whether the estimate was made on a sample.
        estimation_truncated: bool = "estimation_truncated",
        /// Rows sampled for the estimate.
        estimation_sample_size: u64 = "estimation_sample_size",
        /// Rows in the input.
        estimation_total_rows: u64 = "estimation_total_rows",
        /// Total in nanos.
        total_nanos: i64 = "total_nanos",
        /// Cost in nanos.
        cost_nanos: i64 = "cost_nanos",
        /// Cost in US dollars.
        cost_usd: Number = "cost_usd",
        /// Settlement time.
        finalized_at: String = "finalized_at",
        /// Price breakdown (shape not specified by the reference).
        pricing_breakdown: Value = "pricing_breakdown",
    }
}

impl Batch {
    /// Parses a batch from JSON bytes. Any JSON object is accepted; only malformed JSON or a
    /// non-object is an error.
    pub fn from_json(bytes: &[u8]) -> Result<Batch, ParseError> {
        ParseError::parse_object(bytes, "batch").map(Batch::from_map)
    }

    /// Builds a batch from an already parsed JSON value.
    pub fn from_value(value: Value) -> Result<Batch, ParseError> {
        match value {
            Value::Object(map) => Ok(Batch::from_map(map)),
            other => Err(ParseError::not_an_object("batch", &other)),
        }
    }

    /// The batch as a JSON value (unknown fields included).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The batch as compact JSON text (unknown fields included).
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// The lifecycle status: `lifecycle_status` when it is present and known, else the raw
    /// `status` mapped through [`LifecycleStatus::parse`], else an unknown `lifecycle_status`.
    pub fn lifecycle(&self) -> Option<LifecycleStatus> {
        let from_status = || self.status.as_deref().map(LifecycleStatus::parse);
        match &self.lifecycle_status {
            Some(status) if status.rank().is_some() => Some(status.clone()),
            unknown => from_status()
                .filter(|status| status.rank().is_some())
                .or_else(|| unknown.clone())
                .or_else(from_status),
        }
    }

    /// Whether the batch is in a terminal state (see [`Batch::lifecycle`]).
    pub fn is_terminal(&self) -> bool {
        self.lifecycle().is_some_and(|s| s.is_terminal())
    }

    /// Whether the object carries no more than an id (a thin webhook's `data`): the receiver
    /// must fetch the batch to learn its state.
    pub fn is_thin(&self) -> bool {
        self.lifecycle().is_none() && self.request_counts.is_none() && self.output_file_id.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn writes_back_unknown_and_mistyped_fields_unchanged() {
        let text = r#"{"id":"b","progress":50,"created_at":"yesterday","x":{"y":[1,null]},"webhook":{"has_secret":"yes","z":1}}"#;
        let batch = Batch::from_json(text.as_bytes()).unwrap();
        assert_eq!(batch.created_at, None);
        assert_eq!(batch.webhook.as_ref().unwrap().has_secret, None);
        let original: Value = serde_json::from_str(text).unwrap();
        assert_eq!(batch.to_value(), original);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn writes_kept_fields_back_in_the_order_they_came_after_the_modelled_ones() {
        let text = r#"{"zeta":1,"created_at":"yesterday","id":"b","alpha":2,"request_counts":{"n":1,"total":"many","completed":3}}"#;
        let written = serde_json::to_string(&Batch::from_json(text.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            written,
            r#"{"id":"b","request_counts":{"completed":3,"n":1,"total":"many"},"zeta":1,"created_at":"yesterday","alpha":2}"#
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_nested_object_of_the_wrong_type_is_kept_verbatim() {
        let text = r#"{"id":"b","request_counts":[1,2],"metadata":"none","webhook":null}"#;
        let batch = Batch::from_json(text.as_bytes()).unwrap();
        assert_eq!(
            (&batch.request_counts, &batch.metadata, &batch.webhook),
            (&None, &None, &None)
        );
        assert_eq!(
            batch.to_value(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn an_unknown_lifecycle_status_yields_to_a_known_raw_status() {
        let batch =
            Batch::from_json(br#"{"lifecycle_status":"thawing","status":"expired"}"#).unwrap();
        assert_eq!(batch.lifecycle(), Some(LifecycleStatus::Expired));
        let neither =
            Batch::from_json(br#"{"lifecycle_status":"thawing","status":"frozen"}"#).unwrap();
        assert_eq!(
            neither.lifecycle(),
            Some(LifecycleStatus::Unknown("thawing".into()))
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn a_thin_object_has_only_an_id() {
        assert!(Batch::from_json(br#"{"id":"b"}"#).unwrap().is_thin());
        assert!(!Batch::from_json(br#"{"id":"b","status":"failed"}"#)
            .unwrap()
            .is_thin());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn usage_accepts_both_token_spellings() {
        let chat = Usage {
            prompt_tokens: Some(3),
            completion_tokens: Some(4),
            ..Usage::default()
        };
        assert_eq!(
            (chat.input(), chat.output(), chat.total()),
            (Some(3), Some(4), Some(7))
        );
        let responses = Usage {
            input_tokens: Some(5),
            total_tokens: Some(9),
            ..Usage::default()
        };
        assert_eq!(responses.total(), Some(9));
        assert_eq!(Usage::default().total(), None);
    }
}
