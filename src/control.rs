//! Operator control of a batch: pause/resume of *our* work (reconciliation polling, result
//! ingestion and fan-out) and cancellation of the batch itself.
//!
//! Each decision takes the stored [`Control`] state, the batch's lifecycle and `now`, and
//! returns either the new state or a [`Conflict`] (answered 409 by the API). Rules:
//! - **pause** is allowed while there is work of ours left: the batch is not terminal, or its
//!   results are not fully ingested yet. Pausing twice is a conflict.
//! - **resume** is allowed only while paused.
//! - **cancel** is allowed while the batch is cancellable (pending, in progress, paused); it
//!   records who asked, when, and whether the gateway still offered `cancel_url`, so failure
//!   classification can tell an operator's cancel from an upstream one. A terminal batch is a
//!   conflict; a second cancel while one is under way is answered with the first record and
//!   not forwarded again. Cancelling lifts a pause on polling, because the batch must be
//!   followed from `cancelling` to its terminal state, but fan-out stays stopped for good.

use serde::{Deserialize, Serialize};

use crate::batch::{Batch, LifecycleStatus};

/// The operator-controlled state of one batch, stored beside it and shown in its `batchhook`
/// block. Times are Unix milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    /// Whether our polling, ingestion and fan-out are paused.
    #[serde(default)]
    pub paused: bool,
    /// When the current (or last) pause began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_at: Option<i64>,
    /// Who paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_by: Option<String>,
    /// When the last resume happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_at: Option<i64>,
    /// The cancellation request, once one was made through the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel: Option<CancelRecord>,
}

/// What was known when a cancel was requested (recipe §7: "whether `cancel_url` was still
/// available when cancellation was requested").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRecord {
    /// Who asked, e.g. `api:<workspace>`.
    pub requested_by: String,
    /// When, in Unix milliseconds.
    pub requested_at: i64,
    /// Whether the stored batch still carried a `cancel_url`.
    pub cancel_url_available: bool,
    /// The lifecycle status when the cancel was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_at_request: Option<LifecycleStatus>,
    /// The caller's reason, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A control request refused because of the batch's state (HTTP 409).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conflict {
    /// The batch is terminal: nothing to cancel, or nothing of ours left to pause.
    Terminal {
        /// The attempted action.
        action: &'static str,
        /// The terminal status.
        status: LifecycleStatus,
    },
    /// Pause while already paused.
    AlreadyPaused,
    /// Resume while not paused.
    NotPaused,
    /// Cancel while the status is not known yet (never polled); poll first.
    StatusUnknown,
}

impl Conflict {
    /// A stable snake_case code for the error envelope.
    pub fn code(&self) -> &'static str {
        match self {
            Conflict::Terminal { .. } => "batch_terminal",
            Conflict::AlreadyPaused => "already_paused",
            Conflict::NotPaused => "not_paused",
            Conflict::StatusUnknown => "status_unknown",
        }
    }
}

impl core::fmt::Display for Conflict {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Conflict::Terminal { action, status } => {
                write!(f, "cannot {action}: the batch is {status}, which is final")
            }
            Conflict::AlreadyPaused => {
                f.write_str("the batch is already paused; resume it to continue")
            }
            Conflict::NotPaused => {
                f.write_str("the batch is not paused, so there is nothing to resume")
            }
            Conflict::StatusUnknown => f.write_str(
                "the batch's status is not known yet; wait for the first poll and retry",
            ),
        }
    }
}

impl std::error::Error for Conflict {}

/// The outcome of a cancel request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelDecision {
    /// Forward the cancel to the gateway and store this state (a pause is lifted).
    Forward(Control),
    /// A cancel is already recorded; answer with the batch as it is, do not forward again.
    AlreadyRequested,
}

impl Control {
    /// Pauses polling, ingestion and fan-out. `results_pending` says whether result ingestion
    /// still has work (a terminal batch whose results are not all stored may be paused).
    pub fn pause(
        &self,
        status: Option<&LifecycleStatus>,
        results_pending: bool,
        who: &str,
        now_ms: i64,
    ) -> Result<Control, Conflict> {
        if self.paused {
            return Err(Conflict::AlreadyPaused);
        }
        if let Some(status) = status.filter(|s| s.is_terminal()) {
            if !results_pending {
                return Err(Conflict::Terminal {
                    action: "pause",
                    status: status.clone(),
                });
            }
        }
        Ok(Control {
            paused: true,
            paused_at: Some(now_ms),
            paused_by: Some(who.to_owned()),
            ..self.clone()
        })
    }

    /// Resumes where the pause stopped.
    pub fn resume(&self, now_ms: i64) -> Result<Control, Conflict> {
        if !self.paused {
            return Err(Conflict::NotPaused);
        }
        Ok(Control {
            paused: false,
            resumed_at: Some(now_ms),
            ..self.clone()
        })
    }

    /// Decides a cancel request for `batch` (its stored state).
    pub fn cancel(
        &self,
        batch: &Batch,
        who: &str,
        reason: Option<&str>,
        now_ms: i64,
    ) -> Result<CancelDecision, Conflict> {
        let status = batch.lifecycle();
        match &status {
            Some(s) if s.is_terminal() => {
                return Err(Conflict::Terminal {
                    action: "cancel",
                    status: s.clone(),
                })
            }
            None => return Err(Conflict::StatusUnknown),
            _ => {}
        }
        if self.cancel.is_some() || status == Some(LifecycleStatus::Cancelling) {
            return Ok(CancelDecision::AlreadyRequested);
        }
        let record = CancelRecord {
            requested_by: who.to_owned(),
            requested_at: now_ms,
            cancel_url_available: batch.cancel_url.as_deref().is_some_and(|u| !u.is_empty()),
            status_at_request: status,
            reason: reason.map(str::to_owned),
        };
        Ok(CancelDecision::Forward(Control {
            paused: false,
            cancel: Some(record),
            ..self.clone()
        }))
    }

