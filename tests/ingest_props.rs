//! Properties of resumable result ingestion that must hold for every file and every chunking.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::ingest::{is_end_of_file, Cursor, FileKind};
use proptest::prelude::*;

/// One line of a result file: a success, an error row, a malformed line or a blank line.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[a-z0-9]{1,8}", 0u64..1000).prop_map(|(id, t)| format!(
            r#"{{"id":"r","custom_id":"{id}","response":{{"status_code":200,"body":{{"usage":{{"prompt_tokens":{t},"completion_tokens":2}}}}}}}}"#
        )),
        "[a-z0-9]{1,8}".prop_map(|id| format!(
            r#"{{"custom_id":"{id}","response":null,"error":{{"message":"é – ✓"}}}}"#
        )),
        Just("{not json".to_owned()),
        Just(String::new()),
    ]
}

fn file() -> impl Strategy<Value = (Vec<u8>, bool)> {
    (
        prop::collection::vec(line(), 0..12),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, crlf, trailing)| {
            let sep = if crlf { "\r\n" } else { "\n" };
            let mut text = lines.join(sep);
            if trailing && !text.is_empty() {
                text.push_str(sep);
            }
            (text.into_bytes(), crlf)
        })
}

type Key = (FileKind, u64, String);

/// Ingests both files with the given chunk sizes; after every chunk the cursor is serialised
/// and read back (a restart), and where `crash` says so the chunk's result is thrown away
/// before "commit" (the cursor stays where it was), as when the runtime dies mid-chunk.
fn ingest(output: &[u8], errors: &[u8], sizes: &[u64], crash: &[bool]) -> (Vec<Key>, Cursor) {
    let mut cursor = Cursor::new(Some("out"), Some("err"));
    let mut stored = Vec::new();
    let mut step = 0usize;
    while let Some(req) = cursor.next_request(sizes[step % sizes.len()]) {
        let file = match req.kind {
            FileKind::Output => output,
            FileKind::Errors => errors,
            FileKind::Input => unreachable!("Cursor::new reads no input"),
        };
        let start = (req.offset as usize).min(file.len());
        let end = (start + req.len as usize).min(file.len());
        let bytes = &file[start..end];
        let total = (step % 2 == 0).then_some(file.len() as u64);
        let eof = is_end_of_file(&req, bytes.len() as u64, total);
        let mut working = cursor.clone();
        let chunk = working.consume(&req, bytes, eof, None).unwrap();
        if !crash[step % crash.len()] {
            stored.extend(
                chunk
                    .rows
                    .into_iter()
                    .map(|r| (r.kind, r.line, r.result.custom_id)),
            );
            let saved = serde_json::to_string(&working).unwrap();
            cursor = serde_json::from_str(&saved).unwrap();
        }
        step += 1;
        assert!(step < 100_000, "ingestion does not terminate");
    }
    (stored, cursor)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_row_is_ingested_exactly_once_whatever_the_chunking_and_restarts(
        (output, _) in file(),
        (errors, _) in file(),
        sizes in prop::collection::vec(1u64..64, 1..6),
        crash in prop::collection::vec(prop::bool::weighted(0.3), 1..5),
    ) {
        // At least one step must commit, or nothing progresses.
        let mut crash = crash;
        crash.push(false);
        let (whole, whole_cursor) = ingest(&output, &errors, &[1 << 20], &[false]);
        let (chunked, chunked_cursor) = ingest(&output, &errors, &sizes, &crash);
        prop_assert_eq!(&chunked, &whole);
        let mut keys: Vec<(FileKind, u64)> = chunked.iter().map(|k| (k.0, k.1)).collect();
        keys.sort();
        keys.dedup();
        prop_assert_eq!(keys.len(), chunked.len(), "a row was yielded twice");
        prop_assert_eq!(chunked_cursor.totals(), whole_cursor.totals());
        prop_assert_eq!(chunked_cursor.totals().bytes, (output.len() + errors.len()) as u64);
    }
}
