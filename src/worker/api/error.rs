//! The operator API's errors: one enum, one mapping to status + `{"error":{code,message}}`.

use crate::access::AuthError;
use crate::batch::ListQueryError;
use crate::control::Conflict;
use crate::gateway::GatewayError;
use crate::worker::errors::json_response;
use worker::Response;

/// Everything a `/v1` route can answer instead of success.
#[derive(Debug)]
pub enum V1Error {
    /// No or a wrong token (401).
    Auth(AuthError),
    /// A browser origin not in `ALLOWED_ORIGINS` (403).
    Origin(String),
    /// The request is malformed (400) with a code.
    Invalid(&'static str, String),
    /// The JSONL upload has row errors (400); the value is the validation report.
    InvalidFile(serde_json::Value),
    /// No such batch, result, dead letter or route in this workspace (404).
    NotFound(&'static str, String),
    /// The method is not allowed on this path (405).
    Method,
    /// A control action conflicts with the batch's state (409).
    Conflict(Conflict),
    /// Another 409 (idempotency key in flight or reused).
    ConflictOther(&'static str, String),
    /// The gateway refused or failed; its status is passed on when it is a client error.
    Gateway(Box<GatewayError>),
    /// The worker is not configured for this (500).
    Misconfigured(String),
    /// Storage or a Durable Object failed (503).
    Unavailable(String),
}

impl V1Error {
    fn parts(&self) -> (u16, &'static str, String) {
        match self {
            V1Error::Auth(e) => (401, e.code(), e.to_string()),
            V1Error::Origin(origin) => (
                403,
                "origin_not_allowed",
                format!("the origin {origin} is not in ALLOWED_ORIGINS"),
            ),
            V1Error::Invalid(code, message) => (400, code, message.clone()),
            V1Error::InvalidFile(_) => (
                400,
                "invalid_file",
                "the JSONL file has invalid rows; see error.validation for each row".into(),
            ),
            V1Error::NotFound(code, message) => (404, code, message.clone()),
            V1Error::Method => (
                405,
                "method_not_allowed",
                "this path does not accept this HTTP method".into(),
            ),
            V1Error::Conflict(c) => (409, c.code(), c.to_string()),
            V1Error::ConflictOther(code, message) => (409, code, message.clone()),
            V1Error::Gateway(e) => {
                let status = match e.status() {
                    // Our own gateway key being refused is not the caller's fault.
                    Some(s) if (400..500).contains(&s) && s != 401 && s != 403 => s,
                    _ => 502,
                };
                (status, e.code(), format!("the gateway answered: {e}"))
            }
            V1Error::Misconfigured(why) => (500, "misconfigured", why.clone()),
            V1Error::Unavailable(why) => (
                503,
                "unavailable",
                format!("storage is unavailable, retry later: {why}"),
            ),
        }
    }

    /// Renders the error as its JSON response.
    pub fn into_response(self) -> worker::Result<Response> {
        let (status, code, message) = self.parts();
        let mut error = serde_json::json!({"code": code, "message": message});
        if let V1Error::InvalidFile(report) = self {
            error["validation"] = report;
        }
        json_response(status, serde_json::json!({ "error": error }).to_string())
    }
}

impl From<worker::Error> for V1Error {
    fn from(err: worker::Error) -> Self {
        V1Error::Unavailable(err.to_string())
    }
}

impl From<GatewayError> for V1Error {
    fn from(err: GatewayError) -> Self {
        V1Error::Gateway(Box::new(err))
    }
}

impl From<ListQueryError> for V1Error {
    fn from(err: ListQueryError) -> Self {
        V1Error::Invalid(err.code(), err.to_string())
    }
}

impl From<Conflict> for V1Error {
    fn from(err: Conflict) -> Self {
        V1Error::Conflict(err)
    }
}