    /// Whether the reconciliation alarm may poll the gateway: not paused, not terminal.
    pub fn may_poll(&self, status: Option<&LifecycleStatus>) -> bool {
        !self.paused && !status.is_some_and(|s| s.is_terminal())
    }

    /// Whether result ingestion may read the next chunk.
    pub fn may_ingest(&self) -> bool {
        !self.paused
    }

    /// Whether ingested rows may be forwarded downstream: never while paused, never after a
    /// cancel was requested (recipe §6: cancelled batches stop downstream fan-out).
    pub fn may_fan_out(&self) -> bool {
        !self.paused && self.cancel.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn batch(status: &str, cancel_url: bool) -> Batch {
        let mut json = serde_json::json!({"id": "batch_1", "status": status});
        if cancel_url {
            json["cancel_url"] = "https://gw/v1/batches/batch_1/cancel".into();
        }
        Batch::from_value(json).unwrap()
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn pauses_a_running_batch_and_resumes_it() {
        let paused = Control::default()
            .pause(Some(&LifecycleStatus::InProgress), false, "api:alpha", 10)
            .unwrap();
        assert!(paused.paused);
        assert_eq!(paused.paused_by.as_deref(), Some("api:alpha"));
        assert!(!paused.may_poll(Some(&LifecycleStatus::InProgress)));
        assert!(!paused.may_ingest());
        assert!(!paused.may_fan_out());
        let resumed = paused.resume(20).unwrap();
        assert!(!resumed.paused);
        assert_eq!(resumed.resumed_at, Some(20));
        assert!(resumed.may_poll(Some(&LifecycleStatus::InProgress)));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_to_pause_twice_or_resume_what_is_not_paused() {
        let paused = Control::default().pause(None, false, "a", 1).unwrap();
        assert_eq!(
            paused.pause(None, false, "a", 2),
            Err(Conflict::AlreadyPaused)
        );
        assert_eq!(Control::default().resume(3), Err(Conflict::NotPaused));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn pauses_a_terminal_batch_only_while_results_are_pending() {
        let done = LifecycleStatus::Completed;
        assert!(Control::default().pause(Some(&done), true, "a", 1).is_ok());
        let err = Control::default()
            .pause(Some(&done), false, "a", 1)
            .unwrap_err();
        assert_eq!(err.code(), "batch_terminal");
        assert!(err.to_string().contains("completed"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn records_who_cancelled_when_and_whether_cancel_url_was_there() {
        let paused = Control::default().pause(None, false, "a", 1).unwrap();
        let CancelDecision::Forward(state) = paused
            .cancel(&batch("in_progress", true), "api:alpha", Some("stale"), 42)
            .unwrap()
        else {
            panic!("first cancel is forwarded");
        };
        let record = state.cancel.clone().unwrap();
        assert_eq!(record.requested_by, "api:alpha");
        assert_eq!(record.requested_at, 42);
        assert!(record.cancel_url_available);
        assert_eq!(record.status_at_request, Some(LifecycleStatus::InProgress));
        assert_eq!(record.reason.as_deref(), Some("stale"));
        assert!(
            !state.paused,
            "cancel lifts the pause so polling follows it"
        );
        assert!(state.may_poll(Some(&LifecycleStatus::Cancelling)));
        assert!(!state.may_fan_out());

        let without_url = Control::default()
            .cancel(&batch("pending", false), "api:alpha", None, 1)
            .unwrap();
        let CancelDecision::Forward(state) = without_url else {
            panic!()
        };
        assert!(!state.cancel.unwrap().cancel_url_available);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_to_cancel_a_terminal_batch_and_does_not_forward_twice() {
        for status in ["completed", "failed", "cancelled", "expired"] {
            let err = Control::default()
                .cancel(&batch(status, false), "a", None, 1)
                .unwrap_err();
            assert_eq!(err.code(), "batch_terminal", "{status}");
        }
        let CancelDecision::Forward(state) = Control::default()
            .cancel(&batch("in_progress", true), "a", None, 1)
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(
            state.cancel(&batch("cancelling", false), "a", None, 2),
            Ok(CancelDecision::AlreadyRequested)
        );
        assert_eq!(
            Control::default().cancel(&batch("cancelling", false), "a", None, 2),
            Ok(CancelDecision::AlreadyRequested)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_to_cancel_before_the_status_is_known() {
        let thin = Batch::from_value(serde_json::json!({"id": "b"})).unwrap();
        assert_eq!(
            Control::default().cancel(&thin, "a", None, 1),
            Err(Conflict::StatusUnknown)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn round_trips_through_json_for_storage() {
        let state = Control::default()
            .pause(Some(&LifecycleStatus::Pending), false, "a", 5)
            .unwrap();
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<Control>(&text).unwrap(), state);
        assert_eq!(
            serde_json::from_str::<Control>("{}").unwrap(),
            Control::default()
        );
    }
}
