//! When to poll next: exponential backoff with full jitter, a cap, and `Retry-After` as a floor.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A polling schedule. Delays grow `min, 2·min, 4·min, …` up to `max`; each delay is drawn
/// uniformly between `min` and that ceiling (full jitter, floored at `min` so a batch is never
/// polled faster than configured), from a caller-given seed so the core stays deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// The shortest delay, and the first ceiling (`POLL_MIN_MS`).
    pub min: Duration,
    /// The cap on the ceiling (`POLL_MAX_MS`).
    pub max: Duration,
}

impl Default for Schedule {
    /// 2 s growing to 5 minutes: quick while a batch is fresh, gentle on day-long ones.
    fn default() -> Self {
        Schedule {
            min: Duration::from_secs(2),
            max: Duration::from_secs(300),
        }
    }
}

impl Schedule {
    /// A schedule from milliseconds, as the worker's `POLL_MIN_MS`/`POLL_MAX_MS` give them; a
    /// `max` below `min` is raised to `min`, a zero `min` to 1 ms.
    pub fn from_millis(min_ms: u64, max_ms: u64) -> Schedule {
        let min = min_ms.max(1);
        Schedule {
            min: Duration::from_millis(min),
            max: Duration::from_millis(max_ms.max(min)),
        }
    }

    /// The upper bound of the `attempt`-th delay (0-based): `min · 2^attempt`, capped at `max`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.min.saturating_mul(factor).min(self.max.max(self.min))
    }

    /// The delay before poll number `attempt + 1`.
    ///
    /// Deterministic for `(attempt, seed)`; within `[min, ceiling(attempt)]`, so never above
    /// `max`; raised to `retry_after` when the gateway asked for more (the server's word beats
    /// our cap).
    pub fn next_delay(&self, attempt: u32, seed: u64, retry_after: Option<Duration>) -> Duration {
        let low = self.min.min(self.max);
        let high = self.ceiling(attempt);
        let span = high.saturating_sub(low).as_nanos() as u64;
        let draw = mix(seed ^ u64::from(attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        // Uniform over 0..=span: 128-bit multiply-shift, no modulo bias worth the name.
        let offset = ((u128::from(draw) * (u128::from(span) + 1)) >> 64) as u64;
        let delay = low + Duration::from_nanos(offset);
        match retry_after {
            Some(floor) if floor > delay => floor,
            _ => delay,
        }
    }
}

/// SplitMix64's output function: a tiny, well-mixed deterministic PRNG step.
pub(crate) fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn doubles_the_ceiling_until_the_cap() {
        let s = Schedule::from_millis(100, 1000);
        let ceilings: Vec<u64> = (0..6).map(|a| s.ceiling(a).as_millis() as u64).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(s.ceiling(u32::MAX), Duration::from_millis(1000));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn spreads_delays_across_the_jitter_range() {
        let s = Schedule::from_millis(100, 10_000);
        let delays: Vec<Duration> = (0..200).map(|seed| s.next_delay(6, seed, None)).collect();
        let lo = delays.iter().min().unwrap().as_millis();
        let hi = delays.iter().max().unwrap().as_millis();
        assert!(lo < 1500 && hi > 5000, "range {lo}..{hi} is not spread");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn raises_a_short_delay_to_retry_after_even_past_the_cap() {
        let s = Schedule::from_millis(100, 1000);
        assert_eq!(
            s.next_delay(0, 1, Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
    }
}
