//! Errors at the batch module's boundaries.

use serde_json::{Map, Value};

use super::tolerant::json_type_name;

/// Why a JSON document could not be read as a batch (or job, event) object.
///
/// Only two things are errors: bytes that are not JSON, and JSON that is not an object. Missing,
/// unknown or oddly typed fields never are (see the tolerant types).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The bytes are not valid JSON (or not UTF-8).
    InvalidJson {
        /// What was being parsed, e.g. `"batch"`.
        what: &'static str,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// The JSON parser's description.
        message: String,
    },
    /// The JSON is valid but is not an object.
    NotAnObject {
        /// What was being parsed, e.g. `"batch"`.
        what: &'static str,
        /// The type found instead, e.g. `"an array"`.
        found: &'static str,
    },
}

impl ParseError {
    /// Parses bytes as a JSON object.
    pub(crate) fn parse_object(
        bytes: &[u8],
        what: &'static str,
    ) -> Result<Map<String, Value>, ParseError> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(other) => Err(ParseError::not_an_object(what, &other)),
            Err(err) => Err(ParseError::InvalidJson {
                what,
                line: err.line(),
                column: err.column(),
                message: err.to_string(),
            }),
        }
    }

    /// The error for a JSON value that is not an object.
    pub(crate) fn not_an_object(what: &'static str, found: &Value) -> ParseError {
        ParseError::NotAnObject {
            what,
            found: json_type_name(found),
        }
    }
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ParseError::InvalidJson {
                what,
                line,
                column,
                message,
            } => write!(
                f,
                "the {what} is not valid JSON (line {line}, column {column}): {message}; send the raw response body as UTF-8 JSON"
            ),
            ParseError::NotAnObject { what, found } => write!(
                f,
                "the {what} must be a JSON object, but the body is {found}"
            ),
        }
    }
}

impl std::error::Error for ParseError {}
