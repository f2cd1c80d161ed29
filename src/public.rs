//! The batch object as the operator API shows it.
//!
//! Two rules, applied to every batch object that leaves the API (create, get, list, replays):
//! - no webhook secret, ever (the gateway sanitises its own objects, but a batch stored from a
//!   create echo or a newer gateway must not leak one through us);
//! - the gateway's own URLs (`polling_url`, `cancel_url`, `websocket_url`) are replaced by
//!   the API's equivalents, so a client that follows them stays inside its workspace and never
//!   needs the gateway's key. `cancel_url` stays absent when the gateway left it out (the
//!   batch is no longer cancellable).

use serde_json::Value;

/// Rewrites a batch object (see the module docs). `api_base` is the API's origin, e.g.
/// `https://batchhook.example.com`; `None` keeps the URLs and only removes secrets.
pub fn batch(mut object: Value, api_base: Option<&str>) -> Value {
    let Some(map) = object.as_object_mut() else {
        return object;
    };
    if let Some(hook) = map.get_mut("webhook").and_then(Value::as_object_mut) {
        hook.remove("secret");
    }
    let (Some(base), Some(id)) = (api_base, map.get("id").and_then(Value::as_str)) else {
        return object;
    };
    let base = base.trim_end_matches('/');
    let id = encode_segment(id);
    let http = format!("{base}/v1/batches/{id}");
    let ws = match base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}/v1/batches/{id}/events"),
        Some((_, rest)) => format!("ws://{rest}/v1/batches/{id}/events"),
        None => format!("{http}/events"),
    };
    let present = |map: &serde_json::Map<String, Value>, key: &str| {
        map.get(key).is_some_and(|v| !v.is_null())
    };
    if present(map, "cancel_url") {
        map.insert("cancel_url".into(), Value::String(format!("{http}/cancel")));
    }
    if present(map, "websocket_url") {
        map.insert("websocket_url".into(), Value::String(ws));
    }
    map.insert("polling_url".into(), Value::String(http));
    object
}

fn encode_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn removes_the_webhook_secret_and_keeps_the_rest() {
        let shown = batch(
            json!({"id": "b1", "webhook": {"url": "https://h", "secret": "whsec_x", "has_secret": true}}),
            None,
        );
        assert_eq!(
            shown["webhook"],
            json!({"url": "https://h", "has_secret": true})
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn points_the_gateway_urls_at_the_api() {
        let shown = batch(
            json!({"id": "batch 1", "polling_url": "https://gw/v1/batches/x",
                "cancel_url": "https://gw/v1/batches/x/cancel", "websocket_url": "wss://gw/ws"}),
            Some("https://api.example.com/"),
        );
        assert_eq!(
            shown["polling_url"],
            "https://api.example.com/v1/batches/batch%201"
        );
        assert_eq!(
            shown["cancel_url"],
            "https://api.example.com/v1/batches/batch%201/cancel"
        );
        assert_eq!(
            shown["websocket_url"],
            "wss://api.example.com/v1/batches/batch%201/events"
        );
        let local = batch(
            json!({"id": "b", "websocket_url": "x"}),
            Some("http://127.0.0.1:8787"),
        );
        assert_eq!(
            local["websocket_url"],
            "ws://127.0.0.1:8787/v1/batches/b/events"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn leaves_cancel_url_absent_when_the_gateway_left_it_out() {
        let shown = batch(json!({"id": "b", "cancel_url": null}), Some("https://a"));
        assert_eq!(shown["cancel_url"], Value::Null);
        assert_eq!(shown["polling_url"], "https://a/v1/batches/b");
        assert!(batch(json!({"id": "b"}), Some("https://a"))
            .get("cancel_url")
            .is_none());
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn leaves_non_objects_alone() {
        assert_eq!(batch(json!([1]), Some("https://a")), json!([1]));
    }
}
