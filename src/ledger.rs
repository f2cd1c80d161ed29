//! The delivery ledger of one batch: a sans-IO state machine that decides what each verified
//! delivery or poll result does, and keeps the delivery facts operators monitor (recipe §7).
//!
//! ## Use
//! The caller (the worker's `BatchLedger` Durable Object) loads a [`LedgerState`], checks
//! whether the delivery's `webhook-id` is already stored, then calls
//! [`LedgerState::handle_delivery`] (or [`LedgerState::handle_poll`] for a batch object it
//! fetched). The returned [`Decision`] says what to record; the state is updated in place.
//! The caller persists the delivery row, the decision and the new state in one storage
//! transaction, and answers the sender only after it commits. `now` and times are arguments:
//! nothing here reads a clock.
//!
//! ## Rules
//! 1. A `webhook-id` already stored is a [`Decision::Duplicate`]: nothing changes.
//! 2. A payload that cannot be read as an event, or names another batch, is a
//!    [`Decision::DeadLetter`] with the reason (kept for replay, never applied).
//! 3. A thin payload (only the batch id) or one with an unknown status is
//!    [`Decision::NeedsReconcile`]: poll the gateway now.
//! 4. A status later in the lifecycle is [`Decision::Applied`]. `in_progress` ↔ `paused` moves
//!    sideways only when the observation is newer (signed time) than the stored one.
//! 5. Anything else — the same status, an older one, anything after a terminal state — is
//!    [`Decision::Stale`]: recorded, the batch unchanged. A terminal status is final.
//!
//! Together these make the result independent of delivery order and duplication: any
//! interleaving of a batch's deliveries ends where the in-order sequence ends.

use crate::batch::{advance, Batch, Ignored, LifecycleStatus, Transition, WebhookDelivery};
use crate::event::{Claim, Event, EventError};
use serde::{Deserialize, Serialize};

/// Where an observation came from; stored as the timeline's `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A verified webhook delivery.
    Webhook,
    /// batchhook's own poll of the gateway.
    Poll,
    /// A gateway response to an API call made through batchhook (create, cancel).
    Api,
}

impl Source {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Webhook => "webhook",
            Source::Poll => "poll",
            Source::Api => "api",
        }
    }
}

/// One verified delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The sender's delivery id (`webhook-id`), the dedupe key.
    pub webhook_id: String,
    /// The signed timestamp (Unix seconds), if the scheme signs one.
    pub signed_at: Option<i64>,
    /// When batchhook received it (Unix milliseconds).
    pub received_at: i64,
    /// The body read as an event, or why it could not be.
    pub event: Result<Event, EventError>,
}

impl Delivery {
    /// A delivery from its verified raw body.
    pub fn parse(
        webhook_id: &str,
        signed_at: Option<i64>,
        received_at: i64,
        body: &[u8],
    ) -> Delivery {
        Delivery {
            webhook_id: webhook_id.to_owned(),
            signed_at,
            received_at,
            event: Event::from_json(body),
        }
    }

    /// The observation time used to order sideways moves: the signed time, else the event's
    /// `created_at`, else the receipt time (all in seconds).
    fn observed_at(&self) -> i64 {
        self.signed_at
            .or_else(|| self.event.as_ref().ok().and_then(|e| e.created_at))
            .unwrap_or(self.received_at.div_euclid(1000))
    }
}

/// A timeline entry: the stored status moved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// The status before (`None`: first seen).
    pub from: Option<LifecycleStatus>,
    /// The status after.
    pub to: LifecycleStatus,
    /// What moved it.
    pub source: Source,
    /// Observation time (Unix seconds).
    pub at: i64,
    /// The delivery that moved it, for webhooks.
    pub webhook_id: Option<String>,
}

/// Why an observation left the batch unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaleReason {
    /// The same status as stored.
    Unchanged,
    /// Earlier in the lifecycle, or an older sideways move.
    Older,
    /// The stored status is terminal.
    Terminal,
    /// A polled status this version does not know (a poll cannot be answered by polling).
    UnknownStatus,
}

