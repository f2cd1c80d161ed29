//! The deterministic fake model: every input row gets an OpenAI-shaped chat completion (with
//! usage) decided by the row's bytes alone, or an error when the row carries [`FAIL_MARKER`].
//! Also builds the output and error files of a finished batch.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Any row whose raw text contains this marker fails into the error file.
pub const FAIL_MARKER: &str = "FAIL_ROW";

/// Emulated price per input token, in billionths of a US dollar.
pub const INPUT_NANOS_PER_TOKEN: u64 = 150;
/// Emulated price per output token, in billionths of a US dollar.
pub const OUTPUT_NANOS_PER_TOKEN: u64 = 600;

/// What the engine keeps of one input row (the raw line is not kept).
#[derive(Debug, Clone)]
pub struct InputRow {
    /// The row's `custom_id`.
    pub custom_id: String,
    /// The requested `body.model`.
    pub model: String,
    /// FNV-1a of the raw line: the seed of this row's answer.
    pub digest: u64,
    /// Whether the row carries the failure marker.
    pub fails: bool,
    /// Emulated prompt tokens (a quarter of the row's bytes).
    pub prompt_tokens: u64,
}

impl InputRow {
    /// Reads the fields the fake model needs from one row the core validator already accepted
    /// (typed, so the rest of the row is skipped rather than built).
    pub fn from_line(line: &[u8]) -> Option<InputRow> {
        #[derive(Deserialize)]
        struct Fields {
            custom_id: String,
            body: BodyFields,
        }
        #[derive(Deserialize)]
        struct BodyFields {
            #[serde(default)]
            model: Option<String>,
        }
        let f: Fields = serde_json::from_slice(line).ok()?;
        Some(InputRow {
            custom_id: f.custom_id,
            model: f.body.model.unwrap_or_else(|| "unknown".into()),
            digest: fnv1a(line),
            fails: contains(line, FAIL_MARKER.as_bytes()),
            prompt_tokens: (line.len() as u64 / 4).max(1),
        })
    }

    /// Emulated completion tokens of this row's answer (0 when it fails).
    pub fn completion_tokens(&self) -> u64 {
        if self.fails {
            0
        } else {
            8 + self.digest % 40
        }
    }

    /// Input tokens billed for this row (0 when it fails).
    pub fn billed_prompt_tokens(&self) -> u64 {
        if self.fails {
            0
        } else {
            self.prompt_tokens
        }
    }
}

/// Token totals over processed rows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Prompt tokens of answered rows.
    pub input_tokens: u64,
    /// Completion tokens of answered rows.
    pub output_tokens: u64,
}

impl Usage {
    /// Adds one processed row.
    pub fn add(&mut self, row: &InputRow) {
        self.input_tokens += row.billed_prompt_tokens();
        self.output_tokens += row.completion_tokens();
    }

    /// Emulated cost in billionths of a dollar.
    pub fn cost_nanos(&self) -> u64 {
        self.input_tokens * INPUT_NANOS_PER_TOKEN + self.output_tokens * OUTPUT_NANOS_PER_TOKEN
    }

    /// The batch object's `usage` block (OpenAI batch shape).
    pub fn to_json(self) -> Value {
        json!({
            "input_tokens": self.input_tokens,
            "input_tokens_details": { "cached_tokens": 0 },
            "output_tokens": self.output_tokens,
            "output_tokens_details": { "reasoning_tokens": 0 },
            "total_tokens": self.input_tokens + self.output_tokens,
        })
    }
}

/// Why rows that were never run end up in the error file.
#[derive(Debug, Clone, Copy)]
pub enum Unrun {
    /// The batch was cancelled first.
    Cancelled,
    /// The completion window passed first.
    Expired,
}

