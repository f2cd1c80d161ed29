//! The gateway's error responses, classified by who must act and whether a retry can help.

use super::http::{Response, TransportError};
use super::retry_after::RetryAfter;
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// What the gateway said about a failed request, from either envelope it uses —
/// `{"error":{"code","message"}}` or OpenAI's `{"error":{"message","type","param","code"}}` —
/// or from a body that is not JSON at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The machine-readable code (`code`, else OpenAI's `type`), when given.
    pub code: Option<String>,
    /// The human message, or a summary of a non-JSON body.
    pub message: String,
    /// OpenAI's `param`: the request field at fault.
    pub param: Option<String>,
    /// When to retry, from the `Retry-After` header.
    pub retry_after: Option<RetryAfter>,
    /// The gateway's request id, for support.
    pub request_id: Option<String>,
}

/// Everything that can go wrong talking to the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GatewayError {
    /// 401 or 403: the API key is missing, wrong, or lacks access.
    Unauthorized(ApiError),
    /// 404: no such batch or file in this workspace.
    NotFound(ApiError),
    /// 409: the request conflicts with the resource's state (e.g. cancelling a finished batch).
    Conflict(ApiError),
    /// 429: too many requests; retry after [`GatewayError::retry_after`].
    RateLimited(ApiError),
    /// Any other 4xx: the request itself is wrong and will fail again unchanged.
    Rejected(ApiError),
    /// 5xx: the gateway or its provider failed; retrying later may succeed.
    Unavailable(ApiError),
    /// No HTTP response at all.
    Network(String),
    /// A success status with a body that is not what the endpoint returns.
    InvalidResponse {
        /// The HTTP status.
        status: u16,
        /// What could not be read.
        detail: String,
    },
    /// The caller asked for something that cannot be sent (empty id, bad boundary, …).
    InvalidArgument(String),
}

impl GatewayError {
    /// Whether retrying the same request later may succeed: 408, 425, 429, 5xx, network.
    pub fn is_retryable(&self) -> bool {
        match self {
            GatewayError::RateLimited(_)
            | GatewayError::Unavailable(_)
            | GatewayError::Network(_) => true,
            GatewayError::Rejected(api) => matches!(api.status, 408 | 425),
            _ => false,
        }
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<RetryAfter> {
        self.api().and_then(|a| a.retry_after)
    }

    /// The `Retry-After` as a delay from `now` (Unix seconds).
    pub fn retry_delay(&self, now: i64) -> Option<Duration> {
        self.retry_after().map(|r| r.delay(now))
    }

    /// The HTTP status, when there was a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            GatewayError::InvalidResponse { status, .. } => Some(*status),
            other => other.api().map(|a| a.status),
        }
    }

    /// The gateway's details, for the variants that carry them.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            GatewayError::Unauthorized(a)
            | GatewayError::NotFound(a)
            | GatewayError::Conflict(a)
            | GatewayError::RateLimited(a)
            | GatewayError::Rejected(a)
            | GatewayError::Unavailable(a) => Some(a),
            _ => None,
        }
    }

    /// A stable snake_case code for our own `{"error":{"code","message"}}` responses and logs.
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::Unauthorized(_) => "gateway_unauthorized",
            GatewayError::NotFound(_) => "gateway_not_found",
            GatewayError::Conflict(_) => "gateway_conflict",
            GatewayError::RateLimited(_) => "gateway_rate_limited",
            GatewayError::Rejected(_) => "gateway_rejected",
            GatewayError::Unavailable(_) => "gateway_unavailable",
            GatewayError::Network(_) => "gateway_unreachable",
            GatewayError::InvalidResponse { .. } => "gateway_invalid_response",
            GatewayError::InvalidArgument(_) => "invalid_argument",
        }
    }

    /// Classifies a non-2xx response.
    pub fn from_response(response: &Response) -> GatewayError {
        let api = ApiError::from_response(response);
        match api.status {
            401 | 403 => GatewayError::Unauthorized(api),
            404 => GatewayError::NotFound(api),
            409 => GatewayError::Conflict(api),
            429 => GatewayError::RateLimited(api),
            500..=599 => GatewayError::Unavailable(api),
            _ => GatewayError::Rejected(api),
        }
    }
}