/// Why a delivery calls for a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconcileReason {
    /// The payload names the batch but not its state.
    Thin,
    /// The payload's status is unknown to this version.
    UnknownStatus,
}

/// What one delivery or poll does. Serialised with an `outcome` tag whose values are the
/// strings [`Decision::outcome`] returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decision {
    /// The `webhook-id` was already processed.
    Duplicate,
    /// The batch moves; store the payload's batch object (if full) and the timeline entry.
    Applied {
        /// The timeline entry to append.
        timeline: TimelineEvent,
        /// The payload reached a terminal state without the full object: poll for it.
        poll: bool,
    },
    /// Recorded; the batch is unchanged. A full batch object with the same status and a newer
    /// time may still refresh the stored object's counts and progress (`refresh`).
    Stale {
        /// Why.
        reason: StaleReason,
        /// Whether the observation is newer than what is stored (same status only).
        refresh: bool,
    },
    /// Poll the gateway now.
    NeedsReconcile {
        /// Why.
        reason: ReconcileReason,
    },
    /// Verified but unusable: store in the dead-letter table with this reason.
    DeadLetter {
        /// A stable snake_case code.
        code: String,
        /// What is wrong, for the operator who may replay it.
        reason: String,
    },
}

impl Decision {
    /// `duplicate`, `applied`, `stale`, `needs_reconcile` or `dead_letter`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Decision::Duplicate => "duplicate",
            Decision::Applied { .. } => "applied",
            Decision::Stale { .. } => "stale",
            Decision::NeedsReconcile { .. } => "needs_reconcile",
            Decision::DeadLetter { .. } => "dead_letter",
        }
    }

    /// Whether the caller should poll the gateway now.
    pub fn poll_now(&self) -> bool {
        matches!(
            self,
            Decision::NeedsReconcile { .. } | Decision::Applied { poll: true, .. }
        )
    }
}

/// Delivery facts for monitoring: what batchhook received, and what the gateway reports about
/// its own delivery attempts (recipe §7).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryFacts {
    /// Verified deliveries received, duplicates included.
    pub received: u64,
    /// Deliveries that moved the batch.
    pub applied: u64,
    /// Repeated `webhook-id`s (sender retries).
    pub duplicates: u64,
    /// Deliveries recorded without effect.
    pub stale: u64,
    /// Deliveries that triggered a poll.
    pub reconciles: u64,
    /// Deliveries sent to the dead-letter table.
    pub dead_letters: u64,
    /// Receipt time of the last delivery (Unix ms).
    pub last_received_at: Option<i64>,
    /// The last delivery's outcome.
    pub last_outcome: Option<String>,
    /// The gateway's delivery attempts so far.
    pub gateway_attempts: Option<u64>,
    /// Events the gateway reports delivered.
    pub gateway_delivered: Option<u64>,
    /// Retries the gateway still has scheduled.
    pub gateway_pending_retries: Option<u64>,
    /// HTTP status of the gateway's last attempt.
    pub last_response_status: Option<u16>,
    /// Time of the gateway's last failed attempt.
    pub last_failure_at: Option<String>,
    /// Message of the gateway's last failed attempt.
    pub last_failure_message: Option<String>,
}

impl DeliveryFacts {
    /// The gateway's webhook delivery report from whichever source is fresher: `polled` (the
    /// batch object's `webhook.delivery` as of the last poll) unless the summaries the
    /// deliveries themselves carried (merged into these facts) count more attempts. A batch
    /// that finished by webhook is not polled again, so its last poll predates its last
    /// deliveries; the attempt count only grows, so the larger one is the later report.
    pub fn freshest_report(&self, polled: Option<&WebhookDelivery>) -> Option<WebhookDelivery> {
        let polled_attempts = polled.and_then(|p| p.total_attempts);
        match self.gateway_attempts {
            Some(ours) if polled_attempts.is_none_or(|theirs| ours > theirs) => {
                Some(WebhookDelivery {
                    total_attempts: Some(ours),
                    delivered_events: self.gateway_delivered,
                    pending_retries: self.gateway_pending_retries,
                    last_response_status: self.last_response_status,
                    last_failure_at: self.last_failure_at.clone(),
                    last_error_message: self.last_failure_message.clone(),
                    ..WebhookDelivery::default()
                })
            }
            _ => polled.cloned(),
        }
    }

