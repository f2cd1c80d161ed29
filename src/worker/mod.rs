//! The Cloudflare Worker adapter: moves bytes between HTTP, Durable Object storage and the
//! sans-IO core. It parses nothing by hand and decides nothing; every decision is the core's.
//!
//! # Routes of the worker (public)
//! - `POST /webhooks/:source` — signed webhook intake (see [`intake`]).
//! - `GET /v1/batches/:id` — the stored batch plus a `batchhook` block (timeline, deliveries,
//!   signals, classification), read from the batch's `BatchLedger`.
//!
//! Anything else answers `404 not_found` or `405 method_not_allowed` with the JSON error shape
//! `{"error":{"code","message"}}`.
//!
//! # Test routes (only when the var `BATCHHOOK_TEST_ROUTES` is `"1"`)
//! - `POST /_test/ledger/:name/alarm` with `{"in_ms": N}` — schedule the ledger's alarm.
//! - `GET /_test/ledger/:name` — `{"alarm_runs", "alarm_pending", "schema_version"}`.
//!
//! # Internal routes of the `BatchLedger` stub (JSON in/out; host part ignored)
//! - `GET /state`, `POST /test/alarm` (see [`ledger_object`]).

mod errors;
// `#[durable_object]` generates undocumented wasm-bindgen glue methods.
#[allow(missing_docs)]
mod index_object;
#[allow(missing_docs)]
mod ledger_object;
mod migrations;

pub use index_object::BatchIndex;
pub use ledger_object::BatchLedger;

use errors::ApiError;
use worker::{event, Context, Env, Method, Request, Response, Result};

/// Binding name of the per-batch ledger namespace.
const LEDGER_BINDING: &str = "BATCH_LEDGER";

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    match route(req, &env).await {
        Ok(resp) => Ok(resp),
        Err(err) => err.into_response(),
    }
}

/// Dispatches on method and path segments; every miss is a JSON error.
async fn route(req: Request, env: &Env) -> std::result::Result<Response, ApiError> {
    let path = req.path();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method();
    match segments.as_slice() {
        ["webhooks", source] if !source.is_empty() => {
            require(&method, Method::Post)?;
            Ok(
                Response::from_json(&serde_json::json!({"accepted": true, "source": source}))?
                    .with_status(202),
            )
        }
        ["v1", "batches", id] if !id.is_empty() => {
            require(&method, Method::Get)?;
            forward(env, id, "GET", "/state", None).await
        }
        ["_test", "ledger", name, rest @ ..] if test_routes_enabled(env) => match (method, rest) {
            (Method::Get, []) => forward(env, name, "GET", "/state", None).await,
            (Method::Post, ["alarm"]) => {
                let mut req = req;
                let body = req.bytes().await?;
                forward(env, name, "POST", "/test/alarm", Some(body)).await
            }
            (_, [] | ["alarm"]) => Err(ApiError::MethodNotAllowed),
            _ => Err(ApiError::NotFound),
        },
        _ => Err(ApiError::NotFound),
    }
}

fn require(method: &Method, expected: Method) -> std::result::Result<(), ApiError> {
    if *method == expected {
        Ok(())
    } else {
        Err(ApiError::MethodNotAllowed)
    }
}

fn test_routes_enabled(env: &Env) -> bool {
    env.var("BATCHHOOK_TEST_ROUTES")
        .map(|v| v.to_string() == "1")
        .unwrap_or(false)
}

/// Sends an internal request to the ledger of `batch_id` and returns its answer unchanged.
async fn forward(
    env: &Env,
    batch_id: &str,
    method: &str,
    path: &str,
    body: Option<Vec<u8>>,
) -> std::result::Result<Response, ApiError> {
    let stub = env
        .durable_object(LEDGER_BINDING)?
        .id_from_name(batch_id)?
        .get_stub()?;
    let mut init = worker::RequestInit::new();
    init.with_method(Method::from(method.to_string()));
    if let Some(body) = body {
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    let req = Request::new_with_init(&format!("https://ledger{path}"), &init)?;
    Ok(stub.fetch_with_request(req).await?)
}