impl From<TransportError> for GatewayError {
    fn from(e: TransportError) -> Self {
        GatewayError::Network(e.message)
    }
}

impl ApiError {
    /// Reads the error envelope, the `Retry-After` header and the request id of a response.
    pub fn from_response(response: &Response) -> ApiError {
        let (code, message, param) =
            envelope(&response.body).unwrap_or_else(|| (None, summarize_body(response), None));
        ApiError {
            status: response.status,
            code,
            message,
            param,
            retry_after: response.header("retry-after").and_then(RetryAfter::parse),
            request_id: response.request_id().map(str::to_owned),
        }
    }
}

type Envelope = (Option<String>, String, Option<String>);

/// `{"error":{…}}`, `{"error":"text"}` or a top-level `{"message":…}`.
fn envelope(body: &[u8]) -> Option<Envelope> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let text = |v: Option<&Value>| match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match value.get("error") {
        Some(Value::Object(e)) => {
            let code = text(e.get("code")).or_else(|| text(e.get("type")));
            let message = text(e.get("message")).or_else(|| code.clone())?;
            Some((code, message, text(e.get("param"))))
        }
        Some(Value::String(s)) => Some((None, s.clone(), None)),
        _ => Some((text(value.get("code")), text(value.get("message"))?, None)),
    }
}

/// A short, printable excerpt of a non-JSON error body (an HTML error page, plain text).
fn summarize_body(response: &Response) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(&response.body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return format!("HTTP {} with an empty body", response.status);
    }
    let mut end = text.len().min(MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end < text.len() {
        format!("{}…", &text[..end])
    } else {
        text
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(param) = &self.param {
            write!(f, " (param {param})")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " [request {id}]")?;
        }
        Ok(())
    }
}

impl fmt::Display for GatewayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GatewayError::Unauthorized(a) => {
                write!(f, "the gateway refused the API key ({a}); check GATEWAY_API_KEY and its workspace")
            }
            GatewayError::NotFound(a) => {
                write!(
                    f,
                    "the gateway has no such batch or file in this workspace ({a}); check the id"
                )
            }
            GatewayError::Conflict(a) => {
                write!(f, "the gateway refused the request in the resource's current state ({a}); fetch it and retry if still wanted")
            }
            GatewayError::RateLimited(a) => match a.retry_after {
                Some(RetryAfter::Seconds(s)) => {
                    write!(f, "the gateway is rate limiting ({a}); retry in {s} s")
                }
                _ => write!(
                    f,
                    "the gateway is rate limiting ({a}); retry later with backoff"
                ),
            },
            GatewayError::Rejected(a) => write!(
                f,
                "the gateway rejected the request ({a}); fix the request before retrying"
            ),
            GatewayError::Unavailable(a) => write!(f, "the gateway failed ({a}); retry later"),
            GatewayError::Network(m) => write!(
                f,
                "could not reach the gateway: {m}; check GATEWAY_URL and the network"
            ),
            GatewayError::InvalidResponse { status, detail } => {
                write!(f, "the gateway answered HTTP {status} with a body batchhook cannot read: {detail}")
            }
            GatewayError::InvalidArgument(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for GatewayError {}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn classifies_rate_limits_as_retryable_with_retry_after() {
        let e = GatewayError::from_response(&response(
            429,
            &[("Retry-After", "3")],
            r#"{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#,
        ));
        assert!(e.is_retryable());
        assert_eq!(e.retry_delay(0), Some(Duration::from_secs(3)));
        assert_eq!(
            e.api().unwrap().code.as_deref(),
            Some("rate_limit_exceeded")
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn keeps_a_not_found_final_and_reads_a_plain_text_body() {
        let e = GatewayError::from_response(&response(
            404,
            &[],
            r#"{"error":{"code":"not_found","message":"Batch not found"}}"#,
        ));
        assert!(!e.is_retryable());
        assert_eq!(e.code(), "gateway_not_found");
        let e = GatewayError::from_response(&response(502, &[], "bad gateway\n"));
        assert_eq!(e.api().unwrap().message, "bad gateway");
        assert!(e.is_retryable());
    }
}