    /// Takes in the gateway's latest delivery summary (fields it omits keep their value).
    pub fn merge_summary(&mut self, summary: &WebhookDelivery) {
        let keep = |new: Option<u64>, old: Option<u64>| new.or(old);
        self.gateway_attempts = keep(summary.total_attempts, self.gateway_attempts);
        self.gateway_delivered = keep(summary.delivered_events, self.gateway_delivered);
        self.gateway_pending_retries = keep(summary.pending_retries, self.gateway_pending_retries);
        self.last_response_status = summary.last_response_status.or(self.last_response_status);
        if summary.last_failure_at.is_some() {
            self.last_failure_at = summary.last_failure_at.clone();
            self.last_failure_message = summary.last_error_message.clone();
        }
    }
}

/// What the ledger keeps about one batch; plain data, stored as JSON or columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerState {
    /// The batch this ledger serves.
    pub batch_id: String,
    /// The stored lifecycle status.
    pub status: Option<LifecycleStatus>,
    /// Time (Unix seconds) of the newest observation of the stored status.
    pub status_at: Option<i64>,
    /// Delivery facts.
    pub facts: DeliveryFacts,
}

impl LedgerState {
    /// An empty ledger for `batch_id`.
    pub fn new(batch_id: &str) -> LedgerState {
        LedgerState {
            batch_id: batch_id.to_owned(),
            ..LedgerState::default()
        }
    }

    /// Decides and applies one verified delivery. `already_seen` says whether its `webhook-id`
    /// is stored.
    pub fn handle_delivery(&mut self, delivery: &Delivery, already_seen: bool) -> Decision {
        let decision = self.decide_delivery(delivery, already_seen);
        self.record_delivery(delivery, decision)
    }

    /// Applies `decision`, which [`decide_delivery`](Self::decide_delivery) made for
    /// `delivery` (`Duplicate` exactly when its `webhook-id` was already stored), and returns
    /// it. For an adapter that decides first and learns from its own storage which of two
    /// decisions holds (see `worker::apply::delivery`), so nothing is decided twice.
    pub fn record_delivery(&mut self, delivery: &Delivery, decision: Decision) -> Decision {
        let already_seen = matches!(decision, Decision::Duplicate);
        let facts = &mut self.facts;
        facts.received += 1;
        facts.last_received_at = Some(delivery.received_at);
        facts.last_outcome = Some(decision.outcome().to_owned());
        match &decision {
            Decision::Duplicate => facts.duplicates += 1,
            Decision::Applied { .. } => facts.applied += 1,
            Decision::Stale { .. } => facts.stale += 1,
            Decision::NeedsReconcile { .. } => facts.reconciles += 1,
            Decision::DeadLetter { .. } => facts.dead_letters += 1,
        }
        if let (Ok(event), false) = (&delivery.event, already_seen) {
            if let Some(summary) = event.delivery_summary() {
                self.facts.merge_summary(summary);
            }
        }
        self.commit(&decision, delivery.observed_at());
        decision
    }

    /// Decides and applies a batch object fetched from the gateway at `at` (Unix seconds).
    pub fn handle_poll(&mut self, batch: &Batch, source: Source, at: i64) -> Decision {
        let decision = self.decide_poll(batch, source, at);
        if let Some(summary) = batch.webhook.as_ref().and_then(|w| w.delivery.as_ref()) {
            self.facts.merge_summary(summary);
        }
        self.commit(&decision, at);
        decision
    }

