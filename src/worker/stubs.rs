//! Calls from the worker (or one object) into the Durable Objects' internal routes.
//!
//! Internal requests use the host `https://do` (ignored by the runtime), JSON bodies, and for
//! a delivery the raw webhook body with its facts in the `x-batchhook-delivery` header (JSON).

use crate::worker::errors::ApiError;
use crate::worker::ledger_object::DeliveryHeaders;
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Env, Headers, Method, ObjectNamespace, Request, RequestInit, Response, Stub};

/// Binding of the per-batch ledger namespace.
pub const LEDGER_BINDING: &str = "BATCH_LEDGER";
/// Binding of the index namespace.
pub const INDEX_BINDING: &str = "BATCH_INDEX";
/// The name of the single index instance.
pub const INDEX_NAME: &str = "index";

/// The ledger of `batch_id`.
pub fn ledger(env: &Env, batch_id: &str) -> worker::Result<Stub> {
    ledgers(env)?.id_from_name(batch_id)?.get_stub()
}

thread_local! {
    /// The `env` object the ledger namespace was read from, and the namespace.
    static LEDGERS: RefCell<Option<(JsValue, ObjectNamespace)>> = const { RefCell::new(None) };
}

/// The ledger namespace of `env`, read once for as long as the runtime hands the same `env`
/// object (as `config::intake` does): each read looks the binding up and checks its type, once
/// per delivery otherwise.
fn ledgers(env: &Env) -> worker::Result<ObjectNamespace> {
    let key: &JsValue = env.as_ref();
    let cached = LEDGERS.with(|cell| match cell.borrow().as_ref() {
        Some((seen, namespace)) if js_sys::Object::is(seen, key) => Some(namespace.clone()),
        _ => None,
    });
    if let Some(namespace) = cached {
        return Ok(namespace);
    }
    let namespace = env.durable_object(LEDGER_BINDING)?;
    LEDGERS.with(|cell| *cell.borrow_mut() = Some((key.clone(), namespace.clone())));
    Ok(namespace)
}

/// The index.
pub fn index(env: &Env) -> worker::Result<Stub> {
    env.durable_object(INDEX_BINDING)?
        .id_from_name(INDEX_NAME)?
        .get_stub()
}

/// Sends `method path` with `body` and `headers` to `stub`.
pub async fn call(
    stub: &Stub,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> worker::Result<Response> {
    let h = Headers::new();
    for (name, value) in headers {
        h.set(name, value)?;
    }
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(h);
    if let Some(body) = body {
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    stub.fetch_with_request(Request::new_with_init(&format!("https://do{path}"), &init)?)
        .await
}

/// Hands a verified delivery to its batch's ledger and returns the ledger's answer: its HTTP
/// status and JSON body.
pub async fn deliver(
    env: &Env,
    batch_id: &str,
    delivery: &DeliveryHeaders,
    body: Vec<u8>,
    fault: Option<String>,
) -> Result<(u16, String), ApiError> {
    let body = js_sys::Uint8Array::from(body.as_slice());
    deliver_buffer(env, batch_id, delivery, &body, fault).await
}

/// [`deliver`] with the body already in a JS buffer (the intake's request body).
///
/// Called once per webhook, so it calls the ledger's RPC method `deliver` (see
/// `ledger_object`) rather than its `POST /deliveries` route: no request or response object,
/// header list or body stream is built on either side of the hop. The ledger answers
/// `[http_status, json_body]`; a failed call (the object or its storage broke) is a 503.
pub async fn deliver_buffer(
    env: &Env,
    batch_id: &str,
    delivery: &DeliveryHeaders,
    body: &js_sys::Uint8Array,
    fault: Option<String>,
) -> Result<(u16, String), ApiError> {
    let facts =
        serde_json::to_string(delivery).map_err(|e| ApiError::Unavailable(e.to_string()))?;
    let args = js_sys::Array::of4(
        &batch_id.into(),
        &facts.as_str().into(),
        body,
        &fault.as_deref().map_or(JsValue::UNDEFINED, JsValue::from),
    );
    Ok(rpc(ledger(env, batch_id)?, "deliver", &args).await?)
}

/// Sends summaries (a JSON list) to the index through its RPC method `summaries` (see
/// `index_object`); answers its HTTP status (200 once upserted).
pub async fn summaries(env: &Env, json: &str) -> worker::Result<u16> {
    let args = js_sys::Array::of1(&json.into());
    Ok(rpc(index(env)?, "summaries", &args).await?.0)
}

/// An object's RPC answer `[http_status, json_body]`, as [`rpc`] reads it on the caller's side.
pub fn rpc_answer((status, json): (u16, String)) -> JsValue {
    js_sys::Array::of2(&status.into(), &json.into()).into()
}

/// Calls the RPC method `method` of `stub` with `args`; the objects' RPC methods answer
/// `[http_status, json_body]` ([`rpc_answer`]).
async fn rpc(stub: Stub, method: &str, args: &js_sys::Array) -> worker::Result<(u16, String)> {
    let stub: js_sys::Object = stub.into_rpc();
    let answer = async {
        let call: js_sys::Function = js_sys::Reflect::get(&stub, &method.into())?.dyn_into()?;
        // `Reflect.apply`: an RPC stub's method would take `call.apply(…)` as a call of a
        // remote method named `apply`.
        let pending = js_sys::Reflect::apply(&call, &stub, args)?;
        let answer: js_sys::Array = JsFuture::from(js_sys::Promise::from(pending))
            .await?
            .dyn_into()?;
        let status = answer.get(0).as_f64().unwrap_or(500.0) as u16;
        Ok::<_, JsValue>((status, answer.get(1).as_string().unwrap_or_default()))
    };
    answer.await.map_err(worker::Error::from)
}

/// Stores a verified delivery that cannot be routed in the index's dead-letter table.
pub async fn dead_letter(
    env: &Env,
    source: &str,
    webhook_id: &str,
    reason: &str,
    message: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<(), ApiError> {
    let facts = serde_json::json!({
        "webhook_id": webhook_id,
        "source": source,
        "reason": reason,
        "message": message,
        "headers": headers,
    })
    .to_string();
    let resp = call(
        &index(env)?,
        Method::Post,
        "/dead-letters",
        &[("x-batchhook-dead-letter", facts.as_str())],
        Some(body.to_vec()),
    )
    .await?;
    if resp.status_code() >= 300 {
        return Err(ApiError::Unavailable(format!(
            "the dead-letter table answered {}",
            resp.status_code()
        )));
    }
    Ok(())
}

/// Counts an unverifiable delivery by source and reason; a failure here is only logged, since
/// the answer to the sender (401/400) does not depend on it.
pub async fn count_rejection(env: &Env, source: &str, code: &str) {
    let body = serde_json::json!({"source": source, "code": code}).to_string();
    let sent = match index(env) {
        Ok(stub) => {
            call(
                &stub,
                Method::Post,
                "/rejections",
                &[],
                Some(body.into_bytes()),
            )
            .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        worker::console_error!("batchhook: could not count a rejected delivery: {e}");
    }
}
