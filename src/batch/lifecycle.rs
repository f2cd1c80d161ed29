//! The lifecycle of a batch: one status vocabulary for every source, and the rule that keeps a
//! stored status from moving backwards or out of a terminal state.
//!
//! ## Vocabulary
//! The six public states of the list-batches reference (`pending`, `in_progress`, `completed`,
//! `failed`, `cancelled`, `expired`) plus two non-terminal states that matter to operators:
//! - `cancelling`: a cancel was accepted but the batch has not stopped yet (OpenAI's raw
//!   `cancelling`). It is kept distinct from `in_progress` because the UI must show that a cancel
//!   is under way, and failure classification needs to know a cancel was requested. It is not
//!   terminal: the batch still ends `cancelled` (or, if it finished first, `completed`).
//! - `paused`: the doc-tagging service's paused job (and our own paused reconciliation). It can
//!   be resumed, so it sits beside `in_progress` rather than after it.
//!
//! Raw provider spellings map onto these (see [`LifecycleStatus::parse`]): `queued` and
//! OpenAI's `validating` are `pending`; `running`, `processing` and OpenAI's `finalizing` are
//! `in_progress`; `canceled` is `cancelled`; `canceling` is `cancelling`. Anything else is kept
//! as [`LifecycleStatus::Unknown`] so a newer gateway never breaks parsing.
//!
//! ## Order
//! Every known state has a rank: `pending` (0) < `in_progress` = `paused` (1) < `cancelling` (2)
//! < the terminal states (3). [`advance`] moves a stored status only forward in this order, never
//! out of a terminal state, and sideways only between `in_progress` and `paused` (pause/resume;
//! the caller orders such sideways moves by event time).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The stable, cross-source status of a batch job.
///
/// Serialised as its canonical snake_case name ([`LifecycleStatus::as_str`]); deserialised with
/// [`LifecycleStatus::parse`], so aliases are accepted and written back canonical.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LifecycleStatus {
    /// Accepted but not started (raw: `pending`, `queued`, `validating`).
    Pending,
    /// Running (raw: `in_progress`, `running`, `processing`, `finalizing`).
    InProgress,
    /// Stopped by request and resumable (doc-tagging's `paused`).
    Paused,
    /// A cancel was accepted and the batch is winding down (raw: `cancelling`, `canceling`).
    Cancelling,
    /// Finished; outputs can be fetched. Terminal.
    Completed,
    /// Failed as a whole (e.g. input validation). Terminal.
    Failed,
    /// Stopped by a cancel (raw: `cancelled`, `canceled`). Terminal.
    Cancelled,
    /// Did not finish inside its completion window. Terminal.
    Expired,
    /// A status this version does not know, kept verbatim.
    Unknown(String),
}

impl LifecycleStatus {
    /// Every known status, in rank order.
    pub const KNOWN: [LifecycleStatus; 8] = [
        LifecycleStatus::Pending,
        LifecycleStatus::InProgress,
        LifecycleStatus::Paused,
        LifecycleStatus::Cancelling,
        LifecycleStatus::Completed,
        LifecycleStatus::Failed,
        LifecycleStatus::Cancelled,
        LifecycleStatus::Expired,
    ];

    /// Maps any status spelling (canonical, public alias or raw provider status; ASCII
    /// case-insensitive, surrounding whitespace ignored) onto the lifecycle. Never fails: an
    /// unrecognised spelling becomes [`LifecycleStatus::Unknown`] holding the original text.
    pub fn parse(raw: &str) -> LifecycleStatus {
        match Self::parse_known(raw) {
            Some(status) => status,
            None => LifecycleStatus::Unknown(raw.to_owned()),
        }
    }