    /// What [`handle_delivery`](Self::handle_delivery) would decide, without changing anything.
    pub fn decide_delivery(&self, delivery: &Delivery, already_seen: bool) -> Decision {
        if already_seen {
            return Decision::Duplicate;
        }
        let event = match &delivery.event {
            Ok(event) => event,
            Err(e) => {
                return Decision::DeadLetter {
                    code: e.code().to_owned(),
                    reason: e.to_string(),
                }
            }
        };
        if let Some(dead) = self.misrouted(event.batch_id()) {
            return dead;
        }
        let observed = match event.claim() {
            Claim::Status(status) => status,
            Claim::Thin { .. } if self.is_terminal() => {
                return Decision::Stale {
                    reason: StaleReason::Terminal,
                    refresh: false,
                }
            }
            Claim::Thin { .. } => {
                return Decision::NeedsReconcile {
                    reason: ReconcileReason::Thin,
                }
            }
        };
        let full = event.batch().is_some();
        match self.transition(&observed, delivery.observed_at(), full) {
            Step::Move(to) => Decision::Applied {
                poll: to.is_terminal() && !full,
                timeline: TimelineEvent {
                    from: self.status.clone(),
                    to,
                    source: Source::Webhook,
                    at: delivery.observed_at(),
                    webhook_id: Some(delivery.webhook_id.clone()),
                },
            },
            Step::Keep { reason, refresh } => Decision::Stale { reason, refresh },
            Step::Unknown => Decision::NeedsReconcile {
                reason: ReconcileReason::UnknownStatus,
            },
        }
    }

    /// What [`handle_poll`](Self::handle_poll) would decide, without changing anything.
    pub fn decide_poll(&self, batch: &Batch, source: Source, at: i64) -> Decision {
        if let Some(dead) = self.misrouted(batch.id.as_deref()) {
            return dead;
        }
        let Some(observed) = batch.lifecycle() else {
            return Decision::Stale {
                reason: StaleReason::UnknownStatus,
                refresh: false,
            };
        };
        match self.transition(&observed, at, true) {
            Step::Move(to) => Decision::Applied {
                poll: false,
                timeline: TimelineEvent {
                    from: self.status.clone(),
                    to,
                    source,
                    at,
                    webhook_id: None,
                },
            },
            Step::Keep { reason, refresh } => Decision::Stale { reason, refresh },
            Step::Unknown => Decision::Stale {
                reason: StaleReason::UnknownStatus,
                refresh: false,
            },
        }
    }

    /// Whether the stored status is terminal.
    pub fn is_terminal(&self) -> bool {
        self.status
            .as_ref()
            .is_some_and(LifecycleStatus::is_terminal)
    }

    fn misrouted(&self, batch_id: Option<&str>) -> Option<Decision> {
        match batch_id {
            Some(id) if id == self.batch_id => None,
            Some(id) => Some(Decision::DeadLetter {
                code: "wrong_batch".to_owned(),
                reason: format!(
                    "the payload is about batch {id:?} but reached the ledger of {:?}",
                    self.batch_id
                ),
            }),
            None => Some(Decision::DeadLetter {
                code: "missing_batch_id".to_owned(),
                reason: "the payload names no batch".to_owned(),
            }),
        }
    }

    fn transition(&self, observed: &LifecycleStatus, at: i64, full: bool) -> Step {
        let newer = self.status_at.is_none_or(|t| at > t);
        match advance(self.status.as_ref(), observed) {
            Transition::Moved(to) => {
                let sideways = self.status.as_ref().and_then(LifecycleStatus::rank) == to.rank();
                if sideways && !newer {
                    Step::Keep {
                        reason: StaleReason::Older,
                        refresh: false,
                    }
                } else {
                    Step::Move(to)
                }
            }
            Transition::Unchanged => Step::Keep {
                reason: StaleReason::Unchanged,
                refresh: newer && full,
            },
            Transition::Ignored(Ignored::Terminal { .. }) => Step::Keep {
                reason: StaleReason::Terminal,
                refresh: false,
            },
            Transition::Ignored(Ignored::Backwards { .. }) => Step::Keep {
                reason: StaleReason::Older,
                refresh: false,
            },
            Transition::Ignored(_) => Step::Unknown,
        }
    }

