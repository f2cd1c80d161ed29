//! Any bytes given to the batch parsers: no panic, and a parsed batch is a fixed point of
//! write-back + re-parse (the round trip keeps every field).
#![no_main]

use batchhook::batch::{page, Batch, JobView, ListQuery};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = JobView::from_json(data);
    let Ok(batch) = Batch::from_json(data) else {
        return;
    };
    let written = batch.to_json();
    let again = Batch::from_json(written.as_bytes()).expect("written batch must parse");
    assert_eq!(again, batch, "round trip changed the batch");
    assert_eq!(
        again.to_json(),
        written,
        "second write differs from the first"
    );
    let _ = batch.lifecycle();
    let _ = JobView::from_batch(&batch);
    let _ = page(std::slice::from_ref(&batch), &ListQuery::default());
});
