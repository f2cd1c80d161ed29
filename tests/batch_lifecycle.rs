//! Terminal stickiness and order independence of the lifecycle rule, over random deliveries.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::batch::{advance, apply, LifecycleStatus, Transition};
use proptest::prelude::*;

/// A lifecycle a real batch can go through, in order, with strictly increasing rank: an
/// optional pending, then optionally running or paused, then optionally cancelling, then
/// optionally one terminal status. Never empty.
fn valid_path() -> impl Strategy<Value = Vec<LifecycleStatus>> {
    let running = prop_oneof![
        Just(None),
        Just(Some(LifecycleStatus::InProgress)),
        Just(Some(LifecycleStatus::Paused)),
    ];
    let terminal = prop_oneof![
        Just(None),
        Just(Some(LifecycleStatus::Completed)),
        Just(Some(LifecycleStatus::Failed)),
        Just(Some(LifecycleStatus::Cancelled)),
        Just(Some(LifecycleStatus::Expired)),
    ];
    (any::<bool>(), running, any::<bool>(), terminal)
        .prop_map(|(pending, running, cancelling, terminal)| {
            let mut path = Vec::new();
            if pending {
                path.push(LifecycleStatus::Pending);
            }
            path.extend(running);
            if cancelling {
                path.push(LifecycleStatus::Cancelling);
            }
            path.extend(terminal);
            path
        })
        .prop_filter("non-empty", |path| !path.is_empty())
}

/// Deliveries of a path: every state at least once, plus duplicates, in a random order.
fn deliveries_of(
    path: Vec<LifecycleStatus>,
) -> impl Strategy<Value = (Vec<LifecycleStatus>, Vec<LifecycleStatus>)> {
    let n = path.len();
    proptest::collection::vec(0..n, 0..12).prop_flat_map(move |extra| {
        let mut all = path.clone();
        all.extend(extra.into_iter().map(|i| path[i].clone()));
        (Just(path.clone()), Just(all).prop_shuffle())
    })
}

fn any_status() -> impl Strategy<Value = LifecycleStatus> {
    prop_oneof![
        8 => proptest::sample::select(LifecycleStatus::KNOWN.to_vec()),
        1 => "[a-z]{1,8}".prop_map(|s| LifecycleStatus::parse(&s)),
    ]
}

fn replay<'a>(statuses: impl IntoIterator<Item = &'a LifecycleStatus>) -> Option<LifecycleStatus> {
    statuses.into_iter().fold(None, apply)
}

proptest! {
    #[test]
    fn any_order_with_duplicates_ends_where_the_in_order_replay_ends(
        (path, deliveries) in valid_path().prop_flat_map(deliveries_of)
    ) {
        let in_order = replay(&path);
        prop_assert_eq!(in_order.as_ref(), path.last());
        prop_assert_eq!(replay(&deliveries), in_order);
    }

    #[test]
    fn lost_deliveries_still_end_at_the_latest_state_delivered(
        (path, deliveries) in valid_path().prop_flat_map(deliveries_of),
        keep in proptest::collection::vec(any::<bool>(), 20)
    ) {
        let kept: Vec<_> = deliveries
            .iter()
            .zip(keep.iter().cycle())
            .filter(|(_, keep)| **keep)
            .map(|(s, _)| s.clone())
            .collect();
        let latest = kept.iter().max_by_key(|s| path.iter().position(|p| p == *s)).cloned();
        prop_assert_eq!(replay(&kept), latest);
    }

    #[test]
    fn never_leaves_a_terminal_state_and_never_moves_backwards(
        statuses in proptest::collection::vec(any_status(), 1..30)
    ) {
        let mut current: Option<LifecycleStatus> = None;
        for observed in &statuses {
            let before = current.clone();
            let transition = advance(before.as_ref(), observed);
            current = apply(before.clone(), observed);
            if let Some(before) = &before {
                if before.is_terminal() {
                    prop_assert_eq!(current.as_ref(), Some(before));
                }
                if let (Some(old), Some(new)) = (before.rank(), current.as_ref().and_then(|c| c.rank())) {
                    prop_assert!(new >= old, "{} -> {:?}", before, current);
                }
            }
            match transition {
                Transition::Moved(to) => prop_assert_eq!(Some(to), current.clone()),
                _ => prop_assert_eq!(&current, &before),
            }
        }
    }
}

#[test]
fn the_first_terminal_state_wins_over_a_conflicting_later_one() {
    let end = replay(&[
        LifecycleStatus::InProgress,
        LifecycleStatus::Expired,
        LifecycleStatus::Completed,
    ]);
    assert_eq!(end, Some(LifecycleStatus::Expired));
}