    fn commit(&mut self, decision: &Decision, at: i64) {
        match decision {
            Decision::Applied { timeline, .. } => {
                self.status = Some(timeline.to.clone());
                self.status_at = Some(at);
            }
            Decision::Stale {
                reason: StaleReason::Unchanged,
                ..
            } => {
                self.status_at = Some(self.status_at.map_or(at, |t| t.max(at)));
            }
            _ => {}
        }
    }
}

enum Step {
    Move(LifecycleStatus),
    Keep { reason: StaleReason, refresh: bool },
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn the_delivery_report_with_more_attempts_is_the_fresher_one() {
        let polled = |attempts: u64| WebhookDelivery {
            total_attempts: Some(attempts),
            delivered_events: Some(attempts),
            ..WebhookDelivery::default()
        };
        let facts = DeliveryFacts {
            gateway_attempts: Some(2),
            gateway_delivered: Some(1),
            gateway_pending_retries: Some(1),
            last_response_status: Some(503),
            ..DeliveryFacts::default()
        };
        let report = facts.freshest_report(Some(&polled(0))).unwrap();
        assert_eq!(report.total_attempts, Some(2));
        assert_eq!(report.delivered_events, Some(1));
        assert_eq!(report.last_response_status, Some(503));
        assert_eq!(facts.freshest_report(Some(&polled(3))), Some(polled(3)));
        assert_eq!(facts.freshest_report(Some(&polled(2))), Some(polled(2)));
        assert_eq!(facts.freshest_report(None).unwrap().total_attempts, Some(2));
        assert_eq!(DeliveryFacts::default().freshest_report(None), None);
        assert_eq!(
            DeliveryFacts::default().freshest_report(Some(&polled(1))),
            Some(polled(1))
        );
    }

    fn delivery(id: &str, at: i64, body: &str) -> Delivery {
        Delivery::parse(id, Some(at), at * 1000, body.as_bytes())
    }

