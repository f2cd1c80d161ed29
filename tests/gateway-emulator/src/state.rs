//! Everything the emulator remembers: files, batches (with their execution plan, counters and
//! webhook delivery record) and the global fault knobs. One mutex guards it all; no lock is
//! ever held across an `.await`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::faults::Faults;
use crate::model::{InputRow, Usage};
use crate::rng::Rng;

/// Shared handle to the emulator.
#[derive(Clone)]
pub struct App(pub Arc<Shared>);

/// The parts of the emulator that never change after start-up, plus the guarded state.
pub struct Shared {
    /// Bearer key for `/v1/*`.
    pub api_key: String,
    /// Bearer key for `/_admin/*`.
    pub admin_key: String,
    /// `http://127.0.0.1:PORT`, for absolute URLs in batch objects.
    pub base_url: String,
    /// The seed every random decision derives from.
    pub seed: u64,
    /// The emulated clock.
    pub clock: Clock,
    /// Files, batches and faults.
    pub state: Mutex<State>,
    /// Every webhook request sent or dropped, for tests (`GET /_admin/deliveries`). Its own
    /// lock, because drops are logged while the state lock is held.
    pub delivery_log: Mutex<Vec<Value>>,
    /// The most recent authenticated `/v1` requests (method, path, status, real time), so tests
    /// can see how a client polled, e.g. whether it honoured `Retry-After`.
    pub request_log: Mutex<std::collections::VecDeque<Value>>,
}

/// How many requests the request log keeps.
pub const REQUEST_LOG_CAP: usize = 100_000;

impl App {
    /// Locks the state (a poisoned lock is still usable: every update is all-or-nothing).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the request log (never while waiting for the state lock).
    pub fn request_log(&self) -> MutexGuard<'_, std::collections::VecDeque<Value>> {
        self.0.request_log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks the delivery log (never while waiting for the state lock).
    pub fn delivery_log(&self) -> MutexGuard<'_, Vec<Value>> {
        self.0
            .delivery_log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// The mutable part.
pub struct State {
    /// Uploaded and generated files by id.
    pub files: HashMap<String, FileRecord>,
    /// Batches by id.
    pub batches: HashMap<String, BatchRecord>,
    /// Batch ids in creation order (lists are served newest first).
    pub order: Vec<String>,
    /// Global fault knobs.
    pub faults: Faults,
    /// Draws for API faults and ids.
    pub rng: Rng,
}

/// One file.
pub struct FileRecord {
    /// `file-…`.
    pub id: String,
    /// The uploaded name, or a generated one for outputs.
    pub filename: String,
    /// `batch`, `batch_output`.
    pub purpose: String,
    /// Creation time, emulated unix seconds.
    pub created_at: i64,
    /// The content.
    pub bytes: bytes::Bytes,
    /// For inputs: the endpoint every row targets and the rows the fake model answers.
    pub input: Option<(String, Arc<Vec<InputRow>>)>,
}

/// The raw (OpenAI) status of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Checking the input.
    Validating,
    /// Running rows.
    InProgress,
    /// Writing the output files.
    Finalizing,
    /// Done. Terminal.
    Completed,
    /// Failed upstream. Terminal.
    Failed,
    /// The completion window passed. Terminal.
    Expired,
    /// A cancel was accepted.
    Cancelling,
    /// Stopped by a cancel. Terminal.
    Cancelled,
}

impl Status {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Validating => "validating",
            Status::InProgress => "in_progress",
            Status::Finalizing => "finalizing",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Expired => "expired",
            Status::Cancelling => "cancelling",
            Status::Cancelled => "cancelled",
        }
    }

    /// Whether nothing can happen to the batch any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Failed | Status::Expired | Status::Cancelled
        )
    }

    /// Whether `POST …/cancel` is accepted.
    pub fn is_cancellable(self) -> bool {
        matches!(
            self,
            Status::Validating | Status::InProgress | Status::Finalizing
        )
    }
}

/// The webhook a batch was created with. The secret is kept for signing and never rendered.
#[derive(Clone)]
pub struct WebhookConfig {
    /// Where deliveries go.
    pub url: String,
    /// Subscribed event types.
    pub events: Vec<String>,
    /// The `whsec_…` signing secret, if signing is enabled.
    pub secret: Option<String>,
}

/// One recorded delivery attempt (the reference's `webhook.attempts[]`).
#[derive(Clone)]
pub struct Attempt {
    /// `whatt_…`.
    pub id: String,
    /// The delivery key (event type, plus the progress step for progress events).
    pub delivery_key: String,
    /// The event type.
    pub event_type: String,
    /// 1-based.
    pub attempt_number: u32,
    /// Attempts allowed for this delivery.
    pub max_attempts: u32,
    /// Emulated unix seconds.
    pub tried_at: i64,
    /// Set when the receiver answered 2xx.
    pub delivered_at: Option<i64>,
    /// Set when another attempt is scheduled.
    pub next_retry_at: Option<i64>,
    /// The receiver's status, if it answered.
    pub response_status: Option<u16>,
    /// Why the attempt failed.
    pub error_message: Option<String>,
    /// The first bytes of the receiver's answer.
    pub response_body_preview: Option<String>,
}

