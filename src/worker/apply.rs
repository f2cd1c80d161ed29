//! The bodies of the ledger's storage transactions: record a delivery or a poll and apply what
//! the core decided. Synchronous on purpose — they run inside
//! [`transaction`](super::txn::transaction), so a record and its effects commit together.

use crate::batch::{Batch, LifecycleStatus};
use crate::event::Event;
use crate::ledger::{Decision, Delivery, LedgerState, Source as LedgerSource, StaleReason};
use crate::reconcile::{self, CancelRequest, Schedule};
use crate::worker::ledger_object::DeliveryHeaders;
use crate::worker::store::{self, DeliveryRow, EventRow};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use worker::SqlStorage;

/// What a delivery did, as answered to the sender and stored as the delivery's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryOutcome {
    /// The core ledger's outcome: `applied`, `duplicate`, `stale`, `needs_reconcile` or
    /// `dead_letter`.
    pub outcome: &'static str,
    /// Why, for `stale` (`unchanged`, `older`, `terminal`), `needs_reconcile` (`thin`,
    /// `unknown_status`) and `dead_letter`.
    pub reason: Option<String>,
    /// The stored status after the delivery.
    pub status: Option<String>,
    /// Whether the ledger must poll the gateway now.
    #[serde(skip)]
    pub poll_now: bool,
    /// The batch row as the delivery wrote it (status column and object), if it wrote it.
    #[serde(skip)]
    pub saved: Option<(LifecycleStatus, Batch)>,
}

/// Where the stored batch came from: the `updated_by` column and the timeline's `source`.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A verified webhook delivery.
    Webhook,
    /// batchhook's own poll of the gateway.
    Poll,
    /// The operator API (or a test) asked for tracking.
    Api,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Webhook => "webhook",
            Source::Poll => "poll",
            Source::Api => "api",
        }
    }
}

/// The stored status, parsed.
pub fn stored_status(sql: &SqlStorage) -> worker::Result<Option<LifecycleStatus>> {
    Ok(store::batch(sql)?
        .and_then(|b| b.status)
        .map(|s| LifecycleStatus::parse(&s)))
}

/// The stored batch object, parsed.
pub fn stored_batch(sql: &SqlStorage) -> worker::Result<Option<Batch>> {
    match store::batch(sql)? {
        Some(row) => Ok(Some(parse_batch(&row.object)?)),
        None => Ok(None),
    }
}

/// A stored batch object, parsed.
fn parse_batch(object: &str) -> worker::Result<Batch> {
    Batch::from_json(object.as_bytes())
        .map_err(|e| worker::Error::RustError(format!("stored batch is unreadable: {e}")))
}

/// Records the batch id this object serves (the alarm needs it; ids are not recoverable from a
/// Durable Object id).
pub fn remember_batch_id(sql: &SqlStorage, batch_id: &str) -> worker::Result<()> {
    store::write(
        sql,
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('batch_id', ?)",
        vec![serde_json::to_string(batch_id)?.into()],
    )?;
    Ok(())
}

/// Stores a bare batch row naming `batch_id` when none exists yet, so a batch known only by id
/// (a thin event, or tracking started before any poll answered) is visible.
pub fn record_bare(sql: &SqlStorage, batch_id: &str, now: i64, by: Source) -> worker::Result<()> {
    remember_batch_id(sql, batch_id)?;
    if store::batch(sql)?.is_none() {
        let bare = with_id(None, batch_id);
        store::save_batch(sql, batch_id, None, &bare.to_json(), None, now, by.as_str())?;
    }
    Ok(())
}

/// The core ledger's state for this batch (`meta.ledger`); a ledger stored before it existed
/// starts from the stored status.
pub fn ledger_state(sql: &SqlStorage, batch_id: &str) -> worker::Result<LedgerState> {
    match store::meta::<LedgerState>(sql, "ledger")? {
        Some(state) => Ok(state),
        None => first_ledger_state(sql, batch_id),
    }
}

/// The ledger state of a batch with none stored yet.
fn first_ledger_state(sql: &SqlStorage, batch_id: &str) -> worker::Result<LedgerState> {
    let mut state = LedgerState::new(batch_id);
    state.status = stored_status(sql)?;
    Ok(state)
}

