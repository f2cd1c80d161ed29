//! Resumable, bounded-chunk ingestion of a finished batch's output and error files, then of
//! its input file to find the requests that have no result.
//!
//! A [`Cursor`] says which file and byte offset to read next, carries the unfinished tail of
//! the last line, and keeps running totals. The adapter loop is:
//!
//! 1. [`Cursor::next_request`] → which bytes to fetch (`None` once both files are read);
//! 2. fetch them (an HTTP `Range` request), then [`Cursor::consume`] → the rows completed by
//!    this chunk, each parsed with [`crate::jsonl::Results`] and keyed by `(file, line)`;
//! 3. store the rows **and** the updated cursor in one storage transaction.
//!
//! Because the cursor and the rows are committed together, a restart re-reads exactly the
//! chunk whose commit was lost, and its lines get the same keys: no row is lost or repeated.
//! Pause and cancel act between chunks (see [`crate::control::Control::may_ingest`]).
//!
//! Memory is bounded by the chunk size plus [`MAX_LINE_BYTES`] for a line that is still open;
//! a longer line is counted as malformed and skipped, never buffered whole.
//!
//! # Joining by `custom_id`
//! The rows are joined to the input like [`Results`] does, but incrementally, because the rows
//! live in storage rather than in memory: the adapter stores each result row keyed by its
//! `custom_id` (the first one is kept, a later one for the same `custom_id` is a duplicate),
//! then reads the input file ([`FileKind::Input`], last) and marks each input row as matched
//! or missing. [`Join`] keeps the totals of those decisions.

use serde::{Deserialize, Serialize};

use crate::jsonl::{Outcome, Price, Results, RowError, RowResult, Usage};

/// Default bytes fetched per chunk.
pub const DEFAULT_CHUNK_BYTES: u64 = 256 * 1024;
/// Longest line carried across chunks; longer result lines are reported malformed.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// Which of a batch's result files a row came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// The output file (`output_file_id`): responses.
    Output,
    /// The error file (`error_file_id`): requests that failed.
    Errors,
    /// The input file (`input_file_id`), read last: its rows carry only their `custom_id`
    /// and line (outcome [`Outcome::Missing`] until the adapter finds their result).
    Input,
}

impl FileKind {
    /// The snake_case name used in storage keys and responses.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Output => "output",
            FileKind::Errors => "errors",
            FileKind::Input => "input",
        }
    }
}

/// Running totals over every row ingested so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Result rows stored (succeeded + failed).
    pub rows: u64,
    /// Rows whose request succeeded.
    pub succeeded: u64,
    /// Rows whose request failed.
    pub failed: u64,
    /// Lines that were not result rows.
    pub malformed: u64,
    /// Bytes read from every file (result files, then the input).
    pub bytes: u64,
    /// Summed token usage.
    pub usage: Usage,
    /// Summed cost in nano-dollars over rows that had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_nanos: Option<u64>,
}

/// One byte range to fetch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRequest {
    /// Which file.
    pub kind: FileKind,
    /// Its gateway file id.
    pub file_id: String,
    /// First byte wanted.
    pub offset: u64,
    /// Bytes wanted (the server may return fewer at the end of the file).
    pub len: u64,
}

impl ChunkRequest {
    /// The HTTP `Range` header value for this chunk.
    pub fn range_header(&self) -> String {
        format!(
            "bytes={}-{}",
            self.offset,
            self.offset + self.len.max(1) - 1
        )
    }
}

/// A row produced by ingestion, keyed by its file and 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestedRow {
    /// The file it came from.
    pub kind: FileKind,
    /// Its 1-based line number in that file.
    pub line: u64,
    /// The parsed result.
    pub result: RowResult,
}

/// What one chunk produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chunk {
    /// Rows completed by this chunk, in file order.
    pub rows: Vec<IngestedRow>,
    /// Lines of this chunk that are not result rows (row = line number).
    pub malformed: Vec<(FileKind, RowError)>,
    /// Whether this chunk finished a file.
    pub finished_file: bool,
}

/// A chunk handed to [`Cursor::consume`] does not continue where the cursor stands.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IngestError {
    /// The request is not the one [`Cursor::next_request`] would make now (a stale or
    /// duplicated chunk, e.g. after a restart raced another run).
    OutOfOrder {
        /// Where the cursor stands: file and offset.
        expected: (FileKind, u64),
        /// What the chunk claims.
        got: (FileKind, u64),
    },
    /// Ingestion already finished.
    Finished,
}