    /// Like [`LifecycleStatus::parse`], but `None` for an unrecognised spelling.
    pub fn parse_known(raw: &str) -> Option<LifecycleStatus> {
        let lower = raw.trim().to_ascii_lowercase();
        let status = match lower.as_str() {
            "pending" | "queued" | "validating" => LifecycleStatus::Pending,
            "in_progress" | "running" | "processing" | "finalizing" => LifecycleStatus::InProgress,
            "paused" => LifecycleStatus::Paused,
            "cancelling" | "canceling" => LifecycleStatus::Cancelling,
            "completed" => LifecycleStatus::Completed,
            "failed" => LifecycleStatus::Failed,
            "cancelled" | "canceled" => LifecycleStatus::Cancelled,
            "expired" => LifecycleStatus::Expired,
            _ => return None,
        };
        Some(status)
    }

    /// The canonical snake_case name (for `Unknown`, the original text).
    pub fn as_str(&self) -> &str {
        match self {
            LifecycleStatus::Pending => "pending",
            LifecycleStatus::InProgress => "in_progress",
            LifecycleStatus::Paused => "paused",
            LifecycleStatus::Cancelling => "cancelling",
            LifecycleStatus::Completed => "completed",
            LifecycleStatus::Failed => "failed",
            LifecycleStatus::Cancelled => "cancelled",
            LifecycleStatus::Expired => "expired",
            LifecycleStatus::Unknown(raw) => raw,
        }
    }

    /// Whether the batch can no longer change: completed, failed, cancelled or expired.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            LifecycleStatus::Completed
                | LifecycleStatus::Failed
                | LifecycleStatus::Cancelled
                | LifecycleStatus::Expired
        )
    }

    /// Whether the batch may still be cancelled (pending, in progress or paused).
    pub fn is_cancellable(&self) -> bool {
        matches!(
            self,
            LifecycleStatus::Pending | LifecycleStatus::InProgress | LifecycleStatus::Paused
        )
    }

    /// The position in the lifecycle order (see the module docs); `None` for `Unknown`.
    pub fn rank(&self) -> Option<u8> {
        match self {
            LifecycleStatus::Pending => Some(0),
            LifecycleStatus::InProgress | LifecycleStatus::Paused => Some(1),
            LifecycleStatus::Cancelling => Some(2),
            LifecycleStatus::Completed
            | LifecycleStatus::Failed
            | LifecycleStatus::Cancelled
            | LifecycleStatus::Expired => Some(3),
            LifecycleStatus::Unknown(_) => None,
        }
    }
}

impl core::fmt::Display for LifecycleStatus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for LifecycleStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LifecycleStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(LifecycleStatus::parse(&raw))
    }
}

/// What [`advance`] decided for an observed status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// The stored status becomes this one.
    Moved(LifecycleStatus),
    /// The observation equals the stored status.
    Unchanged,
    /// The observation is not applied; the reason says why.
    Ignored(Ignored),
}

/// Why an observed status was not applied.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ignored {
    /// The stored status is terminal and final; the observation differs from it.
    Terminal {
        /// The stored terminal status.
        current: LifecycleStatus,
    },
    /// The observation is earlier in the lifecycle than the stored status (a late or
    /// out-of-order delivery).
    Backwards {
        /// The stored status.
        current: LifecycleStatus,
    },
    /// The observation is a status this version does not know, so it cannot be ordered; the
    /// caller should poll for the authoritative state.
    Unrecognized,
}

/// Decides whether a stored status (`None` if nothing is stored yet) moves to an observed one.
///
/// Rules, in order: nothing stored → move; equal → unchanged; stored terminal → ignored;
/// observed unknown → ignored (cannot be ordered); stored unknown → move (a known status is
/// better information); observed later in the order → move; `in_progress` ↔ `paused` → move
/// (pause/resume); otherwise → ignored as backwards.
pub fn advance(current: Option<&LifecycleStatus>, observed: &LifecycleStatus) -> Transition {
    let Some(current) = current else {
        return Transition::Moved(observed.clone());
    };
    if current == observed {
        return Transition::Unchanged;
    }
    if current.is_terminal() {
        return Transition::Ignored(Ignored::Terminal {
            current: current.clone(),
        });
    }
    let Some(observed_rank) = observed.rank() else {
        return Transition::Ignored(Ignored::Unrecognized);
    };
    match current.rank() {
        Some(current_rank) if observed_rank < current_rank => {
            Transition::Ignored(Ignored::Backwards {
                current: current.clone(),
            })
        }
        _ => Transition::Moved(observed.clone()),
    }
}

