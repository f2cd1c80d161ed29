//! batchhook's sans-IO core: everything that decides, and nothing that does I/O.
//!
//! The core verifies and signs webhooks, models the gateway's batch object and its lifecycle,
//! decides what a delivery does to the stored state, schedules reconciliation polls, validates
//! JSONL inputs and builds/parses gateway requests. It takes bytes, headers, times and stored
//! state as arguments and returns values and decisions.
//!
//! It does **not** read a clock, draw random numbers, touch the network or storage, or use any
//! JavaScript type: callers pass `now` and seeds in. The adapters that do I/O live behind
//! features: `worker` (the Cloudflare Worker) and `browser` (the npm bundle).

pub mod access;
pub mod batch;
pub mod control;
pub mod event;
pub mod gateway;
pub mod idempotency;
pub mod index;
pub mod ingest;
pub mod jsonl;
pub mod ledger;
pub mod public;
pub mod reconcile;
pub mod signature;

#[cfg(any(feature = "verifier", feature = "browser"))]
pub mod browser;
#[cfg(feature = "worker")]
pub mod worker;
