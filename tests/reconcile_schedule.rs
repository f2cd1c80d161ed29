//! Properties of the polling schedule that must hold for every input.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::reconcile::Schedule;
use proptest::prelude::*;
use std::time::Duration;

fn schedule() -> impl Strategy<Value = Schedule> {
    (1u64..60_000, 0u64..3_600_000).prop_map(|(min, extra)| Schedule::from_millis(min, min + extra))
}

proptest! {
    #[test]
    fn never_exceeds_the_cap_nor_goes_below_the_minimum(s in schedule(), attempt in any::<u32>(), seed in any::<u64>()) {
        let d = s.next_delay(attempt, seed, None);
        prop_assert!(d >= s.min && d <= s.max, "{:?} outside {:?}..{:?}", d, s.min, s.max);
        prop_assert!(d <= s.ceiling(attempt));
    }

    #[test]
    fn honours_retry_after_as_a_floor(s in schedule(), attempt in 0u32..64, seed in any::<u64>(), ra in 0u64..7_200_000) {
        let retry_after = Duration::from_millis(ra);
        let with = s.next_delay(attempt, seed, Some(retry_after));
        let without = s.next_delay(attempt, seed, None);
        prop_assert!(with >= retry_after);
        prop_assert_eq!(with, without.max(retry_after));
    }

    #[test]
    fn is_deterministic_for_a_seed(s in schedule(), attempt in any::<u32>(), seed in any::<u64>()) {
        prop_assert_eq!(s.next_delay(attempt, seed, None), s.next_delay(attempt, seed, None));
    }

    #[test]
    fn grows_its_ceiling_monotonically(s in schedule(), attempt in 0u32..100) {
        prop_assert!(s.ceiling(attempt) <= s.ceiling(attempt + 1));
    }
}

#[test]
fn draws_differ_across_attempts_for_one_seed() {
    let s = Schedule::from_millis(1_000, 600_000);
    let delays: std::collections::HashSet<Duration> =
        (10..40).map(|a| s.next_delay(a, 99, None)).collect();
    assert!(delays.len() > 25, "only {} distinct delays", delays.len());
}

#[test]
fn treats_a_max_below_min_as_min() {
    let s = Schedule::from_millis(5_000, 10);
    assert_eq!(s.next_delay(3, 1, None), Duration::from_millis(5_000));
}
