//! `POST /webhooks/:source`: size limit, signature check, routing to the batch's ledger.
//!
//! Order matters: the size is checked before the body is read; the signature before the body is
//! parsed; the batch id before anything is stored. What the delivery then does to the batch is
//! decided inside the `BatchLedger`, in the same storage transaction that records it.

use crate::event::{Event, EventError};
use crate::signature::{SignatureError, Verifier};
use crate::worker::errors::ApiError;
use crate::worker::{config, ledger_object, stubs};
use sha2::{Digest, Sha256};
use worker::{Env, Request, Response};

/// Receives one webhook delivery for `source`.
pub async fn receive(mut req: Request, env: &Env, source: &str) -> Result<Response, ApiError> {
    let max = config::max_body_bytes(env);
    if let Some(len) = req.headers().get("content-length")? {
        if len.trim().parse::<usize>().is_ok_and(|n| n > max) {
            return Err(ApiError::PayloadTooLarge { max });
        }
    }
    let body = req.bytes().await?;
    if body.len() > max {
        return Err(ApiError::PayloadTooLarge { max });
    }
    let received_at = js_sys::Date::now() as i64;
    let scheme = config::scheme_for(env, source).map_err(ApiError::Misconfigured)?;
    let secrets = config::text(env, "WEBHOOK_SECRETS").ok_or_else(|| {
        ApiError::Misconfigured(
            "WEBHOOK_SECRETS is not set: add it with `wrangler secret put`".into(),
        )
    })?;
    let verifier = Verifier::parse(scheme, &secrets).map_err(|e| {
        ApiError::Misconfigured(format!("WEBHOOK_SECRETS is unusable: {}", e.message()))
    })?;
    let headers: Vec<(String, String)> = req.headers().entries().collect();
    let fault = test_fault(&req, env);
    let verified = match verifier.verify(&headers, &body, received_at.div_euclid(1000)) {
        Ok(verified) => verified,
        Err(err) => {
            worker::console_warn!(
                "batchhook: rejected unverifiable delivery on /webhooks/{source}: {}",
                err.code()
            );
            stubs::count_rejection(env, source, err.code()).await;
            return Err(ApiError::from_signature(&err));
        }
    };
    let body_sha256 = hex(&Sha256::digest(&body));
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
            let kept: Vec<(String, String)> = headers
                .iter()
                .filter(|(name, _)| !matches!(name.as_str(), "authorization" | "cookie"))
                .cloned()
                .collect();
            stubs::dead_letter(env, source, &id, err.code(), &err.to_string(), &kept, &body)
                .await?;
            return Ok(Response::from_json(&serde_json::json!({
                "outcome": "dead_lettered",
                "reason": err.code(),
                "webhook_id": id,
            }))?
            .with_status(202));
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
    stubs::deliver(env, &batch_id, &delivery, body, fault).await
}

/// The fault a test asks the ledger to inject (only with test routes enabled).
fn test_fault(req: &Request, env: &Env) -> Option<String> {
    if !config::test_routes_enabled(env) {
        return None;
    }
    req.headers().get("x-batchhook-test-fault").ok().flatten()
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