/// Applies [`advance`] and returns the resulting stored status.
pub fn apply(
    current: Option<LifecycleStatus>,
    observed: &LifecycleStatus,
) -> Option<LifecycleStatus> {
    match advance(current.as_ref(), observed) {
        Transition::Moved(next) => Some(next),
        Transition::Unchanged | Transition::Ignored(_) => current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn maps_every_public_alias_onto_its_status() {
        let cases = [
            ("pending", LifecycleStatus::Pending),
            ("queued", LifecycleStatus::Pending),
            ("in_progress", LifecycleStatus::InProgress),
            ("running", LifecycleStatus::InProgress),
            ("processing", LifecycleStatus::InProgress),
            ("completed", LifecycleStatus::Completed),
            ("failed", LifecycleStatus::Failed),
            ("cancelled", LifecycleStatus::Cancelled),
            ("canceled", LifecycleStatus::Cancelled),
            ("expired", LifecycleStatus::Expired),
        ];
        for (raw, expected) in cases {
            assert_eq!(LifecycleStatus::parse(raw), expected, "{raw}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn maps_raw_openai_statuses_onto_the_lifecycle() {
        assert_eq!(
            LifecycleStatus::parse("validating"),
            LifecycleStatus::Pending
        );
        assert_eq!(
            LifecycleStatus::parse("finalizing"),
            LifecycleStatus::InProgress
        );
        assert_eq!(
            LifecycleStatus::parse("cancelling"),
            LifecycleStatus::Cancelling
        );
        assert_eq!(
            LifecycleStatus::parse(" Canceling "),
            LifecycleStatus::Cancelling
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn keeps_an_unknown_status_verbatim() {
        let status = LifecycleStatus::parse("Rehydrating");
        assert_eq!(status, LifecycleStatus::Unknown("Rehydrating".into()));
        assert_eq!(serde_json::to_string(&status).unwrap(), "\"Rehydrating\"");
        assert!(!status.is_terminal());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn canonical_names_round_trip() {
        for status in LifecycleStatus::KNOWN {
            assert_eq!(LifecycleStatus::parse(status.as_str()), status);
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn never_moves_a_terminal_status() {
        for terminal in LifecycleStatus::KNOWN.iter().filter(|s| s.is_terminal()) {
            for observed in LifecycleStatus::KNOWN.iter().filter(|s| *s != terminal) {
                assert_eq!(
                    advance(Some(terminal), observed),
                    Transition::Ignored(Ignored::Terminal {
                        current: terminal.clone()
                    })
                );
            }
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn ignores_a_late_in_progress_after_cancelling() {
        let got = advance(
            Some(&LifecycleStatus::Cancelling),
            &LifecycleStatus::InProgress,
        );
        assert_eq!(
            got,
            Transition::Ignored(Ignored::Backwards {
                current: LifecycleStatus::Cancelling
            })
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn moves_sideways_between_paused_and_in_progress() {
        let paused = advance(Some(&LifecycleStatus::InProgress), &LifecycleStatus::Paused);
        assert_eq!(paused, Transition::Moved(LifecycleStatus::Paused));
        let resumed = advance(Some(&LifecycleStatus::Paused), &LifecycleStatus::InProgress);
        assert_eq!(resumed, Transition::Moved(LifecycleStatus::InProgress));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn ignores_an_unknown_observation_but_replaces_an_unknown_stored_status() {
        let unknown = LifecycleStatus::Unknown("warming".into());
        assert_eq!(
            advance(Some(&LifecycleStatus::Pending), &unknown),
            Transition::Ignored(Ignored::Unrecognized)
        );
        assert_eq!(
            advance(Some(&unknown), &LifecycleStatus::Pending),
            Transition::Moved(LifecycleStatus::Pending)
        );
    }
}