/// The bytes of a finished batch's output file (answered rows) and error file (failed and
/// never-run rows); `None` when a file would be empty. `processed` rows ran; the rest are
/// reported with `unrun`'s reason.
pub fn build_files(
    batch_id: &str,
    rows: &[InputRow],
    processed: usize,
    unrun: Option<Unrun>,
    created: i64,
) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let line = if i < processed {
            answer(batch_id, i, row, created)
        } else if let Some(reason) = unrun {
            never_run(batch_id, i, row, reason)
        } else {
            continue;
        };
        let target = if i < processed && !row.fails {
            &mut out
        } else {
            &mut err
        };
        serde_json::to_writer(&mut *target, &line).expect("result lines always serialise");
        target.push(b'\n');
    }
    (
        (!out.is_empty()).then_some(out),
        (!err.is_empty()).then_some(err),
    )
}

fn row_ids(batch_id: &str, i: usize, row: &InputRow) -> (String, String) {
    let tag = fnv1a(batch_id.as_bytes()) ^ row.digest ^ (i as u64);
    (
        format!("batch_req_{tag:016x}"),
        format!("req_{:016x}", tag.rotate_left(17)),
    )
}

/// One output/error file line (OpenAI's batch result shape).
#[derive(Serialize)]
struct ResultLine<'a> {
    id: String,
    custom_id: &'a str,
    response: Option<Response<'a>>,
    error: Option<Value>,
}

#[derive(Serialize)]
struct Response<'a> {
    status_code: u16,
    request_id: String,
    body: ResponseBody<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ResponseBody<'a> {
    Completion(Completion<'a>),
    Error { error: Value },
}

#[derive(Serialize)]
struct Completion<'a> {
    id: String,
    object: &'static str,
    created: i64,
    model: &'a str,
    choices: [Choice; 1],
    usage: CompletionUsage,
    system_fingerprint: &'static str,
}

#[derive(Serialize)]
struct Choice {
    index: u32,
    message: Message,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct Message {
    role: &'static str,
    content: String,
    refusal: Option<()>,
}

#[derive(Serialize)]
struct CompletionUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    prompt_tokens_details: CachedTokens,
    completion_tokens_details: ReasoningTokens,
}

#[derive(Serialize)]
struct CachedTokens {
    cached_tokens: u64,
}

#[derive(Serialize)]
struct ReasoningTokens {
    reasoning_tokens: u64,
}

fn answer<'a>(batch_id: &str, i: usize, row: &'a InputRow, created: i64) -> ResultLine<'a> {
    let (id, request_id) = row_ids(batch_id, i, row);
    if row.fails {
        return ResultLine {
            id,
            custom_id: &row.custom_id,
            response: Some(Response {
                status_code: 400,
                request_id,
                body: ResponseBody::Error {
                    error: json!({
                        "message": format!("This row asked to fail (it contains {FAIL_MARKER})."),
                        "type": "invalid_request_error",
                        "param": null,
                        "code": "emulated_row_failure",
                    }),
                },
            }),
            error: None,
        };
    }
    let completion = row.completion_tokens();
    ResultLine {
        id,
        custom_id: &row.custom_id,
        response: Some(Response {
            status_code: 200,
            request_id,
            body: ResponseBody::Completion(Completion {
                id: format!("chatcmpl-{:016x}", row.digest),
                object: "chat.completion",
                created,
                model: &row.model,
                choices: [Choice {
                    index: 0,
                    message: Message {
                        role: "assistant",
                        content: format!(
                            "Emulated answer {:016x} to {}.",
                            row.digest, row.custom_id
                        ),
                        refusal: None,
                    },
                    logprobs: None,
                    finish_reason: "stop",
                }],
                usage: CompletionUsage {
                    prompt_tokens: row.prompt_tokens,
                    completion_tokens: completion,
                    total_tokens: row.prompt_tokens + completion,
                    prompt_tokens_details: CachedTokens { cached_tokens: 0 },
                    completion_tokens_details: ReasoningTokens {
                        reasoning_tokens: 0,
                    },
                },
                system_fingerprint: "fp_emulator",
            }),
        }),
        error: None,
    }
}