    fn status_event(status: &str) -> String {
        format!(
            r#"{{"type":"batch.{status}","lifecycle_status":"{status}","data":{{"id":"b","status":"{status}","output_file_id":"f","request_counts":{{"total":1}}}}}}"#
        )
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn applies_once_and_counts_the_retry_as_duplicate() {
        let mut ledger = LedgerState::new("b");
        let d = delivery("msg_1", 10, &status_event("in_progress"));
        assert_eq!(ledger.handle_delivery(&d, false).outcome(), "applied");
        assert_eq!(ledger.handle_delivery(&d, true), Decision::Duplicate);
        assert_eq!(ledger.status, Some(LifecycleStatus::InProgress));
        assert_eq!(
            (
                ledger.facts.received,
                ledger.facts.applied,
                ledger.facts.duplicates
            ),
            (2, 1, 1)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn recording_a_decision_made_first_leaves_what_handling_leaves() {
        let deliveries = [
            (delivery("msg_1", 10, &status_event("in_progress")), false),
            // A retry carrying a delivery report the first copy lacked: never merged.
            (
                delivery(
                    "msg_1",
                    11,
                    r#"{"type":"batch.in_progress","delivery":{"total_attempts":7},"data":{"id":"b","status":"in_progress"}}"#,
                ),
                true,
            ),
            (delivery("msg_2", 9, &status_event("pending")), false),
            (
                delivery(
                    "msg_3",
                    12,
                    r#"{"type":"batch.completed","data":{"id":"b"}}"#,
                ),
                false,
            ),
            (delivery("msg_4", 13, "not json"), false),
        ];
        let (mut handled, mut recorded) = (LedgerState::new("b"), LedgerState::new("b"));
        for (d, seen) in &deliveries {
            let decision = recorded.decide_delivery(d, *seen);
            assert_eq!(
                recorded.record_delivery(d, decision),
                handled.handle_delivery(d, *seen)
            );
            assert_eq!(recorded, handled);
        }
        assert_eq!(handled.facts.received, 5);
        assert_eq!(handled.facts.gateway_attempts, None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn never_leaves_a_terminal_state() {
        let mut ledger = LedgerState::new("b");
        ledger.handle_delivery(&delivery("1", 10, &status_event("completed")), false);
        let late = ledger.handle_delivery(&delivery("2", 20, &status_event("failed")), false);
        assert_eq!(
            late,
            Decision::Stale {
                reason: StaleReason::Terminal,
                refresh: false
            }
        );
        let thin = ledger.handle_delivery(
            &delivery("3", 30, r#"{"type":"batch.failed","data":{"id":"b"}}"#),
            false,
        );
        assert_eq!(thin.outcome(), "stale");
        assert_eq!(ledger.status, Some(LifecycleStatus::Completed));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn asks_for_a_poll_on_a_thin_event() {
        let mut ledger = LedgerState::new("b");
        let d = delivery(
            "1",
            10,
            r#"{"id":"evt_1","type":"batch.completed","data":{"id":"b"}}"#,
        );
        let decision = ledger.handle_delivery(&d, false);
        assert_eq!(
            decision,
            Decision::NeedsReconcile {
                reason: ReconcileReason::Thin
            }
        );
        assert!(decision.poll_now());
        assert_eq!(ledger.status, None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn dead_letters_unreadable_and_misrouted_payloads() {
        let mut ledger = LedgerState::new("b");
        let junk = ledger.handle_delivery(&delivery("1", 10, "not json"), false);
        assert!(
            matches!(junk, Decision::DeadLetter { ref code, .. } if code == "invalid_event_payload"),
            "{junk:?}"
        );
        let other = ledger.handle_delivery(
            &delivery("2", 10, r#"{"data":{"id":"other","status":"completed"}}"#),
            false,
        );
        assert!(
            matches!(other, Decision::DeadLetter { ref code, .. } if code == "wrong_batch"),
            "{other:?}"
        );
        assert_eq!(ledger.facts.dead_letters, 2);
        assert_eq!(ledger.status, None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn orders_pause_and_resume_by_signed_time() {
        let mut ledger = LedgerState::new("b");
        ledger.handle_delivery(&delivery("3", 30, &status_event("in_progress")), false);
        let older_pause =
            ledger.handle_delivery(&delivery("2", 20, &status_event("paused")), false);
        assert_eq!(
            older_pause,
            Decision::Stale {
                reason: StaleReason::Older,
                refresh: false
            }
        );
        let newer_pause =
            ledger.handle_delivery(&delivery("4", 40, &status_event("paused")), false);
        assert_eq!(newer_pause.outcome(), "applied");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn applies_a_poll_and_records_the_gateways_delivery_summary() {
        let mut ledger = LedgerState::new("b");
        let batch = Batch::from_json(
            br#"{"id":"b","status":"completed","webhook":{"delivery":{"total_attempts":3,"pending_retries":0,"last_response_status":503,"last_failure_at":"2026-01-01T00:00:00Z","last_error_message":"HTTP 503"}}}"#,
        )
        .unwrap();
        let decision = ledger.handle_poll(&batch, Source::Poll, 100);
        let Decision::Applied { timeline, poll } = decision else {
            panic!("{decision:?}")
        };
        assert_eq!(
            (timeline.source, timeline.to, poll),
            (Source::Poll, LifecycleStatus::Completed, false)
        );
        assert_eq!(ledger.facts.last_response_status, Some(503));
        assert_eq!(
            ledger.facts.last_failure_message.as_deref(),
            Some("HTTP 503")
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn serialises_decisions_with_their_outcome_tag() {
        let json = serde_json::to_value(Decision::NeedsReconcile {
            reason: ReconcileReason::Thin,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"outcome": "needs_reconcile", "reason": "thin"})
        );
    }
}
