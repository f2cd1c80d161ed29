//! Output and error files joined to the input by custom_id, with usage and cost totals.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::jsonl::{Outcome, Price, Results, Usage, Validator};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/jsonl/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn joined(price: Option<Price>, chunk: usize) -> batchhook::jsonl::ResultSummary {
    let mut input = Validator::new("/v1/chat/completions");
    input.feed(&fixture("valid_chat.jsonl"));
    let mut results = Results::new(price);
    for (id, row) in input.custom_ids() {
        results.expect(id, row);
    }
    let (output, errors) = (fixture("output.jsonl"), fixture("errors.jsonl"));
    // Interleave the two files in small chunks, as two concurrent downloads would.
    for i in (0..output.len().max(errors.len())).step_by(chunk) {
        results.feed_output(&output[i.min(output.len())..(i + chunk).min(output.len())]);
        results.feed_errors(&errors[i.min(errors.len())..(i + chunk).min(errors.len())]);
    }
    results.finish()
}

#[test]
fn joins_results_and_errors_to_their_input_rows() {
    let s = joined(None, 7);
    assert_eq!(
        (s.succeeded, s.failed, s.missing, s.unexpected, s.duplicates),
        (2, 2, 0, 1, 0)
    );
    let by_id = |id: &str| s.rows.iter().find(|r| r.custom_id == id).unwrap();
    assert_eq!(by_id("req-1").input_row, Some(1));
    assert_eq!(
        by_id("req-3").input_row,
        Some(4),
        "row numbers are line numbers; line 3 is blank"
    );
    assert_eq!(
        by_id("req-3").outcome,
        Outcome::Failed {
            code: Some("context_length_exceeded".into()),
            message: "This model's maximum context length is 128000 tokens.".into()
        }
    );
    assert_eq!(by_id("req-3").request_id.as_deref(), Some("req_abc3"));
    assert_eq!(by_id("req-4").input_row, None);
    assert!(
        matches!(&by_id("req-4").outcome, Outcome::Failed { code: Some(c), .. } if c == "batch_expired")
    );
    let order: Vec<&str> = s.rows.iter().map(|r| r.custom_id.as_str()).collect();
    assert_eq!(order, ["req-1", "req-2", "req-3", "req-4"]);
}

#[test]
fn sums_usage_and_prices_it_when_a_price_is_given() {
    let s = joined(None, 1024);
    assert_eq!(
        s.usage,
        Usage {
            prompt_tokens: 50,
            completion_tokens: 15,
            total_tokens: 65
        }
    );
    assert_eq!((s.cost_nanos, s.unpriced), (None, 2));

    let price = Price {
        prompt_usd_per_million: 0.15,
        completion_usd_per_million: 0.60,
    };
    let s = joined(Some(price), 1024);
    // 50 × 0.15 $/M + 15 × 0.60 $/M = 7.5 µ$ + 9 µ$ = 16.5 µ$ = 16,500 n$.
    assert_eq!(s.cost_nanos, Some(16_500));
    assert!((s.cost_usd().unwrap() - 0.0000165).abs() < 1e-12);
}

#[test]
fn prefers_a_cost_carried_by_the_row_and_reports_missing_and_duplicate_results() {
    let mut r = Results::new(Some(Price {
        prompt_usd_per_million: 1.0,
        completion_usd_per_million: 1.0,
    }));
    r.expect("a", 1);
    r.expect("b", 2);
    r.feed_output(br#"{"custom_id":"a","response":{"status_code":200,"body":{"usage":{"input_tokens":10,"output_tokens":5,"cost":0.25}}}}"#);
    r.feed_output(b"\n");
    r.feed_output(br#"{"custom_id":"a","response":{"status_code":200,"body":{}}}"#);
    r.feed_output(b"\nnot json\n");
    let s = r.finish();
    assert_eq!(s.cost_nanos, Some(250_000_000));
    assert_eq!(
        s.usage,
        Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
            total_tokens: 15
        }
    );
    assert_eq!(
        (s.succeeded, s.missing, s.duplicates, s.malformed_count),
        (1, 1, 1, 1)
    );
    assert_eq!(s.malformed[0].row, 3);
    assert_eq!(s.rows[1].outcome, Outcome::Missing);
}
