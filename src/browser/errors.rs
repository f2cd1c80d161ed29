//! The one place client failures become JavaScript values: an `Error` carrying `code`,
//! `status`, `retryable`, `retryAfterMs` and (for local validation) `rows`. The npm wrapper turns
//! it into a `BatchhookError`.

use crate::gateway::GatewayError;
use crate::jsonl::Report;
use js_sys::{Error, Reflect};
use wasm_bindgen::JsValue;

/// Everything the browser client can fail with.
#[derive(Debug)]
pub(crate) enum ClientError {
    /// The API answered with an error, could not be reached, or was asked something unsendable.
    Api(Box<GatewayError>),
    /// The JSONL input has invalid rows (or is invalid as a whole); nothing was uploaded.
    InvalidJsonl(Box<Report>),
    /// Waiting passed its deadline; the message names the last status seen.
    Timeout(String),
}

impl From<GatewayError> for ClientError {
    fn from(e: GatewayError) -> Self {
        ClientError::Api(Box::new(e))
    }
}

fn set(target: &Error, key: &str, value: &JsValue) {
    // Setting a property on a fresh, extensible Error cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

impl From<ClientError> for JsValue {
    fn from(e: ClientError) -> JsValue {
        match e {
            ClientError::Api(e) => api_error(&e),
            ClientError::InvalidJsonl(report) => invalid_jsonl(&report),
            ClientError::Timeout(message) => {
                let error = Error::new(&message);
                set(&error, "code", &JsValue::from_str("timeout"));
                set(&error, "status", &JsValue::from(0u32));
                set(&error, "retryable", &JsValue::FALSE);
                error.into()
            }
        }
    }
}

/// The server's own code and message when it sent them; ours otherwise.
fn api_error(e: &GatewayError) -> JsValue {
    let (code, message) = match (e, e.api()) {
        (_, Some(api)) => (
            api.code
                .clone()
                .unwrap_or_else(|| status_code(api.status).to_owned()),
            api.message.clone(),
        ),
        (GatewayError::Network(m), None) => (
            "network_error".to_owned(),
            format!("Could not reach the API: {m}"),
        ),
        (GatewayError::InvalidResponse { .. }, None) => {
            ("invalid_response".to_owned(), e.to_string())
        }
        (_, None) => (e.code().to_owned(), e.to_string()),
    };
    let error = Error::new(&message);
    set(&error, "code", &JsValue::from_str(&code));
    set(
        &error,
        "status",
        &JsValue::from(e.status().unwrap_or(0) as u32),
    );
    set(&error, "retryable", &JsValue::from_bool(e.is_retryable()));
    let now_secs = (js_sys::Date::now() / 1000.0) as i64;
    if let Some(delay) = e.retry_delay(now_secs) {
        set(
            &error,
            "retryAfterMs",
            &JsValue::from_f64(delay.as_millis() as f64),
        );
    }
    error.into()
}

/// A code for an error response without one, from its HTTP status.
fn status_code(status: u16) -> &'static str {
    match status {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        409 => "conflict",
        413 => "payload_too_large",
        429 => "rate_limited",
        500..=599 => "server_error",
        _ => "http_error",
    }
}

fn invalid_jsonl(report: &Report) -> JsValue {
    let message = match (&report.file_error, report.errors.first()) {
        (Some(file), _) => format!("The file cannot be used as a batch input: {file}."),
        (None, Some(first)) => format!(
            "{} of {} rows are invalid (first: row {}: {}); nothing was uploaded.",
            report.invalid_rows, report.rows, first.row, first.error
        ),
        (None, None) => "The file is not a valid batch input; nothing was uploaded.".to_owned(),
    };
    let error = Error::new(&message);
    set(&error, "code", &JsValue::from_str("invalid_jsonl"));
    set(&error, "status", &JsValue::from(0u32));
    set(&error, "retryable", &JsValue::FALSE);
    set(
        &error,
        "rows",
        &crate::browser::client::to_js(&report.errors),
    );
    error.into()
}
