//! Row-by-row validation of a batch input file, fed in chunks.

use super::lines::{is_blank, LineSplitter};
use super::row::{self, Body, Row, Scalar};
use serde::{Deserialize, Serialize};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The gateway's limits on one input file, and how many row errors a report lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Most requests (non-blank rows) a file may hold. The gateway's limit is 50,000.
    pub max_rows: u64,
    /// Largest file size in bytes. The gateway's limit is 200 MB (200 × 1024 × 1024 bytes).
    pub max_bytes: u64,
    /// How many row errors the report lists; the total count is always exact.
    pub max_listed_errors: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rows: 50_000,
            max_bytes: 200 * 1024 * 1024,
            max_listed_errors: 100,
        }
    }
}

/// One problem found in one row. `row` is the 1-based line number, as an editor shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// 1-based line number of the row.
    pub row: u64,
    /// What is wrong and how to fix it.
    pub error: String,
}

/// The outcome of validating a whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Requests seen (non-blank rows), including invalid ones.
    pub rows: u64,
    /// Bytes seen.
    pub bytes: u64,
    /// Rows with at least one problem.
    pub invalid_rows: u64,
    /// Total problems found; may exceed `errors.len()`.
    pub error_count: u64,
    /// The first problems, in file order, at most [`Limits::max_listed_errors`].
    pub errors: Vec<RowError>,
    /// A problem with the file as a whole (empty, too many rows, too large). Once a limit is
    /// crossed the rows after it are counted but no longer checked.
    pub file_error: Option<String>,
}

impl Report {
    /// True when the gateway should accept the file.
    pub fn is_valid(&self) -> bool {
        self.error_count == 0 && self.file_error.is_none()
    }
}

/// Validates a batch input incrementally: [`feed`](Validator::feed) chunks of any size in file
/// order, then [`finish`](Validator::finish). Memory holds one unfinished row and the set of
/// `custom_id`s, never the file.
///
/// Rules: each non-blank row must be a JSON object with a non-empty string `custom_id` unique in
/// the file, `"method": "POST"`, `url` equal to the batch endpoint, and a `body` object with a
/// non-empty string `model`. Rows end with `\n` or `\r\n`; a final newline is optional; a UTF-8
/// byte-order mark at the very start is ignored. **Blank lines are skipped**, not errors: they
/// hold no request, and row numbers stay line numbers so every message points at the line an
/// editor shows.
#[derive(Debug)]
pub struct Validator {
    endpoint: String,
    limits: Limits,
    lines: LineSplitter,
    seen_ids: HashMap<Box<str>, u64, BuildHasherDefault<IdHasher>>,
    report: Report,
    stopped: bool,
}

impl Validator {
    /// A validator for a batch whose `endpoint` is e.g. `/v1/chat/completions`, with the
    /// gateway's default limits.
    pub fn new(endpoint: &str) -> Self {
        Self::with_limits(endpoint, Limits::default())
    }

    /// A validator with explicit limits.
    pub fn with_limits(endpoint: &str, limits: Limits) -> Self {
        Validator {
            endpoint: endpoint.to_owned(),
            limits,
            lines: LineSplitter::default(),
            seen_ids: HashMap::default(),
            report: Report {
                rows: 0,
                bytes: 0,
                invalid_rows: 0,
                error_count: 0,
                errors: Vec::new(),
                file_error: None,
            },
            stopped: false,
        }
    }

