//! Any JSON object survives parse + write back unchanged, wherever unknown or mistyped values
//! appear.
#![cfg(not(target_arch = "wasm32"))]

use batchhook::batch::{Batch, LifecycleStatus};
use batchhook::event::Event;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1.0e12f64..1.0e12).prop_map(Value::from),
        "[a-z_ ]{0,10}".prop_map(Value::String),
        proptest::sample::select(vec![
            "completed",
            "canceled",
            "QUEUED",
            "batch.completed",
            "whsec_x"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ]
}

/// Keys drawn from the modelled names at every level (so values land in typed fields, with
/// random and often wrong types) and random unknown names.
fn key() -> impl Strategy<Value = String> {
    let mut known: Vec<&'static str> = Batch::KNOWN_FIELDS.to_vec();
    known.extend(batchhook::batch::WebhookInfo::KNOWN_FIELDS);
    known.extend(batchhook::batch::WebhookDelivery::KNOWN_FIELDS);
    known.extend(batchhook::batch::WebhookAttempt::KNOWN_FIELDS);
    known.extend(batchhook::batch::Billing::KNOWN_FIELDS);
    known.extend(Event::KNOWN_FIELDS);
    prop_oneof![
        3 => proptest::sample::select(known).prop_map(str::to_owned),
        1 => "[a-z_]{1,12}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::vec((key(), json_value()), 0..12)
        .prop_map(|pairs| pairs.into_iter().collect())
}

/// The documented exception: a known `lifecycle_status` spelling is written back canonical.
fn canonical_lifecycle(value: &mut Value) {
    if let Value::Object(map) = value {
        for (key, child) in map.iter_mut() {
            match (key.as_str(), &*child) {
                ("lifecycle_status", Value::String(raw)) => {
                    *child = Value::String(LifecycleStatus::parse(raw).as_str().to_owned())
                }
                _ => canonical_lifecycle(child),
            }
        }
    } else if let Value::Array(items) = value {
        items.iter_mut().for_each(canonical_lifecycle);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_batch_writes_back_exactly_what_it_read(object in json_object()) {
        let original = Value::Object(object);
        let batch = Batch::from_value(original.clone()).unwrap();
        let mut expected = original.clone();
        let mut written = batch.to_value();
        canonical_lifecycle(&mut written);
        canonical_lifecycle(&mut expected);
        prop_assert_eq!(written, expected);
        // Parsing the written text again is a fixed point.
        let text = batch.to_json();
        let again = Batch::from_json(text.as_bytes()).unwrap();
        prop_assert_eq!(again.to_json(), text);
        prop_assert_eq!(again, batch);
    }

    #[test]
    fn an_event_writes_back_exactly_what_it_read(
        mut object in json_object(),
        id in "batch_[a-z0-9]{1,8}"
    ) {
        let mut data = Map::new();
        data.insert("id".into(), Value::String(id.clone()));
        object.insert("data".into(), Value::Object(data));
        object.insert("job_id".into(), Value::String(id.clone()));
        let original = Value::Object(object);
        let event = Event::from_value(original.clone()).unwrap();
        prop_assert_eq!(event.batch_id(), Some(id.as_str()));
        let mut written = serde_json::to_value(&event).unwrap();
        let mut expected = original;
        canonical_lifecycle(&mut written);
        canonical_lifecycle(&mut expected);
        prop_assert_eq!(written, expected);
    }
}
