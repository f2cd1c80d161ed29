//! `POST /v1/files` (multipart, `purpose=batch`, JSONL validated by the core), `GET
//! /v1/files/{id}` and `GET /v1/files/{id}/content` (with single `Range: bytes=` support so a
//! reader can fetch a large output in bounded chunks).

use std::sync::Arc;

use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::model::InputRow;
use crate::state::{App, FileRecord};

/// The endpoint assumed when the first row names none.
const DEFAULT_ENDPOINT: &str = "/v1/chat/completions";

/// The public file object.
pub fn file_json(f: &FileRecord) -> Value {
    json!({
        "id": f.id,
        "object": "file",
        "bytes": f.bytes.len(),
        "created_at": f.created_at,
        "filename": f.filename,
        "purpose": f.purpose,
        "status": "processed",
        "status_details": null,
    })
}

/// `POST /v1/files`.
pub async fn upload(State(app): State<App>, mut form: Multipart) -> Result<Json<Value>, ApiError> {
    let mut purpose = None;
    let mut file = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::InvalidRequest(format!("malformed multipart body: {e}")))?
    {
        match field.name() {
            Some("purpose") => {
                purpose = Some(field.text().await.map_err(|e| {
                    ApiError::InvalidRequest(format!("unreadable `purpose` field: {e}"))
                })?)
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("input.jsonl").to_string();
                let bytes = field.bytes().await.map_err(|e| {
                    ApiError::InvalidRequest(format!("unreadable `file` field: {e}"))
                })?;
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    match purpose.as_deref() {
        Some("batch") => {}
        Some(other) => {
            return Err(ApiError::InvalidRequest(format!(
                "purpose must be `batch`, got `{other}`"
            )))
        }
        None => {
            return Err(ApiError::InvalidRequest(
                "the `purpose` field is missing; send `purpose=batch`".into(),
            ))
        }
    }
    let (filename, bytes) = file.ok_or_else(|| {
        ApiError::InvalidRequest("the `file` field is missing; attach the JSONL input".into())
    })?;
    let endpoint = first_row_url(&bytes).unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
    let report = tokio::task::block_in_place(|| batchhook::jsonl::validate(&bytes, &endpoint));
    if !report.is_valid() {
        let message = match &report.file_error {
            Some(e) => format!("The file was rejected: {e}."),
            None => format!(
                "{} of {} row(s) are invalid ({} problem(s)); fix the listed rows and upload again.",
                report.invalid_rows, report.rows, report.error_count
            ),
        };
        return Err(ApiError::InvalidFile {
            message,
            rows: serde_json::to_value(&report.errors).unwrap_or_default(),
        });
    }
    let rows: Vec<InputRow> = tokio::task::block_in_place(|| {
        bytes
            .split(|b| *b == b'\n')
            .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
            .filter_map(InputRow::from_line)
            .collect()
    });
    let mut st = app.lock();
    let id = format!("file-{}", st.rng.hex(12));
    let record = FileRecord {
        id: id.clone(),
        filename,
        purpose: "batch".into(),
        created_at: app.0.clock.now_s(),
        bytes,
        input: Some((endpoint, Arc::new(rows))),
    };
    let body = file_json(&record);
    st.files.insert(id, record);
    Ok(Json(body))
}

/// The `url` of the first non-blank row: the endpoint the whole file must target.
fn first_row_url(bytes: &[u8]) -> Option<String> {
    let line = bytes
        .split(|b| *b == b'\n')
        .find(|l| l.iter().any(|b| !b.is_ascii_whitespace()))?;
    let v: Value = serde_json::from_slice(line).ok()?;
    Some(v.get("url")?.as_str()?.to_string())
}

/// `GET /v1/files/{id}`.
pub async fn get(State(app): State<App>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let st = app.lock();
    let f = st
        .files
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("No file with id `{id}`.")))?;
    Ok(Json(file_json(f)))
}

/// `GET /v1/files/{id}/content`.
pub async fn content(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let bytes = {
        let st = app.lock();
        st.files
            .get(&id)
            .ok_or_else(|| ApiError::NotFound(format!("No file with id `{id}`.")))?
            .bytes
            .clone()
    };
    let len = bytes.len();
    let ctype = [(header::CONTENT_TYPE, "application/jsonl")];
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok((ctype, [(header::ACCEPT_RANGES, "bytes")], bytes).into_response());
    };
    match parse_range(range, len) {
        Some((start, end)) => Ok((
            StatusCode::PARTIAL_CONTENT,
            ctype,
            [(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"))],
            bytes.slice(start..=end),
        )
            .into_response()),
        None => Ok((
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{len}"))],
        )
            .into_response()),
    }
}

/// One `bytes=a-b`, `bytes=a-` or `bytes=-n` range, clamped to the content; `None` when it
/// cannot be satisfied.
fn parse_range(text: &str, len: usize) -> Option<(usize, usize)> {
    let spec = text.trim().strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    if len == 0 {
        return None;
    }
    let (start, end) = if a.is_empty() {
        let n: usize = b.parse().ok()?;
        (len.saturating_sub(n), len - 1)
    } else {
        let start: usize = a.parse().ok()?;
        let end = if b.is_empty() {
            len - 1
        } else {
            b.parse::<usize>().ok()?.min(len - 1)
        };
        (start, end)
    };
    (start <= end && start < len).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn reads_the_three_range_forms() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-5", 100), Some((95, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
    }

    #[test]
    fn refuses_ranges_past_the_end() {
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}