/// A batch's webhook bookkeeping.
#[derive(Default)]
pub struct Deliveries {
    /// Every attempt, oldest first (the object shows the most recent ones).
    pub attempts: Vec<Attempt>,
    /// Delivery keys delivered at least once, in order.
    pub delivered: Vec<(String, String)>,
    /// Deliveries waiting for a retry, with the retry's emulated time.
    pub pending: HashMap<String, i64>,
    /// Deliveries held back by the `reorder` fault until the batch is terminal.
    pub held: Vec<crate::webhooks::Delivery>,
    /// Emulated time of the last dispatch.
    pub last_dispatched_at: Option<i64>,
    /// The highest progress step reached (announced or not).
    pub progress_step: u32,
    /// The last progress percentage announced by webhook, and when.
    pub last_progress: Option<(u32, i64)>,
    /// The batch's ordered sender of first attempts, started on its first delivery.
    pub queue: Option<tokio::sync::mpsc::UnboundedSender<Vec<crate::webhooks::Delivery>>>,
}

/// The emulated timings of a batch, fixed at creation.
pub struct Plan {
    /// End of validation.
    pub start_at_ms: i64,
    /// Length of the in_progress phase.
    pub run_ms: i64,
    /// The injected failure, if any.
    pub fail: Option<crate::faults::FailAt>,
    /// When the injected expiry happens (progress stalls halfway until then).
    pub stall_until_expiry: bool,
}

/// One batch.
pub struct BatchRecord {
    /// `batch_…`.
    pub id: String,
    /// Input file.
    pub input_file_id: String,
    /// e.g. `/v1/chat/completions`.
    pub endpoint: String,
    /// As given, e.g. `24h`.
    pub completion_window: String,
    /// Caller metadata as given (knobs included).
    pub metadata: Map<String, Value>,
    /// The webhook, if any.
    pub webhook: Option<WebhookConfig>,
    /// The input rows.
    pub rows: Arc<Vec<InputRow>>,
    /// Prompt tokens over all rows (the billing estimate's base), summed once at creation.
    pub prompt_tokens_total: u64,
    /// This batch's own knobs (metadata `emulator.*`).
    pub faults: Faults,
    /// Timings.
    pub plan: Plan,
    /// Raw status.
    pub status: Status,
    /// Creation, emulated unix seconds.
    pub created_at: i64,
    /// Phase timestamps, emulated unix seconds.
    pub in_progress_at: Option<i64>,
    /// See `in_progress_at`.
    pub finalizing_at: Option<i64>,
    /// See `in_progress_at`.
    pub completed_at: Option<i64>,
    /// See `in_progress_at`.
    pub failed_at: Option<i64>,
    /// See `in_progress_at`.
    pub expired_at: Option<i64>,
    /// See `in_progress_at`.
    pub cancelling_at: Option<i64>,
    /// See `in_progress_at`.
    pub cancelled_at: Option<i64>,
    /// End of the completion window.
    pub expires_at: i64,
    /// Rows run so far.
    pub processed: usize,
    /// Of those, answered.
    pub completed: usize,
    /// Of those, failed.
    pub failed: usize,
    /// Tokens of answered rows.
    pub usage: Usage,
    /// Set when finished.
    pub output_file_id: Option<String>,
    /// Set when finished with failed or unrun rows.
    pub error_file_id: Option<String>,
    /// Batch-level errors (`{object:"list",data:[{code,message}]}`).
    pub errors: Option<Value>,
    /// Gateway correlation ids.
    pub request_id: String,
    /// See `request_id`.
    pub session_id: String,
    /// Webhook bookkeeping.
    pub deliveries: Deliveries,
    /// Per-batch random stream for delivery faults.
    pub rng: Rng,
    /// Bumped on every change; WebSocket subscribers watch it.
    pub version: watch::Sender<u64>,
}

impl BatchRecord {
    /// Signals a change to live subscribers.
    pub fn touch(&self) {
        self.version.send_modify(|v| *v += 1);
    }

    /// The knobs in force for this batch now: its own, else the global ones.
    pub fn effective_faults(&self, global: &Faults) -> Faults {
        self.faults.or(global)
    }

    /// Progress 0–100 from the request counts.
    pub fn progress(&self) -> u32 {
        if self.rows.is_empty() {
            return 0;
        }
        (self.processed * 100 / self.rows.len()) as u32
    }
}
