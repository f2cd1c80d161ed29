//! Reconciliation: batchhook's own polling path beside the webhooks.
//!
//! - [`Schedule`]: when to poll next — exponential backoff with full jitter from a caller-given
//!   seed, a cap, and `Retry-After` as a floor. Pure: `next_delay(attempt, seed, retry_after)`.
//! - [`wait_for_terminal`]: the polling loop over a [`Transport`](crate::gateway::Transport),
//!   with time from a [`Sleeper`] so it runs on `setTimeout`, Durable Object alarms' clock, or a
//!   virtual clock in tests.
//! - [`on_payload`]/[`on_status`]: what a webhook payload (or a poll result) does to the stored
//!   status — apply, ignore, or poll now.
//! - [`classify`]: where a failure is (upstream execution, cancellation and by whom, expiry,
//!   webhook delivery after the batch finished, reconciliation).

mod decide;
mod failure;
mod schedule;
mod wait;

pub use decide::{on_payload, on_status, IgnoreReason, PayloadAction, PollReason};
pub use failure::{
    classify, CancelRequest, CancelRequester, Failure, FailureContext,
    RECONCILIATION_FAILURE_THRESHOLD,
};
pub use schedule::Schedule;
pub use wait::{wait_for_terminal, Sleeper, WaitError, WaitEvent, WaitOptions};