    /// Validates every row that `chunk` completes. Chunks may split rows (and characters)
    /// anywhere.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.report.bytes += chunk.len() as u64;
        if !self.stopped && self.report.bytes > self.limits.max_bytes {
            self.stop(format!(
                "the file is larger than {} bytes; split it into several batches",
                self.limits.max_bytes
            ));
        }
        let max_carry = usize::try_from(self.limits.max_bytes).unwrap_or(usize::MAX);
        let mut lines = std::mem::take(&mut self.lines);
        lines.feed(chunk, max_carry, |n, line, overflow| {
            self.row(n, line, overflow)
        });
        self.lines = lines;
    }

    /// Validates the last row (if the file did not end with a newline) and returns the report.
    pub fn finish(mut self) -> Report {
        let mut lines = std::mem::take(&mut self.lines);
        lines.finish(|n, line, overflow| self.row(n, line, overflow));
        if self.report.rows == 0 && self.report.file_error.is_none() {
            self.report.file_error =
                Some("the file holds no requests; add one JSON request per line".to_owned());
        }
        self.report
    }

    /// The `custom_id`s seen so far with the row each was first seen on, for joining results.
    pub fn custom_ids(&self) -> impl Iterator<Item = (&str, u64)> {
        self.seen_ids.iter().map(|(id, row)| (&**id, *row))
    }

    fn stop(&mut self, message: String) {
        self.stopped = true;
        self.report.file_error = Some(message);
    }

    fn row(&mut self, n: u64, mut line: &[u8], overflow: bool) {
        if n == 1 {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if is_blank(line) {
            return;
        }
        self.report.rows += 1;
        if self.stopped {
            return;
        }
        if self.report.rows > self.limits.max_rows {
            self.stop(format!(
                "the file holds more than {} requests (row {n} is one too many); split it into \
                 several batches",
                self.limits.max_rows
            ));
            return;
        }
        if overflow {
            return;
        }
        let before = self.report.error_count;
        match row::parse(line) {
            Err(message) => self.error(n, message),
            Ok(Row::Other(kind)) => self.error(
                n,
                format!(
                    "row must be a JSON object with custom_id, method, url and body, found {kind}"
                ),
            ),
            Ok(Row::Object(req)) => {
                self.check_custom_id(n, req.custom_id);
                self.check_method(n, req.method);
                self.check_url(n, req.url);
                self.check_body(n, req.body);
            }
        }
        if self.report.error_count > before {
            self.report.invalid_rows += 1;
        }
    }

    fn error(&mut self, row: u64, error: String) {
        self.report.error_count += 1;
        if self.report.errors.len() < self.limits.max_listed_errors {
            self.report.errors.push(RowError { row, error });
        }
    }

    fn check_custom_id(&mut self, n: u64, id: Option<Scalar<'_>>) {
        match id {
            None => self.error(
                n,
                "custom_id is missing; give every request a unique custom_id string".into(),
            ),
            Some(Scalar::Other(kind)) => {
                self.error(n, format!("custom_id must be a string, found {kind}"))
            }
            Some(Scalar::Str(id)) if id.is_empty() => self.error(
                n,
                "custom_id is empty; give every request a unique custom_id string".into(),
            ),
            Some(Scalar::Str(id)) => {
                // Ids are almost always new: allocate once and hash once.
                match self.seen_ids.entry(id.into()) {
                    Entry::Vacant(slot) => {
                        slot.insert(n);
                    }
                    Entry::Occupied(slot) => {
                        let message = format!(
                            "custom_id {} is already used by row {}; custom_ids must be unique",
                            quote(slot.key()),
                            slot.get()
                        );
                        self.error(n, message);
                    }
                }
            }
        }
    }

    fn check_method(&mut self, n: u64, method: Option<Scalar<'_>>) {
        match method {
            None => self.error(n, "method is missing; set \"method\": \"POST\"".into()),
            Some(Scalar::Str(m)) if m == "POST" => {}
            Some(Scalar::Str(m)) => {
                self.error(n, format!("method must be \"POST\", found {}", quote(&m)))
            }
            Some(Scalar::Other(kind)) => self.error(
                n,
                format!("method must be the string \"POST\", found {kind}"),
            ),
        }
    }

    fn check_url(&mut self, n: u64, url: Option<Scalar<'_>>) {
        match url {
            None => self.error(
                n,
                format!("url is missing; set \"url\": {}", quote(&self.endpoint)),
            ),
            Some(Scalar::Str(u)) if u == self.endpoint => {}
            Some(Scalar::Str(u)) => {
                let message = format!(
                    "url {} does not match the batch endpoint {}; every row must use the batch's endpoint",
                    quote(&u),
                    quote(&self.endpoint)
                );
                self.error(n, message)
            }
            Some(Scalar::Other(kind)) => {
                self.error(n, format!("url must be a string, found {kind}"))
            }
        }
    }

    fn check_body(&mut self, n: u64, body: Option<Body<'_>>) {
        match body {
            None => self.error(
                n,
                "body is missing; put the request parameters in a \"body\" object".into(),
            ),
            Some(Body::Other(kind)) => {
                self.error(n, format!("body must be a JSON object, found {kind}"))
            }
            Some(Body::Object { model: None }) => self.error(
                n,
                "body.model is missing; name the model to run, e.g. \"gpt-4o-mini\"".into(),
            ),
            Some(Body::Object {
                model: Some(Scalar::Other(kind)),
            }) => self.error(n, format!("body.model must be a string, found {kind}")),
            Some(Body::Object {
                model: Some(Scalar::Str(m)),
            }) if m.is_empty() => {
                self.error(n, "body.model is empty; name the model to run".into())
            }
            Some(Body::Object { .. }) => {}
        }
    }
}