impl core::fmt::Display for IngestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            IngestError::OutOfOrder { expected, got } => write!(
                f,
                "chunk at {} byte {} does not continue the cursor at {} byte {}; fetch the cursor's next request",
                got.0.as_str(),
                got.1,
                expected.0.as_str(),
                expected.1
            ),
            IngestError::Finished => f.write_str("ingestion already finished"),
        }
    }
}

impl std::error::Error for IngestError {}

/// Where ingestion stands; serialise it with the rows of each chunk and load it after a
/// restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The files to read, in order.
    files: Vec<(FileKind, String)>,
    /// Index into `files` of the file being read; `files.len()` when done.
    file: usize,
    /// Bytes of the current file consumed so far (including the carried tail).
    offset: u64,
    /// Lines completed in the current file.
    line: u64,
    /// The unfinished last line (at most [`MAX_LINE_BYTES`]).
    #[serde(default)]
    carry: Vec<u8>,
    /// Set when the open line outgrew [`MAX_LINE_BYTES`]; its rest is skipped.
    #[serde(default)]
    overflow: bool,
    /// Totals so far.
    #[serde(default)]
    totals: Totals,
}

impl Cursor {
    /// A cursor at the start of the output file, then the error file (either may be absent).
    pub fn new(output_file_id: Option<&str>, error_file_id: Option<&str>) -> Cursor {
        Cursor::with_input(output_file_id, error_file_id, None)
    }

    /// Like [`Cursor::new`], then the input file, whose rows come out as
    /// [`FileKind::Input`] rows for the join. Without any result file there is nothing to join
    /// and the input is not read.
    pub fn with_input(
        output_file_id: Option<&str>,
        error_file_id: Option<&str>,
        input_file_id: Option<&str>,
    ) -> Cursor {
        let has_results = [output_file_id, error_file_id]
            .iter()
            .any(|id| id.is_some_and(|id| !id.is_empty()));
        let input_file_id = input_file_id.filter(|_| has_results);
        let files = [
            (FileKind::Output, output_file_id),
            (FileKind::Errors, error_file_id),
            (FileKind::Input, input_file_id),
        ]
        .into_iter()
        .filter_map(|(kind, id)| {
            id.filter(|id| !id.is_empty())
                .map(|id| (kind, id.to_owned()))
        })
        .collect();
        Cursor {
            files,
            file: 0,
            offset: 0,
            line: 0,
            carry: Vec::new(),
            overflow: false,
            totals: Totals::default(),
        }
    }

    /// Whether both files were read to the end.
    pub fn is_done(&self) -> bool {
        self.file >= self.files.len()
    }

    /// Whether this cursor reads the input file (for the join's missing rows).
    pub fn reads_input(&self) -> bool {
        self.files.iter().any(|(kind, _)| *kind == FileKind::Input)
    }

    /// The totals so far.
    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// The file being read and the byte offset within it, or `None` when done.
    pub fn position(&self) -> Option<(FileKind, u64)> {
        self.files
            .get(self.file)
            .map(|(kind, _)| (*kind, self.offset))
    }

    /// The next byte range to fetch, at most `chunk_bytes` long; `None` when done.
    pub fn next_request(&self, chunk_bytes: u64) -> Option<ChunkRequest> {
        let (kind, file_id) = self.files.get(self.file)?;
        Some(ChunkRequest {
            kind: *kind,
            file_id: file_id.clone(),
            offset: self.offset,
            len: chunk_bytes.max(1),
        })
    }

