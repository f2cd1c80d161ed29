//! The ledger's promise, checked over generated histories: any interleaving and duplication of
//! a batch's deliveries (and polls) ends where the in-order sequence ends, and a terminal
//! state, once reached, never changes.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::batch::{Batch, LifecycleStatus};
use batchhook::ledger::{Decision, Delivery, LedgerState, Source};
use proptest::prelude::*;
use std::collections::HashSet;

/// One observation of the true history at time `at`.
#[derive(Debug, Clone)]
struct Obs {
    at: i64,
    status: &'static str,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Full,
    Thin,
    Poll,
}

impl Obs {
    fn id(&self) -> String {
        format!("msg_{}", self.at)
    }

    fn body(&self) -> String {
        match self.kind {
            Kind::Thin => format!(r#"{{"type":"batch.{}","data":{{"id":"b"}}}}"#, self.status),
            _ => format!(
                r#"{{"type":"batch.{s}","lifecycle_status":"{s}","data":{{"id":"b","status":"{s}","request_counts":{{"total":3}}}}}}"#,
                s = self.status
            ),
        }
    }

    /// Feeds this observation to the ledger; `seen` is the store's set of webhook ids.
    fn feed(&self, ledger: &mut LedgerState, seen: &mut HashSet<String>) -> Decision {
        match self.kind {
            Kind::Poll => {
                let batch = Batch::from_json(
                    format!(r#"{{"id":"b","status":"{}"}}"#, self.status).as_bytes(),
                )
                .unwrap();
                ledger.handle_poll(&batch, Source::Poll, self.at)
            }
            _ => {
                let d = Delivery::parse(
                    &self.id(),
                    Some(self.at),
                    self.at * 1000 + 5,
                    self.body().as_bytes(),
                );
                let already = !seen.insert(self.id());
                ledger.handle_delivery(&d, already)
            }
        }
    }
}

/// A plausible lifecycle: pending, some in_progress/paused toggles, maybe cancelling, maybe
/// one terminal state; each observation full, thin or a poll.
fn history() -> impl Strategy<Value = Vec<Obs>> {
    let terminal = prop::option::of(prop::sample::select(vec![
        "completed",
        "failed",
        "cancelled",
        "expired",
    ]));
    (
        0usize..6,
        any::<bool>(),
        terminal,
        prop::collection::vec(0u8..3, 12),
    )
        .prop_map(|(toggles, cancelling, terminal, kinds)| {
            let mut path = vec!["pending", "in_progress"];
            for i in 0..toggles {
                path.push(if i % 2 == 0 { "paused" } else { "in_progress" });
            }
            if cancelling {
                path.push("cancelling");
            }
            path.extend(terminal);
            path.iter()
                .enumerate()
                .map(|(i, s)| Obs {
                    at: 1_000 + 10 * i as i64,
                    status: s,
                    kind: [Kind::Full, Kind::Thin, Kind::Poll][kinds[i % kinds.len()] as usize],
                })
                .collect()
        })
}

/// The history shuffled, with some observations repeated (sender retries, repeated polls).
fn delivered(h: Vec<Obs>) -> impl Strategy<Value = (Vec<Obs>, Vec<Obs>)> {
    let n = h.len();
    (
        Just(h.clone()).prop_shuffle(),
        prop::collection::vec((0..n, 0..=n), 0..2 * n),
    )
        .prop_map(move |(mut order, dups)| {
            for (which, pos) in dups {
                let pos = pos.min(order.len());
                order.insert(pos, h[which].clone());
            }
            (h.clone(), order)
        })
}

fn run(observations: &[Obs]) -> (LedgerState, Vec<Option<LifecycleStatus>>) {
    let mut ledger = LedgerState::new("b");
    let mut seen = HashSet::new();
    let mut trail = Vec::new();
    for o in observations {
        o.feed(&mut ledger, &mut seen);
        trail.push(ledger.status.clone());
    }
    (ledger, trail)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_interleaving_with_duplicates_ends_where_the_in_order_run_ends((history, order) in history().prop_flat_map(delivered)) {
        let (in_order, _) = run(&history);
        let (shuffled, trail) = run(&order);
        prop_assert_eq!(&shuffled.status, &in_order.status, "order {:?}", order.iter().map(|o| (o.status, o.kind)).collect::<Vec<_>>());

        // The in-order run ends at the last observation that states a status.
        let expected = history.iter().rev().find(|o| o.kind != Kind::Thin).map(|o| LifecycleStatus::parse(o.status));
        prop_assert_eq!(&in_order.status, &expected);

        // A terminal state, once reached, is never left.
        if let Some(i) = trail.iter().position(|s| s.as_ref().is_some_and(LifecycleStatus::is_terminal)) {
            prop_assert!(trail[i..].iter().all(|s| s == &trail[i]), "left terminal: {:?}", trail);
        }

        // Every distinct delivery is counted once; the rest are duplicates.
        let deliveries = order.iter().filter(|o| o.kind != Kind::Poll).count() as u64;
        let distinct = history.iter().filter(|o| o.kind != Kind::Poll).count() as u64;
        prop_assert_eq!(shuffled.facts.received, deliveries);
        prop_assert_eq!(shuffled.facts.received - shuffled.facts.duplicates, distinct);
    }
}

#[test]
fn a_late_in_progress_after_completion_is_recorded_as_stale() {
    let mut ledger = LedgerState::new("b");
    let mut seen = HashSet::new();
    let done = Obs {
        at: 50,
        status: "completed",
        kind: Kind::Full,
    };
    let late = Obs {
        at: 20,
        status: "in_progress",
        kind: Kind::Full,
    };
    assert_eq!(done.feed(&mut ledger, &mut seen).outcome(), "applied");
    assert_eq!(late.feed(&mut ledger, &mut seen).outcome(), "stale");
    assert_eq!(ledger.status, Some(LifecycleStatus::Completed));
    assert_eq!(ledger.facts.stale, 1);
}
