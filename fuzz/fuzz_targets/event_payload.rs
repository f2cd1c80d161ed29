//! Any bytes given to the webhook event parser: no panic, an accepted event always names its
//! batch, and it survives write-back + re-parse unchanged.
#![no_main]

use batchhook::event::Event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = Event::from_json(data) else {
        return;
    };
    assert!(
        event.batch_id().is_some(),
        "accepted an event without a batch id"
    );
    let _ = event.claim();
    let _ = event.batch();
    let _ = event.delivery_summary();
    let _ = event.recent_attempts();
    let _ = event.signing_enabled();
    if let Some(kind) = &event.event_type {
        let _ = kind.action().implied_status();
    }
    let written = event.to_json();
    let again = Event::from_json(written.as_bytes()).expect("written event must parse");
    assert_eq!(again, event, "round trip changed the event");
});