    /// Consumes the bytes fetched for `request` (starting at its offset). `eof` says the file
    /// ends with these bytes (see [`is_end_of_file`]). Returns the rows this chunk completed.
    pub fn consume(
        &mut self,
        request: &ChunkRequest,
        bytes: &[u8],
        eof: bool,
        price: Option<Price>,
    ) -> Result<Chunk, IngestError> {
        let (kind, _) = self.files.get(self.file).ok_or(IngestError::Finished)?;
        let kind = *kind;
        if request.kind != kind || request.offset != self.offset {
            return Err(IngestError::OutOfOrder {
                expected: (kind, self.offset),
                got: (request.kind, request.offset),
            });
        }
        let mut chunk = Chunk::default();
        self.offset += bytes.len() as u64;
        self.totals.bytes += bytes.len() as u64;
        let mut rest = bytes;
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            self.push_carry(&rest[..pos]);
            self.complete_line(kind, price, &mut chunk);
            rest = &rest[pos + 1..];
        }
        self.push_carry(rest);
        if eof {
            if !self.carry.is_empty() || self.overflow {
                self.complete_line(kind, price, &mut chunk);
            }
            self.file += 1;
            self.offset = 0;
            self.line = 0;
            chunk.finished_file = true;
        }
        Ok(chunk)
    }

    fn push_carry(&mut self, bytes: &[u8]) {
        let room = MAX_LINE_BYTES.saturating_sub(self.carry.len());
        if bytes.len() > room {
            self.overflow = true;
            self.carry.extend_from_slice(&bytes[..room]);
        } else {
            self.carry.extend_from_slice(bytes);
        }
    }

    fn complete_line(&mut self, kind: FileKind, price: Option<Price>, chunk: &mut Chunk) {
        self.line += 1;
        let line = std::mem::take(&mut self.carry);
        let overflow = std::mem::replace(&mut self.overflow, false);
        let number = self.line;
        if overflow {
            self.malformed(
                kind,
                number,
                format!(
                    "{} file line is longer than {MAX_LINE_BYTES} bytes and was skipped",
                    kind.as_str()
                ),
                chunk,
            );
            return;
        }
        match parse_line(kind, &line, price) {
            Parsed::Blank => {}
            Parsed::Malformed(error) => self.malformed(kind, number, error, chunk),
            Parsed::Row(result) => {
                if kind != FileKind::Input {
                    self.count(&result);
                }
                chunk.rows.push(IngestedRow {
                    kind,
                    line: number,
                    result: *result,
                });
            }
        }
        self.carry = line;
        self.carry.clear();
    }

    fn malformed(&mut self, kind: FileKind, row: u64, error: String, chunk: &mut Chunk) {
        self.totals.malformed += 1;
        chunk.malformed.push((kind, RowError { row, error }));
    }

    fn count(&mut self, result: &RowResult) {
        let totals = &mut self.totals;
        totals.rows += 1;
        match result.outcome {
            Outcome::Succeeded => totals.succeeded += 1,
            _ => totals.failed += 1,
        }
        if let Some(usage) = &result.usage {
            totals.usage.add(usage);
        }
        if let Some(cost) = result.cost_nanos {
            *totals.cost_nanos.get_or_insert(0) += cost;
        }
    }
}

enum Parsed {
    Blank,
    Malformed(String),
    Row(Box<RowResult>),
}

/// Parses one complete line with the jsonl module's result-row rules (an input line: only
/// its `custom_id`).
fn parse_line(kind: FileKind, line: &[u8], price: Option<Price>) -> Parsed {
    let mut results = Results::new(price);
    match kind {
        FileKind::Output => results.feed_output(line),
        FileKind::Errors => results.feed_errors(line),
        FileKind::Input => return parse_input_line(line),
    }
    let mut summary = results.finish();
    if let Some(error) = summary.malformed.pop() {
        return Parsed::Malformed(error.error);
    }
    match summary.rows.pop() {
        Some(row) => Parsed::Row(Box::new(row)),
        None => Parsed::Blank,
    }
}

fn parse_input_line(line: &[u8]) -> Parsed {
    #[derive(Deserialize)]
    struct InputRow {
        custom_id: String,
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        return Parsed::Blank;
    }
    match serde_json::from_slice::<InputRow>(line) {
        Ok(row) => Parsed::Row(Box::new(RowResult::missing(row.custom_id, None))),
        Err(e) => Parsed::Malformed(format!("input file line has no custom_id: {e}")),
    }
}