/// A multiply-xorshift hash over 8-byte words: ids come from the user's own file, so flooding
/// resistance buys nothing, and SipHash showed up in profiles.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut h = self.0 ^ bytes.len() as u64;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            h = (h ^ u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).wrapping_mul(K);
            h ^= h >> 32;
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut tail = [0u8; 8];
            tail[..rest.len()].copy_from_slice(rest);
            h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(K);
            h ^= h >> 32;
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Validates a whole file held in memory.
pub fn validate(bytes: &[u8], endpoint: &str) -> Report {
    let mut v = Validator::new(endpoint);
    v.feed(bytes);
    v.finish()
}

/// Quotes a user value for a message, shortened on a character boundary so a huge id cannot
/// flood the report.
fn quote(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return format!("{s:?}");
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    const EP: &str = "/v1/chat/completions";

    fn good(id: &str) -> String {
        format!(
            r#"{{"custom_id":"{id}","method":"POST","url":"{EP}","body":{{"model":"m","messages":[{{"role":"user","content":"hi"}}]}}}}"#
        )
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn accepts_a_valid_file_with_crlf_and_trailing_newline() {
        let text = format!("{}\r\n{}\r\n", good("a"), good("b"));
        let r = validate(text.as_bytes(), EP);
        assert!(r.is_valid(), "{r:?}");
        assert_eq!(r.rows, 2);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn skips_blank_lines_but_keeps_line_numbers() {
        let text = format!("\n{}\n  \n{{}}\n", good("a"));
        let r = validate(text.as_bytes(), EP);
        assert_eq!(r.rows, 2);
        assert!(r.errors.iter().all(|e| e.row == 4), "{r:?}");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn reports_duplicate_custom_id_with_the_first_row() {
        let text = format!("{}\n{}\n", good("a"), good("a"));
        let r = validate(text.as_bytes(), EP);
        assert_eq!(r.error_count, 1);
        assert_eq!(r.errors[0].row, 2);
        assert!(r.errors[0].error.contains("row 1"), "{}", r.errors[0].error);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn reports_each_problem_of_a_row_separately() {
        let r = validate(
            br#"{"custom_id":7,"method":"GET","url":"/v1/embeddings","body":{}}"#,
            EP,
        );
        assert_eq!(r.error_count, 4, "{r:?}");
        assert_eq!(r.invalid_rows, 1);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn caps_the_listed_errors_but_counts_all() {
        let limits = Limits {
            max_listed_errors: 2,
            ..Limits::default()
        };
        let mut v = Validator::with_limits(EP, limits);
        v.feed(b"1\n2\n3\n");
        let r = v.finish();
        assert_eq!((r.errors.len(), r.error_count), (2, 3));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn stops_checking_after_the_row_limit() {
        let limits = Limits {
            max_rows: 1,
            ..Limits::default()
        };
        let mut v = Validator::with_limits(EP, limits);
        v.feed(format!("{}\n{}\n[]\n", good("a"), good("b")).as_bytes());
        let r = v.finish();
        assert_eq!(r.rows, 3);
        assert_eq!(r.error_count, 0);
        assert!(r.file_error.unwrap().contains("row 2"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_a_file_over_the_byte_limit_without_buffering_it() {
        let limits = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        let mut v = Validator::with_limits(EP, limits);
        v.feed(&[b'x'; 64]);
        let r = v.finish();
        assert!(r.file_error.unwrap().contains("larger than 10 bytes"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_an_empty_file() {
        assert!(validate(b"\n\n", EP)
            .file_error
            .unwrap()
            .contains("no requests"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn ignores_a_byte_order_mark_at_the_start() {
        let text = format!("\u{feff}{}", good("a"));
        assert!(validate(text.as_bytes(), EP).is_valid());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn shortens_huge_values_in_messages_on_a_character_boundary() {
        let q = quote(&"é".repeat(100));
        assert!(q.ends_with('…') && q.len() < 80);
    }
}
