//! The file object returned by `POST /v1/files` and `GET /v1/files/{id}`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An uploaded file. Every field but `id` may be missing; unknown fields are kept in `extra`
/// and written back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileObject {
    /// The file id, used as a batch's `input_file_id`.
    pub id: String,
    /// `"file"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Upload time (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// The uploaded file's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// `"batch"` for batch inputs, `"batch_output"` for results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Processing status, when the gateway reports one (`uploaded`, `processed`, `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
