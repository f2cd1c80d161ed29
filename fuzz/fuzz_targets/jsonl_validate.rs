//! Any bytes as a JSONL batch input: no panic, the same report whatever the chunking (the first
//! byte picks the chunk size), error rows inside the file, and the result joiner survives the
//! same bytes as an output file.
#![no_main]

use batchhook::jsonl::{validate, Results, Validator};
use libfuzzer_sys::fuzz_target;

const EP: &str = "/v1/chat/completions";

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, bytes)) = data.split_first() else {
        return;
    };
    let whole = validate(bytes, EP);
    let mut v = Validator::new(EP);
    for part in bytes.chunks(usize::from(chunk).max(1)) {
        v.feed(part);
    }
    assert_eq!(v.finish(), whole);
    let lines = bytes.split(|b| *b == b'\n').count() as u64;
    assert!(whole.errors.iter().all(|e| (1..=lines).contains(&e.row)));
    assert!(whole.error_count >= whole.invalid_rows);

    let mut results = Results::new(None);
    results.expect("a", 1);
    results.feed_output(bytes);
    results.feed_errors(bytes);
    let summary = results.finish();
    assert_eq!(
        summary.rows.len() as u64,
        summary.succeeded + summary.failed + summary.missing
    );
});
