//! The Cloudflare Worker adapter: moves bytes between HTTP, Durable Object storage and the
//! sans-IO core. It parses nothing by hand and decides nothing; every decision is the core's
//! (`signature`, `event`, `reconcile`, `gateway`).
//!
//! # Public routes
//! - `POST /webhooks/:source` — signed webhook intake (module `intake`): `413` over
//!   `MAX_BODY_BYTES`, `400`/`401` for signatures, `400` for a body that is not a JSON event,
//!   `202 {"outcome":"dead_lettered"}` for a verified event naming no batch, else the ledger's
//!   `200 {"webhook_id","outcome","status"}` after the delivery is committed; `503` when
//!   storage failed (the sender retries).
//! - `GET /v1/batches/:id` — the stored batch plus a `batchhook` block (timeline, deliveries,
//!   polling, signals, classification), read from the batch's `BatchLedger`.
//!
//! Anything else answers `404 not_found` or `405 method_not_allowed`, always with the JSON
//! error shape `{"error":{"code","message"}}`.
//!
//! # Test routes (only when the var `BATCHHOOK_TEST_ROUTES` is `"1"`)
//! - `GET /_test/ledger/:name` — `{"alarm_runs","alarm_pending","schema_version"}`.
//! - `POST /_test/ledger/:name/alarm` `{"in_ms": N}` — schedules the ledger's alarm.
//! - `POST /_test/ledger/:id/track` — starts polling batch `:id` without any webhook (the
//!   ledger's `POST /poll`, which the operator API's create will call).
//! - `GET|POST /_test/index/<path>` — the index's own route `<path>` (e.g. `batches`,
//!   `dead-letters/:seq`, `test/schema`, `test/legacy-schema`).
//! - Header `x-batchhook-test-fault: after-insert` on a webhook makes the ledger fail inside
//!   its transaction after inserting the delivery (to test the rollback).
//! - Webhook answers carry `x-batchhook-test-hashed-by: wasm|webcrypto|none`: which engine
//!   computed the HMAC and body hash (module `verify`).
//!
//! The Durable Objects' own internal routes are listed in the `ledger_object` and
//! `index_object` module docs.

mod api;
mod apply;
mod config;
mod errors;
// `#[durable_object]` generates undocumented wasm-bindgen glue methods.
#[allow(missing_docs)]
mod index_object;
mod intake;
#[allow(missing_docs)]
mod ledger_object;
mod migrations;
mod store;
mod stubs;
mod transport;
mod txn;
mod verify;
mod view;

pub use index_object::BatchIndex;
pub use ledger_object::BatchLedger;

use errors::ApiError;
use worker::{event, Context, Env, Method, Request, Response, Result};

/// Takes the runtime's request as is: the webhook intake (the hot path) reads only its
/// method, URL, headers and body, so a `worker::Request` (which also copies the `cf`
/// properties, a measurable cost per delivery) is built only for the other routes.
#[event(fetch)]
async fn fetch(raw: web_sys::Request, env: Env, _ctx: Context) -> Result<web_sys::Response> {
    // Another handle on the same request (not a copy of its body), for `drain_refused`.
    let request = raw.to_owned();
    let answer = match webhook_source(&raw) {
        Some(source) if raw.method() == "POST" => intake::receive(&raw, &env, &source).await,
        _ => route(Request::from(raw), &env).await.map(Into::into),
    };
    let response = match answer {
        Ok(resp) => resp,
        Err(err) => err.into_response()?.into(),
    };
    if response.status() >= 400 {
        drain_refused(&request).await;
    }
    Ok(response)
}

/// Request bodies up to this size are read before a refusal is sent.
const DRAIN_MAX_BYTES: usize = 64 * 1024;

/// Reads and drops the small body of a request refused before reading it (a 401 without a
/// token, a 404, a 405, a 413 against a low limit). The runtime closes a connection whose
/// request body was left unread, and a client that had already queued its next request on
/// that keep-alive connection sees it reset. Bodies without a length or above
/// [`DRAIN_MAX_BYTES`] are left unread: not worth reading only to throw away.
async fn drain_refused(request: &web_sys::Request) {
    let small = request
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|len| len.trim().parse::<usize>().ok())
        .is_some_and(|len| len > 0 && len <= DRAIN_MAX_BYTES);
    if small && !request.body_used() {
        if let Ok(promise) = request.array_buffer() {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        }
    }
}

/// The `:source` of `/webhooks/:source`, if that is the request's path.
///
/// The runtime hands over `request.url` already parsed and serialised (WHATWG URL), so the
/// path is the text between the authority and any `?`/`#`; reading it off the string skips
/// a second full URL parse per delivery.
fn webhook_source(raw: &web_sys::Request) -> Option<String> {
    let url = raw.url();
    let mut segments = url_path(&url).trim_matches('/').split('/');
    match (segments.next(), segments.next(), segments.next()) {
        (Some("webhooks"), Some(source), None) if !source.is_empty() => Some(source.to_owned()),
        _ => None,
    }
}

/// The path of a serialised absolute URL (`/` when it has none).
fn url_path(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(url, |i| &url[i + 3..]);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or(path)
}

/// Dispatches on method and path segments; every miss is a JSON error.
async fn route(mut req: Request, env: &Env) -> std::result::Result<Response, ApiError> {
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method();
    match segments.as_slice() {
        // POSTs were taken by `fetch`.
        ["webhooks", source] if !source.is_empty() => Err(ApiError::MethodNotAllowed),
        ["v1", ..] => Ok(api::route(req, env).await?),
        ["_test", "ledger", name, rest @ ..] if config::test_routes_enabled(env) => {
            let stub = stubs::ledger(env, name)?;
            match (method, rest) {
                (Method::Get, []) => {
                    Ok(stubs::call(&stub, Method::Get, "/test/state", &[], None).await?)
                }
                (Method::Post, ["alarm"]) => {
                    let body = req.bytes().await?;
                    Ok(stubs::call(&stub, Method::Post, "/test/alarm", &[], Some(body)).await?)
                }
                (Method::Post, ["track"]) => {
                    let headers = [("x-batchhook-batch-id", *name)];
                    Ok(stubs::call(&stub, Method::Post, "/poll", &headers, None).await?)
                }
                (_, [] | ["alarm"] | ["track"]) => Err(ApiError::MethodNotAllowed),
                _ => Err(ApiError::NotFound),
            }
        }
        ["_test", "index", rest @ ..] if config::test_routes_enabled(env) => {
            let body = match method {
                Method::Get => None,
                Method::Post => Some(req.bytes().await?),
                _ => return Err(ApiError::MethodNotAllowed),
            };
            let query = req
                .url()?
                .query()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            let inner = format!("/{}{query}", rest.join("/"));
            Ok(stubs::call(&stubs::index(env)?, method, &inner, &[], body).await?)
        }
        _ => Err(ApiError::NotFound),
    }
}