/// Totals of the join by `custom_id`, kept by an adapter that stores one row per `custom_id`
/// (see the module docs). Unlike [`Totals`], which counts every result line read, these count
/// each request once, like [`crate::jsonl::ResultSummary`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Join {
    /// Requests with a stored result (the first result of each `custom_id`).
    pub results: u64,
    /// Of those, succeeded.
    pub succeeded: u64,
    /// Of those, failed.
    pub failed: u64,
    /// Further results for a `custom_id` that already had one (not stored).
    pub duplicates: u64,
    /// Input rows read so far.
    pub input_rows: u64,
    /// Input rows whose `custom_id` had a result.
    pub matched: u64,
    /// Input rows with no result in either file (stored as `missing` rows).
    pub missing: u64,
    /// Token usage over stored results.
    pub usage: Usage,
    /// Cost in nano-dollars over stored results that had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_nanos: Option<u64>,
}

impl Join {
    /// Records a result row; `stored` says whether its `custom_id` was new.
    pub fn result(&mut self, row: &RowResult, stored: bool) {
        if !stored {
            self.duplicates += 1;
            return;
        }
        self.results += 1;
        match row.outcome {
            Outcome::Succeeded => self.succeeded += 1,
            _ => self.failed += 1,
        }
        if let Some(usage) = &row.usage {
            self.usage.add(usage);
        }
        if let Some(cost) = row.cost_nanos {
            *self.cost_nanos.get_or_insert(0) += cost;
        }
    }

    /// Records an input row; `had_result` says whether a result was stored for it.
    pub fn input(&mut self, had_result: bool) {
        self.input_rows += 1;
        if had_result {
            self.matched += 1;
        } else {
            self.missing += 1;
        }
    }

    /// Stored results whose `custom_id` is not in the input, once `input_read`; `None` while
    /// the input is not (fully) read.
    pub fn unexpected(&self, input_read: bool) -> Option<u64> {
        input_read.then(|| self.results.saturating_sub(self.matched))
    }
}

/// Whether a fetched chunk ends its file: fewer bytes than asked for, or the range reached the
/// total size a `Content-Range` header announced.
pub fn is_end_of_file(request: &ChunkRequest, received: u64, total: Option<u64>) -> bool {
    received < request.len || total.is_some_and(|total| request.offset + received >= total)
}

/// What a ranged fetch of `request` delivered: the chunk's bytes and the file's total size when
/// known. A 206 carries the range (total from `Content-Range`); a 200 means the server ignored
/// the range, so the chunk is this request's slice of the whole body; a 416 means the offset is
/// at or past the end. Any other status is `None`: fetch the chunk again later.
pub fn ranged_answer<'a>(
    request: &ChunkRequest,
    status: u16,
    body: &'a [u8],
    content_range: Option<&str>,
) -> Option<(&'a [u8], Option<u64>)> {
    match status {
        206 => Some((body, content_range.and_then(content_range_total))),
        200 => {
            let start = usize::try_from(request.offset)
                .unwrap_or(usize::MAX)
                .min(body.len());
            let end = start
                .saturating_add(usize::try_from(request.len).unwrap_or(usize::MAX))
                .min(body.len());
            Some((&body[start..end], Some(body.len() as u64)))
        }
        416 => Some((&[][..], Some(request.offset))),
        _ => None,
    }
}