/// What a delivery needs to know of the stored state before the core decides: this batch's
/// ledger state, the polling state and the cancel request. (Whether its `webhook-id` is
/// stored already, the delivery's insert tells: see [`delivery`].)
pub struct DeliveryStates {
    /// The core ledger's state.
    pub ledger: LedgerState,
    /// The polling state.
    pub poll: PollState,
    /// The cancellation requested through the operator API (`meta.cancel_request`), for the
    /// failure classification.
    pub cancel: Option<CancelRequest>,
}

impl DeliveryStates {
    /// The states of a ledger that has stored nothing yet: what [`delivery_states`] reads
    /// from a database whose schema was just created.
    pub fn empty(batch_id: &str) -> DeliveryStates {
        DeliveryStates {
            ledger: LedgerState::new(batch_id),
            poll: PollState::default(),
            cancel: None,
        }
    }
}

/// What a transaction already knows of the stored state, so that [`ensure_polling_from`]
/// reads none of it back (each read is a statement out of wasm into SQLite, and on a new
/// object one SQLite has to prepare first).
#[derive(Default)]
pub struct Known {
    /// The batch row as last written here: status column and object.
    pub saved: Option<(LifecycleStatus, Batch)>,
    /// `meta.cancel_request`, when it was read.
    pub cancel: Option<Option<CancelRequest>>,
}

/// Reads [`DeliveryStates`] with one statement (each statement is a round trip out of wasm
/// into SQLite and showed in the ingest profile).
pub fn delivery_states(sql: &SqlStorage, batch_id: &str) -> worker::Result<DeliveryStates> {
    #[derive(Deserialize)]
    struct Row {
        key: String,
        value: String,
    }
    let rows: Vec<Row> = store::rows(
        sql,
        "SELECT key, value FROM meta WHERE key IN ('ledger', 'poll', 'cancel_request')",
        vec![],
    )?;
    let mut ledger = None;
    let mut poll = PollState::default();
    let mut cancel = None;
    for row in rows {
        match row.key.as_str() {
            "ledger" => ledger = Some(serde_json::from_str(&row.value)?),
            "poll" => poll = serde_json::from_str(&row.value)?,
            _ => cancel = serde_json::from_str(&row.value)?,
        }
    }
    let ledger = match ledger {
        Some(state) => state,
        None => first_ledger_state(sql, batch_id)?,
    };
    Ok(DeliveryStates {
        ledger,
        poll,
        cancel,
    })
}

