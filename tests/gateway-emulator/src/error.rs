//! The one error type of the emulator's HTTP boundary, rendered as the gateway's envelope
//! `{"error":{"code","message"}}` (plus row details for rejected JSONL files).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// Everything a request to the emulator can fail with.
#[derive(Debug)]
pub enum ApiError {
    /// Missing or wrong bearer key.
    Unauthorized,
    /// The request is malformed; the message says which part.
    InvalidRequest(String),
    /// An uploaded JSONL file has bad rows; `rows` lists each with its problem.
    InvalidFile { message: String, rows: Value },
    /// A list query was rejected by the core's parser (`code` is its stable code).
    BadQuery { code: &'static str, message: String },
    /// No such file or batch.
    NotFound(String),
    /// The batch is in a state that does not allow the operation (e.g. cancel when terminal).
    Conflict(String),
    /// Injected fault: rate limited, retry after the given seconds.
    RateLimited { retry_after_s: u64 },
    /// Injected fault: the gateway is unavailable.
    Unavailable,
    /// Unknown route.
    NoRoute,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, extra) = match self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Missing or invalid API key: send `Authorization: Bearer <key>`.".to_string(),
                None,
            ),
            ApiError::InvalidRequest(m) => (StatusCode::BAD_REQUEST, "invalid_request", m, None),
            ApiError::InvalidFile { message, rows } => {
                (StatusCode::BAD_REQUEST, "invalid_file", message, Some(rows))
            }
            ApiError::BadQuery { code, message } => (StatusCode::BAD_REQUEST, code, message, None),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m, None),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "invalid_state", m, None),
            ApiError::RateLimited { retry_after_s } => {
                let mut r = envelope(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("Too many requests (emulated fault); retry after {retry_after_s} s."),
                    None,
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
                return r;
            }
            ApiError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "The gateway is temporarily unavailable (emulated fault); retry later.".to_string(),
                None,
            ),
            ApiError::NoRoute => (
                StatusCode::NOT_FOUND,
                "not_found",
                "No such route.".to_string(),
                None,
            ),
        };
        envelope(status, code, message, extra)
    }
}

fn envelope(status: StatusCode, code: &str, message: String, rows: Option<Value>) -> Response {
    let mut error = json!({ "code": code, "message": message });
    if let Some(rows) = rows {
        error["validation_errors"] = rows;
    }
    (status, Json(json!({ "error": error }))).into_response()
}
