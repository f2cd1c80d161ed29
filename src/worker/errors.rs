//! The one place where adapter errors become HTTP statuses and `{"error":{code,message}}`.

use worker::Response;

/// Everything the worker can answer with instead of success.
#[derive(Debug)]
pub enum ApiError {
    /// No route matches the path.
    NotFound,
    /// The path exists but not for this method.
    MethodNotAllowed,
    /// Storage or the runtime failed; the sender should retry.
    Unavailable(String),
}

impl ApiError {
    fn parts(&self) -> (u16, &'static str, String) {
        match self {
            ApiError::NotFound => (404, "not_found", "No route matches this path.".into()),
            ApiError::MethodNotAllowed => (
                405,
                "method_not_allowed",
                "This path does not accept this HTTP method.".into(),
            ),
            ApiError::Unavailable(why) => (
                503,
                "storage_unavailable",
                format!("Storage is unavailable, retry later: {why}"),
            ),
        }
    }

    /// Renders the error as its JSON response.
    pub fn into_response(self) -> worker::Result<Response> {
        let (status, code, message) = self.parts();
        Ok(
            Response::from_json(&serde_json::json!({"error": {"code": code, "message": message}}))?
                .with_status(status),
        )
    }
}

impl From<worker::Error> for ApiError {
    fn from(err: worker::Error) -> Self {
        ApiError::Unavailable(err.to_string())
    }
}