/// A decision's reason as its snake_case wire name.
fn reason_name<T: Serialize>(reason: &T) -> Option<String> {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

/// A decision's `reason` as answered and stored in the delivery row's `detail`.
fn detail(decision: &Decision) -> Option<String> {
    match decision {
        Decision::Duplicate | Decision::Applied { .. } => None,
        Decision::Stale { reason, .. } => reason_name(reason),
        Decision::NeedsReconcile { reason } => reason_name(reason),
        Decision::DeadLetter { code, .. } => Some(code.clone()),
    }
}

/// Records one verified delivery and applies the core ledger's decision for it to `ledger`
/// (this batch's state from [`delivery_states`]), which it stores.
///
/// The delivery row goes in first, carrying what the core decides for a `webhook-id` it has
/// not seen; the insert skips an id that is stored already, and that skip is how a sender's
/// retry is recognised — without a read of its own. The core then records the decision the
/// insert found to hold: a retry's `duplicate` (counted on the stored row), or for a new id
/// the decision already made and stored with it.
#[allow(clippy::too_many_arguments)]
pub fn delivery(
    sql: &SqlStorage,
    batch_id: &str,
    facts: &DeliveryHeaders,
    delivery: &Delivery,
    size: usize,
    now: i64,
    ledger: &mut LedgerState,
) -> worker::Result<DeliveryOutcome> {
    let current = ledger.status.clone();
    let event = delivery.event.as_ref().ok();
    let unseen = ledger.decide_delivery(delivery, false);
    let reason = detail(&unseen);
    let inserted = store::insert_delivery(
        sql,
        &DeliveryRow {
            webhook_id: facts.webhook_id.clone(),
            source: facts.source.clone(),
            received_at: facts.received_at,
            signed_at: facts.signed_at,
            event_id: event.and_then(|e| e.id.clone()),
            event_type: event.and_then(|e| e.event_type.as_ref().map(|t| t.as_str().to_owned())),
            payload_status: event.and_then(claimed_status),
            body_sha256: facts.body_sha256.clone(),
            size: size as i64,
            outcome: unseen.outcome().to_owned(),
            detail: reason.clone(),
            duplicates: 0,
            last_duplicate_at: None,
        },
    )?;
    if !inserted {
        store::count_duplicate(sql, &facts.webhook_id, now)?;
    }
    let decision = ledger.record_delivery(
        delivery,
        if inserted {
            unseen
        } else {
            ledger.decide_delivery(delivery, true)
        },
    );
    store::set_meta(sql, "ledger", ledger)?;
    let outcome = decision.outcome();
    let mut saved = None;
    match &decision {
        Decision::Duplicate => {
            return Ok(DeliveryOutcome {
                outcome,
                reason: None,
                status: current.map(|s| s.as_str().to_owned()),
                poll_now: false,
                saved: None,
            })
        }
        Decision::Applied { timeline, .. } => {
            let object = match event.and_then(Event::batch) {
                Some(full) => full.clone(),
                None => with_status(stored_batch(sql)?, batch_id, &timeline.to),
            };
            let reference = facts.webhook_id.as_str();
            save(
                sql,
                batch_id,
                current.as_ref(),
                &timeline.to,
                &object,
                now,
                Source::Webhook,
                reference,
            )?;
            saved = Some((timeline.to.clone(), object));
        }
        Decision::Stale { refresh, .. } => {
            if let (true, Some(full), Some(status)) =
                (*refresh, event.and_then(Event::batch), current.as_ref())
            {
                save(
                    sql,
                    batch_id,
                    Some(status),
                    status,
                    full,
                    now,
                    Source::Webhook,
                    &facts.webhook_id,
                )?;
                saved = Some((status.clone(), full.clone()));
            }
        }
        Decision::NeedsReconcile { .. } | Decision::DeadLetter { .. } => {}
    }
    if current.is_none() {
        match saved {
            // The batch row was just written: only the id is left to remember.
            Some(_) => remember_batch_id(sql, batch_id)?,
            None => record_bare(sql, batch_id, now, Source::Webhook)?,
        }
    }
    if let Some(summary) = event.and_then(Event::delivery_summary) {
        store::set_meta(sql, "webhook_delivery", summary)?;
    }
    Ok(DeliveryOutcome {
        outcome,
        reason,
        status: ledger.status.as_ref().map(|s| s.as_str().to_owned()),
        poll_now: decision.poll_now(),
        saved,
    })
}

fn claimed_status(event: &Event) -> Option<String> {
    match event.claim() {
        crate::event::Claim::Status(s) => Some(s.as_str().to_owned()),
        crate::event::Claim::Thin { .. } => None,
    }
}

/// The stored object (or a bare one naming the batch) moved to `status`: what a thin event
/// with an implied status, applied before the poll that fetches the full object, leaves.
fn with_status(stored: Option<Batch>, batch_id: &str, status: &LifecycleStatus) -> Batch {
    let mut batch = with_id(stored, batch_id);
    batch.status = Some(status.as_str().to_owned());
    batch.lifecycle_status = Some(status.clone());
    batch
}

/// The stored object, or a bare one that only names the batch (what a thin event tells).
fn with_id(stored: Option<Batch>, batch_id: &str) -> Batch {
    let mut batch = stored.unwrap_or_default();
    if batch.id.is_none() {
        batch.id = Some(batch_id.to_owned());
    }
    batch
}

/// Stores `object` as the batch with `status`, appends the timeline entry and queues the
/// summary for the index.
#[allow(clippy::too_many_arguments)]
fn save(
    sql: &SqlStorage,
    batch_id: &str,
    from: Option<&LifecycleStatus>,
    status: &LifecycleStatus,
    object: &Batch,
    now: i64,
    source: Source,
    reference: &str,
) -> worker::Result<()> {
    let json = object.to_json();
    store::save_batch(
        sql,
        batch_id,
        Some(status.as_str()),
        &json,
        object.created_at,
        now,
        source.as_str(),
    )?;
    if from != Some(status) {
        store::push_event(
            sql,
            &EventRow {
                from_status: from.map(|s| s.as_str().to_owned()),
                to_status: status.as_str().to_owned(),
                source: source.as_str().to_owned(),
                at: now,
                reference: Some(reference.to_owned()),
            },
        )?;
    }
    // The index's summary embeds the object serialised just above rather than serialising it
    // a second time (it is most of a delivery's JSON work).
    let summary = format!(
        r#"{{"id":{},"status":{},"created_at":{},"updated_at":{now},"object":{json}}}"#,
        serde_json::to_string(batch_id)?,
        serde_json::to_string(status.as_str())?,
        serde_json::to_string(&object.created_at)?,
    );
    store::push_outbox(sql, &summary, now)
}

/// The ledger's polling state, kept in `meta` under `poll`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PollState {
    /// Polls since the status last moved (drives the backoff).
    pub attempt: u32,
    /// When the next poll is due (ms); `None` when polling has stopped.
    pub next_at: Option<i64>,
    /// Polls that failed in a row.
    pub consecutive_failures: u32,
    /// The last poll error.
    pub last_error: Option<String>,
    /// When the last poll ran (ms).
    pub last_poll_at: Option<i64>,
    /// The HTTP status of the last poll's response.
    pub last_http_status: Option<u16>,
    /// The gateway's request id of the last poll's response.
    pub last_request_id: Option<String>,
    /// Total polls made.
    pub polls: u64,
}

