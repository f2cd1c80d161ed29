//! The browser/npm adapter: wasm exports wrapped by the handwritten ES modules in
//! `src/browser/js/`.
//!
//! `webhook` and its raw `exports` (feature `verifier`) are all the small `batchhook/webhook`
//! entry contains; the rest of the client is feature `browser`: wasm-bindgen exports, and
//! without `webhook`: the `batchhook` entry re-exports `batchhook/webhook` instead of carrying
//! a second verifier in its own wasm.

#[cfg(feature = "verifier")]
mod exports;
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
