//! Any text given to the list query parser: no panic, an accepted query respects the limit
//! range and parses back from the query string it builds, and paging with it never panics.
#![no_main]

use batchhook::batch::{page, Batch, ListQuery};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = ListQuery::parse(raw) else {
        return;
    };
    assert!((1..=ListQuery::MAX_LIMIT).contains(&query.limit));
    let built = query.to_query_string();
    assert_eq!(
        ListQuery::parse(&built).as_ref(),
        Ok(&query),
        "built {built:?}"
    );
    let items: Vec<Batch> = ["queued", "running", "completed", "canceled", "mystery"]
        .iter()
        .enumerate()
        .map(|(i, status)| Batch {
            id: Some(format!("b{i}")),
            status: Some((*status).to_owned()),
            ..Batch::default()
        })
        .collect();
    if let Ok(got) = page(&items, &query) {
        assert!(got.data.len() <= query.limit as usize);
    }
});