/// The polling state.
pub fn poll_state(sql: &SqlStorage) -> worker::Result<PollState> {
    Ok(store::meta(sql, "poll")?.unwrap_or_default())
}

/// What one poll returned, already parsed by the core.
pub enum PollResult {
    /// The gateway returned the batch.
    Batch {
        /// The batch.
        batch: Box<Batch>,
        /// The response's HTTP status.
        http_status: u16,
        /// The response's request id.
        request_id: Option<String>,
    },
    /// The poll failed.
    Failed {
        /// The core's error code.
        code: &'static str,
        /// The error, in words.
        message: String,
        /// The response's HTTP status, if a response arrived.
        http_status: Option<u16>,
        /// The gateway's `Retry-After`, in ms.
        retry_after_ms: Option<u64>,
        /// The response's request id.
        request_id: Option<String>,
    },
}

/// Records a poll, applies the core's decision for its result, and schedules the next poll on
/// the core's schedule (none once the batch is terminal with its full object). Returns when
/// the next poll is due (ms).
pub fn poll(
    sql: &SqlStorage,
    batch_id: &str,
    result: &PollResult,
    now: i64,
    schedule: &Schedule,
    seed: u64,
) -> worker::Result<Option<i64>> {
    let mut state = poll_state(sql)?;
    state.polls += 1;
    state.last_poll_at = Some(now);
    let current = stored_status(sql)?;
    let (outcome, detail, http_status, retry_after_ms) = match result {
        PollResult::Batch {
            batch,
            http_status,
            request_id,
        } => {
            state.consecutive_failures = 0;
            state.last_error = None;
            state.last_request_id = request_id.clone().or(state.last_request_id.take());
            let reference = request_id
                .clone()
                .unwrap_or_else(|| format!("poll-{}", state.polls));
            let mut ledger = ledger_state(sql, batch_id)?;
            let decision = ledger.handle_poll(batch, LedgerSource::Poll, now.div_euclid(1000));
            store::set_meta(sql, "ledger", &ledger)?;
            match &decision {
                Decision::Applied { timeline, .. } => {
                    let to = &timeline.to;
                    save(
                        sql,
                        batch_id,
                        current.as_ref(),
                        to,
                        batch,
                        now,
                        Source::Poll,
                        &reference,
                    )?;
                    state.attempt = 0;
                }
                Decision::Stale {
                    refresh: true,
                    reason: StaleReason::Unchanged,
                } => {
                    if let Some(status) = current.as_ref() {
                        save(
                            sql,
                            batch_id,
                            Some(status),
                            status,
                            batch,
                            now,
                            Source::Poll,
                            &reference,
                        )?;
                    }
                }
                _ => {}
            }
            let outcome = match &decision {
                Decision::Stale { reason, .. } => match reason {
                    StaleReason::Unchanged => "unchanged",
                    StaleReason::Older => "older",
                    StaleReason::Terminal => "terminal",
                    StaleReason::UnknownStatus => "unknown_status",
                },
                other => other.outcome(),
            };
            (outcome, None, Some(*http_status), None)
        }
        PollResult::Failed {
            code,
            message,
            http_status,
            retry_after_ms,
            request_id,
        } => {
            state.consecutive_failures += 1;
            state.last_error = Some(format!("{code}: {message}"));
            if request_id.is_some() {
                state.last_request_id = request_id.clone();
            }
            (
                "failed",
                Some(state.last_error.clone().unwrap_or_default()),
                *http_status,
                *retry_after_ms,
            )
        }
    };
    state.last_http_status = http_status;
    let next_in = if finished(sql)? {
        None
    } else {
        let retry_after = retry_after_ms.map(Duration::from_millis);
        let delay = schedule.next_delay(state.attempt, seed, retry_after);
        state.attempt = state.attempt.saturating_add(1);
        Some(delay.as_millis() as i64)
    };
    state.next_at = next_in.map(|d| now + d);
    store::push_poll(
        sql,
        &store::PollRow {
            at: now,
            http_status: http_status.map(i64::from),
            outcome: outcome.to_owned(),
            detail,
            next_in_ms: next_in,
        },
    )?;
    save_poll_state(sql, &state)?;
    Ok(state.next_at)
}

