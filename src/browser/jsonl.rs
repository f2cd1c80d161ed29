//! JSONL validation on bytes for JavaScript: the whole file at once (`validateJsonlBytes`) or
//! streamed chunk by chunk (`JsonlValidator`), e.g. from `File.stream()` or a `fetch` body, so a
//! 200 MB input never has to be one string. The text form `validateJsonl` lives in `client`.

use super::client::to_js;
use crate::jsonl::{Report, Validator};
use serde_json::Value;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

/// The report as a plain object, with `valid` added (same shape as `validateJsonl`).
fn report_to_js(report: &Report) -> JsValue {
    let mut value = serde_json::to_value(report).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("valid".to_owned(), Value::Bool(report.is_valid()));
    }
    to_js(&value)
}

/// Validates a whole JSONL input given as bytes (a `Uint8Array`) for `endpoint`.
#[wasm_bindgen(js_name = validateJsonlBytes)]
pub fn validate_jsonl_bytes(bytes: &[u8], endpoint: &str) -> JsValue {
    report_to_js(&crate::jsonl::validate(bytes, endpoint))
}

/// A streaming validator: `feed` chunks in order (any split, even inside a character), then
/// `finish` once for the report.
#[wasm_bindgen]
pub struct JsonlValidator {
    inner: Option<Validator>,
}

#[wasm_bindgen]
impl JsonlValidator {
    /// A validator for rows targeting `endpoint`, e.g. `/v1/chat/completions`.
    #[wasm_bindgen(constructor)]
    pub fn new(endpoint: &str) -> JsonlValidator {
        JsonlValidator {
            inner: Some(Validator::new(endpoint)),
        }
    }

    /// Validates the rows `chunk` completes; ignored after `finish`.
    pub fn feed(&mut self, chunk: &[u8]) {
        if let Some(v) = &mut self.inner {
            v.feed(chunk);
        }
    }

    /// The report; a second call returns `null`.
    pub fn finish(&mut self) -> JsValue {
        match self.inner.take() {
            Some(v) => report_to_js(&v.finish()),
            None => JsValue::NULL,
        }
    }
}
