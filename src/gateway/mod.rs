//! The AI Stats batch API (OpenAI-compatible) as plain data: a request builder and a response
//! parser per endpoint, the error envelopes classified, and a small [`Transport`] trait that the
//! adapters implement (worker `Fetch`, browser `gloo-net`, test fakes).
//!
//! | endpoint | builder | parser |
//! |---|---|---|
//! | `POST /v1/files` (multipart, `purpose=batch`) | [`upload_file`] / [`UploadParts`] | [`parse_file`] |
//! | `POST /v1/batches` | [`create_batch`] | [`parse_batch`] |
//! | `GET /v1/batches/{id}` | [`get_batch`] | [`parse_batch`] |
//! | `GET /v1/batches?limit&status&after` | [`list_batches`] | [`parse_list`] |
//! | `POST /v1/batches/{id}/cancel` | [`cancel_batch`] | [`parse_batch`] |
//! | `GET /v1/files/{id}` | [`get_file`] | [`parse_file`] |
//! | `GET /v1/files/{id}/content` | [`file_content`] | [`parse_content`] |
//!
//! Requests carry a path relative to the gateway's base URL and no credentials; the transport
//! adds both. Any non-2xx response becomes a [`GatewayError`] that says whether a retry can help
//! ([`GatewayError::is_retryable`]) and when ([`GatewayError::retry_after`]). [`Gateway`] strings
//! build, send and parse together.

mod client;
mod endpoints;
mod error;
mod files;
mod http;
mod multipart;
mod retry_after;

pub use client::Gateway;
pub use endpoints::{
    cancel_batch, create_batch, file_content, get_batch, get_file, list_batches, parse_batch,
    parse_content, parse_file, parse_list, success, upload_file, CreateBatch, WebhookRequest,
};
pub use error::{ApiError, GatewayError};
pub use files::FileObject;
pub use http::{Method, Request, Response, Transport, TransportError};
pub use multipart::UploadParts;
pub use retry_after::{parse_http_date, RetryAfter};