/// Whether the stored batch is terminal and complete (not a thin record): polling can stop.
/// One read of the batch row; its object is parsed only when the status is terminal.
pub fn finished(sql: &SqlStorage) -> worker::Result<bool> {
    let Some(row) = store::batch(sql)? else {
        return Ok(false);
    };
    let terminal = row
        .status
        .as_deref()
        .is_some_and(|s| LifecycleStatus::parse(s).is_terminal());
    Ok(terminal && !parse_batch(&row.object)?.is_thin())
}

/// After a delivery: poll now when the core asked for it, else make sure a batch that is not
/// finished has a poll scheduled (a batch first seen through a webhook starts being polled).
/// Returns when the next poll is due (ms).
pub fn ensure_polling(
    sql: &SqlStorage,
    poll_now: bool,
    now: i64,
    schedule: &Schedule,
    seed: u64,
) -> worker::Result<Option<i64>> {
    let known = Known::default();
    ensure_polling_from(sql, poll_state(sql)?, &known, poll_now, now, schedule, seed)
}

/// [`ensure_polling`] from a polling state the caller already read, and what else it knows.
pub fn ensure_polling_from(
    sql: &SqlStorage,
    mut state: PollState,
    known: &Known,
    poll_now: bool,
    now: i64,
    schedule: &Schedule,
    seed: u64,
) -> worker::Result<Option<i64>> {
    if !poll_now && state.next_at.is_some() {
        return Ok(state.next_at);
    }
    let finished = match &known.saved {
        Some((status, batch)) => status.is_terminal() && !batch.is_thin(),
        None => finished(sql)?,
    };
    let due = if poll_now {
        Some(now)
    } else if finished {
        state.next_at
    } else {
        Some(state.next_at.unwrap_or_else(|| {
            now + schedule.next_delay(state.attempt, seed, None).as_millis() as i64
        }))
    };
    if due == state.next_at {
        return Ok(due);
    }
    state.next_at = due;
    save_poll_state_from(sql, &state, known)?;
    Ok(due)
}

/// Stores the polling state and the failure classification after a poll or a delivery.
pub fn save_poll_state(sql: &SqlStorage, state: &PollState) -> worker::Result<()> {
    save_poll_state_from(sql, state, &Known::default())
}

/// [`save_poll_state`], reading back only what `known` does not hold.
fn save_poll_state_from(sql: &SqlStorage, state: &PollState, known: &Known) -> worker::Result<()> {
    store::set_meta(sql, "poll", state)?;
    let cancel = match &known.cancel {
        Some(cancel) => cancel.clone(),
        None => store::meta(sql, "cancel_request")?,
    };
    let context = reconcile::FailureContext {
        cancel,
        consecutive_poll_failures: state.consecutive_failures,
        last_poll_error: state.last_error.clone(),
    };
    let read;
    let batch = match &known.saved {
        Some((_, batch)) => batch,
        None => {
            read = stored_batch(sql)?.unwrap_or_default();
            &read
        }
    };
    store::set_meta(sql, "classification", &reconcile::classify(batch, &context))
}
