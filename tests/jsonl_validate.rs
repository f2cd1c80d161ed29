//! JSONL input validation against fixture files and for all chunkings of generated files.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::jsonl::{validate, Limits, Report, RowError, Validator};
use proptest::prelude::*;

const EP: &str = "/v1/chat/completions";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/jsonl/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn chunked(bytes: &[u8], cuts: &[usize]) -> Report {
    let mut v = Validator::new(EP);
    let mut start = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    for cut in cuts {
        v.feed(&bytes[start..cut]);
        start = cut;
    }
    v.feed(&bytes[start..]);
    v.finish()
}

#[test]
fn accepts_the_valid_fixture_with_crlf_a_blank_line_and_multibyte_text() {
    let report = validate(&fixture("valid_chat.jsonl"), EP);
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.rows, 3);
}

#[test]
fn reports_every_bad_row_of_the_invalid_fixture_with_an_actionable_message() {
    let report = validate(&fixture("invalid_rows.jsonl"), EP);
    let expected: Vec<RowError> =
        serde_json::from_slice(&fixture("invalid_rows.expected.json")).unwrap();
    assert_eq!(report.errors, expected);
    assert_eq!(
        (report.rows, report.invalid_rows, report.error_count),
        (12, 11, 11)
    );
    assert!(!report.is_valid());
}

#[test]
fn serialises_the_report_with_row_and_error_fields() {
    let report = validate(b"[]\n", EP);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["errors"][0]["row"], 1);
    assert!(json["errors"][0]["error"]
        .as_str()
        .unwrap()
        .contains("found array"));
}

#[test]
fn stops_at_the_default_row_limit_of_fifty_thousand() {
    let mut v = Validator::new(EP);
    for i in 0..50_001 {
        v.feed(
            format!(
                r#"{{"custom_id":"r{i}","method":"POST","url":"{EP}","body":{{"model":"m"}}}}"#
            )
            .as_bytes(),
        );
        v.feed(b"\n");
    }
    let report = v.finish();
    assert_eq!(report.error_count, 0);
    assert!(report
        .file_error
        .unwrap()
        .contains("more than 50000 requests (row 50001"));
}

#[test]
fn the_default_byte_limit_is_200_mib() {
    assert_eq!(Limits::default().max_bytes, 200 * 1024 * 1024);
}

#[test]
fn reports_invalid_utf8_with_its_column() {
    let report = validate(b"{\"custom_id\":\"a\xff\"}\n", EP);
    assert_eq!(report.errors[0].row, 1);
    assert!(
        report.errors[0]
            .error
            .contains("not valid UTF-8 (bad byte at column 16)"),
        "{:?}",
        report.errors
    );
}

/// A row that is valid, or broken in one of several ways, with multibyte text in it.
fn row() -> impl Strategy<Value = String> {
    let text = "[a-z😀é日\\\\\" ]{0,12}";
    (0u8..6, "[a-c]{1,2}", text).prop_map(|(kind, id, text)| {
        let content = serde_json::to_string(&text).unwrap();
        match kind {
            0 => format!(r#"{{"custom_id":"{id}","method":"POST","url":"{EP}","body":{{"model":"m","messages":[{{"role":"user","content":{content}}}]}}}}"#),
            1 => format!(r#"{{"custom_id":"{id}","method":"GET","url":"{EP}","body":{{"model":{content}}}}}"#),
            2 => format!(r#"{{"custom_id":{content},"body":[]}}"#),
            3 => format!("{{\"custom_id\":\"{id}\",{content}"),
            4 => String::new(),
            _ => format!("  {content}  "),
        }
    })
}

proptest! {
    #[test]
    fn gives_the_same_report_for_any_chunking(
        rows in prop::collection::vec(row(), 0..30),
        crlf in any::<bool>(),
        trailing in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let sep = if crlf { "\r\n" } else { "\n" };
        let mut text = rows.join(sep);
        if trailing { text.push_str(sep); }
        let whole = validate(text.as_bytes(), EP);
        prop_assert_eq!(chunked(text.as_bytes(), &cuts), whole.clone());
        let byte_by_byte: Vec<usize> = (0..text.len()).collect();
        prop_assert_eq!(chunked(text.as_bytes(), &byte_by_byte), whole);
    }

    #[test]
    fn never_panics_and_points_only_at_existing_lines(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let report = validate(&bytes, EP);
        let lines = bytes.split(|b| *b == b'\n').count() as u64;
        prop_assert!(report.errors.iter().all(|e| e.row >= 1 && e.row <= lines));
        prop_assert!(report.error_count >= report.errors.len() as u64);
    }
}
