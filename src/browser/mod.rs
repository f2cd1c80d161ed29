//! The browser/npm adapter: wasm-bindgen exports wrapped by the handwritten ES modules in
//! `src/browser/js/`.
//!
//! `webhook` (feature `verifier`) is all the small `batchhook/webhook` entry contains; the rest
//! of the client is feature `browser`, which leaves `webhook` out: the `batchhook` entry
//! re-exports `batchhook/webhook` instead of carrying a second verifier in its own wasm.

#[cfg(all(feature = "verifier", any(target_arch = "wasm32", test)))]
mod heap;
#[cfg(feature = "verifier")]
pub mod webhook;

#[cfg(feature = "browser")]
pub mod client;
#[cfg(feature = "browser")]
mod errors;
#[cfg(feature = "browser")]
pub mod jsonl;
#[cfg(feature = "browser")]
mod transport;
