//! What to do when a webhook payload arrives: apply it, ignore it, or poll the gateway because
//! the payload cannot be trusted to say where the batch is (recipe §5 step 4).

use crate::batch::{advance, Ignored, LifecycleStatus, Transition};
use crate::event::{Claim, Event};
use serde::{Deserialize, Serialize};

/// The decision for one payload against the stored status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum PayloadAction {
    /// Move the stored status to `status`. `poll` is set when the payload reached a terminal
    /// state without the full batch (output file, counts): fetch it to finish the record.
    Apply {
        /// The new stored status.
        status: LifecycleStatus,
        /// Whether to poll for the full terminal object.
        poll: bool,
    },
    /// Leave the stored status as it is.
    Ignore {
        /// Why.
        reason: IgnoreReason,
    },
    /// The payload does not say (thin event) or says something that cannot be ordered (an
    /// unknown status): ask the gateway now.
    PollNow {
        /// Why.
        reason: PollReason,
    },
}

/// Why a payload leaves the stored status unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoreReason {
    /// The payload repeats the stored status.
    Unchanged,
    /// The payload is older than the stored status (late or out of order).
    Stale,
    /// The stored status is terminal and final.
    Terminal,
}

/// Why a payload triggers a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PollReason {
    /// The payload names the batch but not its state (OpenAI-style thin event).
    Thin,
    /// The payload's status is not one this version knows.
    UnknownStatus,
}

/// Decides what a verified payload does to a stored status (`None`: nothing stored yet).
///
/// This looks at statuses only: a sideways move (`in_progress` ↔ `paused`) is applied whatever
/// its age. [`LedgerState`](crate::ledger::LedgerState) adds the signed time to order those and
/// the duplicate and dead-letter decisions; prefer it where deliveries are stored.
pub fn on_payload(stored: Option<&LifecycleStatus>, event: &Event) -> PayloadAction {
    match event.claim() {
        Claim::Thin { .. } if stored.is_some_and(LifecycleStatus::is_terminal) => {
            PayloadAction::Ignore {
                reason: IgnoreReason::Terminal,
            }
        }
        Claim::Thin { .. } => PayloadAction::PollNow {
            reason: PollReason::Thin,
        },
        Claim::Status(status) => on_status(stored, &status, event.batch().is_some()),
    }
}

/// Decides what an observed status does to a stored one; `full` says whether the observation
/// came with the whole batch object (a poll always does).
pub fn on_status(
    stored: Option<&LifecycleStatus>,
    observed: &LifecycleStatus,
    full: bool,
) -> PayloadAction {
    match advance(stored, observed) {
        Transition::Moved(status) => {
            let poll = status.is_terminal() && !full;
            PayloadAction::Apply { status, poll }
        }
        Transition::Unchanged => PayloadAction::Ignore {
            reason: IgnoreReason::Unchanged,
        },
        Transition::Ignored(Ignored::Terminal { .. }) => PayloadAction::Ignore {
            reason: IgnoreReason::Terminal,
        },
        Transition::Ignored(Ignored::Backwards { .. }) => PayloadAction::Ignore {
            reason: IgnoreReason::Stale,
        },
        Transition::Ignored(_) => PayloadAction::PollNow {
            reason: PollReason::UnknownStatus,
        },
    }
}