/// Reads the total size from a `Content-Range` value (`bytes 0-99/1234`); `None` when absent
/// or unknown (`*`).
pub fn content_range_total(value: &str) -> Option<u64> {
    let (unit, rest) = value.trim().split_once(' ')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    rest.rsplit_once('/')?.1.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn ok_line(id: &str, tokens: u64) -> String {
        format!(
            r#"{{"id":"r_{id}","custom_id":"{id}","response":{{"status_code":200,"body":{{"usage":{{"prompt_tokens":{tokens},"completion_tokens":1,"total_tokens":{}}}}}}},"error":null}}"#,
            tokens + 1
        ) + "\n"
    }

    fn err_line(id: &str) -> String {
        format!(
            r#"{{"id":"e_{id}","custom_id":"{id}","response":null,"error":{{"code":"bad","message":"nope"}}}}"#
        ) + "\n"
    }

    fn drain(cursor: &mut Cursor, files: &[(&[u8], &[u8])], chunk: u64) -> Vec<IngestedRow> {
        let mut rows = Vec::new();
        while let Some(req) = cursor.next_request(chunk) {
            let file = match req.kind {
                FileKind::Output => files[0].0,
                FileKind::Errors => files[0].1,
                FileKind::Input => unreachable!("Cursor::new reads no input"),
            };
            let start = (req.offset as usize).min(file.len());
            let end = (start + req.len as usize).min(file.len());
            let bytes = &file[start..end];
            let eof = is_end_of_file(&req, bytes.len() as u64, Some(file.len() as u64));
            rows.extend(cursor.consume(&req, bytes, eof, None).unwrap().rows);
        }
        rows
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn reads_output_then_errors_in_small_chunks_with_totals() {
        let output = format!("{}{}", ok_line("a", 10), ok_line("b", 20));
        let errors = err_line("c");
        let mut cursor = Cursor::new(Some("file_out"), Some("file_err"));
        let rows = drain(&mut cursor, &[(output.as_bytes(), errors.as_bytes())], 7);
        let keys: Vec<(FileKind, u64, &str)> = rows
            .iter()
            .map(|r| (r.kind, r.line, r.result.custom_id.as_str()))
            .collect();
        assert_eq!(
            keys,
            vec![
                (FileKind::Output, 1, "a"),
                (FileKind::Output, 2, "b"),
                (FileKind::Errors, 1, "c")
            ]
        );
        assert!(cursor.is_done());
        let totals = cursor.totals();
        assert_eq!((totals.rows, totals.succeeded, totals.failed), (3, 2, 1));
        assert_eq!(totals.usage.prompt_tokens, 30);
        assert_eq!(totals.bytes, (output.len() + errors.len()) as u64);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn reads_a_last_line_without_newline_and_skips_blank_lines() {
        let output = format!(
            "\n{}\r\n  \n{}",
            ok_line("a", 1).trim_end(),
            ok_line("b", 1).trim_end()
        );
        let mut cursor = Cursor::new(Some("f"), None);
        let rows = drain(&mut cursor, &[(output.as_bytes(), b"")], 5);
        let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 4]);
        assert_eq!(cursor.totals().malformed, 0);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn counts_malformed_lines_with_their_line_numbers() {
        let output = format!("{}not json\n{}", ok_line("a", 1), ok_line("b", 1));
        let mut cursor = Cursor::new(Some("f"), None);
        let req = cursor.next_request(1 << 20).unwrap();
        let chunk = cursor.consume(&req, output.as_bytes(), true, None).unwrap();
        assert_eq!(chunk.rows.len(), 2);
        assert_eq!(chunk.malformed.len(), 1);
        assert_eq!(chunk.malformed[0].1.row, 2);
        assert_eq!(cursor.totals().malformed, 1);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn skips_an_overlong_line_without_buffering_it() {
        let mut cursor = Cursor::new(Some("f"), None);
        let huge = vec![b'x'; MAX_LINE_BYTES + 10];
        let req = cursor.next_request(huge.len() as u64).unwrap();
        let chunk = cursor.consume(&req, &huge, false, None).unwrap();
        assert!(chunk.rows.is_empty());
        assert!(cursor.carry.len() <= MAX_LINE_BYTES);
        let tail = format!("yy\n{}", ok_line("a", 1));
        let req = cursor.next_request(1 << 20).unwrap();
        let chunk = cursor.consume(&req, tail.as_bytes(), true, None).unwrap();
        assert_eq!(chunk.malformed.len(), 1);
        assert_eq!(chunk.malformed[0].1.row, 1);
        assert_eq!(chunk.rows.len(), 1);
        assert_eq!(chunk.rows[0].line, 2);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_a_chunk_that_does_not_continue_the_cursor() {
        let mut cursor = Cursor::new(Some("f"), None);
        let req = cursor.next_request(4).unwrap();
        cursor.consume(&req, b"abcd", false, None).unwrap();
        let err = cursor.consume(&req, b"abcd", false, None).unwrap_err();
        assert!(matches!(err, IngestError::OutOfOrder { .. }));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn finishes_at_once_when_there_are_no_files() {
        let cursor = Cursor::new(None, Some(""));
        assert!(cursor.is_done());
        assert_eq!(cursor.next_request(10), None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn reads_the_input_last_as_custom_ids_without_counting_them_as_results() {
        let output = ok_line("a", 1);
        let input = "{\"custom_id\":\"a\",\"body\":{}}\n\n{\"custom_id\":\"b\"}\n";
        let mut cursor = Cursor::with_input(Some("out"), None, Some("in"));
        let mut rows = Vec::new();
        while let Some(req) = cursor.next_request(8) {
            let file = match req.kind {
                FileKind::Output => output.as_bytes(),
                FileKind::Input => input.as_bytes(),
                FileKind::Errors => unreachable!("no error file"),
            };
            let start = (req.offset as usize).min(file.len());
            let end = (start + req.len as usize).min(file.len());
            let eof = is_end_of_file(&req, (end - start) as u64, Some(file.len() as u64));
            rows.extend(
                cursor
                    .consume(&req, &file[start..end], eof, None)
                    .unwrap()
                    .rows,
            );
        }
        let keys: Vec<(FileKind, u64, &str, bool)> = rows
            .iter()
            .map(|r| {
                let missing = r.result.outcome == Outcome::Missing;
                (r.kind, r.line, r.result.custom_id.as_str(), missing)
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                (FileKind::Output, 1, "a", false),
                (FileKind::Input, 1, "a", true),
                (FileKind::Input, 3, "b", true)
            ]
        );
        assert_eq!(cursor.totals().rows, 1, "input rows are not results");
        assert!(cursor.reads_input());
        assert!(!Cursor::new(Some("out"), None).reads_input());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn does_not_read_the_input_when_there_is_no_result_file() {
        assert!(Cursor::with_input(None, None, Some("in")).is_done());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn joins_by_custom_id_counting_duplicates_missing_and_unexpected() {
        let row = |outcome: Outcome, tokens: u64| RowResult {
            custom_id: "x".into(),
            input_row: None,
            outcome,
            status_code: None,
            request_id: None,
            result_id: None,
            usage: Some(Usage {
                prompt_tokens: tokens,
                completion_tokens: 0,
                total_tokens: tokens,
            }),
            cost_nanos: Some(5),
        };
        let mut join = Join::default();
        join.result(&row(Outcome::Succeeded, 10), true);
        join.result(&row(Outcome::Succeeded, 99), false);
        let failed = Outcome::Failed {
            code: None,
            message: "no".into(),
        };
        join.result(&row(failed, 1), true);
        join.result(&row(Outcome::Succeeded, 2), true);
        assert_eq!(join.unexpected(false), None);
        join.input(true);
        join.input(true);
        join.input(false);
        assert_eq!(
            (join.results, join.succeeded, join.failed, join.duplicates),
            (3, 2, 1, 1)
        );
        assert_eq!((join.matched, join.missing, join.input_rows), (2, 1, 3));
        assert_eq!(join.unexpected(true), Some(1));
        assert_eq!(
            join.usage.total_tokens, 13,
            "the duplicate's usage is not summed"
        );
        assert_eq!(join.cost_nanos, Some(15));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn takes_the_chunk_from_partial_whole_and_past_the_end_answers() {
        let request = ChunkRequest {
            kind: FileKind::Output,
            file_id: "file_out".into(),
            offset: 2,
            len: 3,
        };
        assert_eq!(
            ranged_answer(&request, 206, b"cde", Some("bytes 2-4/9")),
            Some((&b"cde"[..], Some(9)))
        );
        assert_eq!(
            ranged_answer(&request, 200, b"abcdefghi", None),
            Some((&b"cde"[..], Some(9)))
        );
        assert_eq!(
            ranged_answer(&request, 200, b"abcd", None),
            Some((&b"cd"[..], Some(4)))
        );
        assert_eq!(
            ranged_answer(&request, 416, b"", None),
            Some((&b""[..], Some(2)))
        );
        assert_eq!(ranged_answer(&request, 503, b"busy", None), None);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn reads_range_headers_and_end_of_file() {
        let req = ChunkRequest {
            kind: FileKind::Output,
            file_id: "f".into(),
            offset: 100,
            len: 50,
        };
        assert_eq!(req.range_header(), "bytes=100-149");
        assert_eq!(content_range_total("bytes 100-149/150"), Some(150));
        assert_eq!(content_range_total("bytes 100-149/*"), None);
        assert!(is_end_of_file(&req, 50, Some(150)));
        assert!(!is_end_of_file(&req, 50, Some(151)));
        assert!(is_end_of_file(&req, 49, None));
        assert!(!is_end_of_file(&req, 50, None));
    }
}
