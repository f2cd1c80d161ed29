//! Output and error files: parsed row by row, joined to the input by `custom_id`, with usage
//! and cost totals.
//!
//! Row shapes (OpenAI's, which the gateway passes through):
//! `{"id","custom_id","response":{"status_code","request_id","body":{…,"usage":{…}}},"error":null}`
//! for results and `{"id","custom_id","response":null,"error":{"code","message"}}` for errors.

use super::lines::{is_blank, LineSplitter};
use super::validate::RowError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// A model's price in US dollars per million tokens, used when rows carry no cost of their own.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// Dollars per million prompt (input) tokens.
    pub prompt_usd_per_million: f64,
    /// Dollars per million completion (output) tokens.
    pub completion_usd_per_million: f64,
}

impl Price {
    /// Cost in nano-dollars (1e-9 USD) of `usage` at this price.
    pub fn cost_nanos(&self, usage: &Usage) -> u64 {
        // 1 USD per million tokens is 1,000 nano-dollars per token.
        let nanos = usage.prompt_tokens as f64 * self.prompt_usd_per_million * 1000.0
            + usage.completion_tokens as f64 * self.completion_usd_per_million * 1000.0;
        nanos.round().max(0.0) as u64
    }
}

/// Token counts of one response, or totals over many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt (input) tokens.
    pub prompt_tokens: u64,
    /// Completion (output) tokens.
    pub completion_tokens: u64,
    /// Total tokens as reported (or prompt + completion when not reported).
    pub total_tokens: u64,
}

impl Usage {
    /// Adds `other`'s counts to these totals.
    pub fn add(&mut self, other: &Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.total_tokens += other.total_tokens;
    }

    /// Reads `usage` from a response body; accepts the chat (`prompt_tokens`) and responses API
    /// (`input_tokens`) spellings.
    fn from_body(body: &Value) -> Option<Usage> {
        let usage = body.get("usage")?.as_object()?;
        let int = |a: &str, b: &str| {
            usage
                .get(a)
                .or_else(|| usage.get(b))
                .and_then(Value::as_u64)
        };
        let prompt_tokens = int("prompt_tokens", "input_tokens").unwrap_or(0);
        let completion_tokens = int("completion_tokens", "output_tokens").unwrap_or(0);
        let total_tokens = usage
            .get("total_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(prompt_tokens + completion_tokens);
        Some(Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens,
        })
    }
}

/// What happened to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The response has a 2xx status.
    Succeeded,
    /// The request failed: an error row, or a response with a non-2xx status.
    Failed {
        /// The error code, when one was given.
        code: Option<String>,
        /// The error message.
        message: String,
    },
    /// The input row has no result in either file.
    Missing,
}

/// One request's result, joined to its input row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowResult {
    /// The request's `custom_id`.
    pub custom_id: String,
    /// The input row (1-based), when the input was given.
    pub input_row: Option<u64>,
    /// Success, failure or missing.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// HTTP status of the response, when there was one.
    pub status_code: Option<u16>,
    /// The provider's request id, for support tickets.
    pub request_id: Option<String>,
    /// The result row's own `id`.
    pub result_id: Option<String>,
    /// Token usage of the response.
    pub usage: Option<Usage>,
    /// Cost in nano-dollars, from the row's `usage.cost` or the given price.
    pub cost_nanos: Option<u64>,
}

impl RowResult {
    /// A request the input file lists and no result row answers.
    pub fn missing(custom_id: String, input_row: Option<u64>) -> RowResult {
        RowResult {
            custom_id,
            input_row,
            outcome: Outcome::Missing,
            status_code: None,
            request_id: None,
            result_id: None,
            usage: None,
            cost_nanos: None,
        }
    }
}

/// Totals over the output and error files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultSummary {
    /// Requests with a 2xx response.
    pub succeeded: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Input rows with no result.
    pub missing: u64,
    /// Results whose `custom_id` is not in the given input.
    pub unexpected: u64,
    /// Further results for a `custom_id` that already had one (the first is kept).
    pub duplicates: u64,
    /// Summed token usage.
    pub usage: Usage,
    /// Summed cost in nano-dollars over the rows that had a cost; `None` when none had.
    pub cost_nanos: Option<u64>,
    /// Results without a cost (no `usage.cost` and no price given).
    pub unpriced: u64,
    /// Result lines that could not be read, capped like validation errors.
    pub malformed: Vec<RowError>,
    /// Total unreadable result lines.
    pub malformed_count: u64,
    /// Every result, in input order (results not in the input last, by `custom_id`).
    pub rows: Vec<RowResult>,
}

impl ResultSummary {
    /// The summed cost in US dollars, when known.
    pub fn cost_usd(&self) -> Option<f64> {
        self.cost_nanos.map(|n| n as f64 / 1e9)
    }
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    id: Option<String>,
    custom_id: String,
    #[serde(default)]
    response: Option<ResponsePart>,
    #[serde(default)]
    error: Option<ErrorPart>,
}

#[derive(Deserialize)]
struct ResponsePart {
    status_code: u16,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    body: Value,
}

#[derive(Deserialize)]
struct ErrorPart {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

const MAX_LISTED: usize = 100;
const MAX_LINE: usize = 64 * 1024 * 1024;

/// Joins output and error files to the input, streaming: call [`expect`](Results::expect) for
/// each input row (e.g. from [`Validator::custom_ids`](super::Validator::custom_ids)), feed both
/// files in chunks (interleaving is fine), then [`finish`](Results::finish).
#[derive(Debug, Default)]
pub struct Results {
    price: Option<Price>,
    expected: HashMap<String, u64>,
    results: HashMap<String, RowResult>,
    output_lines: LineSplitter,
    error_lines: LineSplitter,
    duplicates: u64,
    malformed: Vec<RowError>,
    malformed_count: u64,
}

/// Which file a line came from, for messages.
#[derive(Clone, Copy)]
enum Source {
    Output,
    Errors,
}

impl Results {
    /// A join with an optional price for rows that carry no cost.
    pub fn new(price: Option<Price>) -> Self {
        Results {
            price,
            ..Results::default()
        }
    }