fn never_run<'a>(batch_id: &str, i: usize, row: &'a InputRow, reason: Unrun) -> ResultLine<'a> {
    let (id, _) = row_ids(batch_id, i, row);
    let (code, message) = match reason {
        Unrun::Cancelled => (
            "batch_cancelled",
            "This request was not run: the batch was cancelled.",
        ),
        Unrun::Expired => (
            "batch_expired",
            "This request could not be executed before the completion window expired.",
        ),
    };
    ResultLine {
        id,
        custom_id: &row.custom_id,
        response: None,
        error: Some(json!({ "code": code, "message": message })),
    }
}

/// FNV-1a 64-bit: a stable digest for answers and ids.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, content: &str) -> InputRow {
        let line = format!(
            r#"{{"custom_id":"{id}","method":"POST","url":"/v1/chat/completions","body":{{"model":"m","messages":[{{"role":"user","content":"{content}"}}]}}}}"#
        );
        InputRow::from_line(line.as_bytes()).unwrap()
    }

    #[test]
    fn answers_are_deterministic_per_row() {
        assert_eq!(row("a", "hi").digest, row("a", "hi").digest);
        assert_ne!(row("a", "hi").digest, row("a", "ho").digest);
    }

    #[test]
    fn marked_rows_go_to_the_error_file_and_others_to_the_output() {
        let rows = vec![row("a", "hi"), row("b", "FAIL_ROW please"), row("c", "x")];
        let (out, err) = build_files("batch_1", &rows, 3, None, 0);
        let out = String::from_utf8(out.unwrap()).unwrap();
        let err = String::from_utf8(err.unwrap()).unwrap();
        assert_eq!(out.lines().count(), 2);
        assert_eq!(err.lines().count(), 1);
        assert!(err.contains("\"custom_id\":\"b\""));
    }

    #[test]
    fn rows_never_run_are_reported_with_the_reason() {
        let rows = vec![row("a", "hi"), row("b", "yo")];
        let (out, err) = build_files("batch_1", &rows, 1, Some(Unrun::Expired), 0);
        assert_eq!(String::from_utf8(out.unwrap()).unwrap().lines().count(), 1);
        assert!(String::from_utf8(err.unwrap())
            .unwrap()
            .contains("batch_expired"));
    }
}

#[cfg(test)]
mod core_join_tests {
    use super::*;
    use batchhook::jsonl::{Price, Results};

    #[test]
    fn the_core_reads_the_files_back_with_the_same_counts_and_usage() {
        let lines: Vec<String> = (0..20)
            .map(|i| {
                let content = if i % 7 == 3 { "FAIL_ROW" } else { "hello" };
                format!(
                    r#"{{"custom_id":"r{i}","method":"POST","url":"/v1/chat/completions","body":{{"model":"m","messages":[{{"role":"user","content":"{content} {i}"}}]}}}}"#
                )
            })
            .collect();
        let rows: Vec<InputRow> = lines
            .iter()
            .map(|l| InputRow::from_line(l.as_bytes()).unwrap())
            .collect();
        let (out, err) = build_files("batch_x", &rows, 15, Some(Unrun::Expired), 0);
        let price = Price {
            prompt_usd_per_million: INPUT_NANOS_PER_TOKEN as f64 / 1000.0,
            completion_usd_per_million: OUTPUT_NANOS_PER_TOKEN as f64 / 1000.0,
        };
        let mut results = Results::new(Some(price));
        for (i, r) in rows.iter().enumerate() {
            results.expect(&r.custom_id, i as u64 + 1);
        }
        results.feed_output(&out.unwrap());
        results.feed_errors(&err.unwrap());
        let summary = results.finish();
        let mut usage = Usage::default();
        rows[..15].iter().for_each(|r| usage.add(r));
        let failed_run = rows[..15].iter().filter(|r| r.fails).count() as u64;
        assert_eq!(summary.succeeded, 15 - failed_run);
        assert_eq!(summary.failed, failed_run + 5);
        assert_eq!((summary.missing, summary.malformed_count), (0, 0));
        assert_eq!(summary.usage.prompt_tokens, usage.input_tokens);
        assert_eq!(summary.usage.completion_tokens, usage.output_tokens);
        assert_eq!(summary.cost_nanos, Some(usage.cost_nanos()));
    }
}
