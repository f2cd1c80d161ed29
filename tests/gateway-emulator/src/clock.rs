//! The emulated clock: wall time at start-up, then running `speed` times faster, plus any
//! explicit jumps from `POST /_admin/advance`. Batch timestamps, phase durations, completion
//! windows and webhook retry backoff all live on this clock; only the `webhook-timestamp`
//! header uses real wall time, because receivers check it against their own clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Emulated time in unix milliseconds.
pub struct Clock {
    started: Instant,
    start_ms: i64,
    speed: f64,
    jumped_ms: AtomicI64,
}

/// Real wall-clock unix seconds.
pub fn real_unix_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Clock {
    /// A clock starting at the current wall time and running `speed`× faster.
    pub fn new(speed: f64) -> Self {
        let start_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Clock {
            started: Instant::now(),
            start_ms,
            speed,
            jumped_ms: AtomicI64::new(0),
        }
    }

    /// Emulated unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        let real = self.started.elapsed().as_secs_f64() * 1000.0;
        self.start_ms + (real * self.speed) as i64 + self.jumped_ms.load(Ordering::Relaxed)
    }

    /// Emulated unix seconds (the unit of every `*_at` integer field).
    pub fn now_s(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Jumps the emulated clock forward by `secs` emulated seconds.
    pub fn advance(&self, secs: f64) {
        self.jumped_ms
            .fetch_add((secs * 1000.0) as i64, Ordering::Relaxed);
    }

    /// The speed factor.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Sleeps until the emulated clock reaches `target_ms`, waking often enough to notice jumps.
    pub async fn sleep_until(&self, target_ms: i64) {
        loop {
            let left = target_ms - self.now_ms();
            if left <= 0 {
                return;
            }
            let real = (left as f64 / self.speed).clamp(1.0, 25.0);
            tokio::time::sleep(Duration::from_micros((real * 1000.0) as u64)).await;
        }
    }
}

/// Formats unix seconds as an RFC 3339 UTC timestamp (the reference's string `*_at` fields).
pub fn rfc3339(unix_s: i64) -> String {
    let days = unix_s.div_euclid(86_400);
    let secs = unix_s.rem_euclid(86_400);
    // Civil-from-days (proleptic Gregorian), eras of 400 years.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::{rfc3339, Clock};

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_764_115_199), "2025-11-25T23:59:59Z");
    }

    #[test]
    fn advance_moves_emulated_time_forward() {
        let c = Clock::new(1.0);
        let before = c.now_s();
        c.advance(3600.0);
        assert!(c.now_s() >= before + 3600);
    }
}