    /// Declares an input request, so a missing result is noticed.
    pub fn expect(&mut self, custom_id: &str, input_row: u64) {
        self.expected.insert(custom_id.to_owned(), input_row);
    }

    /// Reads a chunk of the output file.
    pub fn feed_output(&mut self, chunk: &[u8]) {
        let mut lines = std::mem::take(&mut self.output_lines);
        lines.feed(chunk, MAX_LINE, |n, l, o| {
            self.line(Source::Output, n, l, o)
        });
        self.output_lines = lines;
    }

    /// Reads a chunk of the error file.
    pub fn feed_errors(&mut self, chunk: &[u8]) {
        let mut lines = std::mem::take(&mut self.error_lines);
        lines.feed(chunk, MAX_LINE, |n, l, o| {
            self.line(Source::Errors, n, l, o)
        });
        self.error_lines = lines;
    }

    /// Totals and the joined rows.
    pub fn finish(mut self) -> ResultSummary {
        let mut lines = std::mem::take(&mut self.output_lines);
        lines.finish(|n, l, o| self.line(Source::Output, n, l, o));
        let mut lines = std::mem::take(&mut self.error_lines);
        lines.finish(|n, l, o| self.line(Source::Errors, n, l, o));

        let mut summary = ResultSummary {
            succeeded: 0,
            failed: 0,
            missing: 0,
            unexpected: 0,
            duplicates: self.duplicates,
            usage: Usage::default(),
            cost_nanos: None,
            unpriced: 0,
            malformed: self.malformed,
            malformed_count: self.malformed_count,
            rows: Vec::with_capacity(self.results.len().max(self.expected.len())),
        };
        let had_input = !self.expected.is_empty();
        for (custom_id, row) in self.expected {
            if !self.results.contains_key(&custom_id) {
                summary.missing += 1;
                summary.rows.push(RowResult::missing(custom_id, Some(row)));
            }
        }
        for result in self.results.into_values() {
            match result.outcome {
                Outcome::Succeeded => summary.succeeded += 1,
                _ => summary.failed += 1,
            }
            if had_input && result.input_row.is_none() {
                summary.unexpected += 1;
            }
            if let Some(u) = &result.usage {
                summary.usage.add(u);
            }
            match result.cost_nanos {
                Some(c) => *summary.cost_nanos.get_or_insert(0) += c,
                None if result.usage.is_some() => summary.unpriced += 1,
                None => {}
            }
            summary.rows.push(result);
        }
        summary.rows.sort_by(|a, b| {
            (a.input_row.is_none(), a.input_row, &a.custom_id).cmp(&(
                b.input_row.is_none(),
                b.input_row,
                &b.custom_id,
            ))
        });
        summary
    }

    fn line(&mut self, source: Source, n: u64, line: &[u8], overflow: bool) {
        if is_blank(line) {
            return;
        }
        let file = match source {
            Source::Output => "output",
            Source::Errors => "error",
        };
        if overflow {
            self.malformed(
                n,
                format!("{file} file line is longer than {MAX_LINE} bytes"),
            );
            return;
        }
        let parsed: Line = match serde_json::from_slice(line) {
            Ok(l) => l,
            Err(e) => {
                self.malformed(n, format!("{file} file line is not a result row: {e}"));
                return;
            }
        };
        if self.results.contains_key(&parsed.custom_id) {
            self.duplicates += 1;
            return;
        }
        let result = self.row_result(parsed);
        self.results.insert(result.custom_id.clone(), result);
    }

    fn row_result(&self, line: Line) -> RowResult {
        let (status_code, request_id, body) = match line.response {
            Some(r) => (Some(r.status_code), r.request_id, r.body),
            None => (None, None, Value::Null),
        };
        let outcome = match (&line.error, status_code) {
            (Some(e), _) => Outcome::Failed {
                code: e.code.clone(),
                message: e
                    .message
                    .clone()
                    .unwrap_or_else(|| "the request failed".to_owned()),
            },
            (None, Some(s)) if (200..300).contains(&s) => Outcome::Succeeded,
            (None, s) => {
                let error = body.get("error");
                let text = |k: &str| {
                    error
                        .and_then(|e| e.get(k))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                Outcome::Failed {
                    code: text("code").or_else(|| text("type")),
                    message: text("message").unwrap_or_else(|| match s {
                        Some(s) => format!("the request failed with HTTP status {s}"),
                        None => "the result row has neither a response nor an error".to_owned(),
                    }),
                }
            }
        };
        let usage = Usage::from_body(&body);
        let row_cost = body
            .get("usage")
            .and_then(|u| u.get("cost"))
            .and_then(Value::as_f64)
            .map(|usd| (usd * 1e9).round().max(0.0) as u64);
        let cost_nanos = row_cost.or_else(|| Some(self.price?.cost_nanos(usage.as_ref()?)));
        RowResult {
            input_row: self.expected.get(&line.custom_id).copied(),
            custom_id: line.custom_id,
            outcome,
            status_code,
            request_id,
            result_id: line.id,
            usage,
            cost_nanos,
        }
    }

    fn malformed(&mut self, row: u64, error: String) {
        self.malformed_count += 1;
        if self.malformed.len() < MAX_LISTED {
            self.malformed.push(RowError { row, error });
        }
    }
}
