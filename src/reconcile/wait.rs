//! `wait_for_terminal`: poll a batch on the schedule until it is terminal, a deadline passes,
//! or polling keeps failing. Time comes from a [`Sleeper`], so tests run on a virtual clock.

use super::failure::RECONCILIATION_FAILURE_THRESHOLD;
use super::schedule::Schedule;
use crate::batch::{Batch, LifecycleStatus};
use crate::gateway::{Gateway, GatewayError, Transport};
use std::fmt;
use std::future::Future;
use std::time::Duration;

/// The clock and the timer of the platform: `Date.now()` and `setTimeout` in JS, a virtual
/// clock in tests.
pub trait Sleeper {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Resolves after `duration`.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;
}

/// How to wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitOptions {
    /// The backoff schedule.
    pub schedule: Schedule,
    /// Seed of the jitter (e.g. from `crypto.getRandomValues`).
    pub seed: u64,
    /// Stop after this instant (Unix ms), having made one last poll at it.
    pub deadline_ms: Option<u64>,
    /// Stop after this many failed polls in a row.
    pub max_consecutive_failures: u32,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            schedule: Schedule::default(),
            seed: 0,
            deadline_ms: None,
            max_consecutive_failures: RECONCILIATION_FAILURE_THRESHOLD,
        }
    }
}

/// What the driver reports as it goes.
#[derive(Debug)]
#[non_exhaustive]
pub enum WaitEvent<'a> {
    /// A poll returned the batch; `changed` when its status or progress moved.
    Polled {
        /// The batch as fetched.
        batch: &'a Batch,
        /// Whether status or progress changed since the previous poll.
        changed: bool,
    },
    /// A poll failed with a retryable error.
    PollFailed {
        /// The error.
        error: &'a GatewayError,
        /// Failures in a row, this one included.
        consecutive: u32,
    },
    /// The driver sleeps before the next poll.
    Sleeping {
        /// How long.
        delay: Duration,
    },
}

/// Why waiting stopped before a terminal state.
#[derive(Debug)]
#[non_exhaustive]
pub enum WaitError {
    /// The deadline passed; `last` is the latest batch seen.
    Deadline {
        /// The last successful poll's batch, if any.
        last: Option<Box<Batch>>,
    },
    /// The gateway refused in a way a retry cannot fix (bad key, unknown batch, …).
    Gateway(GatewayError),
    /// Polls kept failing (reconciliation failure).
    GaveUp {
        /// Failures in a row.
        failures: u32,
        /// The last error.
        last: GatewayError,
    },
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::Deadline { last } => {
                let status = last.as_ref().and_then(|b| b.lifecycle());
                let status = status.as_ref().map_or("unknown", LifecycleStatus::as_str);
                write!(f, "the batch was not finished by the deadline (last status: {status}); wait longer or check it later")
            }
            WaitError::Gateway(e) => e.fmt(f),
            WaitError::GaveUp { failures, last } => write!(
                f,
                "polling failed {failures} times in a row; last error: {last}"
            ),
        }
    }
}

impl std::error::Error for WaitError {}

/// Polls `batch_id` until it is terminal and returns it.
///
/// Backoff restarts from `min` whenever the status or progress changes, grows while nothing
/// happens, and honours the gateway's `Retry-After` on 429/5xx. A non-retryable error stops at
/// once; `max_consecutive_failures` retryable ones in a row stop with [`WaitError::GaveUp`].
pub async fn wait_for_terminal<T: Transport, S: Sleeper>(
    gateway: &Gateway<T>,
    batch_id: &str,
    options: &WaitOptions,
    sleeper: &S,
    mut on_event: impl FnMut(WaitEvent<'_>),
) -> Result<Batch, WaitError> {
    let mut attempt: u32 = 0;
    let mut failures: u32 = 0;
    let mut last: Option<Batch> = None;
    loop {
        let mut retry_after = None;
        match gateway.get_batch(batch_id).await {
            Ok(batch) => {
                failures = 0;
                let changed = last.as_ref().is_none_or(|prev| {
                    prev.lifecycle() != batch.lifecycle() || prev.progress != batch.progress
                });
                on_event(WaitEvent::Polled {
                    batch: &batch,
                    changed,
                });
                if batch.is_terminal() {
                    return Ok(batch);
                }
                attempt = if changed {
                    0
                } else {
                    attempt.saturating_add(1)
                };
                last = Some(batch);
            }
            Err(error) if error.is_retryable() => {
                failures += 1;
                on_event(WaitEvent::PollFailed {
                    error: &error,
                    consecutive: failures,
                });
                if failures >= options.max_consecutive_failures.max(1) {
                    return Err(WaitError::GaveUp {
                        failures,
                        last: error,
                    });
                }
                retry_after = error.retry_delay((sleeper.now_ms() / 1000) as i64);
                attempt = attempt.saturating_add(1);
            }
            Err(error) => return Err(WaitError::Gateway(error)),
        }
        let mut delay = options
            .schedule
            .next_delay(attempt, options.seed, retry_after);
        if let Some(deadline) = options.deadline_ms {
            let now = sleeper.now_ms();
            if now >= deadline {
                return Err(WaitError::Deadline {
                    last: last.map(Box::new),
                });
            }
            delay = delay.min(Duration::from_millis(deadline - now));
        }
        on_event(WaitEvent::Sleeping { delay });
        sleeper.sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::{Request, Response, TransportError};
    use std::cell::Cell;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};
    use wasm_bindgen_test::wasm_bindgen_test;

    /// A clock that jumps forward on every sleep, and a gateway that finishes at 10 s after
    /// rate limiting the first poll.
    struct Fake {
        now: Cell<u64>,
        polls: Cell<u32>,
    }

    impl Sleeper for Fake {
        fn now_ms(&self) -> u64 {
            self.now.get()
        }
        fn sleep(&self, d: Duration) -> impl Future<Output = ()> {
            self.now.set(self.now.get() + d.as_millis() as u64);
            std::future::ready(())
        }
    }

    impl Transport for Fake {
        fn send(&self, _: Request) -> impl Future<Output = Result<Response, TransportError>> {
            self.polls.set(self.polls.get() + 1);
            let (status, headers, body) = if self.polls.get() == 1 {
                (
                    429,
                    vec![("retry-after".to_owned(), "4".to_owned())],
                    String::new(),
                )
            } else {
                let status = if self.now.get() >= 10_000 {
                    "completed"
                } else {
                    "in_progress"
                };
                (200, vec![], format!(r#"{{"id":"b","status":"{status}"}}"#))
            };
            std::future::ready(Ok(Response {
                status,
                headers,
                body: body.into_bytes(),
            }))
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn waits_out_a_rate_limit_and_returns_the_terminal_batch_on_a_virtual_clock() {
        let fake = Fake {
            now: Cell::new(0),
            polls: Cell::new(0),
        };
        let gateway = Gateway::new(&fake);
        let options = WaitOptions {
            schedule: Schedule::from_millis(1_000, 4_000),
            ..WaitOptions::default()
        };
        let mut future = pin!(wait_for_terminal(&gateway, "b", &options, &fake, |_| {}));
        let Poll::Ready(result) = future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        else {
            panic!("a virtual clock never leaves the driver pending");
        };
        assert!(result.unwrap().is_terminal());
        let now = fake.now.get();
        assert!((10_000..=14_000).contains(&now), "finished at {now} ms");
    }
}
