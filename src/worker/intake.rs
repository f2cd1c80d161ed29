//! `POST /webhooks/:source`: size limit, signature check, routing to the batch's ledger.
//!
//! Order matters: the size is checked before the body is read; the signature before the body is
//! parsed; the batch id before anything is stored. What the delivery then does to the batch is
//! decided inside the `BatchLedger`, in the same storage transaction that records it.

use crate::event::{Event, EventError};
use crate::signature::{Headers, SignatureError};
use crate::worker::errors::{json_answer, ApiError};
use crate::worker::{config, ledger_object, stubs, verify};
use std::cell::OnceCell;
use wasm_bindgen_futures::JsFuture;
use worker::{Env, Response};

/// Receives one webhook delivery for `source`.
pub async fn receive(
    req: &web_sys::Request,
    env: &Env,
    source: &str,
) -> Result<web_sys::Response, ApiError> {
    let settings = config::intake(env);
    let max = settings.max_body;
    let request_headers = worker::Headers(req.headers());
    if let Some(len) = request_headers.get("content-length")? {
        if len.trim().parse::<usize>().is_ok_and(|n| n > max) {
            return Err(ApiError::PayloadTooLarge { max });
        }
    }
    // The body stays a JS buffer for the hop to the ledger; wasm works on one copy of it.
    let raw = js_sys::Uint8Array::new(
        &JsFuture::from(req.array_buffer().map_err(worker::Error::from)?)
            .await
            .map_err(worker::Error::from)?,
    );
    if raw.length() as usize > max {
        return Err(ApiError::PayloadTooLarge { max });
    }
    let body = raw.to_vec();
    let received_at = js_sys::Date::now() as i64;
    let scheme = settings
        .scheme_for(source)
        .map_err(ApiError::Misconfigured)?;
    let secrets = settings.secrets.as_deref().ok_or_else(|| {
        ApiError::Misconfigured(
            "WEBHOOK_SECRETS is not set: add it with `wrangler secret put`".into(),
        )
    })?;
    let keyring = verify::keyring(scheme, secrets).map_err(|e| {
        ApiError::Misconfigured(format!("WEBHOOK_SECRETS is unusable: {}", e.message()))
    })?;
    let headers = LazyHeaders::new(&request_headers);
    let fault = test_fault(&request_headers, settings.test_routes);
    let (checked, hashed_by) = keyring
        .check(&headers, &body, received_at.div_euclid(1000))
        .await;
    // Tests see which engine hashed the body (only with the test routes on).
    let label = |resp: web_sys::Response| -> Result<web_sys::Response, ApiError> {
        if settings.test_routes {
            resp.headers()
                .set("x-batchhook-test-hashed-by", hashed_by.as_str())
                .map_err(worker::Error::from)?;
        }
        Ok(resp)
    };
    let checked = match checked {
        Ok(checked) => checked,
        Err(err) => {
            worker::console_warn!(
                "batchhook: rejected unverifiable delivery on /webhooks/{source}: {}",
                err.code()
            );
            stubs::count_rejection(env, source, err.code()).await;
            return label(ApiError::from_signature(&err).into_response()?.into());
        }
    };
    let verified = checked.verified;
    let body_sha256 = hex(&checked.body_sha256);
    let routed = Event::from_json(&body).and_then(|event| match event.batch_id() {
        Some(id) => Ok((id.to_owned(), event)),
        None => Err(EventError::MissingBatchId),
    });
    let (batch_id, event) = match routed {
        Ok(routed) => routed,
        Err(EventError::Parse(err)) => return Err(ApiError::InvalidPayload(err.to_string())),
        Err(err) => {
            let id = verified
                .id
                .clone()
                .unwrap_or_else(|| format!("sha256:{body_sha256}"));
            let kept: Vec<(String, String)> = request_headers
                .entries()
                .filter(|(name, _)| !matches!(name.as_str(), "authorization" | "cookie"))
                .collect();
            stubs::dead_letter(env, source, &id, err.code(), &err.to_string(), &kept, &body)
                .await?;
            return Ok(Response::from_json(&serde_json::json!({
                "outcome": "dead_lettered",
                "reason": err.code(),
                "webhook_id": id,
            }))?
            .with_status(202)
            .into());
        }
    };
    let delivery = ledger_object::DeliveryHeaders {
        webhook_id: verified
            .id
            .or_else(|| event.id.clone())
            .unwrap_or_else(|| format!("sha256:{body_sha256}")),
        source: source.to_owned(),
        received_at,
        signed_at: verified.timestamp,
        body_sha256,
    };
    let (status, answer) = stubs::deliver_buffer(env, &batch_id, &delivery, &raw, fault).await?;
    label(json_answer(status, &answer)?)
}

/// The request's headers as the core's [`Headers`], read from the runtime one name at a time
/// as the verifier asks for them (two or three per scheme) instead of copying every header
/// into wasm up front. Each answer is kept, so a name is read once.
struct LazyHeaders<'a> {
    js: &'a worker::Headers,
    first: Looked,
}

/// One looked-up header (lowercased name, value) and the next one: a list that grows through
/// `&self`, so that [`Headers::header`] can hand out references into it.
#[derive(Default)]
struct Looked {
    entry: OnceCell<(String, Option<String>)>,
    next: OnceCell<Box<Looked>>,
}

impl<'a> LazyHeaders<'a> {
    fn new(js: &'a worker::Headers) -> Self {
        LazyHeaders {
            js,
            first: Looked::default(),
        }
    }
}

impl Headers for LazyHeaders<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        let mut looked = &self.first;
        loop {
            match looked.entry.get() {
                Some((seen, value)) if seen.eq_ignore_ascii_case(name) => return value.as_deref(),
                Some(_) => looked = looked.next.get_or_init(Box::default),
                None => {
                    // A name the runtime refuses (not a valid header name) is absent.
                    let value = self.js.get(name).ok().flatten();
                    let (_, value) = looked
                        .entry
                        .get_or_init(|| (name.to_ascii_lowercase(), value));
                    return value.as_deref();
                }
            }
        }
    }
}

/// The fault a test asks the ledger to inject (only with test routes enabled).
fn test_fault(headers: &worker::Headers, test_routes: bool) -> Option<String> {
    if !test_routes {
        return None;
    }
    headers.get("x-batchhook-test-fault").ok().flatten()
}

impl ApiError {
    /// 400 for a request that is not signed in the expected shape, 401 for one that is but does
    /// not verify, 500 for our own unusable configuration.
    pub fn from_signature(err: &SignatureError) -> ApiError {
        if !err.is_request_error() {
            return ApiError::Misconfigured(err.message());
        }
        match err {
            SignatureError::MissingHeader { .. } | SignatureError::MalformedHeader { .. } => {
                ApiError::BadSignatureHeaders {
                    code: err.code(),
                    message: err.message(),
                }
            }
            _ => ApiError::Unauthorized {
                code: err.code(),
                message: err.message(),
            },
        }
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}
